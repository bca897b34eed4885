/**
 * Sessions whose `MCP-Session-Id` is a token (`tokenKeys`): the session manager's other session-id
 * strategy. A token is validated with the keys alone, before any store is asked; what happens next
 * depends on whether a session store was configured:
 *
 * - **No session store** (`tracked` false): the token is the authority. A session lives until its
 *   token expires or its id is revoked (DELETE, `terminate`, eviction) in the `RevocationStore`. The
 *   endpoint's own memory store keeps a record of each session this process serves, made from the
 *   token when it does not hold one (after a restart, or for a session begun on another process), so
 *   state, `sessions.list()` and `maxSessions` work here; a record unused for `idleTimeoutMs` is
 *   let go on this process only (its server, streams, state and events here), and the session
 *   goes on.
 * - **A configured session store** (`tracked`): it keeps the records and their activity, as with
 *   random ids, and decides: a session idle past `idleTimeoutMs`, ended, or unknown to it answers 404.
 *   The token adds its absolute expiry, and spares the store every request whose id is not a valid
 *   token of this principal.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { type Checked, refusal } from '../http/refusal.js';
import { requestedVersion } from '../protocol/versions.js';
import type { RevocationStore } from '../stores/revocation-store.js';
import type { SessionRecord, SessionStore } from '../stores/types.js';
import type { SessionIdStrategy } from './ids.js';
import { MAX_CARRIED_BYTES, type OpenedToken, type SessionTokens, carriedParams } from './tokens.js';

export interface TokenSessionSettings {
  readonly tokens: SessionTokens;
  readonly revocations: RevocationStore;
  readonly store: SessionStore;
  /** A session store was configured: it tracks activity and decides whether a session is active. */
  readonly tracked: boolean;
  readonly idleTimeoutMs: number;
  /** The absolute lifetime every token gets. */
  readonly lifetimeMs: number;
}

/** The token strategy: what the manager asks of it where random ids ask the store. */
export class TokenSessions implements SessionIdStrategy {
  readonly #settings: TokenSessionSettings;

  constructor(settings: TokenSessionSettings) {
    this.#settings = settings;
  }

  /** The session id inside a new token. */
  mint(): string {
    return this.#settings.tokens.mint();
  }

  /** Whether a client's header can be a token. */
  isWellFormed(header: string): boolean {
    return this.#settings.tokens.isWellFormed(header);
  }

  /** The `initialize` params a new session keeps (what its token carries), or 413 when they are too large to carry. */
  carry(params: Record<string, unknown>): Checked<{ params: Record<string, unknown> }> {
    const carried = carriedParams(params);
    if (Buffer.byteLength(JSON.stringify(carried)) <= MAX_CARRIED_BYTES) return { ok: true, params: carried };
    return refusal(
      413,
      JsonRpcErrorCode.ServerError,
      `Payload Too Large: a session token carries at most ${MAX_CARRIED_BYTES} bytes of initialize params (protocolVersion, capabilities, clientInfo name, title and version)`,
    );
  }

  /** The token of a session whose `initialize` was answered: its `MCP-Session-Id`. */
  issue(record: SessionRecord): string {
    return this.#settings.tokens.issue({
      sid: record.id,
      iat: record.createdAt,
      exp: record.expiresAt ?? record.createdAt + this.#settings.lifetimeMs,
      principal: record.principal,
      protocolVersion: record.protocolVersion,
      params: record.initialize.params,
    });
  }

  /**
   * The session of a client's request, marked active; undefined when the token is not valid now for
   * this principal, its session was revoked, or (tracked) the store no longer holds it.
   */
  async resolve(header: string, principal: string | undefined, countRequest: boolean, now: number): Promise<SessionRecord | undefined> {
    const { tokens, store, tracked, revocations } = this.#settings;
    const opened = tokens.verify(header, principal, now);
    if (opened === undefined) return undefined;
    const { sid } = opened.claims;
    const access = { principal, countRequest };
    if (tracked) return store.touch(sid, now, access);
    if (await revocations.isRevoked(sid, now)) return undefined;
    const held = await store.touch(sid, now, access);
    if (held !== undefined) return held;
    // A session this process does not hold (yet, or any more): it is what its token says.
    const record = this.#fromToken(opened, principal, now, countRequest ? 1 : 0);
    if (record !== undefined) await store.create(record);
    return record;
  }

  /** The record of a session `principal` may end, without marking activity. */
  async owned(header: string, principal: string | undefined, now: number): Promise<SessionRecord | undefined> {
    const { tokens, store, tracked, revocations } = this.#settings;
    const opened = tokens.verify(header, principal, now);
    if (opened === undefined) return undefined;
    const held = await store.get(opened.claims.sid, now);
    if (tracked) return held;
    if (await revocations.isRevoked(opened.claims.sid, now)) return undefined;
    return held ?? this.#fromToken(opened, principal, now, 0);
  }

  /** The session id a token names (whatever its expiry), or the id itself when it is not a token. */
  sessionIdOf(idOrToken: string): string {
    return this.#settings.tokens.open(idOrToken)?.claims.sid ?? idOrToken;
  }

  /**
   * Revokes a session until its token expires. True for the one caller, on any process sharing the
   * revocation store, that revoked it (tracked: the store's `delete` decides instead, and nothing is
   * listed).
   */
  async revoke(record: SessionRecord, now: number): Promise<boolean> {
    const { revocations, lifetimeMs } = this.#settings;
    return revocations.revoke(record.id, record.expiresAt ?? now + lifetimeMs, now);
  }

  /** Revokes the session of a token this process may hold no record of (the admin `terminate`). */
  async revokeToken(token: string, now: number): Promise<boolean> {
    if (this.#settings.tracked) return false;
    const opened = this.#settings.tokens.open(token);
    if (opened === undefined || opened.claims.exp <= now) return false;
    return this.#settings.revocations.revoke(opened.claims.sid, opened.claims.exp, now);
  }

  /** True when the token decides (no session store was configured). */
  get untracked(): boolean {
    return !this.#settings.tracked;
  }

  /** Whether a session with a stream open here is still on: not revoked (untracked), and its record here marked active. */
  async stillActive(sessionId: string, now: number): Promise<boolean> {
    const { store, tracked, revocations } = this.#settings;
    if (!tracked && (await revocations.isRevoked(sessionId, now))) {
      await store.delete(sessionId);
      return false;
    }
    return (await store.touch(sessionId, now)) !== undefined;
  }

  /** `requestCount` counts the requests this process has seen of the session, from this one on. */
  #fromToken(opened: OpenedToken, principal: string | undefined, now: number, requestCount: number): SessionRecord | undefined {
    const { claims } = opened;
    const params = opened.params();
    if (params === undefined) return undefined;
    const record: SessionRecord = {
      id: claims.sid,
      protocolVersion: claims.pv ?? requestedVersion(params),
      initialize: { id: 0, params },
      createdAt: claims.iat,
      lastActiveAt: now,
      requestCount,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
      expiresAt: claims.exp,
    };
    if (principal !== undefined) record.principal = principal;
    return record;
  }
}
