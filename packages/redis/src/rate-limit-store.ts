import type { RateLimitResult, RateLimitStore } from '@x/mcp-session-core';
import { z } from 'zod';
import { Connection, type RedisClient, type RedisConnectionOptions, connectionShape, defaultOnError, parseOptions } from './connection.js';
import { KeyLayout } from './keys.js';
import { GCRA } from './scripts.js';

/** Options of {@link RedisRateLimitStore}. */
export type RedisRateLimitStoreOptions = RedisConnectionOptions;

const optionsSchema = z.object(connectionShape);

/**
 * Rate-limit counters in Redis: core's GCRA in one Lua script, so `consume` is one atomic round trip
 * from any process. Each key holds its theoretical arrival time and expires when that has passed.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #connection: Connection;
  readonly #keys: KeyLayout;

  constructor(options: RedisRateLimitStoreOptions) {
    const { client, prefix, commandTimeoutMs, onError } = parseOptions('RedisRateLimitStore', optionsSchema, options);
    this.#connection = new Connection(client, { commandTimeoutMs, onError: onError ?? defaultOnError });
    this.#keys = new KeyLayout(prefix);
  }

  get client(): RedisClient {
    return this.#connection.client;
  }

  get keys(): KeyLayout {
    return this.#keys;
  }

  consume(key: string, now: number, limit: number, windowMs: number): Promise<RateLimitResult> {
    return this.#connection.run('RateLimitStore.consume', async () => {
      const reply = (await GCRA.run(this.#connection.client, [this.#keys.rateLimit(key)], [String(now), limit, windowMs])) as number[];
      return { allowed: reply[0] === 1, remaining: Number(reply[1]), retryAfterMs: Number(reply[2]) };
    });
  }

  /** Closes the connection if the store opened it from a URL. */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
