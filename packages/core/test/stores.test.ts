import {
  MemoryCacheStore,
  MemoryEventStore,
  MemoryMessageBus,
  MemoryRateLimitStore,
  MemoryRevocationStore,
  MemorySessionStore,
} from '@x/mcp-session-core';
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
      revocationStore: new MemoryRevocationStore(),
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

  it('a memory revocation store drops revocations whose time has passed as it takes new ones', () => {
    const store = new MemoryRevocationStore();
    for (let i = 0; i < 100; i += 1) store.revoke(`s${i}`, T0 + 1_000, T0);
    expect(store.size).toBe(100);
    // Each revoke drops up to 64 that are due: two more revocations after the time clear the rest.
    store.revoke('late-1', T0 + 10_000, T0 + 1_000);
    store.revoke('late-2', T0 + 10_000, T0 + 1_000);
    expect(store.size).toBe(2);
    expect(store.isRevoked('late-1', T0 + 1_000)).toBe(true);
  });
});
