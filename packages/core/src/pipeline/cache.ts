import { createHash } from 'node:crypto';
import type { JSONRPCNotification } from '../protocol/jsonrpc.js';
import { stableJson } from '../protocol/stable-json.js';
import type { JsonRpcResult, MessageContext, MiddlewareEnv, MiddlewarePlugin, Scope } from '../types.js';
import { principalKey, scopeKey } from './middleware.js';

/** Options of {@link cache}. */
export interface CacheOptions {
  /** Methods whose results are cached. Default: the list methods and `resources/read`. */
  methods?: readonly string[];
  ttlMs: number;
  /**
   * Who shares an entry:
   * - `principal` (default): every request of one authenticated principal; an anonymous request only
   *   its own session (or state handle). A list never reaches another user.
   * - `session`: each session (or state handle: per principal naming it) alone.
   * - `global`: everyone. Only for results that do not depend on who asks: a server whose tools,
   *   prompts or resources differ per user would show one user's to another.
   */
  scope?: 'session' | 'principal' | 'global';
}

const DEFAULT_CACHED = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'];

/** The 2026-07-28 results that must carry `ttlMs` and `cacheScope`. */
const HINTED: ReadonlySet<string> = new Set(['server/discover', ...DEFAULT_CACHED]);

/** A cached result and when it was made. */
interface CacheEntry {
  at: number;
  r: JsonRpcResult;
}

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

/**
 * Caches results in the endpoint's `CacheStore`. Entries of a family are invalidated by the matching
 * `notifications/*\/list_changed` or `notifications/resources/updated` from the server, by bumping a
 * generation counter, so no key is ever searched for. Hits and misses are counted in the metrics.
 *
 * @example
 * ```ts
 * mcpSession({ server, middleware: [cache({ ttlMs: 60_000, scope: 'principal' })] });
 * ```
 */
export function cache(options: CacheOptions): MiddlewarePlugin {
  const { methods = DEFAULT_CACHED, ttlMs, scope = 'principal' } = options;
  if (!(ttlMs > 0)) throw new TypeError('cache: ttlMs must be positive');
  let env: MiddlewareEnv | undefined;
  const sharedBy = (requestScope: Scope, principal: string | undefined): string =>
    scope === 'global'
      ? 'g'
      : scope === 'principal'
        ? principalKey(principal, scopeKey(requestScope, principal))
        : scopeKey(requestScope, principal);
  const family = (method: string, params: Record<string, unknown> | undefined): string =>
    method === 'resources/read' ? `resources/read ${String(params?.uri)}` : method;
  /**
   * A 2026-07-28 result says how long the client may reuse it (what is left of the entry's life) and
   * whether it may be shared: `private` when the entry is keyed by a principal, session or handle.
   */
  const hinted = (ctx: MessageContext, result: JsonRpcResult, at: number): JsonRpcResult => {
    if (ctx.era !== 'modern' || !HINTED.has(ctx.method) || env === undefined) return result;
    const shared = scope === 'global' && result.cacheScope !== 'private';
    return { ...result, ttlMs: Math.max(0, at + ttlMs - env.clock.now()), cacheScope: shared ? 'public' : 'private' };
  };
  return {
    name: 'cache',
    setup(lent) {
      env = lent;
      if (scope === 'global') {
        lent.log.warn(
          { methods },
          "mcp-session: cache({ scope: 'global' }) shares results between every principal: use it only for results that do not depend on who asks",
        );
      }
    },
    async handle(ctx, next) {
      if (env === undefined || !methods.includes(ctx.method)) return next();
      const { cacheStore, clock, metrics } = env;
      const scoped = sharedBy(ctx.scope, ctx.principal);
      const named = family(ctx.method, ctx.params);
      // A change for everyone bumps the global generation; one scope's server bumps that scope's.
      const [everyone, own] = await Promise.all([
        cacheStore.counter(`gen:*:${named}`, clock.now()),
        cacheStore.counter(`gen:${scoped}:${named}`, clock.now()),
      ]);
      // The params are hashed: a key names no argument (secret, or megabytes) in the store. Each era has
      // its own entries: a 2026-07-28 result (resultType, its own vocabulary) is no legacy one.
      const params = createHash('sha256').update(stableJson(ctx.params)).digest('base64url');
      const key = `c:${scoped}:${ctx.era}:${ctx.method}:${everyone}.${own}:${params}`;
      const hit = await cacheStore.get(key, clock.now());
      if (hit !== undefined) {
        const entry = JSON.parse(hit) as CacheEntry;
        metrics.count('cacheHits');
        return hinted(ctx, entry.r, entry.at);
      }
      metrics.count('cacheMisses');
      const result = await next();
      const at = clock.now();
      await cacheStore.set(key, JSON.stringify({ at, r: result } satisfies CacheEntry), ttlMs, at);
      return hinted(ctx, result, at);
    },
    async onServerNotification(source, notification) {
      if (env === undefined) return;
      const scoped = source.scope === undefined ? '*' : sharedBy(source.scope, source.principal);
      // A generation counter outlives every entry made under it (they live ttlMs), then goes: no
      // counter is kept for ever, and none comes back to a value an entry still alive was made under.
      const expiry = { ttlMs, now: env.clock.now() };
      for (const name of invalidatedFamilies(notification)) await env.cacheStore.incr(`gen:${scoped}:${name}`, expiry);
    },
  };
}
