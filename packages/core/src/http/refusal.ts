/**
 * Refusals: every check returns a result object, and one function writes every refusal as an HTTP
 * error with a JSON-RPC error body.
 */
import type { ServerResponse } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import type { JSONRPCErrorResponse, RequestId } from '../protocol/jsonrpc.js';

/** A refused request: the HTTP status, and the JSON-RPC error its body carries. */
export interface Refusal {
  readonly ok: false;
  readonly status: number;
  readonly code: number;
  readonly message: string;
  readonly headers?: Record<string, string>;
  readonly data?: unknown;
  /** The request the error answers; `null` (the SDK's habit) for an HTTP-level refusal. */
  readonly id?: RequestId | null;
}

/** The outcome of a check: `{ ok: true }` with what it found, or a refusal. */
export type Checked<T extends object = object> = ({ readonly ok: true } & T) | Refusal;

export function refusal(
  status: number,
  code: number,
  message: string,
  extra: { headers?: Record<string, string>; data?: unknown; id?: RequestId | null } = {},
): Refusal {
  return { ok: false, status, code, message, ...extra };
}

/** 429 with `Retry-After` (whole seconds, at least 1) and `data.retryAfterMs`: a limit was reached. */
export function tooManyRequests(message: string, retryAfterMs: number): Refusal {
  return refusal(429, JsonRpcErrorCode.RateLimited, `Too Many Requests: ${message}`, {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    data: { retryAfterMs },
  });
}

/** A JSON-RPC error body. */
export function errorBody(code: number, message: string, data?: unknown, id: RequestId | null = null): JSONRPCErrorResponse {
  const error: JSONRPCErrorResponse['error'] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', error, id };
}

/**
 * Writes a refusal, unless a response was already started (then the response is only ended).
 * `sessionId` goes out as `Mcp-Session-Id` (a refused request inside a new session).
 */
export function writeRefusal(res: ServerResponse, refused: Refusal, sessionId?: string): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify(errorBody(refused.code, refused.message, refused.data, refused.id ?? null));
  const headers: Record<string, string | number> = {
    ...refused.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  res.writeHead(refused.status, headers);
  res.end(body);
}

/** A store is out of reach: a passing condition, so the client is told when to come back. */
export const storeUnavailable = (): Refusal =>
  refusal(503, JsonRpcErrorCode.ServerError, 'Service Unavailable: the session store is unreachable', { headers: { 'retry-after': '1' } });

/**
 * The endpoint is closing (or closed): a passing condition for the client, which may try another
 * process. The connection goes with the answer: a client that kept it alive and asked again would
 * hold the closing process's HTTP server open.
 */
export const shuttingDown = (): Refusal =>
  refusal(503, JsonRpcErrorCode.ServerError, 'Service Unavailable: the MCP endpoint is shutting down', {
    headers: { 'retry-after': '1', connection: 'close' },
  });
