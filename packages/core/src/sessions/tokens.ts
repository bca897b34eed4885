/**
 * Session tokens: an `MCP-Session-Id` that is itself the session, so any process holding the keys
 * validates it and rebuilds the session without a store. A token carries a random session id, when
 * it was issued and when it expires, a keyed hash of the principal it is bound to, and the
 * `initialize` params a rehydrated server replays (protocol version, client capabilities, client
 * name, title and version), with the negotiated version when it differs.
 *
 * ```
 * signed (default)  s1.<kid>.<claims>.<params>.<mac>   claims, params: base64url JSON;
 *                                                      mac: HMAC-SHA256 over "s1.<kid>.<claims>.<params>"
 * sealed            e1.<kid>.<sealed>                  sealed: base64url of iv (12) | AES-256-GCM ciphertext of
 *                                                      "<claims JSON>\n<params JSON>" | tag (16), with "e1.<kid>"
 *                                                      as associated data: nothing in it is readable
 * ```
 *
 * The claims (session id, times, binding) are apart from the params so a request parses only them;
 * the params are parsed when a process rebuilds the session.
 *
 * Every character is visible ASCII (SPEC rule 13). The first key signs or seals; every listed key
 * verifies or opens, so keys rotate by putting a new one first. Each key is only the root of three
 * keys derived with HKDF-SHA256 (MAC, sealing, principal binding): no key serves two algorithms.
 * Verification compares MACs in constant time, on the canonical base64url text, so a token differing
 * in any character (unused bits included) is refused.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type EncryptionKey, decodeKeys, randomId } from '../crypto.js';
import type { SessionIdStrategy } from './ids.js';

/** `signed`: HMAC-SHA256, claims readable by whoever holds the token; `sealed`: AES-256-GCM, claims unreadable. */
export type TokenFormat = 'signed' | 'sealed';

/** A session's lifetime in token mode when `maxLifetimeMs` is not set: 24 hours. */
export const DEFAULT_TOKEN_LIFETIME_MS = 24 * 60 * 60_000;

/**
 * Bytes of the `initialize` params a token carries (protocol version, capabilities, client name,
 * title and version, as JSON) at most: a client cannot make its token larger than about 3 KB, well
 * under the 8 KB header line limit of common proxies. An `initialize` past it gets 413.
 */
export const MAX_CARRIED_BYTES = 2048;

/** Longest `MCP-Session-Id` that can be a token: anything longer is refused before any work. */
export const MAX_TOKEN_LENGTH = 4096;

/** What a token says about its session, besides the params. Times are epoch milliseconds. */
export interface TokenClaims {
  /** The session id: 128 random bits, base64url. What stores, streams and logs know the session by. */
  readonly sid: string;
  /** Issued at: when the session was created. */
  readonly iat: number;
  /** Expires at: the session's absolute end. */
  readonly exp: number;
  /** The principal binding: a keyed hash of the principal; absent for an anonymous session. */
  readonly p?: string;
  /** The negotiated protocol version, when it differs from the one the `initialize` asked for. */
  readonly pv?: string;
}

/** A token that verified, and the key that verified it. */
export interface OpenedToken {
  readonly claims: TokenClaims;
  readonly kid: string;
  /** The `initialize` params every server of the session is given (see {@link carriedParams}), parsed on call. */
  params(): Record<string, unknown> | undefined;
}

/** What a token is made from. */
export interface TokenContent {
  readonly sid: string;
  readonly iat: number;
  readonly exp: number;
  readonly principal: string | undefined;
  readonly protocolVersion: string;
  readonly params: Record<string, unknown>;
}

interface DerivedKeys {
  readonly mac: Buffer;
  readonly seal: Buffer;
  readonly bind: Buffer;
}

const derive = (root: Buffer, purpose: string): Buffer =>
  Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `mcp-session token ${purpose} v1`, 32));

/** Principal bindings remembered per process: a request of a known principal costs one HMAC, not two. */
const BINDINGS = 1024;

