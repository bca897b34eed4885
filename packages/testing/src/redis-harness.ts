import { randomBytes } from 'node:crypto';
import type { CacheStore, EventStore, MessageBus, RateLimitStore, SessionStore } from '@x/mcp-session-core';
import { createRedisStores } from '@x/mcp-session-redis';
import { Redis } from 'ioredis';
import type { AdapterHarness } from './harness.js';
import { redisForTests } from './redis.js';

/** The stores of createRedisStores, as endpoint options. */
export interface SharedStores {
  sessionStore: SessionStore;
  handleStore: SessionStore;
  eventStore: EventStore;
  messageBus: MessageBus;
  rateLimitStore: RateLimitStore;
  cacheStore: CacheStore;
}

let server: ReturnType<typeof redisForTests> | undefined;

/** Deletes the keys under a prefix (SCAN, for teardown only: never on a request path). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/**
 * Redis stores under a fresh key prefix, on the Redis the tests use (REDIS_URL, else the local
 * server, else one started here). `close()` ends their connections and deletes their keys.
 */
export async function redisStoresForTests(): Promise<{ stores: SharedStores; close(): Promise<void> }> {
  server ??= redisForTests();
  const { url } = await server;
  const prefix = `mcp-suite-${randomBytes(5).toString('hex')}:`;
  const redis = createRedisStores({ client: url, prefix });
  return {
    // Spread, as users do: exactly the six stores.
    stores: { ...redis },
    async close() {
      await redis.close();
      await deleteKeys(url, prefix);
    },
  };
}

/**
 * The adapter harness with every store on Redis: each app gets its own stores (own prefix) unless the
 * test passes stores; suites that need two nodes sharing stores get them from `sharedStores`.
 */
export function onRedis(base: AdapterHarness): AdapterHarness {
  const opened: Array<() => Promise<void>> = [];
  return {
    name: `${base.name} on Redis`,
    async sharedStores() {
      const { stores, close } = await redisStoresForTests();
      opened.push(close);
      return stores;
    },
    async start(options, host) {
      if (options.sessionStore !== undefined) return base.start(options, host);
      const { stores, close } = await redisStoresForTests();
      const app = await base.start({ ...stores, ...options }, host);
      return {
        ...app,
        persistentStores: true,
        async close() {
          await app.close();
          await close();
        },
      };
    },
    async dispose() {
      for (const close of opened.splice(0)) await close();
    },
  };
}
