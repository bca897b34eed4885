import { LRUCache } from 'lru-cache';
import type { JSONRPCMessage } from '../protocol/jsonrpc.js';
import { formatEventId, parseEventId } from '../protocol/wire.js';
import {
  type BusMessage,
  type CacheStore,
  type CounterExpiry,
  type EventStore,
  type MessageBus,
  type RateLimitResult,
  type RateLimitStore,
  type Replay,
  type StoredEvent,
} from './types.js';

export { MemorySessionStore } from './memory-session-store.js';

/** Rate-limit counters in this process's memory (GCRA), bounded to the most recent keys. */
export class MemoryRateLimitStore implements RateLimitStore {
  /** Theoretical arrival time per key. */
  readonly #tat: LRUCache<string, number>;

  constructor({ maxKeys = 100_000 }: { maxKeys?: number } = {}) {
    this.#tat = new LRUCache<string, number>({ max: maxKeys });
  }

  consume(key: string, now: number, limit: number, windowMs: number): RateLimitResult {
    return gcra(this.#tat.get(key), now, limit, windowMs, (tat) => this.#tat.set(key, tat));
  }
}

/**
 * The generic cell rate algorithm: one request every `windowMs / limit`, with bursts of up to `limit`.
 * `store` is called with the new arrival time only when the request is allowed.
 */
export function gcra(
  storedTat: number | undefined,
  now: number,
  limit: number,
  windowMs: number,
  store: (tat: number) => void,
): RateLimitResult {
  const interval = windowMs / limit;
  const tat = Math.max(storedTat ?? now, now);
  const next = tat + interval;
  const allowAt = next - windowMs;
  if (now < allowAt) return { allowed: false, remaining: 0, retryAfterMs: Math.ceil(allowAt - now) };
  store(next);
  return { allowed: true, remaining: Math.floor((windowMs - (next - now)) / interval), retryAfterMs: 0 };
}

interface CacheEntry {
  value: string;
  expiresAt: number;
}

interface Counter {
  value: number;
  expiresAt: number;
}

/**
 * Cache entries in this process's memory, bounded (least recently used go first). Counters with an
 * expiry go when it passes (each `incr` drops a few that did); counters without one stay.
 */
export class MemoryCacheStore implements CacheStore {
  readonly #entries: LRUCache<string, CacheEntry>;
  /** In order of their last `incr`, so expired ones are found at the front. */
  readonly #counters = new Map<string, Counter>();

  constructor({ maxEntries = 10_000 }: { maxEntries?: number } = {}) {
    this.#entries = new LRUCache<string, CacheEntry>({ max: maxEntries });
  }

  get(key: string, now: number): string | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: string, ttlMs: number, now: number): void {
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
  }

  /** Removes an entry, or a counter of that name. */
  delete(key: string): void {
    this.#entries.delete(key);
    this.#counters.delete(key);
  }

  incr(key: string, expiry?: CounterExpiry): number {
    const now = expiry?.now ?? 0;
    const current = this.#counters.get(key);
    const value = (current === undefined || current.expiresAt <= now ? 0 : current.value) + 1;
    this.#counters.delete(key);
    this.#counters.set(key, { value, expiresAt: expiry === undefined ? Infinity : expiry.now + expiry.ttlMs });
    this.#dropExpired(now);
    return value;
  }

  counter(key: string, now = 0): number {
    const counter = this.#counters.get(key);
    return counter === undefined || counter.expiresAt <= now ? 0 : counter.value;
  }

  /** Drops a few counters that expired by `now`, from the least recently bumped. */
  #dropExpired(now: number): void {
    let budget = 8;
    for (const [key, counter] of this.#counters) {
      if (budget-- === 0 || counter.expiresAt > now) return;
      this.#counters.delete(key);
    }
  }
}

/** Options of {@link MemoryEventStore}. */
export interface MemoryEventStoreOptions {
  /** Events kept per stream; the oldest are dropped first. Default 1,000. */
  maxEventsPerStream?: number;
  /** Streams kept in all; the least recently written are dropped first. Default 100,000. */
  maxStreams?: number;
}

