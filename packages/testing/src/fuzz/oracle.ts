/**
 * The fuzz oracle: from the facts of a generated request (what its method, headers and body are), the
 * statuses SPEC.md allows for it and what the answer must contain; then the check of what came back.
 *
 * The rules, in order:
 * 1. A method other than GET, POST, DELETE: 405 (403 also, with a foreign Origin).
 * 2. A foreign Origin: 403, whatever else is wrong.
 * 3. Every other defect of the request allows its status; a "must" defect forbids success, a "may"
 *    defect does not (the endpoint may accept it or refuse it), an "answerable" one allows its status
 *    and also an answer, which the answer checks then hold to (so a message the server's SDK rejects is
 *    either refused with 400 or really answered; a request whose id the SDK cannot carry cannot be
 *    answered, so it must be refused).
 * 4. With no "must" defect, the request must succeed: a POST carrying requests 200 with one response per
 *    request, a POST of notifications and responses only 202, a GET 200 `text/event-stream`, a DELETE 200.
 * 5. 503 with Retry-After is always allowed (a store out of reach); 500 and 429 never are (no rate
 *    limit is configured), nor a transport error, nor a timeout.
 * 6. Every status >= 400 carries a JSON-RPC error body: `application/json`, `jsonrpc: "2.0"`, an
 *    integer `error.code`, a string `error.message`, and an `id` that is absent, null, or one of the
 *    POST's request ids.
 * 7. A 200 to a POST: `application/json` (an object, or for a batch an array or one object) or
 *    `text/event-stream` (read to its end); every JSON-RPC response in it is valid for the SDK (strict
 *    shape, id a string or safe integer); their ids are exactly the POST's request ids, one response
 *    per request (duplicates counted); other SSE messages are valid JSON-RPC requests or notifications.
 * 8. 202: only to a POST with no request in it (an object with a `method` and an `id`), empty body.
 * 9. `Mcp-Session-Id` on a response: the one the request named (echoed), or a new one only on a 200 to
 *    a POST of one `initialize` without a session.
 */
import * as sdkV1 from '@modelcontextprotocol/sdk/types.js';
import * as sdkV2 from '@modelcontextprotocol/server';
import type { SdkMajor } from '../fixtures/servers.js';

export type SessionKind = 'keeper' | 'victim' | 'none' | 'unknown' | 'malformed';

/** What a generated request is, as the oracle needs to know it. */
export interface Facts {
  method: string;
  /** `allowed`: same-origin or localhost; `foreign`: must be refused (SPEC rule 2). */
  origin: 'absent' | 'allowed' | 'foreign';
  /** `odd`: an Accept the endpoint may read either way (`*\/*`, upper case, `q=0`). */
  accept: 'ok' | 'bad' | 'odd';
  contentType: 'ok' | 'bad';
  session: SessionKind;
  /** The negotiated version of a keeper or victim session. */
  sessionVersion: string | undefined;
  /** `other`: a supported version other than the negotiated one; `future`: 2026-07-28. */
  versionHeader: 'match' | 'absent' | 'other' | 'unsupported' | 'future';
  /** `own`: an event id this session was sent; `foreign`: one another session was sent. */
  lastEventId: 'absent' | 'garbage' | 'unknown' | 'own' | 'foreign';
  oversized: boolean;
  /** POST only: the body as the server will see it. */
  body: BodyFacts | undefined;
}

export interface BodyFacts {
  /** `odd`: a BOM or bytes that are not UTF-8; the facts are of the text as decoded leniently. */
  decoding: 'clean' | 'odd';
  parsed: { ok: true; value: unknown } | { ok: false };
}

type Severity = 'must' | 'may' | 'answerable';

interface Defect {
  statuses: number[];
  severity: Severity;
  reason: string;
}

export type Success = 'answer' | 'accepted' | 'stream' | 'resumed' | 'deleted';

export interface Expectation {
  /** Allowed statuses, each with why. */
  allowed: Map<number, string[]>;
  /** What success looks like when it is allowed. */
  success: Success | undefined;
  /** The POST's request ids (objects with a method and an id), in order, duplicates kept. */
  requestIds: unknown[];
  /** A POST of exactly one `initialize` request without a session: may mint a session id. */
  mayCreateSession: boolean;
  batch: boolean;
}

// ---- what the SDK accepts ---------------------------------------------------------------------------

interface SdkGuards {
  isJSONRPCRequest(value: unknown): boolean;
  isJSONRPCNotification(value: unknown): boolean;
  isJSONRPCResultResponse(value: unknown): boolean;
  isJSONRPCErrorResponse(value: unknown): boolean;
}

const guards: Record<SdkMajor, SdkGuards> = { v1: sdkV1, v2: sdkV2 };

