import type { RevocationStore } from '@x/mcp-session-core';
import { z } from 'zod';
import { type RedisConnectionOptions, connectionShape, parseOptions } from './connection.js';
import { RedisStoreBase } from './store-base.js';
import { assertSessionId, isSessionId } from './keys.js';
import { REVOKE } from './scripts.js';

/** Options of {@link RedisRevocationStore}. */
export type RedisRevocationStoreOptions = RedisConnectionOptions;

const optionsSchema = z.object(connectionShape);

/**
 * The denylist of session tokens in Redis, shared by every process: a session ended through one
 * process (DELETE, `terminate`, eviction) is refused by all of them until its token expires. One key
 * per revoked session, `rv:{<id>}`, holding until when (in the caller's clock) and expiring then;
 * `revoke` is one atomic script, `isRevoked` one `GET`.
 *
 * Useful with `tokenKeys` when the session store is not Redis (sessions on the keys alone, every
 * other store in memory): with a Redis session store, that store already decides which sessions exist.
 *
 * @example
 * ```ts
 * mcpSession({ server, tokenKeys, revocationStore: new RedisRevocationStore({ client: process.env.REDIS_URL! }) });
 * ```
 */
export class RedisRevocationStore extends RedisStoreBase implements RevocationStore {
  constructor(options: RedisRevocationStoreOptions) {
    const { client, prefix, commandTimeoutMs, onError } = parseOptions('RedisRevocationStore', optionsSchema, options);
    super({ client, prefix, commandTimeoutMs, onError });
  }

  revoke(sessionId: string, untilMs: number, now: number): Promise<boolean> {
    return this.connection.run('RevocationStore.revoke', async () => {
      assertSessionId(sessionId, 'RevocationStore.revoke');
      if (!(untilMs > now)) return false;
      const listed = await REVOKE.run(this.connection.client, [this.keys.revocation(sessionId)], [String(untilMs), String(now)]);
      return listed === 1;
    });
  }

  isRevoked(sessionId: string, now: number): Promise<boolean> {
    return this.connection.run('RevocationStore.isRevoked', async () => {
      if (!isSessionId(sessionId)) return false;
      const until = await this.connection.client.get(this.keys.revocation(sessionId));
      return until !== null && Number(until) > now;
    });
  }
}
