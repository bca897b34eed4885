/**
 * A 2026-07-28 `subscriptions/listen` stream over plain HTTP, read message by message: what a test
 * needs to see the wire (the acknowledgement first, `subscriptionId` on every message, the graceful
 * result) without a client library in between.
 */
import { expect } from 'vitest';
import { ACCEPT_BOTH } from './raw.js';
import { parseSse } from './suites/http-rules/helpers.js';

export const MODERN_VERSION = '2026-07-28';
export const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** A JSON-RPC message as read from a listen stream. */
export interface ListenMessage {
  jsonrpc: string;
  id?: string | number;
  method?: string;
  params?: { _meta?: Record<string, unknown>; [member: string]: unknown };
  result?: { _meta?: Record<string, unknown>; [member: string]: unknown };
  error?: { code: number; message: string };
}

/** What a client may opt into (`params.notifications`). */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

export interface ListenStream {
  /** The listen request's id, which is the subscription id. */
  readonly id: string | number;
  /**
   * The next message, in order; rejects when none arrives within `timeoutMs` or the stream ended
   * before one did.
   */
  next(timeoutMs?: number): Promise<ListenMessage>;
  /** Resolves once the server ended the response (the body is done). */
  readonly ended: Promise<void>;
  /** Drops the connection, as a client that stops listening does. */
  close(): void;
}

/** The `_meta` every 2026-07-28 request carries. */
export function modernMeta(name = 'listen-test'): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name, version: '1.0.0' },
  };
}

/** The headers of a 2026-07-28 POST of `method`. */
export function modernHeaders(method: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: ACCEPT_BOTH,
    'mcp-protocol-version': MODERN_VERSION,
    'mcp-method': method,
    ...extra,
  };
}

/**
 * POSTs `subscriptions/listen` and returns the open stream once its headers arrived. The response
 * must be a 200 SSE stream; its messages are read as they come.
 */
export async function openListen(
  url: string,
  id: string | number,
  notifications: ListenFilter,
  headers: Record<string, string> = {},
): Promise<ListenStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: modernHeaders('subscriptions/listen', headers),
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { _meta: modernMeta(), notifications } }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const queue: ListenMessage[] = [];
  const waiting: Array<() => void> = [];
  let done = false;
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  const reader = response.body!.getReader();
  const ended = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        text += decoder.decode(value, { stream: true });
        const complete = text.lastIndexOf('\n\n');
        if (complete === -1) continue;
        for (const event of parseSse(text.slice(0, complete + 2))) {
          if (event.data !== '') queue.push(JSON.parse(event.data) as ListenMessage);
        }
        text = text.slice(complete + 2);
        wake();
      }
    } catch {
      // Aborted by close(), or the connection dropped: the stream is over either way.
    } finally {
      done = true;
      wake();
    }
  })();
  return {
    id,
    ended,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (done) throw new Error(`listen stream ${String(id)} ended without another message`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`listen stream ${String(id)}: no message within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return queue.shift()!;
    },
    close: () => controller.abort(),
  };
}

/** The subscription id a listen message carries in its `_meta`. */
export function subscriptionIdOf(message: ListenMessage): unknown {
  return (message.params?._meta ?? message.result?._meta)?.[SUBSCRIPTION_ID];
}

/** `promise`, or a rejection naming `what` once `timeoutMs` passed without it settling. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
