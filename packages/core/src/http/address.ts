/** The client's network address, as far as the proxies in front of this server can be trusted. */
import type { IncomingMessage } from 'node:http';

/**
 * Which `X-Forwarded-For` entries to believe: `false` none (the socket's peer is the client),
 * `true` all (the leftmost entry is the client), or how many proxies you run in front of the
 * server (the entry that many hops from the socket).
 */
export type TrustProxy = boolean | number;

/** The client address of a request; an IPv4-mapped IPv6 address is given as IPv4. */
export function clientAddress(req: IncomingMessage, trustProxy: TrustProxy): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy === false || trustProxy === 0) return unmapped(peer);
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const chain = [...forwarded, peer];
  const index = trustProxy === true ? 0 : Math.max(0, chain.length - 1 - trustProxy);
  return unmapped(chain[index]!);
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
