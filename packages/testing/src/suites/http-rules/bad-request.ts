import { describe, expect, it } from 'vitest';
import {
  del,
  echoCall,
  expectEcho,
  expectRpcError,
  get,
  initializeMessage,
  INVALID_REQUEST,
  type Json,
  LATEST,
  openSession,
  PARSE_ERROR,
  parseSse,
  post,
  postRaw,
  readEvents,
  SERVER_ERROR,
  session,
  type StartApp,
} from './helpers.js';

/** 400: what the endpoint refuses as a bad request. */
export function badRequestRules(start: StartApp): void {
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
}
