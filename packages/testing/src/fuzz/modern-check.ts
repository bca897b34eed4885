/**
 * The check of an answer against the outcomes the 2026-07-28 oracle allows (modern-oracle.ts): the
 * status, the error body and its code, and what a success must hold (rules 8 to 11 there).
 */
import { CACHEABLE, type Expectation, type ListenFilter, META, MODERN_VERSION, type Outcome, type Success } from './modern-oracle.js';
import { errorBodyProblems, idKey, isObject, parseSse, sdkAccepts } from './oracle.js';

export interface Observed {
  status: number;
  headers: Headers;
  /** The body read (all of it, or up to where the client closed a stream); undefined when none was read. */
  text: string | undefined;
  /** The body was read to its end. */
  ended: boolean;
}

type Obj = Record<string, unknown>;

const describe = (outcome: Outcome) =>
  `${outcome.status}${outcome.codes === undefined ? '' : ` ${outcome.codes.join('|')}`} (${outcome.reason})`;

/** The problems of an answer, or none. */
export function check(expectation: Expectation, observed: Observed): string[] {
  const { status, headers } = observed;
  const retryAfter = headers.get('retry-after') !== null;
  const candidates =
    status === 503 && retryAfter
      ? [{ status, reason: 'a store out of reach' }]
      : expectation.outcomes.filter((outcome) => outcome.status === status);
  if (candidates.length === 0) {
    const allowed = expectation.outcomes.map(describe).join(', ');
    return [
      `status ${status}, allowed ${allowed || '(none)'}`,
      ...(observed.text === undefined ? [] : [`body: ${observed.text.slice(0, 300)}`]),
    ];
  }
  const sessionId = headers.get('mcp-session-id');
  const mints = candidates.some((outcome) => outcome.success?.kind === 'initialize' && outcome.success.session);
  const problems: string[] = [];
  if (sessionId !== null && !mints) problems.push(`Mcp-Session-Id on an answer that makes no session: ${sessionId}`);
  if (status >= 400) return [...problems, ...errorProblems(candidates, observed, expectation.requestIds)];
  const tried = candidates.map((outcome) => successProblems(outcome.success, observed, expectation.requestIds));
  return [...problems, ...(tried.find((each) => each.length === 0) ?? tried[0]!)];
}

function errorProblems(candidates: Outcome[], observed: Observed, requestIds: unknown[]): string[] {
  const contentType = observed.headers.get('content-type') ?? '';
  const problems = errorBodyProblems(contentType, observed.text, requestIds);
  if (problems.length > 0) return problems;
  const body = JSON.parse(observed.text!) as { error: { code: number; data?: unknown } };
  const code = body.error.code;
  if (candidates.every((outcome) => outcome.codes !== undefined)) {
    const codes = new Set(candidates.flatMap((outcome) => outcome.codes!));
    if (!codes.has(code)) problems.push(`error code ${code}, allowed ${[...codes].join('|')}: ${observed.text!.slice(0, 300)}`);
  }
  if (code === -32022) {
    const supported = isObject(body.error.data) ? body.error.data.supported : undefined;
    if (!Array.isArray(supported) || !supported.includes(MODERN_VERSION))
      problems.push(`-32022 without data.supported naming ${MODERN_VERSION}`);
  }
  const allow = candidates.find((outcome) => outcome.allow !== undefined)?.allow;
  if (allow !== undefined && observed.status === 405 && observed.headers.get('allow') !== allow) {
    problems.push(`405 with Allow ${JSON.stringify(observed.headers.get('allow'))}, not ${allow}`);
  }
  return problems;
}

function successProblems(success: Success | undefined, observed: Observed, requestIds: unknown[]): string[] {
  if (success === undefined) return [`${observed.status} where no success is allowed`];
  const { text } = observed;
  switch (success.kind) {
    case 'accepted':
      return observed.status === 202 && (text === undefined || text === '')
        ? []
        : [`${observed.status} with a body where 202 is due: ${text?.slice(0, 200)}`];
    case 'error':
      return inBandErrorProblems(success.code, observed, requestIds);
    case 'initialize':
      return initializeProblems(success.session, observed, requestIds);
    case 'answer':
      return answerProblems(success, observed, requestIds);
    case 'listen':
      return listenProblems(success.stays, success.filter, observed, requestIds[0]);
  }
}

