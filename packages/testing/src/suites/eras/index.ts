/**
 * Both protocol eras on one endpoint, end to end through the adapter under test with the official SDK
 * clients: the 2026-07-28 lane beside legacy sessions, legacy `stateless` and `reject`, the header and
 * status rules, cancellation, the limits and middleware, and single-use `requestState` across nodes.
 */
import { describe } from 'vitest';
import type { AdapterHarness } from '../../harness.js';
import { cancellationCases } from './cancellation.js';
import { handleScopeCases } from './handle-scope.js';
import { modernRulesCases } from './modern-rules.js';
import { oneEndpointCases } from './one-endpoint.js';
import { pipelineCases } from './pipeline.js';
import { rejectCases } from './reject.js';
import { requestStateCases } from './request-state.js';
import { statelessCases } from './stateless.js';

export function erasSuite(harness: AdapterHarness): void {
  describe('two protocol eras', () => {
    oneEndpointCases(harness);
    statelessCases(harness);
    rejectCases(harness);
    modernRulesCases(harness);
    cancellationCases(harness);
    pipelineCases(harness);
    handleScopeCases(harness);
    requestStateCases(harness);
  });
}
