import { EventEmitter, once } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type McpSessionOptions,
  type MessageMiddleware,
  MemoryCacheStore,
  MemoryRateLimitStore,
  MemorySessionStore,
  cache,
  onCallTool,
  rateLimit,
} from '@x/mcp-session-core';
import { connectClient, type TestClient } from '../fixtures/clients.js';
import { type StateServerProbe, stateServerFactory, stateServerProbe } from '../fixtures/state-server.js';
import { type AdapterHarness, ManualClock, type RunningApp, sharedStoresOf } from '../harness.js';
import { initializeParams, openRawSession, postInitialize, postInSession } from '../raw.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

interface JsonRpcReply {
  result?: { content?: Array<{ text?: string }>; tools?: Array<{ name: string }>; contents?: Array<{ text?: string }> };
  error?: { code: number; message: string; data?: { retryAfterMs?: number } };
}

/** The stores, with every argument they are given recorded in `written` (what reaches them at rest). */
function tap<T extends object>(stores: T, written: string[]): T {
  const record = (value: unknown) => {
    try {
      written.push(JSON.stringify(value));
    } catch {
      written.push(String(value));
    }
  };
  const wrap = <S extends object>(store: S): S =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          record(args);
          return (value as (...params: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, wrap(store as object)])) as T;
}

