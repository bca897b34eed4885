import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type Clock, type McpSessionOptions, MemorySessionStore } from '@x/mcp-session-core';
import { deleteKeys, postInSession, redisForTests, SUBSCRIPTION_ID, within } from '@x/mcp-session-testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDemoApp, type DemoAuthOptions } from '../examples/demo/app.js';
import { DemoTokens, LOGIN_LIMITS, type PasswordHash, scryptHash, TOKEN_TTL_SECONDS, tokenKeyFromEnv } from '../examples/demo/auth.js';
import { type DemoProcess, startDemoProcess } from './support/demo-process.js';

/** The demo's tools and routes, from the official SDK client and plain HTTP, as the README walks through them. */
interface Demo {
  /** The app's origin, e.g. http://127.0.0.1:1234. */
  base: string;
  /** The MCP endpoint. */
  url: string;
  store: MemorySessionStore;
  close(): Promise<void>;
}

let demo: Demo | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await demo?.close();
  demo = undefined;
});

async function startDemo(auth: DemoAuthOptions = {}, clock?: Clock, options: Partial<McpSessionOptions> = {}): Promise<Demo> {
  const store = new MemorySessionStore();
  const { app, mcp } = createDemoApp({ sessionStore: store, ...(clock === undefined ? {} : { clock }), ...options }, auth);
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  demo = {
    base,
    url: `${base}/mcp`,
    store,
    async close() {
      await mcp.close();
      server.closeAllConnections();
      server.close();
    },
  };
  return demo;
}

/** POST /login; the raw answer. */
function login(base: string, username: string, password: string): Promise<Response> {
  return fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

async function tokenFor(base: string, username: string, password: string): Promise<string> {
  const response = await login(base, username, password);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** One raw `tools/list` POST in a session, with the given token or none. */
function rawList(url: string, sessionId: string, token?: string): Promise<Response> {
  return postInSession(
    url,
    sessionId,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    {
      'mcp-protocol-version': '2025-11-25',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
  );
}

/** scrypt, recording every password it digests. */
function countingHash(): { hash: PasswordHash; digested: string[] } {
  const digested: string[] = [];
  return {
    digested,
    hash: (password, salt) => {
      digested.push(password);
      return scryptHash(password, salt);
    },
  };
}

interface Connected {
  client: Client;
  sessionId: string;
  logs: string[];
  nextLog: () => Promise<string>;
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
}

async function connect(url: string, token?: string): Promise<Connected> {
  const client = new Client({ name: 'demo-walkthrough', version: '1.0.0' });
  const logs: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  client.setNotificationHandler('notifications/message', (notification) => {
    const text = String(notification.params.data);
    logs.push(text);
    waiting.shift()?.(text);
  });
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } },
  );
  await client.connect(transport);
  clients.push(client);
  return {
    client,
    sessionId: transport.sessionId!,
    logs,
    nextLog: () => new Promise((resolve) => waiting.push(resolve)),
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args });
      const content = result.content as Array<{ type: string; text?: string }>;
      return { text: content[0]?.text ?? '', isError: result.isError === true };
    },
  };
}

/** What a 2026-07-28 client sent: one entry per HTTP request. */
interface Sent {
  method: string | undefined;
  protocolVersion: string | null;
  sessionId: string | null;
}

interface ModernClient {
  client: Client;
  /** Every HTTP request the client made, in order. */
  sent: Sent[];
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
  /** create_basket's basket_id. */
  createBasket(): Promise<string>;
}

/** An SDK v2 client pinned to 2026-07-28: no initialize, no session; every call is a request of its own. */
async function connectModern(url: string, token?: string): Promise<ModernClient> {
  const client = new Client({ name: 'demo-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  const sent: Sent[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : undefined;
      sent.push({ method: body?.method, protocolVersion: headers.get('mcp-protocol-version'), sessionId: headers.get('mcp-session-id') });
      return fetch(input, init);
    },
  });
  await client.connect(transport);
  clients.push(client);
  const call: ModernClient['call'] = async (name, args = {}) => {
    const result = await client.callTool({ name, arguments: args });
    const content = result.content as Array<{ type: string; text?: string }>;
    return { text: content[0]?.text ?? '', isError: result.isError === true };
  };
  return {
    client,
    sent,
    call,
    async createBasket() {
      const created = await call('create_basket');
      expect(created.isError).toBe(false);
      return (JSON.parse(created.text) as { basket_id: string }).basket_id;
    },
  };
}

