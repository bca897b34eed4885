import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpSessionOptions, ResponseMode, ServerFactory } from '@x/mcp-session-core';
import { createConformanceServer } from '../../../../examples/conformance/fixtures.js';
import { CONFORMANCE_RELEASES, type ConformanceCheck, type ConformanceResult, runConformance } from '../conformance.js';
import type { AdapterHarness, RunningApp } from '../harness.js';

const [, NEXT_LEGACY, MODERN] = CONFORMANCE_RELEASES;

/** The fixture for both eras: the endpoint's context seals MRTR state and carries change notices. */
const server: ServerFactory = (_session, context) => createConformanceServer(context);

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

/**
 * The official conformance suite: every release against one running endpoint in the default mode
 * (legacy sessions and the 2026-07-28 lane side by side), the legacy releases in `sse` mode, and
 * the 2026-07-28 release with legacy sessions off: 0 failures each.
 */
export function conformanceSuite(harness: AdapterHarness): void {
  // One app for every run: legacy sessions and the 2026-07-28 lane serve side by side on one
  // endpoint, and no run may leave it unable to serve the next.
  describe('official conformance suite, auto mode, one endpoint for every release', () => {
    let app: RunningApp | undefined;
    beforeAll(async () => {
      // The legacy releases open over a hundred sessions from one address within a minute: the
      // per-address creation limit (its own suites test it) would refuse the later ones.
      app = await harness.start({ server, retryIntervalMs: 50, sessionCreationLimit: 0 });
    });
    afterAll(async () => app?.close());

    it.each(CONFORMANCE_RELEASES.map((release) => [release.label, release] as const))(
      '%s reports 0 failures',
      async (_label, release) => {
        expectClean(await runConformance(release, app!.url));
      },
      300_000,
    );
  });

  // In `sse` mode a 2026-07-28 response holds its headers until its first message (or sseAfterMs): a
  // -32021 raised when a handler asks for input the client did not declare still gets its 400.
  describe('official conformance suite, sse mode', () => {
    const responseMode: ResponseMode = 'sse';
    it.each(CONFORMANCE_RELEASES.map((release) => [release.label, release] as const))(
      '%s reports 0 failures',
      async (_label, release) => {
        const app = await harness.start({ server, responseMode, retryIntervalMs: 50 });
        try {
          expectClean(await runConformance(release, app.url));
        } finally {
          await app.close();
        }
      },
      300_000,
    );
  });

  // Without legacy sessions the 2026-07-28 lane is the same lane: `stateless` serves legacy clients
  // from one shared server, `reject` refuses them.
  it.each<NonNullable<McpSessionOptions['legacy']>>(['stateless', 'reject'])(
    `${MODERN.label} reports 0 failures with legacy: '%s'`,
    async (legacy) => {
      const app = await harness.start({ server, legacy, retryIntervalMs: 50 });
      try {
        expectClean(await runConformance(MODERN, app.url));
        expect(app.endpoint.settings.legacy).toBe(legacy);
      } finally {
        await app.close();
      }
    },
    300_000,
  );

  // Session tokens change how a session is named and found, not what it serves: the newer release,
  // which runs the 2025-11-25 scenarios, in the default mode, is the check (SDK interop covers the rest).
  it(`${NEXT_LEGACY.label} reports 0 failures with session tokens`, async () => {
    const tokenKeys = [{ id: 'k1', key: randomBytes(32).toString('base64') }];
    const app = await harness.start({ server, tokenKeys, retryIntervalMs: 50 });
    try {
      expectClean(await runConformance(NEXT_LEGACY, app.url));
      const metrics = await app.endpoint.metrics();
      expect(metrics.sessionsCreated).toBeGreaterThan(1);
      expect(app.endpoint.settings.sessionTokens).toBe(true);
    } finally {
      await app.close();
    }
  }, 300_000);

  // lazyServer answers initialize from a kept result and builds each server on first use: the
  // suite's many sessions must not tell the difference.
  it(`${NEXT_LEGACY.label} reports 0 failures with lazyServer`, async () => {
    const app = await harness.start({ server, lazyServer: true, retryIntervalMs: 50 });
    try {
      expectClean(await runConformance(NEXT_LEGACY, app.url));
      // Sessions past the first were answered without a server, and built on first use.
      const metrics = await app.endpoint.metrics();
      expect(metrics.sessionsCreated).toBeGreaterThan(1);
      expect(metrics.sessionsRehydrated).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  }, 300_000);
}
