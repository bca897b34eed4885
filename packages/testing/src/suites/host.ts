/**
 * The endpoint inside a real host app: the host's body parser, a path prefix, the host's own routes,
 * its auth, its admin access to the sessions, and a shutdown that leaves nothing open.
 */
import type { AuthInfo, McpSession, McpSessionOptions, SessionCloseReason } from '@x/mcp-session-core';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientOptions, connectClient, type TestClient } from '../fixtures/clients.js';
import { type SdkMajor, serverFactory } from '../fixtures/servers.js';
import type { AdapterHarness, HostOptions, RunningApp } from '../harness.js';
import { ACCEPT_BOTH as ACCEPT, initializeParams, postInitialize } from '../raw.js';

const LATEST = '2025-11-25';

const bearerAuth: HostOptions['auth'] = (req): AuthInfo | undefined => {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match === null ? undefined : { token: match[1]!, clientId: match[1]!, scopes: [] };
};

function initializeBody(id = 1): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 'host-suite', version: '1' } },
  });
}

function echoBody(text: string, id = 2): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } });
}

function sessionHeaders(sessionId: string): Record<string, string> {
  return { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST };
}

/** Initializes a session over plain HTTP (no GET stream held open) and acknowledges it. */
async function openSession(url: string, send: typeof fetch = fetch, headers: Record<string, string> = {}): Promise<string> {
  const res = await send(url, {
    method: 'POST',
    headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers },
    body: initializeBody(),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const sessionId = res.headers.get('mcp-session-id');
  expect(sessionId).toBeTypeOf('string');
  const ack = await send(url, {
    method: 'POST',
    headers: { ...sessionHeaders(sessionId!), ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(ack.status).toBe(202);
  await ack.arrayBuffer();
  return sessionId!;
}

async function expectEcho(url: string, sessionId: string, text: string, send: typeof fetch = fetch): Promise<void> {
  const res = await send(url, { method: 'POST', headers: sessionHeaders(sessionId), body: echoBody(text) });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text }] } });
}

/** Open handles the test can see: listening servers, sockets, referenced timers. */
function openHandles(): Record<string, number> {
  const counts: Record<string, number> = { TCPServerWrap: 0, TCPSocketWrap: 0, Timeout: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind]! += 1;
  return counts;
}

/**
 * Handles closed during the last callback are released in the loop's close phase, after the check
 * phase: give the loop a few turns to run it, without waiting on a clock.
 */
async function handlesReleased(limit: Record<string, number>): Promise<Record<string, number>> {
  let now = openHandles();
  for (let turn = 0; turn < 10 && Object.keys(limit).some((kind) => now[kind]! > limit[kind]!); turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    now = openHandles();
  }
  return now;
}

/** A fetch on its own connection pool, so the test can close every client socket it opened. */
function pooledFetch(agent: Agent): typeof fetch {
  return ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as UndiciRequestInit), dispatcher: agent })) as unknown as typeof fetch;
}

