/**
 * Bad input and HTTP rules of the Streamable HTTP endpoint (SPEC.md), over real sockets with Node's
 * global fetch (and node:http where fetch cannot set a header). One describe per rule.
 */
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AuthInfo, McpSession, McpSessionOptions } from '@x/mcp-session-core';
import { afterEach, describe, expect, it } from 'vitest';
// The README's demo server: the HTTP rules are checked against what `pnpm start` serves.
import { createDemoServer } from '../../../../examples/demo/mcp-server.js';
import { type AdapterHarness, type HostOptions, ManualClock, type RunningApp } from '../harness.js';

// ---- request helpers -------------------------------------------------------------------------

const ACCEPT = 'application/json, text/event-stream';
const LATEST = '2025-11-25';
const SERVER_ERROR = -32000;
const SESSION_NOT_FOUND = -32001;
const INVALID_REQUEST = -32600;
const PARSE_ERROR = -32700;

/** Header values; `undefined` removes a default header. */
type HeaderMap = Record<string, string | undefined>;
type Body = RequestInit['body'];
/** A JSON-RPC message as these tests send and read it; members the tests never read stay `unknown`. */
interface Json {
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

function initializeMessage(protocolVersion: string = LATEST, id: string | number = 1): Json {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 't', version: '1' } },
  };
}

const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

let nextRequestId = 1000;
function echoCall(text: string, id: number = nextRequestId++): Json {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } };
}

function session(sessionId: string, version: string = LATEST): Record<string, string> {
  return { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
}

function postRaw(url: string, body: Body, headers: HeaderMap = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: cleanHeaders({ accept: ACCEPT, 'content-type': 'application/json', ...headers }),
    body,
    ...init,
  });
}

function post(url: string, message: unknown, headers: HeaderMap = {}): Promise<Response> {
  return postRaw(url, JSON.stringify(message), headers);
}

function get(url: string, headers: HeaderMap = {}): Promise<Response> {
  return fetch(url, { method: 'GET', headers: cleanHeaders({ accept: 'text/event-stream', ...headers }) });
}

function del(url: string, headers: HeaderMap = {}): Promise<Response> {
  return fetch(url, { method: 'DELETE', headers: cleanHeaders(headers) });
}

interface SseEvent {
  id?: string;
  event?: string;
  retry?: string;
  data: string;
  /** The event as sent, for assertions on its lines. */
  raw: string;
}

