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

/**
 * One open SSE response. Writes are fire-and-forget: after the client goes away every write is a
 * no-op and `open` is false.
 */
export class SseWriter {
  readonly res: ServerResponse;
  #open = true;
  readonly #onClose: Array<() => void> = [];

  /**
   * @param coalesce Hold writes until the event loop's next turn, so a response answered at once goes
   *   out as one write (headers, priming event, events, end) instead of one system call each. A
   *   long-running request still gets its headers and priming event within that turn.
   */
  constructor(res: ServerResponse, sessionId: string | undefined, coalesce = false) {
    this.res = res;
    if (coalesce) {
      res.cork();
      setImmediate(() => res.uncork());
    }
    res.writeHead(200, sseHeaders(sessionId));
    res.flushHeaders();
    res.once('close', () => this.#closed());
  }

  get open(): boolean {
    return this.#open;
  }

  /** Registers a callback for when the connection ends, whoever ends it. */
  onClose(callback: () => void): void {
    if (this.#open) this.#onClose.push(callback);
    else callback();
  }

  event(eventId: string | undefined, message: JSONRPCMessage): void {
    if (!this.#open) return;
    const id = eventId === undefined ? '' : `id: ${eventId}\n`;
    this.res.write(`event: message\n${id}data: ${JSON.stringify(message)}\n\n`);
  }

  /** The priming event: an id and empty data, so the client can resume from the very start. */
  prime(eventId: string, retryMs: number | undefined): void {
    if (!this.#open) return;
    const retry = retryMs === undefined ? '' : `retry: ${retryMs}\n`;
    this.res.write(`id: ${eventId}\n${retry}data: \n\n`);
  }

  comment(text: string): void {
    if (this.#open) this.res.write(`: ${text}\n\n`);
  }

  /** Ends the response, telling the client when to reconnect when `retryMs` is given. */
  end(retryMs?: number): void {
    if (!this.#open) return;
    if (retryMs !== undefined) this.res.write(`retry: ${retryMs}\n\n`);
    this.res.end();
    this.#closed();
  }

  #closed(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const callback of this.#onClose.splice(0)) callback();
  }
}
