import { type EventStore, type JSONRPCMessage, type Replay, type StoredEvent, formatEventId, parseEventId } from '@x/mcp-session-core';
import { z } from 'zod';
import { type RedisConnectionOptions, connectionShape, parseOptions } from './connection.js';
import { RedisStoreBase } from './store-base.js';
import { isSessionId } from './keys.js';
import { APPEND, COMPLETE, REPLAY } from './scripts.js';

/** Options of {@link RedisEventStore}. */
export interface RedisEventStoreOptions extends RedisConnectionOptions {
  /** Events kept per stream for replay; the oldest is dropped (`XADD … MAXLEN =`). Default 1,000. */
  maxEventsPerStream?: number;
  /**
   * How long a stream is kept after its last event, at least. A stream also lives as long as its session
   * record when the session store shares this store's `prefix`, and `deleteSession` drops it at once.
   * Default 30 min.
   */
  ttlMs?: number;
}

const optionsSchema = z.object({
  ...connectionShape,
  maxEventsPerStream: z.number().int().positive().default(1000),
  ttlMs: z
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
});

/**
 * Per-session, per-stream event logs in Redis Streams, for `Last-Event-ID` resumption.
 *
 * Each stream of a session is one Redis Stream whose entry ids are `0-<sequence>`; a hash per session
 * maps stream ids to their last sequence. `append` is one script: it increments the sequence, adds the
 * event (`XADD … MAXLEN = maxEventsPerStream`) and renews the TTLs, so event ids `<streamId>.<sequence>`
 * grow by one per append on every process. `replayAfter` reads that one stream, from the id on.
 */
export class RedisEventStore extends RedisStoreBase implements EventStore {
  readonly #maxEvents: number;
  readonly #ttlMs: number;

  constructor(options: RedisEventStoreOptions) {
    const { client, prefix, maxEventsPerStream, ttlMs, commandTimeoutMs, onError } = parseOptions(
      'RedisEventStore',
      optionsSchema,
      options,
    );
    super({ client, prefix, commandTimeoutMs, onError });
    this.#maxEvents = maxEventsPerStream;
    this.#ttlMs = ttlMs;
  }

  append(sessionId: string, streamId: string, message: JSONRPCMessage | null): Promise<string> {
    return this.connection.run('EventStore.append', async () => {
      if (!isSessionId(sessionId)) throw new Error(`session id ${JSON.stringify(sessionId)} cannot be stored`);
      if (streamId.length === 0 || streamId.includes('.'))
        throw new Error(`stream id ${JSON.stringify(streamId)} is empty or contains a dot`);
      const sequence = await APPEND.run(
        this.connection.client,
        [this.keys.streams(sessionId), this.keys.stream(sessionId, streamId), this.keys.record(sessionId)],
        [streamId, message === null ? '' : JSON.stringify(message), this.#maxEvents, this.#ttlMs],
      );
      return formatEventId(streamId, Number(sequence));
    });
  }

  replayAfter(sessionId: string, lastEventId: string): Promise<Replay | undefined> {
    return this.connection.run('EventStore.replayAfter', async () => {
      const parsed = parseEventId(lastEventId);
      if (parsed === undefined || !isSessionId(sessionId)) return undefined;
      const { streamId, sequence } = parsed;
      const reply = await REPLAY.run(
        this.connection.client,
        [this.keys.streams(sessionId), this.keys.stream(sessionId, streamId)],
        [streamId, sequence],
      );
      if (!Array.isArray(reply)) return undefined;
      const events: StoredEvent[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) {
        events.push({ id: formatEventId(streamId, Number(reply[i])), message: JSON.parse(String(reply[i + 1])) as JSONRPCMessage });
      }
      return Number(reply[0]) === 1 ? { streamId, events, truncated: true } : { streamId, events };
    });
  }

  /**
   * The stream's response reached its client: the stream expires `keepMs` from now (Redis's clock; `now`
   * is not needed) and leaves the session's index, so a finished response costs nothing after that.
   */
  completeStream(sessionId: string, streamId: string, keepMs: number, _now: number): Promise<void> {
    return this.connection.run('EventStore.completeStream', async () => {
      if (!isSessionId(sessionId)) return;
      await COMPLETE.run(
        this.connection.client,
        [this.keys.streams(sessionId), this.keys.stream(sessionId, streamId)],
        [streamId, Math.max(0, Math.ceil(keepMs))],
      );
    });
  }

  /**
   * Two round trips: the open streams' ids, then one DEL of every key (they share the session's slot).
   * Completed streams are no longer listed; they expire on their own within `keepMs`.
   */
  deleteSession(sessionId: string): Promise<void> {
    return this.connection.run('EventStore.deleteSession', async () => {
      if (!isSessionId(sessionId)) return;
      const { client } = this.connection;
      const index = this.keys.streams(sessionId);
      // Fields with a dot are a stream's `.dropped` mark, not a stream.
      const streamIds = (await client.hkeys(index)).filter((field) => !field.includes('.'));
      await client.del(index, ...streamIds.map((streamId) => this.keys.stream(sessionId, streamId)));
    });
  }
}
