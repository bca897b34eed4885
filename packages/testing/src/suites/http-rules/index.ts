/**
 * Bad input and HTTP rules of the Streamable HTTP endpoint (SPEC.md), over real sockets with Node's
 * global fetch (and node:http where fetch cannot set a header). One describe per rule; one module per
 * group of rules, sharing the request helpers of ./helpers.ts.
 */
import type { McpSessionOptions } from '@x/mcp-session-core';
import { afterEach, describe } from 'vitest';
// The README's demo server: the HTTP rules are checked against what `pnpm start` serves.
import { createDemoServer } from '../../../../../examples/demo/mcp-server.js';
import type { AdapterHarness, HostOptions, RunningApp } from '../../harness.js';
import { acceptDeleteInitializeRules } from './accept-delete-initialize.js';
import { badRequestRules } from './bad-request.js';
import { limitRules } from './limits.js';
import { notFoundRules } from './not-found.js';
import { originHostRules } from './origin-host.js';
import { requestShapeRules } from './request-shape.js';
import { robustnessRules } from './robustness.js';

/** Every HTTP rule of SPEC.md, through the adapter under test. */
export function httpRulesSuite(harness: AdapterHarness): void {
  describe('HTTP rules', () => {
    const apps: RunningApp[] = [];
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
    });

    async function start(options: Partial<McpSessionOptions> = {}, host?: HostOptions): Promise<RunningApp> {
      const app = await harness.start({ server: (session, context) => createDemoServer(session, context), ...options }, host);
      apps.push(app);
      return app;
    }

    badRequestRules(start);
    notFoundRules(start);
    requestShapeRules(start);
    originHostRules(start);
    limitRules(start);
    acceptDeleteInitializeRules(start);
    robustnessRules(start);
  });
}
