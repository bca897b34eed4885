/**
 * How token sessions are refused and end: every invalid token answers 404 as an unknown session
 * does; DELETE, `terminate` and eviction revoke through the shared denylist; without a session store
 * a session has an absolute lifetime and idleness only lets it go on one process; with one, the
 * store decides as it does for random ids. Several endpoints in one process stand for processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRevocationStore, MemorySessionStore, type RevocationStore, type SessionCloseReason } from '@x/mcp-session-core';
import { SessionTokens } from '@x/mcp-session-core/internal';
import { manualClock } from './helpers.js';
import { ACCEPT, callTool, closeAll, key, openSession, start } from './token-harness.js';

afterEach(closeAll);

const K1 = key('k1');
const sidOf = (token: string) => new SessionTokens([K1], 'signed').open(token)!.claims.sid;

/** A shared denylist that counts how often it is read. */
class CountingRevocations implements RevocationStore {
  readonly #inner = new MemoryRevocationStore();
  reads = 0;
  revoke(sessionId: string, untilMs: number, now: number): boolean {
    return this.#inner.revoke(sessionId, untilMs, now);
  }
  isRevoked(sessionId: string, now: number): boolean {
    this.reads += 1;
    return this.#inner.isRevoked(sessionId, now);
  }
}

function request(url: string, method: 'POST' | 'GET' | 'DELETE', sessionId: string, user?: string): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      accept: method === 'GET' ? 'text/event-stream' : ACCEPT,
      'content-type': 'application/json',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
      ...(user === undefined ? {} : { 'x-user': user }),
    },
    body: method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) : undefined,
  });
}

const answer = async (response: Response) => ({ status: response.status, body: await response.text() });

describe('token sessions: refusals', () => {
  it('tampered, expired, wrong-principal and unknown-key tokens answer 404 exactly like an unknown session, with no store read', async () => {
    const clock = manualClock();
    const revocations = new CountingRevocations();
    const app = await start({ tokenKeys: [K1], clock, maxLifetimeMs: 60_000, revocationStore: revocations });
    const other = await start({ tokenKeys: [key('k1')], clock });
    const token = await openSession(app.url, { user: 'alice' });
    const reads = revocations.reads;
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    for (const method of ['POST', 'GET', 'DELETE'] as const) {
      const unknown = await answer(await request(app.url, method, 's1.k1.unknown.session'));
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
      expect(await answer(await request(app.url, method, tampered, 'alice'))).toEqual(unknown);
      expect(await answer(await request(app.url, method, token, 'bob'))).toEqual(unknown);
      expect(await answer(await request(app.url, method, token))).toEqual(unknown);
      expect(await answer(await request(other.url, method, token, 'alice'))).toEqual(unknown);
    }
    expect(revocations.reads).toBe(reads);
    expect((await callTool(app.url, token, 'echo', { text: 'valid' }, 'alice')).text).toBe('valid');
    clock.advance(60_000);
    expect(await answer(await request(app.url, 'POST', token, 'alice'))).toEqual(await answer(await request(app.url, 'POST', 'x')));
  });
});

