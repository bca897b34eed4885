import { parseEventId } from '../protocol/wire.js';
import { type JSONRPCMessage, isResponse } from '../protocol/jsonrpc.js';
import type { SseWriter } from './sse-writer.js';

/** Live events held while a replay is written; more and the client is cut off (it resumes later). */
const MAX_HELD_EVENTS = 1000;

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
    if (this.#buffer === undefined) return this.#write(eventId, message);
    this.#buffer.push({ eventId, message });
    // A client too slow to take the replay falls behind live events too: it resumes later instead.
    if (this.#buffer.length > MAX_HELD_EVENTS) this.writer.abort();
  }

  /**
   * Writes replayed events at the pace the client reads them, then whatever arrived live meanwhile,
   * and goes live.
   */
  async replay(events: Iterable<{ id: string; message: JSONRPCMessage }>): Promise<void> {
    for (const event of events) {
      if (!this.writer.open) return;
      this.#write(event.id, event.message);
      await this.writer.drained();
    }
    const buffered = this.#buffer ?? [];
    for (let next = buffered.shift(); next !== undefined; next = buffered.shift()) {
      if (!this.writer.open) return;
      this.#write(next.eventId, next.message);
      await this.writer.drained();
    }
    this.#buffer = undefined;
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
