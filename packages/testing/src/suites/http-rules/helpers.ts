/**
 * Request helpers of the HTTP rules: Node's global fetch, and node:http where fetch cannot set a header.
 */
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AuthInfo, McpSession, McpSessionOptions } from '@x/mcp-session-core';
import { expect } from 'vitest';
import type { HostOptions, RunningApp } from '../../harness.js';

export const ACCEPT = 'application/json, text/event-stream';
export const LATEST = '2025-11-25';
export const SERVER_ERROR = -32000;
export const SESSION_NOT_FOUND = -32001;
export const INVALID_REQUEST = -32600;
export const PARSE_ERROR = -32700;

/** Header values; `undefined` removes a default header. */
export type HeaderMap = Record<string, string | undefined>;
export type Body = RequestInit['body'];
/** A JSON-RPC message as these tests send and read it; members the tests never read stay `unknown`. */
export interface Json {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: {
    protocolVersion?: string;
    content?: Array<{ type: string; text?: string }>;
    [member: string]: unknown;
  };
  error?: { code: number; message: string; data?: unknown };
  [member: string]: unknown;
}

function cleanHeaders(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

export function initializeMessage(protocolVersion: string = LATEST, id: string | number = 1): Json {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 't', version: '1' } },
  };
}

export const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

let nextRequestId = 1000;
export function echoCall(text: string, id: number = nextRequestId++): Json {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } };
}

export function session(sessionId: string, version: string = LATEST): Record<string, string> {
  return { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
}

export function postRaw(url: string, body: Body, headers: HeaderMap = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: cleanHeaders({ accept: ACCEPT, 'content-type': 'application/json', ...headers }),
    body,
    ...init,
  });
}

export function post(url: string, message: unknown, headers: HeaderMap = {}): Promise<Response> {
  return postRaw(url, JSON.stringify(message), headers);
}

export function get(url: string, headers: HeaderMap = {}): Promise<Response> {
  return fetch(url, { method: 'GET', headers: cleanHeaders({ accept: 'text/event-stream', ...headers }) });
}

export function del(url: string, headers: HeaderMap = {}): Promise<Response> {
  return fetch(url, { method: 'DELETE', headers: cleanHeaders(headers) });
}

export interface SseEvent {
  id?: string;
  event?: string;
  retry?: string;
  data: string;
  /** The event as sent, for assertions on its lines. */
  raw: string;
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith(':'));
    if (lines.length === 0) continue;
    const event: SseEvent = { data: '', raw: block };
    const data: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'retry') event.retry = value;
    }
    event.data = data.join('\n');
    events.push(event);
  }
  return events;
}

/** The JSON-RPC messages of a JSON or (finished) SSE response. */
export async function readMessages(res: Response): Promise<Json[]> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (type.startsWith('application/json')) {
    const body = JSON.parse(text) as Json;
    return Array.isArray(body) ? body : [body];
  }
  expect(type, `unexpected response ${res.status}: ${text}`).toMatch(/^text\/event-stream/);
  return parseSse(text)
    .filter((event) => event.data !== '')
    .map((event) => JSON.parse(event.data) as Json);
}

/** The response (a message with an id and a result or an error) of a POST that carried one request. */
export async function readResponse(res: Response): Promise<Json> {
  const responses = (await readMessages(res)).filter((m) => 'id' in m && ('result' in m || 'error' in m));
  expect(responses).toHaveLength(1);
  return responses[0]!;
}

export function expectErrorBody(
  actual: { status: number; contentType: string | null | undefined; text: string },
  status: number,
  code: number,
): string {
  expect(actual.status, `body: ${actual.text}`).toBe(status);
  expect(actual.contentType ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(actual.text) as Json;
  expect(body).toEqual({ jsonrpc: '2.0', error: { code, message: expect.any(String) }, id: null });
  const message = body.error?.message ?? '';
  expect(message.length).toBeGreaterThan(0);
  return message;
}

/** Asserts an HTTP error with a JSON-RPC error body without id; returns the message. */
export async function expectRpcError(res: Response, status: number, code: number): Promise<string> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) {
    // Not an error body (maybe an open SSE stream): do not wait for its end.
    await res.body?.cancel().catch(() => undefined);
    expect(`${res.status} ${type}`).toBe(`${status} application/json`);
  }
  const text = await res.text();
  return expectErrorBody({ status: res.status, contentType: res.headers.get('content-type'), text }, status, code);
}

/** Initializes a session (and sends `notifications/initialized`); returns its id. */
export async function openSession(url: string, options: { version?: string; headers?: HeaderMap } = {}): Promise<string> {
  const version = options.version ?? LATEST;
  const res = await post(url, initializeMessage(version), options.headers);
  expect(res.status).toBe(200);
  const sessionId = res.headers.get('mcp-session-id');
  const response = await readResponse(res);
  expect(response.result?.protocolVersion).toBe(version);
  expect(sessionId).toBeTypeOf('string');
  const ack = await post(url, INITIALIZED, { ...session(sessionId!, version), ...options.headers });
  expect(ack.status).toBe(202);
  await ack.arrayBuffer();
  return sessionId!;
}

/** A normal tools/call on the session must still work. */
export async function expectEcho(
  url: string,
  sessionId: string,
  text = 'still serving',
  headers: HeaderMap = {},
  version: string = LATEST,
): Promise<void> {
  const res = await post(url, echoCall(text), { ...session(sessionId, version), ...headers });
  expect(res.status).toBe(200);
  const response = await readResponse(res);
  expect(response.result).toEqual({ content: [{ type: 'text', text }] });
}

/** A GET stream opened fine; the connection is then dropped. */
export async function expectStreamOpens(res: Response): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  await res.body?.cancel();
}

/** Reads an open SSE response until `count` events arrived, then drops the connection. */
export async function readEvents(res: Response, count: number): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const complete = text.lastIndexOf('\n\n');
    const events = complete === -1 ? [] : parseSse(text.slice(0, complete + 2));
    if (events.length >= count) {
      await reader.cancel();
      return events;
    }
    const { value, done } = await reader.read();
    if (done) return parseSse(text);
    text += decoder.decode(value, { stream: true });
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request over node:http, which (unlike fetch) may set the Host header. */
export function rawRequest(
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function portOf(url: string): string {
  return new URL(url).port;
}

/** A request body streamed in chunks (no Content-Length: chunked transfer encoding). */
export function chunkedBody(chunks: string[]): { body: ReadableStream<Uint8Array>; init: RequestInit } {
  const encoder = new TextEncoder();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
  });
  return { body, init: { duplex: 'half' } as RequestInit };
}

/** Records the sessions passed to `onSessionClosed`. */
export function closedLog(): { closed: Array<{ id: string; reason: string }>; onSessionClosed: (s: McpSession, reason: string) => void } {
  const closed: Array<{ id: string; reason: string }> = [];
  return { closed, onSessionClosed: (s, reason) => void closed.push({ id: s.id, reason }) };
}

/** The host's auth: `authorization: Bearer <user>` authenticates that user. */
export const bearerAuth: HostOptions = {
  auth: (req): AuthInfo | undefined => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return match === null ? undefined : { token: match[1]!, clientId: match[1]!, scopes: [] };
  },
};

/** Starts an app of the adapter under test around the demo server; the suite closes it after the test. */
export type StartApp = (options?: Partial<McpSessionOptions>, host?: HostOptions) => Promise<RunningApp>;
