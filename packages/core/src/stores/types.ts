import type { JSONRPCMessage, JSONRPCNotification, RequestId } from '../protocol/jsonrpc.js';

/** A value, or a promise of it: memory stores answer synchronously, remote stores asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/** What a session store keeps about one legacy (2025-11-25 and earlier) session. Times are epoch milliseconds. */
export interface SessionRecord {
  /** The `MCP-Session-Id`. */
  id: string;
  /** The protocol version negotiated at `initialize`. */
  protocolVersion: string;
  /** The original `initialize` request, replayed to rebuild the session's server on any process. */
  initialize: { id: RequestId; params: Record<string, unknown> };
  /** The principal that initialized the session, when the request was authenticated. */
  principal?: string;
  createdAt: number;
  lastActiveAt: number;
  /** Requests received in this session (the initialize request counts). */
  requestCount: number;
  /** Idle time after which the session ends. */
  idleTimeoutMs: number;
  /** Absolute deadline (`createdAt + maxLifetimeMs`), when a maximum lifetime is set. */
  expiresAt?: number;
}

/** Who is using a session, for {@link SessionStore.touch}. */
export interface SessionAccess {
  principal: string | undefined;
  countRequest: boolean;
}

/** Why a session ended. */
export type SessionCloseReason = 'deleted' | 'idle' | 'expired' | 'evicted' | 'shutdown';

/** When a record is due to end: the earlier of its idle and absolute deadlines. */
export function sessionDeadline(record: SessionRecord): number {
  const idle = record.lastActiveAt + record.idleTimeoutMs;
  return record.expiresAt === undefined ? idle : Math.min(idle, record.expiresAt);
}

/** `expired` when the absolute lifetime ran out, `idle` otherwise. */
export function expiryReason(record: SessionRecord, now: number): 'idle' | 'expired' {
  return record.expiresAt !== undefined && record.expiresAt <= now ? 'expired' : 'idle';
}

/**
 * Session records, shared by every process that serves the endpoint.
 * Every method that two processes can race on is atomic.
 */
export interface SessionStore {
  /** Stores a new record. */
  create(record: SessionRecord): Awaitable<void>;
  /** The record, or undefined when unknown or past its deadline at `now`. */
  get(id: string, now: number): Awaitable<SessionRecord | undefined>;
  /**
   * Marks activity at `now`. With `access` (a client's request), the session must be bound to
   * `access.principal` (undefined matches only an unbound session) and, when `countRequest` is set, one
   * request is counted; a mismatch changes nothing. Returns the updated record, or undefined when the
   * session is unknown, past its deadline, or bound to another principal.
   */
  touch(id: string, now: number, access?: SessionAccess): Awaitable<SessionRecord | undefined>;
  /** Removes the record. Resolves true for the one caller that removed it. */
  delete(id: string): Awaitable<boolean>;
  /** Removes and returns up to `limit` records past their deadline at `now`; each goes to exactly one caller. */
  takeExpired(now: number, limit: number): Awaitable<SessionRecord[]>;
  /** Up to `limit` records, least recently active first. */
  leastRecentlyActive(limit: number): Awaitable<SessionRecord[]>;
  /** How many sessions are held. */
  count(): Awaitable<number>;
  /** Every record held (for admin listings; not used on a request path). */
  list(): Awaitable<SessionRecord[]>;

  /**
   * Heartbeat of a process instance: alive until `now + ttlMs`. With {@link isAlive} it lets a process
   * tell that a request's owner died, and answer the client instead of leaving it waiting.
   */
  markAlive?(instanceId: string, now: number, ttlMs: number): Awaitable<void>;
  /** Whether the instance's last heartbeat is still current at `now`. */
  isAlive?(instanceId: string, now: number): Awaitable<boolean>;

  /**
   * Per-session state. Values are opaque strings (serialised, possibly sealed, JSON); a value with a
   * `ttlMs` is gone after that long. State ends with its session: `delete` removes it too.
   */
  getState(sessionId: string, key: string, now: number): Awaitable<string | undefined>;
  /**
   * Writes one value atomically within the limits: the write is refused, changing nothing, when it
   * would take the session past `maxKeys` keys or `maxBytes` bytes of keys and values, or when the
   * session does not exist.
   */
  setState(sessionId: string, key: string, value: string, options: StateWriteOptions): Awaitable<StateWriteResult>;
  /** Removes a key; true when it existed. */
  deleteState(sessionId: string, key: string): Awaitable<boolean>;
  /** The keys that hold a live value at `now`. */
  stateKeys(sessionId: string, now: number): Awaitable<string[]>;
  /** Removes every key of a session. */
  clearState(sessionId: string): Awaitable<void>;
}

