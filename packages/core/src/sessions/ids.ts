/**
 * How session ids are made. Today: 128 random bits from the CSPRNG, whose records live in the
 * `SessionStore`. The seam for signed self-contained tokens later.
 */
import { randomId } from '../crypto.js';

export interface SessionIdStrategy {
  /** A new session id: unique, unguessable, visible ASCII only (SPEC rule 13). */
  mint(): string;
}

/** 16 random bytes, base64url: 22 characters. */
export const randomSessionIds: SessionIdStrategy = {
  mint: () => randomId(16),
};
