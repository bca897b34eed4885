/**
 * State of one scope (a session today; a state handle later) over a store keyed by scope id. Values
 * are sealed at rest by the store itself when keys are set (stores/sealed.ts).
 */
import { McpSessionError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';
import type { Clock, JsonValue, SessionState } from '../types.js';

/** The state operations of a store, keyed by the id of the scope the state belongs to. */
export type ScopedStateStore = Pick<SessionStore, 'getState' | 'setState' | 'deleteState' | 'stateKeys' | 'clearState'>;

/** What a state object needs: where values live, the clock, the limits per scope, and the log. */
export interface StateRuntime {
  readonly store: ScopedStateStore;
  readonly clock: Clock;
  readonly maxStateKeys: number;
  readonly maxStateBytes: number;
  readonly reportError: (error: unknown) => void;
  /** What the state belongs to, in error messages. Default `session`. */
  readonly owner?: 'session' | 'state handle';
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new McpSessionError('ERR_MCP_SESSION_STATE', `state keys are strings of 1 to 256 characters; got ${JSON.stringify(key)}`);
  }
}

/**
 * Runs a state operation. The errors a tool may show its client (a bad key, a limit) pass; anything
 * else (a store out of reach, a value that fails to open) is logged here and becomes a generic error,
 * so no store address, key id or decryption detail reaches a client through a tool's error text.
 */
async function guarded<T>(runtime: StateRuntime, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof McpSessionError && (error.code === 'ERR_MCP_SESSION_STATE' || error.code === 'ERR_MCP_SESSION_STATE_LIMIT')) {
      throw error;
    }
    runtime.reportError(error);
    throw new McpSessionError('ERR_MCP_SESSION_STATE', 'session state is unavailable', { cause: error });
  }
}

/** The state of the scope `scopeId`. */
export function scopedState(scopeId: string, runtime: StateRuntime): SessionState {
  const { store, clock } = runtime;
  return {
    get<T extends JsonValue>(key: string): Promise<T | undefined> {
      return guarded(runtime, async () => {
        checkKey(key);
        const stored = await store.getState(scopeId, key, clock.now());
        return stored === undefined ? undefined : (JSON.parse(stored) as T);
      });
    },
    set(key, value, options = {}) {
      return guarded(runtime, async () => {
        checkKey(key);
        const json = JSON.stringify(value);
        if (json === undefined) throw new McpSessionError('ERR_MCP_SESSION_STATE', `state "${key}": the value is not JSON`);
        const result = await store.setState(scopeId, key, json, {
          now: clock.now(),
          ttlMs: options.ttlMs,
          maxKeys: runtime.maxStateKeys,
          maxBytes: runtime.maxStateBytes,
        });
        if (result.ok) return;
        const owner = runtime.owner ?? 'session';
        if (result.reason === 'no-session') throw new McpSessionError('ERR_MCP_SESSION_STATE', `the ${owner} has ended`);
        const limit =
          result.reason === 'too-many-keys'
            ? `${runtime.maxStateKeys} keys (maxStateKeys)`
            : `${runtime.maxStateBytes} bytes (maxStateBytes)`;
        throw new McpSessionError('ERR_MCP_SESSION_STATE_LIMIT', `state "${key}" not stored: the ${owner} would exceed ${limit}`);
      });
    },
    delete(key) {
      return guarded(runtime, async () => {
        checkKey(key);
        return store.deleteState(scopeId, key);
      });
    },
    keys() {
      return guarded(runtime, async () => store.stateKeys(scopeId, clock.now()));
    },
    clear() {
      return guarded(runtime, async () => store.clearState(scopeId));
    },
  };
}
