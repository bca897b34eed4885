import {
  type BusMessage,
  type CacheStore,
  type EventStore,
  type JSONRPCMessage,
  type MessageBus,
  type RateLimitResult,
  type RateLimitStore,
  type SessionRecord,
  type SessionStore,
  type StateWriteOptions,
} from '@x/mcp-session-core';
import { gcra } from '@x/mcp-session-core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

export { redisClusterForTests, redisForTests, startRedisServer, type TestRedis, type TestRedisCluster } from './redis.js';

/** One instance of every store, as a backend provides them. */
export interface StoreSet {
  sessionStore: SessionStore;
  eventStore: EventStore;
  messageBus: MessageBus;
  rateLimitStore: RateLimitStore;
  cacheStore: CacheStore;
  /** Releases everything the set holds (connections, subscriptions). */
  close(): Promise<void>;
  /** How long the backend itself keeps things, in ms like Redis `PTTL` (-2: gone, -1: no expiry). With `capabilities.backendTtl`. */
  ttl?: BackendTtl;
  /** Control over the connection to the backend. With `capabilities.connectionLoss`. */
  connection?: ConnectionControl;
}

export interface BackendTtl {
  session(sessionId: string): Promise<number>;
  state(sessionId: string): Promise<number>;
  /** The stored events of one stream. */
  events(sessionId: string, streamId: string): Promise<number>;
  cacheEntry(key: string): Promise<number>;
  cacheCounter(key: string): Promise<number>;
  rateLimit(key: string): Promise<number>;
}

export interface ConnectionControl {
  /** Closes the stores' connection the way `client.disconnect()` does: it stays closed. */
  disconnect(): Promise<void>;
  /** Opens it again (`client.connect()`). */
  reconnect(): Promise<void>;
  /**
   * Drops every connection of the set from the server side (`CLIENT KILL`), as a network failure would,
   * and resolves once the clients have noticed. They reconnect by themselves.
   */
  kill(): Promise<void>;
  /** Resolves once every connection is back and every subscription is in place again. */
  whenReconnected(): Promise<void>;
}

/** How the suite configures the stores it asks for. */
export interface StoreSuiteConfig {
  maxEventsPerStream: number;
}

/** What a backend opts into beyond the interfaces. */
export interface StoreSuiteCapabilities {
  /** The backend expires data itself; `ttl` reports it. `graceMs`: how long records outlive their deadline. */
  backendTtl?: { graceMs: number; eventTtlMs: number };
  /** The stores talk to a server over a connection that can drop; `connection` controls it. */
  connectionLoss?: boolean;
}

/** A backend under test. */
export interface StoreSuiteTarget {
  /** Names the top-level describe block. */
  name: string;
  /** A fresh, empty set of stores, isolated from every other set `create` returned. */
  create(config: StoreSuiteConfig): Promise<StoreSet>;
  capabilities?: StoreSuiteCapabilities;
}

const T0 = Date.UTC(2026, 0, 1);
const MAX_EVENTS = 5;
/** Slack for a TTL measured a moment after it was set. */
const TTL_SLACK_MS = 2_000;

let sequence = 0;
/** A session record as the endpoint creates it, at `T0` unless told otherwise. */
function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  sequence += 1;
  return {
    id: `s${sequence}-${Math.random().toString(36).slice(2, 10)}`,
    protocolVersion: '2025-11-25',
    initialize: {
      id: 1,
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {}, roots: { listChanged: true }, experimental: {} },
        clientInfo: { name: 'test-client', version: '1.0.0', tags: [] },
      },
    },
    createdAt: T0,
    lastActiveAt: T0,
    requestCount: 1,
    idleTimeoutMs: 1_000,
    ...overrides,
  };
}

function notification(i: number): JSONRPCMessage {
  return { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { i, text: `event ${i}` } } };
}

function limits(overrides: Partial<StateWriteOptions> = {}): StateWriteOptions {
  return { now: T0, maxKeys: 100, maxBytes: 100_000, ...overrides };
}

