import type { CacheStore, CounterExpiry } from '@x/mcp-session-core';
import { z } from 'zod';
import { type RedisConnectionOptions, connectionShape, parseOptions } from './connection.js';
import { RedisStoreBase } from './store-base.js';
import { INCR_EXPIRE } from './scripts.js';

/** Options of {@link RedisCacheStore}. */
export type RedisCacheStoreOptions = RedisConnectionOptions;

const optionsSchema = z.object(connectionShape);

/**
 * Response-cache entries and generation counters in Redis. An entry is `PSETEX`'d with its TTL and
 * also carries its deadline in the caller's clock, so `get(key, now)` honours `now` like the memory
 * store does. Counters are `INCR` keys, expiring when `incr` is given an expiry.
 */
export class RedisCacheStore extends RedisStoreBase implements CacheStore {
  constructor(options: RedisCacheStoreOptions) {
    const { client, prefix, commandTimeoutMs, onError } = parseOptions('RedisCacheStore', optionsSchema, options);
    super({ client, prefix, commandTimeoutMs, onError });
  }

  get(key: string, now: number): Promise<string | undefined> {
    return this.connection.run('CacheStore.get', async () => {
      const raw = await this.connection.client.get(this.keys.cacheEntry(key));
      if (raw === null) return undefined;
      const sep = raw.indexOf(':');
      return Number(raw.slice(0, sep)) > now ? raw.slice(sep + 1) : undefined;
    });
  }

  set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    return this.connection.run('CacheStore.set', async () => {
      const ttl = Math.ceil(ttlMs);
      if (!(ttl > 0)) {
        await this.connection.client.del(this.keys.cacheEntry(key));
        return;
      }
      await this.connection.client.psetex(this.keys.cacheEntry(key), ttl, `${now + ttlMs}:${value}`);
    });
  }

  /** Removes an entry, or a counter of that name (two keys, possibly on two nodes: two DELs at once). */
  delete(key: string): Promise<void> {
    return this.connection.run('CacheStore.delete', async () => {
      const { client } = this.connection;
      await Promise.all([client.del(this.keys.cacheEntry(key)), client.del(this.keys.cacheCounter(key))]);
    });
  }

  /**
   * Without `expiry`, a plain `INCR`. With it, one script keeps "<expiresAt>:<value>" with a TTL, so
   * `counter(key, now)` honours `now` as entries do.
   */
  incr(key: string, expiry?: CounterExpiry): Promise<number> {
    return this.connection.run('CacheStore.incr', async () => {
      const counter = this.keys.cacheCounter(key);
      if (expiry === undefined) return this.connection.client.incr(counter);
      const ttl = Math.max(1, Math.ceil(expiry.ttlMs));
      return Number(await INCR_EXPIRE.run(this.connection.client, [counter], [ttl, expiry.now, expiry.now + expiry.ttlMs]));
    });
  }

  counter(key: string, now?: number): Promise<number> {
    return this.connection.run('CacheStore.counter', async () => {
      const raw = await this.connection.client.get(this.keys.cacheCounter(key));
      if (raw === null) return 0;
      const sep = raw.indexOf(':');
      if (sep === -1) return Number(raw);
      return now !== undefined && Number(raw.slice(0, sep)) <= now ? 0 : Number(raw.slice(sep + 1));
    });
  }
}