/** What the server's `Protocol` dispatches (a response, a request or a notification); anything else it drops. */
export function sdkAccepts(major: SdkMajor, message: unknown): boolean {
  const sdk = guards[major];
  return (
    sdk.isJSONRPCResultResponse(message) ||
    sdk.isJSONRPCErrorResponse(message) ||
    sdk.isJSONRPCRequest(message) ||
    sdk.isJSONRPCNotification(message)
  );
}

function isSdkResponse(major: SdkMajor, message: unknown): boolean {
  return guards[major].isJSONRPCResultResponse(message) || guards[major].isJSONRPCErrorResponse(message);
}

// ---- JSON-RPC envelope (the rules the endpoint already enforces with 400) -----------------------------

type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(value: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

/** A JSON-RPC 2.0 envelope: what http-rules already requires 400 for when broken. */
function envelopeProblem(message: unknown): string | undefined {
  if (!isObject(message)) return 'not an object';
  if (message.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  const idOk = (id: unknown) => typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (has(message, 'method')) {
    if (typeof message.method !== 'string') return 'method is not a string';
    if (has(message, 'id') && !idOk(message.id)) return 'id is not a string or a number';
    if (has(message, 'params') && !isObject(message.params)) return 'params is not an object';
    return undefined;
  }
  if (has(message, 'error')) {
    const error = message.error;
    if (!isObject(error) || typeof error.code !== 'number' || typeof error.message !== 'string') return 'malformed error';
  } else if (has(message, 'result')) {
    if (!isObject(message.result)) return 'result is not an object';
  } else {
    return 'neither method, result nor error';
  }
  if (!idOk(message.id)) return 'a response without a usable id';
  return undefined;
}

/**
 * A key that would set a prototype where a later merge copies the object: the endpoint refuses such
 * bodies with 400 wherever the key is (as Fastify's parser does by default).
 */
function hasPrototypeKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasPrototypeKey);
  if (!isObject(value)) return false;
  if (has(value, '__proto__')) return true;
  if (has(value, 'constructor') && isObject(value.constructor) && has(value.constructor, 'prototype')) return true;
  return Object.values(value).some(hasPrototypeKey);
}

/** An object with a `method` and an `id`: something that expects an answer. */
function isRequestShaped(message: unknown): message is Obj {
  return isObject(message) && has(message, 'method') && has(message, 'id');
}

/** Identity of a request id as the server sees it (after JSON.parse): `-0` and `0` are one id. */
export function idKey(id: unknown): string {
  if (typeof id === 'number') return `n:${String(id)}`;
  if (typeof id === 'string') return `s:${id}`;
  return `j:${JSON.stringify(id)}`;
}

// ---- the expectation ----------------------------------------------------------------------------------

const SUPPORTED_FOR_BATCHES = '2025-03-26';

