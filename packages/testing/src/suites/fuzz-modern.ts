/**
 * The generated fuzz of the 2026-07-28 lane, through the adapter under test, in each `legacy` mode
 * (`sessions`, `stateless`, `reject`; the response mode `auto`, `sse` or `json` rotates with the
 * seed): a seeded PRNG builds requests with `_meta` envelopes, the standard and `Mcp-Param-*` headers,
 * multi round-trip calls, listen streams, batches that mix eras and legacy requests
 * (fuzz/modern-generate.ts), and every answer is judged by the oracle (fuzz/modern-oracle.ts). Then
 * the endpoint must still serve both eras, no session may have been made but by a legacy
 * `initialize` in sessions mode, every stream must be released, and no in-flight slot may be held
 * by a request that is over.
 *
 * MCP_FUZZ_SEED picks other requests (the same seed as the legacy fuzz); MCP_FUZZ_MODERN_COUNT the
 * number per mode (800); MCP_FUZZ_MAX_FAILURES and MCP_FUZZ_VERBOSE as there.
 */
import type { IncomingMessage } from 'node:http';
import { type McpSession, type McpSessionOptions, type ResponseMode, type ServerFactory, cache, rateLimit } from '@x/mcp-session-core';
import { describe, it } from 'vitest';
import { createConformanceServer } from '../../../../examples/conformance/fixtures.js';
import { type Observed, check } from '../fuzz/modern-check.js';
import { BodyReader, type FlowOutcome, type FlowRun, runChange, runMrtr, sseMessages } from '../fuzz/modern-flows.js';
import { Holds, closeWithRequestsInFlight } from '../fuzz/modern-close.js';
import { type ModernCase, ModernFuzzGenerator } from '../fuzz/modern-generate.js';
import { type Expectation, type LegacyMode, META, MODERN_VERSION, expectationOf } from '../fuzz/modern-oracle.js';
import { DEADLINE_MS, MAX_FAILURES, SEED, VERBOSE, hex, positiveFromEnv } from '../fuzz/settings.js';
import type { AdapterHarness, RunningApp } from '../harness.js';
import { modernHeaders } from '../listen.js';
import { ACCEPT_BOTH } from '../raw.js';

const COUNT = positiveFromEnv('MCP_FUZZ_MODERN_COUNT', 800);
const CONCURRENCY = 4;
/** Requests sent at once before the first case, while the 2026-07-28 server is being built. */
const COLD_START = 6;
const MAX_BODY_BYTES = 48 * 1024;
/**
 * Requests of one client in flight at once: above what the run ever has at once (four workers, a
 * batch of at most six), so a 429 means a request that is over still holds its slot.
 */
const IN_FLIGHT = 24;
const MODES: readonly LegacyMode[] = ['sessions', 'stateless', 'reject'];
const RESPONSE_MODES: readonly ResponseMode[] = ['auto', 'sse', 'json'];

/** Each mode gets its own requests and response mode from the one seed. */
const seedFor = (mode: LegacyMode) => (SEED ^ Math.imul(MODES.indexOf(mode) + 1, 0x2545f491)) >>> 0;
const responseModeFor = (mode: LegacyMode) => RESPONSE_MODES[(SEED + MODES.indexOf(mode)) % RESPONSE_MODES.length]!;

/**
 * The conformance fixture (and the tool that holds a call, for the close), whose 2026-07-28 server is
 * built only once `built` opens: the cold-start requests meet an endpoint that is still building it,
 * for as long as their clients take to give up.
 */
function gatedServer(built: Promise<void>, holds: Holds): ServerFactory {
  return async (_session, context) => {
    if (context.era === 'modern') await built;
    return holds.register(createConformanceServer(context));
  };
}

interface Outcome {
  problems: string[];
  /** `200 listen`, `400 -32020`, `hang`…: what came back, for the tally. */
  seen: string;
  /** A session id minted on the answer. */
  minted?: string;
  /** The client gave up on the answer before it came whole (its connection is gone). */
  gaveUp?: boolean;
}