const TOKEN_CHARS = /^[A-Za-z0-9_.-]+$/;
const MAC_CHARS = 43;

/**
 * The `initialize` params a token carries, and so what every server of the session sees, the first
 * one included: `protocolVersion`, `capabilities`, and of `clientInfo` its `name`, `title` and
 * `version` (icons and links are display data a client could make large). Anything else is left out.
 */
export function carriedParams(params: Record<string, unknown>): Record<string, unknown> {
  const carried: Record<string, unknown> = {};
  if ('protocolVersion' in params) carried.protocolVersion = params.protocolVersion;
  if ('capabilities' in params) carried.capabilities = params.capabilities;
  const info = params.clientInfo;
  if (typeof info === 'object' && info !== null && !Array.isArray(info)) {
    const { name, title, version } = info as Record<string, unknown>;
    carried.clientInfo = { name, ...(title === undefined ? {} : { title }), version };
  } else if ('clientInfo' in params) carried.clientInfo = info;
  return carried;
}

/** Issues and verifies session tokens with a list of keys; also the session-id strategy of token mode. */
export class SessionTokens implements SessionIdStrategy {
  readonly format: TokenFormat;
  readonly #keys = new Map<string, DerivedKeys>();
  readonly #current: string;
  readonly #bindings = new LRUCache<string, string>({ max: BINDINGS });

  constructor(keys: readonly EncryptionKey[], format: TokenFormat) {
    for (const [id, root] of decodeKeys('tokenKeys', keys)) {
      this.#keys.set(id, { mac: derive(root, 'mac'), seal: derive(root, 'seal'), bind: derive(root, 'principal') });
    }
    this.#current = keys[0]!.id;
    this.format = format;
  }

  /** The session id inside a new token: 128 random bits. */
  mint(): string {
    return randomId(16);
  }

  /** Whether a client's `MCP-Session-Id` can be a token at all (length and alphabet; nothing cryptographic). */
  isWellFormed(id: string): boolean {
    return id.length <= MAX_TOKEN_LENGTH && (id.startsWith('s1.') || id.startsWith('e1.')) && TOKEN_CHARS.test(id);
  }

