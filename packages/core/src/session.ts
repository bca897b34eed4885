import { McpSessionError } from './errors.js';
import type { StateSealer } from './crypto.js';
import type { Clock } from './options.js';
import type { SessionRecord, SessionStore } from './stores/types.js';

/** The client's self-description from `initialize`. */
export interface ClientInfo {
  name: string;
  version: string;
  [key: string]: unknown;
}

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Session-scoped state, kept in the `SessionStore` (never only in a server instance), so it survives
 * hibernation, rehydration on another process and restarts. Values are JSON.
 */
export interface SessionState {
  get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  /**
   * Stores a value; with `ttlMs` it is gone after that long. Throws `ERR_MCP_SESSION_STATE_LIMIT` when
   * the session would exceed its key or byte limit.
   */
  set(key: string, value: JsonValue, options?: { ttlMs?: number }): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(): Promise<string[]>;
  clear(): Promise<void>;
}

/**
 * A legacy MCP session as the server factory, tools, middleware and hooks see it. Metadata is a view
 * of the session record; `state` reads and writes the store.
 */
export interface McpSession {
  /** The `MCP-Session-Id`. */
  readonly id: string;
  /** The principal the session is bound to, when the client authenticated. */
  readonly principal: string | undefined;
  /** The negotiated protocol version. */
  readonly protocolVersion: string;
  readonly clientInfo: ClientInfo | undefined;
  readonly clientCapabilities: Record<string, unknown> | undefined;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly requestCount: number;
  readonly state: SessionState;
  /**
   * Registers cleanup that runs once when the session ends, whatever ends it (DELETE, expiry, eviction,
   * shutdown of this process). Returns a function that unregisters it.
   */
  onClose(cleanup: () => void | Promise<void>): () => void;
}

/** What a session handle needs from the endpoint. */
export interface SessionRuntime {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly sealer: StateSealer | undefined;
  readonly maxStateKeys: number;
  readonly maxStateBytes: number;
  onClose(sessionId: string, cleanup: () => void | Promise<void>): () => void;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new McpSessionError('ERR_MCP_SESSION_STATE', `state keys are strings of 1 to 256 characters; got ${JSON.stringify(key)}`);
  }
}

/** The state of one session, read and written through the session store (sealed when keys are set). */
class StoredSessionState implements SessionState {
  readonly #sessionId: string;
  readonly #runtime: SessionRuntime;

  constructor(sessionId: string, runtime: SessionRuntime) {
    this.#sessionId = sessionId;
    this.#runtime = runtime;
  }

  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    checkKey(key);
    const { store, clock, sealer } = this.#runtime;
    const stored = await store.getState(this.#sessionId, key, clock.now());
    if (stored === undefined) return undefined;
    return JSON.parse(sealer === undefined ? stored : sealer.open(stored, `${this.#sessionId}\n${key}`)) as T;
  }

  async set(key: string, value: JsonValue, options: { ttlMs?: number } = {}): Promise<void> {
    checkKey(key);
    const runtime = this.#runtime;
    const json = JSON.stringify(value);
    if (json === undefined) throw new McpSessionError('ERR_MCP_SESSION_STATE', `state "${key}": the value is not JSON`);
    const stored = runtime.sealer === undefined ? json : runtime.sealer.seal(json, `${this.#sessionId}\n${key}`);
    const result = await runtime.store.setState(this.#sessionId, key, stored, {
      now: runtime.clock.now(),
      ttlMs: options.ttlMs,
      maxKeys: runtime.maxStateKeys,
      maxBytes: runtime.maxStateBytes,
    });
    if (result.ok) return;
    if (result.reason === 'no-session') throw new McpSessionError('ERR_MCP_SESSION_STATE', `session ${this.#sessionId} has ended`);
    const limit =
      result.reason === 'too-many-keys' ? `${runtime.maxStateKeys} keys (maxStateKeys)` : `${runtime.maxStateBytes} bytes (maxStateBytes)`;
    throw new McpSessionError('ERR_MCP_SESSION_STATE_LIMIT', `state "${key}" not stored: the session would exceed ${limit}`);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.#runtime.store.deleteState(this.#sessionId, key);
  }

  async keys(): Promise<string[]> {
    return this.#runtime.store.stateKeys(this.#sessionId, this.#runtime.clock.now());
  }

  async clear(): Promise<void> {
    await this.#runtime.store.clearState(this.#sessionId);
  }
}

/**
 * The handle of one session, as tools and hooks see it. One is made per live session and per
 * session created; its getters read the current record, and its state is made on first use.
 */
class SessionHandle implements McpSession {
  readonly id: string;
  readonly onClose: (cleanup: () => void | Promise<void>) => () => void;
  readonly #getRecord: () => SessionRecord;
  readonly #runtime: SessionRuntime;
  #state: SessionState | undefined;

  constructor(sessionId: string, getRecord: () => SessionRecord, runtime: SessionRuntime) {
    this.id = sessionId;
    this.#getRecord = getRecord;
    this.#runtime = runtime;
    // An own function, so `const { onClose } = session` works as it reads.
    this.onClose = (cleanup) => runtime.onClose(sessionId, cleanup);
  }

  get principal(): string | undefined {
    return this.#getRecord().principal;
  }
  get protocolVersion(): string {
    return this.#getRecord().protocolVersion;
  }
  get clientInfo(): ClientInfo | undefined {
    return this.#getRecord().initialize.params.clientInfo as ClientInfo | undefined;
  }
  get clientCapabilities(): Record<string, unknown> | undefined {
    return this.#getRecord().initialize.params.capabilities as Record<string, unknown> | undefined;
  }
  get createdAt(): number {
    return this.#getRecord().createdAt;
  }
  get lastActiveAt(): number {
    return this.#getRecord().lastActiveAt;
  }
  get requestCount(): number {
    return this.#getRecord().requestCount;
  }
  get state(): SessionState {
    this.#state ??= new StoredSessionState(this.id, this.#runtime);
    return this.#state;
  }
}

/** The handle of a session; `getRecord` returns its current record. */
export function sessionHandle(sessionId: string, getRecord: () => SessionRecord, runtime: SessionRuntime): McpSession {
  return new SessionHandle(sessionId, getRecord, runtime);
}
