import { MemoryCacheStore, MemoryEventStore, MemoryMessageBus, MemoryRateLimitStore, MemorySessionStore } from '@x/mcp-session-core';
import { runStoreSuite } from '@x/mcp-session-testing';
import { describe, expect, it } from 'vitest';

/** The memory stores against the same compliance suite as every other backend. */
runStoreSuite({
  name: 'memory',
  async create({ maxEventsPerStream }) {
    return {
      sessionStore: new MemorySessionStore(),
      eventStore: new MemoryEventStore({ maxEventsPerStream }),
      messageBus: new MemoryMessageBus(),
      rateLimitStore: new MemoryRateLimitStore(),
      cacheStore: new MemoryCacheStore(),
      close: async () => undefined,
    };
  },
});

describe('memory stores, on the clock they are given', () => {
  const T0 = Date.UTC(2026, 0, 1);
  const message = { jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info' } };

  it('a completed stream is dropped once keepMs has passed on the clock of a later completion', () => {
    const store = new MemoryEventStore();
    store.append('s1', 'a', message);
    store.append('s1', 'b', message);
    store.completeStream('s1', 'a', 1_000, T0);
    store.completeStream('s1', 'b', 1_000, T0 + 999);
    expect(store.replayAfter('s1', 'a.0')?.events).toHaveLength(1);
    store.append('s1', 'c', message);
    store.completeStream('s1', 'c', 1_000, T0 + 1_000);
    expect(store.replayAfter('s1', 'a.0')).toBeUndefined();
    expect(store.replayAfter('s1', 'b.0')?.events).toHaveLength(1);
  });
});
