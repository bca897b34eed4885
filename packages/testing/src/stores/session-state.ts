import type { SessionRecord } from '@x/mcp-session-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { limits, sessionRecord, type StoreSuiteContext, T0 } from './helpers.js';
import type { StoreSet } from './types.js';

/** SessionStore, session state: values, per-key TTLs, the maxKeys and maxBytes limits under concurrency. */
export function sessionStateTests(suite: StoreSuiteContext): void {
  describe('session state', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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
}
