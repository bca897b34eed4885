import { beforeEach, describe, expect, it } from 'vitest';
import { limits, notification, sessionRecord, type StoreSuiteContext, T0, TTL_SLACK_MS } from './helpers.js';
import type { BackendTtl, StoreSet, StoreSuiteCapabilities } from './types.js';

/** With `capabilities.backendTtl`: what the backend itself keeps, and for how long. */
export function backendExpiryTests(suite: StoreSuiteContext, backendTtl: NonNullable<StoreSuiteCapabilities['backendTtl']>): void {
  describe('backend expiry', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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

    it('a cache entry lives ttlMs, a counter ttlMs when given one and else forever, a rate-limit key until it would allow a full burst', async () => {
      const ttl = ttlProbe();
      await stores.cacheStore.set('c', 'v', 20_000, T0);
      await stores.cacheStore.incr('n');
      expectTtl(await ttl.cacheEntry('c'), 20_000);
      expect(await ttl.cacheCounter('n')).toBe(-1);
      await stores.cacheStore.incr('g', { ttlMs: 40_000, now: T0 });
      expectTtl(await ttl.cacheCounter('g'), 40_000);
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
