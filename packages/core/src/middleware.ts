import type { IncomingHttpHeaders } from 'node:http';
import { JsonRpcErrorCode } from './errors.js';
import type { JSONRPCNotification, RequestId } from './jsonrpc.js';
import type { Metrics } from './metrics.js';
import type { AuthInfo, Clock } from './options.js';
import type { McpSession } from './session.js';
import type { CacheStore, RateLimitResult, RateLimitStore } from './stores/types.js';

/** What a message middleware sees of one JSON-RPC request. */
export interface MessageContext {
  readonly session: McpSession;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly id: RequestId;
  /** The principal the session is bound to (derived from `authInfo`). */
  readonly principal: string | undefined;
  readonly authInfo: AuthInfo | undefined;
  /** The HTTP request that carried the message. */
  readonly http: { readonly headers: IncomingHttpHeaders };
  /** Values shared between the middleware of one request. */
  readonly locals: Record<string, unknown>;
}

/** A JSON-RPC result object. */
export type JsonRpcResult = Record<string, unknown>;

/** Calls the rest of the chain and, at its end, the MCP server; resolves with the result. */
export type Next = () => Promise<JsonRpcResult>;

/**
 * Runs around every JSON-RPC request of a session, in onion order. Return a result without calling
 * `next()` to answer without reaching the server; throw {@link JsonRpcError} to answer with an error.
 */
export type MessageMiddleware = (ctx: MessageContext, next: Next) => JsonRpcResult | Promise<JsonRpcResult>;

/** What the endpoint lends a middleware plugin. */
export interface MiddlewareEnv {
  readonly clock: Clock;
  readonly rateLimitStore: RateLimitStore;
  readonly cacheStore: CacheStore;
  readonly metrics: Metrics;
}

/** What is known of a request before its session is looked up. */
export interface PrefetchContext {
  readonly sessionId: string;
  readonly principal: string | undefined;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
}

/** A middleware with a set-up step and a view of what servers send (for cache invalidation). */
export interface MiddlewarePlugin {
  readonly name: string;
  setup?(env: MiddlewareEnv): void;
  /**
   * Starts store work that needs only what {@link PrefetchContext} holds, at the same time as the
   * session lookup, so both share one round trip to a remote store. `handle` finds the promise in
   * `ctx.locals[name]`.
   */
  prefetch?(request: PrefetchContext): Promise<unknown> | undefined;
  handle: MessageMiddleware;
  onServerNotification?(session: McpSession, notification: JSONRPCNotification): void | Promise<void>;
}

/**
 * A JSON-RPC error a middleware answers with. With `httpStatus`, a response that has not started yet
 * is sent with that status and headers (a rate limit's 429 and `Retry-After`).
 */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  readonly code: number;
  readonly data: unknown;
  readonly httpStatus: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: number, message: string, options: { data?: unknown; httpStatus?: number; headers?: Record<string, string> } = {}) {
    super(message);
    this.code = code;
    this.data = options.data;
    this.httpStatus = options.httpStatus;
    this.headers = options.headers ?? {};
  }
}

export function toPlugin(middleware: MessageMiddleware | MiddlewarePlugin): MiddlewarePlugin {
  return typeof middleware === 'function' ? { name: middleware.name || 'middleware', handle: middleware } : middleware;
}

/** Composes middleware into one function around `innermost` (the server). */
export function compose(middleware: readonly MessageMiddleware[]): (ctx: MessageContext, innermost: Next) => Promise<JsonRpcResult> {
  return function run(ctx, innermost) {
    const dispatch = async (index: number): Promise<JsonRpcResult> => {
      const current = middleware[index];
      if (current === undefined) return innermost();
      let called = false;
      return current(ctx, () => {
        if (called) return Promise.reject(new Error('next() called more than once'));
        called = true;
        return dispatch(index + 1);
      });
    };
    return dispatch(0);
  };
}

/** Middleware for one method only. */
export function forMethod(method: string, handler: MessageMiddleware): MessageMiddleware {
  return function methodMiddleware(ctx, next) {
    return ctx.method === method ? handler(ctx, next) : next();
  };
}

/** Runs around `tools/call`. */
export const onCallTool = (handler: MessageMiddleware): MessageMiddleware => forMethod('tools/call', handler);
/** Runs around `tools/list`. */
export const onListTools = (handler: MessageMiddleware): MessageMiddleware => forMethod('tools/list', handler);
/** Runs around `resources/read`. */
export const onReadResource = (handler: MessageMiddleware): MessageMiddleware => forMethod('resources/read', handler);
/** Runs around `resources/list`. */
export const onListResources = (handler: MessageMiddleware): MessageMiddleware => forMethod('resources/list', handler);
/** Runs around `prompts/get`. */
export const onGetPrompt = (handler: MessageMiddleware): MessageMiddleware => forMethod('prompts/get', handler);
/** Runs around `prompts/list`. */
export const onListPrompts = (handler: MessageMiddleware): MessageMiddleware => forMethod('prompts/list', handler);

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests allowed per window (also the burst). */
  limit: number;
  windowMs: number;
  /** Whose requests are counted together. Default `session`. */
  key?: 'session' | 'principal' | ((ctx: MessageContext) => string);
  /** Only these methods count (and are limited). Default: every request. */
  methods?: readonly string[];
  /** Only `tools/call` of these tools count (and are limited). */
  tools?: readonly string[];
  /** Distinguishes several limiters sharing one store. Default: from limit and window. */
  name?: string;
}

/**
 * Limits requests with GCRA (a smooth sliding window) in the endpoint's `RateLimitStore`. Over the
 * limit the request never reaches the server: HTTP 429 with `Retry-After`, and a JSON-RPC error whose
 * `data.retryAfterMs` says when to try again.
 *
 * @example
 * ```ts
 * mcpSession({ server, middleware: [rateLimit({ limit: 10, windowMs: 1000, methods: ['tools/call'] })] });
 * ```
 */
