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

export interface StreamSettings {
  readonly instanceId: string;
  readonly eventStore: EventStore | null;
  readonly responseMode: ResponseMode;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  readonly keepAliveIntervalMs: number;
  readonly completedStreamTtlMs: number;
  readonly now: () => number;
  readonly eventStored: () => void;
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
  readonly #settings: StreamSettings;
  readonly #relay: StreamRelay;
  /** POST streams that became SSE, by stream id, so a resumption can take one over. */
  readonly #opened = new Map<string, PostStream>();
  /** POST streams still answering, by session. */
  readonly #bySession = new Map<string, Set<PostStream>>();
  readonly #attached = new Map<string, Set<AttachedStream>>();
  readonly #writers = new Set<SseWriter>();
  #keepAlive: NodeJS.Timeout | undefined;
  #streamSeq = 0;
  #holderSeq = 0;

  constructor(settings: StreamSettings, relay: StreamRelay) {
    this.#settings = settings;
    this.#relay = relay;
    this.eventStore = settings.eventStore;
    this.retryIntervalMs = settings.retryIntervalMs;
    this.maxStreamDurationMs = settings.maxStreamDurationMs;
    if (settings.keepAliveIntervalMs > 0) {
      this.#keepAlive = setInterval(() => {
        for (const writer of this.#writers) writer.comment('keep-alive');
      }, settings.keepAliveIntervalMs);
      this.#keepAlive.unref();
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
      deferHeaders: init.deferHeaders === true,
    });
    let streams = this.#bySession.get(init.sessionId);
    if (streams === undefined) this.#bySession.set(init.sessionId, (streams = new Set()));
    streams.add(stream);
    return stream;
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
    stream.writer.onClose(() => {
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

  /** Sessions with a standalone stream open here. */
  sessionsWithStandalone(): string[] {
    return [...this.#attached.keys()].filter((sessionId) => this.standalone(sessionId) !== undefined);
  }

  hasAttached(sessionId: string): boolean {
    return this.#attached.has(sessionId);
  }

  hasPostStreams(sessionId: string): boolean {
    return this.#bySession.has(sessionId);
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
    const attached = this.#attached.get(sessionId);
    if (attached !== undefined) for (const stream of [...attached]) stream.writer.end(retryMs);
    const posts = this.#bySession.get(sessionId);
    if (posts !== undefined) for (const stream of [...posts]) stream.abort(retryMs);
  }

  /** Ends every stream with a retry hint and stops keep-alive. */
  close(retryMs: number): void {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    for (const writer of [...this.#writers]) writer.end(retryMs);
    for (const streams of [...this.#bySession.values()]) for (const stream of [...streams]) stream.abort(retryMs);
  }

  // ---- PostStreamHost ---------------------------------------------------------------------------

  track(writer: SseWriter): void {
    this.#writers.add(writer);
    writer.onClose(() => this.#writers.delete(writer));
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
