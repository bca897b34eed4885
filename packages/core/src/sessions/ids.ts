/**
 * How session ids are made. Today: 128 random bits from the CSPRNG, whose records live in the
 * `SessionStore`. The seam for signed self-contained tokens later.
 */
import { randomId } from '../crypto.js';

export interface SessionIdStrategy {
  /** A new session id: unique, unguessable, visible ASCII only (SPEC rule 13). */
  mint(): string;
  /**
   * Whether a client's `Mcp-Session-Id` can be one this strategy made. Checked before any store or
   * middleware sees the id: a malformed or oversized header costs nothing and answers 404.
   */
  isWellFormed(id: string): boolean;
}

const RANDOM_ID = /^[A-Za-z0-9_-]{22}$/;

/** 16 random bytes, base64url: 22 characters. */
export const randomSessionIds: SessionIdStrategy = {
  mint: () => randomId(16),
  isWellFormed: (id) => RANDOM_ID.test(id),
};
