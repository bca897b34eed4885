import type { SessionStore } from '@x/mcp-session-core';
import { type HandleSettings, Sealer, StateHandleManager, sealedSessionStore } from '@x/mcp-session-core/internal';
import { beforeEach, describe, expect, it } from 'vitest';
import { type StoreSuiteContext, T0 } from './helpers.js';

const IDLE_MS = 60_000;

/**
 * State handles (SEP-2567) over the backend's store of handles (`handleStore`, else `sessionStore`):
 * the lifecycle the endpoint runs, with two managers over one store standing for two processes. Time
 * is the managers' clocks; the backend must decide expiry by the `now` it is given.
 */
export function handleStoreTests(suite: StoreSuiteContext): void {
  describe('state handles', () => {
    let store: SessionStore;
    /** The time of every process, moved by `advance`. */
    let now: number;
    const advance = (ms: number) => void (now += ms);
    let errors: unknown[];
    beforeEach(() => {
      const set = suite.current();
      store = set.handleStore ?? set.sessionStore;
      now = T0;
      errors = [];
    });

    /** One process: a manager over the shared store, its clock `lagMs` behind the others'. */
    function onProcess(overrides: Partial<HandleSettings> & { lagMs?: number } = {}): StateHandleManager {
      const { lagMs = 0, ...settings } = overrides;
      return new StateHandleManager({
        store,
        clock: { now: () => now - lagMs },
        idleTimeoutMs: IDLE_MS,
        maxHandles: 1_000,
        maxStateKeys: 100,
        maxStateBytes: 100_000,
        reportError: (error) => errors.push(error),
        ...settings,
      });
    }

    async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
      return promise.then(
        () => undefined,
        (error: unknown) => (error as { code?: string }).code,
      );
    }

    it('a handle made on one process is found, used and written on another, and each get renews it for both', async () => {
      const a = onProcess();
      const b = onProcess();
      const basket = await a.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
      await basket.set('items', ['tea']);
      advance(900);
      const there = await b.of('alice').get(basket.id);
      expect(there?.id).toBe(basket.id);
      expect(there?.kind).toBe('bsk');
      expect(there?.expiresAt).toBe(basket.expiresAt);
      expect(await there?.get('items')).toEqual(['tea']);
      await there?.set('items', ['tea', 'milk']);
      advance(900);
      // Renewed by b's get at +900: alive at +1800 for a, with b's write.
      const back = await a.of('alice').get(basket.id);
      expect(await back?.get('items')).toEqual(['tea', 'milk']);
      advance(1_000);
      expect(await a.of('alice').get(basket.id)).toBeUndefined();
      expect(await b.of('alice').get(basket.id)).toBeUndefined();
      expect(errors).toEqual([]);
    });

    it('the principal binding holds on every process, and a refused get renews nothing', async () => {
      const a = onProcess();
      const b = onProcess();
      const basket = await a.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
      const anonymous = await a.of(undefined).create('bsk', { idleTimeoutMs: 1_000 });
      advance(600);
      expect(await b.of('bob').get(basket.id)).toBeUndefined();
      expect(await b.of(undefined).get(basket.id)).toBeUndefined();
      expect(await b.of('alice').get(anonymous.id)).toBeUndefined();
      expect(await b.of('bob').delete(basket.id)).toBe(false);
      expect(await b.of('alice').delete(anonymous.id)).toBe(false);
      expect((await b.of(undefined).get(anonymous.id))?.id).toBe(anonymous.id);
      advance(400);
      // Nobody renewed alice's handle (bob's probes did not): gone at +1000. The anonymous one was used at +600.
      expect(await a.of('alice').get(basket.id)).toBeUndefined();
      expect((await a.of(undefined).get(anonymous.id))?.id).toBe(anonymous.id);
    });

    it('absolute expiry: a handle ends ttlMs after it was made, however often either process uses it', async () => {
      const a = onProcess();
      const b = onProcess();
      const basket = await a.of('alice').create('bsk', { ttlMs: 3_000, idleTimeoutMs: 1_000 });
      expect(basket.expiresAt).toBe(T0 + 3_000);
      for (const [i, p] of [a, b, a].entries()) {
        advance(900);
        expect(await p.of('alice').get(basket.id), `use ${i + 1}`).toBeDefined();
      }
      advance(299);
      expect(await b.of('alice').get(basket.id)).toBeDefined();
      advance(1);
      expect(await a.of('alice').get(basket.id)).toBeUndefined();
      expect(await b.of('alice').get(basket.id)).toBeUndefined();
    });

    it("a process whose clock lags does not shorten a handle's life", async () => {
      const a = onProcess();
      const lagging = onProcess({ lagMs: 2_000 });
      const basket = await a.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
      advance(900);
      expect(await a.of('alice').get(basket.id)).toBeDefined();
      // Used at +900 by a; the lagging process says it is -1100 now.
      expect(await lagging.of('alice').get(basket.id)).toBeDefined();
      advance(999);
      expect(await a.of('alice').get(basket.id)).toBeDefined();
    });

    it('delete on one process ends the handle and its state on every process', async () => {
      const a = onProcess();
      const b = onProcess();
      const basket = await a.of('alice').create('bsk');
      await basket.set('k', 'v');
      expect(await b.of('alice').delete(basket.id)).toBe(true);
      expect(await a.of('alice').get(basket.id)).toBeUndefined();
      expect(await a.of('alice').delete(basket.id)).toBe(false);
      expect(await store.getState(basket.id, 'k', now)).toBeUndefined();
      expect(await codeOf(basket.set('k', 'again'))).toBe('ERR_MCP_SESSION_STATE');
    });

    it('the sweep on any process takes expired handles and their state; live ones keep theirs', async () => {
      const a = onProcess();
      const b = onProcess();
      const idle = await a.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
      const capped = await a.of('bob').create('bsk', { ttlMs: 1_500, idleTimeoutMs: 10_000 });
      const live = await b.of(undefined).create('bsk', { idleTimeoutMs: 10_000 });
      for (const handle of [idle, capped, live]) await handle.set('k', handle.id);
      advance(1_500);
      // Both processes sweep at once: each expired handle goes once, and neither sweep fails.
      await Promise.all([a.expire(now), b.expire(now)]);
      expect(await store.count()).toBe(1);
      for (const gone of [idle, capped]) {
        expect(await store.get(gone.id, T0)).toBeUndefined();
        expect(await store.getState(gone.id, 'k', T0)).toBeUndefined();
        expect(await store.stateKeys(gone.id, T0)).toEqual([]);
      }
      expect(await (await a.of(undefined).get(live.id))?.get('k')).toBe(live.id);
      expect(errors).toEqual([]);
    });

    it('state limits hold per handle across processes writing at once', async () => {
      const a = onProcess({ maxStateKeys: 5 });
      const b = onProcess({ maxStateKeys: 5 });
      const basket = await a.of('alice').create('bsk');
      const there = (await b.of('alice').get(basket.id))!;
      const writes = await Promise.all(Array.from({ length: 12 }, (_, i) => codeOf((i % 2 === 0 ? basket : there).set(`k${i}`, i))));
      expect(writes.filter((code) => code === undefined)).toHaveLength(5);
      expect(writes.filter((code) => code === 'ERR_MCP_SESSION_STATE_LIMIT')).toHaveLength(7);
      expect(await basket.keys()).toHaveLength(5);
      // A value with its own ttlMs goes on the managers' clock, and frees its key.
      const short = await b.of('alice').create('bsk');
      await short.set('brief', 1, { ttlMs: 100 });
      advance(99);
      expect(await short.get('brief')).toBe(1);
      advance(1);
      expect(await short.get('brief')).toBeUndefined();
      expect(await short.keys()).toEqual([]);
    });

    it('maxHandles counts the handles this backend holds, whichever process made them', async () => {
      const a = onProcess({ maxHandles: 3 });
      const b = onProcess({ maxHandles: 3 });
      await a.of('alice').create('bsk');
      const bobs = await b.of('bob').create('bsk');
      await b.of(undefined).create('bsk');
      expect(await codeOf(a.of('alice').create('bsk'))).toBe('ERR_MCP_SESSION_HANDLE_LIMIT');
      expect(await b.of('bob').delete(bobs.id)).toBe(true);
      expect(await codeOf(a.of('alice').create('bsk'))).toBeUndefined();
    });

    it('sealed at rest: the backend keeps sealed values, which every process with the keys opens', async () => {
      const sealing = { sealer: new Sealer([{ id: 'k1', key: Buffer.alloc(32, 7) }]), acceptUnsealed: false, reportError: () => undefined };
      const a = onProcess({ store: sealedSessionStore(store, sealing) });
      const b = onProcess({ store: sealedSessionStore(store, sealing) });
      const basket = await a.of('alice').create('bsk');
      await basket.set('card', { number: '4111-1111' });
      const stored = await store.getState(basket.id, 'card', T0);
      expect(stored).toMatch(/^enc:v1:k1:/);
      expect(stored).not.toContain('4111');
      expect(await (await b.of('alice').get(basket.id))?.get('card')).toEqual({ number: '4111-1111' });
      expect((await store.get(basket.id, T0))?.principal).toBe('alice');
    });
  });
}
