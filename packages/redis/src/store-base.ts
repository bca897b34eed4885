import { Connection, type RedisClient, defaultOnError } from './connection.js';
import { KeyLayout } from './keys.js';

/** The connection options every store's parsed options carry. */
interface StoreConnectionOptions {
  client: RedisClient | string;
  prefix: string;
  commandTimeoutMs: number;
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * What every Redis store shares: one connection (its client, the deadline on each call, where
 * errors outside a request go) and the key names under its prefix.
 */
export abstract class RedisStoreBase {
  protected readonly connection: Connection;
  readonly #keys: KeyLayout;

  protected constructor({ client, prefix, commandTimeoutMs, onError }: StoreConnectionOptions) {
    this.connection = new Connection(client, { commandTimeoutMs, onError: onError ?? defaultOnError });
    this.#keys = new KeyLayout(prefix);
  }

  /** The client the store uses. */
  get client(): RedisClient {
    return this.connection.client;
  }

  /** The key layout, for tools and tests that inspect what the store wrote. */
  get keys(): KeyLayout {
    return this.#keys;
  }

  /** Closes the connection if the store opened it from a URL. */
  close(): Promise<void> {
    return this.connection.close();
  }
}
