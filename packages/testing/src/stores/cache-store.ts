import { beforeEach, describe, expect, it } from 'vitest';
import { type StoreSuiteContext, T0 } from './helpers.js';
import type { StoreSet } from './types.js';

/** CacheStore: entries with a TTL, counters. */
export function cacheStoreTests(suite: StoreSuiteContext): void {
  describe('CacheStore', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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

    it('a counter given an expiry is gone ttlMs after its last incr, and counts from 0 again', async () => {
      expect(await stores.cacheStore.incr('g', { ttlMs: 30_000, now: T0 })).toBe(1);
      expect(await stores.cacheStore.incr('g', { ttlMs: 30_000, now: T0 + 10_000 })).toBe(2);
      expect(await stores.cacheStore.counter('g', T0 + 39_999)).toBe(2);
      expect(await stores.cacheStore.counter('g', T0 + 40_000)).toBe(0);
      expect(await stores.cacheStore.incr('g', { ttlMs: 30_000, now: T0 + 40_000 })).toBe(1);
    });

    it('50 concurrent incr count 50', async () => {
      const values = await Promise.all(Array.from({ length: 50 }, () => stores.cacheStore.incr('n')));
      expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await stores.cacheStore.counter('n')).toBe(50);
    });
  });
}
