/**
 * The live sessions of this process: one `McpServer` from the user's factory per session that is
 * active here, connected to its own transport. A cache, not the truth: a session without a live
 * server here is rebuilt from its record (rehydration, single-flight per session), and an idle one is
 * dropped from memory (hibernation).
 */
import { McpSessionError } from '../errors.js';
import { sessionTag } from '../log.js';
import type { Metrics } from '../metrics.js';
import { requestedVersion } from '../protocol/versions.js';
import type { SessionRecord } from '../stores/types.js';
import type { Clock, Logger, McpServerLike, McpSession } from '../types.js';
import type { KeptInitializeResults } from './initialize-results.js';
import { SessionTransport, type TransportHost } from './transport.js';

/** One session's server on this process. */
export interface LiveSession {
  record: SessionRecord;
  readonly session: McpSession;
  readonly server: McpServerLike;
  readonly transport: SessionTransport;
  /** Last use on this process (for hibernation). */
  lastUsedAt: number;
}

export interface LiveSessionSettings {
  readonly factory: (session: McpSession) => McpServerLike | Promise<McpServerLike>;
  readonly clock: Clock;
  readonly hibernateAfterMs: number | undefined;
  readonly nodeId: string;
  readonly transportHost: TransportHost;
  readonly keptResults: KeptInitializeResults;
  /** A handle whose record is read through `getRecord`. */
  readonly handle: (sessionId: string, getRecord: () => SessionRecord) => McpSession;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly reportError: (error: unknown) => void;
}

export class LiveSessions {
  readonly #settings: LiveSessionSettings;
  readonly #lives = new Map<string, LiveSession>();
  readonly #building = new Map<string, Promise<LiveSession>>();
  #closed = false;

  constructor(settings: LiveSessionSettings) {
    this.#settings = settings;
  }

  get size(): number {
    return this.#lives.size;
  }

  get(sessionId: string): LiveSession | undefined {
    return this.#lives.get(sessionId);
  }

  /** Client requests of the session still waiting for their response on this process. */
  pendingRequests(sessionId: string): number {
    return this.#lives.get(sessionId)?.transport.pendingRequests ?? 0;
  }

  /** A request reached the session: the live server, if any, sees its latest record. */
  touched(record: SessionRecord, now: number): void {
    const live = this.#lives.get(record.id);
    if (live === undefined) return;
    live.record = record;
    live.lastUsedAt = now;
  }

  /** The session's live server, rebuilt from its record when there is none here. */
  acquire(record: SessionRecord): Promise<LiveSession> | LiveSession {
    const live = this.#lives.get(record.id);
    if (live !== undefined) return live;
    let pending = this.#building.get(record.id);
    if (pending === undefined) {
      pending = this.#rehydrate(record).finally(() => this.#building.delete(record.id));
      this.#building.set(record.id, pending);
    }
    return pending;
  }

  /** Builds a server for a new session; it serves once {@link adopt}ed. */
  async build(record: SessionRecord): Promise<LiveSession> {
    const transport = new SessionTransport(record.id, this.#settings.transportHost);
    const live: LiveSession = {
      record,
      session: this.#settings.handle(record.id, () => live.record),
      server: undefined as unknown as McpServerLike,
      transport,
      lastUsedAt: this.#settings.clock.now(),
    };
    let server: McpServerLike;
    try {
      server = await this.#settings.factory(live.session);
    } catch (error) {
      throw new McpSessionError('ERR_MCP_SESSION_FACTORY', 'the server factory threw', { cause: error });
    }
    (live as { server: McpServerLike }).server = server;
    await (server as unknown as { connect(transport: SessionTransport): Promise<void> }).connect(transport);
    return live;
  }

  /** A built server now serves its session here. */
  adopt(live: LiveSession): void {
    this.#lives.set(live.record.id, live);
  }

  /** Drops a live server; the session itself stays. */
  async dispose(live: LiveSession): Promise<void> {
    if (this.#lives.get(live.record.id) === live) this.#lives.delete(live.record.id);
    await live.transport.close();
    try {
      await live.server.close();
    } catch (error) {
      this.#settings.reportError(error);
    }
  }

  /** The session ended: its server here goes. */
  async release(sessionId: string): Promise<void> {
    const live = this.#lives.get(sessionId);
    if (live !== undefined) await this.dispose(live);
  }

  /** Drops servers unused for `hibernateAfterMs` with nothing in flight (a sweep task). */
  async hibernate(now: number, hasStreams: (sessionId: string) => boolean): Promise<void> {
    const after = this.#settings.hibernateAfterMs;
    if (after === undefined) return;
    for (const live of [...this.#lives.values()]) {
      // A GET stream needs no server: only requests in flight keep one in memory.
      const idle = live.transport.pendingRequests === 0 && !hasStreams(live.record.id);
      if (idle && live.lastUsedAt + after <= now) {
        await this.dispose(live);
        this.#settings.metrics.sessionsHibernated += 1;
        this.#settings.log.debug({ sessionId: live.record.id }, 'mcp-session: session hibernated');
      }
    }
  }

  /** Closes every server, including those still being built; none outlives this. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const live of [...this.#lives.values()]) await this.dispose(live);
    for (const pending of this.#building.values()) {
      await pending.then((live) => this.dispose(live)).catch(() => undefined);
    }
  }

  async #rehydrate(record: SessionRecord): Promise<LiveSession> {
    const live = await this.build(record);
    try {
      const result = await live.transport.replayInitialize(record.initialize.params);
      this.#settings.keptResults.check(requestedVersion(record.initialize.params), result);
    } catch (error) {
      await this.dispose(live);
      throw new McpSessionError('ERR_MCP_SESSION_REHYDRATE', `session ${sessionTag(record.id)} could not be rehydrated`, { cause: error });
    }
    if (this.#closed) {
      // close() ran while this server was being built: it must not outlive the endpoint.
      await this.dispose(live);
      throw new McpSessionError(
        'ERR_MCP_SESSION_REHYDRATE',
        `session ${sessionTag(record.id)}: the endpoint closed while its server was built`,
      );
    }
    this.#lives.set(record.id, live);
    this.#settings.metrics.sessionsRehydrated += 1;
    this.#settings.log.debug({ sessionId: record.id, nodeId: this.#settings.nodeId }, 'mcp-session: session rehydrated');
    return live;
  }
}
