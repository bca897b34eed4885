/**
 * The composition root: resolves the options once, builds every module with its slice of them, wires
 * the interfaces each lower module declares, and owns the order of `close()`.
 *
 * adapter → http (checks, era) → lane → session manager → pipeline → transport → server, and back
 * through streams; cluster routes between processes; the sweeper drives time.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClusterRouter } from './cluster/router.js';
import { Sealer } from './crypto.js';
import { type HandleRequestOptions, HttpEndpoint } from './http/endpoint.js';
import type { Lane } from './lanes/lane.js';
import { RejectLane } from './lanes/legacy-reject.js';
import { LegacySessionLane } from './lanes/legacy-sessions.js';
import { StatelessLane } from './lanes/legacy-stateless.js';
import { ModernLane } from './lanes/modern.js';
import { Sessionless } from './lanes/sessionless.js';
import { KeptInitializeResults } from './live/initialize-results.js';
import { LiveSessions } from './live/live-sessions.js';
import { SharedServers } from './live/shared-servers.js';
import type { TransportHost } from './live/transport.js';
import { defaultLogger, errorReporter, sessionTag } from './log.js';
import { Metrics, type MetricsSnapshot, prometheusText } from './metrics.js';
import { type EndpointSettings, type McpSessionOptions, type ResolvedOptions, endpointSettings, resolveOptions } from './options.js';
import { Dispatcher } from './pipeline/dispatcher.js';
import type { JSONRPCNotification } from './protocol/jsonrpc.js';
import { LEGACY_PROTOCOL_VERSIONS } from './protocol/versions.js';
import { formatInstanceId } from './protocol/wire.js';
import { StateHandleManager } from './sessions/handles.js';
import { randomSessionIds } from './sessions/ids.js';
import { SessionManager } from './sessions/manager.js';
import { principalResolver } from './sessions/principal.js';
import { SealedRequestState } from './sessions/request-state.js';
import { Sweeper } from './sessions/sweeper.js';
import { TokenSessions } from './sessions/token-sessions.js';
import { DEFAULT_TOKEN_LIFETIME_MS, SessionTokens } from './sessions/tokens.js';
import { MemoryCacheStore, MemoryEventStore, MemoryMessageBus, MemoryRateLimitStore, MemorySessionStore } from './stores/memory.js';
import { MemoryRevocationStore } from './stores/revocation-store.js';
import { sealedCacheStore, sealedEventStore, sealedMessageBus, sealedSessionStore } from './stores/sealed.js';
import type { BroadcastFilter } from './stores/types.js';
import { ListenStreams } from './streams/listen.js';
import { StreamRegistry } from './streams/registry.js';
import { GetStreams } from './streams/resumption.js';
import type { ChangeNotifier, Era, McpSession, MessageMiddleware, MiddlewarePlugin, ServerContext, StateHandles } from './types.js';

export type { HandleRequestOptions } from './http/endpoint.js';

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
  /** The settings this endpoint runs with (from code, the environment and the defaults). */
  readonly settings: EndpointSettings;
  /** This process's id among those sharing the stores. */
  readonly nodeId: string;
  /** State handles, as the server factory gets them (`handles.for(ctx)` in a tool). */
  readonly handles: StateHandles;
  /** Tells `subscriptions/listen` streams on every process that a list or a resource changed. */
  readonly notify: ChangeNotifier;
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
 * `McpSessionError` naming it.
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
  return composeEndpoint(resolveOptions(options));
}

