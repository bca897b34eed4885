/**
 * The demo host's authentication. Who a request comes from is decided here, before the MCP endpoint,
 * from a bearer token verified on every request — never from session state, which grants nothing.
 *
 * - `POST /login` takes `{ username, password }` as JSON and answers a token: `v1.<claims>.<mac>`,
 *   the claims (`sub`, `scopes`, `iat`, `exp`) as base64url JSON and an HMAC-SHA256 over
 *   `v1.<claims>`, valid for {@link TOKEN_TTL_SECONDS}. Passwords are checked against scrypt digests
 *   with `timingSafeEqual`, with the same work for unknown users, after a rate limit per client
 *   address and per username in the endpoint's `RateLimitStore` (so on Redis it holds across
 *   processes).
 * - {@link bearerAuth} runs before `/mcp`: no `Authorization` header means an anonymous request; a
 *   header with a token that does not verify gets 401 (the SDK's `verifyBearerToken` and
 *   `bearerAuthChallengeResponse`); a good one becomes `req.auth`, the SDK's `AuthInfo`, from which
 *   the library derives the principal a session is bound to.
 *
 * A real server gets its tokens from an OAuth authorization server; this is the smallest honest
 * stand-in for one.
 */
import { createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
  verifyBearerToken,
} from '@modelcontextprotocol/server';
import type { Clock, RateLimitStore } from '@x/mcp-session-core';
import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import { z } from 'zod';

/** How long a token is valid. Short: there is no revocation, a token is good until it expires. */
export const TOKEN_TTL_SECONDS = 15 * 60;
/** `AuthInfo.clientId` of the tokens `/login` issues (the principal combines it with `sub`). */
export const DEMO_CLIENT_ID = 'mcp-session-demo';
/** Login attempts allowed per client address, and per username, in {@link LOGIN_WINDOW_MS}. */
export const LOGIN_LIMITS = { perAddress: 10, perUsername: 5 } as const;
export const LOGIN_WINDOW_MS = 60_000;

const VERSION = 'v1';

/** Where the signing key came from; `get_server_config` and the start-up line say which. */
export type TokenKeySource = 'DEMO_TOKEN_KEY' | 'MCP_SESSION_ENCRYPTION_KEYS' | 'start-up';

export interface TokenKey {
  key: Buffer;
  source: TokenKeySource;
}

/**
 * The token signing key, in this order:
 * 1. `DEMO_TOKEN_KEY`: base64 of at least 32 random bytes. Set the same value on every process.
 * 2. Derived with HKDF-SHA256 from the first (encrypting) key of `MCP_SESSION_ENCRYPTION_KEYS`, under a
 *    label of its own: processes that share Redis must share those keys already to read each other's
 *    state, so they accept each other's tokens with nothing more to configure. Rotating the encryption
 *    key ends the tokens signed under the old one (their holders log in again).
 * 3. 32 random bytes made at start-up: tokens are good on this process until it stops, like sessions
 *    in its memory. On Redis, other processes refuse them and so does this one after a restart;
 *    `server.ts` warns.
 */
export function tokenKeyFromEnv(env: NodeJS.ProcessEnv = process.env): TokenKey {
  const explicit = env.DEMO_TOKEN_KEY;
  if (explicit !== undefined && explicit !== '') {
    const key = Buffer.from(explicit, 'base64');
    if (key.length < 32) throw new Error('DEMO_TOKEN_KEY must be the base64 of at least 32 random bytes');
    return { key, source: 'DEMO_TOKEN_KEY' };
  }
  const encryption = env.MCP_SESSION_ENCRYPTION_KEYS;
  if (encryption !== undefined && encryption !== '') {
    // `<id>:<base64>[,<id>:<base64>…]`; the endpoint validates the list itself at start-up.
    const first = encryption.split(',')[0]!.trim();
    const material = Buffer.from(first.slice(first.indexOf(':') + 1), 'base64');
    if (material.length < 32) throw new Error('MCP_SESSION_ENCRYPTION_KEYS: the first key is not 32 bytes of base64');
    const key = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'mcp-session-demo bearer token signing v1', 32));
    return { key, source: 'MCP_SESSION_ENCRYPTION_KEYS' };
  }
  return { key: randomBytes(32), source: 'start-up' };
}