interface Failure {
  fuzzCase: ModernCase;
  problems: string[];
}

function bodyText(body: Uint8Array | undefined): string {
  if (body === undefined) return '(none)';
  const text = new TextDecoder().decode(body);
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
}

/** Whether the oracle lets the stream stay open: then it is read only up to its acknowledgement. */
function staysOpen(expectation: Expectation): boolean {
  return expectation.outcomes.some((outcome) => outcome.success?.kind === 'listen' && outcome.success.stays !== 'ends');
}

function errorCode(text: string | undefined): string {
  try {
    const code = (JSON.parse(text ?? '') as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'number' ? ` ${code}` : '';
  } catch {
    return '';
  }
}

/** Marks a request whose client gives up on it, for the host's observer. */
const GIVES_UP = 'x-fuzz-gives-up';

async function runCase(url: string, mode: LegacyMode, fuzzCase: ModernCase, nextId: () => number): Promise<Outcome> {
  const deadline = AbortSignal.timeout(DEADLINE_MS);
  const giveUp = new AbortController();
  const signal = AbortSignal.any([deadline, giveUp.signal]);
  let stage: 'headers' | 'body' = 'headers';
  let timer: NodeJS.Timeout | undefined;
  try {
    if (fuzzCase.flow !== undefined) {
      const run: FlowRun = { url, signal, nextId };
      const outcome: FlowOutcome = fuzzCase.flow.kind === 'mrtr' ? await runMrtr(run, fuzzCase.flow) : await runChange(run, fuzzCase.flow);
      return outcome;
    }
    const expectation = expectationOf(fuzzCase.facts, mode);
    const headers = { ...fuzzCase.headers };
    if (fuzzCase.closeAfterMs !== undefined) {
      headers[GIVES_UP] = String(fuzzCase.index);
      timer = setTimeout(() => giveUp.abort(), fuzzCase.closeAfterMs);
    }
    const res = await fetch(url, { method: fuzzCase.method, headers, body: fuzzCase.body, signal, redirect: 'manual' });
    stage = 'body';
    const reader = new BodyReader(res);
    const sse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    try {
      // A listen stream that may stay open is read up to its first message; every other body to its end.
      await reader.until(() => sse && staysOpen(expectation) && sseMessages(reader.whole).length > 0);
    } finally {
      await reader.cancel();
    }
    const observed: Observed = { status: res.status, headers: res.headers, text: sse ? reader.whole : reader.text, ended: reader.ended };
    const problems = check(expectation, observed);
    const kind = sse ? ' sse' : (res.headers.get('content-type') ?? '').startsWith('application/json') ? ' json' : '';
    const minted = res.headers.get('mcp-session-id') ?? undefined;
    return { problems, seen: res.status >= 400 ? `${res.status}${errorCode(reader.text)}` : `${res.status}${kind}`, minted };
  } catch (error) {
    if (giveUp.signal.aborted && !deadline.aborted) return { problems: [], seen: `closed by the client before its ${stage}`, gaveUp: true };
    if (deadline.aborted)
      return { problems: [`hang: ${stage === 'headers' ? 'no response' : 'the body never ended'} within ${DEADLINE_MS} ms`], seen: 'hang' };
    const message =
      error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    return { problems: [`transport error: ${message}`], seen: 'transport error' };
  } finally {
    clearTimeout(timer);
  }
}

function tallyLine(tally: Map<string, number>): string {
  return [...tally]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([seen, count]) => `${seen} ×${count}`)
    .join(', ');
}

