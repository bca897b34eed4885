import { beforeEach, describe, expect, it } from 'vitest';
import { expectStoreError, type StoreSuiteContext, T0, TTL_SLACK_MS } from './helpers.js';
import type { StoreSet, StoreSuiteCapabilities } from './types.js';

const id = (n: number) => `sid-${n}-${Math.random().toString(36).slice(2, 10)}`;

/** RevocationStore: listing until a time, the one caller that listed it, and (by capability) backend expiry and connection loss. */
export function revocationStoreTests(suite: StoreSuiteContext, capabilities: StoreSuiteCapabilities = {}): void {
  describe('RevocationStore', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

    it('a revoked id is listed until its time, and not from then on', async () => {
      const sessionId = id(1);
      expect(await stores.revocationStore.isRevoked(sessionId, T0)).toBe(false);
      expect(await stores.revocationStore.revoke(sessionId, T0 + 60_000, T0)).toBe(true);
      expect(await stores.revocationStore.isRevoked(sessionId, T0)).toBe(true);
      expect(await stores.revocationStore.isRevoked(sessionId, T0 + 59_999)).toBe(true);
      expect(await stores.revocationStore.isRevoked(sessionId, T0 + 60_000)).toBe(false);
    });

    it('revoke is true for the caller that listed the id; false while it is listed, or when its time has passed', async () => {
      const sessionId = id(2);
      expect(await stores.revocationStore.revoke(sessionId, T0 + 1_000, T0)).toBe(true);
      expect(await stores.revocationStore.revoke(sessionId, T0 + 5_000, T0 + 10)).toBe(false);
      // The second call changed nothing.
      expect(await stores.revocationStore.isRevoked(sessionId, T0 + 1_000)).toBe(false);
      // Once its time has passed, it can be listed again.
      expect(await stores.revocationStore.revoke(sessionId, T0 + 9_000, T0 + 2_000)).toBe(true);
      expect(await stores.revocationStore.isRevoked(sessionId, T0 + 8_999)).toBe(true);
      const past = id(3);
      expect(await stores.revocationStore.revoke(past, T0, T0)).toBe(false);
      expect(await stores.revocationStore.revoke(past, T0 - 1, T0)).toBe(false);
      expect(await stores.revocationStore.isRevoked(past, T0 - 10)).toBe(false);
    });

    it('ids are independent', async () => {
      const [a, b] = [id(4), id(5)];
      await stores.revocationStore.revoke(a, T0 + 1_000, T0);
      expect(await stores.revocationStore.isRevoked(b, T0)).toBe(false);
      expect(await stores.revocationStore.revoke(b, T0 + 1_000, T0)).toBe(true);
    });

    it('50 concurrent revokes of one id: exactly one lists it', async () => {
      const sessionId = id(6);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores.revocationStore.revoke(sessionId, T0 + 1_000 + i, T0)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    if (capabilities.backendTtl !== undefined) {
      it('the backend drops a revocation at its time', async () => {
        expect(stores.ttl, 'capabilities.backendTtl needs StoreSet.ttl').toBeDefined();
        const sessionId = id(8);
        await stores.revocationStore.revoke(sessionId, T0 + 30_000, T0);
        const ttl = await stores.ttl!.revocation(sessionId);
        expect(ttl).toBeLessThanOrEqual(30_000);
        expect(ttl).toBeGreaterThan(30_000 - TTL_SLACK_MS);
        expect(await stores.ttl!.revocation(id(9))).toBe(-2);
      });
    }

    if (capabilities.connectionLoss === true) {
      it('a call on a closed connection rejects with a store error; after reconnecting it works', async () => {
        const sessionId = id(10);
        await stores.connection!.disconnect();
        await expectStoreError(stores.revocationStore.revoke(sessionId, T0 + 1_000, T0));
        await expectStoreError(stores.revocationStore.isRevoked(sessionId, T0));
        await stores.connection!.reconnect();
        expect(await stores.revocationStore.isRevoked(sessionId, T0)).toBe(false);
        expect(await stores.revocationStore.revoke(sessionId, T0 + 1_000, T0)).toBe(true);
      });
    }
  });
}
