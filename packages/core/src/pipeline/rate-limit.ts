import { JsonRpcError, JsonRpcErrorCode } from '../errors.js';
import type { MessageContext, MiddlewareEnv, MiddlewarePlugin } from '../types.js';
import { principalKey, scopeKey } from './middleware.js';

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests allowed per window (also the burst). */
  limit: number;
  windowMs: number;
  /**
   * Whose requests are counted together:
   * - `principal` (default): the authenticated principal, or an anonymous client by its network
   *   address. A new session starts no new count.
   * - `address`: the client's network address, whoever it is (behind a proxy, see `trustProxy`).
   * - `session`: each session (or state handle: per principal naming it) alone. A client that opens a new session counts
   *   afresh: only for limits that pace one session's own work, never against abuse.
   * - a function of the request: any key.
   */
  key?: 'principal' | 'address' | 'session' | ((ctx: MessageContext) => string);
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
  const { limit, windowMs, key = 'principal', methods, tools } = options;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('rateLimit: limit must be a positive integer');
  if (!(windowMs > 0)) throw new TypeError('rateLimit: windowMs must be positive');
  const kind = typeof key === 'function' ? 'f' : key;
  const name = options.name ?? `${limit}/${windowMs}${tools === undefined ? '' : `:${tools.join(',')}`}:${kind}`;
  let env: MiddlewareEnv | undefined;
  const applies = (method: string, params: Record<string, unknown> | undefined) =>
    (methods === undefined || methods.includes(method)) &&
    (tools === undefined || (method === 'tools/call' && tools.includes(String(params?.name))));
  const identity = (ctx: MessageContext): string => {
    if (typeof key === 'function') return `f:${key(ctx)}`;
    if (key === 'session') return scopeKey(ctx.scope, ctx.principal);
    if (key === 'address') return `n:${ctx.address}`;
    return principalKey(ctx.principal, `n:${ctx.address}`);
  };
  return {
    name: `rateLimit ${name}`,
    setup(lent) {
      env = lent;
    },
    async handle(ctx, next) {
      if (env === undefined || !applies(ctx.method, ctx.params)) return next();
      // Counted here, after the session and its principal were checked: only the owner's requests
      // use a session's (or principal's) quota.
      const result = await env.rateLimitStore.consume(`rl:${name}:${identity(ctx)}`, env.clock.now(), limit, windowMs);
      if (result.allowed) return next();
      env.metrics.count('rateLimited');
      throw new JsonRpcError(JsonRpcErrorCode.RateLimited, 'Too Many Requests', {
        data: { retryAfterMs: result.retryAfterMs },
        httpStatus: 429,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
      });
    },
  };
}