function report(name: string, mode: LegacyMode, total: number, sent: number, failures: Failure[], tally: Map<string, number>): string {
  const lines = [
    `2026-07-28 fuzz, legacy '${mode}', responseMode '${responseModeFor(mode)}', seed ${hex(SEED)}: ${failures.length} of ${sent} cases failed` +
      (sent < total ? ` (stopped after ${MAX_FAILURES} failures; ${total - sent} not sent)` : ''),
    `reproduce: MCP_FUZZ_SEED=${hex(SEED)} MCP_FUZZ_MODERN_COUNT=${COUNT} npx vitest run packages/<adapter>/test/adapter.test.ts -t '${name} fuzz 2026-07-28'`,
    `answers: ${tallyLine(tally)}`,
    '',
    'each failure:',
  ];
  for (const { fuzzCase, problems } of failures) {
    lines.push(`  #${fuzzCase.index} ${fuzzCase.context} ${fuzzCase.shape}`);
    lines.push(`      headers: ${JSON.stringify(fuzzCase.headers)}`);
    lines.push(`      body: ${bodyText(fuzzCase.body)}`);
    for (const problem of problems) lines.push(`      → ${problem}`);
  }
  return lines.join('\n');
}

/** A clean 2026-07-28 POST, read to its end. */
async function modernPost(url: string, id: number, method: string, params: Record<string, unknown>, name?: string): Promise<Observed> {
  const headers = modernHeaders(method, name === undefined ? {} : { 'mcp-name': name });
  const _meta = { [META.protocolVersion]: MODERN_VERSION, [META.clientCapabilities]: {} };
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta } }),
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  return { status: res.status, headers: res.headers, text: await res.text(), ended: true };
}

/** A legacy POST without a session, read to its end. */
async function legacyPost(url: string, body: unknown): Promise<{ status: number; text: string; sessionId: string | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  return { status: res.status, text: await res.text(), sessionId: res.headers.get('mcp-session-id') };
}

/** A request whose client gives up on it, as the host saw it arrive. */
interface Abandoned {
  readonly req: WeakRef<IncomingMessage>;
  /** Its connection closed: the server has heard that the client left. */
  readonly gone: Promise<void>;
}

function abandon(req: IncomingMessage): Abandoned {
  const { socket } = req;
  const gone = socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { req: new WeakRef(req), gone };
}

/**
 * The requests of clients that gave up which something still holds, after full collections (each
 * reference is read in a later turn than the collection): the endpoint must forget a request whose
 * client left once its handler is done. Needs `--expose-gc` (the repository's vitest config sets it);
 * without it nothing can be told, and none is reported.
 */
async function stillHeld(abandoned: readonly Abandoned[]): Promise<number> {
  const gc = global.gc;
  if (gc === undefined) return 0;
  let held = abandoned.length;
  for (let round = 0; round < 5 && held > 0; round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    held = abandoned.filter(({ req }) => req.deref() !== undefined).length;
  }
  return held;
}

/** Waits, a turn of the event loop at a time, for the server to notice what its clients closed. */
async function settled(app: RunningApp): Promise<{ listenStreams: number; openStreams: number }> {
  let metrics = await app.endpoint.metrics();
  for (let turn = 0; turn < 2_000 && (metrics.listenStreams > 0 || metrics.openStreams > 0); turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    metrics = await app.endpoint.metrics();
  }
  return { listenStreams: metrics.listenStreams, openStreams: metrics.openStreams };
}

interface Played {
  cases: number;
  sent: number;
  failures: Failure[];
  tally: Map<string, number>;
  /** Session ids minted on the answers. */
  minted: Set<string>;
}

/**
 * Plays the cold-start requests while the 2026-07-28 server is being built (it is built, through
 * `build`, once the clients that give up have gone and a request after them was answered), then the
 * cases, `CONCURRENCY` at a time.
 */
