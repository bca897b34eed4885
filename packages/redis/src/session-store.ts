import {
  type SessionAccess,
  type SessionRecord,
  type SessionStore,
  type StateWriteOptions,
  type StateWriteResult,
  sessionDeadline,
} from '@x/mcp-session-core';
import { z } from 'zod';
import { type RedisConnectionOptions, connectionShape, hashEntries, parseOptions } from './connection.js';
import { RedisStoreBase } from './store-base.js';
import { assertSessionId, decodeRecord, encodeRecord, isSessionId, recordTtlMs } from './keys.js';
import { DELETE, INDEX, SET_STATE, TAKE, TOUCH } from './scripts.js';

/** Options of {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions extends RedisConnectionOptions {
  /**
   * How long Redis keeps a record past its deadline, so the sweeper of some process takes it
   * (`takeExpired`, then `onSessionClosed`) before Redis drops it silently. Default 60 s; keep it well
   * above the endpoint's `sweepIntervalMs`.
   */
  expiryGraceMs?: number;
}

const optionsSchema = z.object({
  ...connectionShape,
  expiryGraceMs: z.number().int().nonnegative().default(60_000),
});

/** Records fetched per batch of parallel reads in `list`. */
const LIST_BATCH = 256;
/** Rounds of `leastRecentlyActive` that settle stale index scores before it answers with what it has. */
const LRU_ROUNDS = 8;
/** Rounds of `takeExpired`: each one takes, or moves past `now`, every candidate it read. */
const TAKE_ROUNDS = 64;

const WRITE_RESULTS: StateWriteResult[] = [
  { ok: true },
  { ok: false, reason: 'no-session' },
  { ok: false, reason: 'too-many-keys' },
  { ok: false, reason: 'too-large' },
];

function parseState(raw: string | null, now: number): string | undefined {
  if (raw === null) return undefined;
  const sep = raw.indexOf(':');
  const expiresAt = raw.slice(0, sep);
  if (expiresAt !== '' && Number(expiresAt) <= now) return undefined;
  return raw.slice(sep + 1);
}

/**
 * Session records and per-session state in Redis, shared by every process of the endpoint.
 *
 * A record is one string key holding a compact JSON header and the original `initialize`
 * (see `encodeRecord`); Redis expires it `expiryGraceMs` after its deadline, renewed on every touch.
 * `touch` is one Lua script: deadline and principal check, activity, request count and the TTLs of the
 * record, its state and its event counters, in one round trip on the session's slot.
 *
 * Two sorted sets index the sessions, by deadline (for `takeExpired`) and by last activity (for
 * `leastRecentlyActive`). They live on their own slot, so the hot path does not write them: a score is
 * a lower bound, set at `create` and raised lazily when a reader finds the record has moved on. A
 * session's deadline and activity only ever grow, so a reader never misses a session it should see.
 */
export class RedisSessionStore extends RedisStoreBase implements SessionStore {
  readonly #graceMs: number;

  constructor(options: RedisSessionStoreOptions) {
    const { client, prefix, expiryGraceMs, commandTimeoutMs, onError } = parseOptions('RedisSessionStore', optionsSchema, options);
    super({ client, prefix, commandTimeoutMs, onError });
    this.#graceMs = expiryGraceMs;
  }

