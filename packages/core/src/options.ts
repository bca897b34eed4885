/**
 * The options of the endpoint and every adapter: one zod schema, the public type inferred from it,
 * and `MCP_SESSION_*` environment variables read through it. Parsed once, at start-up.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { EncryptionKey } from './crypto.js';
import { McpSessionError } from './errors.js';
import { DEFAULT_TOKEN_LIFETIME_MS } from './sessions/tokens.js';
import type { RevocationStore } from './stores/revocation-store.js';
import type { CacheStore, EventStore, MessageBus, RateLimitStore, SessionCloseReason, SessionStore } from './stores/types.js';
import type { AuthInfo, Clock, Logger, McpSession, MessageMiddleware, MiddlewarePlugin, ServerFactory } from './types.js';

const fn = <T>(name: string) => z.custom<T>((value) => typeof value === 'function', { message: `${name} must be a function` });

const positiveInt = z.number().int().positive();
const positiveMs = positiveInt;

/** The options schema of {@link createMcpSessionEndpoint}; its inferred input is {@link McpSessionOptions}. */
export const mcpSessionOptionsSchema = z
  .object({
    /**
     * Builds an MCP server: one per legacy session (called again when a session is rehydrated), and
     * one per process for requests without a session (`session` undefined): the 2026-07-28 protocol,
     * and legacy clients with `legacy: 'stateless'`. See {@link ServerFactory}.
     */
    server: fn<ServerFactory>('server'),
    /**
     * How legacy (2025-11-25 and earlier) clients are served, beside the 2026-07-28 protocol on the same endpoint:
     * - `sessions` (default): real sessions (`Mcp-Session-Id`), with every feature of this library.
     * - `stateless`: no session; every request stands alone, served by one server per process;
     *   GET and DELETE get 405. Progress and logging still reach the client on the POST's response.
     * - `reject`: 2026-07-28 only; a legacy request gets 400 with the supported versions.
     */
    legacy: z.enum(['sessions', 'stateless', 'reject']).default('sessions'),
    /** Where state handles live (records of the same shape as sessions'). Default: a memory store owned by this endpoint. */
    handleStore: z.custom<SessionStore>((v) => typeof v === 'object' && v !== null).optional(),
    /** At most this many state handles at once; creating another throws. Default 100,000. */
    maxHandles: positiveInt.default(100_000),
    /** How long a `requestState` minted for a multi round-trip request stays valid. Default 10 min. */
    requestStateTtlMs: positiveMs.default(10 * 60_000),
    /** `subscriptions/listen` streams open at once on this process; more are refused. Default 1,000. */
    maxListenStreams: positiveInt.default(1_000),
    /** `auto` (default): JSON unless the handler sends a related message first, then SSE. */
    responseMode: z.enum(['auto', 'sse', 'json']).default('auto'),
    /** Where session records live. Default: a memory store owned by this endpoint. */
    sessionStore: z.custom<SessionStore>((v) => typeof v === 'object' && v !== null).optional(),
    /** Where stream events live for resumption. Default: a memory store; `null` turns resumption off. */
    eventStore: z.custom<EventStore | null>((v) => v === null || (typeof v === 'object' && v !== null)).optional(),
    /** Rate-limit counters for `rateLimit()`. Default: memory. */
    rateLimitStore: z.custom<RateLimitStore>((v) => typeof v === 'object' && v !== null).optional(),
    /** Entries of the response cache for `cache()`. Default: memory. */
    cacheStore: z.custom<CacheStore>((v) => typeof v === 'object' && v !== null).optional(),
    /** Message middleware around every JSON-RPC request, outermost first. */
    middleware: z
      .array(
        z.custom<MessageMiddleware | MiddlewarePlugin>(
          (v) => typeof v === 'function' || (typeof v === 'object' && v !== null && typeof (v as MiddlewarePlugin).handle === 'function'),
          { message: 'each middleware is a function (ctx, next) or an object with handle(ctx, next)' },
        ),
      )
      .default([]),
    /** Publish/subscribe between processes sharing the stores. Default: in-process. */
    messageBus: z.custom<MessageBus>((v) => typeof v === 'object' && v !== null).optional(),
    /** A session with no activity for this long ends (open streams count as activity). Default 30 min. */
    idleTimeoutMs: positiveMs.default(30 * 60_000),
    /** A session ends this long after it was created, active or not. Default: no limit. */
    maxLifetimeMs: positiveMs.optional(),
    /** At most this many sessions at once (a memory bound no client can lift). Default 10,000. */
    maxSessions: positiveInt.default(10_000),
    /**
     * New sessions a minute per principal, or per client address for anonymous clients (see
     * `trustProxy`); more get 429. 0 turns the limit off. Default 60.
     */
    sessionCreationLimit: z.number().int().nonnegative().default(60),
    /**
     * Which `X-Forwarded-For` entries name the client: `false` none (the socket's peer is the client),
     * `true` all (the leftmost), or the number of proxies you run in front of the server. Only trust
     * proxies you control: a client can write any `X-Forwarded-For` it likes. Default false.
     */
    trustProxy: z.union([z.boolean(), z.number().int().nonnegative()]).default(false),
    /** At `maxSessions`: `reject` answers 503 with Retry-After; `evict-lru` ends the least recently active idle session. */
    onMaxSessions: z.enum(['reject', 'evict-lru']).default('reject'),
    /**
     * Answer `initialize` without building the session's server: with the result a server of your
     * factory gave for the same protocol version, the first time. The session's server is built by
     * its first request that needs one (work it starts in `oninitialized` runs then). Only for
     * factories whose servers answer `initialize` alike for every session (capabilities, server
     * info, instructions): a kept result goes to every later client, so nothing per-session or
     * per-principal may be in it. Default: false.
     */
    lazyServer: z.boolean().default(false),
    /** Drop a session's server from memory after this long unused; the next request rehydrates it. Default: never. */
    hibernateAfterMs: positiveMs.optional(),
    /** How often the one lifecycle sweeper runs. Default 5 s. */
    sweepIntervalMs: positiveMs.default(5_000),
    /**
     * In `auto` mode, a response not ready this long after its request arrived becomes SSE (a priming
     * event for clients on 2025-11-25, then keep-alive comments), so a proxy with an idle timeout does
     * not cut a long call. Default 10 s.
     */
    sseAfterMs: positiveMs.default(10_000),
    /** A comment on every open SSE stream this often; 0 turns keep-alive off. Default 15 s. */
    keepAliveIntervalMs: z.number().int().nonnegative().default(15_000),
    /** The `retry` hint sent to clients on >= 2025-11-25 with the priming event and on shutdown. Default 1 s. */
    retryIntervalMs: z.number().int().nonnegative().default(1_000),
    /** Close SSE responses after this long (SEP-1699 polling); the client resumes with `Last-Event-ID`. */
    maxStreamDurationMs: positiveMs.optional(),
    /** Largest accepted request body. Default 4 MiB. */
    maxBodyBytes: positiveInt.default(4 * 1024 * 1024),
    /** A request body that has not arrived whole this long after its headers gets 408. Default 30 s. */
    bodyTimeoutMs: positiveMs.default(30_000),
    /** Largest `initialize` params kept in a session record (and replayed); larger ones get 413. Default 64 KiB. */
    maxInitializeBytes: positiveInt.default(64 * 1024),
    /**
     * A request not answered this long after it reached the endpoint gets a JSON-RPC timeout error
     * (-32001), and its server is told to cancel it. Default 10 min.
     */
    requestTimeoutMs: positiveMs.default(10 * 60_000),
    /** Requests of one session in flight on one process at once; more get 429. Default 100. */
    maxRequestsInFlight: positiveInt.default(100),
    /**
     * Bytes an SSE response may hold unsent for a client that does not read; past them the stream is
     * closed and the client resumes from the event store. Default 1 MiB.
     */
    maxStreamBufferBytes: positiveInt.default(1024 * 1024),
    /** Origins allowed to call (`*` allows any). Default: same-origin, and localhost origins on a loopback server. */
    allowedOrigins: z.array(z.string().min(1)).optional(),
    /**
     * Host header values allowed (DNS-rebinding protection). Default: localhost names on a loopback
     * server; beyond loopback, none until you list them (or set `allowAnyHost`).
     */
    allowedHosts: z.array(z.string().min(1)).optional(),
    /**
     * Beyond loopback with no `allowedHosts`, answer any `Host` (a warning is logged once) instead of
     * refusing every request with 403. Only behind a proxy that checks `Host` itself. Default false.
     */
    allowAnyHost: z.boolean().default(false),
    /**
     * Derives the principal a session is bound to. Default: `defaultPrincipal(req.auth)`, the JSON of
     * the token's client id and user (`sub`).
     */
    principal: fn<(auth: AuthInfo | undefined, req: IncomingMessage) => string | undefined>('principal').optional(),
    onSessionCreated: fn<(session: McpSession) => void | Promise<void>>('onSessionCreated').optional(),
    onSessionClosed: fn<(session: McpSession, reason: SessionCloseReason) => void | Promise<void>>('onSessionClosed').optional(),
    /** Time source. Default: `Date.now`. */
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function').optional(),
    /**
     * Seal everything the stores keep with AES-256-GCM: state values, the stored `initialize`, events,
     * cache entries and bus messages. The first key encrypts; all decrypt (rotation).
     */
    encryptionKeys: z
      .array(
        z.custom<EncryptionKey>((v) => typeof v === 'object' && v !== null && 'id' in v && 'key' in v, {
          message: 'each key is { id, key }',
        }),
      )
      .min(1)
      .optional(),
    /**
     * With `encryptionKeys`, read values stored before the keys were set (a migration); otherwise a
     * value that is not sealed is refused, so whoever can write the store cannot forge one. Default false.
     */
    acceptUnsealed: z.boolean().default(false),
    /**
     * Session tokens: the `MCP-Session-Id` becomes a token that any process holding these keys
     * validates, and rebuilds the session from, without a store, so sessions outlive restarts on
     * memory stores. `[{ id, key }]`, 32-byte keys (base64); the first signs, all verify (rotation).
     * Sessions then last `maxLifetimeMs` (default 24 h) at most; see the README for what needs a store.
     */
    tokenKeys: z
      .array(
        z.custom<EncryptionKey>((v) => typeof v === 'object' && v !== null && 'id' in v && 'key' in v, {
          message: 'each key is { id, key }',
        }),
      )
      .min(1)
      .optional(),
    /** With `tokenKeys`: `signed` (HMAC-SHA256; claims readable) or `sealed` (AES-256-GCM; claims unreadable). Default `signed`. */
    tokenFormat: z.enum(['signed', 'sealed']).default('signed'),
    /** With `tokenKeys` and no `sessionStore`: where ended sessions' tokens are revoked until they expire. Default: memory. */
    revocationStore: z
      .custom<RevocationStore>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as RevocationStore).revoke === 'function' &&
          typeof (v as RevocationStore).isRevoked === 'function',
        { message: 'revocationStore must have revoke and isRevoked methods' },
      )
      .optional(),
    /** Keys of state per session. Default 1,000. */
    maxStateKeys: positiveInt.default(1_000),
    /** Bytes of state (keys and stored values) per session. Default 1 MiB. */
    maxStateBytes: positiveInt.default(1024 * 1024),
    /** Receives structured lifecycle logs. Default: errors as process warnings, nothing else. */
    logger: z
      .custom<Logger>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          ['error', 'warn', 'info', 'debug'].every((level) => typeof (v as Record<string, unknown>)[level] === 'function'),
        { message: 'logger must have error, warn, info and debug methods' },
      )
      .optional(),
    /** Identifies this process among those sharing the stores. Default: random. */
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
    /** A response stream delivered whole to a connected client is kept this long for a late resumption. Default 10 s. */
    completedStreamTtlMs: z.number().int().nonnegative().default(10_000),
    /** Events kept per stream by the default memory event store. Default 1,000. */
    maxEventsPerStream: positiveInt.default(1_000),
  })
  .strict()
  // Two kinds of record in one store would sweep each other away and mix their counts.
  .refine((options) => options.handleStore === undefined || options.handleStore !== options.sessionStore, {
    message: 'handleStore must be a store of its own, not the sessionStore (createRedisStores returns one)',
    path: ['handleStore'],
  });