interface Claims {
  sub: string;
  scopes: string[];
  iat: number;
  exp: number;
}

const claimsSchema = z.object({
  sub: z.string(),
  scopes: z.array(z.string()),
  iat: z.number().int(),
  exp: z.number().int(),
});

/** Issues and verifies the demo's bearer tokens. */
export class DemoTokens {
  readonly #key: Buffer;
  readonly #clock: Clock;

  constructor(key: Buffer, clock: Clock = Date) {
    this.#key = key;
    this.#clock = clock;
  }

  #mac(signed: string): string {
    return createHmac('sha256', this.#key).update(signed).digest('base64url');
  }

  issue(sub: string, scopes: string[]): { token: string; expiresAt: number } {
    const iat = Math.floor(this.#clock.now() / 1000);
    const claims: Claims = { sub, scopes, iat, exp: iat + TOKEN_TTL_SECONDS };
    const signed = `${VERSION}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return { token: `${signed}.${this.#mac(signed)}`, expiresAt: claims.exp };
  }

  /** The token's `AuthInfo`, or undefined when it is malformed, forged, or expired (no reason given). */
  verify(token: string): AuthInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) return undefined;
    const signed = `${parts[0]}.${parts[1]}`;
    // Compared as the exact base64url text, in constant time: no lenient decoding, no early exit.
    const expected = Buffer.from(this.#mac(signed));
    const given = Buffer.from(parts[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: Claims;
    try {
      claims = claimsSchema.parse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    if (claims.exp <= this.#clock.now() / 1000) return undefined;
    return { token, clientId: DEMO_CLIENT_ID, scopes: claims.scopes, expiresAt: claims.exp, extra: { sub: claims.sub } };
  }
}

/** Derives a password digest; scrypt unless a test counts the calls. */
export type PasswordHash = (password: string, salt: Buffer) => Promise<Buffer>;

/** scrypt with Node's default cost (N = 2^14, r = 8, p = 1): about 50 ms, on the libuv pool. */
export const scryptHash: PasswordHash = (password, salt) =>
  new Promise((resolve, reject) => scrypt(password, salt, 32, (error, key) => (error === null ? resolve(key) : reject(error))));

/** The demo's accounts. The default passwords are public (the README gives them): loopback only. */
export interface DemoAccount {
  password: string;
  scopes: string[];
}

export function demoAccounts(env: NodeJS.ProcessEnv = process.env): Record<string, DemoAccount> {
  return {
    admin: { password: env.DEMO_ADMIN_PASSWORD || 'admin-password', scopes: ['admin'] },
    demo: { password: env.DEMO_USER_PASSWORD || 'demo-password', scopes: [] },
  };
}

/** True when an account still has its public default password. */
export function usesDefaultPasswords(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.DEMO_ADMIN_PASSWORD || !env.DEMO_USER_PASSWORD;
}

interface StoredAccount {
  salt: Buffer;
  digest: Buffer;
  scopes: string[];
}

/**
 * Checks passwords against salted digests. Every check does the same work: one digest and one
 * `timingSafeEqual`, against a decoy account when the username is unknown, so neither the answer's
 * timing nor its body tells which usernames exist.
 */
export class PasswordCheck {
  readonly #hash: PasswordHash;
  readonly #accounts: Promise<Map<string, StoredAccount>>;
  readonly #decoy: StoredAccount = { salt: randomBytes(16), digest: randomBytes(32), scopes: [] };

  constructor(accounts: Record<string, DemoAccount>, hash: PasswordHash = scryptHash) {
    this.#hash = hash;
    // A real server stores only the salts and digests; the demo makes them once, at start-up.
    this.#accounts = Promise.all(
      Object.entries(accounts).map(async ([username, { password, scopes }]) => {
        const salt = randomBytes(16);
        return [username, { salt, digest: await hash(password, salt), scopes }] as const;
      }),
    ).then((entries) => new Map(entries));
  }

  /** The account's scopes when the password is right, else undefined. */
  async check(username: string, password: string): Promise<{ scopes: string[] } | undefined> {
    const account = (await this.#accounts).get(username);
    const against = account ?? this.#decoy;
    const digest = await this.#hash(password, against.salt);
    const equal = timingSafeEqual(digest, against.digest);
    return equal && account !== undefined ? { scopes: account.scopes } : undefined;
  }
}

const loginBody = z.object({ username: z.string().min(1).max(64), password: z.string().max(256) });

function tooMany(res: Response, retryAfterMs: number): void {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  res.setHeader('Retry-After', String(seconds));
  res.status(429).json({ error: 'too_many_attempts', retry_after_seconds: seconds });
}

export interface LoginOptions {
  tokens: DemoTokens;
  passwords: PasswordCheck;
  rateLimitStore: RateLimitStore;
  clock?: Clock;
}

/**
 * `POST /login`'s handlers, in order: the per-address limit (before the body is even parsed), a
 * bounded JSON body, then the per-username limit, the password check and the token. Every attempt
 * counts, successful or not; a refused one costs no password work. The address is the socket's:
 * behind a proxy, every client shares the proxy's address unless the host trusts its forwarding
 * header (Express `trust proxy`), which the demo does not.
 */
export function loginHandlers({
  tokens,
  passwords,
  rateLimitStore,
  clock = Date,
}: LoginOptions): Array<RequestHandler | ErrorRequestHandler> {
  const limit = async (res: Response, key: string, max: number): Promise<boolean> => {
    const result = await rateLimitStore.consume(`demo-login:${key}`, clock.now(), max, LOGIN_WINDOW_MS);
    if (!result.allowed) tooMany(res, result.retryAfterMs);
    return result.allowed;
  };
  const byAddress: RequestHandler = (req, res, next) => {
    limit(res, `addr:${req.socket.remoteAddress ?? 'unknown'}`, LOGIN_LIMITS.perAddress).then(
      (allowed) => (allowed ? next() : undefined),
      next,
    );
  };
  const badBody: ErrorRequestHandler = (_error, _req, res, _next) => {
    res.status(400).json({ error: 'invalid_request' });
  };
  const login: RequestHandler = (req, res, next) => {
    const body = loginBody.safeParse(req.body);
    if (!body.success) {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    const { username, password } = body.data;
    const run = async () => {
      if (!(await limit(res, `user:${username}`, LOGIN_LIMITS.perUsername))) return;
      const account = await passwords.check(username, password);
      res.setHeader('Cache-Control', 'no-store');
      if (account === undefined) {
        res.status(401).json({ error: 'invalid_credentials' });
        return;
      }
      const { token } = tokens.issue(username, account.scopes);
      res.json({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_SECONDS, scope: account.scopes.join(' ') });
    };
    run().catch(next);
  };
  return [byAddress, express.json({ limit: '4kb' }), badBody, login];
}

/**
 * The auth middleware before `/mcp`. No `Authorization` header: anonymous, on to the endpoint. A
 * header that is not a valid, unexpired token of ours: 401 with a `WWW-Authenticate` challenge,
 * never a silent fall back to anonymous. A valid one: `req.auth`.
 */
export function bearerAuth(tokens: DemoTokens): RequestHandler {
  const verifier: OAuthTokenVerifier = {
    async verifyAccessToken(token) {
      const auth = tokens.verify(token);
      if (auth === undefined) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid or expired token');
      return auth;
    },
  };
  return (req, res, next) => {
    if (req.headers.authorization === undefined) {
      next();
      return;
    }
    verifyBearerToken(req.headers.authorization, { verifier }).then(
      (auth) => {
        Object.assign(req, { auth });
        next();
      },
      async (error: unknown) => {
        const answer = bearerAuthChallengeResponse(error);
        res.status(answer.status);
        answer.headers.forEach((value, name) => res.setHeader(name, value));
        res.send(await answer.text());
      },
    );
  };
}
