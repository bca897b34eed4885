import type { RateLimitResult } from '@x/mcp-session-core';
import { gcra } from '@x/mcp-session-core/internal';
import { beforeEach, describe, expect, it } from 'vitest';
import { type StoreSuiteContext, T0 } from './helpers.js';
import type { StoreSet } from './types.js';

/** RateLimitStore: consume, step by step against core’s gcra, and under concurrency. */
export function rateLimitStoreTests(suite: StoreSuiteContext): void {
  describe('RateLimitStore', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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
}
