import {
  type RedisClient,
  type RedisConnectionOptions,
  Connection,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_PREFIX,
  defaultOnError,
} from './connection.js';
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
  /**
   * State handles (SEP-2567): records and state shaped like sessions', under the prefix `<prefix>h:`,
   * so handles never count, sweep or collide as sessions.
   */
  handleStore: RedisSessionStore;
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
 * Six stores on one client and one key prefix: sessions, state handles (under `<prefix>h:`), events,
 * the bus, rate limits and the cache. The one prefix keeps each session's event streams alive exactly
 * as long as the session.
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
    // The default prefix as the session store resolves it: handles under `mcp-session:h:`, not `undefinedh:`.
    handleStore: new RedisSessionStore({ ...shared, prefix: `${prefix ?? DEFAULT_PREFIX}h:`, expiryGraceMs }),
    eventStore: new RedisEventStore({ ...shared, maxEventsPerStream, ttlMs }),
    messageBus,
    rateLimitStore: new RedisRateLimitStore(shared),
    cacheStore: new RedisCacheStore(shared),
  };
  // `client` and `close` are not enumerable, so `mcpSession({ server, ...stores })` passes exactly the
  // six stores.
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
