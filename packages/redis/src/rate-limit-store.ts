import type { RateLimitResult, RateLimitStore } from '@x/mcp-session-core';
import { z } from 'zod';
import { type RedisConnectionOptions, connectionShape, parseOptions } from './connection.js';
import { RedisStoreBase } from './store-base.js';
import { GCRA } from './scripts.js';

/** Options of {@link RedisRateLimitStore}. */
export type RedisRateLimitStoreOptions = RedisConnectionOptions;

const optionsSchema = z.object(connectionShape);

/**
 * Rate-limit counters in Redis: core's GCRA in one Lua script, so `consume` is one atomic round trip
 * from any process. Each key holds its theoretical arrival time and expires when that has passed.
 */
export class RedisRateLimitStore extends RedisStoreBase implements RateLimitStore {
  constructor(options: RedisRateLimitStoreOptions) {
    const { client, prefix, commandTimeoutMs, onError } = parseOptions('RedisRateLimitStore', optionsSchema, options);
    super({ client, prefix, commandTimeoutMs, onError });
  }

  consume(key: string, now: number, limit: number, windowMs: number): Promise<RateLimitResult> {
    return this.connection.run('RateLimitStore.consume', async () => {
      const reply = (await GCRA.run(this.connection.client, [this.keys.rateLimit(key)], [String(now), limit, windowMs])) as number[];
      return { allowed: reply[0] === 1, remaining: Number(reply[1]), retryAfterMs: Number(reply[2]) };
    });
  }
}
