/**
 * The session manager: creates sessions, resolves a request's session with the principal check, and
 * owns the one path that ends a session — whatever ends it (DELETE, the admin `terminate`, eviction,
 * idle or absolute expiry, shutdown) — releasing everything the session holds here, telling every
 * other process, and running the hooks.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { LRUCache } from 'lru-cache';
import { type Checked, type Refusal, refusal, tooManyRequests } from '../http/refusal.js';
import type { Metrics } from '../metrics.js';
import type { JSONRPCRequest } from '../protocol/jsonrpc.js';
import { sessionTag } from '../log.js';
import { requestedVersion } from '../protocol/versions.js';
import {
  type EventStore,
  type RateLimitStore,
  type SessionCloseReason,
  type SessionRecord,
  type SessionStore,
  expiryReason,
} from '../stores/types.js';
import type { Clock, Logger, McpSession } from '../types.js';
import { type HandleRuntime, sessionHandle } from './handle.js';
import type { SessionIdStrategy } from './ids.js';
import type { StateRuntime } from './state.js';
import type { TokenSessions } from './token-sessions.js';

/** Expired records taken from the store per call. */
const EXPIRED_BATCH = 500;
/** Eviction candidates looked at per new session at `maxSessions`. */
const EVICTION_CANDIDATES = 16;
/** Ended sessions remembered, so cleanup registered after the end still runs. */
const RECENTLY_ENDED = 10_000;

/** What a session holds on this process besides its record (streams, a live server). */
export interface SessionResources {
  /** A client is attached or a request is in flight: not a session to evict. */
  isBusy(sessionId: string): boolean;
  /** Ends the session's streams (with a retry hint when given) and drops its server here. */
  release(sessionId: string, retryMs?: number): Promise<void>;
}

export interface SessionManagerSettings {
  readonly store: SessionStore;
  /** True when the store is this endpoint's own memory store: its sessions end with the endpoint. */
  readonly ownsStore: boolean;
  readonly eventStore: EventStore | null;
  readonly ids: SessionIdStrategy;
  /** With `tokenKeys`: sessions whose id is a token (and `ids` is its strategy). */
  readonly tokens?: TokenSessions;
  readonly clock: Clock;
  readonly state: Omit<StateRuntime, 'store' | 'clock'>;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number | undefined;
  readonly maxSessions: number;
  readonly onMaxSessions: 'reject' | 'evict-lru';
  /** New sessions a minute per principal (anonymous: per client address); 0 for no limit. */
  readonly sessionCreationLimit: number;
  readonly rateLimitStore: RateLimitStore;
  readonly sweepIntervalMs: number;
  readonly onSessionCreated: ((session: McpSession) => void | Promise<void>) | undefined;
  readonly onSessionClosed: ((session: McpSession, reason: SessionCloseReason) => void | Promise<void>) | undefined;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly reportError: (error: unknown) => void;
  /** Tells every other process that the session ended (the cluster module publishes it). */
  readonly announceEnded: (sessionId: string) => void | Promise<void>;
}

export class SessionManager {
  readonly store: SessionStore;
  readonly #settings: SessionManagerSettings;
  readonly #resources: SessionResources;
  readonly #runtime: HandleRuntime;
  /** Cleanup registered with `session.onClose`, by session, on this process. */
  readonly #disposers = new Map<string, Set<() => void | Promise<void>>>();
  /** New sessions that hold room under `maxSessions` until they are stored or given up. */
  readonly #reserved = new Set<string>();
  /** Sessions that ended lately: cleanup registered for one of them (a tool still running) runs at once. */
  readonly #recentlyEnded = new LRUCache<string, true>({ max: RECENTLY_ENDED });

  constructor(settings: SessionManagerSettings, resources: SessionResources) {
    this.#settings = settings;
    this.#resources = resources;
    this.store = settings.store;
    this.#runtime = {
      ...settings.state,
      store: settings.store,
      clock: settings.clock,
      onClose: (sessionId, cleanup) => {
        if (this.#recentlyEnded.has(sessionId)) {
          queueMicrotask(() => void this.#runCleanup(cleanup));
          return () => undefined;
        }
        let set = this.#disposers.get(sessionId);
        if (set === undefined) this.#disposers.set(sessionId, (set = new Set()));
        set.add(cleanup);
        return () => void this.#disposers.get(sessionId)?.delete(cleanup);
      },
    };
  }

