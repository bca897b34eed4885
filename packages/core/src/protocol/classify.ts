/**
 * The era classifier of the 2026-07-28 lane: the SDK's `classifyInboundRequest`, with a shortcut for
 * the request a 2026-07-28 client sends again and again. The SDK's classifier checks the body against
 * four zod schemas (three of which fail on every request) and validates the `_meta` envelope, about
 * 5 µs a request; the shortcut decides the same in well under one for a request that:
 *
 * - is a JSON-RPC request of exactly the keys `jsonrpc` (`'2.0'`), `id` (a string or a safe integer),
 *   `method` (a string: an `initialize` with a valid 2026-07-28 envelope is modern too) and `params`
 *   (an object whose `_meta` is an object, with a `progressToken`, if any, a string or a safe integer,
 *   and no `related-task` key);
 * - claims a version this lane serves in `_meta`, and carries that version in `MCP-Protocol-Version`
 *   and its method in `Mcp-Method`;
 * - has an envelope (`_meta`) equal, as JSON, to one the SDK's classifier has already found valid.
 *
 * For such a request the SDK's classifier answers `modern` with the claimed revision; any other goes
 * to it. The envelopes remembered are bounded in count and size. The SDK's own schemas make this
 * equivalence hold (strict JSON-RPC request, loose params and `_meta`); packages/core/test/classify.test.ts
 * holds the shortcut to the SDK's answers over a grid that varies each condition, and the adapters'
 * 2026-07-28 fuzz runs through it.
 */
import { META, MODERN_PROTOCOL_VERSIONS } from './modern.js';

/** The SDK classifier's outcome, as far as the lane reads it. */
export type InboundOutcome =
  | { kind: 'legacy' }
  | { kind: 'modern'; messageKind: 'request' | 'notification'; classification: { era: string; revision?: string } }
  | { kind: 'reject'; httpStatus: number; code: number; message: string; data?: unknown };

/** The SDK's `classifyInboundRequest`. */
export type SdkClassifier = (request: {
  httpMethod: string;
  protocolVersionHeader?: string;
  mcpMethodHeader?: string;
  mcpNameHeader?: string;
  body?: unknown;
}) => InboundOutcome;

/** What the classifier is given: the POST's standard headers (without surrounding whitespace) and body. */
export interface InboundRequest {
  readonly protocolVersionHeader: string | undefined;
  readonly mcpMethodHeader: string | undefined;
  readonly mcpNameHeader: string | undefined;
  readonly body: unknown;
}

/** Envelopes remembered as valid, at most (the set starts over when full). */
const MAX_ENVELOPES = 256;
/** The longest envelope remembered, in UTF-16 units of its JSON. */
const MAX_ENVELOPE_JSON = 2048;
const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isIdOrToken = (value: unknown) => typeof value === 'string' || Number.isSafeInteger(value);

/**
 * The envelope's JSON when the request meets every condition of the shortcut but the envelope's
 * validity; undefined when the SDK must decide.
 */
function envelopeKey(request: InboundRequest): { key: string; revision: string } | undefined {
  const body = request.body;
  if (!isObject(body)) return undefined;
  for (const key of Object.keys(body)) if (!REQUEST_KEYS.has(key)) return undefined;
  const { method, params } = body;
  if (body.jsonrpc !== '2.0' || typeof method !== 'string' || !isIdOrToken(body.id)) return undefined;
  if (!isObject(params)) return undefined;
  const meta = params._meta;
  if (!isObject(meta) || RELATED_TASK in meta || ('progressToken' in meta && !isIdOrToken(meta.progressToken))) return undefined;
  const revision = meta[META.protocolVersion];
  if (typeof revision !== 'string' || !(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(revision)) return undefined;
  if (request.protocolVersionHeader !== revision || request.mcpMethodHeader !== method) return undefined;
  const key = JSON.stringify(meta);
  return key.length <= MAX_ENVELOPE_JSON ? { key, revision } : undefined;
}

export class ModernClassifier {
  readonly #sdk: SdkClassifier;
  readonly #valid = new Set<string>();

  constructor(sdk: SdkClassifier) {
    this.#sdk = sdk;
  }

  /** The SDK's outcome for a POST. */
  classify(request: InboundRequest): InboundOutcome {
    const envelope = envelopeKey(request);
    if (envelope !== undefined && this.#valid.has(envelope.key)) {
      return { kind: 'modern', messageKind: 'request', classification: { era: 'modern', revision: envelope.revision } };
    }
    const outcome = this.#sdk({ httpMethod: 'POST', ...request });
    if (envelope !== undefined && outcome.kind === 'modern' && outcome.messageKind === 'request') {
      if (this.#valid.size >= MAX_ENVELOPES) this.#valid.clear();
      this.#valid.add(envelope.key);
    }
    return outcome;
  }
}