/** The JSON-RPC messages of a JSON or SSE body; an error string when it is neither. */
export function messagesOf(observed: Observed): unknown[] | string {
  const type = observed.headers.get('content-type') ?? '';
  const text = observed.text ?? '';
  try {
    if (type.startsWith('application/json')) return [JSON.parse(text) as unknown].flat();
    if (type.startsWith('text/event-stream')) {
      return parseSse(text)
        .filter((event) => event.data !== '')
        .flatMap((event) => [JSON.parse(event.data) as unknown].flat());
    }
  } catch {
    return `a body that is not JSON: ${text.slice(0, 200)}`;
  }
  return `200 with Content-Type ${type || '(none)'}`;
}

function inBandErrorProblems(code: number, observed: Observed, requestIds: unknown[]): string[] {
  const messages = messagesOf(observed);
  if (typeof messages === 'string') return [messages];
  const [response] = messages;
  if (messages.length !== 1 || !isObject(response) || !isObject(response.error))
    return [`not one JSON-RPC error: ${observed.text?.slice(0, 200)}`];
  const problems: string[] = [];
  if (response.error.code !== code) problems.push(`in-band error code ${String(response.error.code)}, not ${code}`);
  if (idKey(response.id) !== idKey(requestIds[0])) problems.push(`in-band error for id ${JSON.stringify(response.id)}`);
  return problems;
}

function initializeProblems(session: boolean, observed: Observed, requestIds: unknown[]): string[] {
  const problems: string[] = [];
  const sessionId = observed.headers.get('mcp-session-id');
  if (session && (sessionId === null || !/^[\x21-\x7e]+$/.test(sessionId)))
    problems.push(`initialize without a usable Mcp-Session-Id: ${sessionId}`);
  const messages = messagesOf(observed);
  if (typeof messages === 'string') return [...problems, messages];
  const responses = messages.filter((message) => isObject(message) && !('method' in message)) as Obj[];
  const [response] = responses;
  if (responses.length !== 1 || idKey(response!.id) !== idKey(requestIds[0]))
    return [...problems, `not one response to initialize: ${observed.text?.slice(0, 200)}`];
  if (!isObject(response!.result) || typeof response!.result.protocolVersion !== 'string') {
    problems.push(`initialize answered without a result naming a version: ${observed.text?.slice(0, 200)}`);
  }
  return problems;
}

