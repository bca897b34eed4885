import express from 'express';
import { randomBytes } from 'node:crypto';
import {
  cache,
  type McpSessionEndpoint,
  type McpSessionOptions,
  MemoryRateLimitStore,
  MemoryRevocationStore,
  MemorySessionStore,
  rateLimit,
} from '@x/mcp-session-core';
import { mcpSession, type McpSessionMiddleware } from '@x/mcp-session-express';
import {
  bearerAuth,
  DemoTokens,
  demoAccounts,
  LOGIN_LIMITS,
  loginHandlers,
  type PasswordHash,
  PasswordCheck,
  scryptHash,
  TOKEN_TTL_SECONDS,
  type TokenKey,
  tokenKeyFromEnv,
} from './auth.js';
import { createDemoServer, type DemoConfig } from './mcp-server.js';

/** How session ids are made, in words (the keys never shown). */
function sessionIdsOf(settings: McpSessionEndpoint['settings'], options: Partial<McpSessionOptions>): string {
  if (!settings.sessionTokens) return 'random, kept in the session store';
  const revocations =
    options.revocationStore === undefined || options.revocationStore instanceof MemoryRevocationStore ? 'memory' : 'shared';
  const decides = options.sessionStore === undefined ? `the token decides; revocations in ${revocations}` : 'the session store decides';
  return `${settings.tokenFormat} tokens (MCP_SESSION_TOKEN_KEYS), valid ${settings.maxLifetimeMs! / 3_600_000} h at most; ${decides}`;
}

/** The demo's own auth settings; by default from the environment (see `auth.ts`). */
export interface DemoAuthOptions {
  /** The token signing key; default {@link tokenKeyFromEnv}. */
  tokenKey?: TokenKey;
  /** The password digest; default scrypt (tests count its calls). */
  hashPassword?: PasswordHash;
}

const KEY_SOURCES: Record<TokenKey['source'], string> = {
  DEMO_TOKEN_KEY: 'DEMO_TOKEN_KEY',
  MCP_SESSION_ENCRYPTION_KEYS: 'a key derived from MCP_SESSION_ENCRYPTION_KEYS',
  'start-up': 'a key made at start-up (this process only)',
};

/**
 * The demo app: Express with `POST /login`, the MCP endpoint at `/mcp` behind the bearer-token check,
 * and Prometheus metrics at `/metrics`. Stores are in memory unless `stores` are given (the Redis
 * ones, when REDIS_URL is set); the login rate limit uses the endpoint's `rateLimitStore`.
 */
export function createDemoApp(
  options: Partial<McpSessionOptions> = {},
  auth: DemoAuthOptions = {},
): { app: express.Express; mcp: McpSessionMiddleware; config: DemoConfig; tokenKey: TokenKey } {
  // State is sealed with MCP_SESSION_ENCRYPTION_KEYS when it is set. Without it, sessions in memory get a
  // key that lives exactly as long as they do (the process); sessions in Redis outlive the process, so
  // their state is stored unsealed rather than under a key the next start could not know.
  const persistent = options.sessionStore !== undefined && !(options.sessionStore instanceof MemorySessionStore);
  const encryptionKeys =
    process.env.MCP_SESSION_ENCRYPTION_KEYS === undefined && !persistent
      ? [{ id: 'demo', key: randomBytes(32).toString('base64') }]
      : undefined;
  const rateLimitStore = options.rateLimitStore ?? new MemoryRateLimitStore();
  const mcp: McpSessionMiddleware = mcpSession({
    ...(encryptionKeys === undefined ? {} : { encryptionKeys }),
    middleware: [
      // Per user, or per client address for anonymous clients: a new session buys no new calls.
      rateLimit({ limit: 5, windowMs: 60_000, tools: ['limited_echo'] }),
      // The server-info resource is the same for everyone, so one entry may serve every caller.
      cache({ ttlMs: 30_000, methods: ['resources/read'], scope: 'global' }),
    ],
    ...options,
    rateLimitStore,
    // One server per legacy session, and one per process for clients without a session; built once the
    // settings below are known.
    server: (session, context) => createDemoServer(session, context, { sessions: () => mcp.sessions, config }),
  });
  const tokenKey = auth.tokenKey ?? tokenKeyFromEnv();
  const tokens = new DemoTokens(tokenKey.key, options.clock);
  const passwords = new PasswordCheck(demoAccounts(), auth.hashPassword ?? scryptHash);
  const { settings } = mcp.endpoint;
  const config: DemoConfig = {
    responseMode: settings.responseMode,
    idleTimeoutMs: settings.idleTimeoutMs,
    hibernateAfterMs: settings.hibernateAfterMs,
    stores: persistent ? 'redis' : 'memory',
    encryptionAtRest: settings.encryptionAtRest,
    rateLimit: 'limited_echo: 5 calls per minute per user (anonymous: per client address)',
    cache: 'resources/read: 30 s, shared by all sessions',
    tokens: `HMAC-SHA256 bearer tokens from POST /login, valid ${TOKEN_TTL_SECONDS / 60} min, signed with ${KEY_SOURCES[tokenKey.source]}`,
    loginRateLimit: `${LOGIN_LIMITS.perAddress} attempts a minute per client address, ${LOGIN_LIMITS.perUsername} per username`,
    sessionIds: sessionIdsOf(settings, options),
  };
  const app = express();
  app.disable('x-powered-by');
  app.post('/login', ...loginHandlers({ tokens, passwords, rateLimitStore, clock: options.clock }));
  // The host's auth runs before the endpoint and sets req.auth (the SDK's AuthInfo); the library binds
  // each session to the principal derived from it.
  app.use('/mcp', bearerAuth(tokens), mcp);
  app.get('/metrics', mcp.endpoint.metricsHandler());
  return { app, mcp, config, tokenKey };
}
