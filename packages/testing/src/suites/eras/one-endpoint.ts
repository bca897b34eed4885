/**
 * One endpoint, legacy sessions on (the default): SDK v2 clients pinned to 2026-07-28, in `auto` mode
 * and in the legacy handshake each get their era, and the wire shows it.
 */
import { describe, expect, it } from 'vitest';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { createV2Server } from '../../fixtures/servers.js';
import { type AdapterHarness, appsFor } from '../../harness.js';
import { type Exchange, LEGACY, MODERN, clientsFor, exercise } from './helpers.js';

const PROTOCOL_META = 'io.modelcontextprotocol/protocolVersion';

/** The exchanges that carried a JSON-RPC request (a method and an id). */
const requestsOf = (wire: Exchange[]) => wire.filter((exchange) => exchange.body?.method !== undefined && exchange.body.id !== undefined);

/** What a 2026-07-28 client's wire must show: no handshake, no session, the version and the mirrored headers on every request. */
function expectModernWire(wire: Exchange[]): void {
  expect(wire.map((exchange) => exchange.rpc)).not.toContain('initialize');
  expect(wire[0]?.rpc).toBe('server/discover');
  expect((wire[0]?.response?.result?.supportedVersions as string[] | undefined) ?? []).toContain(MODERN);
  // Every exchange is a POST: no GET stream, no DELETE.
  expect(new Set(wire.map((exchange) => exchange.http))).toEqual(new Set(['POST']));
  for (const exchange of wire) {
    expect(exchange.headers.get('mcp-session-id')).toBeNull();
    expect(exchange.responseHeaders.get('mcp-session-id')).toBeNull();
    expect(exchange.headers.get('mcp-protocol-version')).toBe(MODERN);
  }
  for (const { body, headers, status } of requestsOf(wire)) {
    expect(status).toBe(200);
    expect((body?.params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_META]).toBe(MODERN);
    expect(headers.get('mcp-method')).toBe(body?.method);
    if (body?.method === 'tools/call') expect(headers.get('mcp-name')).toBe(body.params?.name);
  }
  // The countdown's progress came on its own SSE response, which proxies are told not to buffer.
  const countdown = wire.find((exchange) => exchange.body?.params?.name === 'countdown');
  expect(countdown?.responseHeaders.get('content-type')).toMatch(/^text\/event-stream/);
  expect(countdown?.responseHeaders.get('x-accel-buffering')).toBe('no');
  // The multi round-trip: input_required with a sealed state, then a retry carrying it with the answer.
  const [first, retry, ...more] = wire.filter((exchange) => exchange.body?.params?.name === 'ask_name');
  expect(more).toEqual([]);
  expect(first?.response?.result).toMatchObject({
    resultType: 'input_required',
    inputRequests: { user_name: { method: 'elicitation/create' } },
    requestState: expect.any(String),
  });
  expect(retry?.body?.params).toMatchObject({
    requestState: first?.response?.result?.requestState,
    inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } },
  });
  expect(retry?.body?.id).not.toBe(first?.body?.id);
  expect(retry?.response?.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'Hello, Ada' }] });
}

/** What a legacy client's wire must show: initialize mints a session, every later request carries it. */
function expectLegacyWire(wire: Exchange[], sessionId: string): void {
  const [initialize, ...rest] = wire;
  expect(initialize?.rpc).toBe('initialize');
  expect(initialize?.responseHeaders.get('mcp-session-id')).toBe(sessionId);
  expect(wire.map((exchange) => exchange.rpc)).not.toContain('server/discover');
  for (const exchange of rest) {
    expect(exchange.headers.get('mcp-session-id')).toBe(sessionId);
    expect(exchange.headers.get('mcp-protocol-version')).toBe(LEGACY);
  }
  for (const { body } of requestsOf(wire))
    expect((body?.params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_META]).toBeUndefined();
  // The elicitation came as a server request on the call's stream; the client posted its answer.
  expect(wire.filter((exchange) => exchange.body?.params?.name === 'ask_name')).toHaveLength(1);
  expect(wire.filter((exchange) => exchange.rpc === 'response')).toHaveLength(1);
}