  /** A handle over a record read through `getRecord`, so it shows later touches on this process. */
  handle(sessionId: string, getRecord: () => SessionRecord): McpSession {
    return sessionHandle(sessionId, getRecord, this.#runtime);
  }

  /** A handle over a record as it is now. */
  view(record: SessionRecord): McpSession {
    return sessionHandle(record.id, () => record, this.#runtime);
  }

  /**
   * The record of a new session an `initialize` asks for, with room held for it under `maxSessions`
   * until it is saved or given up (a session is stored only once its server answered): concurrent
   * initializes cannot overshoot the limit on one process. Or the 503 when there is no room.
   */
  async reserve(
    initialize: JSONRPCRequest,
    principal: string | undefined,
    address: string,
  ): Promise<Checked<{ record: SessionRecord; initialize: JSONRPCRequest }>> {
    const { maxSessions, onMaxSessions, sweepIntervalMs, tokens } = this.#settings;
    // A token session keeps, and its servers see, only what its token carries.
    const carried = tokens?.carry(initialize.params ?? {});
    if (carried?.ok === false) return carried;
    const paced = await this.#paceCreation(principal, address);
    if (paced !== undefined) return paced;
    if ((await this.store.count()) + this.#reserved.size >= maxSessions) {
      let room = false;
      if (onMaxSessions === 'evict-lru') {
        for (const candidate of await this.store.leastRecentlyActive(EVICTION_CANDIDATES)) {
          if (this.#reserved.has(candidate.id) || this.#resources.isBusy(candidate.id)) continue;
          if (await this.end(candidate, 'evicted')) {
            room = true;
            break;
          }
        }
      }
      if (!room) {
        return refusal(503, JsonRpcErrorCode.ServerError, 'Service Unavailable: too many sessions', {
          headers: { 'retry-after': String(Math.ceil(sweepIntervalMs / 1000)) },
        });
      }
    }
    const record = this.#newRecord(initialize, principal, carried?.params);
    this.#reserved.add(record.id);
    return { ok: true, record, initialize: carried === undefined ? initialize : { ...initialize, params: carried.params } };
  }

  /** Whether a session's `MCP-Session-Id` is a token (issued by {@link save} once its server answered). */
  get usesTokens(): boolean {
    return this.#settings.tokens !== undefined;
  }

  /** Whether a client's session id can be one of ours (checked before any store work). */
  isWellFormed(sessionId: string): boolean {
    return this.#settings.ids.isWellFormed(sessionId);
  }

  /**
   * `sessionCreationLimit` sessions a minute per principal, or per client address for anonymous
   * clients: opening sessions buys no quota and no memory.
   */
  async #paceCreation(principal: string | undefined, address: string): Promise<Refusal | undefined> {
    const { sessionCreationLimit, rateLimitStore, clock } = this.#settings;
    if (sessionCreationLimit === 0) return undefined;
    const who = principal === undefined ? `a:n:${address}` : `p:${principal}`;
    const result = await rateLimitStore.consume(`rl:sessions:${who}`, clock.now(), sessionCreationLimit, 60_000);
    if (result.allowed) return undefined;
    return tooManyRequests('too many new sessions', result.retryAfterMs);
  }

  /** Stores a reserved session's record; it exists from now on. Resolves to its `MCP-Session-Id`; throws when the store does. */
  async save(record: SessionRecord): Promise<string> {
    try {
      await this.store.create(record);
    } finally {
      this.#reserved.delete(record.id);
    }
    return this.#settings.tokens?.issue(record) ?? record.id;
  }

  /** A reserved session will not be stored (its initialize failed): its room is free again. */
  release(record: SessionRecord): void {
    this.#reserved.delete(record.id);
  }

  #newRecord(initialize: JSONRPCRequest, principal: string | undefined, params = initialize.params ?? {}): SessionRecord {
    const { clock, ids, idleTimeoutMs, maxLifetimeMs } = this.#settings;
    const now = clock.now();
    const record: SessionRecord = {
      id: ids.mint(),
      protocolVersion: requestedVersion(params),
      initialize: { id: initialize.id, params },
      principal,
      createdAt: now,
      lastActiveAt: now,
      requestCount: 1,
      idleTimeoutMs,
    };
    if (maxLifetimeMs !== undefined) record.expiresAt = now + maxLifetimeMs;
    return record;
  }

  /** Counts, logs and announces a session whose `initialize` was answered. */
  async created(record: SessionRecord, session: McpSession): Promise<void> {
    this.#settings.metrics.sessionsCreated += 1;
    // Logs carry a short hash of the id: it tells sessions apart, and cannot be used as one.
    this.#settings.log.info(
      { session: sessionTag(record.id), protocolVersion: record.protocolVersion, principal: record.principal },
      'mcp-session: session created',
    );
    this.#settings.log.debug({ sessionId: record.id, session: sessionTag(record.id) }, 'mcp-session: session id');
    try {
      await this.#settings.onSessionCreated?.(session);
    } catch (error) {
      this.#settings.reportError(error);
    }
  }

  /**
   * The session of a client's request, marked active (and a request counted, when it carries one).
   * Undefined when it is unknown, ended, or bound to another principal: all look the same from outside.
   */
  async resolve(sessionId: string, principal: string | undefined, countRequest: boolean): Promise<SessionRecord | undefined> {
    const { tokens, clock } = this.#settings;
    if (tokens !== undefined) return tokens.resolve(sessionId, principal, countRequest, clock.now());
    return this.store.touch(sessionId, clock.now(), { principal, countRequest });
  }

