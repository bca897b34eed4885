/**
 * The limits and the middleware chain in the 2026-07-28 lane: `maxRequestsInFlight` refuses with 429
 * as in the legacy lane, `rateLimit` and `cache` key by principal or by the state handle a call
 * names, and cached results carry `ttlMs` and `cacheScope` hints.
 */
import { describe, expect, it } from 'vitest';
import { cache, rateLimit } from '@x/mcp-session-core';
import { ErasProbe, erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, ManualClock, appsFor } from '../../harness.js';
import { bearerAuth, readResponse } from '../http-rules/helpers.js';
import { alice, bob, callText, expectLimited, modernCall, modernRequest, postModern, resultText } from './helpers.js';

export function pipelineCases(harness: AdapterHarness): void {
  describe('the 2026-07-28 lane: limits and middleware', () => {
    const start = appsFor(harness, () => ({}));

    it('past maxRequestsInFlight a request gets 429 with Retry-After and -32029; another principal is not held back', async () => {
      const probe = new ErasProbe();
      const app = await start({ server: erasServerFactory(probe), maxRequestsInFlight: 2 }, bearerAuth);
      const held = [postModern(app.url, modernCall('hold'), alice), postModern(app.url, modernCall('hold'), alice)];
      await probe.held.reached(2);
      const third = modernCall('echo', { text: 'one too many' });
      await expectLimited(await postModern(app.url, third, alice), third.body.id, '1');
      expect(await callText(app.url, 'echo', { text: 'bob' }, bob)).toBe('bob');
      probe.release();
      for (const answer of held) expect(resultText(await readResponse(await answer))).toBe('released');
      expect(await callText(app.url, 'echo', { text: 'alice again' }, alice)).toBe('alice again');
      expect(probe.calls.get('hold')).toBe(2);
    });

    it('rateLimit counts a principal’s 2026-07-28 calls: 429 past the limit, nothing reaches the server, others unaffected', async () => {
      const probe = new ErasProbe();
      const clock = new ManualClock();
      const app = await start(
        {
          server: erasServerFactory(probe),
          clock,
          middleware: [rateLimit({ limit: 2, windowMs: 60_000, methods: ['tools/call'] })],
        },
        bearerAuth,
      );
      expect(await callText(app.url, 'count_for', { handle_id: 'x' }, alice)).toBe('x: 1');
      expect(await callText(app.url, 'count_for', { handle_id: 'x' }, alice)).toBe('x: 2');
      const limited = modernCall('count_for', { handle_id: 'x' });
      await expectLimited(await postModern(app.url, limited, alice), limited.body.id, '30');
      expect(probe.calls.get('count_for x')).toBe(2);
      // Other methods and other principals are not limited.
      expect((await postModern(app.url, modernRequest('tools/list'), alice)).status).toBe(200);
      expect(await callText(app.url, 'count_for', { handle_id: 'x' }, bob)).toBe('x: 3');
      clock.advance(30_000);
      expect(await callText(app.url, 'count_for', { handle_id: 'x' }, alice)).toBe('x: 4');
      expect((await app.endpoint.metrics()).rateLimited).toBe(1);
    });

    it('cache serves tools/list per principal with ttlMs left and cacheScope private', async () => {
      const clock = new ManualClock();
      const app = await start({ server: erasServerFactory(), clock, middleware: [cache({ ttlMs: 60_000 })] }, bearerAuth);
      const list = async (headers: Record<string, string>) => {
        const res = await postModern(app.url, modernRequest('tools/list'), headers);
        expect(res.status).toBe(200);
        const { result } = await readResponse(res);
        expect((result?.tools as Array<{ name: string }>).map((tool) => tool.name)).toContain('ask_name');
        return { ttlMs: result?.ttlMs, cacheScope: result?.cacheScope, resultType: result?.resultType };
      };
      expect(await list(alice)).toEqual({ ttlMs: 60_000, cacheScope: 'private', resultType: 'complete' });
      clock.advance(1_500);
      expect(await list(alice)).toEqual({ ttlMs: 58_500, cacheScope: 'private', resultType: 'complete' });
      // Bob's is his own entry, made now.
      expect(await list(bob)).toEqual({ ttlMs: 60_000, cacheScope: 'private', resultType: 'complete' });
      const metrics = await app.endpoint.metrics();
      expect([metrics.cacheHits, metrics.cacheMisses]).toEqual([1, 2]);
    });
  });
}
