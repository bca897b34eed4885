import { JsonRpcError, JsonRpcErrorCode } from '../errors.js';
import type { RateLimitResult } from '../stores/types.js';
import type { MessageContext, MiddlewareEnv, MiddlewarePlugin, Scope } from '../types.js';
import { principalKey, scopeKey } from './middleware.js';

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests allowed per window (also the burst). */
  limit: number;
  windowMs: number;
  /**
   * Whose requests are counted together. `session` (default): the request's scope — its session in a
   * legacy session. `principal`: the authenticated principal, else the scope. A function: any key.
   */
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
  const identity = (scope: Scope, principal: string | undefined) => (key === 'session' ? scopeKey(scope) : principalKey(principal, scope));
  return {
    name: `rateLimit ${name}`,
    setup(lent) {
      env = lent;
    },
    prefetch(request) {
      // Counted while the session is looked up: one round trip for both. A function key needs the
      // whole context, so it is counted in handle().
      if (env === undefined || typeof key === 'function' || !applies(request.method, request.params)) return undefined;
      return Promise.resolve(consume(identity(request.scope, request.principal)));
    },
    async handle(ctx, next) {
      if (env === undefined || !applies(ctx.method, ctx.params)) return next();
      const prefetched = ctx.locals[`rateLimit ${name}`] as Promise<RateLimitResult> | undefined;
      const result = await (prefetched ?? consume(typeof key === 'function' ? `f:${key(ctx)}` : identity(ctx.scope, ctx.principal)));
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