/** The framework's body parser, a path prefix and the host's own routes and admin access. */
export function hostSuite(harness: AdapterHarness): void {
  describe('host integration', () => {
    let apps: RunningApp[] = [];
    let clients: TestClient[] = [];
    afterEach(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const app of apps) await app.close();
      apps = [];
      clients = [];
    });

    async function start(options: Partial<McpSessionOptions> & { major?: SdkMajor } = {}, host?: HostOptions): Promise<RunningApp> {
      const { major = 'v2', ...rest } = options;
      const app = await harness.start({ server: serverFactory(major), ...rest }, host);
      apps.push(app);
      return app;
    }

    async function connect(major: SdkMajor, url: string, options: ClientOptions = {}): Promise<TestClient> {
      const client = await connectClient(major, url, options);
      clients.push(client);
      return client;
    }

    const mounts: Array<[string, HostOptions]> = [
      ['no body parser', {}],
      ['the host body parser', { bodyParser: true }],
      ['a path prefix', { prefix: '/api/v1' }],
      ['a path prefix and the host body parser', { prefix: '/api', bodyParser: true }],
    ];

    describe.each(mounts)('mounted with %s', (_name, host) => {
      it('serves a whole SDK session: tools, progress, logging, sampling, elicitation, termination', async () => {
        const app = await start({}, host);
        expect(app.url).toBe(`${app.hostUrl}/mcp`);
        expect(new URL(app.url).pathname).toBe(`${host.prefix ?? ''}/mcp`);
        const client = await connect('v2', app.url);
        expect(await client.callTool('echo', { text: 'héllo ✓' })).toBe('héllo ✓');
        const progress: number[] = [];
        expect(await client.callTool('countdown', { from: 2 }, (value) => progress.push(value))).toBe('liftoff');
        expect(progress).toEqual([1, 2]);
        expect(client.logs).toEqual(['t-minus 2', 't-minus 1']);
        expect(await client.callTool('ask_model', { question: 'parsed?' })).toBe('answer to parsed?');
        expect(await client.callTool('ask_user')).toBe('Hello, Ada');
        expect(await app.sessions.count()).toBe(1);
        await client.terminateSession();
        expect(await app.sessions.count()).toBe(0);
      });

      it('takes notifications, client responses and 2025-03-26 batches in raw HTTP', async () => {
        const app = await start({}, host);
        const res = await postInitialize(app.url, initializeParams('2025-03-26'), { 'content-type': 'application/json; charset=utf-8' });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        const sessionId = res.headers.get('mcp-session-id')!;
        const headers = { ...sessionHeaders(sessionId), 'mcp-protocol-version': '2025-03-26' };
        const notification = await fetch(app.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        });
        expect(notification.status).toBe(202);
        expect(await notification.text()).toBe('');
        const response = await fetch(app.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ jsonrpc: '2.0', id: 'nobody-asked~1', result: {} }),
        });
        expect(response.status).toBe(202);
        expect(await response.text()).toBe('');
        const batch = await fetch(app.url, { method: 'POST', headers, body: `[${echoBody('one', 1)},${echoBody('two', 2)}]` });
        expect(batch.status).toBe(200);
        const answers = (await batch.json()) as Array<{ id: number; result: { content: Array<{ text: string }> } }>;
        expect(answers.map((answer) => [answer.id, answer.result.content[0]?.text]).sort()).toEqual([
          [1, 'one'],
          [2, 'two'],
        ]);
      });

      it('refuses malformed JSON and a non-JSON body with 400 and 415, and keeps serving', async () => {
        const app = await start({}, host);
        const sessionId = await openSession(app.url);
        // Whoever parses the body (the host's parser or the endpoint) refuses it; the session is unharmed.
        const malformed = await fetch(app.url, { method: 'POST', headers: sessionHeaders(sessionId), body: '{"jsonrpc":' });
        expect(malformed.status).toBe(400);
        await malformed.arrayBuffer();
        const plain = await fetch(app.url, {
          method: 'POST',
          headers: { ...sessionHeaders(sessionId), 'content-type': 'text/plain' },
          body: new TextEncoder().encode(echoBody('x')),
        });
        expect(plain.status).toBe(415);
        expect(await plain.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
        await expectEcho(app.url, sessionId, 'unharmed');
      });

      it("leaves the host's own routes answering beside the endpoint", async () => {
        const app = await start({}, host);
        const health = await fetch(`${app.hostUrl}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ ok: true });
        // The endpoint answers its own path only: below it and elsewhere the host decides (404).
        for (const path of ['/mcp/extra', '/elsewhere']) {
          const res = await fetch(`${app.hostUrl}${path}`, {
            method: 'POST',
            headers: { accept: ACCEPT, 'content-type': 'application/json' },
            body: initializeBody(),
          });
          expect(res.status, path).toBe(404);
          expect(res.headers.get('mcp-session-id')).toBeNull();
          await res.arrayBuffer();
        }
        expect(await app.sessions.count()).toBe(0);
        await expectEcho(app.url, await openSession(app.url), 'beside');
        expect(await (await fetch(`${app.hostUrl}/health`)).json()).toEqual({ ok: true });
      });
    });

    it('serves the endpoint only under the prefix', async () => {
      const app = await start({}, { prefix: '/api' });
      const origin = new URL(app.url).origin;
      for (const url of [`${origin}/mcp`, `${origin}/health`]) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { accept: ACCEPT, 'content-type': 'application/json' },
          body: initializeBody(),
        });
        expect(res.status, url).toBe(404);
        expect(res.headers.get('mcp-session-id')).toBeNull();
        await res.arrayBuffer();
      }
      expect(await app.sessions.count()).toBe(0);
      await expectEcho(`${origin}/api/mcp`, await openSession(`${origin}/api/mcp`), 'prefixed');
    });

    it('lets a host observer see every request before the endpoint', async () => {
      const seen: string[] = [];
      const app = await start(
        {},
        { observe: (req) => void seen.push(`${req.method} ${req.headers['mcp-session-id'] === undefined ? '-' : 'session'}`) },
      );
      const client = await connect('v2', app.url);
      expect(await client.callTool('echo', { text: 'x' })).toBe('x');
      await client.terminateSession();
      expect(seen[0]).toBe('POST -');
      // notifications/initialized and tools/call, at least; the GET stream opens in the background.
      expect(seen.filter((entry) => entry === 'POST session').length).toBeGreaterThanOrEqual(2);
      expect(seen.at(-1)).toBe('DELETE session');
    });

    describe.each(['v1', 'v2'] as const)('the host auth, SDK %s server', (major) => {
      it.each([{}, { prefix: '/api' }])('reaches tool handlers as authInfo and binds the session to the principal (%o)', async (mount) => {
        const app = await start({ major }, { ...mount, auth: bearerAuth });
        const alice = await connect('v2', app.url, { headers: { authorization: 'Bearer alice' } });
        const aliceId = alice.sessionId!;
        expect(await alice.callTool('whoami')).toBe(`${aliceId}|${aliceId}|alice`);
        expect((await app.sessions.get(aliceId))?.principal).toBe('{"client":"alice"}');
        const anonymous = await connect('v1', app.url);
        const anonymousId = anonymous.sessionId!;
        expect(await anonymous.callTool('whoami')).toBe(`${anonymousId}|${anonymousId}|-`);
        expect((await app.sessions.get(anonymousId))?.principal).toBeUndefined();
        // Another principal sees alice's session as unknown.
        const probe = await fetch(app.url, {
          method: 'POST',
          headers: { ...sessionHeaders(aliceId), authorization: 'Bearer mallory' },
          body: echoBody('x'),
        });
        expect(probe.status).toBe(404);
        expect(await probe.json()).toMatchObject({ error: { code: -32001 } });
        expect(await alice.callTool('echo', { text: 'still mine' })).toBe('still mine');
      });
    });

    it("reaches the session directory from the host's admin routes", async () => {
      const closed: Array<{ id: string; reason: SessionCloseReason }> = [];
      const app = await start(
        { onSessionClosed: (session: McpSession, reason) => void closed.push({ id: session.id, reason }) },
        { prefix: '/admin-test' },
      );
      const first = await openSession(app.url);
      const second = await openSession(app.url);
      const listed = await fetch(`${app.hostUrl}/sessions`);
      expect(listed.status).toBe(200);
      expect(((await listed.json()) as { ids: string[] }).ids.sort()).toEqual([first, second].sort());
      expect((await app.sessions.list()).map((session) => session.id).sort()).toEqual([first, second].sort());

      const terminated = await fetch(`${app.hostUrl}/sessions/${encodeURIComponent(first)}`, { method: 'DELETE' });
      expect(terminated.status).toBe(200);
      expect(await terminated.json()).toEqual({ terminated: true });
      expect(closed).toEqual([{ id: first, reason: 'deleted' }]);
      const again = await fetch(`${app.hostUrl}/sessions/${encodeURIComponent(first)}`, { method: 'DELETE' });
      expect(await again.json()).toEqual({ terminated: false });

      const gone = await fetch(app.url, { method: 'POST', headers: sessionHeaders(first), body: echoBody('x') });
      expect(gone.status).toBe(404);
      await gone.arrayBuffer();
      await expectEcho(app.url, second, 'survivor');
      expect(await app.sessions.terminate(second)).toBe(true);
      expect(await app.sessions.count()).toBe(0);
      expect(((await (await fetch(`${app.hostUrl}/sessions`)).json()) as { ids: string[] }).ids).toEqual([]);
    });

    it.each<[string, HostOptions]>([
      ['plain', {}],
      ['with every host option', { prefix: '/api', bodyParser: true, auth: bearerAuth, observe: () => undefined }],
    ])('close() ends open streams with a retry hint and leaves no handle open (%s)', async (_name, host) => {
      const before = openHandles();
      const agent = new Agent();
      const send = pooledFetch(agent);
      const closed: SessionCloseReason[] = [];
      const app = await harness.start(
        {
          server: serverFactory('v2'),
          retryIntervalMs: 250,
          keepAliveIntervalMs: 10_000,
          sweepIntervalMs: 10_000,
          onSessionClosed: (_session, reason) => void closed.push(reason),
        },
        host,
      );
      const client = await connectClient('v2', app.url, { fetch: send });
      expect(await client.callTool('echo', { text: 'x' })).toBe('x');
      await client.close();

      // A session with a GET stream still open when the host shuts down.
      const sessionId = await openSession(app.url, send);
      const stream = await send(app.url, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST },
      });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
      // The priming event carries a retry hint of its own: only what follows it counts.
      expect(text).toMatch(/^id: /);
      const primed = text.indexOf('\n\n') + 2;

      await app.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      expect(text.slice(primed)).toMatch(/^retry: 250$/m);
      // Sessions in shared stores outlive the process; those in its own memory end with it.
      if (app.persistentStores === true) expect(closed).toEqual([]);
      else expect(closed).toContain('shutdown');
      await agent.close();

      const after = await handlesReleased(before);
      for (const kind of Object.keys(before)) expect(after[kind], kind).toBeLessThanOrEqual(before[kind]!);
    });
  });
}
