/**
 * State of one scope (a session today; a state handle later) over a store keyed by scope id,
 * sealed at rest when keys are set.
 */
import type { StateSealer } from '../crypto.js';
import { McpSessionError } from '../errors.js';
import type { SessionStore } from '../stores/types.js';
import type { Clock, JsonValue, SessionState } from '../types.js';

/** The state operations of a store, keyed by the id of the scope the state belongs to. */
export type ScopedStateStore = Pick<SessionStore, 'getState' | 'setState' | 'deleteState' | 'stateKeys' | 'clearState'>;

/** What a state object needs: where values live, the clock, the sealer and the limits per scope. */
export interface StateRuntime {
  readonly store: ScopedStateStore;
  readonly clock: Clock;
  readonly sealer: StateSealer | undefined;
  readonly maxStateKeys: number;
  readonly maxStateBytes: number;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new McpSessionError('ERR_MCP_SESSION_STATE', `state keys are strings of 1 to 256 characters; got ${JSON.stringify(key)}`);
  }
}

/** The state of the scope `scopeId`; a sealed value is bound to that scope and key. */
export function scopedState(scopeId: string, runtime: StateRuntime): SessionState {
  const { store, clock, sealer } = runtime;
  return {
    async get<T extends JsonValue>(key: string): Promise<T | undefined> {
      checkKey(key);
      const stored = await store.getState(scopeId, key, clock.now());
      if (stored === undefined) return undefined;
      return JSON.parse(sealer === undefined ? stored : sealer.open(stored, `${scopeId}\n${key}`)) as T;
    },
    async set(key, value, options = {}) {
      checkKey(key);
      const json = JSON.stringify(value);
      if (json === undefined) throw new McpSessionError('ERR_MCP_SESSION_STATE', `state "${key}": the value is not JSON`);
      const stored = sealer === undefined ? json : sealer.seal(json, `${scopeId}\n${key}`);
      const result = await store.setState(scopeId, key, stored, {
        now: clock.now(),
        ttlMs: options.ttlMs,
        maxKeys: runtime.maxStateKeys,
        maxBytes: runtime.maxStateBytes,
      });
      if (result.ok) return;
      if (result.reason === 'no-session') throw new McpSessionError('ERR_MCP_SESSION_STATE', `session ${scopeId} has ended`);
      const limit =
        result.reason === 'too-many-keys'
          ? `${runtime.maxStateKeys} keys (maxStateKeys)`
          : `${runtime.maxStateBytes} bytes (maxStateBytes)`;
      throw new McpSessionError('ERR_MCP_SESSION_STATE_LIMIT', `state "${key}" not stored: the session would exceed ${limit}`);
    },
    async delete(key) {
      checkKey(key);
      return store.deleteState(scopeId, key);
    },
    async keys() {
      return store.stateKeys(scopeId, clock.now());
    },
    async clear() {
      await store.clearState(scopeId);
    },
  };
}
