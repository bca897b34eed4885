/**
 * The public API of `@x/mcp-session-core`: the endpoint, its options, sessions, middleware and the
 * store interfaces with their memory implementations. Sibling packages reach internals through
 * `@x/mcp-session-core/internal`.
 */
export { createMcpSessionEndpoint, type HandleRequestOptions, type McpSessionEndpoint, type SessionDirectory } from './create-endpoint.js';
export { unparsableBody } from './http/post-body.js';
export { defaultPrincipal } from './sessions/principal.js';
export type { TrustProxy } from './http/address.js';
export { LEGACY_PROTOCOL_VERSIONS } from './protocol/versions.js';
export { JsonRpcError, JsonRpcErrorCode, McpSessionError, type McpSessionErrorCode } from './errors.js';
export type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResponse,
  JSONRPCResultResponse,
  RequestId,
} from './protocol/jsonrpc.js';
export { envName, mcpSessionOptionsSchema, type EndpointSettings, type McpSessionOptions } from './options.js';
export type { EncryptionKey } from './crypto.js';
export type {
  AuthInfo,
  ChangeNotifier,
  ClientInfo,
  Clock,
  Era,
  HandlerContext,
  JsonRpcResult,
  JsonValue,
  Logger,
  McpServerLike,
  McpSession,
  MessageContext,
  MessageMiddleware,
  MiddlewareCounters,
  MiddlewareEnv,
  MiddlewarePlugin,
  Next,
  NotificationSource,
  PrincipalHandles,
  RequestStateCodec,
  ResponseMode,
  Scope,
  ServerContext,
  ServerFactory,
  SessionState,
  StateHandle,
  StateHandles,
} from './types.js';
export { MODERN_PROTOCOL_VERSIONS } from './protocol/modern.js';
export { forMethod, onCallTool, onGetPrompt, onListPrompts, onListResources, onListTools, onReadResource } from './pipeline/middleware.js';
export { rateLimit, type RateLimitOptions } from './pipeline/rate-limit.js';
export { cache, type CacheOptions } from './pipeline/cache.js';
export type { MetricsSnapshot } from './metrics.js';
export {
  MemoryCacheStore,
  MemoryEventStore,
  MemoryMessageBus,
  MemoryRateLimitStore,
  MemorySessionStore,
  type MemoryEventStoreOptions,
} from './stores/memory.js';
export { MemoryRevocationStore, type RevocationStore } from './stores/revocation-store.js';
export type { TokenFormat } from './sessions/tokens.js';
export { formatEventId, parseEventId } from './protocol/wire.js';
export {
  sessionDeadline,
  type Awaitable,
  type BroadcastFilter,
  type BusMessage,
  type CacheStore,
  type CounterExpiry,
  type EventStore,
  type MessageBus,
  type RateLimitResult,
  type RateLimitStore,
  type Replay,
  type SessionAccess,
  type SessionCloseReason,
  type SessionRecord,
  type SessionStore,
  type StateWriteOptions,
  type StateWriteResult,
  type StoredEvent,
} from './stores/types.js';
