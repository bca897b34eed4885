import type { ServerResponse } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Refusal, shuttingDown, writeRefusal } from '../http/refusal.js';
import type { JSONRPCMessage, JSONRPCResponse, RequestId } from '../protocol/jsonrpc.js';
import { acceptsPriming } from '../protocol/versions.js';
import type { Awaitable, EventStore } from '../stores/types.js';
import type { RequestSink } from '../live/transport.js';
import type { ResponseMode } from '../types.js';
import { SseWriter } from './sse-writer.js';

/** What a POST stream needs from the stream registry that owns it. */
export interface PostStreamHost {
  readonly eventStore: EventStore | null;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  readonly maxStreamBufferBytes: number;
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
  /** When the POST arrived (`performance.now()`: stream timers run on real time). */
  readonly startedAt: number;
  /** Sent as `MCP-Session-Id`; cleared when an initialize fails. */
  sessionHeader: string | undefined;

  readonly #ctx: PostStreamHost;
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
  readonly #sessionless: boolean;

  constructor(
    ctx: PostStreamHost,
    res: ServerResponse,
    init: {
      sessionId: string;
      /** Built on first use: a plain JSON response never needs one. */
      streamId: () => string;
      mode: ResponseMode;
      protocolVersion: string;
      requestIds: RequestId[];
      batch: boolean;
      startedAt: number;
      /** In `sse` mode, send headers with the first message, not at once (initialize: the session id may only go out with a result). */
      deferHeaders?: boolean;
      /** A response outside any session (2026-07-28, legacy stateless): no session header, and 503 when the endpoint closes first. */
      sessionless?: boolean;
    },
  ) {
    this.#ctx = ctx;
    this.#res = res;
    this.sessionId = init.sessionId;
    this.startedAt = init.startedAt;
    this.sessionHeader = init.sessionless === true ? undefined : init.sessionId;
    this.#sessionless = init.sessionless === true;
    this.#makeStreamId = init.streamId;
    this.#mode = init.mode;
    this.#protocolVersion = init.protocolVersion;
    this.#batch = init.batch;
    this.#pending = new Set(init.requestIds);
    this.acceptsRelated = init.mode !== 'json';
    if (init.mode === 'sse' && init.deferHeaders !== true) this.#startSse();
  }

  /** The stream's id, which names it in event ids and Last-Event-ID. */
  get streamId(): string {
    this.#streamId ??= this.#makeStreamId();
    return this.#streamId;
  }

  /** Requests of this POST still waiting for their response. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  isPending(id: RequestId): boolean {
    return this.#pending.has(id);
  }

  /** Whether the response became an SSE stream (and so has an id and events). */
  get opened(): boolean {
    return this.#opened;
  }

  /**
   * An answer still owed as plain JSON (auto mode) becomes an SSE stream now, so keep-alive comments
   * can flow while the request runs on (proxies with idle timeouts would cut a silent response).
   */
  switchToSse(): void {
    if (this.#state === 'pending' && this.#mode === 'auto') this.#startSse();
  }

  /** Opens the SSE stream now, when the answer is still owed and may be SSE (headers were deferred). */
  open(): void {
    if (this.#state === 'pending' && this.#mode !== 'json') this.#startSse();
  }

  /** Whether the answer is still owed as plain JSON. */
  get awaitingJson(): boolean {
    return this.#state === 'pending';
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
  refuse(refused: Refusal & { id: RequestId }): boolean {
    if (this.#state !== 'pending' || this.#batch || this.#res.headersSent) return false;
    this.#pending.delete(refused.id);
    this.#state = 'done';
    this.#ctx.streamDone(this);
    writeRefusal(this.#res, refused, this.sessionHeader);
    return true;
  }

  /**
   * Closes the client's connection without ending the stream (SEP-1699 polling, or another
   * connection took the stream over); later events are stored for resumption.
   */
  detach(): void {
    // Not yet SSE (auto mode): become SSE first, when the client can resume it from its priming id.
    if (this.#state === 'pending' && this.#ctx.eventStore !== null && acceptsPriming(this.#protocolVersion)) this.#startSse();
    if (this.#state !== 'sse') return;
    // Events already on their way to the store are written first: the client must hold their ids
    // (the priming id at least) to resume.
    if (this.#queue === undefined) this.#sse?.end();
    else void this.#queue.then(() => this.#sse?.end());
  }

  /**
   * Ends the response now (the session is ending, or the endpoint closing). A session's client resumes
   * an SSE stream after `retryMs`; nothing resumes a response without a session, so each request it
   * still owes is answered with an error first.
   */
  abort(retryMs?: number): void {
    if (this.#state === 'done') return;
    const wasSse = this.#state === 'sse';
    this.#state = 'done';
    this.#clearTimer();
    this.#ctx.streamDone(this);
    if (wasSse && this.#sessionless) {
      const { code, message } = shuttingDown();
      const error = { code, message };
      for (const id of this.#pending) this.#sse?.event(undefined, { jsonrpc: '2.0', id, error });
      this.#sse?.end();
    } else if (wasSse) {
      this.#sse?.end(retryMs);
    } else if (!this.#res.headersSent && !this.#res.destroyed) {
      writeRefusal(
        this.#res,
        this.#sessionless
          ? shuttingDown()
          : { ok: false, status: 404, code: JsonRpcErrorCode.SessionNotFound, message: 'Session not found' },
      );
    }
  }

  #startSse(): void {
    this.#state = 'sse';
    this.#opened = true;
    this.#openWriter();
    this.#ctx.streamOpened(this);
    // Answers a batch collected for a JSON response go first, in the order they came.
    for (const response of this.#responses.splice(0)) this.#emit(response);
  }

  #openWriter(): void {
    // The client left before anything was written: events are still stored for resumption.
    if (this.#res.destroyed) return;
    const sse = new SseWriter(this.#res, { sessionId: this.sessionHeader, maxBufferBytes: this.#ctx.maxStreamBufferBytes, coalesce: true });
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
