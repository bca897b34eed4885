import { McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Logger,
  type McpSession,
  type McpSessionOptions,
  type McpServerLike,
  type MessageMiddleware,
  MemorySessionStore,
  type SessionCloseReason,
} from '@x/mcp-session-core';
import { connectClient, type TestClient } from '../fixtures/clients.js';
import { type SdkMajor, serverFactory } from '../fixtures/servers.js';
import { initializeParams, openRawSession, postInitialize, postInSession } from '../raw.js';
import { type AdapterHarness, ManualClock, type RunningApp } from '../harness.js';

interface Recorded {
  created: string[];
  closed: Array<{ id: string; reason: SessionCloseReason }>;
}

/** Idle timeout, lifetime, hibernation, session records and shutdown, on an injected clock. */
export function lifecycleSuite(harness: AdapterHarness): void {
  describe('lifecycle', () => {
    let app: RunningApp | undefined;
    let clients: TestClient[] = [];
    afterEach(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      clients = [];
      await app?.close();
      app = undefined;
    });

    async function setUp(options: Partial<McpSessionOptions> & { major?: SdkMajor } = {}) {
      const clock = new ManualClock();
      const events: Recorded = { created: [], closed: [] };
      const { major = 'v2', ...rest } = options;
      app = await harness.start({
        server: serverFactory(major),
        clock,
        onSessionCreated: (session: McpSession) => void events.created.push(session.id),
        onSessionClosed: (session: McpSession, reason: SessionCloseReason) => void events.closed.push({ id: session.id, reason }),
        ...rest,
      });
      return { app, clock, events };
    }

    async function connect(url: string, major: SdkMajor = 'v2') {
      const client = await connectClient(major, url);
      clients.push(client);
      return client;
    }

    /** A session opened with plain HTTP: unlike the SDK clients, it holds no GET stream open. */
    const initializeRaw = (url: string) => openRawSession(url);

    async function callEcho(url: string, id: string, text: string): Promise<void> {
      const response = await post(url, id, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text } } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ result: { content: [{ type: 'text', text }] } });
    }

    const post = (url: string, sessionId: string, body: unknown) => postInSession(url, sessionId, body);

    describe('idle timeout', () => {
      it('ends a session idle for idleTimeoutMs, with reason idle, and answers 404 after', async () => {
        const { app, clock, events } = await setUp({ idleTimeoutMs: 1_000 });
        const id = await initializeRaw(app.url);
        expect(events.created).toEqual([id]);
        clock.advance(999);
        await app.endpoint.sweep();
        expect(events.closed).toEqual([]);
        await callEcho(app.url, id, 'activity');
        clock.advance(999);
        await app.endpoint.sweep();
        expect(events.closed).toEqual([]);
        clock.advance(2);
        await app.endpoint.sweep();
        expect(events.closed).toEqual([{ id, reason: 'idle' }]);
        expect(app.sessions.liveCount).toBe(0);
        expect((await post(app.url, id, { jsonrpc: '2.0', id: 5, method: 'tools/list' })).status).toBe(404);
      });

      it('answers 404 past the deadline even before the sweeper ran', async () => {
        const { app, clock } = await setUp({ idleTimeoutMs: 1_000 });
        const client = await connect(app.url);
        clock.advance(1_001);
        expect((await post(app.url, client.sessionId!, { jsonrpc: '2.0', id: 5, method: 'tools/list' })).status).toBe(404);
      });

      it('counts an open GET stream as activity', async () => {
        const { app, clock, events } = await setUp({ idleTimeoutMs: 1_000 });
        // A plain-HTTP session: an SDK client would hold a GET stream of its own, and two GET
        // streams of one session take the stream from each other.
        const id = await initializeRaw(app.url);
        const abort = new AbortController();
        const stream = await fetch(app.url, {
          headers: { accept: 'text/event-stream', 'mcp-session-id': id },
          signal: abort.signal,
        });
        expect(stream.status).toBe(200);
        for (let step = 0; step < 5; step += 1) {
          clock.advance(900);
          await app.endpoint.sweep();
        }
        expect(events.closed).toEqual([]);
        abort.abort();
        await stream.body?.cancel().catch(() => undefined);
      });

      it('ends the GET stream of a session the store no longer holds, at the next sweep', async () => {
        // The store loses the record without this process hearing of it (Redis dropped the key, or
        // another process ended the session while the bus was down).
        const sessionStore = new MemorySessionStore();
        const { app } = await setUp({ sessionStore });
        const id = await initializeRaw(app.url);
        const stream = await fetch(app.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': id } });
        expect(stream.status).toBe(200);
        sessionStore.delete(id);
        await app.endpoint.sweep();
        // The body ends: the server closed the stream.
        await stream.text();
        expect((await app.endpoint.metrics()).openStreams).toBe(0);
      });
    });

    describe('maximum lifetime', () => {
      it('ends an active session at maxLifetimeMs with reason expired', async () => {
        const { app, clock, events } = await setUp({ idleTimeoutMs: 1_000, maxLifetimeMs: 2_500 });
        const id = await initializeRaw(app.url);
        for (let step = 0; step < 3; step += 1) {
          clock.advance(800);
          await callEcho(app.url, id, 'busy');
          await app.endpoint.sweep();
        }
        expect(events.closed).toEqual([]);
        clock.advance(200);
        await app.endpoint.sweep();
        expect(events.closed).toEqual([{ id, reason: 'expired' }]);
        expect((await post(app.url, id, { jsonrpc: '2.0', id: 5, method: 'tools/list' })).status).toBe(404);
      });
    });

    describe('hibernation and rehydration', () => {
      it.each(['v1', 'v2'] as const)(
        'drops an unused server from memory and rebuilds it with its client capabilities (SDK %s)',
        async (major) => {
          const { app, clock, events } = await setUp({ hibernateAfterMs: 60_000, major });
          const client = await connect(app.url, major);
          expect(await client.callTool('echo', { text: 'warm' })).toBe('warm');
          expect(app.sessions.liveCount).toBe(1);
          clock.advance(60_000);
          await app.endpoint.sweep();
          expect(app.sessions.liveCount).toBe(0);
          expect(await app.sessions.count()).toBe(1);
          expect(events.closed).toEqual([]);
          // Sampling needs the client capabilities negotiated at initialize: they survive the rebuild.
          expect(await client.callTool('ask_model', { question: 'after sleep' })).toBe('answer to after sleep');
          expect(app.sessions.liveCount).toBe(1);
          expect(await client.callTool('whoami')).toContain(client.sessionId!);
        },
      );

      it('does not hibernate a server with a request in flight', async () => {
        const { app, clock } = await setUp({ hibernateAfterMs: 1_000 });
        let release: () => void = () => undefined;
        let sampled: () => void = () => undefined;
        const asked = new Promise<void>((resolve) => (sampled = resolve));
        const client = await connectClient('v2', app.url, {
          onSampling: () => {
            sampled();
            return new Promise<void>((resolve) => (release = resolve));
          },
        });
        clients.push(client);
        const answer = client.callTool('ask_model', { question: 'slow' });
        await asked;
        clock.advance(5_000);
        await app.endpoint.sweep();
        expect(app.sessions.liveCount).toBe(1);
        release();
        expect(await answer).toBe('answer to slow');
      });
    });

    describe('lazyServer', () => {
      /** A server factory that counts the servers it built and how often each saw `notifications/initialized`. */
      function counting(build: (session: McpSession | undefined) => McpServerLike = serverFactory('v2')) {
        const counts = { built: 0, initialized: 0 };
        const server = (session: McpSession | undefined) => {
          counts.built += 1;
          const built = build(session);
          const inner = (built as { server?: { oninitialized?: () => void } }).server;
          if (inner !== undefined) inner.oninitialized = () => void (counts.initialized += 1);
          return built;
        };
        return { counts, server };
      }

      /** A raw `initialize` and `initialized`: the session id and the result the client was told. */
      async function initializeWith(url: string, protocolVersion: string): Promise<{ id: string; result: Record<string, unknown> }> {
        const response = await postInitialize(url, initializeParams(protocolVersion));
        expect(response.status).toBe(200);
        const body = (await response.json()) as { result: Record<string, unknown> };
        const id = response.headers.get('mcp-session-id')!;
        const initialized = await post(url, id, { jsonrpc: '2.0', method: 'notifications/initialized' });
        expect(initialized.status).toBe(202);
        return { id, result: body.result };
      }

      it('answers initialize without a server once a server answered that version, and builds it on first use', async () => {
        const { counts, server } = counting();
        const { app, events } = await setUp({ lazyServer: true, server });
        const first = await initializeWith(app.url, '2025-11-25');
        expect(counts).toEqual({ built: 1, initialized: 1 });
        const second = await initializeWith(app.url, '2025-11-25');
        expect(second.result).toEqual(first.result);
        expect(counts.built).toBe(1);
        expect(app.sessions.liveCount).toBe(1);
        expect(await app.sessions.count()).toBe(2);
        expect(events.created).toEqual([first.id, second.id]);
        // Another requested version has no kept result yet: its first session builds a server.
        const older = await initializeWith(app.url, '2025-03-26');
        expect(older.result.protocolVersion).toBe('2025-03-26');
        expect(counts.built).toBe(2);

        // The first request that needs the server builds it, and it saw initialized once (by replay).
        await callEcho(app.url, second.id, 'built now');
        expect(counts).toEqual({ built: 3, initialized: 3 });
        expect(app.sessions.liveCount).toBe(3);
      });

      it.each(['v1', 'v2'] as const)('rebuilds a lazily created session with the client capabilities (SDK %s client)', async (major) => {
        const { counts, server } = counting();
        const { app } = await setUp({ lazyServer: true, server });
        await initializeWith(app.url, '2025-11-25');
        await initializeWith(app.url, '2025-06-18');
        await initializeWith(app.url, '2025-03-26');
        const built = counts.built;
        const client = await connect(app.url, major);
        expect(counts.built).toBe(built);
        // Sampling needs the client capabilities sent with initialize: the built server has them.
        expect(await client.callTool('ask_model', { question: 'lazy' })).toBe('answer to lazy');
        expect(counts.built).toBe(built + 1);
        expect(await client.callTool('whoami')).toContain(client.sessionId!);
      });

      it('hands a server notifications/initialized once when lazyServer is off', async () => {
        const { counts, server } = counting();
        const { app, clock } = await setUp({ server, hibernateAfterMs: 1_000 });
        const id = await initializeRaw(app.url);
        expect(counts).toEqual({ built: 1, initialized: 1 });
        clock.advance(1_000);
        await app.endpoint.sweep();
        await callEcho(app.url, id, 'rebuilt');
        expect(counts).toEqual({ built: 2, initialized: 2 });
      });

      /** A raw initialize with the given params: the session id (null when none) and the body. */
      async function initializeRefusable(url: string, params: Record<string, unknown>) {
        const response = await postInitialize(url, params);
        const body = (await response.json()) as { result?: Record<string, unknown>; error?: { code: number } };
        return { id: response.headers.get('mcp-session-id'), body };
      }

      it('lets the server answer initialize params it would refuse, and keeps no made-up version', async () => {
        const { counts, server } = counting();
        const { app } = await setUp({ lazyServer: true, server });
        await initializeWith(app.url, '2025-11-25');
        expect(counts.built).toBe(1);
        // No clientInfo: the SDK's server refuses it, so no session may come of it.
        const malformed = await initializeRefusable(app.url, { protocolVersion: '2025-11-25', capabilities: {} });
        expect(malformed.id).toBeNull();
        expect(malformed.body.error).toBeDefined();
        expect(counts.built).toBe(2);
        expect(await app.sessions.count()).toBe(1);
        // A version the server does not speak is answered with its own: nothing is kept for it.
        const params = initializeParams('1999-01-01');
        const first = await initializeRefusable(app.url, params);
        const second = await initializeRefusable(app.url, params);
        expect(first.body.result?.protocolVersion).not.toBe('1999-01-01');
        expect(second.body.result?.protocolVersion).toBe(first.body.result?.protocolVersion);
        expect(counts.built).toBe(4);
      });

      it('answers each session with a copy no middleware edit of another session reaches', async () => {
        const warnings: string[] = [];
        const logger: Logger = {
          error: () => undefined,
          warn: (_fields, message) => void warnings.push(message),
          info: () => undefined,
          debug: () => undefined,
        };
        let seen = 0;
        const tagFirst: MessageMiddleware = async (ctx, next) => {
          const result = await next();
          if (ctx.method === 'initialize' && seen++ === 0) {
            (result.serverInfo as Record<string, unknown>).secret = `for ${ctx.session?.id} only`;
          }
          return result;
        };
        const { counts, server } = counting();
        const { app } = await setUp({ lazyServer: true, server, logger, middleware: [tagFirst] });
        const a = await initializeWith(app.url, '2025-11-25');
        expect(a.result.serverInfo).toMatchObject({ secret: `for ${a.id} only` });
        const b = await initializeWith(app.url, '2025-11-25');
        expect(b.result.serverInfo).not.toHaveProperty('secret');
        await callEcho(app.url, b.id, 'built');
        expect(counts.built).toBe(2);
        // The kept result is the server's own, so B's server answers the same: no false alarm.
        expect(warnings).toEqual([]);
      });

      it('turns itself off with a warning when the servers answer initialize differently per session', async () => {
        const warnings: string[] = [];
        const logger: Logger = {
          error: () => undefined,
          warn: (_fields, message) => void warnings.push(message),
          info: () => undefined,
          debug: () => undefined,
        };
        const { counts, server } = counting((session) => {
          const built = new McpServerV2({ name: 'per-session', version: '1' }, { instructions: `for ${session?.id ?? 'no session'}` });
          built.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
            content: [{ type: 'text', text }],
          }));
          return built;
        });
        const { app } = await setUp({ lazyServer: true, server, logger });
        const a = await initializeWith(app.url, '2025-11-25');
        expect(a.result.instructions).toBe(`for ${a.id}`);
        // The documented misuse: B is told A's instructions; building B's server finds out.
        const b = await initializeWith(app.url, '2025-11-25');
        expect(b.result.instructions).toBe(`for ${a.id}`);
        expect(warnings).toEqual([]);
        await callEcho(app.url, b.id, 'found out');
        expect(warnings).toEqual([expect.stringContaining('lazyServer is on, but the server factory answered initialize differently')]);
        // From now on every session gets its own server's answer.
        const c = await initializeWith(app.url, '2025-11-25');
        expect(c.result.instructions).toBe(`for ${c.id}`);
        expect(counts.built).toBe(3);
      });
    });

    describe('session records', () => {
      it('keeps id, version, principal, timestamps and request count', async () => {
        const { app, clock } = await setUp();
        const client = await connect(app.url);
        clock.advance(10);
        await client.callTool('echo', { text: '1' });
        const session = await app.sessions.get(client.sessionId!);
        expect(session).toBeDefined();
        expect(session!.protocolVersion).toBe('2025-11-25');
        expect(session!.clientInfo?.name).toBe('interop-v2');
        expect(session!.principal).toBeUndefined();
        expect(session!.lastActiveAt - session!.createdAt).toBe(10);
        // initialize, tools/call (notifications do not count)
        expect(session!.requestCount).toBe(2);
        expect((await app.sessions.list()).map((s) => s.id)).toEqual([client.sessionId]);
      });

      it('terminates a session from the host app', async () => {
        const { app, events } = await setUp();
        const client = await connect(app.url);
        expect(await app.sessions.terminate(client.sessionId!)).toBe(true);
        expect(await app.sessions.terminate(client.sessionId!)).toBe(false);
        expect(events.closed).toEqual([{ id: client.sessionId!, reason: 'deleted' }]);
      });
    });

    describe('streams over time', () => {
      it('writes keep-alive comments on an open GET stream', async () => {
        const { app } = await setUp({ keepAliveIntervalMs: 20 });
        const id = await initializeRaw(app.url);
        const stream = await fetch(app.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': id } });
        const reader = stream.body!.getReader();
        const decoder = new TextDecoder();
        let text = '';
        while (!text.includes(': keep-alive\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
        expect(text).toMatch(/^id: .+\nretry: \d+\ndata: \n\n/);
        await reader.cancel();
      });

      it.each(['v1', 'v2'] as const)(
        'ends a response stream at maxStreamDurationMs and the SDK %s client resumes it with Last-Event-ID',
        async (major) => {
          const resumptions: string[] = [];
          let resumed: () => void = () => undefined;
          const cut = new Promise<void>((resolve) => (resumed = resolve));
          const clock = new ManualClock();
          const created = await harness.start(
            { server: serverFactory(major), clock, responseMode: 'sse', maxStreamDurationMs: 30, retryIntervalMs: 5 },
            {
              observe: (req) => {
                const lastEventId = req.headers['last-event-id'];
                if (req.method === 'GET' && typeof lastEventId === 'string' && !lastEventId.startsWith('standalone')) {
                  resumptions.push(lastEventId);
                  resumed();
                }
              },
            },
          );
          app = created;
          // The client answers the sampling request only once its response stream was cut and resumed.
          const client = await connectClient(major, created.url, { onSampling: () => cut });
          clients.push(client);
          expect(await client.callTool('ask_model', { question: 'slow' })).toBe('answer to slow');
          expect(resumptions.length).toBeGreaterThanOrEqual(1);
        },
      );
    });

    describe('close()', () => {
      it('ends every stream with a retry hint, closes every server and reports shutdown', async () => {
        const { app, events } = await setUp({ retryIntervalMs: 250 });
        const client = await connect(app.url);
        const stream = await fetch(app.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': client.sessionId! } });
        const body = stream.text();
        await app.endpoint.close();
        const text = await body;
        expect(text).toContain('retry: 250');
        expect(app.sessions.liveCount).toBe(0);
        if (app.persistentStores === true) {
          // Shared stores outlive a process: the session goes on elsewhere, so it did not close.
          expect(events.closed).toEqual([]);
          expect(await app.sessions.count()).toBe(1);
        } else {
          expect(events.closed).toEqual([{ id: client.sessionId!, reason: 'shutdown' }]);
          expect(await app.sessions.count()).toBe(0);
        }
        const after = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
          }),
        });
        expect(after.status).toBe(503);
        expect(after.headers.get('retry-after')).toBe('1');
      });

      it('leaves no timer behind', async () => {
        const before = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
        const { app } = await setUp({ keepAliveIntervalMs: 10_000, sweepIntervalMs: 10_000 });
        const client = await connect(app.url);
        await client.callTool('echo', { text: 'x' });
        await client.close();
        clients = [];
        await app.close();
        const after = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
        expect(after).toBeLessThanOrEqual(before);
      });
    });
  });
}
