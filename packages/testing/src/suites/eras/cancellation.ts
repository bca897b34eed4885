/**
 * Closing a 2026-07-28 response is a cancellation (SPEC.md, the 2026-07-28 lane): the server's abort
 * signal fires, and the request stops counting as in flight. Synchronised on the fixture's probe.
 */
import { describe, expect, it } from 'vitest';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, appsFor } from '../../harness.js';
import { readResponse } from '../http-rules/helpers.js';
import { MODERN, clientsFor, modernCall, postModern, resultText } from './helpers.js';

export function cancellationCases(harness: AdapterHarness): void {
  describe('the 2026-07-28 lane: cancellation', () => {
    const start = appsFor(harness, () => ({}));
    const clients = clientsFor();

    it('a client that closes its POST mid-call cancels it: the tool’s abort signal fires, and the request is no longer in flight', async () => {
      const probe = new ErasProbe();
      // One request in flight at a time: the next call is served only if the closed one was let go.
      const app = await start({ server: erasServerFactory(probe), maxRequestsInFlight: 1 });
      const controller = new AbortController();
      const pending = postModern(app.url, modernCall('hold'), {}, controller.signal).then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.name : String(error)),
      );
      await probe.held.reached(1);
      expect(probe.aborted.value).toBe(0);
      controller.abort();
      expect(await pending).toBe('AbortError');
      await probe.aborted.reached(1);
      expect(probe.aborted.value).toBe(1);

      const next = await postModern(app.url, modernCall('echo', { text: 'next' }));
      expect(next.status).toBe(200);
      expect(resultText(await readResponse(next))).toBe('next');
      // Nothing else was cancelled, and a held call that is not closed is answered.
      const held = postModern(app.url, modernCall('hold'));
      await probe.held.reached(2);
      probe.release();
      expect(resultText(await readResponse(await held))).toBe('released');
      expect(probe.aborted.value).toBe(1);
    });

    it('an SDK client pinned to 2026-07-28 that aborts a call cancels it on the server', async () => {
      const probe = new ErasProbe();
      const app = await start({ server: erasServerFactory(probe) });
      const pinned = await clients.v2(app.url, { pin: MODERN });
      const controller = new AbortController();
      const call = pinned.client.callTool({ name: 'hold', arguments: {} }, { signal: controller.signal });
      await probe.held.reached(1);
      controller.abort('the user gave up');
      await expect(call).rejects.toThrow();
      await probe.aborted.reached(1);
      expect(probe.aborted.value).toBe(1);
      // The client goes on: its next call is served.
      expect((await pinned.call('echo', { text: 'after' })).text).toBe('after');
      const holds = pinned.wire.filter((exchange) => exchange.body?.params?.name === 'hold');
      expect(holds).toHaveLength(1);
      expect(holds[0]?.headers.get('mcp-protocol-version')).toBe(MODERN);
    });
  });
}
