/**
 * The session-token codec on its own: what a token carries and hides, that any change to it is
 * refused, rotation by key id, expiry and the principal binding, and the keys it accepts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_CARRIED_BYTES, MAX_TOKEN_LENGTH, SessionTokens, carriedParams } from '../src/sessions/tokens.js';

const T0 = Date.UTC(2026, 0, 1);
const key = () => randomBytes(32).toString('base64');
const K1 = { id: 'k1', key: key() };
const K2 = { id: 'k2', key: key() };
const params = {
  protocolVersion: '2025-11-25',
  capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
  clientInfo: { name: 'claude-code', title: 'Claude Code', version: '2.0.14' },
};
const content = (overrides: Partial<Parameters<SessionTokens['issue']>[0]> = {}) => ({
  sid: randomBytes(16).toString('base64url'),
  iat: T0,
  exp: T0 + 60_000,
  principal: '{"client":"app","user":"alice"}' as string | undefined,
  protocolVersion: '2025-11-25',
  params,
  ...overrides,
});
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe.each(['signed', 'sealed'] as const)('%s session tokens', (format) => {
  const tokens = new SessionTokens([K1], format);

  it('round-trips: the claims come back from a visible-ASCII token that names its key', () => {
    const issued = content();
    const token = tokens.issue(issued);
    expect(token).toMatch(/^[\x21-\x7e]+$/);
    expect(token.startsWith(format === 'signed' ? 's1.k1.' : 'e1.k1.')).toBe(true);
    expect(tokens.isWellFormed(token)).toBe(true);
    const opened = tokens.verify(token, issued.principal, T0);
    expect(opened?.claims).toMatchObject({ sid: issued.sid, iat: T0, exp: T0 + 60_000 });
    expect(opened?.params()).toEqual(params);
    // The negotiated version is written only when it differs from the one asked for.
    expect(opened?.claims.pv).toBeUndefined();
    expect(tokens.verify(tokens.issue(content({ protocolVersion: '2025-06-18' })), issued.principal, T0)?.claims.pv).toBe('2025-06-18');
  });

  it('binds the principal without naming it, and refuses every other principal', () => {
    const alice = '{"client":"app","user":"alice"}';
    const token = tokens.issue(content({ principal: alice }));
    const decoded = token.split('.').map((part) => Buffer.from(part, 'base64url').toString('utf8'));
    expect(decoded.join('\n')).not.toContain('alice');
    expect(tokens.verify(token, alice, T0)).toBeDefined();
    expect(tokens.verify(token, '{"client":"app","user":"bob"}', T0)).toBeUndefined();
    expect(tokens.verify(token, undefined, T0)).toBeUndefined();
    const anonymous = tokens.issue(content({ principal: undefined }));
    expect(tokens.verify(anonymous, undefined, T0)).toBeDefined();
    expect(tokens.verify(anonymous, alice, T0)).toBeUndefined();
  });

  it('is valid until its expiry, and not at it', () => {
    const token = tokens.issue(content());
    expect(tokens.verify(token, content().principal, T0 + 59_999)).toBeDefined();
    expect(tokens.verify(token, content().principal, T0 + 60_000)).toBeUndefined();
    // open() reads a token whatever its expiry (for the admin directory).
    expect(tokens.open(token)?.claims.exp).toBe(T0 + 60_000);
  });

  it('refuses the token changed in any one character, unused base64url bits included', () => {
    const issued = content();
    const token = tokens.issue(issued);
    let refused = 0;
    for (let at = 0; at < token.length; at += 1) {
      const original = token[at]!;
      const other = original === '.' ? 'A' : BASE64URL[(BASE64URL.indexOf(original) + 1) % 64]!;
      const tampered = `${token.slice(0, at)}${other}${token.slice(at + 1)}`;
      if (tokens.verify(tampered, issued.principal, T0) === undefined) refused += 1;
    }
    expect(refused).toBe(token.length);
    // Cut short or lengthened.
    expect(tokens.verify(token.slice(0, -1), issued.principal, T0)).toBeUndefined();
    expect(tokens.verify(`${token}A`, issued.principal, T0)).toBeUndefined();
  });

  it('refuses a token of a key it does not list, and verifies one of any key it lists (rotation)', () => {
    const old = tokens.issue(content());
    const rotated = new SessionTokens([K2, K1], format);
    expect(rotated.verify(old, content().principal, T0)).toBeDefined();
    const fresh = rotated.issue(content());
    expect(fresh.startsWith(format === 'signed' ? 's1.k2.' : 'e1.k2.')).toBe(true);
    // A process that never had k2 refuses it; one that dropped k1 refuses the old token.
    expect(tokens.verify(fresh, content().principal, T0)).toBeUndefined();
    expect(new SessionTokens([K2], format).verify(old, content().principal, T0)).toBeUndefined();
    // The same key id with other key bytes is another key.
    expect(new SessionTokens([{ id: 'k1', key: key() }], format).verify(old, content().principal, T0)).toBeUndefined();
  });

  it('never throws on garbage, and refuses anything longer than a token can be', () => {
    const garbage = [
      '',
      's1.',
      'e1.',
      's1.k1',
      's1.k1.',
      's1.k1..',
      'e1.k1.AAAA',
      's1.k1.e30.AAAA',
      `s1.k1.${'A'.repeat(10)}.${'A'.repeat(43)}`,
      `s1.k1.${'A'.repeat(10)}.AAAA.${'A'.repeat(43)}`,
      `s1.${'k'.repeat(40)}.AAAA.${'A'.repeat(43)}`,
      'x1.k1.AAAA.AAAA',
      's1.k1.AA AA.AAAA',
      `e1.k1.${'A'.repeat(MAX_TOKEN_LENGTH)}`,
    ];
    for (let i = 0; i < 300; i += 1) garbage.push(`${format === 'signed' ? 's1' : 'e1'}.k1.${randomBytes(i % 97).toString('base64url')}`);
    for (const value of garbage) expect(tokens.verify(value, undefined, T0), value.slice(0, 40)).toBeUndefined();
    expect(tokens.isWellFormed(`e1.k1.${'A'.repeat(MAX_TOKEN_LENGTH)}`)).toBe(false);
  });
});

describe('what a token carries', () => {
  it('the signed claims are readable; the sealed ones are not', () => {
    const signed = new SessionTokens([K1], 'signed').issue(content());
    const sealed = new SessionTokens([K1], 'sealed').issue(content());
    const readable = (token: string) =>
      token.split('.').some((part) => Buffer.from(part, 'base64url').toString('utf8').includes('claude-code'));
    expect(readable(signed)).toBe(true);
    expect(readable(sealed)).toBe(false);
  });

  it('keeps of the initialize params the version, the capabilities and the name, title and version of the client', () => {
    const carried = carriedParams({
      ...params,
      clientInfo: { ...params.clientInfo, icons: [{ src: `data:image/png;base64,${'A'.repeat(5000)}` }], websiteUrl: 'https://x' },
      _meta: { extra: true },
    });
    expect(carried).toEqual(params);
    // Shapes the server will refuse are kept as they are, so it still refuses them.
    expect(carriedParams({ protocolVersion: 7, clientInfo: 'x' })).toEqual({ protocolVersion: 7, clientInfo: 'x' });
    expect(carriedParams({})).toEqual({});
  });

  it('the largest carried params make a token that stays under the header limit', () => {
    const capabilities = { experimental: { padding: 'x'.repeat(MAX_CARRIED_BYTES - 120) } };
    const largest = { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'n', version: '1' } };
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThanOrEqual(MAX_CARRIED_BYTES);
    for (const format of ['signed', 'sealed'] as const) {
      const token = new SessionTokens([{ id: 'a-32-character-key-id-0123456789', key: key() }], format).issue(content({ params: largest }));
      expect(token.length).toBeLessThan(MAX_TOKEN_LENGTH);
      expect(token.length).toBeLessThan(3_200);
    }
  });
});

describe('token keys', () => {
  it('are checked at construction, naming tokenKeys', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => new SessionTokens([], 'signed'), /tokenKeys: give at least one key/],
      [() => new SessionTokens([{ id: 'bad id', key: key() }], 'signed'), /tokenKeys: key id "bad id"/],
      [() => new SessionTokens([{ id: 'k', key: randomBytes(16).toString('base64') }], 'signed'), /tokenKeys: key "k" must be 32 bytes/],
      [() => new SessionTokens([K1, { id: 'k1', key: key() }], 'signed'), /tokenKeys: key id "k1" is listed twice/],
    ];
    for (const [build, message] of cases) {
      expect(build).toThrow(message);
      try {
        build();
      } catch (error) {
        expect(error).toMatchObject({ code: 'ERR_MCP_SESSION_INVALID_OPTIONS' });
      }
    }
  });

  it('raw 32-byte keys work as well as base64', () => {
    const raw = randomBytes(32);
    const a = new SessionTokens([{ id: 'k', key: raw }], 'signed');
    const b = new SessionTokens([{ id: 'k', key: raw.toString('base64') }], 'signed');
    expect(b.verify(a.issue(content()), content().principal, T0)).toBeDefined();
  });
});
