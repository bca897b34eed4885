import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  type ListenStream,
  type RoundRobinProxy,
  SUBSCRIPTION_ID,
  deleteKeys,
  openListen,
  redisForTests,
  startRedisServer,
  startRoundRobinProxy,
  subscriptionIdOf,
  type TestRedis,
} from '@x/mcp-session-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type DemoProcess, startDemoProcess } from './support/demo-process.js';

/**
 * Scale-out on real Redis: three demo processes behind a round-robin proxy with no stickiness, driven
 * by the official SDK client. Every HTTP request of a session may land on another process.
 */
const ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;

/** `env` adds to the demo's environment; a variable set to undefined is left out. */
async function startDemo(redisUrl: string, prefix: string, env: Record<string, string | undefined> = {}): Promise<DemoProcess> {
  return startDemoProcess({
    REDIS_URL: redisUrl,
    MCP_SESSION_REDIS_PREFIX: prefix,
    MCP_SESSION_ENCRYPTION_KEYS: ENCRYPTION_KEYS,
    MCP_SESSION_SWEEP_INTERVAL_MS: '100',
    MCP_SESSION_RETRY_INTERVAL_MS: '20',
    ...env,
  });
}

interface Session {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sessionId: string;
  logs: string[];
  /** Resolves when a logging notification with this text arrives (at once if it already did). */
  heard(text: string): Promise<void>;
  call(name: string, args?: Record<string, unknown>, onProgress?: (progress: number) => void): Promise<string>;
}

const clients: Client[] = [];

async function connect(url: string, token?: string): Promise<Session> {
  const client = new Client({ name: 'scale-out', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } } });
  const logs: string[] = [];
  const events = new EventEmitter();
  client.setNotificationHandler('notifications/message', (notification) => {
    const text = String(notification.params.data);
    logs.push(text);
    events.emit(text);
  });
  client.setRequestHandler('sampling/createMessage', async (request) => {
    const content = request.params.messages[0]?.content;
    const question = content !== undefined && !Array.isArray(content) && content.type === 'text' ? content.text : '';
    return { role: 'assistant', content: { type: 'text', text: `answer to ${question}` }, model: 'test' };
  });
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    reconnectionOptions: { initialReconnectionDelay: 20, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 10 },
    ...(token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  });
  await client.connect(transport);
  clients.push(client);
  return {
    client,
    transport,
    sessionId: transport.sessionId!,
    logs,
    heard: (text) => (logs.includes(text) ? Promise.resolve() : new Promise((resolve) => events.once(text, () => resolve()))),
    async call(name, args = {}, onProgress) {
      const result = await client.callTool(
        { name, arguments: args },
        onProgress === undefined ? undefined : { onprogress: (progress) => onProgress(progress.progress), timeout: 30_000 },
      );
      const content = result.content as Array<{ type: string; text?: string }>;
      if (result.isError === true) throw new Error(`tool error: ${content[0]?.text ?? ''}`);
      return content[0]?.text ?? '';
    },
  };
}

