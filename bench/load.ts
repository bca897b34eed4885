/**
 * The load generator: raw JSON-RPC POSTs over undici keep-alive connections to 127.0.0.1, a fixed
 * number of workers each sending its next request when the last one is answered (closed loop).
 * Every run is bounded in time and in requests. Three kinds of `tools/call`, as the SDK clients send
 * them: in a legacy session (`Mcp-Session-Id`), legacy without a session (a client of a stateless
 * server: what follows its `initialize`), and 2026-07-28 (the `_meta` envelope and its headers).
 */
import { Pool } from 'undici';

export const PROTOCOL_VERSION = '2025-11-25';
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
const ACCEPT = 'application/json, text/event-stream';
const TIMEOUT_MS = 10_000;
const ECHO = 'hello';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } },
});
const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

/** The envelope of every 2026-07-28 request, in the order the SDK v2 client writes it. */
const MODERN_META = JSON.stringify({
  'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
});
const BASE_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', accept: ACCEPT };
/** After `initialize`, a legacy client names its version on every request; in a session, the session too. */
const LEGACY_HEADERS: Readonly<Record<string, string>> = { ...BASE_HEADERS, 'mcp-protocol-version': PROTOCOL_VERSION };
/** The headers the SDK v2 client sends with a 2026-07-28 `tools/call` of `echo`. */
const MODERN_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'mcp-method': 'tools/call',
  'mcp-name': 'echo',
  'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
};

const legacyCall = (id: number) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"${ECHO}"}}}`;
const modernCall = (id: number) =>
  `{"method":"tools/call","params":{"name":"echo","arguments":{"text":"${ECHO}"},"_meta":${MODERN_META}},"jsonrpc":"2.0","id":${id}}`;

export function openPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
}

interface Answer {
  status: number;
  sessionId: string | undefined;
  text: string;
}

async function post(pool: Pool, body: string, headers: Readonly<Record<string, string>>): Promise<Answer> {
  const response = await pool.request({ path: '/mcp', method: 'POST', headers, body });
  // JSON or SSE alike: the response ends once the request is answered.
  const text = await response.body.text();
  const id = response.headers['mcp-session-id'];
  return { status: response.statusCode, sessionId: typeof id === 'string' ? id : undefined, text };
}

const inSession = (sessionId: string) => ({ ...LEGACY_HEADERS, 'mcp-session-id': sessionId });

function fail(what: string, answer: Answer): never {
  throw new Error(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
}

/** One session: `initialize`, then `notifications/initialized`. Resolves to its id. */
export async function openSession(pool: Pool): Promise<string> {
  const init = await post(pool, INITIALIZE, BASE_HEADERS);
  if (init.status !== 200 || init.sessionId === undefined || !init.text.includes('"protocolVersion"')) fail('initialize', init);
  const ack = await post(pool, INITIALIZED, inSession(init.sessionId));
  if (ack.status !== 202) fail('notifications/initialized', ack);
  return init.sessionId;
}

/** `tools/call` of `echo` on a session; `id` must be unique among the session's requests in flight. */
export async function callEcho(pool: Pool, sessionId: string, id: number): Promise<void> {
  const answer = await post(pool, legacyCall(id), inSession(sessionId));
  if (answer.status !== 200 || !answer.text.includes(`"text":"${ECHO}"`)) fail('tools/call', answer);
}

/** A legacy `tools/call` of `echo` with no session: a standalone POST, as to a stateless server. */
export async function callStateless(pool: Pool, id: number): Promise<void> {
  const answer = await post(pool, legacyCall(id), LEGACY_HEADERS);
  if (answer.status !== 200 || !answer.text.includes(`"text":"${ECHO}"`)) fail('tools/call (stateless)', answer);
}

/** A 2026-07-28 `tools/call` of `echo`: no `initialize`, no session; the envelope in `_meta`, and its headers. */
export async function callModern(pool: Pool, id: number): Promise<void> {
  const answer = await post(pool, modernCall(id), MODERN_HEADERS);
  if (answer.status !== 200 || !answer.text.includes(`"text":"${ECHO}"`)) fail('tools/call (2026-07-28)', answer);
}

/** The JSON-RPC message answering `id` in a JSON or SSE body. */
function answerTo(answer: Answer, id: number): { result?: Record<string, unknown>; error?: unknown } | undefined {
  const candidates = answer.text.trimStart().startsWith('{')
    ? [answer.text]
    : answer.text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice('data:'.length).trim());
  for (const candidate of candidates) {
    try {
      const message = JSON.parse(candidate) as { id?: unknown; result?: Record<string, unknown>; error?: unknown };
      if (message.id === id) return message;
    } catch {
      // A priming event or a comment: not the answer.
    }
  }
  return undefined;
}

/** Checks an answered `tools/call` of `echo`: its result is the one text block sent, and (2026-07-28) complete. */
function checkEchoResult(what: string, answer: Answer, id: number, modern: boolean): void {
  const message = answerTo(answer, id);
  const content = message?.result?.content as Array<{ type?: unknown; text?: unknown }> | undefined;
  const ok =
    answer.status === 200 &&
    answer.sessionId === undefined &&
    content?.length === 1 &&
    content[0]?.type === 'text' &&
    content[0].text === ECHO &&
    (!modern || message?.result?.resultType === 'complete');
  if (!ok) fail(`${what}: not the echo result`, answer);
}

/**
 * Before a 2026-07-28 lane is measured: one `tools/call` answered with the echo, `resultType`
 * `complete` and no session id.
 */
export async function checkModern(pool: Pool): Promise<void> {
  checkEchoResult('tools/call (2026-07-28)', await post(pool, modernCall(-1), MODERN_HEADERS), -1, true);
}

/**
 * Before a stateless legacy lane is measured: what a client of a stateless server does first, each
 * checked: `initialize` answered with no session id, `notifications/initialized` accepted, one
 * `tools/call` answered with the echo. The measured calls are POSTs like the last.
 */
export async function checkStateless(pool: Pool): Promise<void> {
  const init = await post(pool, INITIALIZE, BASE_HEADERS);
  if (init.status !== 200 || init.sessionId !== undefined || !init.text.includes('"protocolVersion"')) {
    fail('initialize (stateless: answered, and with no session id)', init);
  }
  const ack = await post(pool, INITIALIZED, LEGACY_HEADERS);
  if (ack.status !== 202) fail('notifications/initialized (stateless)', ack);
  checkEchoResult('tools/call (stateless)', await post(pool, legacyCall(-1), LEGACY_HEADERS), -1, false);
}

export interface RunResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  /** Per-operation latency, milliseconds, sorted. */
  latencies: Float64Array;
}

/**
 * Runs `op` on `concurrency` workers until `durationMs` has passed or `maxOps` operations were
 * started, whichever comes first.
 */
export async function runFor(
  concurrency: number,
  limits: { durationMs: number; maxOps: number },
  op: () => Promise<unknown>,
): Promise<RunResult> {
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const begin = performance.now();
  const deadline = begin + limits.durationMs;
  const worker = async () => {
    while (started < limits.maxOps && performance.now() < deadline) {
      started += 1;
      const t0 = performance.now();
      try {
        await op();
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - begin;
  return { ops: latencies.length, errors, firstError, elapsedMs, latencies: Float64Array.from(latencies).sort() };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
