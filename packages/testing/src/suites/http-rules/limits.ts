import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../harness.js';
import {
  closedLog,
  del,
  echoCall,
  expectEcho,
  expectRpcError,
  get,
  initializeMessage,
  openSession,
  post,
  SERVER_ERROR,
  session,
  SESSION_NOT_FOUND,
  type StartApp,
} from './helpers.js';

/** 503 and eviction: maxSessions. */
export function limitRules(start: StartApp): void {
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
}