function answerProblems(success: Extract<Success, { kind: 'answer' }>, observed: Observed, requestIds: unknown[]): string[] {
  const messages = messagesOf(observed);
  if (typeof messages === 'string') return [messages];
  const problems: string[] = [];
  const sse = (observed.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const responses: Obj[] = [];
  for (const message of messages) {
    if (!isObject(message)) {
      problems.push(`not a JSON-RPC message: ${JSON.stringify(message)?.slice(0, 200)}`);
    } else if (!('method' in message)) {
      if (!sdkAccepts('v2', message)) problems.push(`not a valid JSON-RPC response: ${JSON.stringify(message).slice(0, 200)}`);
      responses.push(message);
    } else if (!sse) {
      problems.push(`a message in a JSON answer: ${JSON.stringify(message).slice(0, 200)}`);
    } else if (success.modern) {
      if ('id' in message) problems.push(`a JSON-RPC request on a 2026-07-28 response stream: ${String(message.method)}`);
      else if (message.method === 'notifications/message' && !success.logLevel)
        problems.push('notifications/message to a request without logLevel');
      else if (message.method === 'notifications/progress' && !success.progress)
        problems.push('notifications/progress to a request without a progressToken');
    }
  }
  const wanted = requestIds.map(idKey).sort();
  const got = responses.map((response) => idKey(response.id)).sort();
  if (wanted.join('\n') !== got.join('\n')) {
    problems.push(`response ids ${JSON.stringify(responses.map((response) => response.id))} for request ids ${JSON.stringify(requestIds)}`);
  }
  if (success.modern) {
    if (sse && observed.headers.get('x-accel-buffering') !== 'no') problems.push('a 2026-07-28 SSE answer without X-Accel-Buffering: no');
    for (const response of responses) problems.push(...modernResultProblems(success, response));
  }
  return problems;
}

function modernResultProblems(success: Extract<Success, { kind: 'answer' }>, response: Obj): string[] {
  const { method } = success;
  if (!isObject(response.result)) {
    return success.resultOnly ? [`${method} answered with an error: ${JSON.stringify(response.error).slice(0, 200)}`] : [];
  }
  const result = response.result;
  const problems: string[] = [];
  if (result.resultType !== 'complete' && result.resultType !== 'input_required') {
    problems.push(`${method} result with resultType ${JSON.stringify(result.resultType)}`);
  }
  if (result.resultType === 'input_required' && !isObject(result.inputRequests) && typeof result.requestState !== 'string') {
    problems.push(`${method} input_required without inputRequests or requestState`);
  }
  if (method !== undefined && CACHEABLE.has(method) && result.resultType === 'complete') {
    if (typeof result.ttlMs !== 'number' || !(result.ttlMs >= 0))
      problems.push(`${method} result with ttlMs ${JSON.stringify(result.ttlMs)}`);
    if (result.cacheScope !== 'public' && result.cacheScope !== 'private')
      problems.push(`${method} result with cacheScope ${JSON.stringify(result.cacheScope)}`);
  }
  const meta = isObject(result._meta) ? result._meta : undefined;
  if (!isObject(meta?.[META.serverInfo])) problems.push(`${method} result without serverInfo in _meta`);
  if (method === 'server/discover' && !(Array.isArray(result.supportedVersions) && result.supportedVersions.includes(MODERN_VERSION))) {
    problems.push(`server/discover without ${MODERN_VERSION} in supportedVersions`);
  }
  return problems;
}

/** The notification methods a listen filter lets through. */
function wanted(filter: ListenFilter, message: Obj): boolean {
  const params = isObject(message.params) ? message.params : {};
  switch (message.method) {
    case 'notifications/tools/list_changed':
      return filter.tools;
    case 'notifications/prompts/list_changed':
      return filter.prompts;
    case 'notifications/resources/list_changed':
      return filter.resources;
    case 'notifications/resources/updated':
      return typeof params.uri === 'string' && filter.uris.includes(params.uri);
    default:
      return false;
  }
}

function subscriptionOf(message: Obj): unknown {
  const holder = 'method' in message ? message.params : message.result;
  const meta = isObject(holder) && isObject(holder._meta) ? holder._meta : undefined;
  return meta?.[META.subscriptionId];
}

/** A listen stream, as far as it was read (up to its acknowledgement, or to its end). */
export function listenProblems(stays: 'open' | 'ends' | 'either', filter: ListenFilter, observed: Observed, id: unknown): string[] {
  if (!(observed.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return [`a listen answer with Content-Type ${observed.headers.get('content-type')}: ${observed.text?.slice(0, 200)}`];
  }
  const messages = messagesOf(observed);
  if (typeof messages === 'string') return [messages];
  const problems: string[] = [];
  const [first] = messages;
  if (!isObject(first) || first.method !== 'notifications/subscriptions/acknowledged') {
    problems.push(`the listen stream does not begin with its acknowledgement: ${observed.text?.slice(0, 200)}`);
  }
  for (const [index, message] of messages.entries()) {
    if (!isObject(message)) {
      problems.push(`not a JSON-RPC message: ${JSON.stringify(message)?.slice(0, 200)}`);
      continue;
    }
    if (idKey(subscriptionOf(message)) !== idKey(id))
      problems.push(`a listen message without subscription id ${JSON.stringify(id)}: ${JSON.stringify(message).slice(0, 200)}`);
    if (index === 0 || !('method' in message)) continue;
    if ('id' in message) problems.push(`a JSON-RPC request on a listen stream: ${String(message.method)}`);
    else if (!wanted(filter, message)) problems.push(`${String(message.method)} on a listen stream that did not opt into it`);
  }
  const last = messages[messages.length - 1];
  if (observed.ended) {
    if (stays === 'open') problems.push('a listen stream with something to listen to ended at once');
    if (
      !isObject(last) ||
      'method' in last ||
      idKey(last.id) !== idKey(id) ||
      !isObject(last.result) ||
      last.result.resultType !== 'complete'
    ) {
      problems.push(`a listen stream that ended without its result: ${observed.text?.slice(-200)}`);
    }
  } else if (stays === 'ends') {
    problems.push('a listen stream with nothing to listen to did not end');
  }
  return problems;
}