export function expectationOf(facts: Facts, major: SdkMajor): Expectation {
  const defects: Defect[] = [];
  const must = (statuses: number[], reason: string) => defects.push({ statuses, severity: 'must', reason });
  const may = (statuses: number[], reason: string) => defects.push({ statuses, severity: 'may', reason });
  const answerable = (reason: string) => defects.push({ statuses: [400], severity: 'answerable', reason });
  const expectation: Expectation = { allowed: new Map(), success: undefined, requestIds: [], mayCreateSession: false, batch: false };
  const allow = (status: number, reason: string) => {
    const reasons = expectation.allowed.get(status) ?? [];
    reasons.push(reason);
    expectation.allowed.set(status, reasons);
  };
  allow(503, 'a store out of reach (with Retry-After)');

  const standard = facts.method === 'POST' || facts.method === 'GET' || facts.method === 'DELETE';
  if (!standard) {
    allow(405, `method ${facts.method}`);
    if (facts.origin === 'foreign') allow(403, 'foreign Origin');
    return expectation;
  }
  if (facts.origin === 'foreign') {
    allow(403, 'foreign Origin');
    return expectation;
  }

  // Headers.
  if (facts.method !== 'DELETE') {
    if (facts.accept === 'bad') must([406], 'Accept');
    if (facts.accept === 'odd') may([406], 'unusual Accept');
  } else if (facts.accept !== 'ok') {
    may([406], 'Accept on DELETE');
  }
  if (facts.method === 'POST' && facts.contentType === 'bad') must([415], 'Content-Type');
  const inSession = facts.session === 'keeper' || facts.session === 'victim';
  if (facts.versionHeader === 'unsupported') {
    if (inSession) must([400], 'unsupported MCP-Protocol-Version');
    else may([400], 'unsupported MCP-Protocol-Version');
  }
  if (facts.versionHeader === 'other') may([400], 'MCP-Protocol-Version other than negotiated');
  if (facts.versionHeader === 'future') may([400], 'MCP-Protocol-Version 2026-07-28');

  // Body and session.
  if (facts.method === 'POST') {
    if (facts.oversized) must([413], 'body over maxBodyBytes');
    const body = facts.body!;
    if (body.decoding === 'odd') may([400], 'BOM or bytes that are not UTF-8');
    if (!body.parsed.ok) must([400], 'not JSON');
    else {
      const value = body.parsed.value;
      const batch = Array.isArray(value);
      expectation.batch = batch;
      const entries: unknown[] = batch ? value : [value];
      if (entries.length === 0) must([400], 'empty batch');
      const envelope = entries.map(envelopeProblem).find((problem) => problem !== undefined);
      if (envelope !== undefined) must([400], `not JSON-RPC: ${envelope}`);
      else if (entries.some(hasPrototypeKey)) must([400], 'a __proto__ or constructor.prototype key, refused by design');
      else if (!entries.every((entry) => sdkAccepts(major, entry))) answerable('a message the SDK rejects');
      const requests = entries.filter(isRequestShaped);
      expectation.requestIds = requests.map((request) => request.id);
      const keys = expectation.requestIds.map(idKey);
      if (new Set(keys).size !== keys.length) answerable('duplicate ids in a batch');
      const initialize = requests.some((request) => request.method === 'initialize');
      if (initialize && batch) must([400], 'initialize in a batch');
      if (initialize && facts.session !== 'none') must([400], 'initialize with a session id');
      if (!initialize && facts.session === 'none') must([400], 'no Mcp-Session-Id');
      if (batch && inSession && facts.sessionVersion !== SUPPORTED_FOR_BATCHES) must([400], `batch in ${facts.sessionVersion}`);
      if (batch && facts.session === 'none') must([400], 'batch without a session');
      expectation.mayCreateSession = initialize && !batch && facts.session === 'none';
      expectation.success = requests.length > 0 ? 'answer' : 'accepted';
      // 202 for garbage would claim it was accepted: only envelope-valid messages may get it.
      if (requests.length === 0 && envelope !== undefined) expectation.success = undefined;
    }
    if (facts.lastEventId !== 'absent') may([400], 'Last-Event-ID on POST');
  } else {
    if (facts.session === 'none') must([400], 'no Mcp-Session-Id');
    if (facts.method === 'GET') {
      if (facts.lastEventId === 'garbage' || facts.lastEventId === 'unknown') must([400], 'Last-Event-ID not of this session');
      if (facts.lastEventId === 'foreign') must([400], "another session's Last-Event-ID");
      if (facts.lastEventId === 'own') may([400], 'Last-Event-ID of this session (may have expired)');
      expectation.success = facts.lastEventId === 'own' ? 'resumed' : 'stream';
    } else {
      if (facts.lastEventId !== 'absent') may([400], 'Last-Event-ID on DELETE');
      expectation.success = 'deleted';
    }
  }
  if (facts.session === 'unknown') must([404], 'unknown session');
  if (facts.session === 'malformed') must([400, 404], 'malformed session id');
  if (facts.session === 'victim') may([404], 'a session that may have been deleted');

  for (const defect of defects) for (const status of defect.statuses) allow(status, defect.reason);
  const blocked = defects.some((defect) => defect.severity === 'must');
  if (blocked || expectation.success === undefined) {
    expectation.success = undefined;
  } else {
    const status = expectation.success === 'accepted' ? 202 : 200;
    allow(status, `success (${expectation.success})`);
  }
  return expectation;
}

// ---- the check ------------------------------------------------------------------------------------

export interface Observed {
  status: number;
  headers: Headers;
  /** The whole body; undefined for a GET stream that was left open and dropped. */
  text: string | undefined;
}

export interface SseEvent {
  id?: string;
  data: string;
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith(':'));
    if (lines.length === 0) continue;
    const event: SseEvent = { data: '' };
    const data: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'id') event.id = value;
    }
    event.data = data.join('\n');
    events.push(event);
  }
  return events;
}

function describeIds(ids: unknown[]): string {
  return `[${ids.map((id) => JSON.stringify(id) ?? String(id)).join(', ')}]`;
}

