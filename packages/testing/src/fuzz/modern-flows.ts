/**
 * The sequences of the 2026-07-28 fuzz that depend on what the server answered: a multi round-trip
 * call played round after round (its `requestState` tampered with or replayed on purpose), and a
 * `subscriptions/listen` stream that must hear the change a later call announces. Also the reading
 * of a response body piece by piece, for SSE streams that stay open.
 */
import { modernHeaders } from '../listen.js';
import { type Observed, check, listenProblems, messagesOf } from './modern-check.js';
import { type Expectation, type ListenFilter, META, MODERN_VERSION } from './modern-oracle.js';
import type { Flow } from './modern-generate.js';
import { isObject, parseSse } from './oracle.js';

type Obj = Record<string, unknown>;

/** A response body read as far as needed: a stream that stays open is read up to what the check needs. */
export class BodyReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #decoder = new TextDecoder();
  text = '';
  ended = false;

  constructor(res: Response) {
    this.#reader = res.body?.getReader();
    if (this.#reader === undefined) this.ended = true;
  }

  /** Reads until `done(text)` holds or the body ends. */
  async until(done: (text: string) => boolean): Promise<void> {
    while (!this.ended && !done(this.text)) {
      const { value, done: end } = await this.#reader!.read();
      if (end) {
        this.text += this.#decoder.decode();
        this.ended = true;
      } else {
        this.text += this.#decoder.decode(value, { stream: true });
      }
    }
  }

  /** The events read whole so far (an event is whole once the blank line after it came). */
  get whole(): string {
    if (this.ended) return this.text;
    const end = Math.max(this.text.lastIndexOf('\n\n'), this.text.lastIndexOf('\r\n\r\n'));
    return end === -1 ? '' : this.text.slice(0, end + 2);
  }

  async cancel(): Promise<void> {
    if (!this.ended) await this.#reader?.cancel().catch(() => undefined);
  }
}

/** The messages of the whole SSE events of `text` (JSON that does not parse is skipped: the check reports it). */
export function sseMessages(text: string): Obj[] {
  const messages: Obj[] = [];
  for (const event of parseSse(text)) {
    if (event.data === '') continue;
    try {
      const data = JSON.parse(event.data) as unknown;
      if (isObject(data)) messages.push(data);
    } catch {
      // Reported by the check.
    }
  }
  return messages;
}

export interface FlowRun {
  url: string;
  signal: AbortSignal;
  nextId(): number;
}

export interface FlowOutcome {
  problems: string[];
  /** What came back, for the tally. */
  seen: string;
}

const ALL_CAPABILITIES = { elicitation: {}, sampling: {}, roots: {} };

function envelope(): Obj {
  return {
    [META.protocolVersion]: MODERN_VERSION,
    [META.clientCapabilities]: ALL_CAPABILITIES,
    [META.clientInfo]: { name: 'fuzz-flow', version: '1.0.0' },
  };
}

/** The headers a correct 2026-07-28 client sends. */
function headersFor(method: string, name?: string): Record<string, string> {
  return modernHeaders(method, name === undefined ? {} : { 'mcp-name': name });
}

async function post(run: FlowRun, body: Obj, headers: Record<string, string>): Promise<Observed> {
  const res = await fetch(run.url, { method: 'POST', headers, body: JSON.stringify(body), signal: run.signal });
  return { status: res.status, headers: res.headers, text: await res.text(), ended: true };
}

/** A 200 answer of a clean 2026-07-28 request, as the oracle holds it. */
function answered(method: string, id: number): Expectation {
  return {
    outcomes: [
      {
        status: 200,
        reason: `${method} answered`,
        success: { kind: 'answer', modern: true, method, logLevel: false, progress: false, resultOnly: false },
      },
    ],
    requestIds: [id],
    sessionless: true,
  };
}

/** The one response of a checked answer. */
function responseOf(observed: Observed): Obj | undefined {
  const messages = messagesOf(observed);
  if (typeof messages === 'string') return undefined;
  return messages.find((message): message is Obj => isObject(message) && !('method' in message));
}

/** Answers every input request the way a willing client would. */
function answersFor(inputRequests: unknown): Obj {
  const answers: Obj = {};
  if (!isObject(inputRequests)) return answers;
  for (const [key, request] of Object.entries(inputRequests)) {
    if (!isObject(request)) continue;
    if (request.method === 'elicitation/create') {
      const schema = isObject(request.params) ? request.params.requestedSchema : undefined;
      const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
      const content: Obj = {};
      for (const [field, property] of Object.entries(properties))
        content[field] = isObject(property) && property.type === 'boolean' ? true : 'fuzz';
      answers[key] = { action: 'accept', content };
    } else if (request.method === 'sampling/createMessage') {
      answers[key] = { role: 'assistant', content: { type: 'text', text: 'pong' }, model: 'fuzz' };
    } else if (request.method === 'roots/list') {
      answers[key] = { roots: [{ uri: 'file:///fuzz', name: 'fuzz' }] };
    }
  }
  return answers;
}

/** Changes one character in the middle of a sealed state, to one of the same alphabet. */
function tampered(state: string): string {
  const at = Math.floor(state.length / 2);
  const replacement = state[at] === 'A' ? 'B' : 'A';
  return `${state.slice(0, at)}${replacement}${state.slice(at + 1)}`;
}

/**
 * A multi round-trip call with every capability declared: each `input_required` round is answered
 * until the result is complete (SEP-2322). `tamper` changes the state of the first retry (refused
 * in-band, -32602); `replay` sends the last retry again (its state opens once: refused in-band);
 * `unanswered` retries once with no answers (asked again, or served, never an error).
 */
