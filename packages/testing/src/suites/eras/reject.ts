/**
 * `legacy: 'reject'`: 2026-07-28 only. A legacy request gets 400 with -32022 naming the versions
 * served (SPEC.md, the 2026-07-28 lane), GET and DELETE 405, session headers are ignored.
 */
import { describe, expect, it } from 'vitest';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, appsFor } from '../../harness.js';
import { initializeParams, postInitialize } from '../../raw.js';
import { del, expectRpcError, get, post, readResponse } from '../http-rules/helpers.js';
import {
  LEGACY,
  MODERN,
  UNSUPPORTED_VERSION,
  clientsFor,
  exercise,
  expectModernError,
  modernCall,
  postModern,
  resultText,
} from './helpers.js';

const SERVER_ERROR = -32000;

export function rejectCases(harness: AdapterHarness): void {
  describe("legacy: 'reject'", () => {
    const start = appsFor(harness, () => ({ legacy: 'reject' }));
    const clients = clientsFor();

    it('initialize gets 400 with -32022 naming 2026-07-28 and no session; an SDK legacy client cannot connect, an auto one picks 2026-07-28', async () => {
      const app = await start({ server: erasServerFactory() });
      for (const version of [LEGACY, '2025-03-26']) {
        const res = await postInitialize(app.url, initializeParams(version));
        expect(res.headers.get('mcp-session-id')).toBeNull();
        const error = await expectModernError(res, 400, UNSUPPORTED_VERSION, 1);
        expect(error.data).toEqual({ supported: [MODERN], requested: version });
      }
      await expect(clients.v2(app.url, 'legacy')).rejects.toThrow();
      const auto = await clients.v2(app.url, 'auto');
      expect(auto.client.getProtocolEra()).toBe('modern');
      expect(auto.wire.map((exchange) => exchange.rpc)).not.toContain('initialize');
      expect((await auto.call('echo', { text: 'auto' })).text).toBe('auto');
      expect(await app.sessions.count()).toBe(0);
    });

    it('GET and DELETE answer 405, and Mcp-Session-Id and Last-Event-ID are ignored: no 404, whatever the id', async () => {
      const app = await start({ server: erasServerFactory() });
      const stray = { 'mcp-session-id': 'made-up-session', 'mcp-protocol-version': LEGACY, 'last-event-id': 'made-up-stream_1' };
      for (const headers of [{}, stray]) {
        for (const res of [await get(app.url, headers), await del(app.url, headers)]) {
          expect(res.headers.get('allow')).toBe('POST');
          await expectRpcError(res, 405, SERVER_ERROR);
        }
      }
      // A legacy request inside a "session" is refused as legacy, not as an unknown session.
      const legacy = await post(app.url, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, stray);
      expect((await expectModernError(legacy, 400, UNSUPPORTED_VERSION, 3)).data).toMatchObject({ supported: [MODERN] });
      // A legacy notification is accepted and dropped.
      const notification = await post(app.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, stray);
      expect(notification.status).toBe(202);
      // A 2026-07-28 request with the headers is served.
      const modern = await postModern(app.url, modernCall('echo', { text: 'served' }), {
        'mcp-session-id': 'made-up-session',
        'last-event-id': 'made-up-stream_1',
      });
      expect(modern.status).toBe(200);
      expect(modern.headers.get('mcp-session-id')).toBeNull();
      expect(resultText(await readResponse(modern))).toBe('served');
    });

    it('a client pinned to 2026-07-28 lists tools, calls with progress and completes a multi round-trip', async () => {
      const probe = new ErasProbe();
      const app = await start({ server: erasServerFactory(probe) });
      const pinned = await clients.v2(app.url, { pin: MODERN });
      const outcome = await exercise(pinned);
      expect(outcome.tools).toEqual(expect.arrayContaining(['echo', 'countdown', 'ask_name']));
      expect(outcome.countdown).toEqual({ text: 'liftoff', progress: [1, 2, 3] });
      expect(outcome.asked.text).toBe('Hello, Ada');
      expect(pinned.elicited).toEqual(['What is your name?']);
      expect(pinned.wire.every((exchange) => exchange.http === 'POST' && exchange.status === 200)).toBe(true);
      expect(pinned.wire.every((exchange) => exchange.headers.get('mcp-protocol-version') === MODERN)).toBe(true);
      expect(await app.sessions.count()).toBe(0);
      expect(probe.built).toEqual(['modern']);
    });
  });
}
