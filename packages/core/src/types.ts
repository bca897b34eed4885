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

/**
 * The endpoint's `server` option: builds an MCP server.
 *
 * - For a legacy session (`session` given), one server per session, called again when the session is
 *   rehydrated.
 * - Without a session (`session` undefined): one server per process serves every request of its kind,
 *   the 2026-07-28 protocol (`context.era === 'modern'`) or legacy clients in `legacy: 'stateless'`
 *   mode. Such a server sees who asks only per request (`ctx.http.authInfo` in a handler); state that
 *   outlives a request lives in a state handle (`context.handles`).
 *
 * To serve the 2026-07-28 protocol, an `McpServer` of `@modelcontextprotocol/server` must list
 * `'2026-07-28'` in its `supportedProtocolVersions`.
 */
export type ServerFactory = (session: McpSession | undefined, context: ServerContext) => McpServerLike | Promise<McpServerLike>;

/** What the server factory is told besides the session. */
export interface ServerContext {
  /** `legacy` for 2025-11-25 and earlier (with or without sessions), `modern` for 2026-07-28. */
  readonly era: Era;
  /** State handles (SEP-2567): state a tool creates and later tools address by id. */
  readonly handles: StateHandles;
  /** Seals and checks the `requestState` of multi round-trip requests. */
  readonly requestState: RequestStateCodec;
  /** Tells `subscriptions/listen` streams on every process that a list or a resource changed. */
  readonly notify: ChangeNotifier;
}

/** The protocol era of a request: `legacy` (2025-11-25 and earlier) or `modern` (2026-07-28). */
export type Era = 'legacy' | 'modern';

/**
 * The per-request context a tool handler receives: `ctx` of an `@modelcontextprotocol/server` (v2)
 * handler, or `extra` of an `@modelcontextprotocol/sdk` (v1) one. Only what the endpoint attached to
 * the request it is serving is read.
 */
export type HandlerContext = object;

/**
 * State handles of the requests an endpoint serves. Bind one to the request at hand with
 * {@link StateHandles.for}: a handle belongs to the principal that created it (anonymous clients
 * share the anonymous principal, so there the id itself is the secret: 128 random bits).
 *
 * @example
 * ```ts
 * server: (session, { handles }) => {
 *   const mcp = new McpServer({ name: 'shop', version: '1.0.0' });
 *   mcp.registerTool('create_basket', { description: 'A basket, kept 1 hour' }, async (ctx) => {
 *     const basket = await handles.for(ctx).create('bsk', { ttlMs: 3_600_000 });
 *     return { content: [{ type: 'text', text: basket.id }] };
 *   });
 *   return mcp;
 * }
 * ```
 */
export interface StateHandles {
  /** The handles of the principal making the request `ctx` belongs to. Throws outside a request this endpoint serves. */
  for(ctx: HandlerContext): PrincipalHandles;
}

/** The handles of one principal. */
export interface PrincipalHandles {
  /**
   * A new handle: an id of `kind`, `_` and 22 random characters (128 bits), with empty state. It ends
   * `ttlMs` after it was made (default 24 hours) or after `idleTimeoutMs` without use (default: the
   * endpoint's `idleTimeoutMs`), whichever comes first. Throws `ERR_MCP_SESSION_HANDLE_LIMIT` at
   * `maxHandles`.
   */
  create(kind: string, options?: { ttlMs?: number; idleTimeoutMs?: number }): Promise<StateHandle>;
  /** The handle, marked as used; undefined when the id is unknown, expired, or another principal's. */
  get(id: string): Promise<StateHandle | undefined>;
  /** Ends a handle and its state; false when there was no such handle of this principal. */
  delete(id: string): Promise<boolean>;
}

/** A state handle: its id, and its state, which works as a session's does. */
export interface StateHandle extends SessionState {
  readonly id: string;
  /** The readable prefix of the id (`bsk` in `bsk_…`). */
  readonly kind: string;
  /** Epoch milliseconds after which the handle is gone, whatever its use. */
  readonly expiresAt: number;
}

/**
 * Seals the `requestState` of multi round-trip requests (2026-07-28 `InputRequiredResult`) with the
 * endpoint's keys: the client can neither read nor change it. A state is bound to the principal, to
 * the request it was minted for (method and params, without `_meta` and the retry's fields), and to
 * an expiry, and it opens once: a replayed state is refused on every process sharing the cache store.
 * The shape is the SDK's `createRequestStateCodec`: pass `verify` as `requestState.verify` of the
 * `McpServer` options, and read the payload with `ctx.mcpReq.requestState()`.
 */
export interface RequestStateCodec {
  /** Seals `payload` for the request `ctx` is answering. */
  mint(payload: JsonValue, ctx: HandlerContext, options?: { ttlMs?: number }): Promise<string>;
  /** Opens a state for the request `ctx` carries it on; throws when it is forged, expired, replayed or another's. */
  verify(state: string, ctx: HandlerContext): Promise<JsonValue>;
}

/**
 * Change notifications for `subscriptions/listen` streams, delivered through the message bus to the
 * listeners of every process (and to the response cache, which drops what they make stale).
 */
export interface ChangeNotifier {
  toolsChanged(): void;
  promptsChanged(): void;
  resourcesChanged(): void;
  resourceUpdated(uri: string): void;
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
  /**
   * Who the request is counted and cached for: `{ kind: 'session', id }` in a legacy session;
   * without a session, `{ kind: 'handle', id }` for a `tools/call` whose arguments name a state handle
   * (by its format only: the tool checks it, after the middleware, so the built-ins key a handle with
   * the principal naming it), else `{ kind: 'principal', id }` (an anonymous client by its address).
   */
  readonly scope: Scope;
  /** The protocol era of the request. */
  readonly era: Era;
  /** The session, for a request in a legacy session; undefined without one. */
  readonly session: McpSession | undefined;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly id: RequestId;
  /** The principal making the request (derived from `authInfo`); a session's is the one it is bound to. */
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
  /**
   * The scope whose server sent it; undefined for a change that concerns everyone (a server serving
   * requests without sessions, or `notify`).
   */
  readonly scope: Scope | undefined;
  /** The principal of the scope, when the client authenticated. */
  readonly principal: string | undefined;
}