/** POST /login on the demo whose MCP endpoint is `mcpUrl`. */
function login(mcpUrl: string, username: string, password: string): Promise<Response> {
  return fetch(mcpUrl.replace(/\/mcp$/, '/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

async function tokenFor(mcpUrl: string, username: string, password: string): Promise<string> {
  const response = await login(mcpUrl, username, password);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Resolves once the proxy has forwarded a request matching `test`. */
async function proxied(
  proxy: RoundRobinProxy,
  test: (entry: RoundRobinProxy['log'][number]) => boolean,
): Promise<RoundRobinProxy['log'][number]> {
  for (let turn = 0; turn < 20_000; turn += 1) {
    const entry = proxy.log.find(test);
    if (entry !== undefined) return entry;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the proxy never forwarded such a request');
}

/** Three demo processes on one Redis under a fresh prefix, behind the proxy, for a describe block. */
function threeProcesses(tag: string): { redis: TestRedis; processes: DemoProcess[]; proxy: RoundRobinProxy; prefix: string } {
  const context = {} as { redis: TestRedis; processes: DemoProcess[]; proxy: RoundRobinProxy; prefix: string };
  beforeAll(async () => {
    context.redis = await redisForTests();
    context.prefix = `mcp-${tag}-${randomBytes(4).toString('hex')}:`;
    context.processes = await Promise.all([0, 1, 2].map(() => startDemo(context.redis.url, context.prefix)));
    context.proxy = await startRoundRobinProxy(context.processes.map((p) => p.url));
  }, 90_000);
  afterAll(async () => {
    await context.proxy?.close();
    for (const p of context.processes ?? []) await p.stop('SIGKILL');
    await deleteKeys(context.redis.url, context.prefix);
    await context.redis.stop();
  });
  return context;
}

const listens: ListenStream[] = [];

/** A `subscriptions/listen` stream on one process, for tool list changes, its acknowledgement read. */
async function listenForTools(url: string, id: string): Promise<ListenStream> {
  const stream = await openListen(url, id, { toolsListChanged: true, promptsListChanged: true });
  listens.push(stream);
  const ack = await stream.next();
  expect(ack.method).toBe('notifications/subscriptions/acknowledged');
  expect(subscriptionIdOf(ack)).toBe(id);
  // The demo has no prompts: only tool list changes are honoured.
  expect(ack.params?.notifications).toEqual({ toolsListChanged: true });
  return stream;
}

/** `notifications/tools/list_changed` as the listen stream `id` carries it. */
const toolsChanged = (id: string) => ({
  jsonrpc: '2.0',
  method: 'notifications/tools/list_changed',
  params: { _meta: { [SUBSCRIPTION_ID]: id } },
});

/** Calls a tool on one process as an SDK client pinned to 2026-07-28 (no session). */
async function callModern(url: string, name: string): Promise<string> {
  const client = new Client({ name: 'scale-out-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  const result = await client.callTool({ name, arguments: {} });
  return (result.content as Array<{ type: string; text?: string }>)[0]?.text ?? '';
}

/** A process's `mcp_session_listen_streams` gauge, from its /metrics. */
async function listenGauge(mcpUrl: string): Promise<number> {
  const text = await (await fetch(mcpUrl.replace(/\/mcp$/, '/metrics'))).text();
  return Number(/^mcp_session_listen_streams (\d+)$/m.exec(text)?.[1]);
}

afterEach(async () => {
  for (const stream of listens.splice(0)) stream.close();
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
});

describe('three demo processes on Redis behind a round-robin proxy', () => {
  const cluster = threeProcesses('mp');

  it('serves tools/call with progress and logging, and state written through one process is read through another', async () => {
    const session = await connect(cluster.proxy.url);
    const progress: number[] = [];
    expect(await session.call('countdown', { from: 3 }, (value) => progress.push(value))).toBe('liftoff');
    expect(progress).toEqual([1, 2, 3]);
    expect(session.logs).toEqual(['t-minus 3', 't-minus 2', 't-minus 1']);
    await session.call('set_session_data', { key: 'color', value: 'blue' });
    for (let i = 0; i < 3; i += 1) expect(await session.call('get_session_data', { key: 'color' })).toBe('blue');
    const served = new Set(cluster.proxy.log.filter((entry) => entry.sessionId === session.sessionId).map((entry) => entry.backend));
    expect(served.size).toBe(3);
  });

  it('delivers sampling and elicitation answers POSTed to another process than the one waiting', async () => {
    const session = await connect(cluster.proxy.url);
    const start = cluster.proxy.log.length;
    expect(await session.call('ask_model', { question: 'where am I?' })).toBe('answer to where am I?');
    expect(await session.call('ask_user')).toBe('Hello, Ada');
    const mine = cluster.proxy.log.slice(start).filter((entry) => entry.sessionId === session.sessionId && entry.method === 'POST');
    const calls = mine.filter((entry) => entry.kind === 'tools/call');
    const answers = mine.filter((entry) => entry.kind === 'response');
    expect(calls).toHaveLength(2);
    expect(answers).toHaveLength(2);
    // Round robin sends each answer to another process than its tools/call, which holds the request.
    expect(answers.some((answer, i) => answer.backend !== calls[i]!.backend)).toBe(true);
  });

  it('broadcast_to_sessions reaches the GET streams of sessions on every process', async () => {
    // Each session takes four requests (initialize, initialized, GET, join), so round robin spreads
    // their GET streams over the processes.
    const sessions: Session[] = [];
    for (let i = 0; i < 4; i += 1) {
      const session = await connect(cluster.proxy.url);
      await proxied(cluster.proxy, (entry) => entry.method === 'GET' && entry.sessionId === session.sessionId);
      await session.call('join_coordination');
      sessions.push(session);
    }
    const holders = new Set(
      sessions.map(
        (session) => cluster.proxy.log.find((entry) => entry.method === 'GET' && entry.sessionId === session.sessionId)!.backend,
      ),
    );
    expect(holders.size).toBeGreaterThan(1);
    const [sender, ...others] = sessions;
    expect(await sender!.call('broadcast_to_sessions', { message: 'to all' })).toBe('broadcast sent');
    const text = `${sender!.sessionId.slice(0, 8)}: to all`;
    await Promise.all(others.map((session) => session.heard(text)));
    for (const session of others) expect(session.logs.filter((log) => log === text)).toHaveLength(1);
    expect(sender!.logs).not.toContain(text);
  });

  it("accepts a token issued by one process on every process, and answers 404 on every process to another user's token", async () => {
    for (const p of cluster.processes) expect(p.output()).toMatch(/signed with a key derived from MCP_SESSION_ENCRYPTION_KEYS/);
    const session = await connect(cluster.proxy.url, await tokenFor(cluster.processes[0]!.url, 'admin', 'admin-password'));
    for (let i = 0; i < 3; i += 1)
      expect(await session.call('secure_operation', { action: `deploy ${i}` })).toBe(`deploy ${i} done by admin`);
    const served = new Set(cluster.proxy.log.filter((entry) => entry.sessionId === session.sessionId).map((entry) => entry.backend));
    expect(served.size).toBe(3);
    const other = await tokenFor(cluster.processes[1]!.url, 'demo', 'demo-password');
    for (const p of cluster.processes) {
      const response = await fetch(p.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': session.sessionId,
          'mcp-protocol-version': '2025-11-25',
          authorization: `Bearer ${other}`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(404);
    }
  });

  it('limits logins per username across processes: the Redis rate-limit store is shared', async () => {
    const username = `nobody-${randomBytes(4).toString('hex')}`;
    // Five attempts spread over the three processes, then a sixth on yet another process is refused.
    for (let i = 0; i < 5; i += 1) expect((await login(cluster.processes[i % 3]!.url, username, 'guess')).status).toBe(401);
    const refused = await login(cluster.processes[2]!.url, username, 'guess');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a subscriptions/listen stream held by one process hears a tool list change raised through another, with its subscription id', async () => {
    const [a, b, c] = cluster.processes as [DemoProcess, DemoProcess, DemoProcess];
    const onA = await listenForTools(a.url, 'held-by-a');
    const onC = await listenForTools(c.url, 'held-by-c');
    expect(await listenGauge(a.url)).toBe(1);
    expect(await listenGauge(b.url)).toBe(0);
    expect(await callModern(b.url, 'notify_tools_changed')).toBe('tools/list_changed sent to every listener');
    expect(await onA.next()).toEqual(toolsChanged('held-by-a'));
    expect(await onC.next()).toEqual(toolsChanged('held-by-c'));
    // A dropped stream is let go on its process: the gauge comes back down.
    onA.close();
    await onA.ended;
    for (let turn = 0; (await listenGauge(a.url)) !== 0; turn += 1) {
      if (turn === 1_000) throw new Error('process A still counts the closed listen stream');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // A change raised through the process that held it still reaches the other stream.
    expect(await callModern(a.url, 'notify_tools_changed')).toBe('tools/list_changed sent to every listener');
    expect(await onC.next()).toEqual(toolsChanged('held-by-c'));
  });

  it('DELETE through one process makes every process answer 404', async () => {
    const session = await connect(cluster.proxy.url);
    await session.call('echo', { text: 'x' });
    await session.transport.terminateSession();
    for (const p of cluster.processes) {
      const response = await fetch(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(404);
    }
  });
});

describe('faults, on real Redis, with the same three-process setup', () => {
  const cluster = threeProcesses('fault');

  it('a killed process holding a GET stream: the client resumes through another and gets every event once', async () => {
    const session = await connect(cluster.proxy.url);
    const get = await proxied(cluster.proxy, (entry) => entry.method === 'GET' && entry.sessionId === session.sessionId);
    expect(await session.call('notify_session', { message: 'before the crash' })).toBe('sent');
    await session.heard('before the crash');
    await cluster.processes[get.backend]!.stop('SIGKILL');
    // Sent while the client may still be reconnecting: stored, then replayed or delivered live.
    expect(await session.call('notify_session', { message: 'after the crash' })).toBe('sent');
    await session.heard('after the crash');
    const resumed = await proxied(
      cluster.proxy,
      (entry) => entry.method === 'GET' && entry.sessionId === session.sessionId && entry.lastEventId !== undefined,
    );
    expect(resumed.backend).not.toBe(get.backend);
    expect(session.logs.filter((log) => log === 'before the crash')).toHaveLength(1);
    expect(session.logs.filter((log) => log === 'after the crash')).toHaveLength(1);
    cluster.processes[get.backend] = await startDemo(cluster.redis.url, cluster.prefix);
    cluster.proxy.setBackends(cluster.processes.map((p) => p.url));
  });

  it('a request whose process died is answered with a JSON-RPC error when the client resumes', async () => {
    const session = await connect(cluster.proxy.url);
    const started = cluster.proxy.log.length;
    let firstProgress: () => void = () => undefined;
    const progressed = new Promise<void>((resolve) => (firstProgress = resolve));
    const pending = session.call('long_task', { steps: 200, intervalMs: 50 }, () => firstProgress());
    await progressed;
    const call = cluster.proxy.log.slice(started).find((entry) => entry.kind === 'tools/call' && entry.sessionId === session.sessionId)!;
    await cluster.processes[call.backend]!.stop('SIGKILL');
    await expect(pending).rejects.toThrow(/stopped before answering/);
    expect(await session.call('echo', { text: 'the session goes on' })).toBe('the session goes on');
    cluster.processes[call.backend] = await startDemo(cluster.redis.url, cluster.prefix);
    cluster.proxy.setBackends(cluster.processes.map((p) => p.url));
  });

  it('a process stopped with SIGTERM ends its listen streams with their result; another process’s stream goes on hearing changes', async () => {
    const [a, b, c] = cluster.processes as [DemoProcess, DemoProcess, DemoProcess];
    const onA = await listenForTools(a.url, 'ends-with-a');
    const onB = await listenForTools(b.url, 'stays-on-b');
    await a.stop('SIGTERM');
    const result = await onA.next();
    expect(result).toMatchObject({ jsonrpc: '2.0', id: 'ends-with-a', result: { resultType: 'complete' } });
    expect(subscriptionIdOf(result)).toBe('ends-with-a');
    await onA.ended;
    expect(await callModern(c.url, 'notify_tools_changed')).toBe('tools/list_changed sent to every listener');
    expect(await onB.next()).toEqual(toolsChanged('stays-on-b'));
    cluster.processes[0] = await startDemo(cluster.redis.url, cluster.prefix);
    cluster.proxy.setBackends(cluster.processes.map((p) => p.url));
  });

  it('restarting every process keeps sessions and their state, without a new initialize', async () => {
    // This test timed out in some clean-clone CI runs and never alone: should it again, the output of
    // every demo process it saw (the stopped ones too) says where it stood.
    const seen = [...cluster.processes];
    let step = 'connecting';
    onTestFailed(() => {
      console.error(`restart test failed while ${step}`);
      seen.forEach((p, i) => console.error(`--- demo process ${i} (${p.url}) output, last 3000 chars:\n${p.output().slice(-3000)}`));
    });
    const session = await connect(cluster.proxy.url);
    await session.call('set_session_data', { key: 'survives', value: 'restarts' });
    for (const [i, p] of cluster.processes.entries()) {
      step = `stopping process ${i} with SIGTERM`;
      await p.stop('SIGTERM');
    }
    step = 'starting three processes';
    cluster.processes = await Promise.all([0, 1, 2].map(() => startDemo(cluster.redis.url, cluster.prefix)));
    seen.push(...cluster.processes);
    step = 'calling through the restarted processes';
    cluster.proxy.setBackends(cluster.processes.map((p) => p.url));
    const initializesBefore = cluster.proxy.log.filter((entry) => entry.kind === 'initialize').length;
    for (let i = 0; i < 3; i += 1) expect(await session.call('get_session_data', { key: 'survives' })).toBe('restarts');
    expect(cluster.proxy.log.filter((entry) => entry.kind === 'initialize').length).toBe(initializesBefore);
    // Three graceful stops and three demo start-ups: under the full suite's load on two cores this
    // outlasted the default 30 s in some runs.
  }, 90_000);
});

describe('the demo on Redis with its default settings', () => {
  it('keeps session state across a restart without MCP_SESSION_ENCRYPTION_KEYS (stored unsealed, and said so)', async () => {
    const shared = await redisForTests();
    const prefix = `mcp-defaults-${randomBytes(4).toString('hex')}:`;
    let demo = await startDemo(shared.url, prefix, { MCP_SESSION_ENCRYPTION_KEYS: undefined });
    try {
      await demo.printed(/stored unsealed in Redis/);
      await demo.printed(/Tokens are signed with a key made at start-up: other processes on this Redis refuse them/);
      const session = await connect(demo.url);
      await session.call('set_session_data', { key: 'color', value: 'blue' });
      await demo.stop('SIGTERM');
      demo = await startDemo(shared.url, prefix, { MCP_SESSION_ENCRYPTION_KEYS: undefined });
      const transport = new StreamableHTTPClientTransport(new URL(demo.url), { sessionId: session.sessionId });
      const client = new Client({ name: 'after-restart', version: '1.0.0' });
      await client.connect(transport);
      const result = await client.callTool({ name: 'get_session_data', arguments: { key: 'color' } });
      expect(result.content).toEqual([{ type: 'text', text: 'blue' }]);
      await client.close();
    } finally {
      await demo.stop('SIGKILL');
      await deleteKeys(shared.url, prefix);
    }
  });
});

describe('Redis stopped and started again', () => {
  it('answers 503 with Retry-After while Redis is down, keeps running, and recovers by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-redis-down-'));
    // Its own Redis, persisted to disk, so stopping it harms no other test and a restart keeps the data.
    let redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
    const port = Number(new URL(redis.url).port);
    const demo = await startDemo(redis.url, 'mcp-down:');
    try {
      const session = await connect(demo.url);
      await session.call('set_session_data', { key: 'k', value: 'v' });
      await redis.stop();
      const post = () =>
        fetch(demo.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': session.sessionId,
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 7,
            method: 'tools/call',
            params: { name: 'get_session_data', arguments: { key: 'k' } },
          }),
        });
      const down = await post();
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expect(await down.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
      expect(demo.child.exitCode).toBeNull();
      redis = await startRedisServer(['--appendonly', 'yes', '--dir', dir], port);
      let answer: Response | undefined;
      for (let attempt = 0; attempt < 200; attempt += 1) {
        answer = await post();
        if (answer.status === 200) break;
        await answer.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(answer?.status).toBe(200);
      expect(await answer!.json()).toMatchObject({ result: { content: [{ text: 'v' }] } });
    } finally {
      await demo.stop('SIGKILL');
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
