/**
 * State handles (SEP-2567): state a tool creates and later tools address by id, for clients without
 * sessions. A handle is a record in a store of its own (the same shape and lifecycle as a session's:
 * idle and absolute deadlines, swept by the one sweeper) plus state that works as a session's does.
 * It is bound to the principal that made it: another principal's id is answered as unknown.
 */
import { randomId } from '../crypto.js';
import { McpSessionError } from '../errors.js';
import type { SessionRecord, SessionStore } from '../stores/types.js';
import type { Clock, HandlerContext, PrincipalHandles, StateHandle, StateHandles } from '../types.js';
import { requestBindingOf } from './request-binding.js';
import { type StateRuntime, scopedState } from './state.js';

/** `bsk`: a lower-case letter, then up to 15 lower-case letters or digits. */
const KIND = /^[a-z][a-z0-9]{0,15}$/;
/** A kind, `_`, and 16 random bytes in base64url. */
const HANDLE_ID = /^([a-z][a-z0-9]{0,15})_[A-Za-z0-9_-]{22}$/;
/** Marks a handle's record in its store (the field sessions keep their protocol version in). */
const HANDLE_RECORD = 'state-handle';
const DEFAULT_TTL_MS = 24 * 60 * 60_000;
/** Records taken from the store at once: bounded batches, until none is left. */
const SWEEP_BATCH = 1_000;

export interface HandleSettings {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Default idle timeout of a handle (the endpoint's `idleTimeoutMs`). */
  readonly idleTimeoutMs: number;
  readonly maxHandles: number;
  readonly maxStateKeys: number;
  readonly maxStateBytes: number;
  readonly reportError: (error: unknown) => void;
}

/** Whether `id` can be a handle id (checked before any store sees it). */
export function isHandleId(id: unknown): id is string {
  return typeof id === 'string' && HANDLE_ID.test(id);
}

function checkLifetime(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new McpSessionError('ERR_MCP_SESSION_HANDLE', `${name} must be a positive integer of milliseconds; got ${String(value)}`);
  }
}

export class StateHandleManager implements StateHandles {
  readonly #settings: HandleSettings;
  readonly #runtime: StateRuntime;

  constructor(settings: HandleSettings) {
    this.#settings = settings;
    this.#runtime = {
      store: settings.store,
      clock: settings.clock,
      maxStateKeys: settings.maxStateKeys,
      maxStateBytes: settings.maxStateBytes,
      reportError: settings.reportError,
      owner: 'state handle',
    };
  }

  for(ctx: HandlerContext): PrincipalHandles {
    return this.of(requestBindingOf(ctx, 'handles.for(ctx)').principal);
  }

  /** The handles of one principal (undefined: the anonymous principal). */
  of(principal: string | undefined): PrincipalHandles {
    return {
      create: (kind, options) => this.#create(principal, kind, options),
      get: (id) => this.#get(principal, id),
      delete: (id) => this.#delete(principal, id),
    };
  }

  /** Ends handles past their deadline (a sweep task); their state goes with them. */
  async expire(now: number): Promise<void> {
    for (;;) {
      const taken = await this.#settings.store.takeExpired(now, SWEEP_BATCH);
      if (taken.length < SWEEP_BATCH) return;
    }
  }

  async #create(principal: string | undefined, kind: string, options: { ttlMs?: number; idleTimeoutMs?: number } = {}) {
    if (typeof kind !== 'string' || !KIND.test(kind)) {
      throw new McpSessionError(
        'ERR_MCP_SESSION_HANDLE',
        `a handle kind is a lower-case letter and up to 15 letters or digits; got ${JSON.stringify(kind)}`,
      );
    }
    checkLifetime('ttlMs', options.ttlMs);
    checkLifetime('idleTimeoutMs', options.idleTimeoutMs);
    const { store, clock, maxHandles } = this.#settings;
    // A bound on memory, not an exact count: creates racing on several processes may pass it by a few.
    if ((await store.count()) >= maxHandles) {
      throw new McpSessionError('ERR_MCP_SESSION_HANDLE_LIMIT', `${maxHandles} state handles exist already (maxHandles)`);
    }
    const now = clock.now();
    const record: SessionRecord = {
      id: `${kind}_${randomId(16)}`,
      protocolVersion: HANDLE_RECORD,
      initialize: { id: 0, params: {} },
      createdAt: now,
      lastActiveAt: now,
      requestCount: 0,
      idleTimeoutMs: options.idleTimeoutMs ?? this.#settings.idleTimeoutMs,
      expiresAt: now + (options.ttlMs ?? DEFAULT_TTL_MS),
    };
    if (principal !== undefined) record.principal = principal;
    await store.create(record);
    return this.#handle(record);
  }

  async #get(principal: string | undefined, id: string): Promise<StateHandle | undefined> {
    if (!isHandleId(id)) return undefined;
    // The principal check and the mark of use are one atomic step of the store.
    const record = await this.#settings.store.touch(id, this.#settings.clock.now(), { principal, countRequest: false });
    return record === undefined || record.protocolVersion !== HANDLE_RECORD ? undefined : this.#handle(record);
  }

  async #delete(principal: string | undefined, id: string): Promise<boolean> {
    if (!isHandleId(id)) return false;
    const { store, clock } = this.#settings;
    const record = await store.get(id, clock.now());
    if (record === undefined || record.principal !== principal) return false;
    return store.delete(id);
  }

  #handle(record: SessionRecord): StateHandle {
    const state = scopedState(record.id, this.#runtime);
    return Object.freeze({
      ...state,
      id: record.id,
      kind: record.id.slice(0, record.id.indexOf('_')),
      // Set at creation: every handle has an absolute deadline.
      expiresAt: record.expiresAt ?? record.createdAt + DEFAULT_TTL_MS,
    });
  }
}
