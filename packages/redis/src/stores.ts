import { type RedisClient, type RedisConnectionOptions, Connection, DEFAULT_COMMAND_TIMEOUT_MS, defaultOnError } from './connection.js';
import { RedisCacheStore } from './cache-store.js';
import { RedisEventStore, type RedisEventStoreOptions } from './event-store.js';
import { RedisMessageBus, type RedisMessageBusOptions } from './message-bus.js';
import { RedisRateLimitStore } from './rate-limit-store.js';
import { RedisSessionStore, type RedisSessionStoreOptions } from './session-store.js';

/** Options of {@link createRedisStores}: those of every store, with one client and one prefix. */
export interface RedisStoresOptions
  extends
    RedisConnectionOptions,
    Omit<RedisSessionStoreOptions, keyof RedisConnectionOptions>,
    Omit<RedisEventStoreOptions, keyof RedisConnectionOptions>,
    Omit<RedisMessageBusOptions, keyof RedisConnectionOptions> {}

/** Every Redis store over one connection. */
export interface RedisStores {
  sessionStore: RedisSessionStore;
  eventStore: RedisEventStore;
  messageBus: RedisMessageBus;
  rateLimitStore: RedisRateLimitStore;
  cacheStore: RedisCacheStore;
  /** The client they share (not enumerable: spreading the stores into options leaves it out). */
  readonly client: RedisClient;
  /** Closes the bus's subscriber connection, and the shared connection if it was opened from a URL (not enumerable). */
  close(): Promise<void>;
}

/**
 * All five stores sharing one client and one key prefix, which keeps each session's event streams
 * alive exactly as long as the session.
 *
 * @example
 * ```ts
 * const stores = createRedisStores({ client: new Redis(process.env.REDIS_URL) });
 * app.use('/mcp', mcpSession({ server, ...stores }));
 * ```
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  const { client, prefix, expiryGraceMs, maxEventsPerStream, ttlMs, sharded, commandTimeoutMs, onError } = options;
  const connection = new Connection(client, {
    commandTimeoutMs: commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    onError: onError ?? defaultOnError,
  });
  const shared = { client: connection.client, prefix, commandTimeoutMs, onError };
  const messageBus = new RedisMessageBus({ ...shared, sharded });
  const stores = {
    sessionStore: new RedisSessionStore({ ...shared, expiryGraceMs }),
    eventStore: new RedisEventStore({ ...shared, maxEventsPerStream, ttlMs }),
    messageBus,
    rateLimitStore: new RedisRateLimitStore(shared),
    cacheStore: new RedisCacheStore(shared),
  };
  // `client` and `close` are not enumerable, so `mcpSession({ server, ...stores })` passes exactly the
  // five stores.
  return Object.defineProperties(stores, {
    client: { value: connection.client, enumerable: false },
    close: {
      value: async () => {
        await messageBus.close();
        await connection.close();
      },
      enumerable: false,
    },
  }) as RedisStores;
}
