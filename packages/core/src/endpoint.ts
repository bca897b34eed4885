import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonRpcErrorCode, McpSessionError } from './errors.js';
import { acceptsBoth, acceptsEventStream, isJsonContentType, readJsonBody, refusalReason, sendError } from './http.js';
import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type RequestId,
  invalidMessageReason,
  isInitializeRequest,
  isRequest,
  isResponse,
} from './jsonrpc.js';
import {
  type AuthInfo,
  type Clock,
  type Logger,
  type McpServerLike,
  type McpSessionOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { StateSealer, randomId } from './crypto.js';
import { Metrics, type MetricsSnapshot, prometheusText } from './metrics.js';
import {
  JsonRpcError,
  type JsonRpcResult,
  type MessageContext,
  type MessageMiddleware,
  type MiddlewarePlugin,
  compose,
  toPlugin,
} from './middleware.js';
import { type McpSession, type SessionRuntime, sessionHandle } from './session.js';
import { SseWriter } from './sse.js';
import { AttachedStream, PostStream, type StreamContext, acceptsPriming } from './streams.js';
import { MemoryCacheStore, MemoryEventStore, MemoryMessageBus, MemoryRateLimitStore, MemorySessionStore } from './stores/memory.js';
import {
  type BroadcastFilter,
  type BusMessage,
  type CacheStore,
  type EventStore,
  type RateLimitStore,
  type MessageBus,
  type SessionCloseReason,
  type SessionRecord,
  type SessionStore,
  expiryReason,
  parseEventId,
} from './stores/types.js';
import { type MessageExtra, type RequestSink, SessionTransport, type TransportHost } from './transport.js';

/** Protocol revisions of the legacy (session) era that this endpoint serves. */
export const LEGACY_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
/** Assumed when a client sends no `MCP-Protocol-Version` and nothing else says (SPEC rule 17). */
const DEFAULT_PROTOCOL_VERSION = '2025-03-26';
const STANDALONE_STREAM_ID = 'standalone';
const ALLOW = 'GET, POST, DELETE';
const EXPIRED_BATCH = 500;

/**
 * Passed as `body` by an adapter whose framework read the body but could not parse it as JSON; the
 * endpoint answers 400 with a JSON-RPC parse error.
 */
export const unparsableBody: unique symbol = Symbol('mcp-session.unparsableBody');

/** Per-request input an adapter passes besides Node's `req` and `res`. */
export interface HandleRequestOptions {
  /** The body, when the host framework already parsed it (or {@link unparsableBody}). Read from `req` otherwise. */
  body?: unknown;
  /** Authentication from the host's middleware (the SDK's `req.auth` convention). */
  auth?: AuthInfo;
}

/** Administration of the sessions, for the host app's own routes. */
export interface SessionDirectory {
  /** Every session in the store. */
  list(): Promise<McpSession[]>;
  get(id: string): Promise<McpSession | undefined>;
  /** Ends a session as DELETE would; resolves false when it did not exist. */
  terminate(id: string): Promise<boolean>;
  /** Sessions in the store. */
  count(): Promise<number>;
  /** Sessions with a live server on this process. */
  readonly liveCount: number;
  /**
   * Sends a notification to the GET stream of every session that has one open, on every process that
   * shares the message bus. `filter` narrows it to a principal, listed sessions, or sessions holding a
   * state key.
   */
  broadcast(notification: JSONRPCNotification, filter?: BroadcastFilter): Promise<void>;
}

/** The framework-free MCP endpoint. Adapters call {@link McpSessionEndpoint.handleRequest}. */
export interface McpSessionEndpoint {
  /** Serves one HTTP request to the MCP path. Never throws: every failure is answered. */
  handleRequest(req: IncomingMessage, res: ServerResponse, options?: HandleRequestOptions): Promise<void>;
  readonly sessions: SessionDirectory;
  /** This process's id among those sharing the stores. */
  readonly nodeId: string;
  /** Runs the lifecycle sweeper once: idle and expired sessions end, unused servers hibernate. */
  sweep(): Promise<void>;
  /** Adds message middleware, inside any already added. */
  use(middleware: MessageMiddleware | MiddlewarePlugin): void;
  /** Counters and gauges of this process. */
  metrics(): Promise<MetricsSnapshot>;
  /** A `(req, res)` handler answering with the metrics in Prometheus text format; mount it where you like. */
  metricsHandler(): (req: IncomingMessage, res: ServerResponse) => void;
  /** Ends every stream with a retry hint, closes every server and timer. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the endpoint. Options are validated here: a bad option throws an
 * {@link McpSessionError} naming it.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import { createMcpSessionEndpoint } from '@x/mcp-session-core';
 *
 * const endpoint = createMcpSessionEndpoint({
 *   server: () => new McpServer({ name: 'demo', version: '1.0.0' }),
 * });
 * createServer((req, res) => void endpoint.handleRequest(req, res)).listen(3000, '127.0.0.1');
 * ```
 */
export function createMcpSessionEndpoint(options: McpSessionOptions): McpSessionEndpoint {
  return new Endpoint(resolveOptions(options));
}

/** Errors become process warnings; lifecycle messages are dropped. */
const defaultLogger: Logger = {
  error: (fields, message) => {
    const error = fields.err instanceof Error ? fields.err : undefined;
    process.emitWarning(`${message}${error === undefined ? '' : `: ${error.message}`}`, {
      code: 'MCP_SESSION',
      ...(error?.stack === undefined ? {} : { detail: error.stack }),
    });
  },
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** One session's server on this process. */
interface LiveSession {
  record: SessionRecord;
  readonly session: McpSession;
  readonly server: McpServerLike;
  readonly transport: SessionTransport;
  /** Last use on this process (for hibernation). */
  lastUsedAt: number;
  readonly postStreams: Set<PostStream>;
}

type PendingLive = Promise<LiveSession>;

/** What a request is dispatched to: a live session, or (with `lazyServer`) a session whose `initialize` needs no server. */
interface DispatchTarget {
  readonly record: SessionRecord;
  readonly session: McpSession;
  readonly transport: Pick<SessionTransport, 'receive'>;
}

/** Initialize results kept per requested protocol version with `lazyServer`; clients ask for a handful. */
const MAX_INITIALIZE_TEMPLATES = 16;

function requestedVersion(params: Record<string, unknown>): string {
  return typeof params.protocolVersion === 'string' ? params.protocolVersion : DEFAULT_PROTOCOL_VERSION;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The shape the SDK's servers require of `initialize` params. Params that miss it are never answered
 * from a kept result: a server is built and answers (with its error), as without `lazyServer`.
 */
function wellFormedInitialize(params: Record<string, unknown>): boolean {
  const { protocolVersion, capabilities, clientInfo } = params;
  return (
    typeof protocolVersion === 'string' &&
    isObject(capabilities) &&
    isObject(clientInfo) &&
    typeof clientInfo.name === 'string' &&
    typeof clientInfo.version === 'string'
  );
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The v2 SDK reads `request` (a web `Request`) eagerly on every message; building one costs more
 * than the rest of the request. This view offers what handlers read, built on first use.
 */
class HttpRequestView {
  readonly method: string;
  readonly url: string;
  readonly #req: IncomingMessage;
  #headers: Headers | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
    this.method = req.method ?? 'POST';
    this.url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.#req.headers)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const item of value) headers.append(name, item);
        else headers.set(name, value);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }
}

class Endpoint implements McpSessionEndpoint, TransportHost, StreamContext {
  readonly nodeId: string;
  /** This process instance: the node id and a random epoch, so a restart under the same node id is told apart. */
  readonly instanceId: string;
  readonly sessions: SessionDirectory;
  readonly eventStore: EventStore | null;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;

  readonly #options: ResolvedOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #store: SessionStore;
  readonly #ownsStore: boolean;
  readonly #bus: MessageBus;
  readonly #lives = new Map<string, LiveSession>();
  readonly #creating = new Map<string, PendingLive>();
  /** SSE POST streams on this process, by stream id, so a resumption can take one over. */
  readonly #postStreams = new Map<string, PostStream>();
  readonly #attached = new Map<string, Set<AttachedStream>>();
  readonly #sessionSubscriptions = new Map<string, Promise<() => unknown>>();
  readonly #writers = new Set<SseWriter>();
  /** Resumed response streams still waiting for their response (checked for a dead owner). */
  readonly #resumed = new Set<AttachedStream>();
  readonly #runtime: SessionRuntime;
  readonly #metrics = new Metrics();
  readonly #plugins: MiddlewarePlugin[] = [];
  #chain: ((ctx: MessageContext, innermost: () => Promise<JsonRpcResult>) => Promise<JsonRpcResult>) | undefined;
  #watchesNotifications = false;
  #prefetches = false;
  readonly #rateLimitStore: RateLimitStore;
  readonly #cacheStore: CacheStore;
  /** Cleanup registered with `session.onClose`, by session, on this process. */
  readonly #disposers = new Map<string, Set<() => void | Promise<void>>>();
  #ready: Promise<void>;
  readonly #unsubscribe: Array<() => unknown> = [];
  #sweeper: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  /** `lazyServer`: a server's initialize result (JSON, so no answer shares an object) by protocol version. */
  readonly #initializeResults = new Map<string, string>();
  /** `lazyServer` on, and not turned off by servers that answered initialize differently. */
  #lazy: boolean;
  #outgoingSeq = 0;
  #streamSeq = 0;
  #holderSeq = 0;
  #closed = false;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#lazy = options.lazyServer;
    this.#log = options.logger ?? defaultLogger;
    this.#clock = options.clock ?? Date;
    this.nodeId = options.nodeId ?? randomBytes(6).toString('base64url');
    this.instanceId = `${this.nodeId}-${randomBytes(3).toString('hex')}`;
    this.#ownsStore = options.sessionStore === undefined;
    this.#store = options.sessionStore ?? new MemorySessionStore();
    this.eventStore =
      options.eventStore === undefined ? new MemoryEventStore({ maxEventsPerStream: options.maxEventsPerStream }) : options.eventStore;
    this.#bus = options.messageBus ?? new MemoryMessageBus();
    this.retryIntervalMs = options.retryIntervalMs;
    this.#runtime = {
      store: this.#store,
      clock: this.#clock,
      sealer: options.encryptionKeys === undefined ? undefined : new StateSealer(options.encryptionKeys),
      maxStateKeys: options.maxStateKeys,
      maxStateBytes: options.maxStateBytes,
      onClose: (sessionId, cleanup) => {
        let set = this.#disposers.get(sessionId);
        if (set === undefined) this.#disposers.set(sessionId, (set = new Set()));
        set.add(cleanup);
        return () => void this.#disposers.get(sessionId)?.delete(cleanup);
      },
    };
    this.maxStreamDurationMs = options.maxStreamDurationMs;
    this.sessions = this.#directory();
    this.#rateLimitStore = options.rateLimitStore ?? new MemoryRateLimitStore();
    this.#cacheStore = options.cacheStore ?? new MemoryCacheStore();
    for (const middleware of options.middleware) this.use(middleware);
    this.#ready = this.#start();
    this.#sweeper = setInterval(() => void this.sweep(), options.sweepIntervalMs);
    this.#sweeper.unref();
    if (options.keepAliveIntervalMs > 0) {
      this.#keepAlive = setInterval(() => {
        for (const writer of this.#writers) writer.comment('keep-alive');
      }, options.keepAliveIntervalMs);
      this.#keepAlive.unref();
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------

  async handleRequest(req: IncomingMessage, res: ServerResponse, options: HandleRequestOptions = {}): Promise<void> {
    try {
      if (this.#closed) {
        this.#refuse(res, 503, JsonRpcErrorCode.ServerError, 'Service Unavailable: the MCP endpoint is shutting down', {
          'retry-after': '1',
        });
        return;
      }
      const refusal = refusalReason(req, this.#options.allowedHosts, this.#options.allowedOrigins);
      if (refusal !== undefined) {
        this.#refuse(res, 403, JsonRpcErrorCode.ServerError, refusal);
        return;
      }
      await this.#whenReady();
      switch (req.method) {
        case 'POST':
          return await this.#post(req, res, options);
        case 'GET':
          return await this.#get(req, res, options);
        case 'DELETE':
          return await this.#delete(req, res, options);
        default:
          this.#refuse(res, 405, JsonRpcErrorCode.ServerError, `Method Not Allowed: use ${ALLOW}`, { allow: ALLOW });
      }
    } catch (error) {
      this.reportError(error);
      if (error instanceof McpSessionError && error.code === 'ERR_MCP_SESSION_STORE') {
        // A store is out of reach: a passing condition, so tell the client when to come back.
        this.#refuse(res, 503, JsonRpcErrorCode.ServerError, 'Service Unavailable: the session store is unreachable', {
          'retry-after': '1',
        });
        return;
      }
      this.#refuse(res, 500, JsonRpcErrorCode.InternalError, 'Internal error');
    }
  }

  async #post(req: IncomingMessage, res: ServerResponse, options: HandleRequestOptions): Promise<void> {
    if (!acceptsBoth(headerValue(req, 'accept'))) {
      return sendError(
        res,
        406,
        JsonRpcErrorCode.ServerError,
        'Not Acceptable: the client must accept both application/json and text/event-stream',
      );
    }
    if (!isJsonContentType(headerValue(req, 'content-type'))) {
      return this.#refuse(res, 415, JsonRpcErrorCode.ServerError, 'Unsupported Media Type: Content-Type must be application/json');
    }
    let body = options.body;
    if (body === unparsableBody) {
      return this.#refuse(res, 400, JsonRpcErrorCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    if (body === undefined) {
      const read = await readJsonBody(req, this.#options.maxBodyBytes);
      if (!read.ok) return this.#refuse(res, read.status, read.code, read.message);
      body = read.value;
    }
    const batch = Array.isArray(body);
    const messages = (batch ? body : [body]) as unknown[];
    if (messages.length === 0) {
      return this.#refuse(res, 400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: an empty batch');
    }
    for (const message of messages) {
      const reason = invalidMessageReason(message);
      if (reason !== undefined) return this.#refuse(res, 400, JsonRpcErrorCode.InvalidRequest, `Invalid Request: ${reason}`);
    }
    const valid = messages as JSONRPCMessage[];
    const sessionId = headerValue(req, 'mcp-session-id');
    const initialize = valid.find(isInitializeRequest);
    if (initialize !== undefined) {
      if (batch) {
        return this.#refuse(res, 400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch');
      }
      if (sessionId !== undefined) {
        return this.#refuse(res, 400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: the session is already initialized');
      }
      return this.#initialize(req, res, initialize, options.auth);
    }
    // Middleware store work (a rate-limit count) starts now, alongside the session lookup.
    const principal = this.#principal(options.auth, req);
    const prefetched = sessionId === undefined ? undefined : this.#prefetch(sessionId, principal, valid);
    const access = await this.#access(req, res, sessionId, principal, valid.some(isRequest));
    if (access === undefined) return;
    const { record, protocolVersion } = access;
    if (batch && protocolVersion !== '2025-03-26') {
      return this.#refuse(
        res,
        400,
        JsonRpcErrorCode.InvalidRequest,
        `Invalid Request: batches are not supported in protocol ${protocolVersion}`,
      );
    }

    const requests: JSONRPCRequest[] = [];
    let live: LiveSession | undefined;
    const extra = this.#extra(req, options.auth);
    for (const message of valid) {
      if (isResponse(message)) {
        this.#routeClientResponse(record.id, message);
        continue;
      }
      if (live === undefined && message.method === 'notifications/initialized' && !this.#lives.has(record.id)) {
        // A server built from the record later has it replayed: nothing is built for it alone.
        continue;
      }
      live ??= await this.#live(record);
      if (isRequest(message)) requests.push(message);
      else live.transport.receive(message, extra);
    }
    if (live === undefined || requests.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const stream = this.#openPostStream(res, live, protocolVersion, requests, batch);
    extra.closeSSEStream = () => stream.detach();
    extra.closeStandaloneSSEStream = () => this.#standalone(record.id)?.writer.end();
    for (const request of requests) {
      this.#dispatch(live, request, extra, stream, stream, req, options.auth, prefetched?.get(request.id));
    }
  }

  async #initialize(req: IncomingMessage, res: ServerResponse, request: JSONRPCRequest, auth: AuthInfo | undefined): Promise<void> {
    if (!(await this.#makeRoom(res))) return;
    const now = this.#clock.now();
    const params = request.params ?? {};
    const requested = requestedVersion(params);
    const record: SessionRecord = {
      id: randomId(16),
      protocolVersion: requested,
      initialize: { id: request.id, params },
      principal: this.#principal(auth, req),
      createdAt: now,
      lastActiveAt: now,
      requestCount: 1,
      idleTimeoutMs: this.#options.idleTimeoutMs,
    };
    if (this.#options.maxLifetimeMs !== undefined) record.expiresAt = now + this.#options.maxLifetimeMs;

    // With lazyServer, a result the factory's servers gave before answers without building one; the
    // session's server is built by its first request that needs it (the rehydration path).
    const template = this.#lazy && wellFormedInitialize(params) ? this.#initializeResults.get(requested) : undefined;
    let live: LiveSession | undefined;
    let target: DispatchTarget;
    if (template === undefined) {
      try {
        live = await this.#build(record);
      } catch (error) {
        this.reportError(error);
        return this.#refuse(res, 500, JsonRpcErrorCode.InternalError, 'Internal error: the MCP server could not be created');
      }
      target = this.#lazy ? this.#learningInitialize(live, requested) : live;
    } else {
      target = {
        record,
        session: this.#viewOf(record),
        transport: {
          receive: (_message, _extra, sink) =>
            void sink?.respond({ jsonrpc: '2.0', id: request.id, result: JSON.parse(template) as Record<string, unknown> }),
        },
      };
    }
    const built = live;
    const stream = this.#openPostStream(res, built ?? { record, postStreams: new Set() }, requested, [request], false, true);
    const sink: RequestSink = {
      acceptsRelated: stream.acceptsRelated,
      send: (message) => stream.send(message),
      respond: async (response) => {
        if ('result' in response && !this.#closed) {
          const negotiated = response.result.protocolVersion;
          if (typeof negotiated === 'string') record.protocolVersion = negotiated;
          try {
            await this.#store.create(record);
            if (built !== undefined) this.#lives.set(record.id, built);
          } catch (error) {
            this.reportError(error);
            stream.sessionHeader = undefined;
            stream.respond({
              jsonrpc: '2.0',
              id: response.id,
              error: { code: JsonRpcErrorCode.InternalError, message: 'Internal error: the session could not be stored' },
            });
            if (built !== undefined) await this.#dispose(built);
            return;
          }
          stream.respond(response);
          this.#metrics.sessionsCreated += 1;
          this.#log.info(
            { sessionId: record.id, protocolVersion: record.protocolVersion, principal: record.principal },
            'mcp-session: session created',
          );
          try {
            await this.#options.onSessionCreated?.(target.session);
          } catch (error) {
            this.reportError(error);
          }
          return;
        }
        // A failed initialize: the client gets the server's error, and no session exists.
        stream.sessionHeader = undefined;
        stream.respond(response);
        if (built !== undefined) await this.#dispose(built);
      },
    };
    const extra = this.#extra(req, auth);
    this.#dispatch(target, request, extra, sink, stream, req, auth);
  }

  /** A live session whose server's initialize result is kept for later sessions (`lazyServer`). */
  #learningInitialize(live: LiveSession, requested: string): DispatchTarget {
    return {
      record: live.record,
      session: live.session,
      transport: {
        receive: (message, extra, sink) =>
          live.transport.receive(
            message,
            extra,
            sink && {
              acceptsRelated: sink.acceptsRelated,
              send: (related) => sink.send(related),
              respond: (response) => {
                if ('result' in response) this.#rememberInitialize(requested, response.result);
                return sink.respond(response);
              },
            },
          ),
      },
    };
  }

  /**
   * Keeps a server's result, as it left the server (middleware sees it after), for the version the
   * client asked for, when the server agreed to it: a made-up version takes no slot.
   */
  #rememberInitialize(requested: string, result: Record<string, unknown>): void {
    if (result.protocolVersion !== requested || this.#initializeResults.has(requested)) return;
    if (this.#initializeResults.size >= MAX_INITIALIZE_TEMPLATES) return;
    this.#initializeResults.set(requested, JSON.stringify(result));
  }

  /**
   * A server built later for a session answered from a kept result must answer the same; when it
   * does not, the factory's servers differ per session and `lazyServer` is turned off here.
   */
  #checkInitialize(requested: string, result: Record<string, unknown>): void {
    const template = this.#initializeResults.get(requested);
    if (!this.#lazy || template === undefined || template === JSON.stringify(result)) return;
    this.#lazy = false;
    this.#initializeResults.clear();
    this.#log.warn(
      { nodeId: this.nodeId, protocolVersion: requested },
      'mcp-session: lazyServer is on, but the server factory answered initialize differently for two sessions; ' +
        'sessions are now created with their own server (turn lazyServer off when your servers differ per session)',
    );
  }

  async #get(req: IncomingMessage, res: ServerResponse, options: HandleRequestOptions): Promise<void> {
    if (!acceptsEventStream(headerValue(req, 'accept'))) {
      return this.#refuse(res, 406, JsonRpcErrorCode.ServerError, 'Not Acceptable: the client must accept text/event-stream');
    }
    const access = await this.#access(req, res, headerValue(req, 'mcp-session-id'), this.#principal(options.auth, req), false);
    if (access === undefined) return;
    const { record, protocolVersion } = access;
    const lastEventId = headerValue(req, 'last-event-id');
    const store = this.eventStore;
    const holder = `${this.instanceId}:${++this.#holderSeq}`;

    if (lastEventId !== undefined && store !== null) {
      const parsed = parseEventId(lastEventId);
      const known = parsed === undefined ? undefined : await store.replayAfter(record.id, lastEventId);
      if (parsed === undefined || known === undefined) {
        return this.#refuse(res, 400, JsonRpcErrorCode.ServerError, 'Bad Request: unknown Last-Event-ID for this session');
      }
      const stream = new AttachedStream({
        sessionId: record.id,
        streamId: parsed.streamId,
        holder,
        writer: new SseWriter(res, record.id),
        lastSequence: parsed.sequence,
        endOnResponse: parsed.streamId !== STANDALONE_STREAM_ID,
      });
      // Listen first, then read the log again: an event stored in between is buffered, not lost.
      await this.#attach(stream);
      this.#takeOver(record.id, parsed.streamId, holder);
      const replay = (await store.replayAfter(record.id, lastEventId)) ?? known;
      this.#metrics.eventsReplayed += replay.events.length;
      stream.replay(replay.events);
      if (stream.open && parsed.streamId !== STANDALONE_STREAM_ID) {
        this.#resumed.add(stream);
        stream.writer.onClose(() => this.#resumed.delete(stream));
        await this.#answerIfOrphaned(stream);
      }
      return;
    }

    let lastSequence = 0;
    let primingId: string | undefined;
    if (store !== null) {
      // The marker takes a sequence number even when it is not sent: events after it belong here.
      primingId = await store.append(record.id, STANDALONE_STREAM_ID, null);
      lastSequence = parseEventId(primingId)?.sequence ?? 0;
    }
    // Headers go out only now, and the stream is attached in the same turn: a client that sees the
    // stream open can count on it (as activity, as the holder of its GET stream).
    const writer = new SseWriter(res, record.id);
    if (primingId !== undefined && acceptsPriming(protocolVersion)) writer.prime(primingId, this.retryIntervalMs);
    const stream = new AttachedStream({
      sessionId: record.id,
      streamId: STANDALONE_STREAM_ID,
      holder,
      writer,
      lastSequence,
      endOnResponse: false,
    });
    await this.#attach(stream);
    this.#takeOver(record.id, STANDALONE_STREAM_ID, holder);
    const maxDuration = this.maxStreamDurationMs;
    if (maxDuration !== undefined && primingId !== undefined && acceptsPriming(protocolVersion)) {
      // Long-lived streams end before a proxy's connection age limit would cut them; the client
      // reconnects with Last-Event-ID (SEP-1699).
      const timer = setTimeout(() => writer.end(), maxDuration);
      timer.unref();
      writer.onClose(() => clearTimeout(timer));
    }
    // An event another process published before this one finished subscribing is in the store.
    const missed = primingId === undefined ? undefined : await store?.replayAfter(record.id, primingId);
    stream.replay(missed?.events ?? []);
  }

  async #delete(req: IncomingMessage, res: ServerResponse, options: HandleRequestOptions): Promise<void> {
    const sessionId = headerValue(req, 'mcp-session-id');
    if (sessionId === undefined) {
      return this.#refuse(res, 400, JsonRpcErrorCode.ServerError, 'Bad Request: Mcp-Session-Id header is required');
    }
    const versionError = this.#versionError(req);
    if (versionError !== undefined) return this.#refuse(res, 400, JsonRpcErrorCode.ServerError, versionError);
    const record = await this.#store.get(sessionId, this.#clock.now());
    if (record === undefined || record.principal !== this.#principal(options.auth, req) || !(await this.#end(record, 'deleted'))) {
      return this.#refuse(res, 404, JsonRpcErrorCode.SessionNotFound, 'Session not found');
    }
    res.writeHead(200).end();
  }

  /** Checks the session header, the protocol version and the principal; answers 400 or 404 itself. */
  async #access(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
    principal: string | undefined,
    countRequest: boolean,
  ): Promise<{ record: SessionRecord; protocolVersion: string } | undefined> {
    if (sessionId === undefined) {
      this.#refuse(res, 400, JsonRpcErrorCode.ServerError, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const versionError = this.#versionError(req);
    if (versionError !== undefined) {
      this.#refuse(res, 400, JsonRpcErrorCode.ServerError, versionError);
      return undefined;
    }
    const now = this.#clock.now();
    const record = await this.#store.touch(sessionId, now, { principal, countRequest });
    if (record === undefined) {
      // Unknown, ended, or bound to another principal: all look the same from outside.
      this.#refuse(res, 404, JsonRpcErrorCode.SessionNotFound, 'Session not found');
      return undefined;
    }
    const live = this.#lives.get(sessionId);
    if (live !== undefined) {
      live.record = record;
      live.lastUsedAt = now;
    }
    // The negotiated version decides (batches, priming); the header is only checked to be supported.
    return { record, protocolVersion: record.protocolVersion };
  }

  #versionError(req: IncomingMessage): string | undefined {
    const version = headerValue(req, 'mcp-protocol-version');
    if (version === undefined || (LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(version)) return undefined;
    return `Bad Request: unsupported protocol version ${version} (supported: ${LEGACY_PROTOCOL_VERSIONS.join(', ')})`;
  }

  #principal(auth: AuthInfo | undefined, req: IncomingMessage): string | undefined {
    if (this.#options.principal !== undefined) return this.#options.principal(auth, req);
    if (auth === undefined) return undefined;
    const subject = auth.extra?.sub;
    return typeof subject === 'string' ? `${auth.clientId}:${subject}` : auth.clientId;
  }

  /** Hands a request to the server, through the middleware chain when there is one. */
  #dispatch(
    live: DispatchTarget,
    request: JSONRPCRequest,
    extra: MessageExtra,
    sink: RequestSink,
    stream: PostStream,
    req: IncomingMessage,
    auth: AuthInfo | undefined,
    locals: Record<string, unknown> = {},
  ): void {
    this.#metrics.countRequest(request.method);
    const chain = this.#chain;
    if (chain === undefined) {
      live.transport.receive(request, extra, sink);
      return;
    }
    const ctx: MessageContext = {
      session: live.session,
      method: request.method,
      params: request.params,
      id: request.id,
      principal: live.record.principal,
      authInfo: auth,
      http: { headers: req.headers },
      locals,
    };
    const server = () =>
      new Promise<JsonRpcResult>((resolve, reject) => {
        live.transport.receive(request, extra, {
          acceptsRelated: sink.acceptsRelated,
          send: (message) => sink.send(message),
          respond: (response) => {
            if ('result' in response) resolve(response.result);
            else reject(new JsonRpcError(response.error.code, response.error.message, { data: response.error.data }));
          },
        });
      });
    chain(ctx, server).then(
      (result) => sink.respond({ jsonrpc: '2.0', id: request.id, result }),
      (error: unknown) => {
        if (!(error instanceof JsonRpcError)) this.reportError(error);
        const failure = error instanceof JsonRpcError ? error : new JsonRpcError(JsonRpcErrorCode.InternalError, 'Internal error');
        if (failure.httpStatus !== undefined) {
          this.#metrics.countError(failure.httpStatus);
          stream.refuse(failure.httpStatus, failure.headers, request.id, failure);
        }
        // After a refusal the stream ignores this; the sink still learns the outcome (a refused
        // initialize must drop the server it built).
        const body: JSONRPCResponse = { jsonrpc: '2.0', id: request.id, error: { code: failure.code, message: failure.message } };
        if (failure.data !== undefined) body.error.data = failure.data;
        void sink.respond(body);
      },
    );
  }

  /** Starts each plugin's prefetch for each request of a POST; a rejection is left for `handle` to see. */
  #prefetch(
    sessionId: string,
    principal: string | undefined,
    messages: JSONRPCMessage[],
  ): Map<RequestId, Record<string, unknown>> | undefined {
    if (!this.#prefetches) return undefined;
    let out: Map<RequestId, Record<string, unknown>> | undefined;
    for (const message of messages) {
      if (!isRequest(message)) continue;
      const locals: Record<string, unknown> = {};
      for (const plugin of this.#plugins) {
        const pending = plugin.prefetch?.({ sessionId, principal, method: message.method, params: message.params });
        if (pending === undefined) continue;
        pending.catch(() => undefined); // observed by handle(); never an unhandled rejection
        locals[plugin.name] = pending;
      }
      (out ??= new Map()).set(message.id, locals);
    }
    return out;
  }

  use(middleware: MessageMiddleware | MiddlewarePlugin): void {
    const plugin = toPlugin(middleware);
    plugin.setup?.({ clock: this.#clock, rateLimitStore: this.#rateLimitStore, cacheStore: this.#cacheStore, metrics: this.#metrics });
    this.#plugins.push(plugin);
    this.#chain = compose(this.#plugins.map((entry) => entry.handle));
    this.#watchesNotifications = this.#plugins.some((entry) => entry.onServerNotification !== undefined);
    this.#prefetches = this.#plugins.some((entry) => entry.prefetch !== undefined);
  }

  /** Tells middleware what a server sent (cache invalidation). */
  serverNotification(sessionId: string, notification: JSONRPCNotification): void {
    if (!this.#watchesNotifications) return;
    const live = this.#lives.get(sessionId);
    if (live === undefined) return;
    for (const plugin of this.#plugins) {
      if (plugin.onServerNotification === undefined) continue;
      Promise.resolve(plugin.onServerNotification(live.session, notification)).catch((error: unknown) => this.reportError(error));
    }
  }

  async metrics(): Promise<MetricsSnapshot> {
    const m = this.#metrics;
    return {
      sessionsCreated: m.sessionsCreated,
      sessionsActive: await this.#store.count(),
      liveInstances: this.#lives.size,
      openStreams: this.#writers.size,
      sessionsClosed: { ...m.sessionsClosed },
      sessionsRehydrated: m.sessionsRehydrated,
      sessionsHibernated: m.sessionsHibernated,
      requestsByMethod: Object.fromEntries(m.requestsByMethod),
      errorsByStatus: Object.fromEntries(m.errorsByStatus),
      rateLimited: m.rateLimited,
      cacheHits: m.cacheHits,
      cacheMisses: m.cacheMisses,
      eventsStored: m.eventsStored,
      eventsReplayed: m.eventsReplayed,
    };
  }

  metricsHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (_req, res) => {
      this.metrics().then(
        (snapshot) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(prometheusText(snapshot));
        },
        (error: unknown) => {
          this.reportError(error);
          res.writeHead(500).end();
        },
      );
    };
  }

  eventStored(): void {
    this.#metrics.eventsStored += 1;
  }

  streamDelivered(stream: PostStream): void {
    try {
      const deleted = this.eventStore?.completeStream?.(
        stream.sessionId,
        stream.streamId,
        this.#options.completedStreamTtlMs,
        this.#clock.now(),
      );
      if (deleted instanceof Promise) deleted.catch((error: unknown) => this.reportError(error));
    } catch (error) {
      this.reportError(error);
    }
  }

  /** Answers with an HTTP error and a JSON-RPC error body, and counts it. */
  #refuse(res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>): void {
    this.#metrics.countError(status);
    sendError(res, status, code, message, headers);
  }

  #extra(req: IncomingMessage, auth: AuthInfo | undefined): MessageExtra {
    const extra: MessageExtra = { requestInfo: { headers: req.headers }, request: new HttpRequestView(req) };
    if (auth !== undefined) extra.authInfo = auth;
    return extra;
  }

  /** Makes room for a new session under `maxSessions`; answers 503 itself when it cannot. */
  async #makeRoom(res: ServerResponse): Promise<boolean> {
    const max = this.#options.maxSessions;
    if (max === undefined || (await this.#store.count()) < max) return true;
    if (this.#options.onMaxSessions === 'evict-lru') {
      for (const candidate of await this.#store.leastRecentlyActive(16)) {
        const live = this.#lives.get(candidate.id);
        const busy = this.#attached.has(candidate.id) || (live !== undefined && live.transport.pendingRequests > 0);
        if (!busy && (await this.#end(candidate, 'evicted'))) return true;
      }
    }
    this.#refuse(res, 503, JsonRpcErrorCode.ServerError, 'Service Unavailable: too many sessions', {
      'retry-after': String(Math.ceil(this.#options.sweepIntervalMs / 1000)),
    });
    return false;
  }

  // ---- live sessions -----------------------------------------------------------------------

  #openPostStream(
    res: ServerResponse,
    live: Pick<LiveSession, 'record' | 'postStreams'>,
    protocolVersion: string,
    requests: JSONRPCRequest[],
    batch: boolean,
    lazy = false,
  ): PostStream {
    // The id names its process instance (routing, liveness) and, when short enough, its request ids,
    // so a process resuming it after the owner died can still answer the client.
    const streamId = () => {
      const ids = Buffer.from(JSON.stringify(requests.map((request) => request.id))).toString('base64url');
      const seq = (++this.#streamSeq).toString(36);
      return ids.length <= 256 ? `${this.instanceId}~${seq}~${ids}` : `${this.instanceId}~${seq}`;
    };
    const stream = new PostStream(this, res, {
      sessionId: live.record.id,
      streamId,
      mode: this.#options.responseMode,
      protocolVersion,
      requestIds: requests.map((request) => request.id),
      batch,
      lazy,
    });
    live.postStreams.add(stream);
    return stream;
  }

  /** The live server of a session on this process, rebuilt from the record when there is none. */
  #live(record: SessionRecord): Promise<LiveSession> | LiveSession {
    const live = this.#lives.get(record.id);
    if (live !== undefined) return live;
    let pending = this.#creating.get(record.id);
    if (pending === undefined) {
      pending = this.#rehydrate(record).finally(() => this.#creating.delete(record.id));
      this.#creating.set(record.id, pending);
    }
    return pending;
  }

  async #rehydrate(record: SessionRecord): Promise<LiveSession> {
    const live = await this.#build(record);
    try {
      const result = await live.transport.replayInitialize(record.initialize.params);
      this.#checkInitialize(requestedVersion(record.initialize.params), result);
    } catch (error) {
      await this.#dispose(live);
      throw new McpSessionError('ERR_MCP_SESSION_REHYDRATE', `session ${record.id} could not be rehydrated`, { cause: error });
    }
    if (this.#closed) {
      // close() ran while this server was being built: it must not outlive the endpoint.
      await this.#dispose(live);
      throw new McpSessionError('ERR_MCP_SESSION_REHYDRATE', `session ${record.id}: the endpoint closed while its server was built`);
    }
    this.#lives.set(record.id, live);
    this.#metrics.sessionsRehydrated += 1;
    this.#log.debug({ sessionId: record.id, nodeId: this.nodeId }, 'mcp-session: session rehydrated');
    return live;
  }

  async #build(record: SessionRecord): Promise<LiveSession> {
    const transport = new SessionTransport(record.id, this);
    const live: LiveSession = {
      record,
      session: sessionHandle(record.id, () => live.record, this.#runtime),
      server: undefined as unknown as McpServerLike,
      transport,
      lastUsedAt: this.#clock.now(),
      postStreams: new Set(),
    };
    let server: McpServerLike;
    try {
      server = await this.#options.server(live.session);
    } catch (error) {
      throw new McpSessionError('ERR_MCP_SESSION_FACTORY', 'the server factory threw', { cause: error });
    }
    (live as { server: McpServerLike }).server = server;
    await (server as unknown as { connect(transport: SessionTransport): Promise<void> }).connect(transport);
    return live;
  }

  /** Drops the live server of a session on this process; the session itself stays. */
  async #dispose(live: LiveSession, retryMs?: number): Promise<void> {
    if (this.#lives.get(live.record.id) === live) this.#lives.delete(live.record.id);
    for (const stream of live.postStreams) stream.abort(retryMs);
    live.postStreams.clear();
    await live.transport.close();
    try {
      await live.server.close();
    } catch (error) {
      this.reportError(error);
    }
  }

  /** Ends a session everywhere. True for the one caller that ended it. */
  async #end(record: SessionRecord, reason: SessionCloseReason): Promise<boolean> {
    if (!(await this.#store.delete(record.id))) return false;
    await this.#ended(record, reason);
    return true;
  }

  /** Releases what a session that is gone from the store still holds, here and on every process. */
  async #ended(record: SessionRecord, reason: SessionCloseReason): Promise<void> {
    await this.#closeLocal(record.id);
    await this.#runDisposers(record.id);
    try {
      await this.eventStore?.deleteSession(record.id);
      await this.#bus.publish('mcp:control', { kind: 'terminated', sessionId: record.id });
    } catch (error) {
      this.reportError(error);
    }
    this.#metrics.sessionsClosed[reason] += 1;
    this.#log.info({ sessionId: record.id, reason }, 'mcp-session: session closed');
    try {
      await this.#options.onSessionClosed?.(this.#viewOf(record), reason);
    } catch (error) {
      this.reportError(error);
    }
  }

  #viewOf(record: SessionRecord): McpSession {
    return sessionHandle(record.id, () => record, this.#runtime);
  }

  /** Runs the session's `onClose` cleanup registered on this process, once. */
  async #runDisposers(sessionId: string): Promise<void> {
    const set = this.#disposers.get(sessionId);
    if (set === undefined) return;
    this.#disposers.delete(sessionId);
    for (const cleanup of set) {
      try {
        await cleanup();
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  async #closeLocal(sessionId: string, retryMs?: number): Promise<void> {
    const streams = this.#attached.get(sessionId);
    if (streams !== undefined) for (const stream of [...streams]) stream.writer.end(retryMs);
    const live = this.#lives.get(sessionId);
    if (live !== undefined) await this.#dispose(live, retryMs);
  }

  // ---- routing between streams and processes ----------------------------------------------------

  nextOutgoingId(): string {
    return `${this.instanceId}~${++this.#outgoingSeq}`;
  }

  sendStandalone(sessionId: string, message: JSONRPCMessage): void {
    const store = this.eventStore;
    const deliver = (eventId: string | undefined) => {
      const local = this.#standalone(sessionId);
      if (local !== undefined) local.deliver(eventId, message);
      else if (eventId !== undefined) this.publishEvent(sessionId, STANDALONE_STREAM_ID, eventId, message);
    };
    if (store === null) return deliver(undefined);
    try {
      const eventId = store.append(sessionId, STANDALONE_STREAM_ID, message);
      if (typeof eventId === 'string') deliver(eventId);
      else eventId.then(deliver, (error: unknown) => this.reportError(error));
    } catch (error) {
      this.reportError(error);
    }
  }

  publishEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void {
    this.#publish(`mcp:session:${sessionId}`, { kind: 'event', sessionId, streamId, eventId, message });
  }

  #standalone(sessionId: string): AttachedStream | undefined {
    const streams = this.#attached.get(sessionId);
    if (streams === undefined) return undefined;
    for (const stream of streams) if (stream.streamId === STANDALONE_STREAM_ID && stream.writer.open) return stream;
    return undefined;
  }

  /** A client's answer to a server-to-client request goes to the process whose server asked. */
  #routeClientResponse(sessionId: string, response: JSONRPCResponse): void {
    const id = response.id;
    if (typeof id !== 'string') return;
    const tilde = id.lastIndexOf('~');
    if (tilde <= 0) return;
    const node = id.slice(0, tilde);
    if (node === this.instanceId) {
      this.#lives.get(sessionId)?.transport.receiveResponse(response);
      return;
    }
    this.#publish(`mcp:node:${node}`, { kind: 'client-message', sessionId, message: response });
  }

  /** A connection took a stream over: every other connection to it, on any process, closes. */
  #takeOver(sessionId: string, streamId: string, holder: string): void {
    this.#yieldStream(sessionId, streamId, holder);
    this.#publish('mcp:control', { kind: 'stream-taken', sessionId, streamId, holder });
  }

  #yieldStream(sessionId: string, streamId: string, holder: string): void {
    const post = this.#postStreams.get(streamId);
    if (post !== undefined && post.sessionId === sessionId) post.detach();
    const streams = this.#attached.get(sessionId);
    if (streams === undefined) return;
    for (const stream of streams) {
      if (stream.streamId === streamId && stream.holder !== holder) stream.writer.end();
    }
  }

  async #attach(stream: AttachedStream): Promise<void> {
    const { sessionId } = stream;
    let streams = this.#attached.get(sessionId);
    if (streams === undefined) this.#attached.set(sessionId, (streams = new Set()));
    streams.add(stream);
    this.track(stream.writer);
    let subscription = this.#sessionSubscriptions.get(sessionId);
    if (subscription === undefined) {
      subscription = Promise.resolve(this.#bus.subscribe(`mcp:session:${sessionId}`, (message) => this.#onSessionMessage(message)));
      this.#sessionSubscriptions.set(sessionId, subscription);
    }
    stream.writer.onClose(() => {
      const set = this.#attached.get(sessionId);
      if (set === undefined) return;
      set.delete(stream);
      if (set.size > 0) return;
      this.#attached.delete(sessionId);
      const unsubscribe = this.#sessionSubscriptions.get(sessionId);
      this.#sessionSubscriptions.delete(sessionId);
      void unsubscribe?.then((off) => off()).catch((error: unknown) => this.reportError(error));
    });
    await subscription;
  }

  #onSessionMessage(message: BusMessage): void {
    if (message.kind !== 'event') return;
    const streams = this.#attached.get(message.sessionId);
    if (streams === undefined) return;
    for (const stream of streams) if (stream.streamId === message.streamId) stream.deliver(message.eventId, message.message);
  }

  #onNodeMessage(message: BusMessage): void {
    if (message.kind !== 'client-message' || !isResponse(message.message)) return;
    this.#lives.get(message.sessionId)?.transport.receiveResponse(message.message);
  }

  #onControlMessage(message: BusMessage): void {
    if (message.kind === 'terminated') {
      void this.#closeLocal(message.sessionId).then(() => this.#runDisposers(message.sessionId));
    } else if (message.kind === 'stream-taken') this.#yieldStream(message.sessionId, message.streamId, message.holder);
    else if (message.kind === 'broadcast') void this.#deliverBroadcast(message.message, message.filter);
  }

  /**
   * A resumed response stream whose owning process died (or, owned here, is no longer running) will
   * never get its response: answer its requests with an error instead of leaving the client waiting.
   */
  async #answerIfOrphaned(stream: AttachedStream): Promise<void> {
    const [owner, , encoded] = stream.streamId.split('~');
    if (owner === undefined || encoded === undefined || !stream.open) return;
    if (owner === this.instanceId) {
      if (this.#postStreams.has(stream.streamId)) return;
    } else if (this.#store.isAlive === undefined || (await this.#store.isAlive(owner, this.#clock.now()))) {
      return;
    }
    let requestIds: unknown;
    try {
      requestIds = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    } catch {
      return;
    }
    if (!Array.isArray(requestIds) || !stream.open) return;
    this.#resumed.delete(stream);
    for (const id of requestIds) {
      if (typeof id !== 'string' && typeof id !== 'number') continue;
      const response: JSONRPCResponse = {
        jsonrpc: '2.0',
        id,
        error: {
          code: JsonRpcErrorCode.InternalError,
          message: 'The server process handling this request stopped before answering; send the request again',
        },
      };
      const eventId = await this.eventStore?.append(stream.sessionId, stream.streamId, response);
      stream.deliver(eventId, response);
    }
  }

  /** Delivers a broadcast to the sessions whose GET stream is held here (so each gets it once). */
  async #deliverBroadcast(message: JSONRPCMessage, filter: BroadcastFilter | undefined): Promise<void> {
    const now = this.#clock.now();
    for (const sessionId of [...this.#attached.keys()]) {
      if (this.#standalone(sessionId) === undefined) continue;
      if (filter?.sessionIds !== undefined && !filter.sessionIds.includes(sessionId)) continue;
      if (filter?.excludeSessionIds?.includes(sessionId)) continue;
      try {
        if (filter?.principal !== undefined) {
          const record = await this.#store.get(sessionId, now);
          if (record?.principal !== filter.principal) continue;
        }
        if (filter?.hasStateKey !== undefined && (await this.#store.getState(sessionId, filter.hasStateKey, now)) === undefined) continue;
        this.sendStandalone(sessionId, message);
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  /** Subscribes to the bus and sends the first heartbeat; a failure is retried by the next request. */
  #start(): Promise<void> {
    const ready = (async () => {
      await this.#subscribe();
      await this.#heartbeat(this.#clock.now());
    })();
    ready.catch((error: unknown) => this.reportError(error));
    return ready;
  }

  async #whenReady(): Promise<void> {
    try {
      await this.#ready;
    } catch {
      // The bus or the store was out of reach at start: try again now.
      this.#ready = this.#start();
      await this.#ready;
    }
  }

  async #subscribe(): Promise<void> {
    if (this.#unsubscribe.length > 0) return;
    const control = await this.#bus.subscribe('mcp:control', (message) => this.#onControlMessage(message));
    try {
      const node = await this.#bus.subscribe(`mcp:node:${this.instanceId}`, (message) => this.#onNodeMessage(message));
      this.#unsubscribe.push(control, node);
    } catch (error) {
      await control();
      throw error;
    }
  }

  #publish(topic: string, message: BusMessage): void {
    try {
      const published = this.#bus.publish(topic, message);
      if (published instanceof Promise) published.catch((error: unknown) => this.reportError(error));
    } catch (error) {
      this.reportError(error);
    }
  }

  // ---- StreamContext -------------------------------------------------------------------------

  track(writer: SseWriter): void {
    this.#writers.add(writer);
    writer.onClose(() => this.#writers.delete(writer));
  }

  streamOpened(stream: PostStream): void {
    this.#postStreams.set(stream.streamId, stream);
  }

  streamDone(stream: PostStream): void {
    if (stream.opened) this.#postStreams.delete(stream.streamId);
    this.#lives.get(stream.sessionId)?.postStreams.delete(stream);
  }

  reportError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#log.error({ err, nodeId: this.nodeId }, 'mcp-session: error');
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<void> {
    if (this.#closed) return;
    const now = this.#clock.now();
    try {
      await this.#heartbeat(now);
      for (const stream of [...this.#resumed]) await this.#answerIfOrphaned(stream);
      // An open stream is activity: keep its session alive.
      const streaming = new Set(this.#attached.keys());
      for (const stream of this.#postStreams.values()) if (stream.connected) streaming.add(stream.sessionId);
      for (const sessionId of streaming) await this.#store.touch(sessionId, now);
      for (;;) {
        const expired = await this.#store.takeExpired(now, EXPIRED_BATCH);
        for (const record of expired) await this.#ended(record, expiryReason(record, now));
        if (expired.length < EXPIRED_BATCH) break;
      }
      const hibernateAfter = this.#options.hibernateAfterMs;
      if (hibernateAfter !== undefined) {
        for (const live of [...this.#lives.values()]) {
          // A GET stream needs no server: only requests in flight keep one in memory.
          const idle = live.transport.pendingRequests === 0 && live.postStreams.size === 0;
          if (idle && live.lastUsedAt + hibernateAfter <= now) {
            await this.#dispose(live);
            this.#metrics.sessionsHibernated += 1;
            this.#log.debug({ sessionId: live.record.id }, 'mcp-session: session hibernated');
          }
        }
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  #heartbeat(now: number): Promise<void> | void {
    return this.#store.markAlive?.(this.instanceId, now, this.#options.sweepIntervalMs * 3);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    clearInterval(this.#keepAlive);
    this.#sweeper = undefined;
    this.#keepAlive = undefined;
    await this.#sweeping;
    const retry = this.retryIntervalMs;
    for (const writer of [...this.#writers]) writer.end(retry);
    for (const live of [...this.#lives.values()]) await this.#dispose(live, retry);
    for (const pending of this.#creating.values()) {
      await pending.then((live) => this.#dispose(live, retry)).catch(() => undefined);
    }
    for (const sessionId of [...this.#disposers.keys()]) await this.#runDisposers(sessionId);
    for (const unsubscribe of this.#unsubscribe.splice(0)) await unsubscribe();
    for (const subscription of this.#sessionSubscriptions.values()) await (await subscription)();
    this.#sessionSubscriptions.clear();
    if (this.#ownsStore) {
      // The sessions lived only in this endpoint's memory: they end with it.
      for (const record of await this.#store.list()) {
        await this.#store.delete(record.id);
        this.#metrics.sessionsClosed.shutdown += 1;
        try {
          await this.#options.onSessionClosed?.(this.#viewOf(record), 'shutdown');
        } catch (error) {
          this.reportError(error);
        }
      }
    }
  }

  #directory(): SessionDirectory {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the directory reads private fields; the session manager replaces it
    const endpoint = this;
    return {
      async list() {
        return (await endpoint.#store.list()).map((record) => endpoint.#viewOf(record));
      },
      async get(id) {
        const record = await endpoint.#store.get(id, endpoint.#clock.now());
        return record === undefined ? undefined : endpoint.#viewOf(record);
      },
      async terminate(id) {
        const record = await endpoint.#store.get(id, endpoint.#clock.now());
        return record !== undefined && (await endpoint.#end(record, 'deleted'));
      },
      async count() {
        return endpoint.#store.count();
      },
      get liveCount() {
        return endpoint.#lives.size;
      },
      async broadcast(notification, filter) {
        const message: BusMessage = { kind: 'broadcast', message: notification };
        if (filter !== undefined) message.filter = filter;
        await endpoint.#bus.publish('mcp:control', message);
      },
    };
  }
}