/** Options of {@link SessionStore.setState}. */
export interface StateWriteOptions {
  now: number;
  /** The value expires this long after `now`. */
  ttlMs?: number;
  maxKeys: number;
  maxBytes: number;
}

/** The outcome of {@link SessionStore.setState}. */
export type StateWriteResult = { ok: true } | { ok: false; reason: 'no-session' | 'too-many-keys' | 'too-large' };

/** What {@link EventStore.replayAfter} found. */
export interface Replay {
  streamId: string;
  events: StoredEvent[];
  /** Events after the given id were dropped by the store's bound: the client missed them. */
  truncated?: boolean;
}

/** One stored SSE event. */
export interface StoredEvent {
  id: string;
  message: JSONRPCMessage;
}

/**
 * Per-session, per-stream event log for `Last-Event-ID` resumption. Event ids name their stream, so a
 * replay never crosses streams; every stream is bounded and ends with its session.
 */
export interface EventStore {
  /**
   * Appends a message to a stream and returns its event id. `null` stores a marker that takes an id but
   * is never replayed: the priming event that opens a stream.
   */
  append(sessionId: string, streamId: string, message: JSONRPCMessage | null): Awaitable<string>;
  /**
   * The events of the stream that `lastEventId` belongs to, after it, in order, as far as the stream's
   * bound still holds them: `truncated` is true when events after `lastEventId` were dropped.
   * Undefined when the id is malformed or unknown in this session.
   */
  replayAfter(sessionId: string, lastEventId: string): Awaitable<Replay | undefined>;
  /** Drops every stream of a session. */
  deleteSession(sessionId: string): Awaitable<void>;
  /**
   * The stream's response reached a connected client: keep its log only `keepMs` longer (for a client
   * that resumes anyway), instead of for the rest of the session.
   */
  completeStream?(sessionId: string, streamId: string, keepMs: number, now: number): Awaitable<void>;
}

/** The outcome of {@link RateLimitStore.consume}. */
export interface RateLimitResult {
  allowed: boolean;
  /** Requests still allowed right now. */
  remaining: number;
  /** When refused: how long until one more request is allowed. 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Counters for rate limits: GCRA (a smooth sliding window) with `limit` requests per `windowMs` and a
 * burst of `limit`. `consume` is atomic across processes.
 */
export interface RateLimitStore {
  consume(key: string, now: number, limit: number, windowMs: number): Awaitable<RateLimitResult>;
}

/**
 * Values with a time to live, for the response cache. `incr` keeps generation counters, so a whole
 * family of entries is invalidated by bumping one number instead of finding every key.
 */
export interface CacheStore {
  get(key: string, now: number): Awaitable<string | undefined>;
  set(key: string, value: string, ttlMs: number, now: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
  /**
   * Adds one to a counter (0 when absent) and returns the new value. With `expiry`, the counter is
   * gone (0 again) `ttlMs` after `now`, renewed by each `incr`; without, it never expires.
   */
  incr(key: string, expiry?: CounterExpiry): Awaitable<number>;
  /** The counter's value at `now`, 0 when absent or expired. */
  counter(key: string, now?: number): Awaitable<number>;
}

/** When a counter expires: `ttlMs` after `now`. */
export interface CounterExpiry {
  ttlMs: number;
  now: number;
}

/** A message between processes. Must be JSON-serialisable. */
export type BusMessage =
  | { kind: 'client-message'; sessionId: string; message: JSONRPCMessage }
  | { kind: 'event'; sessionId: string; streamId: string; eventId: string; message: JSONRPCMessage }
  | { kind: 'stream-taken'; sessionId: string; streamId: string; holder: string }
  | { kind: 'terminated'; sessionId: string }
  | { kind: 'broadcast'; message: JSONRPCMessage; filter?: BroadcastFilter }
  /** A list or a resource changed, for the `subscriptions/listen` streams of every process. */
  | { kind: 'change'; message: JSONRPCNotification }
  /** Any of the above, sealed with the endpoint's `encryptionKeys`. */
  | { kind: 'sealed'; sealed: string };

/** Which sessions a broadcast reaches; every condition given must hold. */
export interface BroadcastFilter {
  /** Only sessions bound to this principal. */
  principal?: string;
  /** Only these sessions. */
  sessionIds?: string[];
  /** Not these sessions (the sender, say). */
  excludeSessionIds?: string[];
  /** Only sessions whose state holds this key (a group they joined). */
  hasStateKey?: string;
}

/** Publish/subscribe between the processes that share the stores. Delivery is at most once. */
export interface MessageBus {
  publish(topic: string, message: BusMessage): Awaitable<void>;
  /** Subscribes a handler; resolves to the function that removes it. */
  subscribe(topic: string, handler: (message: BusMessage) => void): Awaitable<() => Awaitable<void>>;
}