/** Options of {@link createMcpSessionEndpoint} and every adapter. */
export type McpSessionOptions = z.input<typeof mcpSessionOptionsSchema>;
/** Options after defaults are applied. */
export type ResolvedOptions = z.output<typeof mcpSessionOptionsSchema>;

/** Options that cannot come from the environment (nor show in `endpoint.settings`): functions, stores and objects. */
const CODE_ONLY_OPTIONS = [
  'server',
  'sessionStore',
  'handleStore',
  'eventStore',
  'messageBus',
  'rateLimitStore',
  'cacheStore',
  'revocationStore',
  'middleware',
  'principal',
  'onSessionCreated',
  'onSessionClosed',
  'clock',
  'logger',
] as const satisfies ReadonlyArray<keyof McpSessionOptions>;
type CodeOnlyOption = (typeof CODE_ONLY_OPTIONS)[number];

/**
 * Every other option can also come from an `MCP_SESSION_*` environment variable, read as its kind
 * says. The type makes a new plain option without a line here fail to compile.
 */
const ENV_OPTIONS = {
  legacy: 'string',
  maxHandles: 'number',
  requestStateTtlMs: 'number',
  maxListenStreams: 'number',
  responseMode: 'string',
  idleTimeoutMs: 'number',
  maxLifetimeMs: 'number',
  maxSessions: 'number',
  sessionCreationLimit: 'number',
  trustProxy: 'boolean-or-number',
  onMaxSessions: 'string',
  hibernateAfterMs: 'number',
  lazyServer: 'boolean',
  sweepIntervalMs: 'number',
  keepAliveIntervalMs: 'number',
  sseAfterMs: 'number',
  retryIntervalMs: 'number',
  maxStreamDurationMs: 'number',
  maxBodyBytes: 'number',
  bodyTimeoutMs: 'number',
  maxInitializeBytes: 'number',
  requestTimeoutMs: 'number',
  maxRequestsInFlight: 'number',
  maxStreamBufferBytes: 'number',
  allowedOrigins: 'list',
  allowedHosts: 'list',
  allowAnyHost: 'boolean',
  nodeId: 'string',
  completedStreamTtlMs: 'number',
  maxEventsPerStream: 'number',
  maxStateKeys: 'number',
  maxStateBytes: 'number',
  encryptionKeys: 'keys',
  acceptUnsealed: 'boolean',
  tokenKeys: 'keys',
  tokenFormat: 'string',
} as const satisfies Record<
  Exclude<keyof McpSessionOptions, CodeOnlyOption>,
  'string' | 'number' | 'boolean' | 'boolean-or-number' | 'list' | 'keys'