async function play(
  app: RunningApp,
  mode: LegacyMode,
  run: { build: () => void; nextId: () => number; abandoned: Map<string, Abandoned> },
): Promise<Played> {
  const { build, nextId, abandoned } = run;
  const port = Number(new URL(app.url).port);
  const generator = new ModernFuzzGenerator(seedFor(mode), { port, maxBodyBytes: MAX_BODY_BYTES });
  const cold = generator.coldStart(COLD_START);
  const cases = generator.cases(COUNT);
  const played: Played = { cases: cold.length + cases.length, sent: cold.length, failures: [], tally: new Map(), minted: new Set() };
  const play = async (fuzzCase: ModernCase) => {
    const outcome = await runCase(app.url, mode, fuzzCase, nextId);
    // Answered before its client gave up: its connection may serve the next request.
    if (outcome.gaveUp !== true) abandoned.delete(String(fuzzCase.index));
    if (outcome.minted !== undefined) played.minted.add(outcome.minted);
    played.tally.set(outcome.seen, (played.tally.get(outcome.seen) ?? 0) + 1);
    if (outcome.problems.length > 0) played.failures.push({ fuzzCase, problems: outcome.problems });
  };
  const running = cold.map(play);
  await Promise.all(running.filter((_, index) => cold[index]!.closeAfterMs !== undefined));
  await (
    await fetch(app.url, { method: 'GET', headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(DEADLINE_MS) })
  ).arrayBuffer();
  build();
  await Promise.all(running);
  let next = 0;
  const worker = async () => {
    while (played.failures.length < MAX_FAILURES && next < cases.length) {
      played.sent += 1;
      await play(cases[next++]!);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  played.failures.sort((a, b) => a.fuzzCase.index - b.fuzzCase.index);
  return played;
}

/** What must hold once every case is over: streams and in-flight slots released, both eras serving, no stray session. */
async function afterTheRun(
  app: RunningApp,
  mode: LegacyMode,
  seen: { abandoned: readonly Abandoned[]; created: string[]; minted: Set<string> },
  nextId: () => number,
): Promise<string[]> {
  const health: string[] = [];
  // Every stream the clients closed is released.
  const streams = await settled(app);
  if (streams.listenStreams > 0) health.push(`${streams.listenStreams} listen stream(s) still open after every client closed its own`);
  if (streams.openStreams > 0) health.push(`${streams.openStreams} SSE stream(s) still open after every client closed its own`);
  // No request that is over holds an in-flight slot: once the server heard every client that gave up
  // leave, as many slow calls as the limit allows, at once.
  const left = Promise.all(seen.abandoned.map(({ gone }) => gone));
  if (
    (await Promise.race([
      left.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), DEADLINE_MS).unref()),
    ])) === false
  ) {
    health.push(`a connection whose client gave up was still open ${DEADLINE_MS} ms after the run`);
  }
  const slow = await Promise.all(
    Array.from({ length: IN_FLIGHT }, () =>
      modernPost(app.url, nextId(), 'tools/call', { name: 'test_tool_with_logging', arguments: {} }, 'test_tool_with_logging'),
    ),
  );
  const refused = slow.filter((answer) => answer.status !== 200);
  if (refused.length > 0) {
    const [first] = refused;
    health.push(`${refused.length} of ${IN_FLIGHT} calls at once refused after the run: ${first!.status} ${first!.text?.slice(0, 200)}`);
  }
  // Nothing of a request whose client gave up is kept once its handler is done (the calls above outlast every handler).
  const held = await stillHeld(seen.abandoned);
  if (held > 0) health.push(`${held} of ${seen.abandoned.length} request(s) whose client gave up are still held by the server`);
  // Both eras still serve as the mode says.
  const tools = await modernPost(app.url, nextId(), 'tools/call', { name: 'test_simple_text' }, 'test_simple_text');
  if (tools.status !== 200 || tools.text?.includes('simple text response') !== true) {
    health.push(`a 2026-07-28 call after the run: ${tools.status} ${tools.text?.slice(0, 200)}`);
  }
  health.push(...(await legacyHealth(app.url, mode, nextId, seen.minted)));
  // Only a legacy initialize in sessions mode makes a session.
  const strangers = seen.created.filter((sessionId) => !seen.minted.has(sessionId));
  if (mode !== 'sessions' && seen.created.length > 0) health.push(`${seen.created.length} session(s) made in '${mode}' mode`);
  else if (strangers.length > 0)
    health.push(`${strangers.length} session(s) made by requests other than initialize: ${strangers.join(', ')}`);
  return health;
}