export function oneEndpointCases(harness: AdapterHarness): void {
  describe('one endpoint, legacy sessions on: SDK v2 clients of both eras', () => {
    const start = appsFor(harness, () => ({}));
    const connect = clientsFor().v2;

    it('pinned, auto and legacy clients at once: tools, progress and a multi round-trip each, in their own era', async () => {
      const probe = new ErasProbe();
      const app = await start({ server: erasServerFactory(probe) });
      const pinned = await connect(app.url, { pin: MODERN });
      const auto = await connect(app.url, 'auto');
      const legacy = await connect(app.url, 'legacy');
      const [fromPinned, fromAuto, fromLegacy] = await Promise.all([exercise(pinned), exercise(auto), exercise(legacy)]);

      for (const outcome of [fromPinned, fromAuto, fromLegacy]) {
        expect(outcome.tools).toEqual(expect.arrayContaining(['echo', 'countdown', 'ask_name']));
        expect(outcome.countdown).toEqual({ text: 'liftoff', progress: [1, 2, 3] });
        expect(outcome.asked.text).toBe('Hello, Ada');
      }
      for (const client of [pinned, auto, legacy]) expect(client.elicited).toEqual(['What is your name?']);

      expect(pinned.client.getProtocolEra()).toBe('modern');
      expect(auto.client.getProtocolEra()).toBe('modern');
      expect(auto.client.getNegotiatedProtocolVersion()).toBe(MODERN);
      expect(legacy.client.getProtocolEra()).toBe('legacy');
      expect(pinned.transport.sessionId).toBeUndefined();
      expect(auto.transport.sessionId).toBeUndefined();
      const sessionId = legacy.transport.sessionId;
      expect(sessionId).toMatch(/^[\x21-\x7e]{22,}$/);

      expectModernWire(pinned.wire);
      expectModernWire(auto.wire);
      expectLegacyWire(legacy.wire, sessionId!);

      // The 2026-07-28 clients were served without a session; the legacy one in its own.
      expect(fromPinned.whoami.startsWith('-|')).toBe(true);
      expect(fromAuto.whoami.startsWith('-|')).toBe(true);
      expect(fromLegacy.whoami).toBe(`${sessionId}|${sessionId}|-`);
      expect((await app.sessions.list()).map((session) => session.id)).toEqual([sessionId]);
      // One server for the session, one shared by both 2026-07-28 clients.
      expect([...probe.built].sort()).toEqual(['legacy', 'modern']);
      // Each client's ask_name ran twice (asking, then answered), the legacy one through the SDK's
      // shim, which turned the ask into an elicitation request on the call's stream.
      expect(probe.calls.get('ask_name')).toBe(6);
    });

    it('an auto client falls back to the legacy handshake when the server does not list 2026-07-28', async () => {
      const app = await start({ server: createV2Server });
      const auto = await connect(app.url, 'auto');
      expect(auto.client.getProtocolEra()).toBe('legacy');
      expect(await auto.call('countdown', { from: 2 })).toEqual({ text: 'liftoff', progress: [1, 2] });
      const probe = auto.wire[0];
      expect(probe?.rpc).toBe('server/discover');
      expect(probe?.status).toBe(400);
      expect(probe?.response?.error).toMatchObject({ code: -32022, data: { supported: expect.arrayContaining([LEGACY]) } });
      expect(probe?.response?.error?.data).not.toMatchObject({ supported: expect.arrayContaining([MODERN]) });
      const initialize = auto.wire[1];
      expect(initialize?.rpc).toBe('initialize');
      expect(auto.transport.sessionId).toBe(initialize?.responseHeaders.get('mcp-session-id'));
      expect(await app.sessions.count()).toBe(1);
    });
  });
}
