/**
 * The session manager on a memory store and an injected clock: admission at maxSessions, new
 * records, the principal check, and the one path every ended session takes.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import type { JSONRPCRequest } from '../src/protocol/jsonrpc.js';
import { randomSessionIds } from '../src/sessions/ids.js';
import { type SessionManagerSettings, SessionManager } from '../src/sessions/manager.js';
import { MemoryEventStore, MemoryRateLimitStore, MemorySessionStore } from '../src/stores/memory.js';
import type { SessionCloseReason, SessionRecord } from '../src/stores/types.js';
import type { McpSession } from '../src/types.js';
import { type ManualClock, deferred, manualClock, recordingLogger } from './helpers.js';

const initialize = (id: number | string = 1, params: Record<string, unknown> = {}): JSONRPCRequest => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'unit', version: '1' }, ...params },
});

const notification = { jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info' } };

interface Harness {
  manager: SessionManager;
  store: MemorySessionStore;
  eventStore: MemoryEventStore;
  clock: ManualClock;
  metrics: Metrics;
  busy: Set<string>;
  released: string[];
  announced: string[];
  created: McpSession[];
  closed: Array<{ id: string; reason: SessionCloseReason; requestCount: number }>;
  errors: unknown[];
  /** A new session, stored, as an initialize would leave it. */
  open(principal?: string): Promise<SessionRecord>;
}

function harness(overrides: Partial<SessionManagerSettings> = {}): Harness {
  const store = new MemorySessionStore();
  const eventStore = new MemoryEventStore();
  const clock = manualClock();
  const metrics = new Metrics();
  const busy = new Set<string>();
  const released: string[] = [];
  const announced: string[] = [];
  const created: McpSession[] = [];
  const closed: Harness['closed'] = [];
  const errors: unknown[] = [];
  const manager = new SessionManager(
    {
      store,
      ownsStore: true,
      eventStore,
      ids: randomSessionIds,
      clock,
      state: { maxStateKeys: 100, maxStateBytes: 65_536, reportError: (error) => void errors.push(error) },
      idleTimeoutMs: 60_000,
      maxLifetimeMs: undefined,
      sessionCreationLimit: 0,
      rateLimitStore: new MemoryRateLimitStore(),
      maxSessions: 10_000,
      onMaxSessions: 'reject',
      sweepIntervalMs: 10_000,
      onSessionCreated: (session) => void created.push(session),
      onSessionClosed: (session, reason) => void closed.push({ id: session.id, reason, requestCount: session.requestCount }),
      log: recordingLogger(),
      metrics,
      reportError: (error) => void errors.push(error),
      announceEnded: (sessionId) => void announced.push(sessionId),
      ...overrides,
    },
    {
      isBusy: (sessionId) => busy.has(sessionId),
      release: async (sessionId) => void released.push(sessionId),
    },
  );
  let next = 0;
  return {
    manager,
    store,
    eventStore,
    clock,
    metrics,
    busy,
    released,
    announced,
    created,
    closed,
    errors,
    async open(principal) {
      const record = await reserved(manager, initialize(++next), principal);
      await manager.save(record);
      // Sessions opened one after another are told apart by their activity.
      clock.advance(1);
      return record;
    },
  };
}

/** A reserved record: reserve() must have found room. */
async function reserved(manager: SessionManager, request: JSONRPCRequest, principal?: string): Promise<SessionRecord> {
  const result = await manager.reserve(request, principal, '127.0.0.1');
  if (!result.ok) throw new Error(`no room: ${result.message}`);
  return result.record;
}

