/**
 * The oracle of the 2026-07-28 fuzz: from the facts of a generated request (its headers as sent, its
 * body as the endpoint parses it, and what the generator knows of its `_meta` envelope) and the
 * endpoint's `legacy` mode, the outcomes SPEC.md allows ("Two protocol eras on one endpoint", "The
 * 2026-07-28 lane"); then the check of what came back.
 *
 * The rules, in order:
 * 1. A method other than GET, POST, DELETE: 405. A foreign Origin: 403, whatever else is wrong.
 * 2. GET and DELETE are legacy session operations: 405 without sessions (`stateless`, `reject`); with
 *    sessions, 400 without `Mcp-Session-Id`, 404 for one no session has.
 * 3. Every defect of a POST allows its status (406 Accept, 415 Content-Type, 413 size, 400 for a body
 *    that is not JSON-RPC or holds a `__proto__` key); with one, nothing else is allowed.
 * 4. Era: a message whose `params._meta` names a protocol version is 2026-07-28; so is one without a
 *    claim sent with a 2026-07-28-or-later `MCP-Protocol-Version` (a request then lacks its envelope:
 *    400 -32602); `initialize` stays legacy unless its envelope is valid and names a modern revision;
 *    a batch holding a claiming message is refused (400 -32600); everything else is legacy.
 * 5. 2026-07-28, each defect 400 with its code: an invalid envelope -32602; `MCP-Protocol-Version` or
 *    `Mcp-Method` that differ from the body, or are missing on a request, -32020; `Mcp-Name` missing,
 *    badly encoded or different from the body's name or URI, -32020; an `Mcp-Param-*` header of a
 *    mirrored tool argument missing or different, -32020; a version other than 2026-07-28, -32022
 *    with `data.supported` naming 2026-07-28. A notification is then accepted (202).
 * 6. A clean 2026-07-28 request: a method the revision does not define 404 -32601; a call whose
 *    handler asks for input the client did not declare 400 -32021; `subscriptions/listen` an SSE
 *    stream (or, with `notifications` that is not an object, a JSON-RPC error on 200); everything
 *    else 200 with its response.
 * 7. Legacy, by mode: `sessions` needs a session (400 without, 404 for an unknown one) except for
 *    `initialize`, which makes one; `stateless` answers every request alone (batches only at
 *    2025-03-26, an unsupported version header 400) and makes no session; `reject` answers a request
 *    400 -32022, a notification 202, a batch or a posted response 400.
 * 8. 503 with Retry-After is always allowed (a store out of reach); 500, 429, a transport error and
 *    a timeout never are.
 * 9. Every status >= 400 carries a JSON-RPC error body (the legacy oracle's rule), with the code the
 *    rule names when it names one.
 * 10. A 200 answer: exactly one response per request id, valid for the SDK; a 2026-07-28 result
 *    carries `resultType` and names the server in `_meta`, and a complete result of a cacheable
 *    method `ttlMs` and `cacheScope`; an SSE answer sends `X-Accel-Buffering: no` and carries no
 *    JSON-RPC request, `notifications/message` only when the request set `logLevel` and
 *    `notifications/progress` only when it set a `progressToken`. No answer of the 2026-07-28 lane
 *    nor of `stateless` mode carries `Mcp-Session-Id`.
 * 11. A listen stream: the first message is `notifications/subscriptions/acknowledged`, every message
 *    carries the subscription id (the request's id), only notification types the client opted into;
 *    a stream with nothing to listen to ends with the request's result.
 */
import { type BodyFacts, isObject, sdkAccepts } from './oracle.js';

export type LegacyMode = 'sessions' | 'stateless' | 'reject';
export type Capability = 'elicitation' | 'sampling' | 'roots';

export const MODERN_VERSION = '2026-07-28';
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

/** The `_meta` keys of the per-request envelope, and those of results and listen messages. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** The request methods of the 2026-07-28 revision; any other is not found there. */
export const MODERN_METHODS: ReadonlySet<string> = new Set([
  'server/discover',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'completion/complete',
  'subscriptions/listen',
]);

