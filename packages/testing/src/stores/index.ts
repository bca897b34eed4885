import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendExpiryTests } from './backend-expiry.js';
import { cacheStoreTests } from './cache-store.js';
import { connectionLossTests } from './connection-loss.js';
import { eventStoreTests } from './event-store.js';
import { handleStoreTests } from './handles.js';
import { collector, limits, MAX_EVENTS, notification, sessionRecord, type StoreSuiteContext, T0, terminated } from './helpers.js';
import { messageBusTests } from './message-bus.js';
import { rateLimitStoreTests } from './rate-limit-store.js';
import { revocationStoreTests } from './revocation-store.js';
import { sessionStateTests } from './session-state.js';
import { sessionStoreTests } from './session-store.js';
import type { StoreSet, StoreSuiteConfig, StoreSuiteTarget } from './types.js';

export {
  redisClusterForTests,
  redisForTests,
  startRedisServer,
  type StartedRedis,
  type TestRedis,
  type TestRedisCluster,
} from '../redis.js';
export type { BackendTtl, ConnectionControl, StoreSet, StoreSuiteCapabilities, StoreSuiteConfig, StoreSuiteTarget } from './types.js';

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
    const suite: StoreSuiteContext = { current: () => stores, another };

    sessionStoreTests(suite);
    sessionStateTests(suite);
    handleStoreTests(suite);
    eventStoreTests(suite);
    messageBusTests(suite);
    rateLimitStoreTests(suite);
    cacheStoreTests(suite);
    revocationStoreTests(suite, target.capabilities);

    it('two store sets share nothing, even under the same names', async () => {
      const other = await another();
      const record = sessionRecord({ idleTimeoutMs: 60_000 });
      await stores.sessionStore.create(record);
      await stores.sessionStore.setState(record.id, 'k', 'v', limits());
      await stores.eventStore.append(record.id, 'st', notification(1));
      await stores.rateLimitStore.consume('rl', T0, 1, 60_000);
      await stores.cacheStore.set('c', 'v', 10_000, T0);
      await stores.cacheStore.incr('n');
      await stores.revocationStore.revoke(record.id, T0 + 60_000, T0);
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
      expect(await other.revocationStore.isRevoked(record.id, T0)).toBe(false);
      await other.messageBus.publish('sentinel', terminated('sentinel'));
      await sentinel.until(1);
      expect(heard.messages).toEqual([]);
      // And the first set still has everything.
      expect(await stores.sessionStore.getState(record.id, 'k', T0)).toBe('v');
      expect((await stores.eventStore.replayAfter(record.id, 'st.0'))?.events).toHaveLength(1);
      expect(await stores.revocationStore.isRevoked(record.id, T0)).toBe(true);
    });

    if (backendTtl !== undefined) backendExpiryTests(suite, backendTtl);
    if (connectionLoss) connectionLossTests(suite);
  });
}