interface StreamLog {
  sessionId: string;
  next: number;
  events: StoredEvent[];
  /** The sequence of the newest event the bound dropped, 0 when none was. */
  droppedThrough: number;
}

/** Event log in this process's memory, bounded per stream and in total. */
export class MemoryEventStore implements EventStore {
  readonly #maxEventsPerStream: number;
  readonly #streams: LRUCache<string, StreamLog>;
  readonly #streamsBySession = new Map<string, Set<string>>();
  readonly #completed: Array<{ key: string; deadline: number }> = [];
  #completedHead = 0;

  constructor({ maxEventsPerStream = 1000, maxStreams = 100_000 }: MemoryEventStoreOptions = {}) {
    this.#maxEventsPerStream = maxEventsPerStream;
    this.#streams = new LRUCache<string, StreamLog>({
      max: maxStreams,
      dispose: (log, key) => this.#forget(log.sessionId, key),
    });
  }

  append(sessionId: string, streamId: string, message: JSONRPCMessage | null): string {
    const key = `${sessionId}\n${streamId}`;
    let log = this.#streams.get(key);
    if (log === undefined) {
      log = { sessionId, next: 1, events: [], droppedThrough: 0 };
      this.#streams.set(key, log);
      let keys = this.#streamsBySession.get(sessionId);
      if (keys === undefined) this.#streamsBySession.set(sessionId, (keys = new Set()));
      keys.add(key);
    }
    const id = formatEventId(streamId, log.next++);
    if (message !== null) {
      log.events.push({ id, message });
      if (log.events.length > this.#maxEventsPerStream) {
        const dropped = log.events.shift()!;
        log.droppedThrough = parseEventId(dropped.id)?.sequence ?? log.droppedThrough;
      }
    }
    return id;
  }

  replayAfter(sessionId: string, lastEventId: string): Replay | undefined {
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined) return undefined;
    const log = this.#streams.get(`${sessionId}\n${parsed.streamId}`);
    if (log === undefined || parsed.sequence >= log.next) return undefined;
    const events = log.events.filter((event) => (parseEventId(event.id)?.sequence ?? 0) > parsed.sequence);
    return parsed.sequence < log.droppedThrough
      ? { streamId: parsed.streamId, events, truncated: true }
      : { streamId: parsed.streamId, events };
  }

  completeStream(sessionId: string, streamId: string, keepMs: number, now: number): void {
    // Completions arrive in time order, so a queue drained from the front expires them.
    this.#completed.push({ key: `${sessionId}\n${streamId}`, deadline: now + keepMs });
    while (this.#completedHead < this.#completed.length && this.#completed[this.#completedHead]!.deadline <= now) {
      this.#streams.delete(this.#completed[this.#completedHead++]!.key);
    }
    if (this.#completedHead > 1024 && this.#completedHead * 2 > this.#completed.length) {
      this.#completed.splice(0, this.#completedHead);
      this.#completedHead = 0;
    }
  }

  deleteSession(sessionId: string): void {
    const keys = this.#streamsBySession.get(sessionId);
    if (keys === undefined) return;
    this.#streamsBySession.delete(sessionId);
    for (const key of keys) this.#streams.delete(key);
  }

  #forget(sessionId: string, key: string): void {
    const keys = this.#streamsBySession.get(sessionId);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#streamsBySession.delete(sessionId);
  }
}

/**
 * Publish/subscribe inside one process. Messages are cloned, as they would be on a network, so a
 * handler never shares objects with the publisher.
 */
export class MemoryMessageBus implements MessageBus {
  readonly #handlers = new Map<string, Set<(message: BusMessage) => void>>();

  publish(topic: string, message: BusMessage): void {
    const handlers = this.#handlers.get(topic);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      const copy = structuredClone(message);
      queueMicrotask(() => handler(copy));
    }
  }

  subscribe(topic: string, handler: (message: BusMessage) => void): () => void {
    let handlers = this.#handlers.get(topic);
    if (handlers === undefined) this.#handlers.set(topic, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      const set = this.#handlers.get(topic);
      if (set === undefined) return;
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(topic);
    };
  }

  /** Topics with at least one subscriber (for tests and leak checks). */
  get topicCount(): number {
    return this.#handlers.size;
  }
}