async function fuzzMode(harness: AdapterHarness, mode: LegacyMode): Promise<void> {
  const created: string[] = [];
  const abandoned = new Map<string, Abandoned>();
  const holds = new Holds();
  let build!: () => void;
  const built = new Promise<void>((resolve) => (build = resolve));
  const options: McpSessionOptions = {
    server: gatedServer(built, holds),
    legacy: mode,
    responseMode: responseModeFor(mode),
    maxBodyBytes: MAX_BODY_BYTES,
    maxRequestsInFlight: IN_FLIGHT,
    // A slow call's answer turns SSE (or, in sse mode, sends its headers) before it is ready, and every
    // open stream gets keep-alive comments: the timers run during the run, not only after it.
    sseAfterMs: 50,
    keepAliveIntervalMs: 25,
    // Every lane runs the same chain: a limit no run reaches (a 429 fails it), and the response cache.
    middleware: [rateLimit({ limit: 1_000_000, windowMs: 60_000 }), cache({ ttlMs: 60_000 })],
    onSessionCreated: (session: McpSession) => void created.push(session.id),
  };
  const observe = (req: IncomingMessage) => {
    const token = req.headers[GIVES_UP];
    if (typeof token === 'string') abandoned.set(token, abandon(req));
  };
  const app = await harness.start(options, { observe });
  let closed = false;
  try {
    let id = 1;
    const nextId = () => id++;
    const started = performance.now();
    const played = await play(app, mode, { build, nextId, abandoned });
    if (VERBOSE) {
      const ms = Math.round(performance.now() - started);
      console.log(
        `fuzz 2026-07-28 ${harness.name}, legacy '${mode}', ${responseModeFor(mode)}: ${played.sent} cases in ${ms} ms; ${tallyLine(played.tally)}`,
      );
    }
    const health = await afterTheRun(app, mode, { abandoned: [...abandoned.values()], created, minted: played.minted }, nextId);
    closed = true;
    health.push(...(await closeWithRequestsInFlight(app, mode, holds, nextId)));
    const message = [
      played.failures.length > 0 ? report(harness.name, mode, played.cases, played.sent, played.failures, played.tally) : '',
      health.length > 0 ? `after the run (legacy '${mode}', responseMode '${responseModeFor(mode)}'):\n  ${health.join('\n  ')}` : '',
    ]
      .filter((part) => part !== '')
      .join('\n\n');
    if (message !== '') throw new Error(message);
  } finally {
    build();
    if (!closed) await app.close();
  }
}

/** A legacy client is served (sessions, stateless) or refused (reject) as before the run. */
async function legacyHealth(url: string, mode: LegacyMode, nextId: () => number, minted: Set<string>): Promise<string[]> {
  const initialize = await legacyPost(url, {
    jsonrpc: '2.0',
    id: nextId(),
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz-health', version: '1' } },
  });
  if (initialize.sessionId !== null) minted.add(initialize.sessionId);
  const expected = mode === 'reject' ? 400 : 200;
  if (initialize.status !== expected)
    return [`a legacy initialize after the run: ${initialize.status}, not ${expected}: ${initialize.text.slice(0, 200)}`];
  if ((initialize.sessionId !== null) !== (mode === 'sessions'))
    return [`a legacy initialize after the run, Mcp-Session-Id ${initialize.sessionId} in '${mode}' mode`];
  return [];
}

/** The 2026-07-28 fuzz in each legacy mode, through the adapter under test. */
export function modernFuzzSuite(harness: AdapterHarness): void {
  describe('2026-07-28', () => {
    const budget = 60_000 + Math.ceil(Math.min(MAX_FAILURES, COUNT) / CONCURRENCY) * DEADLINE_MS + COUNT * 100;
    it.each(MODES.map((mode) => [mode, responseModeFor(mode)] as const))(
      `seed ${hex(SEED)}: ${COUNT} generated cases with legacy '%s' (responseMode '%s'), each answered right within ${DEADLINE_MS} ms`,
      async (mode) => fuzzMode(harness, mode),
      budget,
    );
  });
}
