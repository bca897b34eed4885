import { McpSessionError, type SessionRecord, sessionDeadline } from '@x/mcp-session-core';

/**
 * The key layout. Every key of one session carries the hash tag `{<sessionId>}`, so a Redis Cluster
 * keeps a session on one slot and each script touches one slot only:
 *
 * ```
 * <prefix>s:{<id>}                 string   the session record (see encodeRecord)
 * <prefix>s:{<id>}:state           hash     state key → "<expiresAt>:<value>"
 * <prefix>s:{<id>}:ev              hash     stream id → last event sequence
 * <prefix>s:{<id>}:ev:<streamId>   stream   the events of one stream, entry ids 0-<sequence>
 * <prefix>{sessions}:deadline      zset     session id by deadline (a lower bound, see RedisSessionStore)
 * <prefix>{sessions}:activity      zset     session id by last activity (a lower bound)
 * <prefix>rv:{<id>}                string   revoked session token: until when (see RedisRevocationStore)
 * <prefix>rl:<key>                 string   GCRA theoretical arrival time
 * <prefix>c:<key>                  string   cache entry "<expiresAt>:<value>"
 * <prefix>n:<key>                  string   cache generation counter
 * <prefix>bus:<topic>              channel  message bus topic
 * <prefix>h:…                      all      state handles: this same layout under the prefix `<prefix>h:`
 * ```
 *
 * No other key starts with `<prefix>h:`: createRedisStores keeps its `handleStore` there, so handles
 * share no id, index, count or sweep with sessions.
 */
export class KeyLayout {
  readonly prefix: string;
  readonly deadlines: string;
  /** `instance:<id>`: a process instance's heartbeat, expiring with it. */
  readonly instancePrefix: string;
  readonly activity: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.deadlines = `${prefix}{sessions}:deadline`;
    this.instancePrefix = `${prefix}instance:`;
    this.activity = `${prefix}{sessions}:activity`;
  }

  record(sessionId: string): string {
    return `${this.prefix}s:{${sessionId}}`;
  }

  state(sessionId: string): string {
    return `${this.prefix}s:{${sessionId}}:state`;
  }

  streams(sessionId: string): string {
    return `${this.prefix}s:{${sessionId}}:ev`;
  }

  stream(sessionId: string, streamId: string): string {
    return `${this.prefix}s:{${sessionId}}:ev:${streamId}`;
  }

  revocation(sessionId: string): string {
    return `${this.prefix}rv:{${sessionId}}`;
  }

  rateLimit(key: string): string {
    return `${this.prefix}rl:${key}`;
  }

  cacheEntry(key: string): string {
    return `${this.prefix}c:${key}`;
  }

  cacheCounter(key: string): string {
    return `${this.prefix}n:${key}`;
  }

  channel(topic: string): string {
    return `${this.prefix}bus:${topic}`;
  }
}

/**
 * Whether an id can name a session here. Ids with braces would move the hash tag (and with it the
 * slot), so none is ever stored; a request naming one finds no session.
 */
export function isSessionId(id: string): boolean {
  return id.length > 0 && !/[{}\n]/.test(id);
}

export function assertSessionId(id: string, operation: string): void {
  if (!isSessionId(id)) {
    throw new McpSessionError(
      'ERR_MCP_SESSION_STORE',
      `[redis] ${operation}: session id ${JSON.stringify(id)} cannot be stored: ids must be non-empty and contain no {, } or newline`,
    );
  }
}

/**
 * A record is one compact string: a JSON header with everything the scripts read or change, a newline,
 * then the original `initialize` request, which no script parses.
 *
 * `[lastActiveAt,requestCount,idleTimeoutMs,expiresAt|null,principal|null,createdAt,protocolVersion]`
 *
 * `lastActiveAt` and `requestCount` come first, so the touch script rewrites them with string
 * operations and never re-encodes JSON.
 */
export function encodeRecord(record: SessionRecord): string {
  const header = [
    record.lastActiveAt,
    record.requestCount,
    record.idleTimeoutMs,
    record.expiresAt ?? null,
    record.principal ?? null,
    record.createdAt,
    record.protocolVersion,
  ];
  return `${JSON.stringify(header)}\n${JSON.stringify(record.initialize)}`;
}

type Header = [number, number, number, number | null, string | null, number, string];

export function decodeRecord(id: string, value: string): SessionRecord {
  const newline = value.indexOf('\n');
  const [lastActiveAt, requestCount, idleTimeoutMs, expiresAt, principal, createdAt, protocolVersion] = JSON.parse(
    value.slice(0, newline),
  ) as Header;
  const record: SessionRecord = {
    id,
    protocolVersion,
    initialize: JSON.parse(value.slice(newline + 1)) as SessionRecord['initialize'],
    createdAt,
    lastActiveAt,
    requestCount,
    idleTimeoutMs,
  };
  if (principal !== null) record.principal = principal;
  if (expiresAt !== null) record.expiresAt = expiresAt;
  return record;
}

/** How long Redis keeps a record after `now`: until its deadline, plus the grace for the sweeper. */
export function recordTtlMs(record: SessionRecord, now: number, graceMs: number): number {
  return Math.max(1, Math.ceil(sessionDeadline(record) - now)) + graceMs;
}
