import type { ServerResponse } from 'node:http';
import { type JSONRPCMessage, type JSONRPCResponse, type RequestId, isResponse } from './jsonrpc.js';
import type { ResponseMode } from './options.js';
import { SseWriter } from './sse.js';
import type { RequestSink } from './transport.js';
import { type Awaitable, type EventStore, parseEventId } from './stores/types.js';

/** The first version whose clients accept the priming event (an id with empty data). */
const PRIMING_MIN_VERSION = '2025-11-25';

export function acceptsPriming(protocolVersion: string): boolean {
  return protocolVersion >= PRIMING_MIN_VERSION;
}

/** What streams need from the endpoint. */
export interface StreamContext {
  readonly eventStore: EventStore | null;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  /** Tracks an open SSE response for keep-alive and shutdown. */
  track(writer: SseWriter): void;
  /** Sends an event of a stream whose client is not connected here, for a resumed stream elsewhere. */
  publishEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void;
  /** The stream switched to SSE. */
  streamOpened(stream: PostStream): void;
  /** The stream is answered (or aborted): nothing more goes to it. */
  streamDone(stream: PostStream): void;
  /** An event was stored (metrics). */
  eventStored(): void;
  /** Every event of the stream reached a connected client: its log can go. */
  streamDelivered(stream: PostStream): void;
  reportError(error: unknown): void;
}

function isPromise<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * The response to one POST that carried requests: plain JSON, or an SSE stream whose events are
 * stored before they are written. The client may disconnect at any time; that is not a
 * cancellation, so events keep being stored (and offered to a resumed stream) until every request
 * of the POST is answered.
 */
export class PostStream implements RequestSink {
  readonly sessionId: string;
  readonly acceptsRelated: boolean;
  /** Sent as `MCP-Session-Id`; cleared when an initialize fails. */
  sessionHeader: string | undefined;

  readonly #ctx: StreamContext;
  readonly #res: ServerResponse;
  readonly #mode: ResponseMode;
  readonly #protocolVersion: string;
  readonly #batch: boolean;
  readonly #pending: Set<RequestId>;
  readonly #responses: JSONRPCResponse[] = [];
  #sse: SseWriter | undefined;
  #state: 'pending' | 'sse' | 'done' = 'pending';
  readonly #makeStreamId: () => string;
  #streamId: string | undefined;
  #opened = false;
  #queue: Promise<void> | undefined;
  #durationTimer: NodeJS.Timeout | undefined;

  constructor(
    ctx: StreamContext,
    res: ServerResponse,
    init: {
      sessionId: string;
      /** Built on first use: a plain JSON response never needs one. */
      streamId: () => string;
      mode: ResponseMode;
      protocolVersion: string;
      requestIds: RequestId[];
      batch: boolean;
      /** In `sse` mode, wait for the first message before sending headers (initialize: the session id may only go out with a result). */
      lazy?: boolean;
    },
  ) {
    this.#ctx = ctx;
    this.#res = res;
    this.sessionId = init.sessionId;
    this.sessionHeader = init.sessionId;
    this.#makeStreamId = init.streamId;
    this.#mode = init.mode;
    this.#protocolVersion = init.protocolVersion;
    this.#batch = init.batch;
    this.#pending = new Set(init.requestIds);
    this.acceptsRelated = init.mode !== 'json';
    if (init.mode === 'sse' && init.lazy !== true) this.#startSse();
  }

  /** The stream's id, which names it in event ids and Last-Event-ID. */
  get streamId(): string {
    this.#streamId ??= this.#makeStreamId();
    return this.#streamId;
  }

  /** Whether the response became an SSE stream (and so has an id and events). */
  get opened(): boolean {
    return this.#opened;
  }

  /** Whether an SSE response is being written to a connected client. */
  get connected(): boolean {
    return this.#sse?.open === true;
  }