export async function runMrtr(run: FlowRun, flow: Extract<Flow, { kind: 'mrtr' }>): Promise<FlowOutcome> {
  const { method, name } = flow;
  const headers = headersFor(method, name);
  const params = (extra: Obj): Obj => ({ name, ...(method === 'tools/call' ? { arguments: {} } : {}), _meta: envelope(), ...extra });
  let retry: Obj = {};
  let last: Obj | undefined;
  for (let round = 0; round < 5; round += 1) {
    const id = run.nextId();
    const body = { jsonrpc: '2.0', id, method, params: params(retry) };
    const observed = await post(run, body, headers);
    const problems = check(answered(method, id), observed);
    if (problems.length > 0)
      return { problems: problems.map((problem) => `round ${round}: ${problem}`), seen: `${observed.status} mrtr round ${round}` };
    const response = responseOf(observed)!;
    const result = isObject(response.result) ? response.result : undefined;
    const tampering = flow.ending === 'tamper' && round === 1 && typeof retry.requestState === 'string';
    if (tampering) {
      const error = isObject(response.error) ? response.error : undefined;
      if (error?.code !== -32602)
        return {
          problems: [`a tampered requestState was not refused with -32602 in-band: ${observed.text?.slice(0, 300)}`],
          seen: '200 mrtr tampered',
        };
      return { problems: [], seen: '200 mrtr tampered refused' };
    }
    if (result === undefined)
      return { problems: [`round ${round} answered with an error: ${observed.text?.slice(0, 300)}`], seen: '200 mrtr error' };
    if (round === 0 && result.resultType !== 'input_required')
      return { problems: [`the first round did not ask for input: ${observed.text?.slice(0, 300)}`], seen: '200 mrtr' };
    if (result.resultType === 'complete') return replayLast(run, flow, last, headers, round);
    const state = typeof result.requestState === 'string' ? result.requestState : undefined;
    const unanswered = flow.ending === 'unanswered' && round === 0;
    retry = {
      inputResponses: unanswered ? {} : answersFor(result.inputRequests),
      ...(state === undefined ? {} : { requestState: flow.ending === 'tamper' ? tampered(state) : state }),
    };
    last = { jsonrpc: '2.0', method, params: params(retry) };
  }
  return { problems: ['no complete result after 5 rounds'], seen: '200 mrtr endless' };
}

/** After a complete result: the last retry again, whose requestState (if any) was used up. */
async function replayLast(
  run: FlowRun,
  flow: Extract<Flow, { kind: 'mrtr' }>,
  last: Obj | undefined,
  headers: Record<string, string>,
  round: number,
): Promise<FlowOutcome> {
  const stateful = isObject(last?.params) && typeof last.params.requestState === 'string';
  if (flow.ending !== 'replay' || last === undefined || !stateful)
    return { problems: [], seen: `200 mrtr complete after ${round} round(s)` };
  const id = run.nextId();
  const observed = await post(run, { ...last, id }, headers);
  const problems = check(answered(flow.method, id), observed);
  const error = responseOf(observed)?.error;
  if (problems.length === 0 && !(isObject(error) && error.code === -32602)) {
    problems.push(`a replayed requestState was not refused with -32602 in-band: ${observed.text?.slice(0, 300)}`);
  }
  return { problems: problems.map((problem) => `replay: ${problem}`), seen: '200 mrtr replay refused' };
}

const CHANGES: Record<Extract<Flow, { kind: 'change' }>['listen'], { notifications: Obj; filter: ListenFilter; method: string }> = {
  tools: {
    notifications: { toolsListChanged: true },
    filter: { tools: true, prompts: false, resources: false, uris: [] },
    method: 'notifications/tools/list_changed',
  },
  prompts: {
    notifications: { promptsListChanged: true },
    filter: { tools: false, prompts: true, resources: false, uris: [] },
    method: 'notifications/prompts/list_changed',
  },
  resource: {
    notifications: { resourceSubscriptions: ['test://watched-resource'] },
    filter: { tools: false, prompts: false, resources: false, uris: ['test://watched-resource'] },
    method: 'notifications/resources/updated',
  },
};

/** Listens for a change, has a tool announce it, and waits for it on the stream; then closes the stream. */
export async function runChange(run: FlowRun, flow: Extract<Flow, { kind: 'change' }>): Promise<FlowOutcome> {
  const change = CHANGES[flow.listen];
  const listenId = run.nextId();
  const res = await fetch(run.url, {
    method: 'POST',
    headers: headersFor('subscriptions/listen'),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: listenId,
      method: 'subscriptions/listen',
      params: { notifications: change.notifications, _meta: envelope() },
    }),
    signal: run.signal,
  });
  const reader = new BodyReader(res);
  try {
    if (res.status !== 200) {
      await reader.until(() => false);
      return { problems: [`listen answered ${res.status}: ${reader.text.slice(0, 300)}`], seen: `${res.status} listen` };
    }
    await reader.until((text) => sseMessages(reader.whole).length > 0 || text.length > 100_000);
    const callId = run.nextId();
    const call = await post(
      run,
      { jsonrpc: '2.0', id: callId, method: 'tools/call', params: { name: flow.trigger, arguments: {}, _meta: envelope() } },
      headersFor('tools/call', flow.trigger),
    );
    const problems = check(answered('tools/call', callId), call).map((problem) => `${flow.trigger}: ${problem}`);
    await reader.until(() => sseMessages(reader.whole).some((message) => message.method === change.method));
    const observed: Observed = { status: res.status, headers: res.headers, text: reader.whole, ended: reader.ended };
    problems.push(...listenProblems('open', change.filter, observed, listenId));
    if (!sseMessages(reader.whole).some((message) => message.method === change.method))
      problems.push(`${change.method} never reached the listen stream`);
    return { problems, seen: '200 listen heard the change' };
  } finally {
    await reader.cancel();
  }
}
