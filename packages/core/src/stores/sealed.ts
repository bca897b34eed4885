/**
 * Encryption at rest for every store: with `encryptionKeys` set, what the stores keep is sealed
 * before it leaves the process and opened when it comes back, each value bound to where it belongs
 * (a session and state key, a session's stream, a cache key, a bus topic): state values, the stored
 * `initialize`, events, cache entries and bus messages. A value that is not sealed is refused unless
 * `acceptUnsealed` (reading data written before keys were set). Index fields a store must read to
 * work (times, the principal) stay readable.
 */
import type { Sealer } from '../crypto.js';
import { McpSessionError } from '../errors.js';
import type { JSONRPCMessage } from '../protocol/jsonrpc.js';
import type { BusMessage, CacheStore, EventStore, MessageBus, SessionRecord, SessionStore, StoredEvent } from './types.js';

export interface Sealing {
  readonly sealer: Sealer;
  readonly acceptUnsealed: boolean;
  /** Hears what could not be opened (tampered, another key, not sealed): the callers see a miss or a generic error. */
  readonly reportError: (error: unknown) => void;
}

/** Where a sealed `initialize` sits in a record's params. */
const SEALED_PARAMS = 'io.mcp-session/sealed';
/** The method of an event whose message is sealed. */
const SEALED_EVENT = 'io.mcp-session/sealed';

function sealRecord(record: SessionRecord, { sealer }: Sealing): SessionRecord {
  const sealed = sealer.seal(JSON.stringify(record.initialize.params), `record\n${record.id}`);
  return { ...record, initialize: { id: record.initialize.id, params: { [SEALED_PARAMS]: sealed } } };
}

/** The record as created; undefined when its `initialize` cannot be opened (reported). */
function openRecord(record: SessionRecord, sealing: Sealing): SessionRecord | undefined {
  const sealed = record.initialize.params[SEALED_PARAMS];
  try {
    if (typeof sealed !== 'string') return unsealed(record, sealing, 'a session record');
    const params = JSON.parse(sealing.sealer.open(sealed, `record\n${record.id}`)) as Record<string, unknown>;
    return { ...record, initialize: { id: record.initialize.id, params } };
  } catch (error) {
    sealing.reportError(error);
    return undefined;
  }
}

/** A value stored before keys were set: let through with `acceptUnsealed`, refused otherwise. */
function unsealed<T>(value: T, sealing: Sealing, what: string): T {
  if (sealing.acceptUnsealed) return value;
  throw new McpSessionError('ERR_MCP_SESSION_SEALED', `${what} is not sealed, and encryptionKeys are set (see acceptUnsealed)`);
}

/** Records read for housekeeping (expiry, listings) still end and list when they cannot be opened. */
function openOrBare(record: SessionRecord, sealing: Sealing): SessionRecord {
  return openRecord(record, sealing) ?? { ...record, initialize: { id: record.initialize.id, params: {} } };
}

const stateContext = (sessionId: string, key: string) => `${sessionId}\n${key}`;

export function sealedSessionStore(store: SessionStore, sealing: Sealing): SessionStore {
  const { sealer, acceptUnsealed } = sealing;
  const sealed: SessionStore = {
    create: (record) => store.create(sealRecord(record, sealing)),
    get: async (id, now) => {
      const record = await store.get(id, now);
      return record === undefined ? undefined : openRecord(record, sealing);
    },
    touch: async (id, now, access) => {
      const record = await store.touch(id, now, access);
      return record === undefined ? undefined : openRecord(record, sealing);
    },
    delete: (id) => store.delete(id),
    takeExpired: async (now, limit) => (await store.takeExpired(now, limit)).map((record) => openOrBare(record, sealing)),
    leastRecentlyActive: async (limit) => (await store.leastRecentlyActive(limit)).map((record) => openOrBare(record, sealing)),
    count: () => store.count(),
    list: async () => (await store.list()).map((record) => openOrBare(record, sealing)),
    getState: async (sessionId, key, now) => {
      const value = await store.getState(sessionId, key, now);
      return value === undefined ? undefined : sealer.open(value, stateContext(sessionId, key), acceptUnsealed);
    },
    setState: (sessionId, key, value, options) => store.setState(sessionId, key, sealer.seal(value, stateContext(sessionId, key)), options),
    deleteState: (sessionId, key) => store.deleteState(sessionId, key),
    stateKeys: (sessionId, now) => store.stateKeys(sessionId, now),
    clearState: (sessionId) => store.clearState(sessionId),
  };
  if (store.markAlive !== undefined) sealed.markAlive = store.markAlive.bind(store);
  if (store.isAlive !== undefined) sealed.isAlive = store.isAlive.bind(store);
  return sealed;
}