function parseSse(text: string): SseEvent[] {
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
async function readMessages(res: Response): Promise<Json[]> {
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
async function readResponse(res: Response): Promise<Json> {
  const responses = (await readMessages(res)).filter((m) => 'id' in m && ('result' in m || 'error' in m));
  expect(responses).toHaveLength(1);
  return responses[0]!;
}

function expectErrorBody(
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
async function expectRpcError(res: Response, status: number, code: number): Promise<string> {
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
async function openSession(url: string, options: { version?: string; headers?: HeaderMap } = {}): Promise<string> {
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
async function expectEcho(
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
async function expectStreamOpens(res: Response): Promise<void> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  await res.body?.cancel();
}

/** Reads an open SSE response until `count` events arrived, then drops the connection. */
async function readEvents(res: Response, count: number): Promise<SseEvent[]> {
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

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request over node:http, which (unlike fetch) may set the Host header. */
function rawRequest(url: string, options: { method?: string; headers: Record<string, string>; body?: string }): Promise<RawResponse> {
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

function portOf(url: string): string {
  return new URL(url).port;
}

/** A request body streamed in chunks (no Content-Length: chunked transfer encoding). */
function chunkedBody(chunks: string[]): { body: ReadableStream<Uint8Array>; init: RequestInit } {
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
function closedLog(): { closed: Array<{ id: string; reason: string }>; onSessionClosed: (s: McpSession, reason: string) => void } {
  const closed: Array<{ id: string; reason: string }> = [];
  return { closed, onSessionClosed: (s, reason) => void closed.push({ id: s.id, reason }) };
}

/** The host's auth: `authorization: Bearer <user>` authenticates that user. */
const bearerAuth: HostOptions = {
  auth: (req): AuthInfo | undefined => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return match === null ? undefined : { token: match[1]!, clientId: match[1]!, scopes: [] };
  },
};

/** Every HTTP rule of SPEC.md, through the adapter under test. */
export function httpRulesSuite(harness: AdapterHarness): void {
  describe('HTTP rules', () => {
    const apps: RunningApp[] = [];
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
    });

    async function start(options: Partial<McpSessionOptions> = {}, host?: HostOptions): Promise<RunningApp> {
      const app = await harness.start({ server: createDemoServer, ...options }, host);
      apps.push(app);
      return app;
    }

    // ---- 400 -----------------------------------------------------------------------------------------

    describe('400: a POST other than initialize needs Mcp-Session-Id', () => {
      it('refuses a request, a notification and a response without the header', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const version = { 'mcp-protocol-version': LATEST };
        await expectRpcError(await post(app.url, echoCall('x'), version), 400, SERVER_ERROR);
        await expectRpcError(
          await post(app.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }, version),
          400,
          SERVER_ERROR,
        );
        await expectRpcError(await post(app.url, { jsonrpc: '2.0', id: 'x~1', result: {} }, version), 400, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: malformed JSON', () => {
      it.each([
        ['truncated object', '{"jsonrpc":"2.0","id":1,"method":'],
        ['plain text', 'hello there'],
        ['trailing garbage', '{"jsonrpc":"2.0","id":1,"method":"ping"} x'],
        ['single quotes', "{'jsonrpc':'2.0','id':1,'method':'ping'}"],
        ['empty body', ''],
      ])('answers %s with a parse error', async (_name, body) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await postRaw(app.url, body, session(sessionId)), 400, PARSE_ERROR);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: a body that is not a JSON-RPC message', () => {
      it.each<[string, unknown]>([
        ['a number', 42],
        ['a string', 'ping'],
        ['null', null],
        ['a boolean', true],
        ['an empty object', {}],
        ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'ping' }],
        ['no jsonrpc member', { id: 1, method: 'ping' }],
        ['a numeric method', { jsonrpc: '2.0', id: 1, method: 7 }],
        ['an object id', { jsonrpc: '2.0', id: {}, method: 'ping' }],
        ['a null id', { jsonrpc: '2.0', id: null, method: 'ping' }],
        ['array params', { jsonrpc: '2.0', id: 1, method: 'ping', params: [1, 2] }],
        ['neither method, result nor error', { jsonrpc: '2.0', id: 1 }],
        ['a non-object result', { jsonrpc: '2.0', id: 1, result: 'ok' }],
        ['a malformed error', { jsonrpc: '2.0', id: 1, error: { code: 'x', message: 1 } }],
        ['a response without id', { jsonrpc: '2.0', result: {} }],
      ])('refuses %s', async (_name, body) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await post(app.url, body, session(sessionId)), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId);
      });

      it('refuses a batch with one invalid member, even where batches are allowed (2025-03-26)', async () => {
        const app = await start();
        const sessionId = await openSession(app.url, { version: '2025-03-26' });
        await expectRpcError(await post(app.url, [echoCall('a'), 5], session(sessionId, '2025-03-26')), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId, 'ok', {}, '2025-03-26');
      });
    });

    describe('400: empty batch', () => {
      it('refuses [] with and without a session', async () => {
        const app = await start();
        const sessionId = await openSession(app.url, { version: '2025-03-26' });
        await expectRpcError(await post(app.url, [], session(sessionId, '2025-03-26')), 400, INVALID_REQUEST);
        await expectRpcError(await post(app.url, []), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId, 'ok', {}, '2025-03-26');
      });
    });

    describe('400: batches after 2025-03-26', () => {
      it('accepts a batch on a session negotiated at 2025-03-26 (control)', async () => {
        const app = await start();
        const sessionId = await openSession(app.url, { version: '2025-03-26' });
        const res = await post(app.url, [echoCall('one', 1), echoCall('two', 2)], session(sessionId, '2025-03-26'));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await res.json()) as Json[];
        expect(Array.isArray(body)).toBe(true);
        expect(body.map((m) => [m.id, m.result?.content?.[0]?.text]).sort()).toEqual([
          [1, 'one'],
          [2, 'two'],
        ]);
      });

      it.each(['2025-06-18', '2025-11-25'])('refuses a batch of requests on a session negotiated at %s', async (version) => {
        const app = await start();
        const sessionId = await openSession(app.url, { version });
        await expectRpcError(await post(app.url, [echoCall('one'), echoCall('two')], session(sessionId, version)), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId, 'ok', {}, version);
      });

      it.each(['2025-06-18', '2025-11-25'])('refuses a batch of notifications on a session negotiated at %s', async (version) => {
        const app = await start();
        const sessionId = await openSession(app.url, { version });
        const notification = { jsonrpc: '2.0', method: 'notifications/roots/list_changed' };
        await expectRpcError(await post(app.url, [notification, notification], session(sessionId, version)), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId, 'ok', {}, version);
      });

      it('refuses a batch on a 2025-11-25 session that omits MCP-Protocol-Version', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await post(app.url, [echoCall('one')], { 'mcp-session-id': sessionId }), 400, INVALID_REQUEST);
        await expectEcho(app.url, sessionId);
      });

      it('refuses a batch on a 2025-11-25 session whose request header claims 2025-03-26 (the negotiated version decides)', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const res = await post(app.url, [echoCall('one'), echoCall('two')], session(sessionId, '2025-03-26'));
        // Refused either as a batch (-32600) or for a header that contradicts the negotiated version (-32000).
        const text = await res.text();
        expect(res.status, text).toBe(400);
        const body = JSON.parse(text) as Json;
        expect(body).toEqual({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) }, id: null });
        expect([INVALID_REQUEST, SERVER_ERROR]).toContain(body.error?.code);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: initialize inside a batch', () => {
      it.each<[string, () => unknown[]]>([
        ['alone', () => [initializeMessage()]],
        ['with another request', () => [initializeMessage(), { jsonrpc: '2.0', id: 2, method: 'ping' }]],
      ])('refuses initialize in a batch (%s) and creates no session', async (_name, batch) => {
        const app = await start();
        const res = await post(app.url, batch());
        expect(res.headers.get('mcp-session-id')).toBeNull();
        await expectRpcError(res, 400, INVALID_REQUEST);
        expect(await app.sessions.count()).toBe(0);
      });
    });

    describe('400: a second initialize carrying a session id', () => {
      it('refuses it and keeps the existing session', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const res = await post(app.url, initializeMessage(LATEST, 2), session(sessionId));
        expect(res.headers.get('mcp-session-id')).toBeNull();
        await expectRpcError(res, 400, INVALID_REQUEST);
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: unsupported MCP-Protocol-Version', () => {
      it.each(['1999-01-01', 'banana'])('refuses %s on POST, GET and DELETE', async (version) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
        await expectRpcError(await post(app.url, echoCall('x'), headers), 400, SERVER_ERROR);
        await expectRpcError(await get(app.url, headers), 400, SERVER_ERROR);
        await expectRpcError(await del(app.url, headers), 400, SERVER_ERROR);
        // The refused DELETE did not end the session.
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: GET and DELETE without Mcp-Session-Id', () => {
      it('refuses both', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await get(app.url, { 'mcp-protocol-version': LATEST }), 400, SERVER_ERROR);
        await expectRpcError(await del(app.url, { 'mcp-protocol-version': LATEST }), 400, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('400: malformed or unknown Last-Event-ID', () => {
      it('resumes from a known id (control)', async () => {
        const app = await start({ responseMode: 'sse' });
        const sessionId = await openSession(app.url);
        const res = await post(app.url, echoCall('replayed'), session(sessionId));
        const events = parseSse(await res.text());
        const priming = events[0]!;
        expect(priming.data).toBe('');
        expect(priming.id).toBeTypeOf('string');
        const resumed = await get(app.url, { ...session(sessionId), 'last-event-id': priming.id });
        expect(resumed.status).toBe(200);
        // The resumed POST stream replays the response and ends.
        const replayed = parseSse(await resumed.text()).map((event) => JSON.parse(event.data) as Json);
        expect(replayed).toEqual([expect.objectContaining({ result: { content: [{ type: 'text', text: 'replayed' }] } })]);
      });

      it.each(['garbage', 'no-sequence.', '.5', 'stream.-1', 'stream.x', 'stream.1.5e3x'])(
        'refuses the malformed id %j',
        async (lastEventId) => {
          const app = await start();
          const sessionId = await openSession(app.url);
          await expectRpcError(await get(app.url, { ...session(sessionId), 'last-event-id': lastEventId }), 400, SERVER_ERROR);
          await expectEcho(app.url, sessionId);
        },
      );

      it('refuses an unknown stream and a sequence beyond the end of a known stream', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const standalone = await get(app.url, session(sessionId));
        const [priming] = await readEvents(standalone, 1);
        expect(priming?.id).toMatch(/\.\d+$/);
        const streamId = priming!.id!.slice(0, priming!.id!.lastIndexOf('.'));
        await expectRpcError(await get(app.url, { ...session(sessionId), 'last-event-id': `${streamId}.999` }), 400, SERVER_ERROR);
        await expectRpcError(await get(app.url, { ...session(sessionId), 'last-event-id': 'nosuchstream.7' }), 400, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });

      it("refuses another session's event id", async () => {
        const app = await start({ responseMode: 'sse' });
        const a = await openSession(app.url);
        const b = await openSession(app.url);
        const events = parseSse(await (await post(app.url, echoCall('a only'), session(a))).text());
        const responseEvent = events.find((event) => event.data !== '');
        expect(responseEvent?.id).toBeTypeOf('string');
        await expectRpcError(await get(app.url, { ...session(b), 'last-event-id': responseEvent!.id }), 400, SERVER_ERROR);
        await expectEcho(app.url, b);
      });

      it('refuses an id at sequence 0 of a stream that does not exist in this session', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await get(app.url, { ...session(sessionId), 'last-event-id': 'nosuchstream.0' }), 400, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });

      it("refuses the priming id of another session's POST stream", async () => {
        const app = await start({ responseMode: 'sse' });
        const a = await openSession(app.url);
        const b = await openSession(app.url);
        const [priming] = parseSse(await (await post(app.url, echoCall('a only'), session(a))).text());
        expect(priming?.id).toMatch(/\.\d+$/);
        await expectRpcError(await get(app.url, { ...session(b), 'last-event-id': priming!.id }), 400, SERVER_ERROR);
        await expectEcho(app.url, b);
      });
    });

    // ---- 404 -----------------------------------------------------------------------------------------

    describe('404: unknown session', () => {
      it.each(['never-issued-session-id', 'AAAAAAAAAAAAAAAAAAAAAA'])('answers %s with -32001 on POST, GET and DELETE', async (unknown) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await post(app.url, echoCall('x'), session(unknown)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await post(app.url, INITIALIZED, session(unknown)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await get(app.url, session(unknown)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await del(app.url, session(unknown)), 404, SESSION_NOT_FOUND);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('404: a session after DELETE', () => {
      it('answers POST, GET and DELETE with -32001', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const other = await openSession(app.url);
        const deleted = await del(app.url, session(sessionId));
        expect(deleted.status).toBe(200);
        await deleted.arrayBuffer();
        await expectRpcError(await post(app.url, echoCall('x'), session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await get(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await del(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectEcho(app.url, other);
      });
    });

    describe('404: a session after idle expiry', () => {
      const IDLE = 60_000;

      it('keeps a session alive while it is used within the idle timeout (control)', async () => {
        const clock = new ManualClock();
        const app = await start({ clock, idleTimeoutMs: IDLE });
        const sessionId = await openSession(app.url);
        clock.advance(IDLE - 1);
        await app.endpoint.sweep();
        await expectEcho(app.url, sessionId);
        clock.advance(IDLE - 1);
        await app.endpoint.sweep();
        await expectEcho(app.url, sessionId);
      });

      it('answers 404 once the deadline passed, without a sweep', async () => {
        const clock = new ManualClock();
        const log = closedLog();
        const app = await start({ clock, idleTimeoutMs: IDLE, onSessionClosed: log.onSessionClosed });
        const sessionId = await openSession(app.url);
        const other = await openSession(app.url);
        clock.advance(IDLE);
        await expectRpcError(await post(app.url, echoCall('x'), session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await get(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await del(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        // A later sweep reports both as idle.
        await app.endpoint.sweep();
        expect(log.closed).toEqual(
          expect.arrayContaining([
            { id: sessionId, reason: 'idle' },
            { id: other, reason: 'idle' },
          ]),
        );
        expect(log.closed).toHaveLength(2);
      });

      it('answers 404 after the sweeper ended the session, and reports reason idle', async () => {
        const clock = new ManualClock();
        const log = closedLog();
        const app = await start({ clock, idleTimeoutMs: IDLE, onSessionClosed: log.onSessionClosed });
        const sessionId = await openSession(app.url);
        clock.advance(IDLE + 1);
        await app.endpoint.sweep();
        expect(log.closed).toEqual([{ id: sessionId, reason: 'idle' }]);
        expect(await app.sessions.count()).toBe(0);
        await expectRpcError(await post(app.url, echoCall('x'), session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await get(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await del(app.url, session(sessionId)), 404, SESSION_NOT_FOUND);
        // A new session still works on the same clock.
        const fresh = await openSession(app.url);
        await expectEcho(app.url, fresh);
      });
    });

    describe("404: a session used with another principal's credentials", () => {
      it('hides the session from bob and anonymous callers, and keeps it working for alice', async () => {
        const log = closedLog();
        const app = await start({ onSessionClosed: log.onSessionClosed }, bearerAuth);
        const alice = { authorization: 'Bearer alice' };
        const bob = { authorization: 'Bearer bob' };
        const sessionId = await openSession(app.url, { headers: alice });
        expect((await app.sessions.get(sessionId))?.principal).toBe('alice');

        for (const who of [bob, {}]) {
          await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), ...who }), 404, SESSION_NOT_FOUND);
          await expectRpcError(await get(app.url, { ...session(sessionId), ...who }), 404, SESSION_NOT_FOUND);
          await expectRpcError(await del(app.url, { ...session(sessionId), ...who }), 404, SESSION_NOT_FOUND);
        }
        expect(log.closed).toEqual([]);
        expect(await app.sessions.count()).toBe(1);

        await expectEcho(app.url, sessionId, 'mine', alice);
        await expectStreamOpens(await get(app.url, { ...session(sessionId), ...alice }));
        const deleted = await del(app.url, { ...session(sessionId), ...alice });
        expect(deleted.status).toBe(200);
        expect(log.closed).toEqual([{ id: sessionId, reason: 'deleted' }]);
      });
    });

    // ---- 405, 406, 413, 415 -------------------------------------------------------------------------------

    describe('405: methods other than GET, POST and DELETE', () => {
      it.each(['PUT', 'PATCH'])('answers %s with Allow: GET, POST, DELETE', async (method) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const res = await fetch(app.url, {
          method,
          headers: { accept: ACCEPT, 'content-type': 'application/json', ...session(sessionId) },
          body: JSON.stringify(echoCall('x')),
        });
        expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
        await expectRpcError(res, 405, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('406: Accept', () => {
      it.each<[string, string | undefined]>([
        ['only application/json', 'application/json'],
        ['only text/event-stream', 'text/event-stream'],
        ['text/html', 'text/html'],
        ['no Accept header', undefined],
      ])('refuses a POST accepting %s', async (_name, accept) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), accept }), 406, SERVER_ERROR);
        // An initialize is refused the same way, and creates no session.
        await expectRpcError(await post(app.url, initializeMessage(), { accept }), 406, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      });

      it.each<[string, string | undefined]>([
        ['application/json', 'application/json'],
        ['no Accept header', undefined],
      ])('refuses a GET accepting %s', async (_name, accept) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectRpcError(await get(app.url, { ...session(sessionId), accept }), 406, SERVER_ERROR);
        await expectStreamOpens(await get(app.url, session(sessionId)));
      });
    });

    describe('413: body over maxBodyBytes', () => {
      const LIMIT = 1024;

      it('accepts bodies under the limit, with Content-Length and chunked (control)', async () => {
        const app = await start({ maxBodyBytes: LIMIT });
        const sessionId = await openSession(app.url);
        const text = 'y'.repeat(600);
        const json = JSON.stringify(echoCall(text));
        expect(Buffer.byteLength(json)).toBeLessThan(LIMIT);
        const withLength = await postRaw(app.url, json, session(sessionId));
        expect(withLength.status).toBe(200);
        expect((await readResponse(withLength)).result?.content?.[0]?.text).toBe(text);
        const pieces = json.match(/[\s\S]{1,100}/g)!;
        const { body, init } = chunkedBody(pieces);
        const chunked = await postRaw(app.url, body, session(sessionId), init);
        expect(chunked.status).toBe(200);
        expect((await readResponse(chunked)).result?.content?.[0]?.text).toBe(text);
      });

      it('refuses a body whose Content-Length is over the limit, and keeps serving', async () => {
        const app = await start({ maxBodyBytes: LIMIT });
        const sessionId = await openSession(app.url);
        const json = JSON.stringify(echoCall('z'.repeat(4 * LIMIT)));
        await expectRpcError(await postRaw(app.url, json, session(sessionId)), 413, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });

      it('refuses a chunked body that grows over the limit, and keeps serving', async () => {
        const app = await start({ maxBodyBytes: LIMIT });
        const sessionId = await openSession(app.url);
        const json = JSON.stringify(echoCall('z'.repeat(4 * LIMIT)));
        const { body, init } = chunkedBody(json.match(/[\s\S]{1,256}/g)!);
        await expectRpcError(await postRaw(app.url, body, session(sessionId), init), 413, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
        // An oversized initialize creates no session.
        const { body: initBody, init: initInit } = chunkedBody([
          JSON.stringify(initializeMessage()).slice(0, -1),
          `,"pad":"${'p'.repeat(2 * LIMIT)}"}`,
        ]);
        await expectRpcError(await postRaw(app.url, initBody, {}, initInit), 413, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      });

      it('takes the limit from MCP_SESSION_MAX_BODY_BYTES like any other option', async () => {
        const previous = process.env.MCP_SESSION_MAX_BODY_BYTES;
        process.env.MCP_SESSION_MAX_BODY_BYTES = String(LIMIT);
        let app: RunningApp;
        try {
          app = await start();
        } finally {
          if (previous === undefined) delete process.env.MCP_SESSION_MAX_BODY_BYTES;
          else process.env.MCP_SESSION_MAX_BODY_BYTES = previous;
        }
        const sessionId = await openSession(app.url);
        const json = JSON.stringify(echoCall('z'.repeat(2 * LIMIT)));
        await expectRpcError(await postRaw(app.url, json, session(sessionId)), 413, SERVER_ERROR);
        const { body, init } = chunkedBody(json.match(/[\s\S]{1,256}/g)!);
        await expectRpcError(await postRaw(app.url, body, session(sessionId), init), 413, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });
    });

    describe('415: Content-Type', () => {
      it.each<[string, string | undefined]>([
        ['text/plain', 'text/plain'],
        ['text/plain with a charset', 'text/plain;charset=UTF-8'],
        ['form data', 'application/x-www-form-urlencoded'],
        ['no content-type', undefined],
      ])('refuses %s', async (_name, contentType) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        // A Uint8Array body makes fetch send no Content-Type of its own.
        const body = new TextEncoder().encode(JSON.stringify(echoCall('x')));
        const res = await postRaw(app.url, body, { ...session(sessionId), 'content-type': contentType });
        await expectRpcError(res, 415, SERVER_ERROR);
        await expectEcho(app.url, sessionId);
      });

      it('accepts application/json with parameters (control)', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        await expectEcho(app.url, sessionId, 'charset', { 'content-type': 'application/json; charset=utf-8' });
      });
    });

    // ---- 403 -----------------------------------------------------------------------------------------

    describe('403: Origin and Host', () => {
      it.each(['https://evil.example', 'null', 'http://127.0.0.1.evil.example'])(
        'refuses the foreign Origin %s on POST, GET and DELETE',
        async (origin) => {
          const app = await start();
          const sessionId = await openSession(app.url);
          const res = await post(app.url, initializeMessage(), { origin });
          expect(res.headers.get('mcp-session-id')).toBeNull();
          await expectRpcError(res, 403, SERVER_ERROR);
          await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), origin }), 403, SERVER_ERROR);
          await expectRpcError(await get(app.url, { ...session(sessionId), origin }), 403, SERVER_ERROR);
          await expectRpcError(await del(app.url, { ...session(sessionId), origin }), 403, SERVER_ERROR);
          expect(await app.sessions.count()).toBe(1);
          await expectEcho(app.url, sessionId);
        },
      );

      it('allows a same-origin Origin and a localhost Origin on the loopback server', async () => {
        const app = await start();
        const port = portOf(app.url);
        for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
          const sessionId = await openSession(app.url, { headers: { origin } });
          await expectEcho(app.url, sessionId, 'ok', { origin });
        }
      });

      it('allows an Origin named in allowedOrigins', async () => {
        const app = await start({ allowedOrigins: ['https://evil.example'] });
        const sessionId = await openSession(app.url, { headers: { origin: 'https://evil.example' } });
        await expectEcho(app.url, sessionId, 'ok', { origin: 'https://evil.example' });
        await expectRpcError(
          await post(app.url, echoCall('x'), { ...session(sessionId), origin: 'https://other.example' }),
          403,
          SERVER_ERROR,
        );
      });

      it('refuses a foreign Host header on the loopback server, also with a matching Origin (DNS rebinding)', async () => {
        const app = await start();
        const port = portOf(app.url);
        const headers = { accept: ACCEPT, 'content-type': 'application/json' };
        const body = JSON.stringify(initializeMessage());
        const foreign: Array<Record<string, string>> = [
          { host: 'evil.example' },
          { host: `evil.example:${port}` },
          { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
        ];
        for (const extra of foreign) {
          const res = await rawRequest(app.url, { headers: { ...headers, ...extra }, body });
          expect(res.headers['mcp-session-id']).toBeUndefined();
          expectErrorBody({ status: res.status, contentType: res.headers['content-type'], text: res.body }, 403, SERVER_ERROR);
        }
        expect(await app.sessions.count()).toBe(0);
        // localhost is a loopback name: allowed.
        const ok = await rawRequest(app.url, { headers: { ...headers, host: `localhost:${port}` }, body });
        expect(ok.status).toBe(200);
        expect(ok.headers['mcp-session-id']).toBeTypeOf('string');
        expect(JSON.parse(ok.body).result.protocolVersion).toBe(LATEST);
      });

      it('allows a Host named in allowedHosts', async () => {
        const app = await start({ allowedHosts: ['evil.example'] });
        const port = portOf(app.url);
        const headers = { accept: ACCEPT, 'content-type': 'application/json', host: `evil.example:${port}` };
        const res = await rawRequest(app.url, { headers, body: JSON.stringify(initializeMessage()) });
        expect(res.status).toBe(200);
        const sessionId = res.headers['mcp-session-id'];
        expect(sessionId).toBeTypeOf('string');
        expect(JSON.parse(res.body).result.protocolVersion).toBe(LATEST);
        const other = await rawRequest(app.url, {
          headers: { ...headers, host: 'other.example' },
          body: JSON.stringify(initializeMessage()),
        });
        expectErrorBody({ status: other.status, contentType: other.headers['content-type'], text: other.body }, 403, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(1);
      });
    });

    // ---- 503 and eviction --------------------------------------------------------------------------------

    describe('503: maxSessions reached', () => {
      it('rejects a new session with Retry-After by default, and accepts one again after a DELETE', async () => {
        const app = await start({ maxSessions: 2 });
        const first = await openSession(app.url);
        const second = await openSession(app.url);
        const res = await post(app.url, initializeMessage());
        expect(res.headers.get('mcp-session-id')).toBeNull();
        const retryAfter = res.headers.get('retry-after');
        expect(retryAfter).toMatch(/^\d+$/);
        expect(Number(retryAfter)).toBeGreaterThan(0);
        await expectRpcError(res, 503, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(2);
        // Existing sessions are untouched.
        await expectEcho(app.url, first);
        await expectEcho(app.url, second);
        expect((await del(app.url, session(first))).status).toBe(200);
        const third = await openSession(app.url);
        await expectEcho(app.url, third);
      });

      it("evicts the least recently active session with onMaxSessions: 'evict-lru'", async () => {
        const log = closedLog();
        // Distinct times: a store orders sessions by last activity, and ties are broken arbitrarily.
        const clock = new ManualClock();
        const app = await start({ maxSessions: 2, onMaxSessions: 'evict-lru', onSessionClosed: log.onSessionClosed, clock });
        const a = await openSession(app.url);
        clock.advance(10);
        const b = await openSession(app.url);
        clock.advance(10);
        await expectEcho(app.url, a); // b is now the least recently active
        clock.advance(10);
        const c = await openSession(app.url);
        expect(log.closed).toEqual([{ id: b, reason: 'evicted' }]);
        expect(await app.sessions.count()).toBe(2);
        await expectRpcError(await post(app.url, echoCall('x'), session(b)), 404, SESSION_NOT_FOUND);
        await expectRpcError(await get(app.url, session(b)), 404, SESSION_NOT_FOUND);
        await expectEcho(app.url, a);
        await expectEcho(app.url, c);
      });

      it('does not evict a session with an open GET stream', async () => {
        const log = closedLog();
        const clock = new ManualClock();
        const app = await start({ maxSessions: 2, onMaxSessions: 'evict-lru', onSessionClosed: log.onSessionClosed, clock });
        const a = await openSession(app.url);
        clock.advance(10);
        const b = await openSession(app.url);
        clock.advance(10);
        const stream = await get(app.url, session(a));
        expect(stream.status).toBe(200);
        const reader = stream.body!.getReader();
        // The stream is attached once its priming event arrived.
        expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^id: /);
        await expectEcho(app.url, b); // a is the least recently active, but busy
        clock.advance(10);
        await openSession(app.url);
        expect(log.closed).toEqual([{ id: b, reason: 'evicted' }]);
        await reader.cancel();
        await expectEcho(app.url, a);
      });

      it("answers 503 with Retry-After under 'evict-lru' when every session is busy", async () => {
        const log = closedLog();
        const app = await start({ maxSessions: 1, onMaxSessions: 'evict-lru', onSessionClosed: log.onSessionClosed });
        const a = await openSession(app.url);
        const stream = await get(app.url, session(a));
        expect(stream.status).toBe(200);
        const reader = stream.body!.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^id: /);
        const res = await post(app.url, initializeMessage());
        expect(res.headers.get('mcp-session-id')).toBeNull();
        expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
        await expectRpcError(res, 503, SERVER_ERROR);
        expect(log.closed).toEqual([]);
        await expectEcho(app.url, a);
        await reader.cancel();
      });
    });

    // ---- 202 and DELETE ------------------------------------------------------------------------------------

    describe('202: notifications and client responses', () => {
      it('answers a notification with 202 and no body', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const res = await post(app.url, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, session(sessionId));
        expect(res.status).toBe(202);
        expect(await res.text()).toBe('');
        await expectEcho(app.url, sessionId);
      });

      it('answers a client response with 202 and no body', async () => {
        const app = await start();
        const sessionId = await openSession(app.url);
        for (const response of [
          { jsonrpc: '2.0', id: 'nobody-asked~1', result: {} },
          { jsonrpc: '2.0', id: 7, error: { code: -32601, message: 'Method not found' } },
        ]) {
          const res = await post(app.url, response, session(sessionId));
          expect(res.status).toBe(202);
          expect(await res.text()).toBe('');
        }
        await expectEcho(app.url, sessionId);
      });
    });

    describe('DELETE: terminates the session', () => {
      it("answers 200 and fires onSessionClosed(session, 'deleted')", async () => {
        const log = closedLog();
        const app = await start({ onSessionClosed: log.onSessionClosed });
        const sessionId = await openSession(app.url);
        const other = await openSession(app.url);
        const res = await del(app.url, session(sessionId));
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        expect(log.closed).toEqual([{ id: sessionId, reason: 'deleted' }]);
        expect(await app.sessions.get(sessionId)).toBeUndefined();
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, other);
      });
    });

    // ---- initialize -----------------------------------------------------------------------------------

    describe('initialize', () => {
      function expectGoodSessionId(sessionId: string | null): void {
        expect(sessionId).toBeTypeOf('string');
        expect(sessionId).toMatch(/^[\x21-\x7E]+$/);
        // 128 bits: at least 22 base64url characters.
        expect(sessionId!.length).toBeGreaterThanOrEqual(22);
      }

      it.each(['auto', 'json'] as const)('answers in JSON with a fresh session id in responseMode %s', async (responseMode) => {
        const app = await start({ responseMode });
        const ids = new Set<string>();
        for (let i = 0; i < 3; i += 1) {
          const res = await post(app.url, initializeMessage());
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          const sessionId = res.headers.get('mcp-session-id');
          expectGoodSessionId(sessionId);
          ids.add(sessionId!);
          const body = (await res.json()) as Json;
          expect(body).toMatchObject({
            jsonrpc: '2.0',
            id: 1,
            result: { protocolVersion: LATEST, serverInfo: { name: 'mcp-session-demo' } },
          });
        }
        expect(ids.size).toBe(3);
        expect(await app.sessions.count()).toBe(3);
      });

      it("streams SSE with a priming event and retry for 2025-11-25 in responseMode 'sse'", async () => {
        const app = await start({ responseMode: 'sse' });
        const res = await post(app.url, initializeMessage('2025-11-25'));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expectGoodSessionId(res.headers.get('mcp-session-id'));
        const events = parseSse(await res.text());
        const [priming, response] = events;
        expect(priming?.id).toMatch(/\S/);
        expect(priming?.data).toBe('');
        expect(priming?.retry).toMatch(/^\d+$/);
        expect(priming?.raw).toMatch(/^id: \S+$/m);
        expect(priming?.raw).toMatch(/^retry: \d+$/m);
        expect(JSON.parse(response!.data)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-11-25' } });
        expect(events).toHaveLength(2);
      });

      it("streams SSE without a priming event for 2025-06-18 in responseMode 'sse'", async () => {
        const app = await start({ responseMode: 'sse' });
        const res = await post(app.url, initializeMessage('2025-06-18'));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expectGoodSessionId(res.headers.get('mcp-session-id'));
        const events = parseSse(await res.text());
        expect(events.every((event) => event.data !== '')).toBe(true);
        expect(events.some((event) => event.retry !== undefined)).toBe(false);
        expect(events).toHaveLength(1);
        expect(JSON.parse(events[0]!.data)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
      });

      it.each(['auto', 'json', 'sse'] as const)(
        'a rejected initialize (responseMode %s) gets its JSON-RPC error, no session id and no 404',
        async (responseMode) => {
          const app = await start({ responseMode });
          const bad = { ...initializeMessage(), params: { protocolVersion: 123, capabilities: {}, clientInfo: 5 } };
          const res = await post(app.url, bad);
          // 404 on an initialize POST sends clients to the 2024-11-05 fallback (SPEC rule 21).
          expect(res.status).not.toBe(404);
          expect([200, 400]).toContain(res.status);
          // A session id only on the response carrying the InitializeResult (SPEC rule 13).
          expect(res.headers.get('mcp-session-id')).toBeNull();
          const messages = await readMessages(res);
          expect(messages).toEqual([
            expect.objectContaining({ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: expect.any(Number) }) }),
          ]);
          expect(await app.sessions.count()).toBe(0);
          // The endpoint still serves a good initialize.
          await expectEcho(app.url, await openSession(app.url));
        },
      );
    });

    // ---- robustness --------------------------------------------------------------------------------------

    describe('robustness: the server keeps serving after bad input', () => {
      type Bad = (url: string, sessionId: string) => Promise<Response | RawResponse>;
      const cases: Array<[string, number, Bad]> = [
        ['POST without session id', 400, (url) => post(url, echoCall('x'))],
        ['malformed JSON', 400, (url, id) => postRaw(url, '{"jsonrpc":', session(id))],
        ['not JSON-RPC', 400, (url, id) => post(url, { hello: 'world' }, session(id))],
        ['empty batch', 400, (url, id) => post(url, [], session(id))],
        ['batch on 2025-11-25', 400, (url, id) => post(url, [echoCall('a'), echoCall('b')], session(id))],
        ['batch with initialize', 400, (url) => post(url, [initializeMessage()])],
        ['second initialize', 400, (url, id) => post(url, initializeMessage(), session(id))],
        ['unsupported protocol version', 400, (url, id) => post(url, echoCall('x'), session(id, '1999-01-01'))],
        ['GET without session id', 400, (url) => get(url)],
        ['DELETE without session id', 400, (url) => del(url)],
        ['malformed Last-Event-ID', 400, (url, id) => get(url, { ...session(id), 'last-event-id': 'garbage' })],
        ['unknown session', 404, (url) => post(url, echoCall('x'), session('unknown-session'))],
        ['PUT', 405, (url, id) => fetch(url, { method: 'PUT', headers: session(id) })],
        ['PATCH', 405, (url, id) => fetch(url, { method: 'PATCH', headers: session(id), body: '{}' })],
        ['POST accepting only JSON', 406, (url, id) => post(url, echoCall('x'), { ...session(id), accept: 'application/json' })],
        ['GET accepting only JSON', 406, (url, id) => get(url, { ...session(id), accept: 'application/json' })],
        ['oversized body', 413, (url, id) => postRaw(url, JSON.stringify(echoCall('z'.repeat(8192))), session(id))],
        [
          'oversized chunked body',
          413,
          (url, id) => {
            const { body, init } = chunkedBody(Array.from({ length: 20 }, () => ' '.repeat(512)));
            return postRaw(url, body, session(id), init);
          },
        ],
        ['text/plain', 415, (url, id) => postRaw(url, JSON.stringify(echoCall('x')), { ...session(id), 'content-type': 'text/plain' })],
        ['foreign Origin', 403, (url, id) => post(url, echoCall('x'), { ...session(id), origin: 'https://evil.example' })],
        [
          'foreign Host',
          403,
          (url, id) =>
            rawRequest(url, {
              headers: { accept: ACCEPT, 'content-type': 'application/json', host: 'evil.example', ...session(id) },
              body: JSON.stringify(echoCall('x')),
            }),
        ],
      ];

      it.each(cases)('after %s (%i)', async (_name, status, bad) => {
        const app = await start({ maxBodyBytes: 4096 });
        const sessionId = await openSession(app.url);
        const res = await bad(app.url, sessionId);
        if (res instanceof Response) {
          await expectRpcError(res, status, status === 404 ? SESSION_NOT_FOUND : expect.any(Number));
        } else {
          expectErrorBody({ status: res.status, contentType: res.headers['content-type'], text: res.body }, status, expect.any(Number));
        }
        await expectEcho(app.url, sessionId);
        await expectEcho(app.url, await openSession(app.url), 'new session');
        expect(await app.sessions.count()).toBe(2);
      });
    });
  });
}
