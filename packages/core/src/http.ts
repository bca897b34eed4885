import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonRpcErrorCode } from './errors.js';
import { errorBody } from './jsonrpc.js';

/** Writes an HTTP error with a JSON-RPC error body, unless a response was already started. */
export function sendError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify(errorBody(code, message));
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; code: number; message: string };

/** Reads and parses a JSON body of at most `limit` bytes. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  if (req.readableEnded) {
    // Something before the endpoint consumed the stream without handing over a parsed body.
    return Promise.resolve({
      ok: false,
      status: 400,
      code: JsonRpcErrorCode.ParseError,
      message: 'Parse error: the request body was read before the MCP endpoint and no parsed body was passed on',
    });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(tooLarge(limit));
  }
  if (req.complete && req.readableFlowing !== true && req.readableLength <= limit) {
    // The whole body is already buffered (it came with the headers): take it without listeners.
    const data = req.read() as Buffer | string | null;
    return Promise.resolve(parseBody(data === null ? '' : data.toString()));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        finish(tooLarge(limit));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      finish(parseBody(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', () =>
      finish({ ok: false, status: 400, code: JsonRpcErrorCode.ParseError, message: 'Parse error: the body could not be read' }),
    );
  });
}

function parseBody(text: string): BodyResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, status: 400, code: JsonRpcErrorCode.ParseError, message: 'Parse error: the body is not valid JSON' };
  }
}

function tooLarge(limit: number): BodyResult {
  return {
    ok: false,
    status: 413,
    code: JsonRpcErrorCode.ServerError,
    message: `Payload Too Large: the body exceeds ${limit} bytes`,
  };
}

/** `application/json`, with or without parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

export function acceptsBoth(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && accept.includes('text/event-stream');
}

export function acceptsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/event-stream');
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

function isLoopbackAddress(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1');
}

/**
 * DNS-rebinding and cross-site protection. Returns the reason a request is refused, or undefined.
 * Defaults: a server listening on loopback only answers localhost host names; a present `Origin` must
 * be the request's own origin, or a localhost origin on a loopback server.
 */
export function refusalReason(
  req: IncomingMessage,
  allowedHosts: readonly string[] | undefined,
  allowedOrigins: readonly string[] | undefined,
): string | undefined {
  const host = req.headers.host;
  const loopback = isLoopbackAddress(req.socket.localAddress);
  if (allowedHosts !== undefined) {
    if (host === undefined || !(allowedHosts.includes(host) || allowedHosts.includes(hostnameOf(host)))) {
      return `Forbidden: host ${host ?? '(none)'} is not allowed`;
    }
  } else if (loopback && (host === undefined || !LOCAL_HOSTNAMES.has(hostnameOf(host)))) {
    return `Forbidden: host ${host ?? '(none)'} is not allowed on a loopback server`;
  }
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (allowedOrigins !== undefined) {
    return allowedOrigins.includes('*') || allowedOrigins.includes(origin) ? undefined : `Forbidden: origin ${origin} is not allowed`;
  }
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return `Forbidden: origin ${origin} is not allowed`;
  }
  if (host !== undefined && parsed.host === host) return undefined;
  if (loopback && LOCAL_HOSTNAMES.has(parsed.hostname)) return undefined;
  return `Forbidden: origin ${origin} is not allowed`;
}