const UNKNOWN_BASKET = {
  text: 'expired or unknown basket: baskets last 24 hours (1 hour without use); create_basket makes a new one',
  isError: true,
};

describe('the demo server', () => {
  it('session_id, session data and managed_tool, with two sessions kept apart', async () => {
    const { url } = await startDemo();
    const a = await connect(url);
    const b = await connect(url);
    const id = JSON.parse((await a.call('session_id')).text) as { sessionId: string; shortId: string };
    expect(id.sessionId).toBe(a.sessionId);
    expect(id.shortId).toBe(a.sessionId.slice(0, 8));
    expect((await a.call('set_session_data', { key: 'color', value: 'blue' })).text).toBe('stored color');
    expect((await a.call('get_session_data', { key: 'color' })).text).toBe('blue');
    expect((await a.call('list_session_keys')).text).toBe('["color"]');
    expect((await b.call('get_session_data', { key: 'color' })).text).toBe('no value for color');
    expect((await b.call('list_session_keys')).text).toBe('[]');
    const first = (await a.call('managed_tool', { data: 'x' })).text;
    const second = (await a.call('managed_tool', { data: 'y' })).text;
    const number = (text: string) => Number(/request #(\d+)/.exec(text)?.[1]);
    expect(number(second)).toBe(number(first) + 1);
  });

  it('join_coordination and broadcast_to_sessions reach the other joined sessions only', async () => {
    const { url } = await startDemo();
    const a = await connect(url);
    const b = await connect(url);
    const outsider = await connect(url);
    expect((await a.call('broadcast_to_sessions', { message: 'early' })).isError).toBe(true);
    await a.call('join_coordination');
    await b.call('join_coordination');
    const heard = b.nextLog();
    expect((await a.call('broadcast_to_sessions', { message: 'hello team' })).text).toBe('broadcast sent');
    expect(await heard).toBe(`${a.sessionId.slice(0, 8)}: hello team`);
    // The outsider and the sender hear nothing; a later broadcast from b to a proves a's stream is live.
    const back = a.nextLog();
    await b.call('broadcast_to_sessions', { message: 'ack' });
    expect(await back).toBe(`${b.sessionId.slice(0, 8)}: ack`);
    expect(a.logs).not.toContain(`${a.sessionId.slice(0, 8)}: hello team`);
    expect(outsider.logs).toEqual([]);
  });

  it('the README walkthrough: quoted from examples/demo/walkthrough.ts, and run against the demo', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('../examples/demo/walkthrough.ts', import.meta.url), 'utf8');
    const walkthrough = /\/\/ #region walkthrough\n([\s\S]*?)\/\/ #endregion walkthrough/.exec(source)![1]!.trimEnd();
    expect(readme).toContain('```ts\n' + walkthrough + '\n```');
    const { base } = await startDemo();
    vi.stubEnv('DEMO_URL', base);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      await import('../examples/demo/walkthrough.js');
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    const whoami = JSON.parse(lines.find((line) => line.startsWith('whoami '))!.slice('whoami '.length)) as Record<string, unknown>;
    expect(whoami).toMatchObject({ authenticated: true, sub: 'admin', clientId: 'mcp-session-demo', scopes: ['admin'] });
    expect(whoami.principal).toEqual(expect.anything());
    expect(lines.filter((line) => !line.startsWith('whoami ') && !line.startsWith('heard '))).toEqual([
      'set_session_data stored color',
      'get_session_data blue',
      'secure_operation deploy done by admin',
      'add_to_basket 1 item in the basket',
      'view_basket ["apple"]',
      'add_to_basket 1 item in the basket',
      'add_to_basket 2 items in the basket',
      'view_basket ["pear","plum"]',
      'secure_operation refused: no bearer token (log in with POST /login)',
      'join_coordination joined',
      'join_coordination joined',
      'broadcast_to_sessions broadcast sent',
    ]);
    expect(lines.at(-1)).toMatch(/^heard \S{8}: hello$/);
  });

  it('secure_operation takes its identity from the token alone: admin works; a non-admin token and an anonymous client are refused', async () => {
    const { base, url } = await startDemo();
    const anonymous = await connect(url);
    expect(JSON.parse((await anonymous.call('whoami')).text)).toEqual({ authenticated: false, principal: null });
    expect(await anonymous.call('secure_operation', { action: 'deploy' })).toEqual({
      text: 'refused: no bearer token (log in with POST /login)',
      isError: true,
    });
    // There is no login tool any more: nothing a session can store makes it an admin.
    const tools = (await anonymous.client.listTools()).tools.map((tool) => tool.name);
    expect(tools).not.toContain('secure_login');
    expect(tools).toContain('secure_operation');

    const user = await connect(url, await tokenFor(base, 'demo', 'demo-password'));
    expect(JSON.parse((await user.call('whoami')).text)).toMatchObject({ authenticated: true, sub: 'demo', scopes: [] });
    expect(await user.call('secure_operation', { action: 'deploy' })).toEqual({
      text: 'refused: the token lacks the admin scope',
      isError: true,
    });

    const admin = await connect(url, await tokenFor(base, 'admin', 'admin-password'));
    expect(await admin.call('secure_operation', { action: 'deploy' })).toEqual({ text: 'deploy done by admin', isError: false });
  });

  it("binds a session to the token's identity: another user's token or none gets 404, the same user's new token goes on, a bad token 401", async () => {
    const { base, url } = await startDemo();
    const admin = await connect(url, await tokenFor(base, 'admin', 'admin-password'));
    expect((await rawList(url, admin.sessionId, await tokenFor(base, 'demo', 'demo-password'))).status).toBe(404);
    expect((await rawList(url, admin.sessionId)).status).toBe(404);
    const again = await rawList(url, admin.sessionId, await tokenFor(base, 'admin', 'admin-password'));
    expect(again.status).toBe(200);
    await again.arrayBuffer();

    const anonymous = await connect(url);
    expect((await rawList(url, anonymous.sessionId, await tokenFor(base, 'admin', 'admin-password'))).status).toBe(404);

    // A forged token: the admin's claims under the demo user's MAC. Refused with 401, not served anonymously.
    const [version, , mac] = (await tokenFor(base, 'demo', 'demo-password')).split('.');
    const [, claims] = (await tokenFor(base, 'admin', 'admin-password')).split('.');
    const forged = await rawList(url, anonymous.sessionId, `${version}.${claims}.${mac}`);
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(await forged.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('POST /login answers a token for the right password only; a wrong password and an unknown user get the same answer after the same work', async () => {
    const counting = countingHash();
    const { base } = await startDemo({ hashPassword: counting.hash });
    const right = await login(base, 'admin', 'admin-password');
    expect(right.status).toBe(200);
    expect(right.headers.get('cache-control')).toBe('no-store');
    expect(await right.json()).toMatchObject({
      token_type: 'Bearer',
      expires_in: TOKEN_TTL_SECONDS,
      scope: 'admin',
      access_token: expect.stringMatching(/^v1\./),
    });
    const answers = [];
    for (const [username, password] of [
      ['admin', 'wrong-for-admin'],
      ['nobody', 'wrong-for-nobody'],
      ['demo', 'admin-password-'],
    ] as const) {
      const response = await login(base, username, password);
      answers.push({ status: response.status, body: await response.text() });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer)))).toEqual(
      new Set([JSON.stringify({ status: 401, body: '{"error":"invalid_credentials"}' })]),
    );
    // One digest per attempt, known user or not (admin-password was digested once more at start-up).
    const count = (password: string) => counting.digested.filter((digested) => digested === password).length;
    expect([count('admin-password'), count('wrong-for-admin'), count('wrong-for-nobody'), count('admin-password-')]).toEqual([2, 1, 1, 1]);
    const malformed = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'invalid_request' });
  });

  it('rate limits logins per username and per client address: 429 with Retry-After, and no password work', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const counting = countingHash();
    const { base } = await startDemo({ hashPassword: counting.hash }, clock);
    for (let i = 0; i < LOGIN_LIMITS.perUsername; i += 1) expect((await login(base, 'admin', `guess-${i}`)).status).toBe(401);
    const digests = counting.digested.length;
    const userLimited = await login(base, 'admin', 'admin-password');
    expect(userLimited.status).toBe(429);
    expect(userLimited.headers.get('retry-after')).toBe('12'); // 5 a minute: one more every 12 s
    expect(await userLimited.json()).toEqual({ error: 'too_many_attempts', retry_after_seconds: 12 });
    // The address has had 6 attempts; other usernames take it to its limit of 10.
    for (let i = LOGIN_LIMITS.perUsername + 1; i < LOGIN_LIMITS.perAddress; i += 1)
      expect((await login(base, `user-${i}`, 'x')).status).toBe(401);
    const addressLimited = await login(base, 'demo', 'demo-password');
    expect(addressLimited.status).toBe(429);
    expect(addressLimited.headers.get('retry-after')).toBe('6'); // 10 a minute: one more every 6 s
    expect(counting.digested.length).toBe(digests + LOGIN_LIMITS.perAddress - LOGIN_LIMITS.perUsername - 1);
    // Twelve seconds later the admin may try once more, and gets in.
    now += 12_000;
    expect((await login(base, 'admin', 'admin-password')).status).toBe(200);
    expect((await login(base, 'admin', 'admin-password')).status).toBe(429);
  });

  it('tokens: forged, re-signed, expired or malformed ones are refused; the key comes from DEMO_TOKEN_KEY, the encryption keys, or start-up', () => {
    let now = Date.now();
    const key = tokenKeyFromEnv({ DEMO_TOKEN_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(key).toEqual({ key: Buffer.alloc(32, 7), source: 'DEMO_TOKEN_KEY' });
    const tokens = new DemoTokens(key.key, { now: () => now });
    const { token, expiresAt } = tokens.issue('demo', []);
    expect(tokens.verify(token)).toEqual({ token, clientId: 'mcp-session-demo', scopes: [], expiresAt, extra: { sub: 'demo' } });
    const [version, claims, mac] = token.split('.') as [string, string, string];
    const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), scopes: ['admin'] })).toString(
      'base64url',
    );
    expect(tokens.verify(`${version}.${raised}.${mac}`)).toBeUndefined();
    expect(new DemoTokens(Buffer.alloc(32, 8), { now: () => now }).verify(token)).toBeUndefined();
    expect(tokens.verify(`v2.${claims}.${mac}`)).toBeUndefined();
    expect(tokens.verify(`${token}x`)).toBeUndefined();
    // The MAC's last character carries 2 unused bits: a sibling decodes to the same bytes, and is still refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = mac.slice(0, -1) + alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1];
    expect(Buffer.from(sibling, 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
    expect(tokens.verify(`${version}.${claims}.${sibling}`)).toBeUndefined();
    expect(tokens.verify(`${version}.${claims}`)).toBeUndefined();
    now += TOKEN_TTL_SECONDS * 1000;
    expect(tokens.verify(token)).toBeUndefined();

    expect(() => tokenKeyFromEnv({ DEMO_TOKEN_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/at least 32/);
    const encryption = {
      MCP_SESSION_ENCRYPTION_KEYS: `k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`,
    };
    const derived = tokenKeyFromEnv(encryption);
    expect(derived.source).toBe('MCP_SESSION_ENCRYPTION_KEYS');
    expect(tokenKeyFromEnv(encryption).key).toEqual(derived.key); // every process derives the same key
    expect(derived.key.equals(Buffer.alloc(32, 2))).toBe(false); // and not the encryption key itself
    const made = tokenKeyFromEnv({});
    expect(made.source).toBe('start-up');
    expect(tokenKeyFromEnv({}).key.equals(made.key)).toBe(false);
  });

  it('store_sensitive_data is encrypted at rest and read back by retrieve_sensitive_data in its own session only', async () => {
    const { url, store } = await startDemo();
    const a = await connect(url);
    const b = await connect(url);
    expect((await a.call('store_sensitive_data', { key: 'api', value: 'sk-123' })).text).toBe('stored api (encrypted at rest)');
    const raw = store.getState(a.sessionId, 'secret.api', Date.now());
    expect(raw).toMatch(/^enc:v1:/);
    expect(raw).not.toContain('sk-123');
    expect((await a.call('retrieve_sensitive_data', { key: 'api' })).text).toBe('sk-123');
    expect((await b.call('retrieve_sensitive_data', { key: 'api' })).text).toBe('no secret for api');
  });

  it('get_server_config, the cached resource and the rate-limited tool', async () => {
    const { url } = await startDemo();
    const a = await connect(url);
    const config = JSON.parse((await a.call('get_server_config')).text) as Record<string, unknown>;
    expect(config).toMatchObject({
      encryptionAtRest: true,
      stores: 'memory',
      tokens: expect.stringMatching(/^HMAC-SHA256 bearer tokens from POST \/login, valid 15 min, signed with /),
      loginRateLimit: '10 attempts a minute per client address, 5 per username',
      sessionIds: 'random, kept in the session store',
    });
    const first = await a.client.readResource({ uri: 'demo://server-info' });
    const second = await a.client.readResource({ uri: 'demo://server-info' });
    expect(second.contents).toEqual(first.contents);
    for (let i = 0; i < 5; i += 1) expect((await a.call('limited_echo', { text: `n${i}` })).text).toBe(`n${i}`);
    await expect(a.call('limited_echo', { text: 'one too many' })).rejects.toThrow(/Too Many Requests.*retryAfterMs/);
    expect((await a.call('echo', { text: 'others still work' })).text).toBe('others still work');
  });
});