/** Builds the endpoint from resolved options (the adapters' shared entry). */
export function composeEndpoint(options: ResolvedOptions): McpSessionEndpoint {
  const log = options.logger ?? defaultLogger;
  const clock = options.clock ?? Date;
  const nodeId = options.nodeId ?? randomBytes(6).toString('base64url');
  const instanceId = formatInstanceId(nodeId, randomBytes(3).toString('hex'));
  const reportError = errorReporter(log, nodeId);
  const metrics = new Metrics();
  // With encryptionKeys, everything at rest is sealed on its way to the stores.
  const sealing =
    options.encryptionKeys === undefined
      ? undefined
      : { sealer: new Sealer(options.encryptionKeys), acceptUnsealed: options.acceptUnsealed, reportError };
  const sessionStore = options.sessionStore ?? new MemorySessionStore();
  const store = sealing === undefined ? sessionStore : sealedSessionStore(sessionStore, sealing);
  const events =
    options.eventStore === undefined ? new MemoryEventStore({ maxEventsPerStream: options.maxEventsPerStream }) : options.eventStore;
  const eventStore = sealing === undefined || events === null ? events : sealedEventStore(events, sealing);
  const messageBus = options.messageBus ?? new MemoryMessageBus();
  const bus = sealing === undefined ? messageBus : sealedMessageBus(messageBus, sealing);
  const cacheStore = options.cacheStore ?? new MemoryCacheStore();
  // With tokenKeys, session ids are tokens, and a session lasts maxLifetimeMs at most (24 h by default).
  const maxLifetimeMs = options.maxLifetimeMs ?? (options.tokenKeys === undefined ? undefined : DEFAULT_TOKEN_LIFETIME_MS);
  const tokens =
    options.tokenKeys === undefined
      ? undefined
      : new TokenSessions({
          tokens: new SessionTokens(options.tokenKeys, options.tokenFormat),
          revocations: options.revocationStore ?? new MemoryRevocationStore(),
          store,
          tracked: options.sessionStore !== undefined,
          idleTimeoutMs: options.idleTimeoutMs,
          lifetimeMs: maxLifetimeMs!,
        });
  let closed = false;
  const isClosed = () => closed;

  const rateLimitStore = options.rateLimitStore ?? new MemoryRateLimitStore();
  const sealedCache = sealing === undefined ? cacheStore : sealedCacheStore(cacheStore, sealing);
  const dispatcher = new Dispatcher({
    env: { clock, log, rateLimitStore, cacheStore: sealedCache, metrics },
    metrics,
    requestTimeoutMs: options.requestTimeoutMs,
    reportError,
  });
  // Modules that call each other both ways meet through the interfaces the lower one declares; the
  // closures below reach modules built after them, once a request runs.
  const streams: StreamRegistry = new StreamRegistry(
    {
      instanceId,
      eventStore,
      responseMode: options.responseMode,
      retryIntervalMs: options.retryIntervalMs,
      maxStreamDurationMs: options.maxStreamDurationMs,
      maxStreamBufferBytes: options.maxStreamBufferBytes,
      keepAliveIntervalMs: options.keepAliveIntervalMs,
      sseAfterMs: options.sseAfterMs,
      completedStreamTtlMs: options.completedStreamTtlMs,
      now: () => clock.now(),
      eventStored: () => void (metrics.eventsStored += 1),
      streamOverflowed: () => void (metrics.streamsOverflowed += 1),
      reportError,
    },
    {
      publishEvent: (...args) => cluster.publishEvent(...args),
      watch: (sessionId) => cluster.watch(sessionId),
      unwatch: (sessionId) => cluster.unwatch(sessionId),
    },
  );
  const sessions: SessionManager = new SessionManager(
    {
      store,
      // Token sessions outlive the process: shutdown does not end them.
      ownsStore: options.sessionStore === undefined && tokens === undefined,
      eventStore,
      ids: tokens ?? randomSessionIds,
      tokens,
      clock,
      state: { maxStateKeys: options.maxStateKeys, maxStateBytes: options.maxStateBytes, reportError },
      idleTimeoutMs: options.idleTimeoutMs,
      maxLifetimeMs,
      maxSessions: options.maxSessions,
      onMaxSessions: options.onMaxSessions,
      sessionCreationLimit: options.sessionCreationLimit,
      rateLimitStore,
      sweepIntervalMs: options.sweepIntervalMs,
      onSessionCreated: options.onSessionCreated,
      onSessionClosed: options.onSessionClosed,
      log,
      metrics,
      reportError,
      announceEnded: (sessionId) => cluster.announceEnded(sessionId),
    },
    {
      isBusy: (sessionId) => streams.hasAttached(sessionId) || live.pendingRequests(sessionId) > 0,
      release: async (sessionId, retryMs) => {
        streams.endSession(sessionId, retryMs);
        await live.release(sessionId);
      },
    },
  );
  const transportHost: TransportHost = {
    nextOutgoingId: () => cluster.nextOutgoingId(),
    sendStandalone: (sessionId, message) => streams.sendStandalone(sessionId, message),
    serverNotification: (sessionId, notification) => {
      if (!dispatcher.watchesNotifications) return;
      const session = live.get(sessionId);
      if (session === undefined) return;
      dispatcher.serverNotification({ scope: { kind: 'session', id: sessionId }, principal: session.record.principal }, notification);
    },
    reportError,
  };
  // What a server factory gets besides the session: handles, requestState, and change notices.
  const handleStore = options.handleStore ?? new MemorySessionStore();
  const handles = new StateHandleManager({
    store: sealing === undefined ? handleStore : sealedSessionStore(handleStore, sealing),
    clock,
    idleTimeoutMs: options.idleTimeoutMs,
    maxHandles: options.maxHandles,
    maxStateKeys: options.maxStateKeys,
    maxStateBytes: options.maxStateBytes,
    reportError,
  });
  const requestState = new SealedRequestState({
    // Without encryptionKeys, a key of this process: a state minted here opens only here.
    sealer: sealing?.sealer ?? new Sealer([{ id: 'process', key: randomBytes(32) }]),
    // Processes sharing a message bus serve one client's rounds: say once that such a key fails them.
    processKey: sealing === undefined && options.messageBus !== undefined,
    cacheStore: sealedCache,
    clock,
    ttlMs: options.requestStateTtlMs,
    log,
  });
  const notify: ChangeNotifier = {
    toolsChanged: () => cluster.publishChange({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }),
    promptsChanged: () => cluster.publishChange({ jsonrpc: '2.0', method: 'notifications/prompts/list_changed' }),
    resourcesChanged: () => cluster.publishChange({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' }),
    resourceUpdated: (uri) => cluster.publishChange({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } }),
  };
  const contexts = new Map<Era, ServerContext>(
    (['legacy', 'modern'] as const).map((era) => [era, Object.freeze({ era, handles, requestState, notify })]),
  );
  const contextOf = (era: Era) => contexts.get(era)!;
  const keptResults = new KeptInitializeResults({ enabled: options.lazyServer, log, nodeId });
  const live: LiveSessions = new LiveSessions({
    factory: (session) => options.server(session, contextOf('legacy')),
    clock,
    hibernateAfterMs: options.hibernateAfterMs,
    nodeId,
    transportHost,
    keptResults,
    handle: (sessionId, getRecord) => sessions.handle(sessionId, getRecord),
    metrics,
    log,
    reportError,
  });
  const cluster: ClusterRouter = new ClusterRouter(
    { bus, store, eventStore, instanceId, clock, sweepIntervalMs: options.sweepIntervalMs, reportError },
    streams,
    {
      receiveClientResponse: (sessionId, response) => void live.get(sessionId)?.transport.receiveResponse(response),
      endedElsewhere: (sessionId) => sessions.endedElsewhere(sessionId),
      changed: (notification) => {
        listen.deliver(notification);
        // Cached lists and reads made stale by the change are dropped for everyone.
        dispatcher.serverNotification({ scope: undefined, principal: undefined }, notification);
      },
    },
  );
  const getStreams = new GetStreams(streams, cluster, {
    eventStore,
    retryIntervalMs: options.retryIntervalMs,
    maxStreamDurationMs: options.maxStreamDurationMs,
    maxStreamBufferBytes: options.maxStreamBufferBytes,
    eventsReplayed: (count) => void (metrics.eventsReplayed += count),
    gap: (sessionId, streamId) => {
      metrics.resumptionGaps += 1;
      log.warn({ session: sessionTag(sessionId), streamId }, 'mcp-session: a resumption asked for events the event store no longer holds');
    },
  });
  const principalOf = principalResolver(options.principal, log);
  const shared = new SharedServers({
    factory: (context) => options.server(undefined, context),
    context: contextOf,
    changed: (notification) => cluster.publishChange(notification),
    log,
    reportError,
  });
  const listen = new ListenStreams({
    maxListenStreams: options.maxListenStreams,
    maxStreamBufferBytes: options.maxStreamBufferBytes,
    track: (writer) => streams.track(writer),
  });
  const sessionless = new Sessionless({
    streams,
    dispatcher,
    principalOf,
    maxRequestsInFlight: options.maxRequestsInFlight,
    countError: (status) => metrics.countError(status),
  });
  const modern = new ModernLane({
    servers: shared,
    sessionless,
    listen,
    legacyVersions: options.legacy === 'reject' ? [] : LEGACY_PROTOCOL_VERSIONS,
    countError: (status) => metrics.countError(status),
    isClosed,
  });
  const legacy: Lane =
    options.legacy === 'stateless'
      ? new StatelessLane({ servers: shared, sessionless })
      : options.legacy === 'reject'
        ? new RejectLane()
        : new LegacySessionLane({
            sessions,
            live,
            keptResults,
            streams,
            dispatcher,
            getStreams,
            routeClientResponse: (sessionId, response) => cluster.routeClientResponse(sessionId, response),
            principalOf,
            maxRequestsInFlight: options.maxRequestsInFlight,
            maxInitializeBytes: options.maxInitializeBytes,
            now: () => clock.now(),
            isClosed,
            reportError,
          });
  const http = new HttpEndpoint({
    originPolicy: { allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins, allowAnyHost: options.allowAnyHost },
    maxBodyBytes: options.maxBodyBytes,
    bodyTimeoutMs: options.bodyTimeoutMs,
    trustProxy: options.trustProxy,
    lanes: { legacy, modern },
    ready: () => cluster.ready(),
    isClosed,
    metrics,
    log,
    reportError,
  });
  const sweeper = new Sweeper({ clock, intervalMs: options.sweepIntervalMs, reportError });
  // Work on this process's memory first: a store that answers slowly delays no deadline.
  sweeper.add((now) => dispatcher.expire(now));
  sweeper.add((now) => cluster.sweep(now));
  // An open stream is activity: keep its session alive (or end streams of a session that is gone).
  sweeper.add((now) => sessions.keepActive(streams.streamingSessions(), now));
  sweeper.add((now) => sessions.expire(now));
  sweeper.add((now) => handles.expire(now));
  sweeper.add((now) => live.hibernate(now, (sessionId) => streams.hasPostStreams(sessionId)));
  for (const middleware of options.middleware) dispatcher.use(middleware);

  const metricsSnapshot = async () =>
    metrics.snapshot({
      sessionsActive: await store.count(),
      liveInstances: live.size,
      openStreams: streams.openStreams,
      stateHandles: await handleStore.count(),
      listenStreams: listen.size,
    });

  return {
    nodeId,
    handles,
    notify,
    settings: endpointSettings(options),
    handleRequest: (req, res, requestOptions) => http.handle(req, res, requestOptions),
    sessions: {
      list: async () => (await store.list()).map((record) => sessions.view(record)),
      get: async (id) => {
        const record = await sessions.get(id);
        return record === undefined ? undefined : sessions.view(record);
      },
      terminate: (id) => sessions.terminate(id),
      count: async () => store.count(),
      get liveCount() {
        return live.size;
      },
      broadcast: (notification, filter) => cluster.broadcast(notification, filter),
    },
    sweep: () => sweeper.sweep(),
    use: (middleware) => dispatcher.use(middleware),
    metrics: metricsSnapshot,
    metricsHandler: () => (_req, res) => {
      metricsSnapshot().then(
        (snapshot) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(prometheusText(snapshot));
        },
        (error: unknown) => {
          reportError(error);
          res.writeHead(500).end();
        },
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await sweeper.stop();
      // Listen streams end with their result, before every other stream ends with a retry hint.
      listen.close();
      streams.close(options.retryIntervalMs);
      await live.close();
      await shared.close();
      await sessions.shutdown();
      await cluster.close();
    },
  };
}