describe('SessionManager.reserve: room under maxSessions', () => {
  it('admits while the store holds fewer than maxSessions', async () => {
    const h = harness({ maxSessions: 2 });
    // A reservation given up holds no room.
    h.manager.release(await reserved(h.manager, initialize()));
    await h.open();
    expect((await h.manager.reserve(initialize(), undefined, '127.0.0.1')).ok).toBe(true);
  });

  it('refuses with 503 and a Retry-After of the sweep interval at maxSessions under reject, ending nothing', async () => {
    const h = harness({ maxSessions: 2, onMaxSessions: 'reject', sweepIntervalMs: 2_500 });
    await h.open();
    await h.open();
    const refused = await h.manager.reserve(initialize(), undefined, '127.0.0.1');
    expect(refused).toMatchObject({ ok: false, status: 503, code: -32000, headers: { 'retry-after': '3' } });
    expect(refused.ok ? '' : refused.message).toMatch(/too many sessions/);
    expect(await h.store.count()).toBe(2);
    expect(h.closed).toEqual([]);
  });

  it('under evict-lru ends the least recently active idle session, with reason evicted', async () => {
    const h = harness({ maxSessions: 3, onMaxSessions: 'evict-lru' });
    const a = await h.open();
    const b = await h.open();
    const c = await h.open();
    // a becomes the most recently active: b is now the least.
    await h.manager.resolve(a.id, undefined, true);
    expect((await h.manager.reserve(initialize(), undefined, '127.0.0.1')).ok).toBe(true);
    expect(h.closed).toEqual([{ id: b.id, reason: 'evicted', requestCount: 1 }]);
    expect(h.released).toEqual([b.id]);
    expect(h.metrics.sessionsClosed.evicted).toBe(1);
    expect((await h.store.list()).map((record) => record.id).sort()).toEqual([a.id, c.id].sort());
  });

  it('under evict-lru skips busy sessions', async () => {
    const h = harness({ maxSessions: 3, onMaxSessions: 'evict-lru' });
    const a = await h.open();
    const b = await h.open();
    const c = await h.open();
    h.busy.add(a.id);
    h.busy.add(b.id);
    expect((await h.manager.reserve(initialize(), undefined, '127.0.0.1')).ok).toBe(true);
    expect(h.closed.map((entry) => entry.id)).toEqual([c.id]);
    expect(await h.store.get(a.id, h.clock.now())).toBeDefined();
    expect(await h.store.get(b.id, h.clock.now())).toBeDefined();
  });

  it('holds room for reserved sessions not yet stored, so concurrent initializes cannot overshoot', async () => {
    const h = harness({ maxSessions: 2 });
    await h.open();
    const [first, second] = await Promise.all([
      h.manager.reserve(initialize(1), undefined, '127.0.0.1'),
      h.manager.reserve(initialize(2), undefined, '127.0.0.1'),
    ]);
    expect([first.ok, second.ok].sort()).toEqual([false, true]);
    const held = first.ok ? first.record : second.ok ? second.record : undefined;
    // Given up (its initialize failed): the room is free again.
    h.manager.release(held!);
    const again = await h.manager.reserve(initialize(3), undefined, '127.0.0.1');
    expect(again.ok).toBe(true);
    // Saved: it counts in the store, and holds no room twice.
    await h.manager.save(again.ok ? again.record : held!);
    expect(await h.store.count()).toBe(2);
    expect((await h.manager.reserve(initialize(4), undefined, '127.0.0.1')).ok).toBe(false);
  });

  it('under evict-lru refuses with 503 when every session is busy', async () => {
    const h = harness({ maxSessions: 2, onMaxSessions: 'evict-lru' });
    h.busy.add((await h.open()).id);
    h.busy.add((await h.open()).id);
    expect(await h.manager.reserve(initialize(), undefined, '127.0.0.1')).toMatchObject({ status: 503, headers: { 'retry-after': '10' } });
    expect(h.closed).toEqual([]);
    expect(await h.store.count()).toBe(2);
  });
});

describe('SessionManager.reserve: the new record', () => {
  it('mints a 22-character visible-ASCII id, new each time, and stores nothing yet', async () => {
    const h = harness();
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const record = await reserved(h.manager, initialize(i), undefined);
      expect(record.id).toMatch(/^[\x21-\x7e]{22}$/);
      ids.add(record.id);
    }
    expect(ids.size).toBe(50);
    expect(await h.store.count()).toBe(0);
  });

  it('records the initialize, the principal, the clock and the idle timeout; no expiresAt without maxLifetimeMs', async () => {
    const h = harness({ idleTimeoutMs: 5_000 });
    const request = initialize('init-1');
    const record = await reserved(h.manager, request, 'client:alice');
    expect(record).toEqual({
      id: record.id,
      protocolVersion: '2025-11-25',
      initialize: { id: 'init-1', params: request.params },
      principal: 'client:alice',
      createdAt: h.clock.now(),
      lastActiveAt: h.clock.now(),
      requestCount: 1,
      idleTimeoutMs: 5_000,
    });
    expect('expiresAt' in record).toBe(false);
  });

  it('sets expiresAt to now + maxLifetimeMs', async () => {
    const h = harness({ maxLifetimeMs: 3_600_000 });
    expect((await reserved(h.manager, initialize(), undefined)).expiresAt).toBe(h.clock.now() + 3_600_000);
  });

  it('falls back to 2025-03-26 when the initialize names no protocol version', async () => {
    const h = harness();
    const record = await reserved(h.manager, { jsonrpc: '2.0', id: 1, method: 'initialize' }, undefined);
    expect(record.protocolVersion).toBe('2025-03-26');
    expect(record.initialize.params).toEqual({});
  });
});

