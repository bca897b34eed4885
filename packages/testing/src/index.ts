import { afterAll, describe } from 'vitest';
import type { AdapterHarness } from './harness.js';
import { conformanceSuite } from './suites/conformance.js';
import { erasSuite } from './suites/eras/index.js';
import { featuresSuite } from './suites/features.js';
import { fuzzSuite } from './suites/fuzz.js';
import { hostSuite } from './suites/host.js';
import { httpRulesSuite } from './suites/http-rules/index.js';
import { interopSuite } from './suites/interop.js';
import { lifecycleSuite } from './suites/lifecycle.js';
import { listenSuite } from './suites/listen.js';
import { twoNodeSuite } from './suites/two-node.js';
import { requestLimitsSuite } from './suites/hardening/requests.js';
import { streamHardeningSuite } from './suites/hardening/streams.js';
import { securitySuite } from './suites/security.js';

export { type AdapterHarness, type HostOptions, ManualClock, type RunningApp, sharedStoresOf } from './harness.js';
export { type ClientOptions, connectClient, type TestClient } from './fixtures/clients.js';
export { createV1Server, createV2Server, type SdkMajor, serverFactory } from './fixtures/servers.js';
export { stateServerFactory, stateServerProbe, type StateServerProbe } from './fixtures/state-server.js';
export { gate, type Gate } from './suites/hardening/gate.js';
export { pausedGet } from './suites/hardening/streams.js';
export {
  conformanceSuite,
  erasSuite,
  featuresSuite,
  fuzzSuite,
  hostSuite,
  httpRulesSuite,
  interopSuite,
  lifecycleSuite,
  listenSuite,
  twoNodeSuite,
};
export { createChangeServer } from './fixtures/change-server.js';
export {
  type ListenFilter,
  type ListenMessage,
  type ListenStream,
  MODERN_VERSION,
  SUBSCRIPTION_ID,
  modernHeaders,
  modernMeta,
  openListen,
  subscriptionIdOf,
  within,
} from './listen.js';

/**
 * The suite every adapter must pass: the HTTP rules, a generated fuzz of the endpoint, the session
 * lifecycle, SDK interop, two nodes sharing stores (and their `subscriptions/listen` streams), the
 * host-integration cases, both protocol eras with the SDK clients, and the official conformance
 * suite. Call it at the top level of a test file.
 *
 * @example
 * ```ts
 * runAdapterSuite({ name: 'express', start: (options, host) => startExpressApp(options, host) });
 * ```
 */
export function runAdapterSuite(harness: AdapterHarness): void {
  describe(harness.name, () => {
    afterAll(async () => harness.dispose?.());
    httpRulesSuite(harness);
    fuzzSuite(harness);
    requestLimitsSuite(harness);
    streamHardeningSuite(harness);
    securitySuite(harness);
    lifecycleSuite(harness);
    interopSuite(harness);
    twoNodeSuite(harness);
    listenSuite(harness);
    hostSuite(harness);
    featuresSuite(harness);
    erasSuite(harness);
    conformanceSuite(harness);
  });
}
export {
  type BackendTtl,
  type ConnectionControl,
  redisClusterForTests,
  redisForTests,
  runStoreSuite,
  startRedisServer,
  type StoreSet,
  type StoreSuiteCapabilities,
  type StoreSuiteConfig,
  type StoreSuiteTarget,
  type StartedRedis,
  type TestRedis,
  type TestRedisCluster,
} from './stores/index.js';
export { startRoundRobinProxy, type RoundRobinProxy } from './proxy.js';
export { deleteKeys, onRedis, redisStoresForTests, type SharedStores } from './redis-harness.js';
export { ACCEPT_BOTH, initializeParams, openRawSession, postInitialize, postInSession } from './raw.js';
export {
  CONFORMANCE_NODE_VERSION,
  CONFORMANCE_RELEASES,
  type ConformanceCheck,
  type ConformanceRelease,
  type ConformanceResult,
  conformanceNode,
  conformanceNodePath,
  runConformance,
} from './conformance.js';
