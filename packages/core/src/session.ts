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

function sessionState(sessionId: string, runtime: SessionRuntime): SessionState {
  const { store, clock, sealer } = runtime;
  return {
    async get<T extends JsonValue>(key: string): Promise<T | undefined> {
      checkKey(key);
      const stored = await store.getState(sessionId, key, clock.now());
      if (stored === undefined) return undefined;
      return JSON.parse(sealer === undefined ? stored : sealer.open(stored, `${sessionId}\n${key}`)) as T;
    },
    async set(key, value, options = {}) {
      checkKey(key);
      const json = JSON.stringify(value);
      if (json === undefined) throw new McpSessionError('ERR_MCP_SESSION_STATE', `state "${key}": the value is not JSON`);
      const stored = sealer === undefined ? json : sealer.seal(json, `${sessionId}\n${key}`);
      const result = await store.setState(sessionId, key, stored, {
        now: clock.now(),
        ttlMs: options.ttlMs,
        maxKeys: runtime.maxStateKeys,
        maxBytes: runtime.maxStateBytes,
      });
      if (result.ok) return;
      if (result.reason === 'no-session') throw new McpSessionError('ERR_MCP_SESSION_STATE', `session ${sessionId} has ended`);
      const limit =
        result.reason === 'too-many-keys'
          ? `${runtime.maxStateKeys} keys (maxStateKeys)`
          : `${runtime.maxStateBytes} bytes (maxStateBytes)`;
      throw new McpSessionError('ERR_MCP_SESSION_STATE_LIMIT', `state "${key}" not stored: the session would exceed ${limit}`);
    },
    async delete(key) {
      checkKey(key);
      return store.deleteState(sessionId, key);
    },
    async keys() {
      return store.stateKeys(sessionId, clock.now());
    },
    async clear() {
      await store.clearState(sessionId);
    },
  };
}

const kId = Symbol('mcp-session.id');
const kRecord = Symbol('mcp-session.record');
const kRuntime = Symbol('mcp-session.runtime');
const kState = Symbol('mcp-session.state');

/** What a handle keeps out of sight: read by the accessors below, shared by every handle. */
interface HandleInternals {
  readonly [kId]: string;
  readonly [kRecord]: () => SessionRecord;
  readonly [kRuntime]: SessionRuntime;
  [kState]: SessionState | undefined;
}

const field = <K extends keyof McpSession>(read: (handle: HandleInternals) => McpSession[K]): PropertyDescriptor => ({
  enumerable: true,
  get(this: HandleInternals) {
    return read(this);
  },
});

/**
 * The fields of every handle, as own enumerable accessors (spread and JSON see them, assignment
 * throws) whose functions are shared: a live session keeps one small object, not a dozen closures.
 */
const HANDLE_FIELDS: PropertyDescriptorMap = {
  id: field<'id'>((h) => h[kId]),
  principal: field<'principal'>((h) => h[kRecord]().principal),
  protocolVersion: field<'protocolVersion'>((h) => h[kRecord]().protocolVersion),
  clientInfo: field<'clientInfo'>((h) => h[kRecord]().initialize.params.clientInfo as ClientInfo | undefined),
  clientCapabilities: field<'clientCapabilities'>(
    (h) => h[kRecord]().initialize.params.capabilities as Record<string, unknown> | undefined,
  ),
  createdAt: field<'createdAt'>((h) => h[kRecord]().createdAt),
  lastActiveAt: field<'lastActiveAt'>((h) => h[kRecord]().lastActiveAt),
  requestCount: field<'requestCount'>((h) => h[kRecord]().requestCount),
  // Most handles never touch their state: it is made on first use.
  state: field<'state'>((h) => (h[kState] ??= sessionState(h[kId], h[kRuntime]))),
};

/** A session handle over a record, read live so it reflects later touches on this process. */
export function sessionHandle(sessionId: string, getRecord: () => SessionRecord, runtime: SessionRuntime): McpSession {
  const internals: HandleInternals & Pick<McpSession, 'onClose'> = {
    [kId]: sessionId,
    [kRecord]: getRecord,
    [kRuntime]: runtime,
    [kState]: undefined,
    onClose: (cleanup) => runtime.onClose(sessionId, cleanup),
  };
  return Object.defineProperties(internals, HANDLE_FIELDS) as unknown as McpSession;
}
