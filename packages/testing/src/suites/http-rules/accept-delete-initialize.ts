import { describe, expect, it } from 'vitest';
import {
  closedLog,
  del,
  expectEcho,
  initializeMessage,
  type Json,
  LATEST,
  openSession,
  parseSse,
  post,
  readMessages,
  session,
  type StartApp,
} from './helpers.js';

/** 202 for notifications and client responses, DELETE, and initialize. */
export function acceptDeleteInitializeRules(start: StartApp): void {
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
}