/** The problems of an answer, or none. */
export function check(expectation: Expectation, observed: Observed, major: SdkMajor, method: string, sentSessionId?: string): string[] {
  const problems: string[] = [];
  const { status, headers, text } = observed;
  const contentType = headers.get('content-type') ?? '';
  const allowed = expectation.allowed.get(status);
  if (allowed === undefined || (status === 503 && headers.get('retry-after') === null)) {
    const statuses = [...expectation.allowed.keys()].filter((each) => each !== 503).join('/');
    problems.push(`status ${status}, allowed ${statuses || '(none)'}`);
  }
  const sessionId = headers.get('mcp-session-id');
  if (sessionId !== null && sessionId !== sentSessionId && !(expectation.mayCreateSession && status === 200)) {
    problems.push(`a new Mcp-Session-Id on a response that is not an initialize result: ${sessionId}`);
  }
  if (status >= 400) {
    problems.push(...errorBodyProblems(contentType, text, expectation.requestIds));
    return problems;
  }
  if (allowed === undefined) return problems;
  if (status === 202) {
    if (text !== undefined && text !== '') problems.push(`202 with a body: ${text.slice(0, 200)}`);
    return problems;
  }
  if (status !== 200) return problems;
  if (method === 'GET') {
    if (!contentType.startsWith('text/event-stream')) problems.push(`GET 200 with Content-Type ${contentType}`);
    if (text !== undefined) problems.push(...sseProblems(text, major, undefined));
    return problems;
  }
  if (method !== 'POST' || expectation.success !== 'answer') return problems;
  if (text === undefined) return [...problems, 'no body read'];
  if (contentType.startsWith('application/json')) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [...problems, `200 application/json that is not JSON: ${text.slice(0, 200)}`];
    }
    if (Array.isArray(body) && !expectation.batch) problems.push('an array answers a single message');
    const messages = Array.isArray(body) ? body : [body];
    for (const message of messages) {
      if (!isSdkResponse(major, message)) problems.push(`not a valid JSON-RPC response: ${JSON.stringify(message).slice(0, 200)}`);
    }
    problems.push(...idProblems(expectation.requestIds, messages));
  } else if (contentType.startsWith('text/event-stream')) {
    problems.push(...sseProblems(text, major, expectation.requestIds));
  } else {
    problems.push(`200 with Content-Type ${contentType}`);
  }
  return problems;
}

export function errorBodyProblems(contentType: string, text: string | undefined, requestIds: unknown[]): string[] {
  if (!contentType.startsWith('application/json')) return [`error status with Content-Type ${contentType || '(none)'}`];
  let body: unknown;
  try {
    body = JSON.parse(text ?? '');
  } catch {
    return [`error body is not JSON: ${(text ?? '').slice(0, 200)}`];
  }
  const problems: string[] = [];
  if (!isObject(body) || body.jsonrpc !== '2.0' || !isObject(body.error)) return [`not a JSON-RPC error: ${text!.slice(0, 200)}`];
  if (!Number.isInteger(body.error.code)) problems.push(`error.code ${JSON.stringify(body.error.code)}`);
  if (typeof body.error.message !== 'string') problems.push(`error.message ${JSON.stringify(body.error.message)}`);
  if (has(body, 'id') && body.id !== null && !requestIds.some((id) => idKey(id) === idKey(body.id))) {
    problems.push(`error id ${JSON.stringify(body.id)} is no request's`);
  }
  return problems;
}

/** The SSE messages: every data is JSON-RPC; the responses among them answer `requestIds` (when given). */
function sseProblems(text: string, major: SdkMajor, requestIds: unknown[] | undefined): string[] {
  const problems: string[] = [];
  const responses: unknown[] = [];
  for (const event of parseSse(text)) {
    if (event.data === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      problems.push(`SSE data that is not JSON: ${event.data.slice(0, 200)}`);
      continue;
    }
    for (const message of Array.isArray(data) ? data : [data]) {
      if (isObject(message) && !has(message, 'method')) {
        if (!isSdkResponse(major, message)) problems.push(`not a valid JSON-RPC response: ${JSON.stringify(message).slice(0, 200)}`);
        responses.push(message);
      } else if (!sdkAccepts(major, message)) {
        problems.push(`not a valid JSON-RPC message: ${JSON.stringify(message).slice(0, 200)}`);
      }
    }
  }
  if (requestIds !== undefined) problems.push(...idProblems(requestIds, responses));
  return problems;
}

/** One response per request: the multisets of ids agree. */
function idProblems(requestIds: unknown[], responses: unknown[]): string[] {
  const answered = responses.map((response) => (isObject(response) && has(response, 'id') ? response.id : undefined));
  const wanted = requestIds.map(idKey).sort();
  const got = answered.map((id) => (id === undefined ? 'absent' : idKey(id))).sort();
  if (wanted.length === got.length && wanted.every((key, index) => key === got[index])) return [];
  if (got.length < wanted.length) {
    return [`${got.length} response(s) for ${wanted.length} request(s): ids ${describeIds(answered)} for ${describeIds(requestIds)}`];
  }
  return [`response ids ${describeIds(answered)} do not match request ids ${describeIds(requestIds)}`];
}
