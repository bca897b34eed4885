import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, type TestClient } from '../fixtures/clients.js';
import { type SdkMajor, serverFactory } from '../fixtures/servers.js';
import { type AdapterHarness, type RunningApp, sharedStoresOf } from '../harness.js';

/**
 * Two endpoints sharing one SessionStore, EventStore and MessageBus act as two processes behind a
 * load balancer. The client's fetch picks the node for each HTTP request.
 */
interface Cluster {
  a: RunningApp;
  b: RunningApp;
  hits: Array<{ node: 'A' | 'B'; method: string; lastEventId: string | undefined; kind: string }>;
}

type Route = (request: { method: string; kind: string; lastEventId: string | undefined; index: number }) => 'A' | 'B';

/** What a client's HTTP request carries: initialize, a response, a tools call, and so on. */
function kindOf(body: unknown): string {
  if (typeof body !== 'string') return 'none';
  const message = JSON.parse(body) as { method?: string; result?: unknown; error?: unknown };
  if (message.method !== undefined) return message.method;
  return 'response';
}

/** Resolves once node A serves a GET stream (the SDK client opens it in the background). */
async function waitForGet(nodes: Cluster): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (nodes.hits.some((hit) => hit.method === 'GET' && hit.node === 'A')) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the client never opened its GET stream');
}

/** Two apps of the adapter under test sharing their stores act as two nodes behind a load balancer. */
export function twoNodeSuite(harness: AdapterHarness): void {
  describe('two nodes', () => {
    let apps: RunningApp[] = [];
    let clients: TestClient[] = [];
    afterEach(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const app of apps) await app.close();
      apps = [];
      clients = [];
    });

    async function cluster(major: SdkMajor): Promise<Cluster> {
      const shared = {
        ...(await sharedStoresOf(harness)),
        server: serverFactory(major),
        retryIntervalMs: 5,
      };
      const a = await harness.start({ ...shared, nodeId: 'A' });
      const b = await harness.start({ ...shared, nodeId: 'B' });
      apps.push(a, b);
      return { a, b, hits: [] };
    }

    async function connectThrough(nodes: Cluster, major: SdkMajor, route: Route, onLog?: (text: string) => void) {
      let index = 0;
      const fetchVia = (url: string | URL, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        const headers = new Headers(init?.headers);
        const lastEventId = headers.get('last-event-id') ?? undefined;
        const kind = kindOf(init?.body);
        const node = route({ method, kind, lastEventId, index: index++ });
        nodes.hits.push({ node, method, lastEventId, kind });
        const target = new URL(String(url));
        const base = new URL(node === 'A' ? nodes.a.url : nodes.b.url);
        target.host = base.host;
        return fetch(target, init);
      };
      const client = await connectClient(major, nodes.a.url, { fetch: fetchVia, ...(onLog === undefined ? {} : { onLog }) });
      clients.push(client);
      return client;
    }

    describe.each(['v1', 'v2'] as const)('two nodes in one process, SDK %s', (major) => {
      it('serves tools/call on B for a session initialized on A, rebuilding the server there', async () => {
        const nodes = await cluster(major);
        const client = await connectThrough(nodes, major, ({ kind }) => (kind === 'initialize' ? 'A' : 'B'));
        expect(await client.callTool('echo', { text: 'on B' })).toBe('on B');
        // Both nodes hold a server of the session: A's from initialize, B's rebuilt from the record.
        expect(nodes.a.sessions.liveCount).toBe(1);
        expect(nodes.b.sessions.liveCount).toBe(1);
        expect(await client.callTool('whoami')).toMatch(new RegExp(`^${client.sessionId}\\|${client.sessionId}\\|`));
        expect(nodes.hits.filter((hit) => hit.kind === 'tools/call').every((hit) => hit.node === 'B')).toBe(true);
      });

      it('delivers a sampling and an elicitation answer POSTed to B to the request pending on A', async () => {
        const nodes = await cluster(major);
        const client = await connectThrough(nodes, major, ({ kind }) => (kind === 'response' ? 'B' : 'A'));
        expect(await client.callTool('ask_model', { question: 'cross-node?' })).toBe('answer to cross-node?');
        expect(await client.callTool('ask_user')).toBe('Hello, Ada');
        const responses = nodes.hits.filter((hit) => hit.kind === 'response');
        expect(responses.length).toBe(2);
        expect(responses.every((hit) => hit.node === 'B')).toBe(true);
        expect(nodes.b.sessions.liveCount).toBe(0);
      });

      it('delivers a notification sent by the server on B to the GET stream held by A', async () => {
        const nodes = await cluster(major);
        let received: (text: string) => void = () => undefined;
        const arrived = new Promise<string>((resolve) => {
          received = (text) => {
            if (text === 'from B') resolve(text);
          };
        });
        const client = await connectThrough(
          nodes,
          major,
          ({ method, kind }) => (method === 'GET' || kind === 'initialize' ? 'A' : 'B'),
          (text) => received(text),
        );
        // The client opens its GET stream after initialization; wait until A holds it.
        await waitForGet(nodes);
        expect(await client.callTool('notify_standalone', { data: 'from B' })).toBe('sent');
        expect(await arrived).toBe('from B');
        expect(client.logs.filter((text) => text === 'from B')).toHaveLength(1);
      });

      it('answers 404 on B once the session is deleted on A, and drops B’s server', async () => {
        const nodes = await cluster(major);
        const client = await connectThrough(nodes, major, ({ method }) => (method === 'DELETE' ? 'A' : 'B'));
        expect(await client.callTool('echo', { text: 'x' })).toBe('x');
        expect(nodes.b.sessions.liveCount).toBe(1);
        const sessionId = client.sessionId!;
        await client.terminateSession();
        const response = await fetch(nodes.b.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(response.status).toBe(404);
        expect(nodes.b.sessions.liveCount).toBe(0);
      });

      it('replays on B, with Last-Event-ID, a response stream that began on A', async () => {
        const nodes = await cluster(major);
        const client = await connectThrough(nodes, major, ({ method, lastEventId }) =>
          method === 'GET' && lastEventId !== undefined ? 'B' : 'A',
        );
        expect(await client.callTool('drop_stream', { steps: 2 })).toBe('survived');
        expect(client.logs).toEqual(['before drop', 'after drop 1', 'after drop 2']);
        const resumed = nodes.hits.filter((hit) => hit.lastEventId !== undefined);
        expect(resumed.length).toBeGreaterThanOrEqual(1);
        expect(resumed.every((hit) => hit.node === 'B' && hit.method === 'GET')).toBe(true);
      });

      it('keeps server-to-client request ids apart when both nodes hold a live server of the session', async () => {
        const nodes = await cluster(major);
        const client = await connectThrough(nodes, major, ({ index }) => (index % 2 === 0 ? 'A' : 'B'));
        const questions = ['one', 'two', 'three', 'four'];
        const answers = await Promise.all(questions.map((question) => client.callTool('ask_model', { question })));
        expect(answers).toEqual(questions.map((question) => `answer to ${question}`));
        expect(nodes.a.sessions.liveCount + nodes.b.sessions.liveCount).toBe(2);
      });
    });
  });
}
