/** Small helpers shared by core's unit tests: a clock that moves only when told, a quiet logger, a deferred promise. */
import { once } from 'node:events';
import { type RequestListener, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { McpSessionEndpoint } from '../src/index.js';
import type { Clock, Logger } from '../src/types.js';

export interface ManualClock extends Clock {
  /** Moves time forward and returns the new now. */
  advance(ms: number): number;
}

/** A clock that stands still until `advance` is called. */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => (now += ms),
  };
}

/** A logger that keeps what it is told, for assertions. */
export function recordingLogger(): Logger & { readonly lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and I/O callback of this turn run (no time passes). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One test's endpoint on bare node:http: see {@link bareHttp}. */
export interface BareHttp {
  /** The endpoint closed after the test (before the HTTP server); answers it. */
  track<T extends McpSessionEndpoint>(endpoint: T): T;
  /** Listens on 127.0.0.1, a free port; answers the server's URL (`/`). */
  listen(handler: RequestListener): Promise<string>;
  /** The tracked endpoint of the running test. */
  readonly endpoint: McpSessionEndpoint | undefined;
}

/**
 * Endpoints on bare node:http for the tests of one file: after each test the tracked endpoint is
 * closed, then the server's connections and the server. Call at the top level of the file.
 */
export function bareHttp(): BareHttp {
  let server: Server | undefined;
  let endpoint: McpSessionEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    server?.closeAllConnections();
    if (server !== undefined) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    endpoint = undefined;
  });
  return {
    get endpoint() {
      return endpoint;
    },
    track(tracked) {
      endpoint = tracked;
      return tracked;
    },
    async listen(handler) {
      server = createServer(handler);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    },
  };
}
