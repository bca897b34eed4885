import { createHash } from 'node:crypto';
import { type EventEmitter, once } from 'node:events';
import { Redis, type Cluster } from 'ioredis';
import { McpSessionError } from '@x/mcp-session-core';
import { z } from 'zod';

/**
 * An ioredis client: a standalone `Redis` (or Sentinel) connection or a `Cluster`, with either reply
 * mapping (the stores read only replies whose shape both mappings share, or handle both).
 */
export type RedisClient = Redis<'legacy'> | Redis<'resp3'> | Cluster<'legacy'> | Cluster<'resp3'>;

/** The options every Redis store takes. */
export interface RedisConnectionOptions {
  /**
   * The ioredis client to use (standalone or `Cluster`): shared with the app and never closed by the
   * store. Or a `redis://` / `rediss://` URL: the store opens its own connection and `close()` ends it.
   */
  client: RedisClient | string;
  /** Prepended to every key and channel, so several apps share one Redis. Default `mcp-session:`. */
  prefix?: string;
  /**
   * A store call with no answer after this long fails (the endpoint answers 503 with `Retry-After`),
   * whether Redis is down, frozen or slow: requests never wait for Redis to come back. Calls that
   * read many keys (admin listings, expiry sweeps), and calls before the client first connected (a
   * Cluster discovering its slots), get ten times as long. Default 500 ms.
   */
  commandTimeoutMs?: number;
  /**
   * Hears what goes wrong outside a request: a connection the store opened losing Redis (once per
   * outage), a bus handler that threw, a bus message that is not JSON. Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

export const DEFAULT_PREFIX = 'mcp-session:';
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;

function isClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function'
  );
}

/** The zod shape of {@link RedisConnectionOptions}, extended by each store. */
export const connectionShape = {
  client: z.union([
    z.string().regex(/^rediss?:\/\//, 'client must be an ioredis client or a redis:// or rediss:// URL'),
    z.custom<RedisClient>(isClient, { message: 'client must be an ioredis client (Redis or Cluster) or a redis:// URL' }),
  ]),
  prefix: z
    .string()
    .regex(/^[^{}]*$/, 'prefix must not contain { or }: the keys carry their own hash tags')
    .default(DEFAULT_PREFIX),
  commandTimeoutMs: z.number().int().positive().default(DEFAULT_COMMAND_TIMEOUT_MS),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function', { message: 'onError must be a function' }).optional(),
};

/** Where errors outside a request go when no `onError` is given. */
export function defaultOnError(error: unknown): void {
  console.error(`[mcp-session] [redis] ${error instanceof Error ? error.message : String(error)}`);
}

/** Validates options once, at construction, and names the bad option in the error. */
export function parseOptions<S extends z.ZodType>(store: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') || 'options';
  throw new McpSessionError('ERR_MCP_SESSION_INVALID_OPTIONS', `[redis] ${store}: invalid option ${path}: ${issue?.message ?? 'invalid'}`);
}

/** How often a connection the store opened tries to reconnect, at most: service returns soon after Redis. */
const MAX_RECONNECT_DELAY_MS = 250;

/** How the stores talk to Redis: the client, a deadline on every call, and who hears errors. */
export interface ConnectionSettings {
  readonly commandTimeoutMs: number;
  readonly onError: (error: unknown) => void;
}

/** A client the store uses, whether the store opened it (and so closes it), and its call deadline. */
export class Connection {
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly #timeoutMs: number;
  /** Ready once: until then a call may wait for the first connection (and a Cluster's slots) longer. */
  #connected: boolean;
  #closed = false;

  constructor(client: RedisClient | string, settings: ConnectionSettings) {
    this.owned = typeof client === 'string';
    this.#timeoutMs = settings.commandTimeoutMs;
    // A connection the store opens fails a command after one reconnection attempt instead of queueing
    // it until Redis is back, and tries again often, so service returns by itself within moments.
    this.client =
      typeof client === 'string'
        ? new Redis(client, {
            maxRetriesPerRequest: 1,
            retryStrategy: (times) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
          })
        : client;
    if (this.owned) reportOutages(this.client, settings.onError);
    this.#connected = this.client.status === 'ready';
    if (!this.#connected) (this.client as EventEmitter).once('ready', () => (this.#connected = true));
  }

  /**
   * Runs one store call: a failure, or no answer within the deadline (Redis down, frozen or slow),
   * becomes the library's store error, which the endpoint answers with 503 and `Retry-After`.
   */
  run<T>(operation: string, body: () => Promise<T>, options: { slow?: boolean } = {}): Promise<T> {
    const timeoutMs = options.slow === true || !this.#connected ? this.#timeoutMs * 10 : this.#timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(storeError(operation, new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
    });
    return Promise.race([guard(operation, body), deadline]).finally(() => clearTimeout(timer));
  }

  /** Ends the connection if the store opened it; a client passed in stays open. */
  async close(): Promise<void> {
    if (!this.owned || this.#closed) return;
    this.#closed = true;
    await quit(this.client);
  }
}

/**
 * Listens to a connection the library opened: ioredis would print `Unhandled error event` for each
 * failed reconnection otherwise. The first error of an outage is reported; the rest are not, until
 * the connection is ready again.
 */
export function reportOutages(client: EventEmitter, onError: (error: unknown) => void): void {
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    onError(storeError('connection', error));
  });
  client.on('ready', () => {
    down = false;
  });
}

/** Ends a connection gracefully, or at once when it is not connected. */
export async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'wait') {
    // Never connected (lazyConnect): nothing to say goodbye to.
    client.disconnect();
    return;
  }
  const ended = once(client, 'end');
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
  await ended;
}

/** Wraps a failure of Redis in the library's error, naming the operation. */
export function storeError(operation: string, cause: unknown): McpSessionError {
  if (cause instanceof McpSessionError) return cause;
  const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\.$/, '');
  let hint = '';
  if (/connection is closed|is ended/i.test(reason)) {
    hint = ' The Redis connection was closed (disconnect() or quit()): reconnect the client (client.connect()) or pass an open one.';
  } else if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|max retries|CLUSTERDOWN|LOADING|no answer within/i.test(reason)) {
    hint = ' Check that Redis is reachable.';
  }
  return new McpSessionError('ERR_MCP_SESSION_STORE', `[redis] ${operation} failed: ${reason}.${hint}`, { cause });
}

/** Runs `body`, turning any failure into {@link storeError}. */
export async function guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw storeError(operation, error);
  }
}

/**
 * A Lua script run with EVALSHA, falling back to EVAL once when the server does not have it cached
 * (a restart or `SCRIPT FLUSH`). Every key a script touches is passed in KEYS and shares one hash slot,
 * so the scripts run unchanged on a Redis Cluster.
 */
export class Script {
  readonly lua: string;
  readonly sha: string;

  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** Field/value pairs of a hash reply, flat (RESP2, legacy mapping) or an object (RESP3 mapping). */
export function hashEntries(reply: unknown): Array<[string, string]> {
  if (Array.isArray(reply)) {
    const entries: Array<[string, string]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) entries.push([String(reply[i]), String(reply[i + 1])]);
    return entries;
  }
  if (reply !== null && typeof reply === 'object') return Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
  return [];
}
