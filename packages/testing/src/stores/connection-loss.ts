import { beforeEach, describe, expect, it } from 'vitest';
import { collector, expectStoreError, limits, notification, sessionRecord, type StoreSuiteContext, T0, terminated } from './helpers.js';
import type { ConnectionControl, StoreSet } from './types.js';

/** With `capabilities.connectionLoss`: a closed or dropped connection, and the way back. */
export function connectionLossTests(suite: StoreSuiteContext): void {
  describe('connection loss', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

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
