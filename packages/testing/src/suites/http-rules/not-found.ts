import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../harness.js';
import {
  bearerAuth,
  closedLog,
  del,
  echoCall,
  expectEcho,
  expectRpcError,
  expectStreamOpens,
  get,
  INITIALIZED,
  openSession,
  post,
  session,
  SESSION_NOT_FOUND,
  type StartApp,
} from './helpers.js';

/** 404: sessions that are unknown, deleted, expired or another principal's. */
export function notFoundRules(start: StartApp): void {
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
      expect((await app.sessions.get(sessionId))?.principal).toBe('{"client":"alice"}');

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
}
