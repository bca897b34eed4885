/**
 * A multi round-trip request's `requestState` across two endpoints sharing their stores (two
 * processes behind a load balancer): a state minted on one opens on the other, once.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CacheStore, MemoryCacheStore } from '@x/mcp-session-core';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, appsFor, sharedStoresOf } from '../../harness.js';
import { bearerAuth, readResponse } from '../http-rules/helpers.js';
import { MODERN, alice, bob, clientsFor, modernRequest, postModern } from './helpers.js';

/** The cache store, with the count each `requestState` nonce reached recorded in `uses`, in order. */
function countNonceUses(store: CacheStore): { store: CacheStore; uses: number[] } {
  const uses: number[] = [];
  const counting = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      // Called on the store itself: its private fields are not the proxy's.
      if (property !== 'incr') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      return async (...args: Parameters<CacheStore['incr']>) => {
        const count = await target.incr(...args);
        if (args[0].startsWith('rs:')) uses.push(count);
        return count;
      };
    },
  });
  return { store: counting, uses };
}

export function requestStateCases(harness: AdapterHarness): void {
  describe('the 2026-07-28 lane: requestState across two endpoints', () => {
    const start = appsFor(harness, () => ({}));
    const clients = clientsFor();

    it('a state minted on one node is redeemed on the other, once: a replay is refused on both, and another principal cannot redeem it', async () => {
      const probe = new ErasProbe();
      // The single use is kept in the cache store (the memory default is per endpoint, so share one),
      // where the uses of each state's nonce are counted.
      const stores = await sharedStoresOf(harness);
      const nonces = countNonceUses(stores.cacheStore ?? new MemoryCacheStore());
      const shared = { ...stores, cacheStore: nonces.store };
      // Both nodes seal with the same keys, as processes of one deployment do.
      const encryptionKeys = [{ id: 'k1', key: randomBytes(32).toString('base64') }];
      const options = { ...shared, server: erasServerFactory(probe), encryptionKeys };
      const a = await start({ ...options, nodeId: 'A' }, bearerAuth);
      const b = await start({ ...options, nodeId: 'B' }, bearerAuth);

      // The SDK client asks on A; its retry, carrying the state, goes to B.
      const pinned = await clients.v2(
        a.url,
        { pin: MODERN },
        { headers: alice, route: (url, body) => (body?.params?.requestState === undefined ? url : b.url) },
      );
      expect((await pinned.call('ask_name')).text).toBe('Hello, Ada');
      const [asked, retried] = pinned.wire.filter((exchange) => exchange.body?.params?.name === 'ask_name');
      const state = asked?.response?.result?.requestState;
      expect(state).toBeTypeOf('string');
      expect(retried?.body?.params?.requestState).toBe(state);
      expect(probe.calls.get('ask_name')).toBe(2);

      // The same retry again, to either node: refused before the tool runs.
      const { name, arguments: args, inputResponses } = retried!.body!.params as Record<string, unknown>;
      for (const node of [a, b, a]) {
        const replay = modernRequest('tools/call', { name, arguments: args, inputResponses, requestState: state });
        const res = await postModern(node.url, replay, alice);
        // Refused in-band, as the SDK answers every requestState it does not accept.
        expect(res.status).toBe(200);
        expect(await readResponse(res)).toMatchObject({
          id: replay.body.id,
          error: { code: -32602, message: expect.stringMatching(/requestState/) },
        });
      }
      expect(probe.calls.get('ask_name')).toBe(2);
      // Each replay opened, was for this principal and request, and found its nonce taken.
      expect(nonces.uses).toEqual([1, 2, 3, 4]);

      // A fresh round on B: another principal cannot redeem it (nor use it up); its own, on A, can.
      const fresh = await postModern(b.url, modernRequest('tools/call', { name: 'ask_name', arguments: {} }), alice);
      const freshState = (await readResponse(fresh)).result?.requestState;
      expect(freshState).toBeTypeOf('string');
      expect(freshState).not.toBe(state);
      const redeem = () => modernRequest('tools/call', { name: 'ask_name', arguments: {}, inputResponses, requestState: freshState });
      expect(await readResponse(await postModern(a.url, redeem(), bob))).toMatchObject({ error: { code: -32602 } });
      expect(nonces.uses).toEqual([1, 2, 3, 4]);
      const redeemed = await postModern(a.url, redeem(), alice);
      expect((await readResponse(redeemed)).result).toMatchObject({ content: [{ type: 'text', text: 'Hello, Ada' }] });
      expect(nonces.uses).toEqual([1, 2, 3, 4, 1]);
    });
  });
}
