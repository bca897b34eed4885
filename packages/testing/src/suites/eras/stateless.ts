/**
 * `legacy: 'stateless'`: legacy clients of both SDKs served without sessions, a 2026-07-28 client
 * beside them, and the session operations (GET, DELETE, a session header) answered as the mode says.
 */
import { describe, expect, it } from 'vitest';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, appsFor } from '../../harness.js';
import { del, expectRpcError, get, initializeMessage, post, readResponse } from '../http-rules/helpers.js';
import { type Exchange, LEGACY, MODERN, clientsFor, exercise, modernCall, postModern, recordingFetch, resultText } from './helpers.js';

const SERVER_ERROR = -32000;

/** Every response of a recorded wire lacks `Mcp-Session-Id`, and no request sent one. */
function expectNoSession(wire: Exchange[]): void {
  expect(wire.length).toBeGreaterThan(0);
  for (const exchange of wire) {
    expect(exchange.responseHeaders.get('mcp-session-id')).toBeNull();
    expect(exchange.headers.get('mcp-session-id')).toBeNull();
  }
}

/** Asserts the 405 of a session operation: a JSON-RPC error body, and `Allow: POST`. */
async function expectPostOnly(res: Response): Promise<void> {
  expect(res.headers.get('allow')).toBe('POST');
  expect(res.headers.get('mcp-session-id')).toBeNull();
  expect(await expectRpcError(res, 405, SERVER_ERROR)).toMatch(/POST/);
}

export function statelessCases(harness: AdapterHarness): void {
  describe("legacy: 'stateless'", () => {
    const start = appsFor(harness, () => ({ legacy: 'stateless' }));
    const clients = clientsFor();

    it('SDK v1 and v2 legacy clients list and call tools with progress, with no session; a 2026-07-28 client works beside them', async () => {
      const probe = new ErasProbe();
      const app = await start({ server: erasServerFactory(probe) });
      const v1Wire: Exchange[] = [];
      const v2Wire: Exchange[] = [];
      const v1 = await clients.legacy('v1', app.url, { fetch: recordingFetch(v1Wire) });
      const v2 = await clients.legacy('v2', app.url, { fetch: recordingFetch(v2Wire) });
      const modern = await clients.v2(app.url, { pin: MODERN });

      for (const client of [v1, v2]) {
        expect(client.sessionId).toBeUndefined();
        expect(await client.listTools()).toEqual(expect.arrayContaining(['echo', 'countdown', 'ask_name']));
        const progress: number[] = [];
        expect(await client.callTool('countdown', { from: 3 }, (value) => progress.push(value))).toBe('liftoff');
        expect(progress).toEqual([1, 2, 3]);
        expect(await client.callTool('echo', { text: `from ${client.major}` })).toBe(`from ${client.major}`);
        expect((await client.callTool('whoami')).startsWith('-|')).toBe(true);
        // No stream to send a server request on: sampling and elicitation fail at once, as tool errors.
        await expect(client.callTool('ask_model', { question: 'q' })).rejects.toThrow(/tool error: .*without a session/);
        await expect(client.callTool('ask_user')).rejects.toThrow(/tool error/);
      }
      const fromModern = await exercise(modern);
      expect(fromModern.countdown).toEqual({ text: 'liftoff', progress: [1, 2, 3] });
      expect(fromModern.asked.text).toBe('Hello, Ada');
      expect(modern.elicited).toEqual(['What is your name?']);

      for (const wire of [v1Wire, v2Wire, modern.wire]) expectNoSession(wire);
      for (const wire of [v1Wire, v2Wire]) {
        // The client opened its GET stream in the background: wait for its answer.
        await Promise.all(wire.map((exchange) => exchange.answered));
        const posts = wire.filter((each) => each.http === 'POST');
        expect(posts.slice(0, 2).map((each) => `${each.rpc} ${each.status}`)).toEqual(['initialize 200', 'notifications/initialized 202']);
        expect(posts.slice(2).every((each) => each.status === 200)).toBe(true);
        // The client's GET stream was refused: there is none without a session.
        expect(wire.filter((each) => each.http !== 'POST').map((each) => `${each.http} ${each.status}`)).toEqual(['GET 405']);
      }
      expect(await app.sessions.count()).toBe(0);
      // One server per protocol version for the legacy clients, and the 2026-07-28 one.
      expect([...probe.built].sort()).toEqual(['legacy', 'modern']);
    });

    it('GET and DELETE answer 405 with a JSON-RPC error; a stray Mcp-Session-Id on a POST is ignored', async () => {
      const app = await start({ server: erasServerFactory() });
      for (const headers of [{}, { 'mcp-session-id': 'made-up-session', 'mcp-protocol-version': LEGACY }]) {
        await expectPostOnly(await get(app.url, headers));
        await expectPostOnly(await del(app.url, headers));
      }
      const stray = { 'mcp-session-id': 'made-up-session', 'mcp-protocol-version': LEGACY };
      // initialize mints nothing, with or without the header.
      const initialized = await post(app.url, initializeMessage(LEGACY), stray);
      expect(initialized.status).toBe(200);
      expect(initialized.headers.get('mcp-session-id')).toBeNull();
      expect((await readResponse(initialized)).result?.protocolVersion).toBe(LEGACY);
      const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'no session needed' } } };
      const answered = await post(app.url, call, stray);
      expect(answered.status).toBe(200);
      expect(answered.headers.get('mcp-session-id')).toBeNull();
      expect(resultText(await readResponse(answered))).toBe('no session needed');
      // A 2026-07-28 request with the header is served the same.
      const modern = await postModern(app.url, modernCall('echo', { text: 'modern' }), { 'mcp-session-id': 'made-up-session' });
      expect(modern.status).toBe(200);
      expect(resultText(await readResponse(modern))).toBe('modern');
      expect(await app.sessions.count()).toBe(0);
    });
  });
}
