import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type TrustProxy, clientAddress } from '../src/http/address.js';
import { type OriginPolicy, checkOriginAndHost, isLoopbackAddress } from '../src/http/guards.js';

/** A request as the guards read it: headers and the socket's addresses. */
function request(headers: Record<string, string>, localAddress: string, remoteAddress = '198.51.100.7'): IncomingMessage {
  return { headers, socket: { localAddress, remoteAddress } } as unknown as IncomingMessage;
}

const defaults: OriginPolicy = { allowedHosts: undefined, allowedOrigins: undefined, allowAnyHost: false };

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:127.0.0.2', '::FFFF:127.1.2.3'])(
    'takes %s for loopback',
    (address) => expect(isLoopbackAddress(address)).toBe(true),
  );
  it.each(['10.0.0.1', '0.0.0.0', '::', '::ffff:10.0.0.1', '128.0.0.1', '127.0.0.1.evil', 'fe80::1', ''])('not %s', (address) =>
    expect(isLoopbackAddress(address)).toBe(false),
  );
});

describe('checkOriginAndHost', () => {
  it('on loopback answers localhost names only, on every loopback address', () => {
    for (const local of ['127.0.0.1', '127.0.0.2', '::ffff:127.0.0.2', '::1']) {
      expect(checkOriginAndHost(request({ host: 'localhost:3000' }, local), defaults)).toBeUndefined();
      expect(checkOriginAndHost(request({ host: 'evil.example' }, local), defaults)?.status).toBe(403);
    }
  });

  it('beyond loopback without allowedHosts refuses every request, saying what to set', () => {
    const refused = checkOriginAndHost(request({ host: 'api.example' }, '10.0.0.5'), defaults);
    expect(refused?.status).toBe(403);
    expect(refused?.message).toMatch(/allowedHosts/);
    expect(checkOriginAndHost(request({ host: 'localhost' }, '0.0.0.0'), defaults)?.status).toBe(403);
  });

  it('beyond loopback answers the allowedHosts, or any host with allowAnyHost', () => {
    const listed: OriginPolicy = { ...defaults, allowedHosts: ['api.example'] };
    expect(checkOriginAndHost(request({ host: 'api.example:443' }, '10.0.0.5'), listed)).toBeUndefined();
    expect(checkOriginAndHost(request({ host: 'evil.example' }, '10.0.0.5'), listed)?.status).toBe(403);
    const any: OriginPolicy = { ...defaults, allowAnyHost: true };
    expect(checkOriginAndHost(request({ host: 'whatever.example' }, '10.0.0.5'), any)).toBeUndefined();
  });

  it('a present Origin must be the same origin, or localhost on loopback', () => {
    const listed: OriginPolicy = { ...defaults, allowedHosts: ['api.example'] };
    expect(checkOriginAndHost(request({ host: 'api.example', origin: 'https://api.example' }, '10.0.0.5'), listed)).toBeUndefined();
    expect(checkOriginAndHost(request({ host: 'api.example', origin: 'https://evil.example' }, '10.0.0.5'), listed)?.status).toBe(403);
    expect(checkOriginAndHost(request({ host: 'localhost', origin: 'http://localhost:5173' }, '127.0.0.2'), defaults)).toBeUndefined();
  });
});

describe('clientAddress', () => {
  const forwarded = { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' };
  it.each<[TrustProxy, Record<string, string>, string]>([
    [false, forwarded, '192.0.2.50'],
    [0, forwarded, '192.0.2.50'],
    [true, forwarded, '203.0.113.9'],
    [1, forwarded, '198.51.100.1'],
    [2, forwarded, '203.0.113.9'],
    [5, forwarded, '203.0.113.9'],
    [1, {}, '192.0.2.50'],
  ])('trustProxy %s takes the right hop', (trust, headers, expected) => {
    expect(clientAddress(request(headers, '10.0.0.5', '192.0.2.50'), trust)).toBe(expected);
  });

  it('gives an IPv4-mapped peer as IPv4', () => {
    expect(clientAddress(request({}, '::ffff:10.0.0.5', '::ffff:192.0.2.8'), false)).toBe('192.0.2.8');
  });
});
