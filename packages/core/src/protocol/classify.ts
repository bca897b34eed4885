/**
 * The era classifier of the 2026-07-28 lane: the SDK's `classifyInboundRequest`, with a shortcut for
 * the request a 2026-07-28 client sends again and again. The SDK's classifier checks the body against
 * four zod schemas (three of which fail on every request) and validates the `_meta` envelope, about
 * 5 µs a request; the shortcut decides the same in well under one for a request that:
 *
 * - passed the entry's envelope check (`invalidMessageReason` in jsonrpc.ts, the SDK's JSON-RPC
 *   message schema: exact keys, id, method, params and `_meta` shapes), as every message the lane
 *   sees has, and is a single request (not a batch, not a notification);
 * - claims a version this lane serves in `_meta`, and carries that version in `MCP-Protocol-Version`
 *   and its method in `Mcp-Method`;
 * - has an envelope (`_meta`) equal, as JSON, to one the SDK's classifier has already found valid.
 *
 * For such a request the SDK's classifier answers `modern` with the claimed revision (an `initialize`
 * with a valid 2026-07-28 envelope is modern too); any other goes to it. The envelopes remembered are
 * bounded in count and size. packages/core/test/classify.test.ts holds the shortcut to the SDK's
 * answers over a grid that varies each condition, and the adapters' 2026-07-28 fuzz runs through it.
 */
import { type JSONRPCMessage, isRequest } from './jsonrpc.js';
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

/**
 * What the classifier is given: the POST's standard headers (without surrounding whitespace) and its
 * body, every message of which passed the entry's envelope check.
 */
export interface InboundRequest {
  readonly protocolVersionHeader: string | undefined;
  readonly mcpMethodHeader: string | undefined;
  readonly mcpNameHeader: string | undefined;
  readonly body: JSONRPCMessage | JSONRPCMessage[];
}

/** Envelopes remembered as valid, at most (the set starts over when full). */
const MAX_ENVELOPES = 256;
/** The longest envelope remembered, in UTF-16 units of its JSON. */
const MAX_ENVELOPE_JSON = 2048;

/**
 * The envelope's JSON when the request meets every condition of the shortcut but the envelope's
 * validity; undefined when the SDK must decide.
 */
function envelopeKey(request: InboundRequest): { key: string; revision: string } | undefined {
  const body = request.body;
  if (Array.isArray(body) || !isRequest(body)) return undefined;
  // An object when present (the envelope check saw to it).
  const meta = body.params?._meta as Record<string, unknown> | undefined;
  const revision = meta?.[META.protocolVersion];
  if (typeof revision !== 'string' || !(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(revision)) return undefined;
  if (request.protocolVersionHeader !== revision || request.mcpMethodHeader !== body.method) return undefined;
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
