import type { IncomingMessage } from 'node:http';
import { afterEach } from 'vitest';
import type { AuthInfo, McpSessionEndpoint, McpSessionOptions, SessionDirectory } from '@x/mcp-session-core';

/**
 * What the host app around the endpoint does, each in its framework's own idiom. Every host app also
 * serves its own routes beside the endpoint, under the same prefix:
 * `GET /health` → `{ ok: true }`, `GET /sessions` → `{ ids }` (the adapter's session directory) and
 * `DELETE /sessions/:id` → `{ terminated }`.
 */
export interface HostOptions {
  /**
   * The host's own auth middleware or hook: Express `req.auth`, Koa `ctx.state.auth`, Fastify
   * `request.auth` (set in an `onRequest` hook). Runs on every request, before the endpoint.
   */
  auth?: (req: IncomingMessage) => AuthInfo | undefined;
  /** Host middleware that sees every request before the endpoint. */
  observe?: (req: IncomingMessage) => void;
  /**
   * The framework's usual JSON body parser before the endpoint: Express `express.json()`, Koa
   * `@koa/bodyparser`. Fastify always parses JSON itself, so its harness ignores this.
   */
  bodyParser?: boolean;
  /**
   * Mount the endpoint and the host routes under this path prefix (`/api`): an Express `Router`, a
   * `@koa/router` route without the `path` option, a Fastify `register(…, { prefix })`.
   */
  prefix?: string;
}

/** An app of the framework under test, listening on 127.0.0.1 on a free port. */
export interface RunningApp {
  /** The MCP endpoint: `http://127.0.0.1:<port><prefix>/mcp`. */
  url: string;
  /** Where the host routes live: `http://127.0.0.1:<port><prefix>`. */
  hostUrl: string;
  /** The framework-free endpoint behind the adapter. */
  endpoint: McpSessionEndpoint;
  /** The session directory as the adapter exposes it to the host. */
  sessions: SessionDirectory;
  /** True when the stores outlive the app (shared Redis): its sessions do not end with it. */
  persistentStores?: boolean;
  /** Closes the adapter the framework's way, then the HTTP server; no handle stays open. */
  close(): Promise<void>;
}

/** How an adapter package runs the shared suite: a real app of its framework on a real socket. */
export interface AdapterHarness {
  /** Names the top-level describe block. */
  name: string;
  /** Starts an app with the endpoint at `<prefix>/mcp`. */
  start(options: McpSessionOptions, host?: HostOptions): Promise<RunningApp>;
  /**
   * Stores for apps that must share them (two nodes). Default: fresh memory stores.
   */
  sharedStores?(): Promise<Pick<McpSessionOptions, 'sessionStore' | 'eventStore' | 'messageBus' | 'rateLimitStore' | 'cacheStore'>>;
  /** Releases what the harness holds (shared stores) once the suite is done. */
  dispose?(): Promise<void>;
}

/** The harness's shared stores, or fresh memory stores. */
export async function sharedStoresOf(
  harness: AdapterHarness,
): Promise<Pick<McpSessionOptions, 'sessionStore' | 'eventStore' | 'messageBus' | 'rateLimitStore' | 'cacheStore'>> {
  if (harness.sharedStores !== undefined) return harness.sharedStores();
  const { MemoryEventStore, MemoryMessageBus, MemorySessionStore } = await import('@x/mcp-session-core');
  return { sessionStore: new MemorySessionStore(), eventStore: new MemoryEventStore(), messageBus: new MemoryMessageBus() };
}

/** A clock the test moves by hand. */
export class ManualClock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/**
 * A `start` that runs apps of the harness with the given defaults, each closed after the test that
 * started it. Call it inside a `describe` (it registers an `afterEach`).
 */
export function appsFor(
  harness: AdapterHarness,
  defaults: () => Partial<McpSessionOptions>,
): (options?: Partial<McpSessionOptions>, host?: HostOptions) => Promise<RunningApp> {
  const apps: RunningApp[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  return async (options = {}, host) => {
    const app = await harness.start({ ...defaults(), ...options } as McpSessionOptions, host);
    apps.push(app);
    return app;
  };
}