  /** The session a client asks to end, when it is bound to `principal`; nothing marked active. */
  async owned(sessionId: string, principal: string | undefined): Promise<SessionRecord | undefined> {
    const { tokens, clock } = this.#settings;
    if (tokens !== undefined) return tokens.owned(sessionId, principal, clock.now());
    const record = await this.get(sessionId);
    return record?.principal === principal ? record : undefined;
  }

  /** The record held in the store, without marking activity; by session id (or, with tokens, by token too). */
  async get(sessionId: string): Promise<SessionRecord | undefined> {
    return this.store.get(this.#settings.tokens?.sessionIdOf(sessionId) ?? sessionId, this.#settings.clock.now());
  }

  /** Ends a session as DELETE would (the admin `terminate`); with tokens, also one this process holds no record of. */
  async terminate(sessionId: string): Promise<boolean> {
    const record = await this.get(sessionId);
    if (record !== undefined) return this.end(record, 'deleted');
    return (await this.#settings.tokens?.revokeToken(sessionId, this.#settings.clock.now())) ?? false;
  }

  /**
   * Marks sessions active (their clients hold open streams). A session no longer in the store (lost,
   * or ended where this process did not hear of it) has its streams here ended.
   */
  async keepActive(sessionIds: Iterable<string>, now: number): Promise<void> {
    const { tokens } = this.#settings;
    for (const sessionId of sessionIds) {
      if (this.#reserved.has(sessionId)) continue;
      const active =
        tokens === undefined ? (await this.store.touch(sessionId, now)) !== undefined : await tokens.stillActive(sessionId, now);
      if (!active) await this.endedElsewhere(sessionId);
    }
  }

  /**
   * Ends a session: true for the one caller, on any process, that removed it from the store (with
   * tokens and no configured session store: that revoked it).
   */
  async end(record: SessionRecord, reason: SessionCloseReason): Promise<boolean> {
    const { tokens, clock } = this.#settings;
    const revoked = tokens?.untracked === true ? await tokens.revoke(record, clock.now()) : undefined;
    const removed = await this.store.delete(record.id);
    if (!(revoked ?? removed)) return false;
    await this.#ended(record, reason);
    return true;
  }

  /**
   * Ends every session past its idle or absolute deadline (a sweep task). A token session idle here
   * with no configured session store is only let go on this process: its token still holds.
   */
  async expire(now: number): Promise<void> {
    const letGo = this.#settings.tokens?.untracked === true;
    for (;;) {
      const expired = await this.store.takeExpired(now, EXPIRED_BATCH);
      for (const record of expired) {
        const reason = expiryReason(record, now);
        if (letGo && reason === 'idle') await this.#letGo(record.id);
        else await this.#ended(record, reason);
      }
      if (expired.length < EXPIRED_BATCH) break;
    }
  }

  /** Releases what a session holds here (streams, server, cleanup, events); it goes on elsewhere or later. */
  async #letGo(sessionId: string): Promise<void> {
    await this.#resources.release(sessionId);
    await this.#runDisposers(sessionId);
    try {
      await this.#settings.eventStore?.deleteSession(sessionId);
    } catch (error) {
      this.#settings.reportError(error);
    }
  }

  /** Another process ended the session: release what it holds here. */
  async endedElsewhere(sessionId: string): Promise<void> {
    this.#recentlyEnded.set(sessionId, true);
    await this.#resources.release(sessionId);
    await this.#runDisposers(sessionId);
  }

  /** Shutdown: sessions that lived only in this endpoint's memory end with it; every cleanup runs. */
  async shutdown(): Promise<void> {
    if (this.#settings.ownsStore) {
      for (const record of await this.store.list()) await this.end(record, 'shutdown');
    }
    for (const sessionId of [...this.#disposers.keys()]) await this.#runDisposers(sessionId);
  }

  /** The one path every ended session takes, once it is gone from the store. */
  async #ended(record: SessionRecord, reason: SessionCloseReason): Promise<void> {
    const { eventStore, metrics, log, onSessionClosed, reportError, announceEnded } = this.#settings;
    this.#recentlyEnded.set(record.id, true);
    await this.#resources.release(record.id);
    await this.#runDisposers(record.id);
    try {
      await eventStore?.deleteSession(record.id);
      await announceEnded(record.id);
    } catch (error) {
      reportError(error);
    }
    metrics.sessionsClosed[reason] += 1;
    log.info({ session: sessionTag(record.id), reason }, 'mcp-session: session closed');
    try {
      await onSessionClosed?.(this.view(record), reason);
    } catch (error) {
      reportError(error);
    }
  }

  /** Runs the session's `onClose` cleanup registered on this process, once. */
  async #runDisposers(sessionId: string): Promise<void> {
    const set = this.#disposers.get(sessionId);
    if (set === undefined) return;
    this.#disposers.delete(sessionId);
    for (const cleanup of set) await this.#runCleanup(cleanup);
  }

  async #runCleanup(cleanup: () => void | Promise<void>): Promise<void> {
    try {
      await cleanup();
    } catch (error) {
      this.#settings.reportError(error);
    }
  }
}
