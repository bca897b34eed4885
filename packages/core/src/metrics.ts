import { CLIENT_REQUEST_METHODS } from './protocol/methods.js';
import type { SessionCloseReason } from './stores/types.js';

/** Counters of one endpoint on this process; a snapshot is {@link MetricsSnapshot}. */
export class Metrics {
  sessionsCreated = 0;
  sessionsRehydrated = 0;
  sessionsHibernated = 0;
  rateLimited = 0;
  cacheHits = 0;
  cacheMisses = 0;
  eventsStored = 0;
  eventsReplayed = 0;
  requestsTimedOut = 0;
  streamsOverflowed = 0;
  resumptionGaps = 0;
  readonly sessionsClosed: Record<SessionCloseReason, number> = { deleted: 0, idle: 0, expired: 0, evicted: 0, shutdown: 0 };
  readonly requestsByMethod = new Map<string, number>();
  readonly errorsByStatus = new Map<number, number>();

  /** Counts a request under its method, or under `other` for a method MCP does not define: labels stay bounded. */
  countRequest(method: string): void {
    const label = CLIENT_REQUEST_METHODS.has(method) ? method : 'other';
    this.requestsByMethod.set(label, (this.requestsByMethod.get(label) ?? 0) + 1);
  }

  countError(status: number): void {
    this.errorsByStatus.set(status, (this.errorsByStatus.get(status) ?? 0) + 1);
  }

  /** A middleware plugin's counters (`MiddlewareCounters`). */
  count(counter: 'rateLimited' | 'cacheHits' | 'cacheMisses'): void {
    this[counter] += 1;
  }

  /** The counters, with the gauges the endpoint reads from its modules. */
  snapshot(
    gauges: Pick<MetricsSnapshot, 'sessionsActive' | 'liveInstances' | 'openStreams' | 'stateHandles' | 'listenStreams'>,
  ): MetricsSnapshot {
    return {
      sessionsCreated: this.sessionsCreated,
      ...gauges,
      sessionsClosed: { ...this.sessionsClosed },
      sessionsRehydrated: this.sessionsRehydrated,
      sessionsHibernated: this.sessionsHibernated,
      requestsByMethod: Object.fromEntries(this.requestsByMethod),
      errorsByStatus: Object.fromEntries(this.errorsByStatus),
      rateLimited: this.rateLimited,
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      eventsStored: this.eventsStored,
      eventsReplayed: this.eventsReplayed,
      requestsTimedOut: this.requestsTimedOut,
      streamsOverflowed: this.streamsOverflowed,
      resumptionGaps: this.resumptionGaps,
    };
  }
}

/** Numbers an operator can watch: counters since start, and gauges now. */
export interface MetricsSnapshot {
  sessionsCreated: number;
  /** Sessions in the store (all processes). */
  sessionsActive: number;
  /** Sessions with a server in this process's memory. */
  liveInstances: number;
  /** Open SSE streams on this process (listen streams included). */
  openStreams: number;
  /** State handles in the handle store (all processes). */
  stateHandles: number;
  /** Open `subscriptions/listen` streams on this process. */
  listenStreams: number;
  sessionsClosed: Record<SessionCloseReason, number>;
  sessionsRehydrated: number;
  sessionsHibernated: number;
  requestsByMethod: Record<string, number>;
  errorsByStatus: Record<string, number>;
  rateLimited: number;
  cacheHits: number;
  cacheMisses: number;
  eventsStored: number;
  eventsReplayed: number;
  /** Requests answered with a timeout error because `requestTimeoutMs` passed. */
  requestsTimedOut: number;
  /** SSE streams cut off because their client stopped reading (it resumes from the event store). */
  streamsOverflowed: number;
  /** Resumptions that asked for events the event store no longer held. */
  resumptionGaps: number;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The snapshot in the Prometheus text exposition format. */
export function prometheusText(snapshot: MetricsSnapshot, prefix = 'mcp_session'): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${prefix}_${name}${labels} ${value}`);
  };
  metric('sessions_created_total', 'counter', 'Sessions created on this process.', [['', snapshot.sessionsCreated]]);
  metric('sessions_active', 'gauge', 'Sessions in the session store.', [['', snapshot.sessionsActive]]);
  metric('live_instances', 'gauge', 'Sessions with a live server on this process.', [['', snapshot.liveInstances]]);
  metric('open_streams', 'gauge', 'Open SSE streams on this process.', [['', snapshot.openStreams]]);
  metric('state_handles', 'gauge', 'State handles in the handle store.', [['', snapshot.stateHandles]]);
  metric('listen_streams', 'gauge', 'Open subscriptions/listen streams on this process.', [['', snapshot.listenStreams]]);
  metric(
    'sessions_closed_total',
    'counter',
    'Sessions ended, by reason.',
    Object.entries(snapshot.sessionsClosed).map(([reason, value]) => [`{reason="${reason}"}`, value]),
  );
  metric('sessions_rehydrated_total', 'counter', 'Servers rebuilt from a session record.', [['', snapshot.sessionsRehydrated]]);
  metric('sessions_hibernated_total', 'counter', 'Servers dropped from memory while idle.', [['', snapshot.sessionsHibernated]]);
  metric(
    'requests_total',
    'counter',
    'JSON-RPC requests, by method.',
    Object.entries(snapshot.requestsByMethod).map(([method, value]) => [`{method="${escapeLabel(method)}"}`, value]),
  );
  metric(
    'http_errors_total',
    'counter',
    'HTTP error responses, by status.',
    Object.entries(snapshot.errorsByStatus).map(([status, value]) => [`{status="${status}"}`, value]),
  );
  metric('rate_limited_total', 'counter', 'Requests refused by a rate limit.', [['', snapshot.rateLimited]]);
  metric('cache_hits_total', 'counter', 'Responses served from the cache.', [['', snapshot.cacheHits]]);
  metric('cache_misses_total', 'counter', 'Cacheable requests that reached the server.', [['', snapshot.cacheMisses]]);
  metric('events_stored_total', 'counter', 'SSE events stored for resumption.', [['', snapshot.eventsStored]]);
  metric('events_replayed_total', 'counter', 'SSE events replayed after Last-Event-ID.', [['', snapshot.eventsReplayed]]);
  metric('requests_timed_out_total', 'counter', 'Requests answered with a timeout error after requestTimeoutMs.', [
    ['', snapshot.requestsTimedOut],
  ]);
  metric('streams_overflowed_total', 'counter', 'SSE streams closed because their client stopped reading.', [
    ['', snapshot.streamsOverflowed],
  ]);
  metric('resumption_gaps_total', 'counter', 'Resumptions that asked for events no longer held.', [['', snapshot.resumptionGaps]]);
  return `${lines.join('\n')}\n`;
}
