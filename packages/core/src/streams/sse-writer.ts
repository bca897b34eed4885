import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '../protocol/jsonrpc.js';

/** Headers of every SSE response. `X-Accel-Buffering` stops nginx from holding events back. */
export function sseHeaders(sessionId: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  };
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  return headers;
}

export interface SseWriterOptions {
  /** Sent as `Mcp-Session-Id`. */
  readonly sessionId: string | undefined;
  /**
   * Bytes the response may hold unsent (the client is not reading); past them the connection is
   * dropped, which frees them, and the client resumes from the event store.
   */
  readonly maxBufferBytes: number;
  /**
   * Hold writes until the event loop's next turn, so a response answered at once goes out as one
   * write (headers, priming event, events, end) instead of one system call each. A long-running
   * request still gets its headers and priming event within that turn.
   */
  readonly coalesce?: boolean;
}

/**
 * One open SSE response. Writes are fire-and-forget: after the client goes away every write is a
 * no-op and `open` is false. Memory is bounded: a client that stops reading is cut off once
 * `maxBufferBytes` wait for it.
 */
export class SseWriter {
  readonly res: ServerResponse;
  readonly #maxBufferBytes: number;
  #open = true;
  #overflowed = false;
  readonly #onClose: Array<() => void> = [];

  constructor(res: ServerResponse, options: SseWriterOptions) {
    this.res = res;
    this.#maxBufferBytes = options.maxBufferBytes;
    if (res.destroyed) {
      // Its client left before the stream began: closed from the start, nothing is written.
      this.#open = false;
      return;
    }
    if (options.coalesce === true) {
      res.cork();
      setImmediate(() => res.uncork());
    }
    res.writeHead(200, sseHeaders(options.sessionId));
    res.flushHeaders();
    res.once('close', () => this.#closed());
  }

  get open(): boolean {
    return this.#open;
  }

  /** Whether the stream was cut off because its client stopped reading. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Registers a callback for when the connection ends, whoever ends it. */
  onClose(callback: () => void): void {
    if (this.#open) this.#onClose.push(callback);
    else callback();
  }

  event(eventId: string | undefined, message: JSONRPCMessage): void {
    if (!this.#open) return;
    const id = eventId === undefined ? '' : `id: ${eventId}\n`;
    this.#write(`event: message\n${id}data: ${JSON.stringify(message)}\n\n`);
  }

  /** The priming event: an id and empty data, so the client can resume from the very start. */
  prime(eventId: string, retryMs: number | undefined): void {
    if (!this.#open) return;
    const retry = retryMs === undefined ? '' : `retry: ${retryMs}\n`;
    this.#write(`id: ${eventId}\n${retry}data: \n\n`);
  }

  comment(text: string): void {
    if (this.#open) this.#write(`: ${text}\n\n`);
  }

  /**
   * Resolves once the client has taken what is buffered, or the connection ended: a writer of many
   * events (a replay) waits here between them.
   */
  drained(): Promise<void> {
    if (!this.#open || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Drops the connection with what it holds unsent: a client that stopped reading resumes later. */
  abort(): void {
    if (!this.#open) return;
    this.#overflowed = true;
    this.res.destroy();
    this.#closed();
  }

  /** Ends the response, telling the client when to reconnect when `retryMs` is given. */
  end(retryMs?: number): void {
    if (!this.#open) return;
    if (retryMs !== undefined) this.res.write(`retry: ${retryMs}\n\n`);
    this.res.end();
    this.#closed();
  }

  #write(chunk: string): void {
    // What the client has not taken yet stays below the bound, plus one event (a large result is fine
    // for a client that reads); past it, the buffer is dropped with the connection.
    if (this.res.writableLength > this.#maxBufferBytes) return this.abort();
    this.res.write(chunk);
  }

  #closed(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const callback of this.#onClose.splice(0)) callback();
  }
}