describe('token sessions: revocation', () => {
  it('DELETE revokes the session on every process sharing the denylist, until its token would have expired', async () => {
    const clock = manualClock();
    const revocations = new MemoryRevocationStore();
    const closed: SessionCloseReason[] = [];
    const a = await start({ tokenKeys: [K1], clock, revocationStore: revocations, maxLifetimeMs: 60_000 });
    const b = await start({
      tokenKeys: [K1],
      clock,
      revocationStore: revocations,
      onSessionClosed: (_s, reason) => void closed.push(reason),
    });
    const alone = await start({ tokenKeys: [K1], clock });
    const token = await openSession(a.url, { user: 'alice' });
    expect((await callTool(b.url, token, 'echo', { text: 'on b' }, 'alice')).status).toBe(200);
    expect((await request(b.url, 'DELETE', token, 'bob')).status).toBe(404);
    expect((await request(b.url, 'DELETE', token, 'alice')).status).toBe(200);
    expect(closed).toEqual(['deleted']);
    expect((await request(a.url, 'POST', token, 'alice')).status).toBe(404);
    expect((await request(b.url, 'POST', token, 'alice')).status).toBe(404);
    expect((await request(b.url, 'DELETE', token, 'alice')).status).toBe(404);
    // A process with a denylist of its own never heard of it: the denylist must be shared.
    expect((await request(alone.url, 'POST', token, 'alice')).status).toBe(200);
    expect(revocations.isRevoked(sidOf(token), clock.now() + 59_999)).toBe(true);
    expect(revocations.isRevoked(sidOf(token), clock.now() + 60_000)).toBe(false);
  });

  it('a GET stream open on one process ends at its next sweep once the session is revoked through another', async () => {
    const revocations = new MemoryRevocationStore();
    const a = await start({ tokenKeys: [K1], revocationStore: revocations });
    const b = await start({ tokenKeys: [K1], revocationStore: revocations });
    const token = await openSession(a.url);
    const get = await request(b.url, 'GET', token);
    expect(get.status).toBe(200);
    const reader = get.body!.getReader();
    await reader.read();
    expect((await request(a.url, 'DELETE', token)).status).toBe(200);
    await b.endpoint.sweep();
    for (;;) if ((await reader.read()).done) break;
    expect(await b.endpoint.sessions.count()).toBe(0);
  });

  it('terminate and eviction revoke too, also of a session the process holds no record of', async () => {
    const revocations = new MemoryRevocationStore();
    const closed: SessionCloseReason[] = [];
    const a = await start({
      tokenKeys: [K1],
      revocationStore: revocations,
      maxSessions: 1,
      onMaxSessions: 'evict-lru',
      onSessionClosed: (_s, reason) => void closed.push(reason),
    });
    const b = await start({ tokenKeys: [K1], revocationStore: revocations });
    const first = await openSession(a.url);
    await openSession(a.url);
    expect(closed).toEqual(['evicted']);
    expect((await request(b.url, 'POST', first)).status).toBe(404);

    const held = await openSession(a.url);
    expect(await b.endpoint.sessions.get(held)).toBeUndefined();
    expect(await b.endpoint.sessions.terminate(held)).toBe(true);
    expect(await b.endpoint.sessions.terminate(held)).toBe(false);
    expect((await request(a.url, 'POST', held)).status).toBe(404);
  });
});

describe('token sessions: lifetime and activity', () => {
  it('without a session store, an idle session is let go on this process only; it ends when its token expires', async () => {
    const clock = manualClock();
    const closed: SessionCloseReason[] = [];
    const app = await start({
      tokenKeys: [K1],
      clock,
      idleTimeoutMs: 1_000,
      maxLifetimeMs: 10_000,
      onSessionClosed: (_s, reason) => void closed.push(reason),
    });
    const token = await openSession(app.url);
    expect((await callTool(app.url, token, 'remember', { value: 'v' })).text).toBe('ok');
    expect(app.endpoint.sessions.liveCount).toBe(1);
    clock.advance(1_001);
    await app.endpoint.sweep();
    expect(app.endpoint.sessions.liveCount).toBe(0);
    expect(await app.endpoint.sessions.count()).toBe(0);
    expect(closed).toEqual([]);
    // Its token still holds: the session comes back here, with what this process had let go of gone.
    expect((await callTool(app.url, token, 'recall')).text).toBe('undefined');
    expect(await app.endpoint.sessions.count()).toBe(1);
    clock.advance(10_000 - 1_001);
    await app.endpoint.sweep();
    expect(closed).toEqual(['expired']);
    expect((await request(app.url, 'POST', token)).status).toBe(404);
  });

  it('with a configured session store, the store decides: idleness ends the session everywhere, and the denylist is never read', async () => {
    const clock = manualClock();
    const sessionStore = new MemorySessionStore();
    const revocations = new CountingRevocations();
    const closed: SessionCloseReason[] = [];
    const options = { tokenKeys: [K1], clock, sessionStore, revocationStore: revocations, idleTimeoutMs: 1_000 };
    const a = await start({ ...options, onSessionClosed: (_s, reason) => void closed.push(reason) });
    const b = await start(options);
    const idle = await openSession(a.url);
    const deleted = await openSession(a.url);
    expect((await callTool(b.url, idle, 'remember', { value: 'shared' })).status).toBe(200);
    expect((await callTool(a.url, idle, 'recall')).text).toBe('shared');
    expect((await request(b.url, 'DELETE', deleted)).status).toBe(200);
    expect((await request(a.url, 'POST', deleted)).status).toBe(404);
    clock.advance(1_001);
    // Before any sweep: the store no longer counts it as active.
    expect((await request(b.url, 'POST', idle)).status).toBe(404);
    await a.endpoint.sweep();
    expect(closed).toEqual(['idle']);
    expect(revocations.reads).toBe(0);
    expect(a.endpoint.settings.maxLifetimeMs).toBe(86_400_000);
  });
});