  /** A token for a session, signed or sealed with the first key. */
  issue(content: TokenContent): string {
    const kid = this.#current;
    const keys = this.#keys.get(kid)!;
    const claims: TokenClaims = {
      sid: content.sid,
      iat: content.iat,
      exp: content.exp,
      ...(content.principal === undefined ? {} : { p: this.#bind(keys, content.principal) }),
      ...(content.protocolVersion === content.params.protocolVersion ? {} : { pv: content.protocolVersion }),
    };
    const [json, params] = [JSON.stringify(claims), JSON.stringify(content.params)];
    if (this.format === 'signed') {
      const signed = `s1.${kid}.${Buffer.from(json).toString('base64url')}.${Buffer.from(params).toString('base64url')}`;
      return `${signed}.${createHmac('sha256', keys.mac).update(signed).digest('base64url')}`;
    }
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys.seal, iv);
    cipher.setAAD(Buffer.from(`e1.${kid}`));
    const body = Buffer.concat([iv, cipher.update(`${json}\n${params}`, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `e1.${kid}.${body.toString('base64url')}`;
  }

  /**
   * The claims of a token made with one of the keys (signed or sealed, whatever `format` says now),
   * whatever its expiry and principal; undefined for anything else: malformed, tampered, or made with
   * a key that is not listed.
   */
  open(token: string): OpenedToken | undefined {
    // No alphabet check here: the MAC covers every character of a signed token, and a sealed one must
    // be canonical base64url, so a token we did not issue fails either way.
    if (token.length > MAX_TOKEN_LENGTH || !(token.startsWith('s1.') || token.startsWith('e1.'))) return undefined;
    const first = token.indexOf('.', 3);
    if (first === -1) return undefined;
    const kid = token.slice(3, first);
    const keys = this.#keys.get(kid);
    if (keys === undefined) return undefined;
    const parts = token.startsWith('s1.') ? this.#verify(token, first, keys) : this.#unseal(token, first, kid, keys);
    const claims = parts === undefined ? undefined : parseClaims(parts.claims);
    return claims === undefined ? undefined : { claims, kid, params: () => parseParams(parts!.params()) };
  }

  /**
   * The claims of a token that is valid at `now` for `principal` (undefined: an anonymous request,
   * which matches only an anonymous session); undefined otherwise, whatever the reason.
   */
  verify(token: string, principal: string | undefined, now: number): OpenedToken | undefined {
    const opened = this.open(token);
    if (opened === undefined || opened.claims.exp <= now) return undefined;
    const { p } = opened.claims;
    if (p === undefined || principal === undefined) return p === principal ? opened : undefined;
    const remembered = `${opened.kid}\n${principal}`;
    let binding = this.#bindings.get(remembered);
    if (binding === undefined) this.#bindings.set(remembered, (binding = this.#bind(this.#keys.get(opened.kid)!, principal)));
    const expected = Buffer.from(binding);
    const given = Buffer.from(p);
    return given.length === expected.length && timingSafeEqual(given, expected) ? opened : undefined;
  }

  #verify(token: string, first: number, keys: DerivedKeys): TokenParts | undefined {
    const last = token.lastIndexOf('.');
    const middle = token.lastIndexOf('.', last - 1);
    if (middle <= first || token.length - last - 1 !== MAC_CHARS) return undefined;
    const signed = token.slice(0, last);
    const expected = Buffer.from(createHmac('sha256', keys.mac).update(signed).digest('base64url'));
    if (!timingSafeEqual(expected, Buffer.from(token.slice(last + 1)))) return undefined;
    return {
      claims: Buffer.from(token.slice(first + 1, middle), 'base64url').toString('utf8'),
      params: () => Buffer.from(token.slice(middle + 1, last), 'base64url').toString('utf8'),
    };
  }

  #unseal(token: string, first: number, kid: string, keys: DerivedKeys): TokenParts | undefined {
    const body = Buffer.from(token.slice(first + 1), 'base64url');
    // Canonical text only: base64url that decodes leniently (stray bits, a dot) is not ours.
    if (body.length < 12 + 16 + 2 || body.toString('base64url') !== token.slice(first + 1)) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', keys.seal, body.subarray(0, 12));
      decipher.setAAD(Buffer.from(`e1.${kid}`));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const plain = Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
      const newline = plain.indexOf('\n');
      return newline === -1 ? undefined : { claims: plain.slice(0, newline), params: () => plain.slice(newline + 1) };
    } catch {
      return undefined;
    }
  }

  /** 128 bits of HMAC-SHA256 of the principal: binds without saying who, even in a readable token. */
  #bind(keys: DerivedKeys, principal: string): string {
    return createHmac('sha256', keys.bind).update(principal).digest().subarray(0, 16).toString('base64url');
  }
}

/** The two JSON texts of a token that verified; the params' only when asked for. */
interface TokenParts {
  readonly claims: string;
  params(): string;
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** The claims, checked to have the shape `issue` gives them. */
function parseClaims(json: string): TokenClaims | undefined {
  const value = parseJson(json);
  if (typeof value !== 'object' || value === null) return undefined;
  const { sid, iat, exp, p, pv } = value as Record<string, unknown>;
  const valid =
    typeof sid === 'string' &&
    /^[A-Za-z0-9_-]{22}$/.test(sid) &&
    Number.isSafeInteger(iat) &&
    Number.isSafeInteger(exp) &&
    (p === undefined || typeof p === 'string') &&
    (pv === undefined || typeof pv === 'string');
  return valid ? (value as TokenClaims) : undefined;
}

function parseParams(json: string): Record<string, unknown> | undefined {
  const value = parseJson(json);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
