import { LRUCache } from 'lru-cache';
import type { JSONRPCMessage } from '../jsonrpc.js';
import {
  type BusMessage,
  type EventStore,
  type MessageBus,
  type SessionAccess,
  type SessionRecord,
  type SessionStore,
  type StoredEvent,
  formatEventId,
  parseEventId,
  sessionDeadline,
} from './types.js';

/**
 * Session records in this process's memory. Records are kept in order of last activity, so the least
 * recently active come first without sorting. Share one instance between endpoints to run several
 * "nodes" in one process.
 */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();

  create(record: SessionRecord): void {
    this.#records.set(record.id, { ...record });
  }

  get(id: string, now: number): SessionRecord | undefined {
    const record = this.#records.get(id);
    return record !== undefined && sessionDeadline(record) > now ? record : undefined;
  }

  touch(id: string, now: number, access?: SessionAccess): SessionRecord | undefined {
    const record = this.#records.get(id);
    if (record === undefined || sessionDeadline(record) <= now) return undefined;
    if (access !== undefined && record.principal !== access.principal) return undefined;
    record.lastActiveAt = Math.max(record.lastActiveAt, now);
    if (access?.countRequest) record.requestCount += 1;
    // Re-insert to keep the map in order of activity.
    this.#records.delete(id);
    this.#records.set(id, record);
    return record;
  }

  delete(id: string): boolean {
    return this.#records.delete(id);
  }

  takeExpired(now: number, limit: number): SessionRecord[] {
    const expired: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (expired.length >= limit) break;
      if (sessionDeadline(record) <= now) expired.push(record);
    }
    for (const record of expired) this.#records.delete(record.id);
    return expired;
  }

  leastRecentlyActive(limit: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (out.length >= limit) break;
      out.push(record);
    }
    return out;
  }

  count(): number {
    return this.#records.size;
  }

  list(): SessionRecord[] {
    return [...this.#records.values()];
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
}

/** Event log in this process's memory, bounded per stream and in total. */
export class MemoryEventStore implements EventStore {
  readonly #maxEventsPerStream: number;
  readonly #streams: LRUCache<string, StreamLog>;
  readonly #streamsBySession = new Map<string, Set<string>>();

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
      log = { sessionId, next: 1, events: [] };
      this.#streams.set(key, log);
      let keys = this.#streamsBySession.get(sessionId);
      if (keys === undefined) this.#streamsBySession.set(sessionId, (keys = new Set()));
      keys.add(key);
    }
    const id = formatEventId(streamId, log.next++);
    if (message !== null) {
      log.events.push({ id, message });
      if (log.events.length > this.#maxEventsPerStream) log.events.shift();
    }
    return id;
  }

  replayAfter(sessionId: string, lastEventId: string): { streamId: string; events: StoredEvent[] } | undefined {
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined) return undefined;
    const log = this.#streams.get(`${sessionId}\n${parsed.streamId}`);
    if (log === undefined || parsed.sequence >= log.next) return undefined;
    const events = log.events.filter((event) => (parseEventId(event.id)?.sequence ?? 0) > parsed.sequence);
    return { streamId: parsed.streamId, events };
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
