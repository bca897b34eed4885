/**
 * Every stream open on this process: POST responses (by stream id, for takeover, and by session, to
 * end them with it), GET streams attached to a session's streams, and the SSE writers behind both
 * (keep-alive and shutdown). It sends a session's standalone messages, here or through the relay to
 * the process that holds its GET stream.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '../protocol/jsonrpc.js';
import { STANDALONE_STREAM_ID, formatHolderId, formatPostStreamId } from '../protocol/wire.js';
import type { EventStore } from '../stores/types.js';
import type { ResponseMode } from '../types.js';
import type { AttachedStream } from './attached-stream.js';
import { PostStream, type PostStreamHost } from './post-stream.js';
import type { SseWriter } from './sse-writer.js';

/** What streams need from the processes around this one (the cluster module implements it). */
export interface StreamRelay {
  /** Offers an event of a stream whose client is not connected here to whichever process holds it. */
  publishEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void;
  /** Hears events for the session's streams from other processes, while any is attached here. */
  watch(sessionId: string): Promise<void>;
  unwatch(sessionId: string): void;
}

/** How long broadcasts are still stored for a session whose GET stream was cut off, awaiting its resumption. */
const CUT_OFF_GRACE_MS = 60_000;

export interface StreamSettings {
  readonly instanceId: string;
  readonly eventStore: EventStore | null;
  readonly responseMode: ResponseMode;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  readonly maxStreamBufferBytes: number;
  readonly keepAliveIntervalMs: number;
  /** In auto mode, a JSON answer still owed this long after the POST becomes SSE; undefined: never. */
  readonly sseAfterMs: number | undefined;
  readonly completedStreamTtlMs: number;
  readonly now: () => number;
  readonly eventStored: () => void;
  /** A stream was cut off because its client stopped reading (metrics). */
  readonly streamOverflowed: () => void;
  readonly reportError: (error: unknown) => void;
}

/** What a new POST stream answers. */
export interface PostStreamInit {
  readonly sessionId: string;
  readonly protocolVersion: string;
  readonly requestIds: RequestId[];
  readonly batch: boolean;
  /** Headers wait for the first message even in `sse` mode (an initialize's session id goes out only with its result). */
  readonly deferHeaders?: boolean;
}

export class StreamRegistry implements PostStreamHost {
  readonly eventStore: EventStore | null;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  readonly maxStreamBufferBytes: number;
  readonly #settings: StreamSettings;
  readonly #relay: StreamRelay;
  /** POST streams that became SSE, by stream id, so a resumption can take one over. */
  readonly #opened = new Map<string, PostStream>();
  /** POST streams still answering, by session. */
  readonly #bySession = new Map<string, Set<PostStream>>();
  readonly #attached = new Map<string, Set<AttachedStream>>();
  /**
   * Sessions whose standalone stream was cut off here because the client stopped reading, until
   * when (`performance.now()`): broadcasts are still stored for them, so the client resumes with them.
   */
  readonly #cutOff = new Map<string, number>();
  readonly #writers = new Set<SseWriter>();
  /** Responses to requests outside any session (2026-07-28, legacy stateless), still answering. */
  readonly #sessionless = new Set<PostStream>();
  readonly #sessionlessHost: PostStreamHost;
  #ticker: NodeJS.Timeout | undefined;
  /** Ticks between keep-alive comments (0: none), and ticks so far. */
  readonly #keepAliveTicks: number;
  #ticks = 0;
  #streamSeq = 0;
  #holderSeq = 0;