/** Collects what a bus handler receives; `until(n)` resolves once n messages have arrived. */
function collector() {
  const messages: BusMessage[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    messages,
    handler: (message: BusMessage) => {
      messages.push(message);
      for (const waiter of [...waiters]) {
        if (messages.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    async until(count: number): Promise<BusMessage[]> {
      if (messages.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }));
      return messages;
    },
  };
}

const terminated = (sessionId: string): BusMessage => ({ kind: 'terminated', sessionId });

async function expectStoreError(promise: unknown): Promise<void> {
  await expect(Promise.resolve(promise)).rejects.toMatchObject({ code: 'ERR_MCP_SESSION_STORE' });
}

/**
 * The compliance suite every store backend must pass: memory and Redis alike. Call it at the top level
 * of a test file. Time is explicit (`now`), except where a capability asks the backend what it keeps.
 *
 * @example
 * ```ts
 * runStoreSuite({ name: 'memory', create: async ({ maxEventsPerStream }) => ({ ...memoryStores(maxEventsPerStream), close: async () => {} }) });
 * ```
 */
export function runStoreSuite(target: StoreSuiteTarget): void {
  const { backendTtl, connectionLoss = false } = target.capabilities ?? {};

  describe(`${target.name} stores`, () => {
    let stores: StoreSet;
    const extra: StoreSet[] = [];
    beforeEach(async () => {
      stores = await target.create({ maxEventsPerStream: MAX_EVENTS });
    });
    afterEach(async () => {
      await stores.close();
      for (const set of extra.splice(0)) await set.close();
    });
    async function another(config: StoreSuiteConfig = { maxEventsPerStream: MAX_EVENTS }): Promise<StoreSet> {
      const set = await target.create(config);
      extra.push(set);
      return set;
    }

    describe('SessionStore', () => {
      it('keeps heartbeats of process instances: alive once marked, unknown ones not', async () => {
        const instance = `inst-${Math.random().toString(36).slice(2)}`;
        expect(await stores.sessionStore.isAlive?.(instance, T0)).toBe(false);
        await stores.sessionStore.markAlive?.(instance, T0, 60_000);
        expect(await stores.sessionStore.isAlive?.(instance, T0 + 1)).toBe(true);
        expect(await stores.sessionStore.isAlive?.(`${instance}-other`, T0 + 1)).toBe(false);
      });

      it('keeps a record exactly as created', async () => {
        const bound = sessionRecord({ principal: 'client-a:alice', expiresAt: T0 + 60_000, requestCount: 3 });
        const unbound = sessionRecord();
        await stores.sessionStore.create(bound);
        await stores.sessionStore.create(unbound);
        expect(await stores.sessionStore.get(bound.id, T0)).toEqual(bound);
        const read = await stores.sessionStore.get(unbound.id, T0);
        expect(read).toEqual(unbound);
        expect(read).not.toHaveProperty('principal');
        expect(read).not.toHaveProperty('expiresAt');
        expect(await stores.sessionStore.get('no-such-session', T0)).toBeUndefined();
      });

      it('answers undefined from the idle deadline on', async () => {
        const record = sessionRecord({ idleTimeoutMs: 1_000 });
        await stores.sessionStore.create(record);
        expect(await stores.sessionStore.get(record.id, T0 + 999)).toBeDefined();
        expect(await stores.sessionStore.get(record.id, T0 + 1_000)).toBeUndefined();
      });

      it('answers undefined from the absolute deadline on, active or not', async () => {
        const record = sessionRecord({ idleTimeoutMs: 1_000, expiresAt: T0 + 1_500 });
        await stores.sessionStore.create(record);
        expect(await stores.sessionStore.touch(record.id, T0 + 900)).toBeDefined();
        expect(await stores.sessionStore.get(record.id, T0 + 1_499)).toBeDefined();
        expect(await stores.sessionStore.get(record.id, T0 + 1_500)).toBeUndefined();
        expect(await stores.sessionStore.touch(record.id, T0 + 1_500)).toBeUndefined();
      });

      it('touch moves activity forward, never back, and extends the idle deadline', async () => {
        const record = sessionRecord({ idleTimeoutMs: 1_000 });
        await stores.sessionStore.create(record);
        expect((await stores.sessionStore.touch(record.id, T0 + 900))?.lastActiveAt).toBe(T0 + 900);
        expect(await stores.sessionStore.get(record.id, T0 + 1_899)).toBeDefined();
        expect(await stores.sessionStore.get(record.id, T0 + 1_900)).toBeUndefined();
        // A touch from a process whose clock lags keeps the later activity.
        expect((await stores.sessionStore.touch(record.id, T0 + 100))?.lastActiveAt).toBe(T0 + 900);
        expect((await stores.sessionStore.get(record.id, T0))?.lastActiveAt).toBe(T0 + 900);
      });

      it('touch counts a request only when asked to', async () => {
        const record = sessionRecord({ principal: 'p' });
        await stores.sessionStore.create(record);
        expect((await stores.sessionStore.touch(record.id, T0 + 1, { principal: 'p', countRequest: true }))?.requestCount).toBe(2);
        expect((await stores.sessionStore.touch(record.id, T0 + 2, { principal: 'p', countRequest: false }))?.requestCount).toBe(2);
        expect((await stores.sessionStore.touch(record.id, T0 + 3))?.requestCount).toBe(2);
        expect((await stores.sessionStore.get(record.id, T0 + 3))?.requestCount).toBe(2);
      });

      it('touch without access checks no principal', async () => {
        const record = sessionRecord({ principal: 'p' });
        await stores.sessionStore.create(record);
        expect((await stores.sessionStore.touch(record.id, T0 + 10))?.lastActiveAt).toBe(T0 + 10);
      });

      it('touch answers undefined for an unknown or ended session and changes nothing', async () => {
        const record = sessionRecord({ idleTimeoutMs: 1_000 });
        await stores.sessionStore.create(record);
        expect(await stores.sessionStore.touch('no-such-session', T0, { principal: undefined, countRequest: true })).toBeUndefined();
        expect(await stores.sessionStore.touch(record.id, T0 + 1_000, { principal: undefined, countRequest: true })).toBeUndefined();
        expect(await stores.sessionStore.get(record.id, T0 + 999)).toEqual(record);
        expect(await stores.sessionStore.get('no-such-session', T0)).toBeUndefined();
      });

      it('a principal mismatch answers undefined and changes nothing', async () => {
        const bound = sessionRecord({ principal: 'alice', idleTimeoutMs: 1_000 });
        const unbound = sessionRecord({ idleTimeoutMs: 1_000 });
        await stores.sessionStore.create(bound);
        await stores.sessionStore.create(unbound);
        await stores.sessionStore.setState(bound.id, 'k', 'v', limits());
        for (const principal of ['bob', undefined, 'alice ', 'ALICE']) {
          expect(await stores.sessionStore.touch(bound.id, T0 + 500, { principal, countRequest: true })).toBeUndefined();
        }
        expect(await stores.sessionStore.touch(unbound.id, T0 + 500, { principal: 'alice', countRequest: true })).toBeUndefined();
        expect(await stores.sessionStore.touch(unbound.id, T0 + 500, { principal: '', countRequest: true })).toBeUndefined();
        expect(await stores.sessionStore.get(bound.id, T0)).toEqual(bound);
        expect(await stores.sessionStore.get(unbound.id, T0)).toEqual(unbound);
        // The deadlines did not move.
        expect(await stores.sessionStore.get(bound.id, T0 + 1_000)).toBeUndefined();
        expect(await stores.sessionStore.get(unbound.id, T0 + 1_000)).toBeUndefined();
        expect(await stores.sessionStore.getState(bound.id, 'k', T0)).toBe('v');
        // The right principal still gets in.
        expect((await stores.sessionStore.touch(bound.id, T0 + 500, { principal: 'alice', countRequest: true }))?.requestCount).toBe(2);
        expect((await stores.sessionStore.touch(unbound.id, T0 + 500, { principal: undefined, countRequest: true }))?.requestCount).toBe(2);
      });

      it('50 concurrent touches count 50 requests', async () => {
        const record = sessionRecord({ principal: 'p', requestCount: 1 });
        await stores.sessionStore.create(record);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => stores.sessionStore.touch(record.id, T0 + 1 + i, { principal: 'p', countRequest: true })),
        );
        expect(results.every((result) => result !== undefined)).toBe(true);
        const after = await stores.sessionStore.get(record.id, T0);
        expect(after?.requestCount).toBe(51);
        expect(after?.lastActiveAt).toBe(T0 + 50);
      });

      it('delete removes the record and its state, true for exactly one of concurrent callers', async () => {
        const record = sessionRecord();
        const other = sessionRecord();
        await stores.sessionStore.create(record);
        await stores.sessionStore.create(other);
        await stores.sessionStore.setState(record.id, 'k', 'v', limits());
        const results = await Promise.all(Array.from({ length: 10 }, () => stores.sessionStore.delete(record.id)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await stores.sessionStore.delete(record.id)).toBe(false);
        expect(await stores.sessionStore.get(record.id, T0)).toBeUndefined();
        expect(await stores.sessionStore.getState(record.id, 'k', T0)).toBeUndefined();
        expect(await stores.sessionStore.stateKeys(record.id, T0)).toEqual([]);
        expect(await stores.sessionStore.count()).toBe(1);
        expect((await stores.sessionStore.list()).map((r) => r.id)).toEqual([other.id]);
        expect(await stores.sessionStore.delete('no-such-session')).toBe(false);
      });

      it('takeExpired removes and returns the records past their deadline, up to the limit', async () => {
        const due = Array.from({ length: 5 }, () => sessionRecord({ idleTimeoutMs: 1_000 }));
        const touched = sessionRecord({ idleTimeoutMs: 1_000 });
        const longer = sessionRecord({ idleTimeoutMs: 5_000 });
        const lifetime = sessionRecord({ idleTimeoutMs: 5_000, expiresAt: T0 + 800 });
        for (const record of [...due, touched, longer, lifetime]) await stores.sessionStore.create(record);
        for (const record of due) await stores.sessionStore.setState(record.id, 'k', 'v', limits());
        await stores.sessionStore.touch(touched.id, T0 + 500);
        await stores.sessionStore.touch(lifetime.id, T0 + 700);

        expect(await stores.sessionStore.takeExpired(T0 + 500, 100)).toEqual([]);
        const first = await stores.sessionStore.takeExpired(T0 + 1_000, 2);
        expect(first).toHaveLength(2);
        const rest = await stores.sessionStore.takeExpired(T0 + 1_000, 100);
        const taken = [...first, ...rest];
        expect(taken.map((r) => r.id).sort()).toEqual([...due.map((r) => r.id), lifetime.id].sort());
        for (const record of taken) {
          expect(record).toEqual(record.id === lifetime.id ? { ...lifetime, lastActiveAt: T0 + 700 } : due.find((r) => r.id === record.id));
          expect(await stores.sessionStore.get(record.id, T0)).toBeUndefined();
          expect(await stores.sessionStore.getState(record.id, 'k', T0)).toBeUndefined();
        }
        expect(await stores.sessionStore.takeExpired(T0 + 1_000, 100)).toEqual([]);
        expect(await stores.sessionStore.count()).toBe(2);
        expect((await stores.sessionStore.takeExpired(T0 + 1_500, 100)).map((r) => r.id)).toEqual([touched.id]);
        expect((await stores.sessionStore.takeExpired(T0 + 5_000, 100)).map((r) => r.id)).toEqual([longer.id]);
        expect(await stores.sessionStore.count()).toBe(0);
      });

      for (const limit of [100, 4]) {
        it(`20 concurrent takeExpired callers (limit ${limit}) split the expired set with no duplicates`, async () => {
          const due = Array.from({ length: 60 }, () => sessionRecord({ idleTimeoutMs: 1_000 }));
          const live = Array.from({ length: 10 }, () => sessionRecord({ idleTimeoutMs: 10_000 }));
          await Promise.all([...due, ...live].map((record) => stores.sessionStore.create(record)));
          const taken: string[] = [];
          // Each caller goes on until it finds nothing more, as the endpoint's sweeper does.
          await Promise.all(
            Array.from({ length: 20 }, async () => {
              for (;;) {
                const batch = await stores.sessionStore.takeExpired(T0 + 1_000, limit);
                expect(batch.length).toBeLessThanOrEqual(limit);
                taken.push(...batch.map((record) => record.id));
                if (batch.length < limit) return;
              }
            }),
          );
          expect(taken).toHaveLength(due.length);
          expect(new Set(taken)).toEqual(new Set(due.map((record) => record.id)));
          expect(await stores.sessionStore.count()).toBe(live.length);
        });
      }

      it('leastRecentlyActive lists the least recently active first', async () => {
        const [a, b, c, d] = [1, 2, 3, 4].map((i) => sessionRecord({ lastActiveAt: T0 + i, idleTimeoutMs: 60_000 })) as [
          SessionRecord,
          SessionRecord,
          SessionRecord,
          SessionRecord,
        ];
        for (const record of [a, b, c, d]) await stores.sessionStore.create(record);
        await stores.sessionStore.touch(a.id, T0 + 10);
        await stores.sessionStore.touch(c.id, T0 + 20);
        expect((await stores.sessionStore.leastRecentlyActive(3)).map((r) => r.id)).toEqual([b.id, d.id, a.id]);
        expect((await stores.sessionStore.leastRecentlyActive(10)).map((r) => r.id)).toEqual([b.id, d.id, a.id, c.id]);
        await stores.sessionStore.touch(b.id, T0 + 30);
        await stores.sessionStore.delete(d.id);
        const lru = await stores.sessionStore.leastRecentlyActive(2);
        expect(lru.map((r) => r.id)).toEqual([a.id, c.id]);
        expect(lru[0]?.lastActiveAt).toBe(T0 + 10);
      });

      it('count and list cover every session held', async () => {
        expect(await stores.sessionStore.count()).toBe(0);
        expect(await stores.sessionStore.list()).toEqual([]);
        const records = Array.from({ length: 7 }, () => sessionRecord());
        for (const record of records) await stores.sessionStore.create(record);
        expect(await stores.sessionStore.count()).toBe(7);
        const listed = await stores.sessionStore.list();
        expect(listed.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
        for (const record of listed) expect(record).toEqual(records.find((r) => r.id === record.id));
      });
    });

    describe('session state', () => {
      let session: SessionRecord;
      beforeEach(async () => {
        session = sessionRecord({ idleTimeoutMs: 60_000 });
        await stores.sessionStore.create(session);
      });

      it('values round-trip; keys lists them; delete and clear remove them', async () => {
        const value = JSON.stringify({ nested: { list: [1, 2, 3] }, text: 'ünïcödé ✓', empty: '' });
        expect(await stores.sessionStore.setState(session.id, 'a', value, limits())).toEqual({ ok: true });
        expect(await stores.sessionStore.setState(session.id, 'b:with:colons', 'x:y:z', limits())).toEqual({ ok: true });
        expect(await stores.sessionStore.setState(session.id, 'empty', '', limits())).toEqual({ ok: true });
        expect(await stores.sessionStore.getState(session.id, 'a', T0)).toBe(value);
        expect(await stores.sessionStore.getState(session.id, 'b:with:colons', T0)).toBe('x:y:z');
        expect(await stores.sessionStore.getState(session.id, 'empty', T0)).toBe('');
        expect(await stores.sessionStore.getState(session.id, 'missing', T0)).toBeUndefined();
        expect((await stores.sessionStore.stateKeys(session.id, T0)).sort()).toEqual(['a', 'b:with:colons', 'empty']);
        expect(await stores.sessionStore.setState(session.id, 'a', 'replaced', limits())).toEqual({ ok: true });
        expect(await stores.sessionStore.getState(session.id, 'a', T0)).toBe('replaced');
        expect(await stores.sessionStore.deleteState(session.id, 'a')).toBe(true);
        expect(await stores.sessionStore.deleteState(session.id, 'a')).toBe(false);
        expect((await stores.sessionStore.stateKeys(session.id, T0)).sort()).toEqual(['b:with:colons', 'empty']);
        await stores.sessionStore.clearState(session.id);
        expect(await stores.sessionStore.stateKeys(session.id, T0)).toEqual([]);
        expect(await stores.sessionStore.getState(session.id, 'empty', T0)).toBeUndefined();
      });

      it('a value with ttlMs is gone from now + ttlMs on', async () => {
        await stores.sessionStore.setState(session.id, 'short', 'v', limits({ ttlMs: 100 }));
        await stores.sessionStore.setState(session.id, 'kept', 'v', limits());
        expect(await stores.sessionStore.getState(session.id, 'short', T0 + 99)).toBe('v');
        expect((await stores.sessionStore.stateKeys(session.id, T0 + 99)).sort()).toEqual(['kept', 'short']);
        expect(await stores.sessionStore.stateKeys(session.id, T0 + 100)).toEqual(['kept']);
        expect(await stores.sessionStore.getState(session.id, 'short', T0 + 100)).toBeUndefined();
        // Writing it again without a TTL makes it permanent.
        await stores.sessionStore.setState(session.id, 'short', 'w', limits({ now: T0 + 50 }));
        expect(await stores.sessionStore.getState(session.id, 'short', T0 + 10_000)).toBe('w');
      });

      it('setState refuses a session that does not exist, changing nothing', async () => {
        expect(await stores.sessionStore.setState('no-such-session', 'k', 'v', limits())).toEqual({ ok: false, reason: 'no-session' });
        expect(await stores.sessionStore.stateKeys('no-such-session', T0)).toEqual([]);
        await stores.sessionStore.delete(session.id);
        expect(await stores.sessionStore.setState(session.id, 'k', 'v', limits())).toEqual({ ok: false, reason: 'no-session' });
        expect(await stores.sessionStore.getState(session.id, 'k', T0)).toBeUndefined();
      });

      it('maxKeys: the write that would exceed it is refused; replacing a key is not', async () => {
        const max = limits({ maxKeys: 2 });
        expect(await stores.sessionStore.setState(session.id, 'a', '1', max)).toEqual({ ok: true });
        expect(await stores.sessionStore.setState(session.id, 'b', '2', max)).toEqual({ ok: true });
        expect(await stores.sessionStore.setState(session.id, 'c', '3', max)).toEqual({ ok: false, reason: 'too-many-keys' });
        expect(await stores.sessionStore.getState(session.id, 'c', T0)).toBeUndefined();
        expect(await stores.sessionStore.setState(session.id, 'a', '11', max)).toEqual({ ok: true });
        expect(await stores.sessionStore.deleteState(session.id, 'b')).toBe(true);
        expect(await stores.sessionStore.setState(session.id, 'c', '3', max)).toEqual({ ok: true });
        expect((await stores.sessionStore.stateKeys(session.id, T0)).sort()).toEqual(['a', 'c']);
      });

      it('maxBytes counts keys and values; a replacement counts only its new size', async () => {
        const max = limits({ maxBytes: 10 });
        expect(await stores.sessionStore.setState(session.id, 'ab', 'cdef', max)).toEqual({ ok: true }); // 6
        expect(await stores.sessionStore.setState(session.id, 'x', 'yyy', max)).toEqual({ ok: true }); // 10
        expect(await stores.sessionStore.setState(session.id, 'z', '', max)).toEqual({ ok: false, reason: 'too-large' });
        expect(await stores.sessionStore.setState(session.id, 'x', 'yyyy', max)).toEqual({ ok: false, reason: 'too-large' });
        expect(await stores.sessionStore.getState(session.id, 'x', T0)).toBe('yyy');
        expect(await stores.sessionStore.setState(session.id, 'ab', 'c', max)).toEqual({ ok: true }); // 3 + 4
        expect(await stores.sessionStore.setState(session.id, 'z', 'zz', max)).toEqual({ ok: true }); // 10
      });

      it('expired values no longer count against the limits', async () => {
        await stores.sessionStore.setState(session.id, 'a', 'v', limits({ maxKeys: 1, ttlMs: 100 }));
        expect(await stores.sessionStore.setState(session.id, 'b', 'v', limits({ maxKeys: 1, now: T0 + 99 }))).toEqual({
          ok: false,
          reason: 'too-many-keys',
        });
        expect(await stores.sessionStore.setState(session.id, 'b', 'v', limits({ maxKeys: 1, now: T0 + 100 }))).toEqual({ ok: true });
        expect(await stores.sessionStore.stateKeys(session.id, T0 + 100)).toEqual(['b']);
      });

      it('concurrent writes never exceed maxKeys', async () => {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => stores.sessionStore.setState(session.id, `k${i}`, 'v', limits({ maxKeys: 10 }))),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(10);
        expect(results.filter((r) => !r.ok && r.reason === 'too-many-keys')).toHaveLength(20);
        expect(await stores.sessionStore.stateKeys(session.id, T0)).toHaveLength(10);
      });

      it('concurrent writes never exceed maxBytes', async () => {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            stores.sessionStore.setState(session.id, `k${String(i).padStart(2, '0')}`, '1234567', limits({ maxBytes: 100 })),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(10);
        expect(results.filter((r) => !r.ok && r.reason === 'too-large')).toHaveLength(20);
      });

      it('state is per session', async () => {
        const other = sessionRecord({ idleTimeoutMs: 60_000 });
        await stores.sessionStore.create(other);
        await stores.sessionStore.setState(session.id, 'k', 'mine', limits());
        await stores.sessionStore.setState(other.id, 'k', 'theirs', limits());
        await stores.sessionStore.setState(other.id, 'only-theirs', 'x', limits({ maxKeys: 2 }));
        expect(await stores.sessionStore.getState(session.id, 'k', T0)).toBe('mine');
        expect(await stores.sessionStore.stateKeys(session.id, T0)).toEqual(['k']);
        await stores.sessionStore.clearState(other.id);
        expect(await stores.sessionStore.getState(session.id, 'k', T0)).toBe('mine');
        expect(await stores.sessionStore.deleteState(other.id, 'k')).toBe(false);
        expect(await stores.sessionStore.deleteState(session.id, 'k')).toBe(true);
      });
    });

    describe('EventStore', () => {
      it('event ids are <streamId>.<sequence>, from 1, one more per append, markers included', async () => {
        const ids = [
          await stores.eventStore.append('s1', 'stream-a', null),
          await stores.eventStore.append('s1', 'stream-a', notification(1)),
          await stores.eventStore.append('s1', 'stream-a', notification(2)),
          await stores.eventStore.append('s1', 'stream-b', notification(3)),
          await stores.eventStore.append('s2', 'stream-a', notification(4)),
        ];
        expect(ids).toEqual(['stream-a.1', 'stream-a.2', 'stream-a.3', 'stream-b.1', 'stream-a.1']);
      });

      it('replayAfter returns the events after the id, in order, and never a marker', async () => {
        const priming = await stores.eventStore.append('s1', 'st', null);
        const ids = [];
        for (let i = 1; i <= 4; i++) ids.push(await stores.eventStore.append('s1', 'st', notification(i)));
        await stores.eventStore.append('s1', 'st', null);
        const all = await stores.eventStore.replayAfter('s1', priming);
        expect(all).toEqual({ streamId: 'st', events: ids.map((id, i) => ({ id, message: notification(i + 1) })) });
        expect((await stores.eventStore.replayAfter('s1', ids[2]!))?.events.map((e) => e.id)).toEqual([ids[3]]);
        expect(await stores.eventStore.replayAfter('s1', 'st.6')).toEqual({ streamId: 'st', events: [] });
        expect(await stores.eventStore.replayAfter('s1', 'st.0')).toEqual(all);
      });

      it('replayAfter reads only the stream its id names', async () => {
        const a = [];
        const b = [];
        for (let i = 0; i < 3; i++) {
          a.push(await stores.eventStore.append('s1', 'a', notification(i)));
          b.push(await stores.eventStore.append('s1', 'b', notification(100 + i)));
        }
        expect((await stores.eventStore.replayAfter('s1', a[0]!))?.events.map((e) => e.id)).toEqual(a.slice(1));
        expect(await stores.eventStore.replayAfter('s1', b[0]!)).toEqual({
          streamId: 'b',
          events: [
            { id: b[1], message: notification(101) },
            { id: b[2], message: notification(102) },
          ],
        });
      });

      it('replayAfter is per session', async () => {
        await stores.eventStore.append('s1', 'st', notification(1));
        await stores.eventStore.append('s1', 'st', notification(2));
        await stores.eventStore.append('s2', 'st', notification(3));
        expect(await stores.eventStore.replayAfter('s2', 'st.0')).toEqual({
          streamId: 'st',
          events: [{ id: 'st.1', message: notification(3) }],
        });
        expect(await stores.eventStore.replayAfter('s2', 'st.2')).toBeUndefined();
        expect(await stores.eventStore.replayAfter('s3', 'st.1')).toBeUndefined();
      });

      it('malformed and unknown ids answer undefined', async () => {
        await stores.eventStore.append('s1', 'st', notification(1));
        for (const id of ['', 'st', 'st.', '.1', 'st.x', 'st.-1', 'st.1.5x', 'other.1', 'st.2', 'st.99999999999999']) {
          expect(await stores.eventStore.replayAfter('s1', id), id).toBeUndefined();
        }
      });

      it('a stream keeps at most maxEventsPerStream events, the newest', async () => {
        const ids = [];
        for (let i = 1; i <= MAX_EVENTS * 3; i++) ids.push(await stores.eventStore.append('s1', 'st', notification(i)));
        const replay = await stores.eventStore.replayAfter('s1', 'st.0');
        expect(replay?.events.map((e) => e.id)).toEqual(ids.slice(-MAX_EVENTS));
        expect(replay?.events.map((e) => e.message)).toEqual(ids.slice(-MAX_EVENTS).map((_, i) => notification(MAX_EVENTS * 2 + i + 1)));
        expect((await stores.eventStore.replayAfter('s1', ids.at(-2)!))?.events.map((e) => e.id)).toEqual(ids.slice(-1));
        // A resumption from before the window gets what is left, still in order.
        expect((await stores.eventStore.replayAfter('s1', ids[0]!))?.events).toHaveLength(MAX_EVENTS);
      });

      it('deleteSession drops every stream of that session and nothing else', async () => {
        await stores.eventStore.append('s1', 'a', notification(1));
        await stores.eventStore.append('s1', 'b', null);
        await stores.eventStore.append('s2', 'a', notification(2));
        await stores.eventStore.deleteSession('s1');
        expect(await stores.eventStore.replayAfter('s1', 'a.0')).toBeUndefined();
        expect(await stores.eventStore.replayAfter('s1', 'b.1')).toBeUndefined();
        expect((await stores.eventStore.replayAfter('s2', 'a.0'))?.events).toHaveLength(1);
        await stores.eventStore.deleteSession('s1');
        await stores.eventStore.deleteSession('never-seen');
      });

      it('a completed stream stays replayable (for keepMs); the other streams go on as before', async () => {
        const done = [];
        for (let i = 1; i <= 3; i++) done.push(await stores.eventStore.append('s1', 'done', notification(i)));
        await stores.eventStore.append('s1', 'open', null);
        await stores.eventStore.append('s1', 'open', notification(10));
        await stores.eventStore.completeStream?.('s1', 'done', 60_000, T0);
        expect(await stores.eventStore.replayAfter('s1', 'done.0')).toEqual({
          streamId: 'done',
          events: done.map((id, i) => ({ id, message: notification(i + 1) })),
        });
        expect(await stores.eventStore.replayAfter('s1', 'done.3')).toEqual({ streamId: 'done', events: [] });
        expect(await stores.eventStore.replayAfter('s1', 'done.4')).toBeUndefined();
        expect(await stores.eventStore.append('s1', 'open', notification(11))).toBe('open.3');
        expect((await stores.eventStore.replayAfter('s1', 'open.1'))?.events.map((e) => e.id)).toEqual(['open.2', 'open.3']);
        await stores.eventStore.completeStream?.('s1', 'never-written', 60_000, T0);
        expect(await stores.eventStore.replayAfter('s1', 'never-written.0')).toBeUndefined();
      });

      it('50 concurrent appends to one stream get 50 consecutive ids, replayed in order', async () => {
        const big = await another({ maxEventsPerStream: 100 });
        await big.eventStore.append('s1', 'st', null);
        const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => big.eventStore.append('s1', 'st', notification(i))));
        const sequences = ids.map((id) => Number(id.split('.')[1]));
        expect([...sequences].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
        const replay = await big.eventStore.replayAfter('s1', 'st.1');
        expect(replay?.events.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => `st.${i + 2}`));
        // Each message kept the id it was given.
        for (const event of replay?.events ?? []) expect(event.message).toEqual(notification(ids.indexOf(event.id)));
      });

      it('messages round-trip exactly', async () => {
        const messages: JSONRPCMessage[] = [
          {
            jsonrpc: '2.0',
            id: 'srv~1',
            method: 'sampling/createMessage',
            params: { messages: [], maxTokens: 10, nested: { a: [1, { b: null }] } },
          },
          {
            jsonrpc: '2.0',
            id: 7,
            result: { content: [{ type: 'text', text: 'ünïcödé ✓ "quoted" \n newline \u2028' }], big: 2 ** 52, neg: -1.5 },
          },
          { jsonrpc: '2.0', id: 8, error: { code: -32000, message: 'failed', data: { empty: {}, list: [] } } },
          { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 0.25 } },
        ];
        for (const message of messages) await stores.eventStore.append('s1', 'st', message);
        expect((await stores.eventStore.replayAfter('s1', 'st.0'))?.events.map((e) => e.message)).toEqual(messages.slice(-MAX_EVENTS));
      });
    });

    describe('MessageBus', () => {
      it('a subscriber receives what is published on its topic, as its own copy', async () => {
        const received = collector();
        await stores.messageBus.subscribe('topic-a', received.handler);
        const message: BusMessage = { kind: 'event', sessionId: 's1', streamId: 'st', eventId: 'st.1', message: notification(1) };
        await stores.messageBus.publish('topic-a', message);
        const [got] = await received.until(1);
        expect(got).toEqual(message);
        expect(got).not.toBe(message);
      });

      it('every handler of a topic receives every message, in publish order', async () => {
        const first = collector();
        const second = collector();
        await stores.messageBus.subscribe('topic', first.handler);
        await stores.messageBus.subscribe('topic', second.handler);
        const sent = Array.from({ length: 20 }, (_, i) => terminated(`s${i}`));
        for (const message of sent) await stores.messageBus.publish('topic', message);
        expect(await first.until(20)).toEqual(sent);
        expect(await second.until(20)).toEqual(sent);
        expect(first.messages[0]).not.toBe(second.messages[0]);
      });

      it('a handler receives nothing after it unsubscribed; the others go on', async () => {
        const leaving = collector();
        const staying = collector();
        const unsubscribe = await stores.messageBus.subscribe('topic', leaving.handler);
        await stores.messageBus.subscribe('topic', staying.handler);
        await stores.messageBus.publish('topic', terminated('before'));
        await leaving.until(1);
        await unsubscribe();
        await unsubscribe();
        await stores.messageBus.publish('topic', terminated('after'));
        // Delivered in order: once `staying` has the second message, `leaving` would have had it too.
        await staying.until(2);
        expect(leaving.messages).toEqual([terminated('before')]);
      });

      it('topics are separate', async () => {
        const a = collector();
        const b = collector();
        await stores.messageBus.subscribe('mcp:session:one', a.handler);
        await stores.messageBus.subscribe('mcp:session:two', b.handler);
        await stores.messageBus.publish('mcp:session:one', terminated('one'));
        await stores.messageBus.publish('mcp:session:nobody', terminated('nobody'));
        await stores.messageBus.publish('mcp:session:two', terminated('two'));
        await a.until(1);
        await b.until(1);
        expect(a.messages).toEqual([terminated('one')]);
        expect(b.messages).toEqual([terminated('two')]);
      });

      it('every kind of message crosses intact', async () => {
        const received = collector();
        await stores.messageBus.subscribe('mcp:control', received.handler);
        const sent: BusMessage[] = [
          { kind: 'client-message', sessionId: 's', message: { jsonrpc: '2.0', id: 'n~1', result: { ok: true } } },
          { kind: 'event', sessionId: 's', streamId: 'st', eventId: 'st.3', message: notification(3) },
          { kind: 'stream-taken', sessionId: 's', streamId: 'st', holder: 'node:1' },
          { kind: 'terminated', sessionId: 's' },
          { kind: 'broadcast', message: { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } },
          { kind: 'broadcast', message: notification(4), filter: { principal: 'p', sessionIds: ['a', 'b'] } },
        ];
        for (const message of sent) await stores.messageBus.publish('mcp:control', message);
        expect(await received.until(sent.length)).toEqual(sent);
      });

      it('subscribing again after the last handler left works, and concurrent churn settles right', async () => {
        const first = collector();
        const off = await stores.messageBus.subscribe('churn', first.handler);
        await off();
        const second = collector();
        const third = collector();
        // Leave and join at once: the topic must end up subscribed for `third`.
        const offSecond = await stores.messageBus.subscribe('churn', second.handler);
        await Promise.all([offSecond(), stores.messageBus.subscribe('churn', third.handler)]);
        await stores.messageBus.publish('churn', terminated('x'));
        expect(await third.until(1)).toEqual([terminated('x')]);
        expect(first.messages).toEqual([]);
        expect(second.messages).toEqual([]);
      });

      it('publishing to a topic nobody listens to is fine', async () => {
        await expect(Promise.resolve(stores.messageBus.publish('nobody-listens', terminated('x')))).resolves.toBeUndefined();
      });
    });

    describe('RateLimitStore', () => {
      it('consume matches core’s gcra step by step', async () => {
        const limit = 3;
        const windowMs = 60_000;
        let tat: number | undefined;
        const steps = [0, 0, 0, 0, 0, 1, 19_999, 20_000, 20_000, 20_001, 45_000, 45_000, 45_000, 45_000, 200_000, 200_000];
        for (const offset of steps) {
          const now = T0 + offset;
          const expected: RateLimitResult = gcra(tat, now, limit, windowMs, (next) => {
            tat = next;
          });
          expect(await stores.rateLimitStore.consume('key', now, limit, windowMs), `at +${offset}`).toEqual(expected);
        }
      });

      it('fractional intervals match core’s gcra too', async () => {
        const limit = 7;
        const windowMs = 100_000;
        let tat: number | undefined;
        for (let i = 0; i < 40; i++) {
          const now = T0 + i * 1_111;
          const expected = gcra(tat, now, limit, windowMs, (next) => {
            tat = next;
          });
          expect(await stores.rateLimitStore.consume('frac', now, limit, windowMs), `step ${i}`).toEqual(expected);
        }
      });

      it('keys are independent', async () => {
        for (let i = 0; i < 2; i++) expect((await stores.rateLimitStore.consume('a', T0, 2, 60_000)).allowed).toBe(true);
        expect((await stores.rateLimitStore.consume('a', T0, 2, 60_000)).allowed).toBe(false);
        expect(await stores.rateLimitStore.consume('b', T0, 2, 60_000)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
      });

      it('50 concurrent consumes at one instant allow exactly the limit', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, () => stores.rateLimitStore.consume('burst', T0, 10, 60_000)));
        expect(results.filter((r) => r.allowed)).toHaveLength(10);
        expect(
          results
            .filter((r) => r.allowed)
            .map((r) => r.remaining)
            .sort((x, y) => x - y),
        ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs === 6_000)).toBe(true);
      });

      it('a refusal uses nothing up', async () => {
        await stores.rateLimitStore.consume('k', T0, 1, 60_000);
        const refused = await stores.rateLimitStore.consume('k', T0 + 1_000, 1, 60_000);
        expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterMs: 59_000 });
        for (let i = 0; i < 5; i++) await stores.rateLimitStore.consume('k', T0 + 2_000, 1, 60_000);
        expect((await stores.rateLimitStore.consume('k', T0 + 60_000, 1, 60_000)).allowed).toBe(true);
      });
    });

    describe('CacheStore', () => {
      it('set, get, overwrite and delete', async () => {
        expect(await stores.cacheStore.get('k', T0)).toBeUndefined();
        await stores.cacheStore.set('k', 'v1:with:colons', 10_000, T0);
        expect(await stores.cacheStore.get('k', T0)).toBe('v1:with:colons');
        await stores.cacheStore.set('k', '', 10_000, T0);
        expect(await stores.cacheStore.get('k', T0)).toBe('');
        await stores.cacheStore.delete('k');
        expect(await stores.cacheStore.get('k', T0)).toBeUndefined();
        await stores.cacheStore.delete('never-set');
      });

      it('an entry is gone from now + ttlMs on', async () => {
        await stores.cacheStore.set('k', 'v', 50_000, T0);
        expect(await stores.cacheStore.get('k', T0 + 49_999)).toBe('v');
        expect(await stores.cacheStore.get('k', T0 + 50_000)).toBeUndefined();
        await stores.cacheStore.set('k', 'v2', 50_000, T0 + 100_000);
        expect(await stores.cacheStore.get('k', T0 + 149_999)).toBe('v2');
      });

      it('incr counts from 0, counter reads without counting, delete resets', async () => {
        expect(await stores.cacheStore.counter('gen')).toBe(0);
        expect(await stores.cacheStore.incr('gen')).toBe(1);
        expect(await stores.cacheStore.incr('gen')).toBe(2);
        expect(await stores.cacheStore.counter('gen')).toBe(2);
        expect(await stores.cacheStore.counter('other')).toBe(0);
        await stores.cacheStore.set('gen', 'an entry of the same name', 10_000, T0);
        expect(await stores.cacheStore.counter('gen')).toBe(2);
        await stores.cacheStore.delete('gen');
        expect(await stores.cacheStore.counter('gen')).toBe(0);
        expect(await stores.cacheStore.get('gen', T0)).toBeUndefined();
      });

      it('50 concurrent incr count 50', async () => {
        const values = await Promise.all(Array.from({ length: 50 }, () => stores.cacheStore.incr('n')));
        expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(await stores.cacheStore.counter('n')).toBe(50);
      });
    });

    it('two store sets share nothing, even under the same names', async () => {
      const other = await another();
      const record = sessionRecord({ idleTimeoutMs: 60_000 });
      await stores.sessionStore.create(record);
      await stores.sessionStore.setState(record.id, 'k', 'v', limits());
      await stores.eventStore.append(record.id, 'st', notification(1));
      await stores.rateLimitStore.consume('rl', T0, 1, 60_000);
      await stores.cacheStore.set('c', 'v', 10_000, T0);
      await stores.cacheStore.incr('n');
      const heard = collector();
      const sentinel = collector();
      await other.messageBus.subscribe('topic', heard.handler);
      await other.messageBus.subscribe('sentinel', sentinel.handler);
      await stores.messageBus.publish('topic', terminated('x'));

      expect(await other.sessionStore.get(record.id, T0)).toBeUndefined();
      expect(await other.sessionStore.count()).toBe(0);
      expect(await other.sessionStore.list()).toEqual([]);
      expect(await other.sessionStore.takeExpired(T0 + 120_000, 10)).toEqual([]);
      expect(await other.sessionStore.setState(record.id, 'k', 'v', limits())).toEqual({ ok: false, reason: 'no-session' });
      expect(await other.eventStore.replayAfter(record.id, 'st.0')).toBeUndefined();
      expect(await other.eventStore.append(record.id, 'st', null)).toBe('st.1');
      expect((await other.rateLimitStore.consume('rl', T0, 1, 60_000)).allowed).toBe(true);
      expect(await other.cacheStore.get('c', T0)).toBeUndefined();
      expect(await other.cacheStore.counter('n')).toBe(0);
      await other.messageBus.publish('sentinel', terminated('sentinel'));
      await sentinel.until(1);
      expect(heard.messages).toEqual([]);
      // And the first set still has everything.
      expect(await stores.sessionStore.getState(record.id, 'k', T0)).toBe('v');
      expect((await stores.eventStore.replayAfter(record.id, 'st.0'))?.events).toHaveLength(1);
    });

    if (backendTtl !== undefined) {
      describe('backend expiry', () => {
        const { graceMs, eventTtlMs } = backendTtl;
        function ttlProbe(): BackendTtl {
          expect(stores.ttl, 'capabilities.backendTtl needs StoreSet.ttl').toBeDefined();
          return stores.ttl!;
        }
        function expectTtl(actual: number, expected: number): void {
          expect(actual).toBeLessThanOrEqual(expected);
          expect(actual).toBeGreaterThan(expected - TTL_SLACK_MS);
        }

        it('a record lives until its deadline plus the grace, renewed by touch', async () => {
          const ttl = ttlProbe();
          const record = sessionRecord({ idleTimeoutMs: 30_000 });
          const capped = sessionRecord({ idleTimeoutMs: 30_000, expiresAt: T0 + 10_000 });
          await stores.sessionStore.create(record);
          await stores.sessionStore.create(capped);
          expectTtl(await ttl.session(record.id), 30_000 + graceMs);
          expectTtl(await ttl.session(capped.id), 10_000 + graceMs);
          await stores.sessionStore.touch(record.id, T0 + 20_000, { principal: undefined, countRequest: true });
          await stores.sessionStore.touch(capped.id, T0 + 4_000);
          expectTtl(await ttl.session(record.id), 30_000 + graceMs);
          expectTtl(await ttl.session(capped.id), 6_000 + graceMs);
        });

        it('a principal mismatch does not renew the record', async () => {
          const ttl = ttlProbe();
          // Last active at +10 s: a touch stamped T0 (a lagging clock) would renew to 40 s, not 30 s.
          const record = sessionRecord({ idleTimeoutMs: 30_000, principal: 'alice', lastActiveAt: T0 + 10_000 });
          await stores.sessionStore.create(record);
          expectTtl(await ttl.session(record.id), 30_000 + graceMs);
          await stores.sessionStore.touch(record.id, T0, { principal: 'bob', countRequest: true });
          expectTtl(await ttl.session(record.id), 30_000 + graceMs);
          await stores.sessionStore.touch(record.id, T0, { principal: 'alice', countRequest: true });
          expectTtl(await ttl.session(record.id), 40_000 + graceMs);
        });

        it('state lives exactly as long as its session, and is gone with it', async () => {
          const ttl = ttlProbe();
          const record = sessionRecord({ idleTimeoutMs: 30_000 });
          await stores.sessionStore.create(record);
          expect(await ttl.state(record.id)).toBe(-2);
          await stores.sessionStore.setState(record.id, 'k', 'v', limits({ ttlMs: 1_000 }));
          // The same end, give or take the millisecond between two reads (or within the server's clock).
          const [sessionTtl, stateTtl] = await Promise.all([ttl.session(record.id), ttl.state(record.id)]);
          expect(Math.abs(stateTtl - sessionTtl)).toBeLessThanOrEqual(5);
          expectTtl(sessionTtl, 30_000 + graceMs);
          await stores.sessionStore.touch(record.id, T0 + 15_000);
          expectTtl(await ttl.state(record.id), 30_000 + graceMs);
          expectTtl(await ttl.session(record.id), 30_000 + graceMs);
          await stores.sessionStore.delete(record.id);
          expect(await ttl.state(record.id)).toBe(-2);
          expect(await ttl.session(record.id)).toBe(-2);
        });

        it('a stream lives at least eventTtlMs after its last event, and at least as long as its session', async () => {
          const ttl = ttlProbe();
          const short = sessionRecord({ idleTimeoutMs: 1_000 });
          const long = sessionRecord({ idleTimeoutMs: eventTtlMs * 2 });
          await stores.sessionStore.create(short);
          await stores.sessionStore.create(long);
          await stores.eventStore.append(short.id, 'st', notification(1));
          await stores.eventStore.append(long.id, 'st', notification(1));
          expectTtl(await ttl.events(short.id, 'st'), Math.max(eventTtlMs, 1_000 + graceMs));
          expectTtl(await ttl.events(long.id, 'st'), eventTtlMs * 2 + graceMs);
          await stores.eventStore.append('no-session-record', 'st', notification(1));
          expectTtl(await ttl.events('no-session-record', 'st'), eventTtlMs);
          await stores.eventStore.deleteSession(long.id);
          expect(await ttl.events(long.id, 'st')).toBe(-2);
        });

        it('a completed stream lives keepMs more, never longer than it would have', async () => {
          const ttl = ttlProbe();
          await stores.eventStore.append('s1', 'st', notification(1));
          await stores.eventStore.append('s1', 'other', notification(2));
          await stores.eventStore.completeStream?.('s1', 'st', 5_000, T0);
          expectTtl(await ttl.events('s1', 'st'), 5_000);
          await stores.eventStore.completeStream?.('s1', 'st', 60_000, T0);
          expectTtl(await ttl.events('s1', 'st'), 5_000);
          expectTtl(await ttl.events('s1', 'other'), eventTtlMs);
          await stores.eventStore.completeStream?.('s1', 'other', 0, T0);
          expect(await ttl.events('s1', 'other')).toBe(-2);
          expect(await stores.eventStore.replayAfter('s1', 'other.0')).toBeUndefined();
        });

        it('a cache entry lives ttlMs, a counter forever, a rate-limit key until it would allow a full burst', async () => {
          const ttl = ttlProbe();
          await stores.cacheStore.set('c', 'v', 20_000, T0);
          await stores.cacheStore.incr('n');
          expectTtl(await ttl.cacheEntry('c'), 20_000);
          expect(await ttl.cacheCounter('n')).toBe(-1);
          await stores.cacheStore.delete('c');
          expect(await ttl.cacheEntry('c')).toBe(-2);
          await stores.rateLimitStore.consume('rl', T0, 4, 60_000);
          await stores.rateLimitStore.consume('rl', T0, 4, 60_000);
          expectTtl(await ttl.rateLimit('rl'), 30_000);
          await stores.rateLimitStore.consume('rl', T0, 4, 60_000);
          expectTtl(await ttl.rateLimit('rl'), 45_000);
        });
      });
    }

    if (connectionLoss) {
      describe('connection loss', () => {
        function control(): ConnectionControl {
          expect(stores.connection, 'capabilities.connectionLoss needs StoreSet.connection').toBeDefined();
          return stores.connection!;
        }

        it('a call on a closed connection rejects with a store error; after reconnecting everything works', async () => {
          const connection = control();
          const record = sessionRecord({ idleTimeoutMs: 60_000 });
          await stores.sessionStore.create(record);
          await stores.sessionStore.setState(record.id, 'k', 'v', limits());
          await stores.eventStore.append(record.id, 'st', notification(1));
          await connection.disconnect();

          const calls: unknown[] = [
            stores.sessionStore.create(sessionRecord()),
            stores.sessionStore.get(record.id, T0),
            stores.sessionStore.touch(record.id, T0 + 1, { principal: undefined, countRequest: true }),
            stores.sessionStore.delete(record.id),
            stores.sessionStore.takeExpired(T0 + 120_000, 10),
            stores.sessionStore.leastRecentlyActive(10),
            stores.sessionStore.count(),
            stores.sessionStore.list(),
            stores.sessionStore.getState(record.id, 'k', T0),
            stores.sessionStore.setState(record.id, 'k', 'w', limits()),
            stores.sessionStore.deleteState(record.id, 'k'),
            stores.sessionStore.stateKeys(record.id, T0),
            stores.sessionStore.clearState(record.id),
            stores.eventStore.append(record.id, 'st', notification(2)),
            stores.eventStore.replayAfter(record.id, 'st.0'),
            stores.eventStore.deleteSession(record.id),
            stores.messageBus.publish('topic', terminated('x')),
            stores.rateLimitStore.consume('rl', T0, 1, 1_000),
            stores.cacheStore.get('c', T0),
            stores.cacheStore.set('c', 'v', 1_000, T0),
            stores.cacheStore.delete('c'),
            stores.cacheStore.incr('n'),
            stores.cacheStore.counter('n'),
          ];
          for (const call of calls) await expectStoreError(call);
          const error = await Promise.resolve(stores.sessionStore.get(record.id, T0)).catch((e: unknown) => e);
          expect(String((error as Error).message)).toMatch(/SessionStore\.get/);

          await connection.reconnect();
          // Nothing was half-done, and the stores work again.
          const after = await stores.sessionStore.touch(record.id, T0 + 2, { principal: undefined, countRequest: true });
          expect(after?.requestCount).toBe(2);
          expect(await stores.sessionStore.getState(record.id, 'k', T0)).toBe('v');
          expect(await stores.eventStore.append(record.id, 'st', notification(2))).toBe('st.2');
          expect((await stores.rateLimitStore.consume('rl', T0, 1, 1_000)).allowed).toBe(true);
          expect(await stores.cacheStore.incr('n')).toBe(1);
          const received = collector();
          await stores.messageBus.subscribe('topic', received.handler);
          await stores.messageBus.publish('topic', terminated('x'));
          await received.until(1);
        });

        it('when the server drops the connections, calls wait for the reconnect and succeed', async () => {
          const connection = control();
          const record = sessionRecord({ idleTimeoutMs: 60_000 });
          await stores.sessionStore.create(record);
          await connection.kill();
          const touched = await stores.sessionStore.touch(record.id, T0 + 1, { principal: undefined, countRequest: true });
          expect(touched?.requestCount).toBe(2);
          expect(await stores.eventStore.append(record.id, 'st', notification(1))).toBe('st.1');
          expect((await stores.rateLimitStore.consume('rl', T0, 1, 60_000)).allowed).toBe(true);
          await connection.whenReconnected();
        });

        it('the bus re-subscribes after the server dropped its connection', async () => {
          const connection = control();
          const received = collector();
          const other = collector();
          await stores.messageBus.subscribe('topic', received.handler);
          await stores.messageBus.subscribe('other-topic', other.handler);
          await stores.messageBus.publish('topic', terminated('before'));
          await received.until(1);
          await connection.kill();
          await connection.whenReconnected();
          await stores.messageBus.publish('topic', terminated('after'));
          await stores.messageBus.publish('other-topic', terminated('other'));
          expect(await received.until(2)).toEqual([terminated('before'), terminated('after')]);
          expect(await other.until(1)).toEqual([terminated('other')]);
        });
      });
    }
  });
}