describe('the basket, in both eras', () => {
  it('a legacy session keeps its basket in its own state: add_to_basket and view_basket, and another session sees none', async () => {
    const { url } = await startDemo();
    const a = await connect(url);
    const b = await connect(url);
    const tools = (await a.client.listTools()).tools;
    expect(tools.map((tool) => tool.name)).not.toContain('create_basket');
    expect(Object.keys(tools.find((tool) => tool.name === 'add_to_basket')!.inputSchema.properties ?? {})).toEqual(['item']);
    expect(await a.call('add_to_basket', { item: 'apple' })).toEqual({ text: '1 item in the basket', isError: false });
    expect(await a.call('add_to_basket', { item: 'pear' })).toEqual({ text: '2 items in the basket', isError: false });
    expect((await a.call('view_basket')).text).toBe('["apple","pear"]');
    expect((await b.call('view_basket')).text).toBe('[]');
  });

  it('a 2026-07-28 client: create_basket answers a handle, and items added in separate requests stay in it; no session anywhere', async () => {
    const { base, url } = await startDemo();
    const admin = await connectModern(url, await tokenFor(base, 'admin', 'admin-password'));
    expect(admin.client.getProtocolEra()).toBe('modern');
    const tools = (await admin.client.listTools()).tools;
    expect(tools.find((tool) => tool.name === 'create_basket')?.description).toMatch(/lasts 24 hours .* 1 hour without use/);
    expect(tools.find((tool) => tool.name === 'add_to_basket')?.inputSchema.required).toEqual(['basket_id', 'item']);
    const basketId = await admin.createBasket();
    expect(basketId).toMatch(/^bsk_[A-Za-z0-9_-]{22}$/);
    expect(await admin.call('add_to_basket', { basket_id: basketId, item: 'apple' })).toEqual({
      text: '1 item in the basket',
      isError: false,
    });
    expect(await admin.call('add_to_basket', { basket_id: basketId, item: 'pear' })).toEqual({
      text: '2 items in the basket',
      isError: false,
    });
    expect(await admin.call('view_basket', { basket_id: basketId })).toEqual({ text: '["apple","pear"]', isError: false });
    // A second basket of the same user is another basket.
    const other = await admin.createBasket();
    expect((await admin.call('view_basket', { basket_id: other })).text).toBe('[]');
    // Each call was a POST of its own, at 2026-07-28, and none carried a session.
    const calls = admin.sent.filter((sent) => sent.method === 'tools/call');
    expect(calls).toHaveLength(6);
    expect(admin.sent.filter((sent) => sent.method === 'initialize')).toEqual([]);
    expect(admin.sent.every((sent) => sent.protocolVersion === '2026-07-28' && sent.sessionId === null)).toBe(true);
  });

  it("a basket belongs to the user who made it: another user's token, or none, gets the expired-or-unknown error and changes nothing", async () => {
    const { base, url } = await startDemo();
    const admin = await connectModern(url, await tokenFor(base, 'admin', 'admin-password'));
    const basketId = await admin.createBasket();
    await admin.call('add_to_basket', { basket_id: basketId, item: 'apple' });
    const user = await connectModern(url, await tokenFor(base, 'demo', 'demo-password'));
    const anonymous = await connectModern(url);
    for (const stranger of [user, anonymous]) {
      expect(await stranger.call('view_basket', { basket_id: basketId })).toEqual(UNKNOWN_BASKET);
      expect(await stranger.call('add_to_basket', { basket_id: basketId, item: 'stolen' })).toEqual(UNKNOWN_BASKET);
    }
    expect((await admin.call('view_basket', { basket_id: basketId })).text).toBe('["apple"]');
    // The same user with a new token is the same principal.
    const again = await connectModern(url, await tokenFor(base, 'admin', 'admin-password'));
    expect((await again.call('view_basket', { basket_id: basketId })).text).toBe('["apple"]');
    // An anonymous basket is no one else's either.
    const anonymousBasket = await anonymous.createBasket();
    expect(await admin.call('view_basket', { basket_id: anonymousBasket })).toEqual(UNKNOWN_BASKET);
    expect((await anonymous.call('view_basket', { basket_id: anonymousBasket })).text).toBe('[]');
    // Ids that were never made: well-formed, malformed, another kind's.
    for (const unknown of [`bsk_${'A'.repeat(22)}`, 'nope', `sess_${basketId.slice(4)}`]) {
      expect(await admin.call('view_basket', { basket_id: unknown })).toEqual(UNKNOWN_BASKET);
    }
  });

  it('a basket ends after 1 hour without use, and 24 hours after it was made, as its description says', async () => {
    let now = Date.now();
    const { url } = await startDemo({}, { now: () => now });
    // Anonymous: the demo's bearer tokens would expire under the advanced clock.
    const client = await connectModern(url);
    const idle = await client.createBasket();
    now += 60 * 60_000 - 1;
    expect((await client.call('view_basket', { basket_id: idle })).isError).toBe(false);
    now += 60 * 60_000 + 1;
    expect(await client.call('view_basket', { basket_id: idle })).toEqual(UNKNOWN_BASKET);

    const used = await client.createBasket();
    const made = now;
    while (now + 50 * 60_000 < made + 24 * 60 * 60_000) {
      now += 50 * 60_000;
      expect((await client.call('add_to_basket', { basket_id: used, item: 'x' })).isError).toBe(false);
    }
    now = made + 24 * 60 * 60_000 + 1;
    expect(await client.call('view_basket', { basket_id: used })).toEqual(UNKNOWN_BASKET);
  });

  it('a 2026-07-28 client sees only the tools that work without a session: whoami from its token, echo, limited_echo per user', async () => {
    const { base, url } = await startDemo();
    const admin = await connectModern(url, await tokenFor(base, 'admin', 'admin-password'));
    expect((await admin.client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      [
        'add_to_basket',
        'countdown',
        'create_basket',
        'echo',
        'get_server_config',
        'limited_echo',
        'long_task',
        'notify_tools_changed',
        'secure_operation',
        'view_basket',
        'whoami',
      ].sort(),
    );
    await expect(admin.call('session_id')).rejects.toThrow(/Tool session_id not found/);
    // Without a session there is nothing the request is bound to but its token: no `principal` field.
    expect(JSON.parse((await admin.call('whoami')).text)).toEqual({
      authenticated: true,
      sub: 'admin',
      clientId: 'mcp-session-demo',
      scopes: ['admin'],
      expiresAt: expect.any(Number),
    });
    expect(await admin.call('secure_operation', { action: 'deploy' })).toEqual({ text: 'deploy done by admin', isError: false });
    expect(await admin.call('echo', { text: 'hi' })).toEqual({ text: 'hi', isError: false });
    expect((await admin.call('countdown', { from: 2 })).text).toBe('liftoff');
    const anonymous = await connectModern(url);
    expect(JSON.parse((await anonymous.call('whoami')).text)).toEqual({ authenticated: false });
    // limited_echo counts per user across requests: no session to start afresh with.
    for (let i = 0; i < 5; i += 1) expect((await admin.call('limited_echo', { text: `n${i}` })).text).toBe(`n${i}`);
    await expect(admin.call('limited_echo', { text: 'one too many' })).rejects.toThrow(/Too Many Requests|retryAfterMs/);
    expect((await anonymous.call('limited_echo', { text: 'mine' })).text).toBe('mine');
  });

  it('notify_tools_changed reaches a 2026-07-28 client listening for tool list changes, whoever calls it', async () => {
    const { url } = await startDemo();
    const listener = await connectModern(url);
    const heard: unknown[] = [];
    let arrived: () => void = () => undefined;
    listener.client.setNotificationHandler('notifications/tools/list_changed', (notification) => {
      heard.push(notification.params?._meta?.[SUBSCRIPTION_ID]);
      arrived();
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    // The demo has no prompts: of what the client asks for, only tool list changes are honoured.
    const subscription = await listener.client.listen({ toolsListChanged: true, promptsListChanged: true });
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
    let heardOne = next();
    const caller = await connectModern(url);
    expect(await caller.call('notify_tools_changed')).toEqual({ text: 'tools/list_changed sent to every listener', isError: false });
    await within(heardOne, 'the change raised by a 2026-07-28 client');
    // A legacy session has the tool too; the change goes to the listeners all the same.
    heardOne = next();
    const legacy = await connect(url);
    expect((await legacy.call('notify_tools_changed')).text).toBe('tools/list_changed sent to every listener');
    await within(heardOne, 'the change raised in a legacy session');
    expect(heard).toHaveLength(2);
    expect(heard.every((id) => typeof id === 'string' && id === heard[0])).toBe(true);
    await subscription.close();
  });

  it("legacy clients without sessions (legacy: 'stateless') get the same tools as 2026-07-28 clients, the basket by its id", async () => {
    const { url } = await startDemo({}, undefined, { legacy: 'stateless' });
    const client = new Client({ name: 'demo-stateless', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    clients.push(client);
    expect(transport.sessionId).toBeUndefined();
    expect(client.getProtocolEra()).toBe('legacy');
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain('create_basket');
    expect(tools).not.toContain('session_id');
    const text = async (name: string, args: Record<string, unknown>) =>
      ((await client.callTool({ name, arguments: args })).content as Array<{ text: string }>)[0]!.text;
    const { basket_id: basketId } = JSON.parse(await text('create_basket', {})) as { basket_id: string };
    expect(await text('add_to_basket', { basket_id: basketId, item: 'apple' })).toBe('1 item in the basket');
    expect(await text('view_basket', { basket_id: basketId })).toBe('["apple"]');
  });

  it("on Redis, a basket survives a restart of the demo process, and stays its owner's", async () => {
    const redis = await redisForTests();
    const prefix = `mcp-demo-basket-${randomBytes(4).toString('hex')}:`;
    const env = {
      REDIS_URL: redis.url,
      MCP_SESSION_REDIS_PREFIX: prefix,
      // The same keys after the restart: state sealed at rest opens again, and the login tokens derived from them verify.
      MCP_SESSION_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    };
    let demoProcess: DemoProcess | undefined = await startDemoProcess(env);
    try {
      const token = await tokenFor(demoProcess.url.replace(/\/mcp$/, ''), 'admin', 'admin-password');
      const before = await connectModern(demoProcess.url, token);
      const basketId = await before.createBasket();
      await before.call('add_to_basket', { basket_id: basketId, item: 'apple' });
      await demoProcess.stop('SIGTERM');
      demoProcess = await startDemoProcess(env);
      const after = await connectModern(demoProcess.url, token);
      expect(await after.call('add_to_basket', { basket_id: basketId, item: 'pear' })).toEqual({
        text: '2 items in the basket',
        isError: false,
      });
      expect((await after.call('view_basket', { basket_id: basketId })).text).toBe('["apple","pear"]');
      const user = await connectModern(demoProcess.url, await tokenFor(demoProcess.url.replace(/\/mcp$/, ''), 'demo', 'demo-password'));
      expect(await user.call('view_basket', { basket_id: basketId })).toEqual(UNKNOWN_BASKET);
    } finally {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      await demoProcess?.stop('SIGKILL');
      await deleteKeys(redis.url, prefix);
      await redis.stop();
    }
  });
});