  create(record: SessionRecord): Promise<void> {
    return this.connection.run('SessionStore.create', async () => {
      assertSessionId(record.id, 'SessionStore.create');
      const { client } = this.connection;
      const ttl = recordTtlMs(record, record.lastActiveAt, this.#graceMs);
      await Promise.all([
        client.set(this.keys.record(record.id), encodeRecord(record), 'PX', ttl),
        this.#index(['set', record.id, String(sessionDeadline(record)), String(record.lastActiveAt)]),
      ]);
    });
  }

  get(id: string, now: number): Promise<SessionRecord | undefined> {
    return this.connection.run('SessionStore.get', async () => {
      if (!isSessionId(id)) return undefined;
      const value = await this.connection.client.get(this.keys.record(id));
      if (value === null) return undefined;
      const record = decodeRecord(id, value);
      return sessionDeadline(record) > now ? record : undefined;
    });
  }

  touch(id: string, now: number, access?: SessionAccess): Promise<SessionRecord | undefined> {
    return this.connection.run('SessionStore.touch', async () => {
      if (!isSessionId(id)) return undefined;
      const value = await TOUCH.run(
        this.connection.client,
        [this.keys.record(id), this.keys.state(id), this.keys.streams(id)],
        [
          String(now),
          access === undefined ? '0' : '1',
          access?.principal === undefined ? '-' : `=${access.principal}`,
          access?.countRequest === true ? '1' : '0',
          this.#graceMs,
        ],
      );
      return typeof value === 'string' ? decodeRecord(id, value) : undefined;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.connection.run('SessionStore.delete', async () => {
      if (!isSessionId(id)) return false;
      const [removed] = await Promise.all([
        DELETE.run(this.connection.client, [this.keys.record(id), this.keys.state(id)], []),
        this.#index(['del', id]),
      ]);
      return removed === 1;
    });
  }

  /**
   * Reads up to `limit` candidates whose indexed deadline is due, then takes each with one script on
   * its own slot: the script removes a record past its deadline for this caller alone, and reports a
   * live one, whose index scores are then raised to its real deadline and activity.
   */
  takeExpired(now: number, limit: number): Promise<SessionRecord[]> {
    return this.connection.run(
      'SessionStore.takeExpired',
      async () => {
        const { client } = this.connection;
        const taken: SessionRecord[] = [];
        for (let round = 0; round < TAKE_ROUNDS && taken.length < limit; round++) {
          const ids = await client.zrangebyscore(this.keys.deadlines, '-inf', String(now), 'LIMIT', 0, limit - taken.length);
          if (ids.length === 0) break;
          const replies = await Promise.all(
            ids.map((id) =>
              isSessionId(id) ? TAKE.run(client, [this.keys.record(id), this.keys.state(id)], [String(now)]) : Promise.resolve([0]),
            ),
          );
          const operations: string[] = [];
          replies.forEach((reply, i) => {
            const id = ids[i]!;
            const [status, value] = reply as [number, string?];
            if (status === 2 && value !== undefined) {
              const record = decodeRecord(id, value);
              operations.push('raise', id, String(sessionDeadline(record)), String(record.lastActiveAt));
              return;
            }
            if (status === 1 && value !== undefined) taken.push(decodeRecord(id, value));
            operations.push('del', id);
          });
          await this.#index(operations);
        }
        return taken;
      },
      { slow: true },
    );
  }

  /**
   * Reads the `limit` lowest activity scores and the records behind them; scores that lag behind a
   * record are raised and the read repeated, until the scores read are the records' own.
   */
  leastRecentlyActive(limit: number): Promise<SessionRecord[]> {
    return this.connection.run(
      'SessionStore.leastRecentlyActive',
      async () => {
        const { client } = this.connection;
        let records: SessionRecord[] = [];
        for (let round = 0; round < LRU_ROUNDS; round++) {
          const ids = limit > 0 ? await client.zrange(this.keys.activity, '0', String(limit - 1)) : [];
          const values = await this.#read(ids);
          const operations: string[] = [];
          records = [];
          ids.forEach((id, i) => {
            const value = values[i];
            if (value === undefined) {
              operations.push('del', id);
              return;
            }
            const record = decodeRecord(id, value);
            records.push(record);
            operations.push('raise', id, String(sessionDeadline(record)), String(record.lastActiveAt));
          });
          if (operations.length === 0 || (await this.#index(operations)) === 0) break;
        }
        return records.sort((a, b) => a.lastActiveAt - b.lastActiveAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      },
      { slow: true },
    );
  }

  async markAlive(instanceId: string, _now: number, ttlMs: number): Promise<void> {
    await this.connection.run('SessionStore.markAlive', () =>
      this.connection.client.set(`${this.keys.instancePrefix}${instanceId}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs))),
    );
  }

  isAlive(instanceId: string): Promise<boolean> {
    return this.connection.run(
      'SessionStore.isAlive',
      async () => (await this.connection.client.exists(`${this.keys.instancePrefix}${instanceId}`)) === 1,
    );
  }

  count(): Promise<number> {
    return this.connection.run('SessionStore.count', () => this.connection.client.zcard(this.keys.deadlines));
  }

  list(): Promise<SessionRecord[]> {
    return this.connection.run(
      'SessionStore.list',
      async () => {
        const ids = await this.connection.client.zrange(this.keys.activity, '0', '-1');
        const records: SessionRecord[] = [];
        for (let start = 0; start < ids.length; start += LIST_BATCH) {
          const batch = ids.slice(start, start + LIST_BATCH);
          const values = await this.#read(batch);
          batch.forEach((id, i) => {
            const value = values[i];
            if (value !== undefined) records.push(decodeRecord(id, value));
          });
        }
        return records;
      },
      { slow: true },
    );
  }

  getState(sessionId: string, key: string, now: number): Promise<string | undefined> {
    return this.connection.run('SessionStore.getState', async () => {
      if (!isSessionId(sessionId)) return undefined;
      return parseState(await this.connection.client.hget(this.keys.state(sessionId), key), now);
    });
  }

  setState(sessionId: string, key: string, value: string, options: StateWriteOptions): Promise<StateWriteResult> {
    return this.connection.run('SessionStore.setState', async () => {
      if (!isSessionId(sessionId)) return WRITE_RESULTS[1]!;
      const expiresAt = options.ttlMs === undefined ? '' : String(options.now + options.ttlMs);
      const status = await SET_STATE.run(
        this.connection.client,
        [this.keys.record(sessionId), this.keys.state(sessionId)],
        [key, value, String(options.now), expiresAt, options.maxKeys, options.maxBytes],
      );
      return WRITE_RESULTS[Number(status)] ?? WRITE_RESULTS[1]!;
    });
  }

  deleteState(sessionId: string, key: string): Promise<boolean> {
    return this.connection.run('SessionStore.deleteState', async () => {
      if (!isSessionId(sessionId)) return false;
      return (await this.connection.client.hdel(this.keys.state(sessionId), key)) === 1;
    });
  }

  stateKeys(sessionId: string, now: number): Promise<string[]> {
    return this.connection.run('SessionStore.stateKeys', async () => {
      if (!isSessionId(sessionId)) return [];
      const entries = hashEntries(await this.connection.client.hgetall(this.keys.state(sessionId)));
      return entries.filter(([, raw]) => parseState(raw, now) !== undefined).map(([key]) => key);
    });
  }

  clearState(sessionId: string): Promise<void> {
    return this.connection.run('SessionStore.clearState', async () => {
      if (!isSessionId(sessionId)) return;
      await this.connection.client.del(this.keys.state(sessionId));
    });
  }

  async #index(operations: string[]): Promise<number> {
    if (operations.length === 0) return 0;
    return Number(await INDEX.run(this.connection.client, [this.keys.deadlines, this.keys.activity], operations));
  }

  /** The raw records of `ids` (undefined where gone), read in parallel: each key may live on another node. */
  async #read(ids: string[]): Promise<Array<string | undefined>> {
    const { client } = this.connection;
    const values = await Promise.all(ids.map((id) => (isSessionId(id) ? client.get(this.keys.record(id)) : Promise.resolve(null))));
    return values.map((value) => value ?? undefined);
  }
}
