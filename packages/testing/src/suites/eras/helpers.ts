/**
 * What the eras suite shares: an SDK v2 client in any negotiation mode whose HTTP exchanges are
 * recorded (what the wire showed), and 2026-07-28 requests written by hand.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, expect } from 'vitest';
import { type ClientOptions, type TestClient, connectClient } from '../../fixtures/clients.js';
import type { SdkMajor } from '../../fixtures/servers.js';
import { MODERN_VERSION, modernMeta } from '../../listen.js';
import { ACCEPT, type HeaderMap, type Json, readResponse } from '../http-rules/helpers.js';

export const MODERN = MODERN_VERSION;
export const LEGACY = '2025-11-25';

/** The JSON-RPC error codes of the 2026-07-28 lane. */
export const HEADER_MISMATCH = -32020;
export const MISSING_CAPABILITY = -32021;
export const UNSUPPORTED_VERSION = -32022;
export const RATE_LIMITED = -32029;

/** One HTTP exchange a client made. */
export interface Exchange {
  /** The HTTP method. */
  http: string;
  /** The JSON-RPC method of the body; `response` for a posted response; undefined without a body. */
  rpc: string | undefined;
  body: Json | undefined;
  headers: Headers;
  /** 0 while no response came (or none ever did: the request failed or was aborted). */
  status: number;
  responseHeaders: Headers;
  /** The body of a JSON response (an SSE body is the client's alone). */
  response: Json | undefined;
  /** Settles once the response's headers came, or the request failed. */
  answered: Promise<void>;
}

/** A fetch that records each exchange in `wire`, then lets the client read the response. */
export function recordingFetch(
  wire: Exchange[],
  route: (url: string | URL, body: Json | undefined) => string | URL = (url) => url,
): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Json) : undefined;
    const exchange: Exchange = {
      http: init?.method ?? 'GET',
      rpc: body === undefined ? undefined : (body.method ?? 'response'),
      body,
      headers: new Headers(init?.headers),
      status: 0,
      responseHeaders: new Headers(),
      response: undefined,
      answered: Promise.resolve(),
    };
    wire.push(exchange);
    const answer = (async () => {
      const res = await fetch(route(url, body), init);
      exchange.status = res.status;
      exchange.responseHeaders = res.headers;
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) exchange.response = (await res.clone().json()) as Json;
      return res;
    })();
    exchange.answered = answer.then(
      () => undefined,
      () => undefined,
    );
    return answer;
  };
}

export type Negotiation = 'legacy' | 'auto' | { pin: string };

/** An SDK v2 client that answers elicitation with a name, and what it sent and was asked. */
export interface RecordedClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly wire: Exchange[];
  /** Messages of the elicitation requests its handler answered. */
  readonly elicited: string[];
  /** The text of a tool's result, with the progress values that came while it ran. */
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; progress: number[] }>;
  /** The names of the tools listed. */
  toolNames(): Promise<string[]>;
}

/**
 * Connects an SDK v2 `Client` declaring form elicitation, in the negotiation `mode`: `legacy` (the
 * 2025 handshake), `auto` (probes with `server/discover`) or `{ pin }`. `route` may send a request
 * elsewhere (another node) by its body.
 */
export async function connectV2(
  url: string,
  mode: Negotiation,
  options: { headers?: Record<string, string>; route?: Parameters<typeof recordingFetch>[1] } = {},
): Promise<RecordedClient> {
  const wire: Exchange[] = [];
  const elicited: string[] = [];
  const client = new Client(
    { name: `eras-${typeof mode === 'string' ? mode : 'pinned'}`, version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode } },
  );
  client.setRequestHandler('elicitation/create', async (request) => {
    elicited.push(request.params.message);
    return { action: 'accept', content: { name: 'Ada' } };
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(options.headers === undefined ? {} : { requestInit: { headers: options.headers } }),
    fetch: recordingFetch(wire, options.route),
  });
  await client.connect(transport);
  return {
    client,
    transport,
    wire,
    elicited,
    async call(name, args = {}) {
      const progress: number[] = [];
      const result = await client.callTool({ name, arguments: args }, { onprogress: (update) => progress.push(update.progress) });
      const content = result.content as Array<{ type: string; text?: string }>;
      expect(result.isError ?? false, content[0]?.text).toBe(false);
      return { text: content[0]?.text ?? '', progress };
    },
    async toolNames() {
      return (await client.listTools()).tools.map((tool) => tool.name);
    },
  };
}

/**
 * Connects SDK clients that are closed after each test: `modern` ones of {@link connectV2}, and the
 * legacy `TestClient`s of either SDK. Call it inside a `describe`.
 */
