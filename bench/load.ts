/**
 * The load generator: raw JSON-RPC POSTs over undici keep-alive connections to 127.0.0.1, a fixed
 * number of workers each sending its next request when the last one is answered (closed loop).
 * Every run is bounded in time and in requests.
 */
import { Pool } from 'undici';

export const PROTOCOL_VERSION = '2025-11-25';
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

export function openPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
}

interface Answer {
  status: number;
  sessionId: string | undefined;
  text: string;
}

async function post(pool: Pool, body: string, sessionId?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: ACCEPT };
  if (sessionId !== undefined) {
    headers['mcp-session-id'] = sessionId;
    headers['mcp-protocol-version'] = PROTOCOL_VERSION;
  }
  const response = await pool.request({ path: '/mcp', method: 'POST', headers, body });
  // JSON or SSE alike: the response ends once the request is answered.
  const text = await response.body.text();
  const id = response.headers['mcp-session-id'];
  return { status: response.statusCode, sessionId: typeof id === 'string' ? id : undefined, text };
}

function fail(what: string, answer: Answer): never {
  throw new Error(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
}

/** One session: `initialize`, then `notifications/initialized`. Resolves to its id. */
export async function openSession(pool: Pool): Promise<string> {
  const init = await post(pool, INITIALIZE);
  if (init.status !== 200 || init.sessionId === undefined || !init.text.includes('"protocolVersion"')) fail('initialize', init);
  const ack = await post(pool, INITIALIZED, init.sessionId);
  if (ack.status !== 202) fail('notifications/initialized', ack);
  return init.sessionId;
}

/** `tools/call` of `echo` on a session; `id` must be unique among the session's requests in flight. */
export async function callEcho(pool: Pool, sessionId: string, id: number): Promise<void> {
  const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"${ECHO}"}}}`;
  const answer = await post(pool, body, sessionId);
  if (answer.status !== 200 || !answer.text.includes(`"text":"${ECHO}"`)) fail('tools/call', answer);
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
