/**
 * Domain types shared by every module: what a session, a scope, a middleware and the host's
 * collaborators (clock, logger, auth) are. A leaf: it imports types only, from other leaves.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { JSONRPCNotification, RequestId } from './protocol/jsonrpc.js';
import type { CacheStore, RateLimitStore } from './stores/types.js';

/**
 * What the server factory returns: an `McpServer` of `@modelcontextprotocol/server` (v2) or
 * `@modelcontextprotocol/sdk` (v1). Only `connect` and `close` are used.
 */
export interface McpServerLike {
  connect(transport: never): Promise<void>;
  close(): Promise<void>;
}

/** The SDK's `AuthInfo` convention: what the host's auth middleware puts on `req.auth`. */
export interface AuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

/** A source of time in epoch milliseconds; inject one to test lifecycles without waiting. */
export interface Clock {
  now(): number;
}

/**
 * Structured logs, pino-compatible (`fastify.log` and a pino instance fit): an object of fields,
 * then a message.
 */
export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** How a request's response is sent. */
export type ResponseMode = 'auto' | 'sse' | 'json';

/** The client's self-description from `initialize`. */
export interface ClientInfo {
  name: string;
  version: string;
  [key: string]: unknown;
}

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * State kept for one scope (a session today; a state handle later) in a store, never only in a
 * server instance, so it survives hibernation, rehydration on another process and restarts.
 * Values are JSON.
 */
export interface SessionState {
  get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  /**
   * Stores a value; with `ttlMs` it is gone after that long. Throws `ERR_MCP_SESSION_STATE_LIMIT` when
   * the scope would exceed its key or byte limit.
   */
  set(key: string, value: JsonValue, options?: { ttlMs?: number }): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(): Promise<string[]>;
  clear(): Promise<void>;
}

/**
 * A legacy MCP session as the server factory, tools, middleware and hooks see it. Metadata is a view
 * of the session record; `state` reads and writes the store.
 */
export interface McpSession {
  /** The `MCP-Session-Id`. */
  readonly id: string;
  /** The principal the session is bound to, when the client authenticated. */
  readonly principal: string | undefined;
  /** The negotiated protocol version. */
  readonly protocolVersion: string;
  readonly clientInfo: ClientInfo | undefined;
  readonly clientCapabilities: Record<string, unknown> | undefined;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly requestCount: number;
  readonly state: SessionState;
  /**
   * Registers cleanup that runs once when the session ends, whatever ends it (DELETE, expiry, eviction,
   * shutdown of this process). Returns a function that unregisters it.
   */
  onClose(cleanup: () => void | Promise<void>): () => void;
}

/**
 * Whose request this is, for everything keyed per caller (rate limits, cache entries, state): a
 * legacy session, a principal (stateless serving), or a state handle.
 */
export interface Scope {
  readonly kind: 'session' | 'principal' | 'handle';
  readonly id: string;
}

/** What a message middleware sees of one JSON-RPC request. */
export interface MessageContext {
  /** The request's scope: `{ kind: 'session', id }` for a request in a legacy session. */
  readonly scope: Scope;
  /** The session, for a request in a legacy session. */
  readonly session: McpSession;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly id: RequestId;
  /** The principal the session is bound to (derived from `authInfo`). */
  readonly principal: string | undefined;
  /** The client's network address (behind proxies you trust, with `trustProxy`). */
  readonly address: string;
  readonly authInfo: AuthInfo | undefined;
  /** The HTTP request that carried the message. */
  readonly http: { readonly headers: IncomingHttpHeaders };
  /** Values shared between the middleware of one request. */
  readonly locals: Record<string, unknown>;
}

/** A JSON-RPC result object. */
export type JsonRpcResult = Record<string, unknown>;

/** Calls the rest of the chain and, at its end, the MCP server; resolves with the result. */
export type Next = () => Promise<JsonRpcResult>;

/**
 * Runs around every JSON-RPC request of a session, in onion order. Return a result without calling
 * `next()` to answer without reaching the server; throw `JsonRpcError` to answer with an error.
 */
export type MessageMiddleware = (ctx: MessageContext, next: Next) => JsonRpcResult | Promise<JsonRpcResult>;

/** Counters a middleware plugin reports to the endpoint's metrics. */
export interface MiddlewareCounters {
  count(counter: 'rateLimited' | 'cacheHits' | 'cacheMisses'): void;
}

/** What the endpoint lends a middleware plugin. */
export interface MiddlewareEnv {
  readonly clock: Clock;
  readonly log: Logger;
  readonly rateLimitStore: RateLimitStore;
  readonly cacheStore: CacheStore;
  readonly metrics: MiddlewareCounters;
}

/** A middleware with a set-up step and a view of what servers send (for cache invalidation). */
export interface MiddlewarePlugin {
  readonly name: string;
  setup?(env: MiddlewareEnv): void;
  handle: MessageMiddleware;
  /** Sees every notification a server sends (cache invalidation). */
  onServerNotification?(source: NotificationSource, notification: JSONRPCNotification): void | Promise<void>;
}

/** Where a server notification came from. */
export interface NotificationSource {
  readonly scope: Scope;
  /** The principal of the scope, when the client authenticated. */
  readonly principal: string | undefined;
}
