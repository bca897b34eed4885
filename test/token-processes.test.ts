import { randomBytes } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  type RoundRobinProxy,
  deleteKeys,
  postInSession,
  redisForTests,
  startRoundRobinProxy,
  type TestRedis,
} from '@x/mcp-session-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DemoProcess, startDemoProcess } from './support/demo-process.js';

/**
 * Session tokens across real processes: demo processes that share only MCP_SESSION_TOKEN_KEYS (every
 * store in memory, no Redis) serve one session behind a round-robin proxy and after a restart of
 * both; with a Redis denylist (REVOCATION_REDIS_URL) and nothing else shared, a DELETE through one
 * is honoured by the other.
 */
const TOKEN_KEYS = `k1:${randomBytes(32).toString('base64')}`;
const DEMO_TOKEN_KEY = randomBytes(32).toString('base64');

const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
});

function demo(env: Record<string, string | undefined> = {}): Promise<DemoProcess> {
  return startDemoProcess({
    MCP_SESSION_TOKEN_KEYS: TOKEN_KEYS,
    DEMO_TOKEN_KEY,
    MCP_SESSION_SWEEP_INTERVAL_MS: '100',
    REDIS_URL: undefined,
    MCP_SESSION_ENCRYPTION_KEYS: undefined,
    ...env,
  });
}

async function connect(url: string, bearer?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'token-sessions', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(bearer === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  return (result.content as Array<{ text?: string }>)[0]?.text ?? '';
}

/** A tools/list POST straight to one process, as `bearer` when given. */
function postTo(url: string, sessionId: string, bearer?: string): Promise<Response> {
  return postInSession(
    url,
    sessionId,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    {
      'mcp-protocol-version': '2025-11-25',
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
    },
  );
}

async function login(mcpUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(mcpUrl.replace(/\/mcp$/, '/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const backendsOf = (proxy: RoundRobinProxy, sessionId: string) =>
  new Set(proxy.log.filter((entry) => entry.sessionId === sessionId).map((entry) => entry.backend));
const initializes = (proxy: RoundRobinProxy) => proxy.log.filter((entry) => entry.kind === 'initialize').length;

describe('two demo processes that share only the token keys, behind a round-robin proxy', () => {
  let processes: DemoProcess[] = [];
  let proxy: RoundRobinProxy;
  beforeAll(async () => {
    processes = await Promise.all([demo(), demo()]);
    proxy = await startRoundRobinProxy(processes.map((p) => p.url));
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    for (const p of processes) await p.stop('SIGKILL');
  });

  it('serve one session; a tampered token and a process with other keys answer 404; after both restart it goes on', async () => {
    for (const p of processes) expect(p.output()).toMatch(/Session ids: signed tokens \(MCP_SESSION_TOKEN_KEYS\), valid 24 h at most/);
    const bearer = await login(processes[0]!.url, 'admin', 'admin-password');
    const { client, transport } = await connect(proxy.url, bearer);
    const token = transport.sessionId!;
    expect(token).toMatch(/^s1\.k1\./);
    for (let i = 0; i < 4; i += 1) expect(await call(client, 'echo', { text: `call ${i}` })).toBe(`call ${i}`);
    expect(await call(client, 'secure_operation', { action: 'deploy' })).toBe('deploy done by admin');
    expect(backendsOf(proxy, token).size).toBe(2);

    const other = await login(processes[1]!.url, 'demo', 'demo-password');
    const tampered = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
    const stranger = await demo({ MCP_SESSION_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}` });
    try {
      for (const p of processes) {
        expect((await postTo(p.url, token, bearer)).status).toBe(200);
        expect((await postTo(p.url, tampered, bearer)).status).toBe(404);
        expect((await postTo(p.url, token, other)).status).toBe(404);
        expect((await postTo(p.url, token)).status).toBe(404);
      }
      const refused = await postTo(stranger.url, token, bearer);
      expect(refused.status).toBe(404);
      expect(await refused.json()).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
    } finally {
      await stranger.stop();
    }

    const before = initializes(proxy);
    for (const p of processes) await p.stop('SIGTERM');
    processes = await Promise.all([demo(), demo()]);
    proxy.setBackends(processes.map((p) => p.url));
    const served = proxy.log.length;
    for (let i = 0; i < 4; i += 1) expect(await call(client, 'echo', { text: `after ${i}` })).toBe(`after ${i}`);
    expect(await call(client, 'whoami')).toMatch(/"sub":"admin"/);
    expect(initializes(proxy)).toBe(before);
    expect(new Set(proxy.log.slice(served).map((entry) => entry.backend)).size).toBe(2);
    expect(transport.sessionId).toBe(token);
  });
});

describe('two demo processes with only the token keys and a Redis denylist in common', () => {
  let redis: TestRedis;
  const prefix = `mcp-tokens-${randomBytes(4).toString('hex')}:`;
  let processes: DemoProcess[] = [];
  beforeAll(async () => {
    redis = await redisForTests();
    processes = await Promise.all([0, 1].map(() => demo({ REVOCATION_REDIS_URL: redis.url, MCP_SESSION_REDIS_PREFIX: prefix })));
  }, 60_000);
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await deleteKeys(redis.url, prefix);
    await redis.stop();
  });

  it('a DELETE through one process is honoured by the other, and by both after they restart', async () => {
    for (const p of processes) expect(p.output()).toMatch(/the token decides; revocations in shared/);
    const [a, b] = processes as [DemoProcess, DemoProcess];
    const { client, transport } = await connect(a.url);
    const token = transport.sessionId!;
    expect(await call(client, 'echo', { text: 'x' })).toBe('x');
    expect((await postTo(b.url, token)).status).toBe(200);
    await transport.terminateSession();
    expect((await postTo(b.url, token)).status).toBe(404);
    expect((await postTo(a.url, token)).status).toBe(404);
    // The denylist is in Redis: a restart forgets nothing.
    for (const p of processes) await p.stop('SIGTERM');
    processes = await Promise.all([0, 1].map(() => demo({ REVOCATION_REDIS_URL: redis.url, MCP_SESSION_REDIS_PREFIX: prefix })));
    for (const p of processes) expect((await postTo(p.url, token)).status).toBe(404);
  });
});
