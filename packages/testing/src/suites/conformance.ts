import { describe, expect, it } from 'vitest';
import type { ResponseMode } from '@x/mcp-session-core';
import { createConformanceServer } from '../../../../examples/conformance/fixtures.js';
import { CONFORMANCE_RELEASES, runConformance } from '../conformance.js';
import type { AdapterHarness } from '../harness.js';

const MODES: ResponseMode[] = ['auto', 'sse'];

/** Both releases of the official conformance suite, in `auto` and `sse` modes: 0 failures each. */
export function conformanceSuite(harness: AdapterHarness): void {
  describe.each(MODES)('official conformance suite, %s mode', (responseMode) => {
    it.each(CONFORMANCE_RELEASES)('$label reports 0 failures', async (release) => {
      const app = await harness.start({ server: () => createConformanceServer(), responseMode, retryIntervalMs: 50 });
      try {
        const result = await runConformance(release, app.url);
        expect(result.failures, result.output.slice(-4000)).toEqual([]);
        expect(result.failed).toBe(0);
        expect(result.passed).toBeGreaterThanOrEqual(40);
        expect(result.exitCode).toBe(0);
      } finally {
        await app.close();
      }
    }, 300_000);
  });
}