  send(message: JSONRPCMessage): void {
    if (this.#state === 'done') return;
    if (this.#state === 'pending') this.#startSse();
    this.#emit(message);
  }

  respond(response: JSONRPCResponse): void {
    if (this.#state === 'done' || response.id === undefined || response.id === null) return;
    this.#pending.delete(response.id);
    if (this.#state === 'pending' && this.#mode === 'sse') this.#startSse();
    if (this.#state === 'sse') {
      this.#emit(response);
      if (this.#pending.size === 0) this.#finish();
      return;
    }
    this.#responses.push(response);
    if (this.#pending.size === 0) this.#writeJson();
  }

  /**
   * Answers a single request with an HTTP error status (a rate limit's 429), when nothing was sent yet.
   * False when the response already started or carries a batch: the caller answers in JSON-RPC instead.
   */
  refuse(
    status: number,
    headers: Record<string, string>,
    id: RequestId,
    error: { code: number; message: string; data?: unknown },
  ): boolean {
    if (this.#state !== 'pending' || this.#batch || this.#res.headersSent) return false;
    this.#pending.delete(id);
    this.#state = 'done';
    this.#ctx.streamDone(this);
    if (this.#res.destroyed) return true;
    const body: JSONRPCResponse = { jsonrpc: '2.0', id, error: { code: error.code, message: error.message } };
    if (error.data !== undefined) body.error.data = error.data;
    const text = JSON.stringify(body);
    const out: Record<string, string> = {
      ...headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    };
    if (this.sessionHeader !== undefined) out['mcp-session-id'] = this.sessionHeader;
    this.#res.writeHead(status, out);
    this.#res.end(text);
    return true;
  }

  /**
   * Closes the client's connection without ending the stream (SEP-1699 polling, or another
   * connection took the stream over); later events are stored for resumption.
   */
  detach(): void {
    if (this.#state !== 'sse') return;
    // Events already on their way to the store are written first: the client must hold their ids
    // (the priming id at least) to resume.
    if (this.#queue === undefined) this.#sse?.end();
    else void this.#queue.then(() => this.#sse?.end());
  }

  /** Ends the response now (the session is ending). */
  abort(retryMs?: number): void {
    if (this.#state === 'done') return;
    const wasSse = this.#state === 'sse';
    this.#state = 'done';
    this.#clearTimer();
    this.#ctx.streamDone(this);
    if (wasSse) {
      this.#sse?.end(retryMs);
    } else if (!this.#res.headersSent && !this.#res.destroyed) {
      this.#res.writeHead(404, { 'content-type': 'application/json' });
      this.#res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
    }
  }

  #startSse(): void {
    this.#state = 'sse';
    this.#opened = true;
    if (this.#res.destroyed) {
      // The client left before anything was written; events are still stored for resumption.
      this.#ctx.streamOpened(this);
      return;
    }
    const sse = new SseWriter(this.#res, this.sessionHeader, true);
    this.#sse = sse;
    this.#ctx.track(sse);
    const store = this.#ctx.eventStore;
    const primed = store !== null && acceptsPriming(this.#protocolVersion);
    if (primed) {
      // The priming id is stored too, so a resumption can tell a real stream of this session from a made-up id.
      this.#enqueue(
        () => store.append(this.sessionId, this.streamId, null),
        (eventId) => sse.prime(eventId, this.#ctx.retryIntervalMs),
      );
    }
    const maxDuration = this.#ctx.maxStreamDurationMs;
    if (primed && maxDuration !== undefined) {
      this.#durationTimer = setTimeout(() => this.detach(), maxDuration);
      this.#durationTimer.unref();
    }
    this.#ctx.streamOpened(this);
  }

  #emit(message: JSONRPCMessage): void {
    const store = this.#ctx.eventStore;
    if (store === null) {
      this.#sse?.event(undefined, message);
      return;
    }
    this.#enqueue(
      () => store.append(this.sessionId, this.streamId, message),
      (eventId) => {
        this.#ctx.eventStored();
        this.#deliver(eventId, message);
      },
      () => this.#sse?.event(undefined, message),
    );
  }

  /**
   * Stores, then writes, in order. A memory store answers synchronously and the write happens at once;
   * an asynchronous store queues every later write behind it.
   */
  #enqueue(append: () => Awaitable<string>, write: (eventId: string) => void, fallback?: () => void): void {
    const fail = (error: unknown) => {
      this.#ctx.reportError(error);
      fallback?.();
    };
    if (this.#queue !== undefined) {
      this.#queue = this.#queue.then(append).then(write, fail);
      return;
    }
    let eventId: Awaitable<string>;
    try {
      eventId = append();
    } catch (error) {
      fail(error);
      return;
    }
    if (isPromise(eventId)) this.#queue = eventId.then(write, fail);
    else write(eventId);
  }

  #deliver(eventId: string, message: JSONRPCMessage): void {
    if (this.#sse?.open) this.#sse.event(eventId, message);
    else this.#ctx.publishEvent(this.sessionId, this.streamId, eventId, message);
  }

  #finish(): void {
    this.#state = 'done';
    this.#clearTimer();
    const end = () => {
      const delivered = this.#sse?.open === true;
      this.#sse?.end();
      this.#ctx.streamDone(this);
      if (delivered) this.#ctx.streamDelivered(this);
    };
    if (this.#queue === undefined) end();
    else void this.#queue.then(end);
  }

  #writeJson(): void {
    this.#state = 'done';
    this.#ctx.streamDone(this);
    const res = this.#res;
    if (res.destroyed || res.headersSent) return;
    const body = JSON.stringify(this.#batch ? this.#responses : this.#responses[0]);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.sessionHeader !== undefined) headers['mcp-session-id'] = this.sessionHeader;
    res.writeHead(200, headers);
    res.end(body);
  }

  #clearTimer(): void {
    if (this.#durationTimer !== undefined) clearTimeout(this.#durationTimer);
    this.#durationTimer = undefined;
  }
}

/**
 * A GET response attached to one stream of a session: the standalone stream, or a stream being
 * resumed with `Last-Event-ID`. Events come from the replay first, then live; each is written once,
 * in order of its sequence number.
 */
export class AttachedStream {
  readonly sessionId: string;
  readonly streamId: string;
  /** Identifies this connection among every process (`<nodeId>:<n>`). */
  readonly holder: string;
  readonly writer: SseWriter;
  readonly #endOnResponse: boolean;
  /** Events at or below this sequence came before this connection (the client has them). */
  readonly #lastSequence: number;
  readonly #written = new Set<number>();
  #buffer: Array<{ eventId: string | undefined; message: JSONRPCMessage }> | undefined = [];

  constructor(init: {
    sessionId: string;
    streamId: string;
    holder: string;
    writer: SseWriter;
    lastSequence: number;
    endOnResponse: boolean;
  }) {
    this.sessionId = init.sessionId;
    this.streamId = init.streamId;
    this.holder = init.holder;
    this.writer = init.writer;
    this.#lastSequence = init.lastSequence;
    this.#endOnResponse = init.endOnResponse;
  }

  /** True while the client is connected and the stream has not ended. */
  get open(): boolean {
    return this.writer.open;
  }

  /** Writes a live event, or holds it while the replay is still being written. */
  deliver(eventId: string | undefined, message: JSONRPCMessage): void {
    if (this.#buffer !== undefined) this.#buffer.push({ eventId, message });
    else this.#write(eventId, message);
  }

  /** Writes replayed events, then whatever arrived live meanwhile, and goes live. */
  replay(events: Iterable<{ id: string; message: JSONRPCMessage }>): void {
    for (const event of events) this.#write(event.id, event.message);
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const event of buffered) this.#write(event.eventId, event.message);
  }

  #write(eventId: string | undefined, message: JSONRPCMessage): void {
    if (!this.writer.open) return;
    if (eventId !== undefined) {
      // Events from several processes arrive out of sequence order: remember which were written
      // rather than only the highest, so a late one is not mistaken for a duplicate.
      const sequence = parseEventId(eventId)?.sequence ?? 0;
      if (sequence <= this.#lastSequence || this.#written.has(sequence)) return;
      this.#written.add(sequence);
      if (this.#written.size > 4096) this.#written.delete(this.#written.values().next().value as number);
    }
    this.writer.event(eventId, message);
    if (this.#endOnResponse && isResponse(message)) this.writer.end();
  }
}
