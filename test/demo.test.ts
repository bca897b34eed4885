import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { MemorySessionStore } from '@x/mcp-session-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoApp } from '../examples/demo/app.js';

/** The demo's tools, from the official SDK client, as the README walks through them. */
interface Demo {
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

async function startDemo(): Promise<Demo> {
  const store = new MemorySessionStore();
  const { app, mcp } = createDemoApp({ sessionStore: store }, (req, _res, next) => {
    // The demo host's auth: `Bearer <user>:<scope,scope>` becomes req.auth.
    const match = /^Bearer ([^:\s]+):?(\S*)$/.exec(req.headers.authorization ?? '');
    if (match !== null) Object.assign(req, { auth: { token: match[0], clientId: match[1], scopes: match[2] ? match[2].split(',') : [] } });
    next();
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  demo = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    store,
    async close() {
      await mcp.close();
      server.closeAllConnections();
      server.close();
    },
  };
  return demo;
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

  it('secure_login, secure_operation and logout; the admin scope is required with a token', async () => {
    const { url } = await startDemo();
    const anonymous = await connect(url);
    expect(await anonymous.call('secure_operation', { action: 'deploy' })).toEqual({
      text: 'refused: log in with secure_login first',
      isError: true,
    });
    expect((await anonymous.call('secure_login', { username: 'admin', password: 'wrong' })).isError).toBe(true);
    expect((await anonymous.call('secure_login', { username: 'admin', password: 'admin-password' })).text).toBe(
      'logged in as admin (admin)',
    );
    expect((await anonymous.call('secure_operation', { action: 'deploy' })).text).toBe('deploy done by admin');
    expect((await anonymous.call('logout')).text).toBe('logged out');
    expect((await anonymous.call('secure_operation', { action: 'deploy' })).isError).toBe(true);

    const reader = await connect(url, 'carol:read');
    await reader.call('secure_login', { username: 'demo', password: 'demo-password' });
    expect(await reader.call('secure_operation', { action: 'deploy' })).toEqual({
      text: 'refused: the token lacks the admin scope',
      isError: true,
    });
    const admin = await connect(url, 'dave:read,admin');
    await admin.call('secure_login', { username: 'demo', password: 'demo-password' });
    expect((await admin.call('secure_operation', { action: 'deploy' })).text).toBe('deploy done by demo');
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
    const config = JSON.parse((await a.call('get_server_config')).text) as { encryptionAtRest: boolean; stores: string };
    expect(config).toMatchObject({ encryptionAtRest: true, stores: 'memory' });
    const first = await a.client.readResource({ uri: 'demo://server-info' });
    const second = await a.client.readResource({ uri: 'demo://server-info' });
    expect(second.contents).toEqual(first.contents);
    for (let i = 0; i < 5; i += 1) expect((await a.call('limited_echo', { text: `n${i}` })).text).toBe(`n${i}`);
    await expect(a.call('limited_echo', { text: 'one too many' })).rejects.toThrow(/Too Many Requests.*retryAfterMs/);
    expect((await a.call('echo', { text: 'others still work' })).text).toBe('others still work');
  });
});