  constructor(settings: StreamSettings, relay: StreamRelay) {
    this.#settings = settings;
    this.#relay = relay;
    this.eventStore = settings.eventStore;
    this.retryIntervalMs = settings.retryIntervalMs;
    this.maxStreamDurationMs = settings.maxStreamDurationMs;
    this.maxStreamBufferBytes = settings.maxStreamBufferBytes;
    // Nothing of a sessionless response is stored or offered elsewhere: no session to resume it in.
    this.#sessionlessHost = {
      eventStore: null,
      retryIntervalMs: settings.retryIntervalMs,
      maxStreamDurationMs: undefined,
      maxStreamBufferBytes: settings.maxStreamBufferBytes,
      track: (writer) => this.track(writer),
      publishEvent: () => undefined,
      streamOpened: () => undefined,
      streamDone: (stream) => void this.#sessionless.delete(stream),
      eventStored: () => undefined,
      streamDelivered: () => undefined,
      reportError: (error) => this.reportError(error),
    };
    // One timer for keep-alive comments and for the switch of slow JSON answers to SSE.
    const keepAlive = settings.keepAliveIntervalMs > 0 ? settings.keepAliveIntervalMs : Infinity;
    // In `sse` mode, a response outside any session holds its headers until its first message too (a
    // -32021 can still get its 400), at most sseAfterMs.
    const switchAfter = settings.responseMode === 'json' ? Infinity : (settings.sseAfterMs ?? Infinity);
    const tickMs = Math.min(keepAlive, switchAfter);
    this.#keepAliveTicks = keepAlive === Infinity ? 0 : Math.max(1, Math.round(keepAlive / tickMs));
    if (tickMs !== Infinity) {
      this.#ticker = setInterval(() => this.#tick(), tickMs);
      this.#ticker.unref();
    }
  }

  #tick(): void {
    const { sseAfterMs, responseMode } = this.#settings;
    if (responseMode === 'auto' && sseAfterMs !== undefined) {
      // Timers run on real time, whatever clock the endpoint was given.
      const due = performance.now() - sseAfterMs;
      for (const streams of this.#bySession.values()) {
        for (const stream of streams) if (stream.awaitingJson && stream.startedAt <= due) stream.switchToSse();
      }
    }
    if (responseMode !== 'json' && sseAfterMs !== undefined) {
      const due = performance.now() - sseAfterMs;
      for (const stream of this.#sessionless) if (stream.awaitingJson && stream.startedAt <= due) stream.open();
    }
    this.#ticks += 1;
    if (this.#keepAliveTicks > 0 && this.#ticks % this.#keepAliveTicks === 0) {
      for (const writer of this.#writers) writer.comment('keep-alive');
    }
  }

  /** Open SSE responses on this process. */
  get openStreams(): number {
    return this.#writers.size;
  }

  openPostStream(res: ServerResponse, init: PostStreamInit): PostStream {
    const { instanceId } = this.#settings;
    const stream = new PostStream(this, res, {
      sessionId: init.sessionId,
      // Built on first use: a plain JSON response never needs one.
      streamId: () => formatPostStreamId(instanceId, ++this.#streamSeq, init.requestIds),
      mode: this.#settings.responseMode,
      protocolVersion: init.protocolVersion,
      requestIds: init.requestIds,
      batch: init.batch,
      startedAt: performance.now(),
      deferHeaders: init.deferHeaders === true,
    });
    let streams = this.#bySession.get(init.sessionId);
    if (streams === undefined) this.#bySession.set(init.sessionId, (streams = new Set()));
    streams.add(stream);
    return stream;
  }

  /**
   * The response to a POST outside any session: JSON, or SSE that carries only messages about its
   * requests. Nothing is stored for resumption. In `sse` mode its headers wait for the first message,
   * the answer, or `sseAfterMs`: an error the protocol refuses a request with still gets its status.
   */
  openSessionless(res: ServerResponse, init: { protocolVersion: string; requestIds: RequestId[]; batch: boolean }): PostStream {
    const stream = new PostStream(this.#sessionlessHost, res, {
      sessionId: '',
      streamId: () => '',
      mode: this.#settings.responseMode,
      protocolVersion: init.protocolVersion,
      requestIds: init.requestIds,
      batch: init.batch,
      startedAt: performance.now(),
      deferHeaders: true,
      sessionless: true,
    });
    this.#sessionless.add(stream);
    return stream;
  }

  /** Responses to requests outside any session still answering on this process. */
  get sessionlessInFlight(): number {
    return this.#sessionless.size;
  }

  /** A new id for one client connection to a stream. */
  nextHolder(): string {
    return formatHolderId(this.#settings.instanceId, ++this.#holderSeq);
  }

  /** Registers a GET connection; resolves once events for it from other processes are heard. */
  async attach(stream: AttachedStream): Promise<void> {
    const { sessionId } = stream;
    let streams = this.#attached.get(sessionId);
    if (streams === undefined) this.#attached.set(sessionId, (streams = new Set()));
    streams.add(stream);
    this.track(stream.writer);
    const watching = this.#relay.watch(sessionId);
    const standalone = stream.streamId === STANDALONE_STREAM_ID;
    if (standalone) this.#cutOff.delete(sessionId);
    stream.writer.onClose(() => {
      if (standalone && stream.writer.overflowed) this.#cutOff.set(sessionId, performance.now() + CUT_OFF_GRACE_MS);
      const set = this.#attached.get(sessionId);
      if (set === undefined) return;
      set.delete(stream);
      if (set.size > 0) return;
      this.#attached.delete(sessionId);
      this.#relay.unwatch(sessionId);
    });
    await watching;
  }

  /** The session's open standalone (GET) stream on this process. */
  standalone(sessionId: string): AttachedStream | undefined {
    const streams = this.#attached.get(sessionId);
    if (streams === undefined) return undefined;
    for (const stream of streams) if (stream.streamId === STANDALONE_STREAM_ID && stream.writer.open) return stream;
    return undefined;
  }

  /**
   * Sessions whose GET stream is held here: open, or cut off a moment ago because the client stopped
   * reading (it resumes with what was stored meanwhile).
   */
  broadcastTargets(): string[] {
    const now = performance.now();
    for (const [sessionId, until] of this.#cutOff) if (until <= now) this.#cutOff.delete(sessionId);
    const open = [...this.#attached.keys()].filter((sessionId) => this.standalone(sessionId) !== undefined);
    return [...new Set([...open, ...this.#cutOff.keys()])];
  }

  hasAttached(sessionId: string): boolean {
    return this.#attached.has(sessionId);
  }

  hasPostStreams(sessionId: string): boolean {
    return this.#bySession.has(sessionId);
  }

  /** Client requests of the session still waiting for their response on this process. */
  requestsInFlight(sessionId: string): number {
    let count = 0;
    for (const stream of this.#bySession.get(sessionId) ?? []) count += stream.pendingRequests;
    return count;
  }

  /** Whether a request of the session with this id is still waiting for its response here. */
  isInFlight(sessionId: string, id: RequestId): boolean {
    for (const stream of this.#bySession.get(sessionId) ?? []) if (stream.isPending(id)) return true;
    return false;
  }

  /** Sessions with a client connected to a stream here: an open stream is activity. */
  streamingSessions(): Set<string> {
    const sessions = new Set(this.#attached.keys());
    for (const stream of this.#opened.values()) if (stream.connected) sessions.add(stream.sessionId);
    return sessions;
  }

  /** Stores a message for the session's standalone stream, then writes it here or offers it to the process holding it. */
  sendStandalone(sessionId: string, message: JSONRPCMessage): void {
    const store = this.eventStore;
    const deliver = (eventId: string | undefined) => {
      const local = this.standalone(sessionId);
      if (local !== undefined) local.deliver(eventId, message);
      else if (eventId !== undefined) this.#relay.publishEvent(sessionId, STANDALONE_STREAM_ID, eventId, message);
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

  /** An event of one of the session's streams, published by another process. */
  deliverEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void {
    const streams = this.#attached.get(sessionId);
    if (streams === undefined) return;
    for (const stream of streams) if (stream.streamId === streamId) stream.deliver(eventId, message);
  }

  /** Another connection took the stream over: every connection to it here but `holder` closes. */
  yieldStream(sessionId: string, streamId: string, holder: string): void {
    if (streamId === STANDALONE_STREAM_ID) this.#cutOff.delete(sessionId);
    const post = this.#opened.get(streamId);
    if (post !== undefined && post.sessionId === sessionId) post.detach();
    const streams = this.#attached.get(sessionId);
    if (streams === undefined) return;
    for (const stream of streams) {
      if (stream.streamId === streamId && stream.holder !== holder) stream.writer.end();
    }
  }

  /** Whether a POST stream of this process is still answering. */
  isAnswering(streamId: string): boolean {
    return this.#opened.has(streamId);
  }

  /** Ends every stream of a session on this process (the session ended). */
  endSession(sessionId: string, retryMs?: number): void {
    this.#cutOff.delete(sessionId);
    const attached = this.#attached.get(sessionId);
    if (attached !== undefined) for (const stream of [...attached]) stream.writer.end(retryMs);
    const posts = this.#bySession.get(sessionId);
    if (posts !== undefined) for (const stream of [...posts]) stream.abort(retryMs);
  }

  /**
   * Ends every stream with a retry hint and stops the keep-alive timer. Responses without a session
   * go first: nothing resumes them, so they answer what they still owe before their writers end.
   */
  close(retryMs: number): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    for (const stream of [...this.#sessionless]) stream.abort(retryMs);
    for (const streams of [...this.#bySession.values()]) for (const stream of [...streams]) stream.abort(retryMs);
    for (const writer of [...this.#writers]) writer.end(retryMs);
  }

  // ---- PostStreamHost ---------------------------------------------------------------------------

  track(writer: SseWriter): void {
    this.#writers.add(writer);
    writer.onClose(() => {
      this.#writers.delete(writer);
      if (writer.overflowed) this.#settings.streamOverflowed();
    });
  }

  publishEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void {
    this.#relay.publishEvent(sessionId, streamId, eventId, message);
  }

  streamOpened(stream: PostStream): void {
    this.#opened.set(stream.streamId, stream);
  }

  streamDone(stream: PostStream): void {
    if (stream.opened) this.#opened.delete(stream.streamId);
    const streams = this.#bySession.get(stream.sessionId);
    if (streams === undefined) return;
    streams.delete(stream);
    if (streams.size === 0) this.#bySession.delete(stream.sessionId);
  }

  eventStored(): void {
    this.#settings.eventStored();
  }

  streamDelivered(stream: PostStream): void {
    try {
      const { completedStreamTtlMs, now } = this.#settings;
      const deleted = this.eventStore?.completeStream?.(stream.sessionId, stream.streamId, completedStreamTtlMs, now());
      if (deleted instanceof Promise) deleted.catch((error: unknown) => this.reportError(error));
    } catch (error) {
      this.reportError(error);
    }
  }

  reportError(error: unknown): void {
    this.#settings.reportError(error);
  }
}
