/**
 * `requestState` of multi round-trip requests (2026-07-28, SEP-2322), sealed with the endpoint's
 * keys. The state comes back from the client, so it is attacker-controlled: it is encrypted and
 * authenticated (AES-256-GCM, rotation by key id), bound to the principal, to a digest of the request
 * it was minted for and to an expiry, and it opens once — the first verify takes its nonce in the
 * cache store, so a replay is refused on every process that shares that store.
 */
import { createHash } from 'node:crypto';
import { type Sealer, randomId } from '../crypto.js';
import { McpSessionError } from '../errors.js';
import { stableJson } from '../protocol/stable-json.js';
import type { CacheStore } from '../stores/types.js';
import type { Clock, HandlerContext, JsonValue, Logger, RequestStateCodec } from '../types.js';
import { type RequestBinding, requestBindingOf } from './request-binding.js';

/** Bound in as associated data: a value sealed for anything else does not open as a request state. */
const SEAL_CONTEXT = 'mcp-session:request-state';
/** The params a retry adds to the request it repeats. */
const RETRY_PARAMS = ['requestState', 'inputResponses'];

export interface RequestStateSettings {
  readonly sealer: Sealer;
  /** The sealer's key is this process's own, and other processes serve the same clients: warn once. */
  readonly processKey: boolean;
  readonly cacheStore: CacheStore;
  readonly clock: Clock;
  readonly ttlMs: number;
  readonly log: Logger;
}

/** What a sealed state holds. */
interface Sealed {
  /** The payload. */
  p: JsonValue;
  /** Epoch milliseconds after which it is refused. */
  exp: number;
  /** The principal it was minted for; null: anonymous. */
  pr: string | null;
  /** The digest of the request it was minted for. */
  d: string;
  /** Taken on first use. */
  n: string;
}

/** The request a state belongs to: its method and params, without `_meta` and what a retry adds. */
function requestDigest(binding: RequestBinding): string {
  return createHash('sha256')
    .update(binding.method)
    .update('\n')
    .update(stableJson(binding.params, { omit: RETRY_PARAMS, meta: 'top' }))
    .digest('base64url');
}

const refused = (why: string) => new McpSessionError('ERR_MCP_SESSION_REQUEST_STATE', `requestState refused: ${why}`);

export class SealedRequestState implements RequestStateCodec {
  readonly #settings: RequestStateSettings;
  #warned = false;

  constructor(settings: RequestStateSettings) {
    this.#settings = settings;
  }

  async mint(payload: JsonValue, ctx: HandlerContext, options: { ttlMs?: number } = {}): Promise<string> {
    const binding = requestBindingOf(ctx, 'requestState.mint(payload, ctx)');
    if (this.#settings.processKey && !this.#warned) {
      this.#warned = true;
      this.#settings.log.warn(
        {},
        'mcp-session: requestState is sealed with a key of this process (no encryptionKeys): a retry that reaches another process is refused',
      );
    }
    const ttlMs = options.ttlMs ?? this.#settings.ttlMs;
    if (!(Number.isInteger(ttlMs) && ttlMs > 0))
      throw new TypeError(`requestState.mint: ttlMs must be a positive integer; got ${String(ttlMs)}`);
    const sealed: Sealed = {
      p: payload,
      exp: this.#settings.clock.now() + ttlMs,
      pr: binding.principal ?? null,
      d: requestDigest(binding),
      n: randomId(16),
    };
    return this.#settings.sealer.seal(JSON.stringify(sealed), SEAL_CONTEXT);
  }

  async verify(state: string, ctx: HandlerContext): Promise<JsonValue> {
    const binding = requestBindingOf(ctx, 'requestState.verify(state, ctx)');
    let sealed: Sealed;
    try {
      sealed = JSON.parse(this.#settings.sealer.open(state, SEAL_CONTEXT)) as Sealed;
    } catch {
      throw refused('it was not sealed by this server, or was changed');
    }
    const { cacheStore, clock } = this.#settings;
    const now = clock.now();
    if (!(sealed.exp > now)) throw refused('it expired');
    if (sealed.pr !== (binding.principal ?? null)) throw refused('it belongs to another principal');
    if (sealed.d !== requestDigest(binding)) throw refused('it was minted for another request');
    // The nonce outlives the state: a replay within its lifetime finds it taken.
    const uses = await cacheStore.incr(`rs:${sealed.n}`, { ttlMs: sealed.exp - now + 1_000, now });
    if (uses !== 1) throw refused('it was used already');
    return sealed.p;
  }
}
