import type { BusMessage } from '@x/mcp-session-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { collector, notification, type StoreSuiteContext, terminated } from './helpers.js';
import type { StoreSet } from './types.js';

/** MessageBus: delivery per topic, in order, to every handler; unsubscribe and churn. */
export function messageBusTests(suite: StoreSuiteContext): void {
  describe('MessageBus', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

    it('a subscriber receives what is published on its topic, as its own copy', async () => {
      const received = collector();
      await stores.messageBus.subscribe('topic-a', received.handler);
      const message: BusMessage = { kind: 'event', sessionId: 's1', streamId: 'st', eventId: 'st.1', message: notification(1) };
      await stores.messageBus.publish('topic-a', message);
      const [got] = await received.until(1);
      expect(got).toEqual(message);
      expect(got).not.toBe(message);
    });

    it('every handler of a topic receives every message, in publish order', async () => {
      const first = collector();
      const second = collector();
      await stores.messageBus.subscribe('topic', first.handler);
      await stores.messageBus.subscribe('topic', second.handler);
      const sent = Array.from({ length: 20 }, (_, i) => terminated(`s${i}`));
      for (const message of sent) await stores.messageBus.publish('topic', message);
      expect(await first.until(20)).toEqual(sent);
      expect(await second.until(20)).toEqual(sent);
      expect(first.messages[0]).not.toBe(second.messages[0]);
    });

    it('a handler receives nothing after it unsubscribed; the others go on', async () => {
      const leaving = collector();
      const staying = collector();
      const unsubscribe = await stores.messageBus.subscribe('topic', leaving.handler);
      await stores.messageBus.subscribe('topic', staying.handler);
      await stores.messageBus.publish('topic', terminated('before'));
      await leaving.until(1);
      await unsubscribe();
      await unsubscribe();
      await stores.messageBus.publish('topic', terminated('after'));
      // Delivered in order: once `staying` has the second message, `leaving` would have had it too.
      await staying.until(2);
      expect(leaving.messages).toEqual([terminated('before')]);
    });

    it('topics are separate', async () => {
      const a = collector();
      const b = collector();
      await stores.messageBus.subscribe('mcp:session:one', a.handler);
      await stores.messageBus.subscribe('mcp:session:two', b.handler);
      await stores.messageBus.publish('mcp:session:one', terminated('one'));
      await stores.messageBus.publish('mcp:session:nobody', terminated('nobody'));
      await stores.messageBus.publish('mcp:session:two', terminated('two'));
      await a.until(1);
      await b.until(1);
      expect(a.messages).toEqual([terminated('one')]);
      expect(b.messages).toEqual([terminated('two')]);
    });

    it('every kind of message crosses intact', async () => {
      const received = collector();
      await stores.messageBus.subscribe('mcp:control', received.handler);
      const sent: BusMessage[] = [
        { kind: 'client-message', sessionId: 's', message: { jsonrpc: '2.0', id: 'n~1', result: { ok: true } } },
        { kind: 'event', sessionId: 's', streamId: 'st', eventId: 'st.3', message: notification(3) },
        { kind: 'stream-taken', sessionId: 's', streamId: 'st', holder: 'node:1' },
        { kind: 'terminated', sessionId: 's' },
        { kind: 'broadcast', message: { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } },
        { kind: 'broadcast', message: notification(4), filter: { principal: 'p', sessionIds: ['a', 'b'] } },
      ];
      for (const message of sent) await stores.messageBus.publish('mcp:control', message);
      expect(await received.until(sent.length)).toEqual(sent);
    });

    it('subscribing again after the last handler left works, and concurrent churn settles right', async () => {
      const first = collector();
      const off = await stores.messageBus.subscribe('churn', first.handler);
      await off();
      const second = collector();
      const third = collector();
      // Leave and join at once: the topic must end up subscribed for `third`.
      const offSecond = await stores.messageBus.subscribe('churn', second.handler);
      await Promise.all([offSecond(), stores.messageBus.subscribe('churn', third.handler)]);
      await stores.messageBus.publish('churn', terminated('x'));
      expect(await third.until(1)).toEqual([terminated('x')]);
      expect(first.messages).toEqual([]);
      expect(second.messages).toEqual([]);
    });

    it('publishing to a topic nobody listens to is fine', async () => {
      await expect(Promise.resolve(stores.messageBus.publish('nobody-listens', terminated('x')))).resolves.toBeUndefined();
    });
  });
}
