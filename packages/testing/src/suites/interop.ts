import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { McpSessionOptions, ResponseMode } from '@x/mcp-session-core';
import { connectClient, type TestClient } from '../fixtures/clients.js';
import { type SdkMajor, serverFactory } from '../fixtures/servers.js';
import type { AdapterHarness, RunningApp } from '../harness.js';
import { postInSession } from '../raw.js';

const majors: SdkMajor[] = ['v1', 'v2'];
const combos = majors.flatMap((server) => majors.map((client) => ({ server, client })));
const modes: ResponseMode[] = ['auto', 'sse'];
/** Session tokens (`tokenKeys`), signed by default. */
const withTokens: Partial<McpSessionOptions> = { tokenKeys: [{ id: 'k1', key: randomBytes(32).toString('base64') }] };

/** SDK v1 and v2 clients against SDK v1 and v2 servers, in every response mode. */
export function interopSuite(harness: AdapterHarness): void {
  describe('SDK interop', () => {
    let app: RunningApp | undefined;
    let clients: TestClient[] = [];
    afterEach(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      clients = [];
      await app?.close();
      app = undefined;
    });

    async function setUp(server: SdkMajor, client: SdkMajor, responseMode: ResponseMode, options: Partial<McpSessionOptions> = {}) {
      const resumptions: string[] = [];
      app = await harness.start(
        { server: serverFactory(server), responseMode, retryIntervalMs: 5, ...options },
        {
          observe: (req) => {
            const lastEventId = req.headers['last-event-id'];
            if (req.method === 'GET' && typeof lastEventId === 'string') resumptions.push(lastEventId);
          },
        },
      );
      const connected = await connectClient(client, app.url);
      clients.push(connected);
      return { app, client: connected, resumptions };
    }

    function postWithSession(url: string, sessionId: string) {
      return postInSession(url, sessionId, { jsonrpc: '2.0', id: 99, method: 'tools/list' }, { 'mcp-protocol-version': '2025-11-25' });
    }

    // Every release of each SDK, each way, in the default mode with random ids and with session tokens;
    // `sse` with random ids (the transport is the same whatever the id).
    const runs = [
      ...modes.map((mode) => ({ label: `${mode} mode`, mode, options: {} })),
      { label: 'auto mode, session tokens', mode: 'auto' as const, options: withTokens },
    ];
    describe.each(runs)('SDK interop, $label', ({ mode, options }) => {
      describe.each(combos)('server $server, client $client', ({ server, client: clientMajor }) => {
        it('runs a whole session: tools, progress, logging, sampling, elicitation, termination', async () => {
          const { app, client } = await setUp(server, clientMajor, mode, options);
          expect(client.sessionId).toMatch(options === withTokens ? /^s1\.k1\.[\x21-\x7e]{100,}$/ : /^[\x21-\x7e]{22,}$/);
          expect(await client.listTools()).toEqual(expect.arrayContaining(['echo', 'countdown', 'ask_model', 'ask_user']));
          expect(await client.callTool('echo', { text: 'hello' })).toBe('hello');

          const progress: number[] = [];
          expect(await client.callTool('countdown', { from: 3 }, (value) => progress.push(value))).toBe('liftoff');
          expect(progress).toEqual([1, 2, 3]);
          expect(client.logs).toEqual(['t-minus 3', 't-minus 2', 't-minus 1']);

          expect(await client.callTool('ask_model', { question: 'why?' })).toBe('answer to why?');
          expect(client.sampled).toEqual(['why?']);
          expect(await client.callTool('ask_user')).toBe('Hello, Ada');

          const sessionId = client.sessionId!;
          expect(await app.sessions.count()).toBe(1);
          await client.terminateSession();
          expect(await app.sessions.count()).toBe(0);
          const after = await postWithSession(app.url, sessionId);
          expect(after.status).toBe(404);
          expect(await after.json()).toMatchObject({ error: { code: -32001 } });
        });

        it('resumes a dropped response stream with Last-Event-ID and delivers every event once', async () => {
          const { client, resumptions } = await setUp(server, clientMajor, mode, options);
          expect(await client.callTool('drop_stream', { steps: 3 })).toBe('survived');
          expect(client.logs).toEqual(['before drop', 'after drop 1', 'after drop 2', 'after drop 3']);
          // The client came back with GET and the id of the last event it had.
          expect(resumptions.length).toBe(1);
          expect(resumptions[0]).toMatch(/^[\w~-]+\.\d+$/);
          // The session goes on normally after the resumed stream.
          expect(await client.callTool('echo', { text: 'still here' })).toBe('still here');
        });
      });
    });

    describe('SDK interop, json mode', () => {
      it.each(combos)(
        'server $server, client $client: tools, sampling and elicitation over the standalone stream',
        async ({ server, client: clientMajor }) => {
          const { client } = await setUp(server, clientMajor, 'json');
          expect(await client.callTool('echo', { text: 'json' })).toBe('json');
          expect(await client.callTool('ask_model', { question: 'q' })).toBe('answer to q');
          expect(await client.callTool('ask_user')).toBe('Hello, Ada');
        },
      );
    });
  });
}
