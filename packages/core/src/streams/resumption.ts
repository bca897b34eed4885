/**
 * GET streams: the session's standalone stream, and the resumption of any stream of the session
 * with `Last-Event-ID` (also of a stream that began as a POST response), replaying from the event
 * store and then going live.
 */
import type { ServerResponse } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from '../http/refusal.js';
import { acceptsPriming } from '../protocol/versions.js';
import { STANDALONE_STREAM_ID, parseEventId } from '../protocol/wire.js';
import type { EventStore } from '../stores/types.js';
import { AttachedStream } from './attached-stream.js';
import type { StreamRegistry } from './registry.js';
import { SseWriter } from './sse-writer.js';

/** What a GET stream needs from the processes around this one (the cluster module implements it). */
export interface StreamOwnership {
  /** This connection now holds the stream: every other connection to it, on any process, closes. */
  takeOver(sessionId: string, streamId: string, holder: string): void;
  /** A resumed response stream waits for its response: answer it if the process that owed it is gone. */
  awaitResponse(stream: AttachedStream): Promise<void>;
}

export interface GetStreamSettings {
  readonly eventStore: EventStore | null;
  readonly retryIntervalMs: number;
  readonly maxStreamDurationMs: number | undefined;
  readonly maxStreamBufferBytes: number;
  readonly eventsReplayed: (count: number) => void;
  /** A resumption asked for events the store no longer holds (the client missed them). */
  readonly gap: (sessionId: string, streamId: string) => void;
}

const unknownLastEventId = (): Refusal => refusal(400, JsonRpcErrorCode.ServerError, 'Bad Request: unknown Last-Event-ID for this session');

export class GetStreams {
  readonly #registry: StreamRegistry;
  readonly #ownership: StreamOwnership;
  readonly #settings: GetStreamSettings;

  constructor(registry: StreamRegistry, ownership: StreamOwnership, settings: GetStreamSettings) {
    this.#registry = registry;
    this.#ownership = ownership;
    this.#settings = settings;
  }

  /**
   * Serves a GET of a session whose access was checked: a resumption, or its standalone stream.
   * `header` is the `MCP-Session-Id` to answer with (the client's; default the session id).
   */
  async open(
    res: ServerResponse,
    session: { id: string; protocolVersion: string; header?: string | undefined },
    lastEventId: string | undefined,
  ): Promise<Refusal | undefined> {
    const store = this.#settings.eventStore;
    if (lastEventId !== undefined && store !== null) return this.#resume(res, session, lastEventId, store);
    await this.#standalone(res, session, store);
    return undefined;
  }

  async #resume(
    res: ServerResponse,
    session: { id: string; header?: string | undefined },
    lastEventId: string,
    store: EventStore,
  ): Promise<Refusal | undefined> {
    const sessionId = session.id;
    const holder = this.#registry.nextHolder();
    const parsed = parseEventId(lastEventId);
    const known = parsed === undefined ? undefined : await store.replayAfter(sessionId, lastEventId);
    if (parsed === undefined || known === undefined) return unknownLastEventId();
    const response = parsed.streamId !== STANDALONE_STREAM_ID;
    const stream = new AttachedStream({
      sessionId,
      streamId: parsed.streamId,
      holder,
      writer: new SseWriter(res, { sessionId: session.header ?? sessionId, maxBufferBytes: this.#settings.maxStreamBufferBytes }),
      lastSequence: parsed.sequence,
      endOnResponse: response,
    });
    // Listen first, then read the log again: an event stored in between is buffered, not lost.
    await this.#registry.attach(stream);
    this.#ownership.takeOver(sessionId, parsed.streamId, holder);
    const replay = (await store.replayAfter(sessionId, lastEventId)) ?? known;
    this.#settings.eventsReplayed(replay.events.length);
    if (replay.truncated === true) {
      // The spec has no gap signal: the client gets what is held, and the operator hears of the rest.
      this.#settings.gap(sessionId, parsed.streamId);
      stream.writer.comment('gap: events after Last-Event-ID are no longer held; what follows is what is');
    }
    await stream.replay(replay.events);
    if (stream.open && response) await this.#ownership.awaitResponse(stream);
    return undefined;
  }

  async #standalone(
    res: ServerResponse,
    session: { id: string; protocolVersion: string; header?: string | undefined },
    store: EventStore | null,
  ): Promise<void> {
    const { retryIntervalMs, maxStreamDurationMs } = this.#settings;
    const holder = this.#registry.nextHolder();
    let lastSequence = 0;
    let primingId: string | undefined;
    if (store !== null) {
      // The marker takes a sequence number even when it is not sent: events after it belong here.
      primingId = await store.append(session.id, STANDALONE_STREAM_ID, null);
      lastSequence = parseEventId(primingId)?.sequence ?? 0;
    }
    // Headers go out only now, and the stream is attached in the same turn: a client that sees the
    // stream open can count on it (as activity, as the holder of its GET stream).
    const writer = new SseWriter(res, { sessionId: session.header ?? session.id, maxBufferBytes: this.#settings.maxStreamBufferBytes });
    const primed = primingId !== undefined && acceptsPriming(session.protocolVersion);
    if (primed) writer.prime(primingId!, retryIntervalMs);
    const stream = new AttachedStream({
      sessionId: session.id,
      streamId: STANDALONE_STREAM_ID,
      holder,
      writer,
      lastSequence,
      endOnResponse: false,
    });
    await this.#registry.attach(stream);
    this.#ownership.takeOver(session.id, STANDALONE_STREAM_ID, holder);
    if (maxStreamDurationMs !== undefined && primed) {
      // Long-lived streams end before a proxy's connection age limit would cut them; the client
      // reconnects with Last-Event-ID (SEP-1699).
      const timer = setTimeout(() => writer.end(), maxStreamDurationMs);
      timer.unref();
      writer.onClose(() => clearTimeout(timer));
    }
    // An event another process published before this one finished subscribing is in the store.
    const missed = primingId === undefined ? undefined : await store?.replayAfter(session.id, primingId);
    await stream.replay(missed?.events ?? []);
  }
}