describe('SessionManager.resolve', () => {
  it('gives undefined for another principal, no principal, or an unknown id, and changes nothing', async () => {
    const h = harness();
    const record = await h.open('client:alice');
    h.clock.advance(1_000);
    expect(await h.manager.resolve(record.id, 'client:mallory', true)).toBeUndefined();
    expect(await h.manager.resolve(record.id, undefined, true)).toBeUndefined();
    expect(await h.manager.resolve('no-such-session', 'client:alice', true)).toBeUndefined();
    const stored = await h.manager.get(record.id);
    expect(stored).toMatchObject({ requestCount: 1, lastActiveAt: record.lastActiveAt });
  });

  it('marks activity at the clock, and counts a request only when asked to', async () => {
    const h = harness();
    const record = await h.open('client:alice');
    const t1 = h.clock.advance(1_000);
    expect(await h.manager.resolve(record.id, 'client:alice', true)).toMatchObject({ requestCount: 2, lastActiveAt: t1 });
    const t2 = h.clock.advance(1_000);
    expect(await h.manager.resolve(record.id, 'client:alice', false)).toMatchObject({ requestCount: 2, lastActiveAt: t2 });
  });

  it('an unbound session resolves only without a principal', async () => {
    const h = harness();
    const record = await h.open(undefined);
    expect(await h.manager.resolve(record.id, 'client:alice', true)).toBeUndefined();
    expect(await h.manager.resolve(record.id, undefined, true)).toMatchObject({ id: record.id, requestCount: 2 });
  });

  it('gives undefined once the idle timeout has passed on the clock', async () => {
    const h = harness({ idleTimeoutMs: 1_000 });
    const record = await h.open();
    h.clock.advance(record.lastActiveAt + 999 - h.clock.now());
    expect(await h.manager.resolve(record.id, undefined, false)).toBeDefined();
    // That request was activity: the deadline moved to 1 s after it.
    h.clock.advance(1_000);
    expect(await h.manager.resolve(record.id, undefined, false)).toBeUndefined();
  });
});

describe('SessionManager.created', () => {
  it('counts the session and calls onSessionCreated; a throwing hook is reported, not thrown', async () => {
    const boom = new Error('hook failed');
    const h = harness({
      onSessionCreated: () => {
        throw boom;
      },
    });
    const record = await h.open();
    await h.manager.created(record, h.manager.view(record));
    expect(h.metrics.sessionsCreated).toBe(1);
    expect(h.errors).toEqual([boom]);

    const calls = harness();
    const other = await calls.open();
    await calls.manager.created(other, calls.manager.view(other));
    expect(calls.created.map((session) => session.id)).toEqual([other.id]);
  });
});

