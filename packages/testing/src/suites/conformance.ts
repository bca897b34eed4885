import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ResponseMode } from '@x/mcp-session-core';
import { createConformanceServer } from '../../../../examples/conformance/fixtures.js';
import { CONFORMANCE_RELEASES, type ConformanceCheck, type ConformanceResult, runConformance } from '../conformance.js';
import type { AdapterHarness } from '../harness.js';

const MODES: ResponseMode[] = ['auto', 'sse'];

const described = (checks: ConformanceCheck[]) => checks.map(({ scenario, id, message }) => `${scenario} ${id}: ${message}`);

/** A run with no failure and no missed SHOULD, at least 40 checks passed, and a clean exit. */
function expectClean(result: ConformanceResult): void {
  expect(result.failures, result.output.slice(-4000)).toEqual([]);
  expect(described(result.failedChecks)).toEqual([]);
  expect(described(result.warnings)).toEqual([]);
  expect(result.failed).toBe(0);
  expect(result.passed).toBeGreaterThanOrEqual(40);
  expect(result.exitCode).toBe(0);
}

/** Both releases of the official conformance suite, in `auto` and `sse` modes: 0 failures each. */
export function conformanceSuite(harness: AdapterHarness): void {
  describe.each(MODES)('official conformance suite, %s mode', (responseMode) => {
    it.each(CONFORMANCE_RELEASES)(
      '$label reports 0 failures',
      async (release) => {
        const app = await harness.start({ server: () => createConformanceServer(), responseMode, retryIntervalMs: 50 });
        try {
          expectClean(await runConformance(release, app.url));
        } finally {
          await app.close();
        }
      },
      300_000,
    );
  });

  // Session tokens change how a session is named and found, not what it serves: the newer release,
  // which runs the 2025-11-25 scenarios, in the default mode, is the check (SDK interop covers the rest).
  it(`${CONFORMANCE_RELEASES[1].label} reports 0 failures with session tokens`, async () => {
    const tokenKeys = [{ id: 'k1', key: randomBytes(32).toString('base64') }];
    const app = await harness.start({ server: () => createConformanceServer(), tokenKeys, retryIntervalMs: 50 });
    try {
      expectClean(await runConformance(CONFORMANCE_RELEASES[1], app.url));
      const metrics = await app.endpoint.metrics();
      expect(metrics.sessionsCreated).toBeGreaterThan(1);
      expect(app.endpoint.settings.sessionTokens).toBe(true);
    } finally {
      await app.close();
    }
  }, 300_000);

  // lazyServer answers initialize from a kept result and builds each server on first use: the
  // suite's many sessions must not tell the difference.
  it(`${CONFORMANCE_RELEASES[1].label} reports 0 failures with lazyServer`, async () => {
    const app = await harness.start({ server: () => createConformanceServer(), lazyServer: true, retryIntervalMs: 50 });
    try {
      expectClean(await runConformance(CONFORMANCE_RELEASES[1], app.url));
      // Sessions past the first were answered without a server, and built on first use.
      const metrics = await app.endpoint.metrics();
      expect(metrics.sessionsCreated).toBeGreaterThan(1);
      expect(metrics.sessionsRehydrated).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  }, 300_000);
}
