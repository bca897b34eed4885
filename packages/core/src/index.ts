export {
  createMcpSessionEndpoint,
  LEGACY_PROTOCOL_VERSIONS,
  unparsableBody,
  type HandleRequestOptions,
  type McpSessionEndpoint,
  type SessionDirectory,
} from './endpoint.js';
export { McpSessionError, JsonRpcErrorCode, type McpSessionErrorCode } from './errors.js';
export { sendError as sendJsonRpcError } from './http.js';
export type {
  JSONRPCMessage,
  JSONRPCRequest,
  JSONRPCNotification,
  JSONRPCResponse,
  JSONRPCErrorResponse,
  JSONRPCResultResponse,
  RequestId,
} from './jsonrpc.js';
export {
  envName,
  mcpSessionOptionsSchema,
  resolveOptions,
  type AuthInfo,
  type Clock,
  type Logger,
  type McpServerLike,
  type McpSessionOptions,
  type ResolvedOptions,
  type ResponseMode,
} from './options.js';
export type { ClientInfo, JsonValue, McpSession, SessionState } from './session.js';
export { StateSealer, type EncryptionKey } from './crypto.js';
export {
  cache,
  compose,
  forMethod,
  JsonRpcError,
  onCallTool,
  onGetPrompt,
  onListPrompts,
  onListResources,
  onListTools,
  onReadResource,
  rateLimit,
  type CacheOptions,
  type JsonRpcResult,
  type MessageContext,
  type MessageMiddleware,
  type MiddlewareEnv,
  type MiddlewarePlugin,
  type Next,
  type PrefetchContext,
  type RateLimitOptions,
} from './middleware.js';
export { Metrics, prometheusText, type MetricsSnapshot } from './metrics.js';
export {
  gcra,
  MemoryCacheStore,
  MemoryEventStore,
  MemoryMessageBus,
  MemoryRateLimitStore,
  MemorySessionStore,
  type MemoryEventStoreOptions,
} from './stores/memory.js';
export {
  formatEventId,
  parseEventId,
  sessionDeadline,
  type Awaitable,
  type BroadcastFilter,
  type BusMessage,
  type CacheStore,
  type EventStore,
  type MessageBus,
  type RateLimitResult,
  type RateLimitStore,
  type SessionAccess,
  type SessionCloseReason,
  type SessionRecord,
  type SessionStore,
  type StateWriteOptions,
  type StateWriteResult,
  type StoredEvent,
} from './stores/types.js';
