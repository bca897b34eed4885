/**
 * Session tokens end to end on bare node:http: what a client gets and sends back, a session that
 * outlives its process on memory stores, rotation, the size a client can make a token, and the
 * options from the environment. Refusals, revocation and lifetimes: token-lifecycle.test.ts.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type McpSession, MemoryRevocationStore } from '@x/mcp-session-core';
import { MAX_CARRIED_BYTES, SessionTokens, composeEndpoint, resolveOptions } from '@x/mcp-session-core/internal';
import { manualClock } from './helpers.js';
import { REAL_CLIENT, callTool, closeAll, factory, initialize, key, openSession, post, start } from './token-harness.js';

afterEach(closeAll);

const K1 = key('k1');

describe.each(['signed', 'sealed'] as const)('%s session tokens', (tokenFormat) => {
  it('the SDK client gets a token, sends it back, and is answered with it; the host knows the session by the id inside', async () => {
    const created: McpSession[] = [];
    const app = await start({ tokenKeys: [K1], tokenFormat, onSessionCreated: (session) => void created.push(session) });
    const client = new Client(REAL_CLIENT.clientInfo, { capabilities: REAL_CLIENT.capabilities });
    const transport = new StreamableHTTPClientTransport(new URL(app.url));
    await client.connect(transport);
    try {
      const token = transport.sessionId!;
      expect(token).toMatch(
        tokenFormat === 'signed' ? /^s1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/ : /^e1\.k1\.[A-Za-z0-9_-]+$/,
      );
      // Measured for the README (407 signed, 401 sealed): Claude Code's capabilities and client info, anonymous.
      expect(token.length).toBeLessThanOrEqual(tokenFormat === 'signed' ? 410 : 405);
      const sid = new SessionTokens([K1], tokenFormat).open(token)!.claims.sid;
      expect(created.map((session) => session.id)).toEqual([sid]);
      expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect((await client.callTool({ name: 'echo', arguments: { text: 'hi' } })).content).toEqual([{ type: 'text', text: 'hi' }]);
      // Every answer carries the token the client sent, never the id inside (SDK v1 clients adopt what they are answered).
      const call = await callTool(app.url, token, 'echo', { text: 'raw' });
      expect(call).toMatchObject({ status: 200, header: token, text: 'raw' });
      const get = await fetch(app.url, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': token, 'mcp-protocol-version': '2025-11-25' },
      });
      expect(get.status).toBe(200);
      expect(get.headers.get('mcp-session-id')).toBe(token);
      await get.body?.cancel();
      // The directory finds it by either.
      expect((await app.endpoint.sessions.get(token))?.id).toBe(sid);
      expect((await app.endpoint.sessions.get(sid))?.clientInfo).toEqual(REAL_CLIENT.clientInfo);
      expect((await app.endpoint.sessions.list()).map((session) => session.id)).toEqual([sid]);
    } finally {
      await client.close();
    }
  });

  it('a new process with the same keys and fresh memory stores goes on with the session, with no new initialize', async () => {
    const closed: string[] = [];
    const first = await start({ tokenKeys: [K1], tokenFormat, onSessionClosed: (_session, reason) => void closed.push(reason) });
    const token = await openSession(first.url, { user: 'alice' });
    expect((await callTool(first.url, token, 'echo', { text: 'before' }, 'alice')).text).toBe('before');
    await first.close();
    // A token session outlives its process: shutdown did not end it.
    expect(closed).toEqual([]);

    const second = await start({ tokenKeys: [K1], tokenFormat });
    const after = await callTool(second.url, token, 'client', {}, 'alice');
    expect(after.status).toBe(200);
    // The rebuilt server negotiated what the client declared at initialize.
    expect(JSON.parse(after.text!)).toEqual({ capabilities: REAL_CLIENT.capabilities, info: REAL_CLIENT.clientInfo });
    const metrics = await second.endpoint.metrics();
    expect(metrics.sessionsCreated).toBe(0);
    expect(metrics.sessionsRehydrated).toBe(1);
    // State lives in the store of the process that serves it: here it starts empty, and works.
    expect((await callTool(second.url, token, 'remember', { value: 'v' }, 'alice')).text).toBe('ok');
    expect((await callTool(second.url, token, 'recall', {}, 'alice')).text).toBe('v');
    const session = await second.endpoint.sessions.get(token);
    expect(session).toMatchObject({ principal: '{"client":"app","user":"alice"}', protocolVersion: '2025-11-25', requestCount: 3 });
  });
});

describe('session tokens', () => {
  it('rotate by key id: the first key signs, every listed key verifies', async () => {
    const K2 = key('k2');
    const old = await start({ tokenKeys: [K1] });
    const before = await openSession(old.url);
    const rotated = await start({ tokenKeys: [K2, K1] });
    expect((await callTool(rotated.url, before, 'echo', { text: 'old key' })).text).toBe('old key');
    const after = await openSession(rotated.url);
    expect(after.startsWith('s1.k2.')).toBe(true);
    const retired = await start({ tokenKeys: [K2] });
    expect((await callTool(retired.url, after, 'echo', { text: 'new key' })).text).toBe('new key');
    expect((await callTool(retired.url, before, 'echo', { text: 'x' })).status).toBe(404);
  });

  it('a token carries only what the server needs of initialize, capped: every server of the session sees the same', async () => {
    const app = await start({ tokenKeys: [K1] });
    const icons = [{ src: `data:image/png;base64,${'A'.repeat(10_000)}` }];
    const token = await openSession(app.url, { params: { ...REAL_CLIENT, clientInfo: { ...REAL_CLIENT.clientInfo, icons } } });
    expect(token.length).toBeLessThanOrEqual(410);
    // The first server, built at initialize, saw no icons either.
    const seen = JSON.parse((await callTool(app.url, token, 'client')).text!) as { info: Record<string, unknown> };
    expect(seen.info).toEqual(REAL_CLIENT.clientInfo);

    const padding = 'x'.repeat(MAX_CARRIED_BYTES);
    const { response } = await initialize(app.url, { params: { ...REAL_CLIENT, capabilities: { experimental: { padding } } } });
    expect(response.status).toBe(413);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(await response.json()).toMatchObject({
      error: { code: -32000, message: expect.stringMatching(/session token carries at most 2048/) },
    });
    expect(await app.endpoint.sessions.count()).toBe(1);
  });

  it('sessions last maxLifetimeMs at most, 24 hours unless set; the settings say tokens are on and show no key', async () => {
    const clock = manualClock();
    const app = await start({ tokenKeys: [K1], clock });
    expect(app.endpoint.settings).toMatchObject({ sessionTokens: true, tokenFormat: 'signed', maxLifetimeMs: 86_400_000 });
    expect(JSON.stringify(app.endpoint.settings)).not.toContain(K1.key);
    expect(Object.keys(app.endpoint.settings)).not.toContain('tokenKeys');
    const token = await openSession(app.url);
    expect(new SessionTokens([K1], 'signed').open(token)!.claims).toMatchObject({ iat: clock.now(), exp: clock.now() + 86_400_000 });
  });

  it('MCP_SESSION_TOKEN_KEYS and MCP_SESSION_TOKEN_FORMAT configure them through the same schema', async () => {
    const K2 = key('k2');
    const env = { MCP_SESSION_TOKEN_KEYS: `${K2.id}:${K2.key}, ${K1.id}:${K1.key}`, MCP_SESSION_TOKEN_FORMAT: 'sealed' };
    const resolved = resolveOptions({ server: factory() }, env);
    expect(resolved.tokenKeys).toEqual([K2, K1]);
    expect(resolved.tokenFormat).toBe('sealed');
    const endpoint = composeEndpoint(resolved);
    expect(endpoint.settings.sessionTokens).toBe(true);
    await endpoint.close();
    expect(() => resolveOptions({ server: factory() }, { MCP_SESSION_TOKEN_FORMAT: 'jwt' })).toThrow(
      /tokenFormat \(from MCP_SESSION_TOKEN_FORMAT\)/,
    );
    // A bad key fails at start-up, naming the option.
    expect(() => composeEndpoint(resolveOptions({ server: factory() }, { MCP_SESSION_TOKEN_KEYS: 'k1:c2hvcnQ=' }))).toThrow(
      /tokenKeys: key "k1" must be 32 bytes/,
    );
    // Without keys, ids are random as ever, and no revocation store is read.
    const revocations = new MemoryRevocationStore();
    const plain = await start({ revocationStore: revocations });
    const { sessionId } = await initialize(plain.url);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(plain.endpoint.settings).toMatchObject({ sessionTokens: false, maxLifetimeMs: undefined });
    const response = await post(plain.url, sessionId, { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBe(sessionId);
  });
});