describe('SessionManager.end', () => {
  it('is true for exactly one of two concurrent callers, and everything runs once', async () => {
    const h = harness();
    const record = await h.open('client:alice');
    const eventId = await h.eventStore.append(record.id, 'standalone', notification);
    await h.eventStore.append(record.id, 'standalone', notification);
    let disposed = 0;
    h.manager.handle(record.id, () => record).onClose(() => void (disposed += 1));

    const results = await Promise.all([h.manager.end(record, 'deleted'), h.manager.end(record, 'deleted')]);

    expect(results.filter(Boolean)).toHaveLength(1);
    expect(h.released).toEqual([record.id]);
    expect(disposed).toBe(1);
    expect(await h.eventStore.replayAfter(record.id, eventId)).toBeUndefined();
    expect(h.announced).toEqual([record.id]);
    expect(h.metrics.sessionsClosed).toMatchObject({ deleted: 1, idle: 0, expired: 0, evicted: 0, shutdown: 0 });
    expect(h.closed).toEqual([{ id: record.id, reason: 'deleted', requestCount: 1 }]);
    expect(await h.store.get(record.id, h.clock.now())).toBeUndefined();
  });

  it('is false and does nothing for a session that is not in the store', async () => {
    const h = harness();
    const record = await reserved(h.manager, initialize(), undefined);
    expect(await h.manager.end(record, 'deleted')).toBe(false);
    expect(h.released).toEqual([]);
    expect(h.announced).toEqual([]);
    expect(h.closed).toEqual([]);
  });

  it('runs every disposer of the session, in order of registration, but not one that was unregistered', async () => {
    const h = harness();
    const record = await h.open();
    const other = await h.open();
    const ran: string[] = [];
    const session = h.manager.handle(record.id, () => record);
    session.onClose(() => void ran.push('first'));
    const off = session.onClose(() => void ran.push('unregistered'));
    session.onClose(async () => {
      await Promise.resolve();
      ran.push('second');
    });
    h.manager.handle(other.id, () => other).onClose(() => void ran.push('other session'));
    off();
    await h.manager.end(record, 'deleted');
    expect(ran).toEqual(['first', 'second']);
  });

  it('reports a throwing disposer and hook, and still runs the rest of the path', async () => {
    const disposerError = new Error('disposer');
    const hookError = new Error('onSessionClosed');
    const h = harness({
      onSessionClosed: () => {
        throw hookError;
      },
    });
    const record = await h.open();
    let later = false;
    const session = h.manager.handle(record.id, () => record);
    session.onClose(() => {
      throw disposerError;
    });
    session.onClose(() => void (later = true));
    expect(await h.manager.end(record, 'deleted')).toBe(true);
    expect(later).toBe(true);
    expect(h.announced).toEqual([record.id]);
    expect(h.metrics.sessionsClosed.deleted).toBe(1);
    expect(h.errors).toEqual([disposerError, hookError]);
  });

  it('reports a failing announcement and still counts the session closed and calls the hook', async () => {
    const busDown = new Error('bus down');
    const h = harness({
      announceEnded: () => Promise.reject(busDown),
    });
    const record = await h.open();
    expect(await h.manager.end(record, 'deleted')).toBe(true);
    expect(h.errors).toEqual([busDown]);
    expect(h.metrics.sessionsClosed.deleted).toBe(1);
    expect(h.closed.map((entry) => entry.reason)).toEqual(['deleted']);
  });

  it('drops the session state with the record', async () => {
    const h = harness();
    const record = await h.open();
    const session = h.manager.view(record);
    await session.state.set('cart', ['apple']);
    expect(await session.state.get('cart')).toEqual(['apple']);
    await h.manager.end(record, 'deleted');
    expect(await h.store.stateKeys(record.id, h.clock.now())).toEqual([]);
    await expect(session.state.set('cart', [])).rejects.toMatchObject({ code: 'ERR_MCP_SESSION_STATE' });
  });
});

describe('SessionManager: cleanup registered late', () => {
  it('runs cleanup registered after the session ended (a tool still running), at once', async () => {
    const h = harness();
    const record = await h.open();
    const session = h.manager.handle(record.id, () => record);
    await h.manager.end(record, 'deleted');
    const ran = deferred<true>();
    session.onClose(() => ran.resolve(true));
    expect(await ran.promise).toBe(true);
  });

  it('runs cleanup registered after the session ended on another process, at once', async () => {
    const h = harness();
    const record = await h.open();
    await h.manager.endedElsewhere(record.id);
    const ran = deferred<true>();
    h.manager.handle(record.id, () => record).onClose(() => ran.resolve(true));
    expect(await ran.promise).toBe(true);
  });
});

describe('SessionManager.expire', () => {
  it('ends idle and absolute-lifetime sessions with their reasons, on the injected clock', async () => {
    const h = harness({ idleTimeoutMs: 10_000, maxLifetimeMs: 30_000 });
    const t0 = h.clock.now();
    const idle = await h.open();
    const busy = await h.open();
    let disposedIdle = 0;
    h.manager.handle(idle.id, () => idle).onClose(() => void (disposedIdle += 1));

    // Nothing is due yet.
    h.clock.advance(5_000);
    await h.manager.resolve(busy.id, undefined, true);
    await h.manager.expire(h.clock.now());
    expect(h.closed).toEqual([]);

    // The idle one passes its idle deadline; the other was active 5 s ago.
    h.clock.advance(5_000);
    await h.manager.resolve(busy.id, undefined, true);
    await h.manager.expire(h.clock.now());
    expect(h.closed).toEqual([{ id: idle.id, reason: 'idle', requestCount: 1 }]);
    expect(disposedIdle).toBe(1);

    // Kept active, the other still ends at createdAt + maxLifetimeMs.
    while (h.clock.now() < t0 + 30_000) {
      h.clock.advance(5_000);
      await h.manager.resolve(busy.id, undefined, true);
      await h.manager.expire(h.clock.now());
    }
    expect(h.closed.map((entry) => [entry.id, entry.reason])).toEqual([
      [idle.id, 'idle'],
      [busy.id, 'expired'],
    ]);
    expect(h.released).toEqual([idle.id, busy.id]);
    expect(h.announced).toEqual([idle.id, busy.id]);
    expect(h.metrics.sessionsClosed).toMatchObject({ idle: 1, expired: 1 });
    expect(await h.store.count()).toBe(0);
  });

  it('keepActive holds off idle expiry for sessions with open streams', async () => {
    const h = harness({ idleTimeoutMs: 10_000 });
    const streaming = await h.open();
    const quiet = await h.open();
    h.clock.advance(9_000);
    await h.manager.keepActive([streaming.id], h.clock.now());
    h.clock.advance(2_000);
    await h.manager.expire(h.clock.now());
    expect(h.closed.map((entry) => entry.id)).toEqual([quiet.id]);
    expect(await h.manager.get(streaming.id)).toBeDefined();
  });

  it('ends every expired session in one call, more than one batch of the store', async () => {
    const h = harness({ idleTimeoutMs: 1_000 });
    for (let i = 0; i < 1_201; i++) await h.manager.save(await reserved(h.manager, initialize(i), undefined));
    h.clock.advance(1_000);
    await h.manager.expire(h.clock.now());
    expect(await h.store.count()).toBe(0);
    expect(h.metrics.sessionsClosed.idle).toBe(1_201);
  });
});

