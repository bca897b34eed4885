/**
 * Who a request comes from: the principal a session is bound to. The default is structured (JSON of
 * the OAuth client and, when the token names one, the user), so no two identities share a principal
 * by how their parts join.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthInfo, Logger } from '../types.js';

export type PrincipalOf = (auth: AuthInfo | undefined, req: IncomingMessage) => string | undefined;

/**
 * The principal of an authenticated request by default: `{"client":"<clientId>","user":"<sub>"}`, or
 * `{"client":"<clientId>"}` for a token that names no user (then every token of that client is one
 * principal). Undefined without auth. Use it to name a principal in a broadcast filter.
 *
 * @example
 * ```ts
 * await mcp.sessions.broadcast(notification, { principal: defaultPrincipal(req.auth) });
 * ```
 */
export function defaultPrincipal(auth: AuthInfo | undefined): string | undefined {
  if (auth === undefined) return undefined;
  const user = auth.extra?.sub;
  return JSON.stringify(typeof user === 'string' ? { client: auth.clientId, user } : { client: auth.clientId });
}

/** OAuth clients already warned about, at most this many. */
const WARNED_CLIENTS = 100;

/**
 * The host's own `principal` option, or the default, which warns once per OAuth client whose tokens
 * name no user: its sessions can only be bound to the client, so every token of it can use them.
 */
export function principalResolver(custom: PrincipalOf | undefined, log: Logger): PrincipalOf {
  if (custom !== undefined) return custom;
  const warned = new Set<string>();
  return (auth) => {
    if (auth !== undefined && typeof auth.extra?.sub !== 'string' && !warned.has(auth.clientId) && warned.size < WARNED_CLIENTS) {
      warned.add(auth.clientId);
      log.warn(
        { clientId: auth.clientId },
        'mcp-session: a token of this OAuth client names no user (no sub): its sessions are bound to the client, so any of ' +
          "its tokens can use them; issue tokens with a sub, or give the 'principal' option",
      );
    }
    return defaultPrincipal(auth);
  };
}
