/**
 * Internals for the sibling packages of this repository (adapters, Redis stores, the test suites):
 * not part of the public API, and free to change in any release.
 */
export { composeEndpoint } from './create-endpoint.js';
export { resolveOptions, type ResolvedOptions } from './options.js';
export { Metrics, prometheusText } from './metrics.js';
export { compose } from './pipeline/compose.js';
export { gcra } from './stores/memory.js';
export { refusal, writeRefusal, type Refusal } from './http/refusal.js';
export { Sealer } from './crypto.js';
export {
  SessionTokens,
  carriedParams,
  MAX_CARRIED_BYTES,
  MAX_TOKEN_LENGTH,
  type OpenedToken,
  type TokenClaims,
} from './sessions/tokens.js';
export { TokenSessions } from './sessions/token-sessions.js';
export { StateHandleManager, type HandleSettings } from './sessions/handles.js';
export { sealedSessionStore, type Sealing } from './stores/sealed.js';
