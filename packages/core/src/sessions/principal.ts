/** Who a request comes from: the principal a session is bound to. */
import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '../types.js';

export type PrincipalOf = (auth: AuthInfo | undefined, req: IncomingMessage) => string | undefined;

/** `clientId`, and `:sub` when the token names a subject. */
function defaultPrincipal(auth: AuthInfo | undefined): string | undefined {
  if (auth === undefined) return undefined;
  const subject = auth.extra?.sub;
  return typeof subject === 'string' ? `${auth.clientId}:${subject}` : auth.clientId;
}

/** The host's own `principal` option, or the default. */
export function principalResolver(custom: PrincipalOf | undefined): PrincipalOf {
  return custom ?? defaultPrincipal;
}