describe('SessionManager.endedElsewhere', () => {
  it('releases and runs disposers once, but neither announces, counts nor calls onSessionClosed', async () => {
    const h = harness();
    const record = await h.open();
    let disposed = 0;
    h.manager.handle(record.id, () => record).onClose(() => void (disposed += 1));
    // Another process removed the record and announced it.
    await h.store.delete(record.id);
    await h.manager.endedElsewhere(record.id);
    await h.manager.endedElsewhere(record.id);
    expect(h.released).toEqual([record.id, record.id]);
    expect(disposed).toBe(1);
    expect(h.announced).toEqual([]);
    expect(h.closed).toEqual([]);
    expect(h.metrics.sessionsClosed.deleted).toBe(0);
  });
});

describe('SessionManager.shutdown', () => {
  it('with its own store, ends every session with reason shutdown', async () => {
    const h = harness({ ownsStore: true });
    const a = await h.open();
    const b = await h.open();
    const disposed: string[] = [];
    for (const record of [a, b]) h.manager.handle(record.id, () => record).onClose(() => void disposed.push(record.id));
    await h.manager.shutdown();
    expect(h.closed.map((entry) => [entry.id, entry.reason])).toEqual([
      [a.id, 'shutdown'],
      [b.id, 'shutdown'],
    ]);
    expect(disposed).toEqual([a.id, b.id]);
    expect(h.metrics.sessionsClosed.shutdown).toBe(2);
    expect(await h.store.count()).toBe(0);
  });

  it('runs leftover disposers of sessions no longer in the store, once', async () => {
    const h = harness({ ownsStore: true });
    const record = await h.open();
    let disposed = 0;
    h.manager.handle(record.id, () => record).onClose(() => void (disposed += 1));
    // The record went away without this process hearing of it.
    await h.store.delete(record.id);
    await h.manager.shutdown();
    await h.manager.shutdown();
    expect(disposed).toBe(1);
    expect(h.closed).toEqual([]);
  });

  it('with a shared store, leaves sessions in it for other processes and runs every disposer here', async () => {
    const h = harness({ ownsStore: false });
    const record = await h.open();
    const ran = deferred<string>();
    h.manager.handle(record.id, () => record).onClose(() => ran.resolve(record.id));
    await h.manager.shutdown();
    expect(await ran.promise).toBe(record.id);
    expect(await h.store.count()).toBe(1);
    expect(h.closed).toEqual([]);
    expect(h.announced).toEqual([]);
  });
});

describe('SessionManager handles', () => {
  it('a handle reads its record live; a view is a snapshot of the record it was given', async () => {
    const h = harness();
    const record = await h.open('client:alice');
    let current = record;
    const live = h.manager.handle(record.id, () => current);
    const view = h.manager.view(record);
    const t = h.clock.advance(500);
    current = (await h.manager.resolve(record.id, 'client:alice', true))!;
    expect(live).toMatchObject({ id: record.id, principal: 'client:alice', requestCount: 2, lastActiveAt: t });
    expect(view).toMatchObject({ id: record.id, requestCount: 1, clientInfo: { name: 'unit', version: '1' } });
  });
});