export function clientsFor(): {
  v2(url: string, mode: Negotiation, options?: Parameters<typeof connectV2>[2]): Promise<RecordedClient>;
  legacy(major: SdkMajor, url: string, options?: ClientOptions): Promise<TestClient>;
} {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const client of open.splice(0)) await client.close().catch(() => undefined);
  });
  return {
    async v2(url, mode, options) {
      const connected = await connectV2(url, mode, options);
      open.push(connected.client);
      return connected;
    },
    async legacy(major, url, options) {
      const connected = await connectClient(major, url, options);
      open.push(connected);
      return connected;
    },
  };
}

/** Lists tools, counts down with progress, asks for a name through the multi round-trip tool, and asks who it is. */
export async function exercise(client: RecordedClient) {
  const tools = await client.toolNames();
  const countdown = await client.call('countdown', { from: 3 });
  const asked = await client.call('ask_name');
  const whoami = await client.call('whoami');
  return { tools, countdown, asked, whoami: whoami.text };
}

/** The `_meta` envelope of a 2026-07-28 request. */
export function envelope(capabilities: Record<string, unknown> = { elicitation: { form: {} } }, version = MODERN): Record<string, unknown> {
  return {
    ...modernMeta('eras-raw'),
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

let nextId = 1;

/** A 2026-07-28 request: its body, and the headers that mirror it. */
export function modernRequest(
  method: string,
  params: Record<string, unknown> = {},
  options: { capabilities?: Record<string, unknown>; meta?: Record<string, unknown> } = {},
): { body: Json; headers: HeaderMap } {
  const name = method === 'resources/read' ? params.uri : params.name;
  return {
    body: { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: { ...envelope(options.capabilities), ...options.meta } } },
    headers: {
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    },
  };
}

/** POSTs a 2026-07-28 request; `headers` change (or, undefined, remove) the mirrored ones. */
export function postModern(
  url: string,
  request: { body: Json; headers: HeaderMap },
  headers: HeaderMap = {},
  signal?: AbortSignal,
): Promise<Response> {
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries({ accept: ACCEPT, 'content-type': 'application/json', ...request.headers, ...headers })) {
    if (value !== undefined) sent[name] = value;
  }
  return fetch(url, { method: 'POST', headers: sent, body: JSON.stringify(request.body), ...(signal === undefined ? {} : { signal }) });
}

/** A tools/call of the 2026-07-28 era. */
export function modernCall(name: string, args: Record<string, unknown> = {}, capabilities?: Record<string, unknown>) {
  return modernRequest('tools/call', { name, arguments: args }, capabilities === undefined ? {} : { capabilities });
}

/** The text a tools/call answered with, from a JSON response. */
export function resultText(message: Json): string | undefined {
  return message.result?.content?.[0]?.text;
}

/** Asserts an HTTP error whose JSON-RPC error echoes the request id; returns the error. */
export async function expectModernError(res: Response, status: number, code: number, id: Json['id']): Promise<NonNullable<Json['error']>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(text) as Json;
  expect(body).toMatchObject({ jsonrpc: '2.0', id, error: { code, message: expect.any(String) } });
  return body.error!;
}

/** Credentials the suites' `bearerAuth` host reads as two principals. */
export const alice = { authorization: 'Bearer alice' };
export const bob = { authorization: 'Bearer bob' };

/** Calls a tool in the 2026-07-28 era: its text, and whether the tool answered with an error. */
export async function callModern(
  url: string,
  name: string,
  args: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ text: string | undefined; isError: boolean }> {
  const res = await postModern(url, modernCall(name, args), headers);
  expect(res.status).toBe(200);
  const response = await readResponse(res);
  expect(response.error).toBeUndefined();
  return { text: resultText(response), isError: response.result?.isError === true };
}

/** Calls a tool in the 2026-07-28 era and returns its text; the call must succeed. */
export async function callText(url: string, name: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const { text, isError } = await callModern(url, name, args, headers);
  expect(isError, text).toBe(false);
  return text!;
}

/** Asserts the 429 of a limit: Retry-After in seconds, and -32029 with the delay in milliseconds. */
export async function expectLimited(res: Response, id: Json['id'], retryAfterSeconds: string): Promise<void> {
  expect(res.headers.get('retry-after')).toBe(retryAfterSeconds);
  const error = await expectModernError(res, 429, RATE_LIMITED, id);
  expect(error.data).toEqual({ retryAfterMs: Number(retryAfterSeconds) * 1000 });
}