export function sealedEventStore(store: EventStore, sealing: Sealing): EventStore {
  const { sealer } = sealing;
  const context = (sessionId: string, streamId: string) => `events\n${sessionId}\n${streamId}`;
  const open = (sessionId: string, streamId: string, event: StoredEvent): StoredEvent[] => {
    const message = event.message as { method?: string; params?: { sealed?: unknown } };
    try {
      if (message.method !== SEALED_EVENT || typeof message.params?.sealed !== 'string') return [unsealed(event, sealing, 'an event')];
      return [{ id: event.id, message: JSON.parse(sealer.open(message.params.sealed, context(sessionId, streamId))) as JSONRPCMessage }];
    } catch (error) {
      // An event that does not open is not replayed.
      sealing.reportError(error);
      return [];
    }
  };
  const sealed: EventStore = {
    append: (sessionId, streamId, message) =>
      store.append(
        sessionId,
        streamId,
        message === null
          ? null
          : {
              jsonrpc: '2.0',
              method: SEALED_EVENT,
              params: { sealed: sealer.seal(JSON.stringify(message), context(sessionId, streamId)) },
            },
      ),
    replayAfter: async (sessionId, lastEventId) => {
      const replay = await store.replayAfter(sessionId, lastEventId);
      if (replay === undefined) return undefined;
      return { ...replay, events: replay.events.flatMap((event) => open(sessionId, replay.streamId, event)) };
    },
    deleteSession: (sessionId) => store.deleteSession(sessionId),
  };
  if (store.completeStream !== undefined) sealed.completeStream = store.completeStream.bind(store);
  return sealed;
}

export function sealedCacheStore(store: CacheStore, sealing: Sealing): CacheStore {
  const { sealer, acceptUnsealed } = sealing;
  return {
    get: async (key, now) => {
      const value = await store.get(key, now);
      if (value === undefined) return undefined;
      try {
        return sealer.open(value, `cache\n${key}`, acceptUnsealed);
      } catch (error) {
        // An entry that does not open is a miss: the server answers.
        sealing.reportError(error);
        return undefined;
      }
    },
    set: (key, value, ttlMs, now) => store.set(key, sealer.seal(value, `cache\n${key}`), ttlMs, now),
    delete: (key) => store.delete(key),
    incr: (key, expiry) => store.incr(key, expiry),
    counter: (key, now) => store.counter(key, now),
  };
}

export function sealedMessageBus(bus: MessageBus, sealing: Sealing): MessageBus {
  const { sealer, acceptUnsealed } = sealing;
  return {
    publish: (topic, message) => bus.publish(topic, { kind: 'sealed', sealed: sealer.seal(JSON.stringify(message), `bus\n${topic}`) }),
    subscribe: (topic, handler) =>
      bus.subscribe(topic, (message) => {
        if (message.kind !== 'sealed' && !acceptUnsealed) {
          sealing.reportError(new Error(`a bus message on ${topic} is not sealed, and encryptionKeys are set: dropped`));
          return;
        }
        let opened: BusMessage;
        try {
          opened = message.kind === 'sealed' ? (JSON.parse(sealer.open(message.sealed, `bus\n${topic}`)) as BusMessage) : message;
        } catch (error) {
          sealing.reportError(error);
          return;
        }
        handler(opened);
      }),
  };
}
