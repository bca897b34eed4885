import type { SessionRecord } from '@x/mcp-session-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { limits, sessionRecord, type StoreSuiteContext, T0 } from './helpers.js';
import type { StoreSet } from './types.js';

/** SessionStore: records, deadlines, touch and its access check, delete, takeExpired, eviction order, count and list. */
export function sessionStoreTests(suite: StoreSuiteContext): void {
  describe('SessionStore', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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

    it('list and leastRecentlyActive answer copies: changing one changes nothing stored', async () => {
      const record = sessionRecord({ createdAt: T0, lastActiveAt: T0 });
      await stores.sessionStore.create(record);
      (await stores.sessionStore.list())[0]!.requestCount = 99;
      (await stores.sessionStore.leastRecentlyActive(1))[0]!.principal = 'mallory';
      expect(await stores.sessionStore.get(record.id, T0)).toEqual(record);
    });
  });
}