export function rateLimit(options: RateLimitOptions): MiddlewarePlugin {
  const { limit, windowMs, key = 'session', methods, tools } = options;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('rateLimit: limit must be a positive integer');
  if (!(windowMs > 0)) throw new TypeError('rateLimit: windowMs must be positive');
  const name = options.name ?? `${limit}/${windowMs}${tools === undefined ? '' : `:${tools.join(',')}`}`;
  let env: MiddlewareEnv | undefined;
  const applies = (method: string, params: Record<string, unknown> | undefined) =>
    (methods === undefined || methods.includes(method)) &&
    (tools === undefined || (method === 'tools/call' && tools.includes(String(params?.name))));
  const consume = (who: string) => env!.rateLimitStore.consume(`rl:${name}:${who}`, env!.clock.now(), limit, windowMs);
  const identity = (sessionId: string, principal: string | undefined) =>
    key === 'session' ? `s:${sessionId}` : `p:${principal ?? `s:${sessionId}`}`;
  return {
    name: `rateLimit ${name}`,
    setup(lent) {
      env = lent;
    },
    prefetch(request) {
      // Counted while the session is looked up: one round trip for both. A function key needs the
      // whole context, so it is counted in handle().
      if (env === undefined || typeof key === 'function' || !applies(request.method, request.params)) return undefined;
      return Promise.resolve(consume(identity(request.sessionId, request.principal)));
    },
    async handle(ctx, next) {
      if (env === undefined || !applies(ctx.method, ctx.params)) return next();
      const prefetched = ctx.locals[`rateLimit ${name}`] as Promise<RateLimitResult> | undefined;
      const result = await (prefetched ?? consume(typeof key === 'function' ? `f:${key(ctx)}` : identity(ctx.session.id, ctx.principal)));
      if (result.allowed) return next();
      env.metrics.rateLimited += 1;
      throw new JsonRpcError(JsonRpcErrorCode.RateLimited, 'Too Many Requests', {
        data: { retryAfterMs: result.retryAfterMs },
        httpStatus: 429,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
      });
    },
  };
}

/** Options of {@link cache}. */
export interface CacheOptions {
  /** Methods whose results are cached. Default: the list methods and `resources/read`. */
  methods?: readonly string[];
  ttlMs: number;
  /** Who shares an entry. Default `session`. */
  scope?: 'session' | 'principal' | 'global';
}

const DEFAULT_CACHED = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'];

/** Which cache family a `list_changed` or `updated` notification invalidates. */
function invalidatedFamilies(notification: JSONRPCNotification): string[] {
  switch (notification.method) {
    case 'notifications/tools/list_changed':
      return ['tools/list'];
    case 'notifications/prompts/list_changed':
      return ['prompts/list'];
    case 'notifications/resources/list_changed':
      return ['resources/list', 'resources/templates/list'];
    case 'notifications/resources/updated':
      return typeof notification.params?.uri === 'string' ? [`resources/read ${notification.params.uri}`] : [];
    default:
      return [];
  }
}

/** A key for params that ignores `_meta` (progress tokens and the like) and key order. */
function stableParams(params: Record<string, unknown> | undefined): string {
  if (params === undefined) return '';
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.keys(value)
        .filter((name) => name !== '_meta')
        .sort()
        .map((name) => [name, sorted((value as Record<string, unknown>)[name])]),
    );
  };
  return JSON.stringify(sorted(params));
}

/**
 * Caches results in the endpoint's `CacheStore`. Entries of a family are invalidated by the matching
 * `notifications/*\/list_changed` or `notifications/resources/updated` from the server, by bumping a
 * generation counter, so no key is ever searched for. Hits and misses are counted in the metrics.
 *
 * @example
 * ```ts
 * mcpSession({ server, middleware: [cache({ ttlMs: 60_000, scope: 'global' })] });
 * ```
 */
export function cache(options: CacheOptions): MiddlewarePlugin {
  const { methods = DEFAULT_CACHED, ttlMs, scope = 'session' } = options;
  if (!(ttlMs > 0)) throw new TypeError('cache: ttlMs must be positive');
  let env: MiddlewareEnv | undefined;
  const scopeKey = (session: McpSession): string =>
    scope === 'global' ? 'g' : scope === 'principal' ? `p:${session.principal ?? `s:${session.id}`}` : `s:${session.id}`;
  const family = (method: string, params: Record<string, unknown> | undefined): string =>
    method === 'resources/read' ? `resources/read ${String(params?.uri)}` : method;
  return {
    name: 'cache',
    setup(lent) {
      env = lent;
    },
    async handle(ctx, next) {
      if (env === undefined || !methods.includes(ctx.method)) return next();
      const { cacheStore, clock, metrics } = env;
      const scoped = scopeKey(ctx.session);
      const generation = await cacheStore.counter(`gen:${scoped}:${family(ctx.method, ctx.params)}`);
      const key = `c:${scoped}:${ctx.method}:${generation}:${stableParams(ctx.params)}`;
      const hit = await cacheStore.get(key, clock.now());
      if (hit !== undefined) {
        metrics.cacheHits += 1;
        return JSON.parse(hit) as JsonRpcResult;
      }
      metrics.cacheMisses += 1;
      const result = await next();
      await cacheStore.set(key, JSON.stringify(result), ttlMs, clock.now());
      return result;
    },
    async onServerNotification(session, notification) {
      if (env === undefined) return;
      for (const name of invalidatedFamilies(notification)) await env.cacheStore.incr(`gen:${scopeKey(session)}:${name}`);
    },
  };
}
