/** DNS-rebinding and cross-site protection: the `Host` and `Origin` checks every request passes first. */
import type { IncomingMessage } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from './refusal.js';

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

/** 127.0.0.0/8, ::1, and their IPv4-mapped IPv6 forms (`::ffff:127.x.y.z`). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/** Which hosts and origins may call. Undefined lists take the defaults below. */
export interface OriginPolicy {
  readonly allowedHosts: readonly string[] | undefined;
  readonly allowedOrigins: readonly string[] | undefined;
  /** Beyond loopback with no `allowedHosts`: answer any `Host` (true), or refuse every request (false). */
  readonly allowAnyHost: boolean;
}

/** A server reachable beyond loopback that does not know its own host names. */
export const UNLISTED_HOSTS =
  'Forbidden: this server listens beyond loopback and allowedHosts is not set, so it cannot tell its own host ' +
  'names from a DNS-rebinding attack; set allowedHosts (MCP_SESSION_ALLOWED_HOSTS), or allowAnyHost to accept any';

const forbidden = (message: string): Refusal => refusal(403, JsonRpcErrorCode.ServerError, message);

/**
 * The 403 a request gets, or undefined when it may go on. Defaults: a server listening on loopback
 * only answers localhost host names; one listening beyond loopback answers only the `allowedHosts`
 * (none when unset, unless `allowAnyHost`); a present `Origin` must be the request's own origin, or
 * a localhost origin on a loopback server.
 */
export function checkOriginAndHost(req: IncomingMessage, policy: OriginPolicy): Refusal | undefined {
  const { allowedHosts, allowedOrigins } = policy;
  const host = req.headers.host;
  const loopback = isLoopbackAddress(req.socket.localAddress);
  if (allowedHosts === undefined && !loopback && !policy.allowAnyHost) return forbidden(UNLISTED_HOSTS);
  if (allowedHosts !== undefined) {
    if (host === undefined || !(allowedHosts.includes(host) || allowedHosts.includes(hostnameOf(host)))) {
      return forbidden(`Forbidden: host ${host ?? '(none)'} is not allowed`);
    }
  } else if (loopback && (host === undefined || !LOCAL_HOSTNAMES.has(hostnameOf(host)))) {
    return forbidden(`Forbidden: host ${host ?? '(none)'} is not allowed on a loopback server`);
  }
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (allowedOrigins !== undefined) {
    return allowedOrigins.includes('*') || allowedOrigins.includes(origin)
      ? undefined
      : forbidden(`Forbidden: origin ${origin} is not allowed`);
  }
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return forbidden(`Forbidden: origin ${origin} is not allowed`);
  }
  if (host !== undefined && parsed.host === host) return undefined;
  if (loopback && LOCAL_HOSTNAMES.has(parsed.hostname)) return undefined;
  return forbidden(`Forbidden: origin ${origin} is not allowed`);
}
