/** Helpers to write message middleware for one method, and the plugin shape every middleware takes. */
import type { MessageMiddleware, MiddlewarePlugin, Scope } from '../types.js';

export function toPlugin(middleware: MessageMiddleware | MiddlewarePlugin): MiddlewarePlugin {
  return typeof middleware === 'function' ? { name: middleware.name || 'middleware', handle: middleware } : middleware;
}

/**
 * A key for everything kept per scope (rate-limit counters, cache entries): `s:<session id>`,
 * `p:<principal>` or `h:<handle>`. A session's principal was checked before any middleware runs; a
 * handle is only named by the client, and its tool checks it after the middleware. So an
 * authenticated principal's key of a handle carries the principal (`h:<handle>:p:<principal>`):
 * naming another principal's handle reaches none of its counters or cache entries. Anonymous clients
 * share their handles (the id is the secret), and so the key.
 */
export function scopeKey(scope: Scope, principal: string | undefined): string {
  if (scope.kind === 'session') return `s:${scope.id}`;
  if (scope.kind === 'principal') return `p:${scope.id}`;
  // A handle id has no ':', so the principal after it cannot make another handle's key.
  return principal === undefined ? `h:${scope.id}` : `h:${scope.id}:${principalKey(principal, '')}`;
}

/**
 * A key for everything kept per principal: `p:<principal>`, or for a request without one, `a:` and
 * the key it falls back to (its address for a rate limit, its scope for the cache). The prefixes
 * differ, so no principal's name can make it another's key.
 */
export function principalKey(principal: string | undefined, anonymous: string): string {
  return principal === undefined ? `a:${anonymous}` : `p:${principal}`;
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