>;

/** `idleTimeoutMs` → `MCP_SESSION_IDLE_TIMEOUT_MS`. */
export function envName(option: string): string {
  return `MCP_SESSION_${option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

function fromEnvironment(env: Record<string, string | undefined>): { options: Record<string, unknown>; names: Map<string, string> } {
  const options: Record<string, unknown> = {};
  const names = new Map<string, string>();
  for (const [option, kind] of Object.entries(ENV_OPTIONS)) {
    const name = envName(option);
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    names.set(option, name);
    const value = raw.trim();
    if (kind === 'number') options[option] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    else if (kind === 'boolean')
      options[option] = value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
    else if (kind === 'boolean-or-number')
      options[option] = value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value;
    else if (kind === 'list')
      options[option] = value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    else if (kind === 'keys') {
      // "id:base64,id:base64" — the first encrypts.
      options[option] = value.split(',').map((pair) => {
        const [id = '', key = ''] = pair.trim().split(':');
        return { id, key };
      });
    } else options[option] = value;
  }
  return { options, names };
}

/**
 * Validates options once, at start-up; a bad option throws naming the option (or the environment
 * variable it came from) and the reason. Options given in code win over `MCP_SESSION_*` variables,
 * which win over the defaults.
 */
export function resolveOptions(options: McpSessionOptions, env: Record<string, string | undefined> = process.env): ResolvedOptions {
  const environment = fromEnvironment(env);
  const merged: Record<string, unknown> = { ...environment.options };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  const parsed = mcpSessionOptionsSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => {
      const option = String(issue.path[0] ?? '');
      const source = options[option as keyof McpSessionOptions] === undefined ? environment.names.get(option) : undefined;
      const where = issue.path.join('.') || '(options)';
      return `${source === undefined ? where : `${where} (from ${source})`}: ${issue.message}`;
    })
    .join('; ');
  throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `invalid options: ${problems}`);
}

/** The settings an endpoint runs with, as the host app may show them: no functions, stores or keys. */
export type EndpointSettings = Readonly<
  Omit<ResolvedOptions, CodeOnlyOption | 'encryptionKeys' | 'tokenKeys'> & {
    /** Whether state is sealed at rest (`encryptionKeys` are set). */
    encryptionAtRest: boolean;
    /** Whether session ids are tokens (`tokenKeys` are set). */
    sessionTokens: boolean;
  }
>;

/** What {@link EndpointSettings} shows of resolved options. */
export function endpointSettings(options: ResolvedOptions): EndpointSettings {
  const settings: Record<string, unknown> = { ...options };
  for (const option of [...CODE_ONLY_OPTIONS, 'encryptionKeys', 'tokenKeys']) delete settings[option];
  // Token sessions always end: without a maximum lifetime, they get the default one.
  const maxLifetimeMs = options.maxLifetimeMs ?? (options.tokenKeys === undefined ? undefined : DEFAULT_TOKEN_LIFETIME_MS);
  return Object.freeze({
    ...settings,
    maxLifetimeMs,
    encryptionAtRest: options.encryptionKeys !== undefined,
    sessionTokens: options.tokenKeys !== undefined,
  }) as EndpointSettings;
}
