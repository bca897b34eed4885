/**
 * The denylist of session tokens: a token stays valid until it expires, so ending its session
 * (DELETE, the admin `terminate`, eviction) puts the session id here until then. Every process that
 * shares the store refuses the session from then on.
 */
import type { Awaitable } from './types.js';

/** Revoked session ids, each until a time. Shared by every process; `revoke` is atomic across them. */
export interface RevocationStore {
  /**
   * Lists the session id as revoked until `untilMs` (epoch milliseconds; the entry may be dropped
   * after). Resolves true for the one caller, on any process, that listed it; false when it already
   * was, or when `untilMs` is not after `now`.
   */
  revoke(sessionId: string, untilMs: number, now: number): Awaitable<boolean>;
  /** Whether the session id is listed at `now`. */
  isRevoked(sessionId: string, now: number): Awaitable<boolean>;
}

/** Revocations past their time dropped per `revoke`, at most: the map never holds many stale entries for long. */
const PRUNE_BATCH = 64;

/**
 * Revocations in this process's memory: honoured by this process only, and forgotten when it exits
 * (share a Redis one with `RedisRevocationStore` from `@x/mcp-session-redis`). Entries go once their
 * time has passed: each `revoke` drops a few that are due, oldest first.
 */
export class MemoryRevocationStore implements RevocationStore {
  /** Session id → revoked until; in insertion order, which pruning walks. */
  readonly #until = new Map<string, number>();

  revoke(sessionId: string, untilMs: number, now: number): boolean {
    this.#prune(now);
    if (untilMs <= now || (this.#until.get(sessionId) ?? 0) > now) return false;
    this.#until.delete(sessionId);
    this.#until.set(sessionId, untilMs);
    return true;
  }

  isRevoked(sessionId: string, now: number): boolean {
    return (this.#until.get(sessionId) ?? 0) > now;
  }

  /** Entries held, stale ones included (for tests of the bound). */
  get size(): number {
    return this.#until.size;
  }

  #prune(now: number): void {
    let looked = 0;
    for (const [sessionId, until] of this.#until) {
      if (looked++ >= PRUNE_BATCH) break;
      if (until <= now) this.#until.delete(sessionId);
    }
  }
}