/** Complete results of these carry the caching hints (`ttlMs`, `cacheScope`). */
export const CACHEABLE: ReadonlySet<string> = new Set([
  'server/discover',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

/** The body field each name-carrying method mirrors in `Mcp-Name`. */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** The fixture's tool whose `region` argument is mirrored in `Mcp-Param-Region`. */
export const HEADER_TOOL = 'test_x_mcp_header';

/**
 * What the conformance fixture's handlers ask input for on a first call (no answers, no state):
 * the capabilities each needs (all of them). `test_input_required_result_capabilities` asks only
 * for what was declared, so it needs nothing.
 */
export const ASKS: Readonly<Record<string, readonly Capability[]>> = {
  'tools/call test_input_required_result_elicitation': ['elicitation'],
  'tools/call test_input_required_result_sampling': ['sampling'],
  'tools/call test_input_required_result_list_roots': ['roots'],
  'tools/call test_input_required_result_request_state': ['elicitation'],
  'tools/call test_input_required_result_multiple_inputs': ['elicitation', 'sampling', 'roots'],
  'tools/call test_input_required_result_multi_round': ['elicitation'],
  'tools/call test_input_required_result_tampered_state': ['elicitation'],
  'tools/call test_missing_capability': ['sampling'],
  'prompts/get test_input_required_result_prompt': ['elicitation'],
};

/** What a generated request is, as the oracle needs to know it. */
export interface ModernFacts {
  method: string;
  origin: 'absent' | 'allowed' | 'foreign';
  accept: 'ok' | 'bad';
  contentType: 'ok' | 'bad';
  oversized: boolean;
  /** The headers as sent (lower-case names). */
  headers: Readonly<Record<string, string>>;
  /** POST only: the body as the endpoint will parse it. */
  body: BodyFacts | undefined;
  /**
   * The `_meta` envelope of a single message that claims a version: `valid`, or `invalid` for one the
   * envelope schema refuses (a required key missing, a key of the wrong type); `none` without a claim.
   */
  envelope: 'valid' | 'invalid' | 'none';
  /** `junk`: the call carries `inputResponses` or `requestState` the handler's reaction to cannot be foretold. */
  retry: 'none' | 'junk';
}

/** What a 200 or 202 must look like. */
export type Success =
  | { kind: 'accepted' }
  /** One response per request id; `modern` holds 2026-07-28 results to its rules. */
  | { kind: 'answer'; modern: boolean; method: string | undefined; logLevel: boolean; progress: boolean; resultOnly: boolean }
  /** A legacy `initialize` result; `session`: with a new `Mcp-Session-Id` (sessions mode) or none. */
  | { kind: 'initialize'; session: boolean }
  /** A JSON-RPC error on 200 (a refused subscription). */
  | { kind: 'error'; code: number }
  /** A listen stream: `open` stays open, `ends` ends with its result at once, `either` may do both. */
  | { kind: 'listen'; stays: 'open' | 'ends' | 'either'; filter: ListenFilter };

export interface ListenFilter {
  tools: boolean;
  prompts: boolean;
  resources: boolean;
  uris: string[];
}

/** One allowed outcome: a status, the error codes its body may carry, or what success looks like. */
export interface Outcome {
  status: number;
  reason: string;
  /** For an error status: the JSON-RPC codes allowed (any integer when absent). */
  codes?: readonly number[];
  success?: Success;
  /** 405 must name its methods in `Allow`. */
  allow?: string;
}

export interface Expectation {
  outcomes: Outcome[];
  /** The request ids of the POST (messages with a method and an id), in order. */
  requestIds: unknown[];
  /** A response must not carry `Mcp-Session-Id` (2026-07-28, or legacy without sessions). */
  sessionless: boolean;
}

const INVALID_PARAMS = -32602;
const HEADER_MISMATCH = -32020;
const MISSING_CAPABILITY = -32021;
const UNSUPPORTED_VERSION = -32022;
const METHOD_NOT_FOUND = -32601;
const INVALID_REQUEST = -32600;
const PARSE_ERROR = -32700;

type Obj = Record<string, unknown>;

function has(value: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

function paramsOf(message: Obj): Obj | undefined {
  return isObject(message.params) ? message.params : undefined;
}

function metaOf(message: Obj): Obj | undefined {
  const meta = paramsOf(message)?._meta;
  return isObject(meta) ? meta : undefined;
}

/** A message with a method whose `_meta` holds the protocol-version key: it claims the envelope. */
export function claims(message: unknown): boolean {
  if (!isObject(message) || typeof message.method !== 'string') return false;
  const meta = metaOf(message);
  return meta !== undefined && has(meta, META.protocolVersion);
}

/** An `=?base64?…?=` header value decoded, the value itself when it is not one, undefined when badly encoded. */
export function decodeSentinel(value: string): string | undefined {
  const match = /^=\?base64\?(.*)\?=$/s.exec(value);
  if (match === null) return value;
  const encoded = match[1]!;
  const bytes = Buffer.from(encoded, 'base64');
  // Canonical only: what decodes must encode back to the very same text.
  if (bytes.toString('base64') !== encoded) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** How the endpoint reads a header: its first value, HTTP's optional whitespace trimmed. */
function header(facts: ModernFacts, name: string): string | undefined {
  const value = facts.headers[name];
  return value === undefined ? undefined : value.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A revision date from 2026-07-28 on (the SDK's rule, for values that are dates at all). */
function namesModern(version: string): 'yes' | 'no' | 'unclear' {
  if (/^\d{4}-\d{2}-\d{2}$/.test(version)) return version >= MODERN_VERSION ? 'yes' : 'no';
  // Not a date: whether a reading compares it as text (the SDK's) or refuses it (the entry's) is open.
  return version >= MODERN_VERSION ? 'unclear' : 'no';
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)))
    return String(value);
  return undefined;
}

const refused = (status: number, reason: string, codes?: readonly number[]): Outcome => ({ status, reason, codes });

// ---- the expectation ----------------------------------------------------------------------------------

export function expectationOf(facts: ModernFacts, mode: LegacyMode): Expectation {
  const expectation: Expectation = { outcomes: [], requestIds: [], sessionless: mode !== 'sessions' };
  const standard = facts.method === 'POST' || facts.method === 'GET' || facts.method === 'DELETE';
  const sessionsAllow = 'GET, POST, DELETE';
  if (!standard) {
    expectation.outcomes.push({ status: 405, reason: `method ${facts.method}`, allow: mode === 'sessions' ? sessionsAllow : 'POST' });
    if (facts.origin === 'foreign') expectation.outcomes.push(refused(403, 'foreign Origin'));
    return expectation;
  }
  if (facts.origin === 'foreign') {
    expectation.outcomes.push(refused(403, 'foreign Origin'));
    return expectation;
  }
  if (facts.method !== 'POST') {
    expectation.outcomes.push(...sessionOperation(facts, mode));
    return expectation;
  }

  const defects: Outcome[] = [];
  const may: Outcome[] = [];
  if (facts.accept === 'bad') defects.push(refused(406, 'Accept'));
  if (facts.contentType === 'bad') defects.push(refused(415, 'Content-Type'));
  if (facts.oversized) defects.push(refused(413, 'body over maxBodyBytes'));
  const body = facts.body!;
  if (body.decoding === 'odd') may.push(refused(400, 'BOM or bytes that are not UTF-8'));
  if (!body.parsed.ok) {
    defects.push(refused(400, 'not JSON', [PARSE_ERROR, INVALID_REQUEST]));
    expectation.outcomes.push(...defects, ...may);
    return expectation;
  }
  const value = body.parsed.value;
  const batch = Array.isArray(value);
  const entries: unknown[] = batch ? value : [value];
  expectation.requestIds = entries
    .filter((entry) => isObject(entry) && has(entry, 'method') && has(entry, 'id'))
    .map((entry) => (entry as Obj).id);
  const malformed = malformedReason(entries);
  if (malformed !== undefined) defects.push(refused(400, malformed));
  else if (!entries.every((entry) => sdkAccepts('v2', entry))) may.push(refused(400, 'a message the SDK rejects'));
  if (defects.length > 0) {
    expectation.outcomes.push(...defects, ...may);
    return expectation;
  }
  const routed = route(facts, entries, batch, mode);
  expectation.sessionless ||= routed.modern;
  expectation.outcomes.push(...routed.outcomes, ...may);
  return expectation;
}

/** GET and DELETE: legacy session operations. */
function sessionOperation(facts: ModernFacts, mode: LegacyMode): Outcome[] {
  if (mode !== 'sessions') {
    const outcomes: Outcome[] = [{ status: 405, reason: `${facts.method} without sessions`, allow: 'POST' }];
    if (facts.method === 'GET' && facts.accept === 'bad') outcomes.push(refused(406, 'Accept'));
    return outcomes;
  }
  const outcomes: Outcome[] = [];
  if (facts.method === 'GET' && facts.accept === 'bad') outcomes.push(refused(406, 'Accept'));
  outcomes.push(...withoutSession(facts));
  return outcomes;
}

/** A legacy request in sessions mode without a session of its own: 400, or 404 for an id no session has. */
function withoutSession(facts: ModernFacts): Outcome[] {
  if (facts.headers['mcp-session-id'] === undefined) return [refused(400, 'no Mcp-Session-Id')];
  const outcomes = [refused(404, 'a session no one has')];
  const version = header(facts, 'mcp-protocol-version');
  if (version !== undefined && !(LEGACY_VERSIONS as readonly string[]).includes(version))
    outcomes.push(refused(400, 'unsupported MCP-Protocol-Version'));
  return outcomes;
}

/** Why the endpoint refuses the body before any lane (400): not JSON-RPC, or a prototype key. */
function malformedReason(entries: unknown[]): string | undefined {
  if (entries.length === 0) return 'empty batch';
  for (const entry of entries) {
    if (!isObject(entry)) return 'not an object';
    if (entry.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
    if (hasPrototypeKey(entry)) return 'a __proto__ key, refused by design';
    if (has(entry, 'method')) {
      if (typeof entry.method !== 'string') return 'method is not a string';
      if (has(entry, 'id') && !(typeof entry.id === 'string' || (typeof entry.id === 'number' && Number.isSafeInteger(entry.id)))) {
        return 'an id the SDK cannot carry';
      }
      if (has(entry, 'params')) {
        if (!isObject(entry.params)) return 'params is not an object';
        if (has(entry.params, '_meta') && !isObject(entry.params._meta)) return '_meta is not an object';
      }
    } else if (!has(entry, 'result') && !has(entry, 'error')) {
      return 'neither method, result nor error';
    }
  }
  return undefined;
}

function hasPrototypeKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasPrototypeKey);
  if (!isObject(value)) return false;
  if (has(value, '__proto__')) return true;
  return Object.values(value).some(hasPrototypeKey);
}

interface Routed {
  outcomes: Outcome[];
  /** Served (or refused) by the 2026-07-28 lane. */
  modern: boolean;
}

/** The era of a POST, and what each era's rules allow for it. */
function route(facts: ModernFacts, entries: unknown[], batch: boolean, mode: LegacyMode): Routed {
  if (batch) {
    if (entries.some(claims)) return { modern: true, outcomes: [refused(400, 'a batch holding a 2026-07-28 message', [INVALID_REQUEST])] };
    return { modern: false, outcomes: legacy(facts, entries, batch, mode) };
  }
  const message = entries[0] as Obj;
  if (typeof message.method !== 'string') return { modern: false, outcomes: legacy(facts, entries, batch, mode) };
  const version = header(facts, 'mcp-protocol-version');
  const modernHeader = version === undefined ? 'no' : namesModern(version);
  if (claims(message)) {
    const claim = metaOf(message)![META.protocolVersion];
    const validModern = facts.envelope === 'valid' && typeof claim === 'string' && claim >= MODERN_VERSION;
    if (message.method !== 'initialize' || validModern) return { modern: true, outcomes: modern(facts, message) };
  }
  const request = has(message, 'id');
  const onModernHeader = (): Outcome[] => {
    if (message.method === 'initialize') return [refused(400, 'initialize with a 2026-07-28 MCP-Protocol-Version', [HEADER_MISMATCH])];
    if (request) {
      return [refused(400, 'a 2026-07-28 MCP-Protocol-Version on a request without its envelope', [INVALID_PARAMS, UNSUPPORTED_VERSION])];
    }
    return modern(facts, message);
  };
  if (modernHeader === 'yes') return { modern: true, outcomes: onModernHeader() };
  const legacyOutcomes = legacy(facts, entries, batch, mode);
  if (modernHeader === 'unclear') return { modern: false, outcomes: [...onModernHeader(), ...legacyOutcomes] };
  return { modern: false, outcomes: legacyOutcomes };
}

// ---- 2026-07-28 ---------------------------------------------------------------------------------------

/** The envelope and header rules, then what the method makes of a clean request. */
function modern(facts: ModernFacts, message: Obj): Outcome[] {
  const defects: Outcome[] = [];
  const method = message.method as string;
  const request = has(message, 'id');
  const claimed = claims(message);
  const claim = claimed ? metaOf(message)![META.protocolVersion] : undefined;
  const version = header(facts, 'mcp-protocol-version');
  const methodHeader = header(facts, 'mcp-method');
  if (claimed && facts.envelope === 'invalid') {
    // A notification's envelope is only read for its version: the rest of it may pass unread.
    if (request || typeof claim !== 'string') defects.push(refused(400, 'invalid _meta envelope', [INVALID_PARAMS]));
  }
  if (typeof claim === 'string' && version !== undefined && version !== claim) {
    defects.push(refused(400, 'MCP-Protocol-Version differs from the envelope', [HEADER_MISMATCH]));
  }
  if (methodHeader !== undefined && methodHeader !== method)
    defects.push(refused(400, 'Mcp-Method differs from the body', [HEADER_MISMATCH]));
  const revision = typeof claim === 'string' ? claim : claimed ? undefined : version;
  if (revision !== undefined && revision !== MODERN_VERSION) {
    defects.push(refused(400, `unsupported version ${JSON.stringify(revision.slice(0, 40))}`, [UNSUPPORTED_VERSION]));
  }
  if (request) {
    if (version === undefined) defects.push(refused(400, 'no MCP-Protocol-Version', [HEADER_MISMATCH]));
    if (methodHeader === undefined) defects.push(refused(400, 'no Mcp-Method', [HEADER_MISMATCH]));
    const name = nameProblem(facts, message);
    if (name !== undefined) defects.push(refused(400, name, [HEADER_MISMATCH]));
    const param = paramProblem(facts, message);
    if (param !== undefined) defects.push(refused(400, param, [HEADER_MISMATCH]));
  }
  if (defects.length > 0) return defects;
  if (!request) return [{ status: 202, reason: 'a 2026-07-28 notification', success: { kind: 'accepted' } }];
  return methodOutcomes(facts, message);
}

function nameProblem(facts: ModernFacts, message: Obj): string | undefined {
  const method = message.method as string;
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method]! : undefined;
  if (field === undefined) return undefined;
  const raw = paramsOf(message)?.[field];
  const bodyValue = typeof raw === 'string' ? raw : undefined;
  const name = header(facts, 'mcp-name');
  if (name === undefined) return bodyValue === undefined ? undefined : `no Mcp-Name for params.${field}`;
  const decoded = decodeSentinel(name);
  if (decoded === undefined) return 'Mcp-Name badly encoded';
  if (bodyValue !== undefined && decoded !== bodyValue) return `Mcp-Name differs from params.${field}`;
  return undefined;
}

function paramProblem(facts: ModernFacts, message: Obj): string | undefined {
  const params = paramsOf(message);
  if (message.method !== 'tools/call' || params?.name !== HEADER_TOOL) return undefined;
  const args = params.arguments;
  const text = primitiveText(isObject(args) ? args.region : undefined);
  if (text === undefined) return undefined;
  const value = header(facts, 'mcp-param-region');
  if (value === undefined) return 'no Mcp-Param-Region for arguments.region';
  const decoded = decodeSentinel(value);
  if (decoded === undefined) return 'Mcp-Param-Region badly encoded';
  if (decoded !== text) return 'Mcp-Param-Region differs from arguments.region';
  return undefined;
}

function declaredCapabilities(message: Obj): Set<string> {
  const declared = metaOf(message)?.[META.clientCapabilities];
  return new Set(isObject(declared) ? Object.keys(declared).filter((key) => declared[key] !== undefined) : []);
}

function methodOutcomes(facts: ModernFacts, message: Obj): Outcome[] {
  const method = message.method as string;
  const params = paramsOf(message);
  if (!MODERN_METHODS.has(method)) return [refused(404, `${method} is no 2026-07-28 method`, [METHOD_NOT_FOUND])];
  if (method === 'subscriptions/listen') {
    const notifications = params?.notifications;
    if (!isObject(notifications)) {
      return [
        { status: 200, reason: 'subscriptions/listen without a notifications object', success: { kind: 'error', code: INVALID_PARAMS } },
      ];
    }
    const filter = listenFilter(notifications);
    return [{ status: 200, reason: 'subscriptions/listen', success: { kind: 'listen', stays: filter.stays, filter: filter.filter } }];
  }
  const meta = metaOf(message);
  const success: Success = {
    kind: 'answer',
    modern: true,
    method,
    logLevel: meta !== undefined && has(meta, META.logLevel),
    progress: meta !== undefined && has(meta, 'progressToken'),
    resultOnly: CACHEABLE.has(method) && method !== 'resources/read',
  };
  const answered: Outcome = { status: 200, reason: `${method} answered`, success };
  const asks = typeof params?.name === 'string' ? ASKS[`${method} ${params.name}`] : undefined;
  // Arguments that are no object are refused (in-band, -32602) before the handler could ask anything.
  if (asks === undefined || (params !== undefined && has(params, 'arguments') && !isObject(params.arguments))) return [answered];
  const declared = declaredCapabilities(message);
  const missing = asks.filter((capability) => !declared.has(capability));
  if (missing.length === 0) return [answered];
  const capability = refused(400, `the handler asks for ${missing.join(', ')}, not declared`, [MISSING_CAPABILITY]);
  // Answers or state of its own may spare the handler its question, or be refused before it runs.
  return facts.retry === 'junk' ? [answered, capability] : [capability];
}

/** What the fixture (every list and subscription capability declared) honours of a listen request. */
function listenFilter(requested: Obj): { stays: 'open' | 'ends' | 'either'; filter: ListenFilter } {
  const filter: ListenFilter = {
    tools: requested.toolsListChanged === true,
    prompts: requested.promptsListChanged === true,
    resources: requested.resourcesListChanged === true,
    uris: [],
  };
  const uris = requested.resourceSubscriptions;
  let unclear = false;
  if (Array.isArray(uris) && uris.length > 0) {
    filter.uris = uris.filter((uri): uri is string => typeof uri === 'string');
    // Only URIs that are no strings: a subscription to nothing, which may stay open or end.
    if (filter.uris.length === 0) unclear = true;
  }
  const some = filter.tools || filter.prompts || filter.resources || filter.uris.length > 0;
  return { stays: some ? 'open' : unclear ? 'either' : 'ends', filter };
}

// ---- legacy -------------------------------------------------------------------------------------------

function legacy(facts: ModernFacts, entries: unknown[], batch: boolean, mode: LegacyMode): Outcome[] {
  const messages = entries as Obj[];
  const requests = messages.filter((message) => has(message, 'method') && has(message, 'id'));
  const initialize = requests.some((message) => message.method === 'initialize');
  const sessionId = facts.headers['mcp-session-id'];
  const invalid = (reason: string) => refused(400, reason);
  const answer: Success = { kind: 'answer', modern: false, method: undefined, logLevel: true, progress: true, resultOnly: false };
  switch (mode) {
    case 'sessions':
      if (initialize) {
        if (batch) return [invalid('initialize in a batch')];
        if (sessionId !== undefined) return [invalid('initialize with a session id')];
        return [{ status: 200, reason: 'initialize', success: { kind: 'initialize', session: true } }];
      }
      return withoutSession(facts);
    case 'stateless': {
      if (initialize) {
        if (batch) return [invalid('initialize in a batch')];
        return [{ status: 200, reason: 'initialize without a session', success: { kind: 'initialize', session: false } }];
      }
      const version = header(facts, 'mcp-protocol-version');
      if (version !== undefined && !(LEGACY_VERSIONS as readonly string[]).includes(version))
        return [invalid('unsupported MCP-Protocol-Version')];
      if (batch && (version ?? '2025-03-26') !== '2025-03-26') return [invalid(`a batch at ${version}`)];
      if (requests.length === 0) return [{ status: 202, reason: 'notifications and responses only', success: { kind: 'accepted' } }];
      return [{ status: 200, reason: 'served without a session', success: answer }];
    }
    case 'reject': {
      if (batch) return [refused(400, 'a batch', [INVALID_REQUEST])];
      const message = messages[0]!;
      if (!has(message, 'method')) return [refused(400, 'a posted response', [INVALID_REQUEST])];
      if (!has(message, 'id')) return [{ status: 202, reason: 'a legacy notification, dropped', success: { kind: 'accepted' } }];
      return [refused(400, 'a legacy request', [UNSUPPORTED_VERSION])];
    }
  }
}
