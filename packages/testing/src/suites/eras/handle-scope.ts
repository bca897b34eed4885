/**
 * Without sessions, a `tools/call` naming a state handle is scoped by it: `rateLimit({ key: 'session' })`
 * and `cache({ scope: 'session' })` keep its work apart from the same principal's other handles. The
 * handle is named by the client and checked by the tool only after the middleware, so another
 * principal naming it must reach neither its quota nor its cached results.
 */
import { describe, expect, it } from 'vitest';
import { cache, rateLimit } from '@x/mcp-session-core';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, ManualClock, appsFor } from '../../harness.js';
import { bearerAuth } from '../http-rules/helpers.js';
import { alice, bob, callModern, callText, expectLimited, modernCall, postModern } from './helpers.js';

const UNKNOWN = { text: 'expired or unknown handle', isError: true };

export function handleScopeCases(harness: AdapterHarness): void {
  describe('the 2026-07-28 lane: work scoped by a state handle', () => {
    const start = appsFor(harness, () => ({}));

    it("rateLimit with key 'session' counts each handle apart, and another principal naming one uses none of its quota", async () => {
      const app = await start(
        {
          server: erasServerFactory(),
          clock: new ManualClock(),
          middleware: [rateLimit({ limit: 1, windowMs: 60_000, key: 'session', tools: ['read_handle'] })],
        },
        bearerAuth,
      );
      const first = await callText(app.url, 'create_handle', { label: 'first' }, alice);
      const second = await callText(app.url, 'create_handle', { label: 'second' }, alice);
      expect(first).toMatch(/^tst_/);
      expect(second).not.toBe(first);
      // Bob names Alice's handle: the tool refuses him, and Alice's quota is untouched.
      expect(await callModern(app.url, 'read_handle', { handle_id: first }, bob)).toEqual(UNKNOWN);
      expect(await callText(app.url, 'read_handle', { handle_id: first }, alice)).toBe(`${first} read 2`);
      const again = modernCall('read_handle', { handle_id: first });
      await expectLimited(await postModern(app.url, again, alice), again.body.id, '60');
      expect(await callText(app.url, 'read_handle', { handle_id: second }, alice)).toBe(`${second} read 1`);
    });

    it("cache with scope 'session' keeps a result per handle, and serves no other principal from it", async () => {
      const probe = new ErasProbe();
      const app = await start(
        { server: erasServerFactory(probe), middleware: [cache({ ttlMs: 60_000, methods: ['tools/call'], scope: 'session' })] },
        bearerAuth,
      );
      const first = await callText(app.url, 'create_handle', { label: 'first' }, alice);
      const second = await callText(app.url, 'create_handle', { label: 'second' }, alice);
      expect(await callText(app.url, 'read_handle', { handle_id: first }, alice)).toBe(`${first} read 1`);
      expect(await callText(app.url, 'read_handle', { handle_id: first }, alice)).toBe(`${first} read 1`);
      expect(await callText(app.url, 'read_handle', { handle_id: second }, alice)).toBe(`${second} read 1`);
      expect(probe.calls.get(`read_handle ${first}`)).toBe(1);
      // Bob names Alice's handle: his call reaches the tool, which refuses it.
      expect(await callModern(app.url, 'read_handle', { handle_id: first }, bob)).toEqual(UNKNOWN);
      expect(probe.calls.get(`read_handle ${first}`)).toBe(2);
    });
  });
}