/** Per-session state, cleanup, middleware, rate limits, caching, broadcast, encryption and metrics. */
export function featuresSuite(harness: AdapterHarness): void {
  describe('session features', () => {
    const apps: RunningApp[] = [];
    const clients: TestClient[] = [];
    afterEach(async () => {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      for (const app of apps.splice(0)) await app.close();
    });

    async function start(options: Partial<McpSessionOptions> = {}, probe: StateServerProbe = stateServerProbe()) {
      const clock = new ManualClock();
      const app = await harness.start({ server: stateServerFactory(probe), clock, ...options });
      apps.push(app);
      return { app, clock, probe };
    }

    async function connect(url: string, headers?: Record<string, string>) {
      const client = await connectClient('v2', url, headers === undefined ? {} : { headers });
      clients.push(client);
      return client;
    }

    const rawSession = openRawSession;
    const rpc = postInSession;

    let nextId = 100;
    const call = (name: string, args: Record<string, unknown> = {}) => ({
      jsonrpc: '2.0',
      id: nextId++,
      method: 'tools/call',
      params: { name, arguments: args },
    });

    describe('session state', () => {
      it('stores JSON values per session, with keys, delete and clear, and keeps sessions apart', async () => {
        const { app } = await start();
        const a = await connect(app.url);
        const b = await connect(app.url);
        expect(await a.callTool('state_set', { key: 'cart', value: JSON.stringify({ items: [1, 2] }) })).toBe('ok');
        expect(await a.callTool('state_set', { key: 'n', value: '42' })).toBe('ok');
        expect(await a.callTool('state_get', { key: 'cart' })).toBe('{"items":[1,2]}');
        expect(await a.callTool('state_keys')).toBe('["cart","n"]');
        expect(await b.callTool('state_get', { key: 'cart' })).toBe('null');
        expect(await b.callTool('state_keys')).toBe('[]');
        expect(await a.callTool('state_delete', { key: 'n' })).toBe('true');
        expect(await a.callTool('state_delete', { key: 'n' })).toBe('false');
        expect(await a.callTool('state_clear')).toBe('cleared');
        expect(await a.callTool('state_keys')).toBe('[]');
      });

      it('expires a value after its ttlMs', async () => {
        const { app, clock } = await start();
        const client = await connect(app.url);
        await client.callTool('state_set', { key: 'otp', value: '"123456"', ttlMs: 1_000 });
        clock.advance(999);
        expect(await client.callTool('state_get', { key: 'otp' })).toBe('"123456"');
        clock.advance(1);
        expect(await client.callTool('state_get', { key: 'otp' })).toBe('null');
        expect(await client.callTool('state_keys')).toBe('[]');
      });

      it('refuses a write past maxStateKeys or maxStateBytes with a clear error, changing nothing', async () => {
        const { app } = await start({ maxStateKeys: 2, maxStateBytes: 64 });
        const client = await connect(app.url);
        await client.callTool('state_set', { key: 'a', value: '1' });
        await client.callTool('state_set', { key: 'b', value: '2' });
        await expect(client.callTool('state_set', { key: 'c', value: '3' })).rejects.toThrow(/ERR_MCP_SESSION_STATE_LIMIT|maxStateKeys/);
        // Overwriting an existing key is not a new key.
        expect(await client.callTool('state_set', { key: 'b', value: '20' })).toBe('ok');
        await expect(client.callTool('state_set', { key: 'a', value: JSON.stringify('x'.repeat(100)) })).rejects.toThrow(/maxStateBytes/);
        expect(await client.callTool('state_get', { key: 'a' })).toBe('1');
        expect(await client.callTool('state_keys')).toBe('["a","b"]');
      });

      it('survives hibernation: written before, read after the server was rebuilt', async () => {
        const { app, clock } = await start({ hibernateAfterMs: 1_000 });
        const client = await connect(app.url);
        await client.callTool('state_set', { key: 'k', value: '"kept"' });
        clock.advance(1_000);
        await app.endpoint.sweep();
        expect(app.sessions.liveCount).toBe(0);
        expect(await client.callTool('state_get', { key: 'k' })).toBe('"kept"');
        expect(app.sessions.liveCount).toBe(1);
      });

      it('is read from the second node of two sharing their stores', async () => {
        const shared = await sharedStoresOf(harness);
        const { app: a } = await start({ ...shared, nodeId: 'A' });
        const { app: b } = await start({ ...shared, nodeId: 'B' });
        const sessionId = await rawSession(a.url);
        const written = await rpc(a.url, sessionId, call('state_set', { key: 'where', value: '"written on A"' }));
        expect(((await written.json()) as JsonRpcReply).result?.content?.[0]?.text).toBe('ok');
        const read = await rpc(b.url, sessionId, call('state_get', { key: 'where' }));
        expect(((await read.json()) as JsonRpcReply).result?.content?.[0]?.text).toBe('"written on A"');
      });
    });

    describe('session.onClose', () => {
      it('runs cleanup once when the session is deleted, expires, or the endpoint shuts down', async () => {
        const probe = stateServerProbe();
        const { app, clock } = await start({ idleTimeoutMs: 1_000 }, probe);
        const deleted = await rawSession(app.url);
        const idle = await rawSession(app.url);
        const lasting = await rawSession(app.url);
        const del = await fetch(app.url, { method: 'DELETE', headers: { 'mcp-session-id': deleted } });
        expect(del.status).toBe(200);
        expect(probe.closed).toEqual([deleted]);
        clock.advance(900);
        expect((await rpc(app.url, lasting, call('counted'))).status).toBe(200);
        clock.advance(200);
        await app.endpoint.sweep();
        expect(probe.closed).toEqual([deleted, idle]);
        await app.endpoint.close();
        expect(probe.closed).toEqual([deleted, idle, lasting]);
      });
    });

    describe('message middleware', () => {
      it('runs in onion order, may answer without the server, and may change a result', async () => {
        const order: string[] = [];
        const outer: MessageMiddleware = async (ctx, next) => {
          order.push(`outer>${ctx.method}`);
          const result = await next();
          order.push('<outer');
          return result;
        };
        const inner: MessageMiddleware = async (ctx, next) => {
          order.push(`inner>${ctx.method}`);
          const result = await next();
          order.push('<inner');
          return result;
        };
        const shortCircuit = onCallTool(async (ctx, next) => {
          const args = ctx.params?.arguments as { key?: string } | undefined;
          if (ctx.params?.name === 'state_get' && args?.key === 'intercepted') {
            return { content: [{ type: 'text', text: `middleware for ${ctx.session?.id}` }] };
          }
          const result = await next();
          if (ctx.params?.name === 'counted') return { ...result, content: [{ type: 'text', text: 'rewritten' }] };
          return result;
        });
        const { app, probe } = await start({ middleware: [outer, inner, shortCircuit] });
        const client = await connect(app.url);
        order.length = 0;
        expect(await client.callTool('state_get', { key: 'intercepted' })).toBe(`middleware for ${client.sessionId}`);
        expect(probe.calls.get('state_get')).toBeUndefined();
        expect(order).toEqual(['outer>tools/call', 'inner>tools/call', '<inner', '<outer']);
        expect(await client.callTool('counted')).toBe('rewritten');
        expect(probe.calls.get('counted')).toBe(1);
      });

      it('sees the principal and the HTTP headers, and turns a thrown error into a JSON-RPC error', async () => {
        const seen: Array<{ principal: string | undefined; header: unknown }> = [];
        const { app } = await start({
          middleware: [
            (ctx, next) => {
              seen.push({ principal: ctx.principal, header: ctx.http.headers['x-trace'] });
              if (ctx.method === 'tools/call' && ctx.params?.name === 'counted') throw new Error('boom');
              return next();
            },
          ],
        });
        const sessionId = await rawSession(app.url, { 'x-trace': 't-1' });
        const response = await rpc(app.url, sessionId, call('counted'), { 'x-trace': 't-2' });
        expect(response.status).toBe(200);
        expect(((await response.json()) as JsonRpcReply).error).toMatchObject({ code: -32603, message: 'Internal error' });
        expect(seen.map((entry) => entry.header)).toEqual(['t-1', 't-2']);
      });
    });

    describe('rateLimit()', () => {
      it('answers 429 with Retry-After and a JSON-RPC error carrying the delay; nothing reaches the server', async () => {
        const { app, clock, probe } = await start({ middleware: [rateLimit({ limit: 2, windowMs: 10_000, methods: ['tools/call'] })] });
        const sessionId = await rawSession(app.url);
        for (let i = 0; i < 2; i += 1) expect((await rpc(app.url, sessionId, call('counted'))).status).toBe(200);
        const limited = await rpc(app.url, sessionId, call('counted'));
        expect(limited.status).toBe(429);
        expect(limited.headers.get('retry-after')).toBe('5');
        const body = (await limited.json()) as JsonRpcReply;
        expect(body.error).toMatchObject({ code: -32029, message: 'Too Many Requests', data: { retryAfterMs: 5_000 } });
        expect(probe.calls.get('counted')).toBe(2);
        // Other methods are not limited.
        expect((await rpc(app.url, sessionId, { jsonrpc: '2.0', id: nextId++, method: 'tools/list' })).status).toBe(200);
        clock.advance(5_000);
        expect((await rpc(app.url, sessionId, call('counted'))).status).toBe(200);
        expect(probe.calls.get('counted')).toBe(3);
        expect((await app.endpoint.metrics()).rateLimited).toBe(1);
      });

      it('counts per principal across sessions with key: principal, and per session by default', async () => {
        const auth = (req: IncomingMessage) => {
          const user = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
          return user === undefined ? undefined : { token: user, clientId: user, scopes: [] };
        };
        const clock = new ManualClock();
        const app = await harness.start(
          {
            server: stateServerFactory(stateServerProbe()),
            clock,
            rateLimitStore: new MemoryRateLimitStore(),
            middleware: [rateLimit({ limit: 1, windowMs: 60_000, key: 'principal', methods: ['tools/call'] })],
          },
          { auth },
        );
        apps.push(app);
        const alice = { authorization: 'Bearer alice' };
        const first = await rawSession(app.url, alice);
        const second = await rawSession(app.url, alice);
        const bob = await rawSession(app.url, { authorization: 'Bearer bob' });
        expect((await rpc(app.url, first, call('counted'), alice)).status).toBe(200);
        expect((await rpc(app.url, second, call('counted'), alice)).status).toBe(429);
        expect((await rpc(app.url, bob, call('counted'), { authorization: 'Bearer bob' })).status).toBe(200);
      });
    });

    describe('cache()', () => {
      it('serves tools/list from the cache until the server says the list changed', async () => {
        const { app } = await start({ middleware: [cache({ ttlMs: 60_000 })] });
        const client = await connect(app.url);
        const before = await client.listTools();
        expect(await client.listTools()).toEqual(before);
        let metrics = await app.endpoint.metrics();
        expect(metrics.cacheMisses).toBe(1);
        expect(metrics.cacheHits).toBe(1);
        expect(await client.callTool('add_tool', { name: 'fresh_tool' })).toBe('added');
        expect(await client.listTools()).toContain('fresh_tool');
        metrics = await app.endpoint.metrics();
        expect(metrics.cacheMisses).toBe(2);
      });

      it('caches resources/read per uri until notifications/resources/updated, and expires entries after ttlMs', async () => {
        const { app, clock, probe } = await start({ middleware: [cache({ ttlMs: 1_000, methods: ['resources/read'] })] });
        const sessionId = await rawSession(app.url);
        const read = async () => {
          const response = await rpc(app.url, sessionId, {
            jsonrpc: '2.0',
            id: nextId++,
            method: 'resources/read',
            params: { uri: 'test://doc' },
          });
          return ((await response.json()) as JsonRpcReply).result?.contents?.[0]?.text;
        };
        expect(await read()).toBe('doc read 1');
        expect(await read()).toBe('doc read 1');
        expect(probe.calls.get('doc')).toBe(1);
        await rpc(app.url, sessionId, call('touch_doc'));
        expect(await read()).toBe('doc read 2');
        clock.advance(1_000);
        expect(await read()).toBe('doc read 3');
      });

      it('shares entries between sessions with scope: global, not with scope: session', async () => {
        const cacheStore = new MemoryCacheStore();
        const probe = stateServerProbe();
        const { app } = await start(
          { cacheStore, middleware: [cache({ ttlMs: 60_000, methods: ['resources/read'], scope: 'global' })] },
          probe,
        );
        const readIn = async (sessionId: string) => {
          const response = await rpc(app.url, sessionId, {
            jsonrpc: '2.0',
            id: nextId++,
            method: 'resources/read',
            params: { uri: 'test://doc' },
          });
          return ((await response.json()) as JsonRpcReply).result?.contents?.[0]?.text;
        };
        const one = await rawSession(app.url);
        const two = await rawSession(app.url);
        expect(await readIn(one)).toBe('doc read 1');
        expect(await readIn(two)).toBe('doc read 1');
        expect(probe.calls.get('doc')).toBe(1);
      });
    });

    describe('sessions.broadcast()', () => {
      it('reaches the GET stream of every session, once, on both nodes; a filter narrows it', async () => {
        const shared = await sharedStoresOf(harness);
        const { app: a } = await start({ ...shared, nodeId: 'A' });
        const { app: b } = await start({ ...shared, nodeId: 'B' });
        const logs = new EventEmitter();
        const heard = (client: TestClient, text: string) =>
          client.logs.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => logs.on(`${client.sessionId}:${text}`, resolve));
        const clientFor = async (url: string) => {
          const holder: { id?: string } = {};
          const client = await connectClient('v2', url, { onLog: (text) => logs.emit(`${holder.id}:${text}`) });
          holder.id = client.sessionId;
          clients.push(client);
          return client;
        };
        const onA = await clientFor(a.url);
        const onB = await clientFor(b.url);
        await waitFor(async () => (await a.endpoint.metrics()).openStreams >= 1 && (await b.endpoint.metrics()).openStreams >= 1);
        await a.sessions.broadcast({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello all' } });
        await Promise.all([heard(onA, 'hello all'), heard(onB, 'hello all')]);
        expect(onA.logs.filter((text) => text === 'hello all')).toHaveLength(1);
        expect(onB.logs.filter((text) => text === 'hello all')).toHaveLength(1);

        await onB.callTool('state_set', { key: 'joined', value: 'true' });
        await b.sessions.broadcast(
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'members only' } },
          { hasStateKey: 'joined' },
        );
        await heard(onB, 'members only');
        // A session without the key got nothing; a marker sent to it afterwards proves its stream was live.
        await a.sessions.broadcast(
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'marker' } },
          { sessionIds: [onA.sessionId!] },
        );
        await heard(onA, 'marker');
        expect(onA.logs).not.toContain('members only');
      });
    });

    describe('encryptionKeys', () => {
      it('seals state at rest, opens it with a rotated key list, and refuses a value moved to another session', async () => {
        const sessionStore = new MemorySessionStore();
        const { app } = await start({ sessionStore, encryptionKeys: [{ id: 'k1', key: KEY_A }] });
        const sessionId = await rawSession(app.url);
        const other = await rawSession(app.url);
        await rpc(app.url, sessionId, call('state_set', { key: 'secret', value: '"hunter2"' }));
        const stored = sessionStore.getState(sessionId, 'secret', Date.now() + 1e12);
        expect(stored).toMatch(/^enc:v1:k1:/);
        expect(stored).not.toContain('hunter2');
        await app.endpoint.close();

        // The next deployment encrypts with k2 and still reads k1 values.
        const { app: rotated } = await start({
          sessionStore,
          encryptionKeys: [
            { id: 'k2', key: KEY_B },
            { id: 'k1', key: KEY_A },
          ],
        });
        const read = await rpc(rotated.url, sessionId, call('state_get', { key: 'secret' }));
        expect(((await read.json()) as JsonRpcReply).result?.content?.[0]?.text).toBe('"hunter2"');
        await rpc(rotated.url, sessionId, call('state_set', { key: 'secret', value: '"new"' }));
        expect(sessionStore.getState(sessionId, 'secret', Date.now() + 1e12)).toMatch(/^enc:v1:k2:/);

        // A sealed value copied into another session does not open there.
        sessionStore.setState(other, 'secret', sessionStore.getState(sessionId, 'secret', 0)!, { now: 0, maxKeys: 10, maxBytes: 10_000 });
        const moved = await rpc(rotated.url, other, call('state_get', { key: 'secret' }));
        const reply = (await moved.json()) as JsonRpcReply & { result?: { isError?: boolean } };
        expect(reply.result?.isError).toBe(true);
        // The client learns nothing of why (no key id, no decryption detail); the log has the cause.
        expect(reply.result?.content?.[0]?.text).toMatch(/session state is unavailable/);
        expect(reply.result?.content?.[0]?.text).not.toMatch(/authentication|k1|k2/);
      });

      it('seals everything a tool, a client or a broadcast leaves in the stores, and refuses a value written unsealed', async () => {
        const SECRET = 'TOP-SECRET-4242';
        const written: string[] = [];
        const stores = tap(await sharedStoresOf(harness), written);
        const logged: string[] = [];
        const logger = {
          error: (fields: Record<string, unknown>) => void logged.push(String((fields.err as Error | undefined)?.message)),
          warn: (fields: Record<string, unknown>) => void logged.push(String((fields.err as Error | undefined)?.message)),
          info: () => undefined,
          debug: () => undefined,
        };
        const { app } = await start({
          ...stores,
          logger,
          responseMode: 'sse',
          encryptionKeys: [{ id: 'k1', key: KEY_A }],
          middleware: [cache({ ttlMs: 60_000, methods: ['tools/call'] })],
        });
        // The client's initialize, a state value, a tool's answer (an event, a cache entry), a broadcast.
        const initialized = await postInitialize(app.url, { ...initializeParams(), clientInfo: { name: 'c', version: '1', note: SECRET } });
        const sessionId = initialized.headers.get('mcp-session-id')!;
        await initialized.arrayBuffer();
        await rpc(app.url, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' });
        await (await rpc(app.url, sessionId, call('state_set', { key: 'secret', value: JSON.stringify(SECRET) }))).text();
        const answer = await (await rpc(app.url, sessionId, call('state_get', { key: 'secret' }))).text();
        expect(answer).toContain(SECRET);
        await app.sessions.broadcast({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: SECRET } });
        expect((await app.sessions.get(sessionId))?.clientInfo).toMatchObject({ note: SECRET });

        const everything = written.join('\n');
        expect(everything).toContain('enc:v1:k1:');
        expect(everything).not.toContain(SECRET);

        // A value written into the store unsealed (by whoever can write it) is refused, not believed.
        await stores.sessionStore!.setState(sessionId, 'forged', JSON.stringify('admin'), {
          now: Date.now(),
          maxKeys: 100,
          maxBytes: 100_000,
        });
        const forged = (await (await rpc(app.url, sessionId, call('state_get', { key: 'forged' }))).text()) as string;
        expect(forged).toMatch(/session state is unavailable/);
        expect(forged).not.toContain('admin');
        expect(logged.some((message) => /not sealed/.test(message))).toBe(true);
      });
    });

    describe('metrics', () => {
      it('counts sessions, requests, errors and closes, and renders Prometheus text', async () => {
        const { app } = await start();
        const sessionId = await rawSession(app.url);
        await rpc(app.url, sessionId, call('counted'));
        await rpc(app.url, 'no-such-session', call('counted'));
        await fetch(app.url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
        const snapshot = await app.endpoint.metrics();
        expect(snapshot.sessionsCreated).toBe(1);
        expect(snapshot.sessionsActive).toBe(0);
        expect(snapshot.requestsByMethod).toMatchObject({ initialize: 1, 'tools/call': 1 });
        expect(snapshot.errorsByStatus).toMatchObject({ '404': 1 });
        expect(snapshot.sessionsClosed.deleted).toBe(1);
        const metricsServer = createServer(app.endpoint.metricsHandler()).listen(0, '127.0.0.1');
        await once(metricsServer, 'listening');
        const scraped = await fetch(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`);
        metricsServer.close();
        expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
        const chunks = [await scraped.text()];
        expect(chunks[0]).toContain('mcp_session_sessions_created_total 1');
        expect(chunks[0]).toContain('mcp_session_requests_total{method="tools/call"} 1');
        expect(chunks[0]).toContain('mcp_session_sessions_closed_total{reason="deleted"} 1');
      });
    });
  });
}

/** Waits, a turn of the event loop at a time, for a condition that an event elsewhere makes true. */
async function waitFor(condition: () => Promise<boolean> | boolean, turns = 2_000): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never became true');
}
