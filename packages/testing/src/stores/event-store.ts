import type { JSONRPCMessage } from '@x/mcp-session-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_EVENTS, notification, type StoreSuiteContext, T0 } from './helpers.js';
import type { StoreSet } from './types.js';

/** EventStore: event ids, replay, the per-stream window, completed streams, concurrent appends. */
export function eventStoreTests(suite: StoreSuiteContext): void {
  const { another } = suite;

  describe('EventStore', () => {
    let stores: StoreSet;
    beforeEach(() => {
      stores = suite.current();
    });

    it('event ids are <streamId>.<sequence>, from 1, one more per append, markers included', async () => {
      const ids = [
        await stores.eventStore.append('s1', 'stream-a', null),
        await stores.eventStore.append('s1', 'stream-a', notification(1)),
        await stores.eventStore.append('s1', 'stream-a', notification(2)),
        await stores.eventStore.append('s1', 'stream-b', notification(3)),
        await stores.eventStore.append('s2', 'stream-a', notification(4)),
      ];
      expect(ids).toEqual(['stream-a.1', 'stream-a.2', 'stream-a.3', 'stream-b.1', 'stream-a.1']);
    });

    it('replayAfter returns the events after the id, in order, and never a marker', async () => {
      const priming = await stores.eventStore.append('s1', 'st', null);
      const ids = [];
      for (let i = 1; i <= 4; i++) ids.push(await stores.eventStore.append('s1', 'st', notification(i)));
      await stores.eventStore.append('s1', 'st', null);
      const all = await stores.eventStore.replayAfter('s1', priming);
      expect(all).toEqual({ streamId: 'st', events: ids.map((id, i) => ({ id, message: notification(i + 1) })) });
      expect((await stores.eventStore.replayAfter('s1', ids[2]!))?.events.map((e) => e.id)).toEqual([ids[3]]);
      expect(await stores.eventStore.replayAfter('s1', 'st.6')).toEqual({ streamId: 'st', events: [] });
      expect(await stores.eventStore.replayAfter('s1', 'st.0')).toEqual(all);
    });

    it('replayAfter reads only the stream its id names', async () => {
      const a = [];
      const b = [];
      for (let i = 0; i < 3; i++) {
        a.push(await stores.eventStore.append('s1', 'a', notification(i)));
        b.push(await stores.eventStore.append('s1', 'b', notification(100 + i)));
      }
      expect((await stores.eventStore.replayAfter('s1', a[0]!))?.events.map((e) => e.id)).toEqual(a.slice(1));
      expect(await stores.eventStore.replayAfter('s1', b[0]!)).toEqual({
        streamId: 'b',
        events: [
          { id: b[1], message: notification(101) },
          { id: b[2], message: notification(102) },
        ],
      });
    });

    it('replayAfter is per session', async () => {
      await stores.eventStore.append('s1', 'st', notification(1));
      await stores.eventStore.append('s1', 'st', notification(2));
      await stores.eventStore.append('s2', 'st', notification(3));
      expect(await stores.eventStore.replayAfter('s2', 'st.0')).toEqual({
        streamId: 'st',
        events: [{ id: 'st.1', message: notification(3) }],
      });
      expect(await stores.eventStore.replayAfter('s2', 'st.2')).toBeUndefined();
      expect(await stores.eventStore.replayAfter('s3', 'st.1')).toBeUndefined();
    });

    it('malformed and unknown ids answer undefined', async () => {
      await stores.eventStore.append('s1', 'st', notification(1));
      for (const id of ['', 'st', 'st.', '.1', 'st.x', 'st.-1', 'st.1.5x', 'other.1', 'st.2', 'st.99999999999999']) {
        expect(await stores.eventStore.replayAfter('s1', id), id).toBeUndefined();
      }
    });

    it('a stream keeps at most maxEventsPerStream events, the newest', async () => {
      const ids = [];
      for (let i = 1; i <= MAX_EVENTS * 3; i++) ids.push(await stores.eventStore.append('s1', 'st', notification(i)));
      const replay = await stores.eventStore.replayAfter('s1', 'st.0');
      expect(replay?.events.map((e) => e.id)).toEqual(ids.slice(-MAX_EVENTS));
      expect(replay?.events.map((e) => e.message)).toEqual(ids.slice(-MAX_EVENTS).map((_, i) => notification(MAX_EVENTS * 2 + i + 1)));
      expect((await stores.eventStore.replayAfter('s1', ids.at(-2)!))?.events.map((e) => e.id)).toEqual(ids.slice(-1));
      // A resumption from before the window gets what is left, still in order.
      expect((await stores.eventStore.replayAfter('s1', ids[0]!))?.events).toHaveLength(MAX_EVENTS);
    });

    it('replayAfter says truncated exactly when events after the id fell out of the window', async () => {
      const ids = [];
      for (let i = 1; i <= MAX_EVENTS * 3; i++) ids.push(await stores.eventStore.append('s1', 'st', notification(i)));
      expect((await stores.eventStore.replayAfter('s1', 'st.0'))?.truncated).toBe(true);
      expect((await stores.eventStore.replayAfter('s1', ids[0]!))?.truncated).toBe(true);
      expect((await stores.eventStore.replayAfter('s1', ids.at(-MAX_EVENTS - 2)!))?.truncated).toBe(true);
      // The id just before the window: every event after it is held.
      expect((await stores.eventStore.replayAfter('s1', ids.at(-MAX_EVENTS - 1)!))?.truncated ?? false).toBe(false);
      expect((await stores.eventStore.replayAfter('s1', ids.at(-2)!))?.truncated ?? false).toBe(false);
      expect((await stores.eventStore.replayAfter('s1', ids.at(-1)!))?.truncated ?? false).toBe(false);
    });

    it('deleteSession drops every stream of that session and nothing else', async () => {
      await stores.eventStore.append('s1', 'a', notification(1));
      await stores.eventStore.append('s1', 'b', null);
      await stores.eventStore.append('s2', 'a', notification(2));
      await stores.eventStore.deleteSession('s1');
      expect(await stores.eventStore.replayAfter('s1', 'a.0')).toBeUndefined();
      expect(await stores.eventStore.replayAfter('s1', 'b.1')).toBeUndefined();
      expect((await stores.eventStore.replayAfter('s2', 'a.0'))?.events).toHaveLength(1);
      await stores.eventStore.deleteSession('s1');
      await stores.eventStore.deleteSession('never-seen');
    });

    it('a completed stream stays replayable (for keepMs); the other streams go on as before', async () => {
      const done = [];
      for (let i = 1; i <= 3; i++) done.push(await stores.eventStore.append('s1', 'done', notification(i)));
      await stores.eventStore.append('s1', 'open', null);
      await stores.eventStore.append('s1', 'open', notification(10));
      await stores.eventStore.completeStream?.('s1', 'done', 60_000, T0);
      expect(await stores.eventStore.replayAfter('s1', 'done.0')).toEqual({
        streamId: 'done',
        events: done.map((id, i) => ({ id, message: notification(i + 1) })),
      });
      expect(await stores.eventStore.replayAfter('s1', 'done.3')).toEqual({ streamId: 'done', events: [] });
      expect(await stores.eventStore.replayAfter('s1', 'done.4')).toBeUndefined();
      expect(await stores.eventStore.append('s1', 'open', notification(11))).toBe('open.3');
      expect((await stores.eventStore.replayAfter('s1', 'open.1'))?.events.map((e) => e.id)).toEqual(['open.2', 'open.3']);
      await stores.eventStore.completeStream?.('s1', 'never-written', 60_000, T0);
      expect(await stores.eventStore.replayAfter('s1', 'never-written.0')).toBeUndefined();
    });

    it('50 concurrent appends to one stream get 50 consecutive ids, replayed in order', async () => {
      const big = await another({ maxEventsPerStream: 100 });
      await big.eventStore.append('s1', 'st', null);
      const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => big.eventStore.append('s1', 'st', notification(i))));
      const sequences = ids.map((id) => Number(id.split('.')[1]));
      expect([...sequences].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
      const replay = await big.eventStore.replayAfter('s1', 'st.1');
      expect(replay?.events.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => `st.${i + 2}`));
      // Each message kept the id it was given.
      for (const event of replay?.events ?? []) expect(event.message).toEqual(notification(ids.indexOf(event.id)));
    });

    it('messages round-trip exactly', async () => {
      const messages: JSONRPCMessage[] = [
        {
          jsonrpc: '2.0',
          id: 'srv~1',
          method: 'sampling/createMessage',
          params: { messages: [], maxTokens: 10, nested: { a: [1, { b: null }] } },
        },
        {
          jsonrpc: '2.0',
          id: 7,
          result: { content: [{ type: 'text', text: 'ünïcödé ✓ "quoted" \n newline \u2028' }], big: 2 ** 52, neg: -1.5 },
        },
        { jsonrpc: '2.0', id: 8, error: { code: -32000, message: 'failed', data: { empty: {}, list: [] } } },
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 0.25 } },
      ];
      for (const message of messages) await stores.eventStore.append('s1', 'st', message);
      expect((await stores.eventStore.replayAfter('s1', 'st.0'))?.events.map((e) => e.message)).toEqual(messages.slice(-MAX_EVENTS));
    });
  });
}
