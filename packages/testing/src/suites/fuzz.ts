/**
 * A generated fuzz of the endpoint, through the adapter under test: a seeded PRNG builds a few hundred
 * requests (methods, session ids, headers, bodies; fuzz/generate.ts) and every answer is judged by
 * the oracle (fuzz/oracle.ts) — in time, with a status SPEC.md allows for that request, with a
 * JSON-RPC error body or a valid answer to every request of the POST. Then the sessions must still
 * serve, and no session may have been made by anything but `initialize`.
 *
 * MCP_FUZZ_SEED (decimal or 0x hex) picks other requests; MCP_FUZZ_COUNT the number per server (300);
 * MCP_FUZZ_MAX_FAILURES how many failures end a run early (20); MCP_FUZZ_VERBOSE=1 prints a tally of
 * the answers of every run.
 *
 * Beside it, one explicit case per message shape the SDK rejects (so the server would never answer it),
 * and the fuzz of the 2026-07-28 lane in each `legacy` mode (fuzz-modern.ts; MCP_FUZZ_MODERN_COUNT).
 */
import type { McpSession } from '@x/mcp-session-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FuzzCase, FuzzGenerator, type FuzzSession } from '../fuzz/generate.js';
import { check, expectationOf, idKey, isObject, parseSse } from '../fuzz/oracle.js';
import { DEADLINE_MS, MAX_FAILURES, SEED, VERBOSE, hex, positiveFromEnv } from '../fuzz/settings.js';
import { type SdkMajor, serverFactory } from '../fixtures/servers.js';
import type { AdapterHarness, RunningApp } from '../harness.js';
import { ACCEPT_BOTH, initializeParams } from '../raw.js';
import { modernFuzzSuite } from './fuzz-modern.js';

const COUNT = positiveFromEnv('MCP_FUZZ_COUNT', 300);
/** The explicit shapes are refused before they reach the server: quickly. */
const QUICK_MS = 3_000;
const CONCURRENCY = 4;
const MAX_BODY_BYTES = 32 * 1024;

/** Each server gets its own requests from the one seed. */
const seedFor = (major: SdkMajor) => (major === 'v2' ? SEED : (SEED ^ 0x9e3779b9) >>> 0);

// ---- plain HTTP ---------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** A POST read to its end within `ms`; a timeout throws an error that says the POST hangs. */
async function postWithin(url: string, body: string, headers: Record<string, string>, ms = DEADLINE_MS): Promise<Answer> {
  const signal = AbortSignal.timeout(ms);
  let stage = 'no response';
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...headers },
      body,
      signal,
    });
    stage = `${res.status} ${res.headers.get('content-type') ?? ''}, but the body never ended`;
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (error) {
    if (signal.aborted) throw new Error(`the POST hangs: ${stage} within ${ms} ms (body ${body.slice(0, 200)})`, { cause: error });
    throw error;
  }
}

function sessionHeaders(session: FuzzSession): Record<string, string> {
  return { 'mcp-session-id': session.id, 'mcp-protocol-version': session.version };
}

/** initialize and notifications/initialized in plain HTTP, at `version`. */
async function openSession(url: string, version: string): Promise<FuzzSession> {
  const init = await postWithin(
    url,
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: initializeParams(version, 'fuzz') }),
    {},
  );
  expect(init.status, init.text).toBe(200);
  const id = init.headers.get('mcp-session-id');
  expect(id).toBeTypeOf('string');
  const session = { id: id!, version };
  const ack = await postWithin(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), sessionHeaders(session));
  expect(ack.status, ack.text).toBe(202);
  return session;
}

/** The JSON-RPC messages of a JSON or SSE answer. */
function messagesOf(answer: Answer): unknown[] {
  const type = answer.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    return parseSse(answer.text)
      .filter((event) => event.data !== '')
      .flatMap((event) => [JSON.parse(event.data) as unknown].flat());
  }
  return [JSON.parse(answer.text) as unknown].flat();
}

/** A tools/call of echo answers with its text: the session and its server still serve. */
async function expectEcho(url: string, session: FuzzSession, id: string | number, text = 'still serving'): Promise<void> {
  const answer = await postWithin(
    url,
    JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } }),
    sessionHeaders(session),
  );
  expect(answer.status, answer.text).toBe(200);
  const responses = messagesOf(answer).filter((message) => isObject(message) && 'id' in message);
  expect(responses).toEqual([{ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } }]);
}

/**
 * A 400 whose body is a JSON-RPC error, and no session id. Behind a host body parser, the host's parser
 * may refuse the body before the endpoint sees it (Koa's refuses a `__proto__` key), in its own format:
 * then only the status counts, as in the host suite.
 */
function expectRefused(answer: Answer, hostParser = false): void {
  expect(answer.status, answer.text).toBe(400);
  const type = answer.headers.get('content-type') ?? '';
  if (hostParser && !type.startsWith('application/json')) return;
  expect(type).toMatch(/^application\/json/);
  expect(answer.headers.get('mcp-session-id')).toBeNull();
  const body = JSON.parse(answer.text) as unknown;
  expect(body).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });
  expect(Number.isInteger((body as { error: { code: number } }).error.code)).toBe(true);
}

// ---- one fuzz run -----------------------------------------------------------------------------------------

interface Failure {
  fuzzCase: FuzzCase;
  cause: string;
  problems: string[];
}

interface Outcome {
  problems: string[];
  cause: string;
  /** `200 answer`, `404`, `hang`…: what came back, for the tally. */
  seen: string;
  /** A session id minted on the answer. */
  minted?: string;
  /** An initialize POST whose headers never came: it may have made a session no one saw. */
  unseenInitialize: boolean;
}

interface Run {
  url: string;
  major: SdkMajor;
  keepers: FuzzSession[];
  /** Event ids each keeper was sent on SSE answers, for GETs that resume. */
  harvested: Map<number, string[]>;
}

function bodyText(body: FuzzCase['body']): string {
  if (body === undefined) return '(none)';
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text;
}

async function runCase(run: Run, fuzzCase: FuzzCase): Promise<Outcome> {
  const headers = { ...fuzzCase.headers };
  const facts = { ...fuzzCase.facts };
  if (fuzzCase.harvestFrom !== undefined) {
    const pool = run.harvested.get(fuzzCase.harvestFrom.keeper) ?? [];
    if (pool.length > 0) {
      headers['last-event-id'] = pool[pool.length - 1]!;
      facts.lastEventId = fuzzCase.harvestFrom.own ? 'own' : 'foreign';
    }
  }
  const expectation = expectationOf(facts, run.major);
  const initializing = expectation.mayCreateSession;
  const signal = AbortSignal.timeout(DEADLINE_MS);
  let stage: 'headers' | 'body' = 'headers';
  try {
    const res = await fetch(run.url, { method: fuzzCase.method, headers, body: fuzzCase.body, signal, redirect: 'manual' });
    stage = 'body';
    const contentType = res.headers.get('content-type') ?? '';
    let text: string | undefined;
    if (
      fuzzCase.method === 'GET' &&
      res.status === 200 &&
      contentType.startsWith('text/event-stream') &&
      expectation.success !== 'resumed'
    ) {
      // The standalone stream stays open: its headers are the answer.
      await res.body?.cancel();
    } else {
      text = await res.text();
    }
    const observed = { status: res.status, headers: res.headers, text };
    const problems = check(expectation, observed, run.major, fuzzCase.method, headers['mcp-session-id']);
    const keeper = fuzzCase.session === undefined ? -1 : run.keepers.indexOf(fuzzCase.session);
    if (keeper !== -1 && res.status === 200 && contentType.startsWith('text/event-stream') && text !== undefined && problems.length === 0) {
      // Ids of events before the response of a one-request stream: resuming after one replays the
      // response, and the stream then ends. (After the response itself nothing more is due.)
      if (fuzzCase.method === 'POST' && expectation.requestIds.length === 1 && !expectation.batch) {
        const ids = parseSse(text)
          .filter((event) => event.data === '' || !/"(result|error)"\s*:/.test(event.data))
          .map((event) => event.id)
          .filter((id): id is string => id !== undefined && id !== '');
        run.harvested.set(keeper, [...(run.harvested.get(keeper) ?? []), ...ids]);
      }
    }
    const minted = expectation.mayCreateSession ? (res.headers.get('mcp-session-id') ?? undefined) : undefined;
    const cause = problems.length === 0 ? '' : problems[0]!.startsWith('status ') ? `status ${res.status}` : `${res.status}, bad answer`;
    const kind = contentType.startsWith('text/event-stream') ? ' sse' : contentType.startsWith('application/json') ? ' json' : '';
    const what = expectation.mayCreateSession ? 'initialize' : (expectation.success ?? '');
    const seen = res.status === 200 || res.status === 202 ? `${res.status} ${fuzzCase.method} ${what}${kind}` : `${res.status}`;
    return { problems, cause, seen: seen.trim(), minted, unseenInitialize: false };
  } catch (error) {
    if (signal.aborted) {
      const cause = stage === 'headers' ? 'hang: no response' : 'hang: the body never ended';
      return {
        problems: [`${cause} within ${DEADLINE_MS} ms`],
        cause,
        seen: 'hang',
        unseenInitialize: initializing && stage === 'headers',
      };
    }
    const message =
      error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    return {
      problems: [`transport error: ${message}`],
      cause: 'transport error',
      seen: 'transport error',
      unseenInitialize: initializing && stage === 'headers',
    };
  }
}

function tallyLine(tally: Map<string, number>): string {
  return [...tally]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([seen, count]) => `${seen} ×${count}`)
    .join(', ');
}

function report(name: string, major: SdkMajor, total: number, sent: number, failures: Failure[], tally: Map<string, number>): string {
  const lines = [
    `fuzz, SDK ${major} server, seed ${hex(SEED)}: ${failures.length} of ${sent} requests failed` +
      (sent < total ? ` (stopped after ${MAX_FAILURES} failures; ${total - sent} not sent)` : ''),
    `reproduce: MCP_FUZZ_SEED=${hex(SEED)} MCP_FUZZ_COUNT=${COUNT} MCP_FUZZ_MAX_FAILURES=${Math.max(total, MAX_FAILURES)} npx vitest run packages/<adapter>/test/adapter.test.ts -t '${name} fuzz seed'`,
    `answers: ${tallyLine(tally)}`,
    '',
    'by cause and shape:',
  ];
  const byCause = new Map<string, Map<string, number>>();
  for (const failure of failures) {
    const shapes = byCause.get(failure.cause) ?? new Map<string, number>();
    shapes.set(failure.fuzzCase.shape, (shapes.get(failure.fuzzCase.shape) ?? 0) + 1);
    byCause.set(failure.cause, shapes);
  }
  for (const [cause, shapes] of [...byCause].sort((a, b) => a[0].localeCompare(b[0]))) {
    lines.push(`  ${cause}:`);
    for (const [shape, count] of [...shapes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) lines.push(`    ${count} × ${shape}`);
  }
  lines.push('', 'each failure:');
  for (const { fuzzCase, problems } of failures) {
    lines.push(`  #${fuzzCase.index} ${fuzzCase.context} ${fuzzCase.shape}`);
    lines.push(`      body: ${bodyText(fuzzCase.body)}`);
    for (const problem of problems) lines.push(`      → ${problem}`);
  }
  return lines.join('\n');
}

async function fuzzServer(harness: AdapterHarness, major: SdkMajor): Promise<void> {
  const created: string[] = [];
  const app: RunningApp = await harness.start({
    server: serverFactory(major),
    maxBodyBytes: MAX_BODY_BYTES,
    onSessionCreated: (session: McpSession) => void created.push(session.id),
  });
  try {
    const keepers = [
      await openSession(app.url, '2025-11-25'),
      await openSession(app.url, '2025-03-26'),
      await openSession(app.url, '2025-06-18'),
      await openSession(app.url, '2025-11-25'),
      await openSession(app.url, '2025-03-26'),
    ];
    const victims = [await openSession(app.url, '2025-11-25'), await openSession(app.url, '2025-03-26')];
    const known = new Set([...keepers, ...victims].map((session) => session.id));
    const port = Number(new URL(app.url).port);
    const cases = new FuzzGenerator(seedFor(major), { keepers, victims, port, maxBodyBytes: MAX_BODY_BYTES }).cases(COUNT);
    const run: Run = { url: app.url, major, keepers, harvested: new Map() };

    const failures: Failure[] = [];
    const started = performance.now();
    let next = 0;
    let unseenInitializes = 0;
    const tally = new Map<string, number>();
    const worker = async () => {
      while (failures.length < MAX_FAILURES && next < cases.length) {
        const fuzzCase = cases[next++]!;
        const outcome = await runCase(run, fuzzCase);
        if (outcome.minted !== undefined) known.add(outcome.minted);
        if (outcome.unseenInitialize) unseenInitializes += 1;
        tally.set(outcome.seen, (tally.get(outcome.seen) ?? 0) + 1);
        if (outcome.problems.length > 0) failures.push({ fuzzCase, cause: outcome.cause, problems: outcome.problems });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    failures.sort((a, b) => a.fuzzCase.index - b.fuzzCase.index);
    const sent = next;
    if (VERBOSE) {
      console.log(
        `fuzz ${harness.name}, SDK ${major}: ${sent} requests in ${Math.round(performance.now() - started)} ms; ${tallyLine(tally)}`,
      );
    }

    // The server stays healthy: every keeper still answers, and a new session opens and answers.
    const health: string[] = [];
    for (const [index, keeper] of keepers.entries()) {
      await expectEcho(app.url, keeper, `health-${index}`).catch((error: unknown) =>
        health.push(`keeper ${index} (${keeper.version}): ${String(error)}`),
      );
    }
    try {
      const fresh = await openSession(app.url, '2025-11-25');
      known.add(fresh.id);
      await expectEcho(app.url, fresh, 'health-fresh');
    } catch (error) {
      health.push(`a new session: ${String(error)}`);
    }
    // Only initialize made sessions (one that timed out before its headers may have made one unseen).
    const strangers = created.filter((id) => !known.has(id));
    if (strangers.length > unseenInitializes) {
      health.push(`${strangers.length} session(s) created by requests other than initialize: ${strangers.join(', ')}`);
    }
    const listed = (await app.sessions.list()).map((session) => session.id).filter((id) => !known.has(id));
    if (listed.length > unseenInitializes) health.push(`${listed.length} unknown session(s) listed: ${listed.join(', ')}`);

    const message = [
      failures.length > 0 ? report(harness.name, major, cases.length, sent, failures, tally) : '',
      health.length > 0 ? `after the run:\n  ${health.join('\n  ')}` : '',
    ]
      .filter((part) => part !== '')
      .join('\n\n');
    if (message !== '') throw new Error(message);
  } finally {
    await app.close();
  }
}

// ---- the suite ----------------------------------------------------------------------------------------

/** The generated fuzz and the explicit SDK-rejected shapes, through the adapter under test. */
export function fuzzSuite(harness: AdapterHarness): void {
  describe('fuzz', () => {
    const budget = 60_000 + Math.ceil(Math.min(MAX_FAILURES, COUNT) / CONCURRENCY) * DEADLINE_MS + COUNT * 100;
    it.each<SdkMajor>(['v2', 'v1'])(
      `seed ${hex(SEED)}: ${COUNT} generated requests to an SDK %s server, each answered right within ${DEADLINE_MS} ms`,
      async (major) => fuzzServer(harness, major),
      budget,
    );

    modernFuzzSuite(harness);

    describe('found by the fuzz', () => {
      it.each<SdkMajor>(['v2', 'v1'])(
        `answers every request of a 2025-03-26 batch whose last request turns the answer into SSE (SDK %s), within ${QUICK_MS} ms`,
        async (major) => {
          // ping is answered at once (JSON so far); countdown then logs, which switches the POST to SSE:
          // the ping's response must not be lost in the switch.
          const app = await harness.start({ server: serverFactory(major) });
          try {
            const session = await openSession(app.url, '2025-03-26');
            const body = [
              '{"jsonrpc":"2.0","id":2,"method":"ping"}',
              '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"countdown","arguments":{"from":1}}}',
            ];
            const answer = await postWithin(app.url, `[${body.join(',')}]`, sessionHeaders(session), QUICK_MS);
            expect(answer.status, answer.text).toBe(200);
            const responses = messagesOf(answer).filter((message) => isObject(message) && !('method' in message));
            const ids = responses.map((response) => (response as { id?: unknown }).id);
            expect(ids.sort(), answer.text).toEqual([2, 3]);
          } finally {
            await app.close();
          }
        },
      );
    });

    describe('the SDK-rejected shapes', () => {
      /**
       * Each shape passes the JSON-RPC envelope but the server's SDK drops it, so the endpoint must
       * refuse it with 400 before it reaches the server. A 2025-03-26 batch holding one is refused as
       * a whole (as a batch with an envelope-invalid member already is): every request of it is then
       * answered by that 400, none waits for a response that never comes.
       */
      const mounts: Array<[string, SdkMajor, { bodyParser?: boolean }]> = [
        ['SDK v2 server, body read by the endpoint', 'v2', {}],
        ['SDK v1 server, behind the host body parser', 'v1', { bodyParser: true }],
      ];
      describe.each(mounts)('%s', (_name, major, host) => {
        let app: RunningApp | undefined;
        let current: FuzzSession;
        let batching: FuzzSession;
        let nextId = 100;
        beforeAll(async () => {
          app = await harness.start({ server: serverFactory(major) }, host);
          current = await openSession(app.url, '2025-11-25');
          batching = await openSession(app.url, '2025-03-26');
        });
        afterAll(async () => app?.close());

        const shapes: Array<[string, (id: number) => string]> = [
          ['a non-integer id (5.5)', () => '{"jsonrpc":"2.0","id":5.5,"method":"ping"}'],
          ['an id above 2^53 (9007199254740993)', () => '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'],
          ['an extra top-level key', (id) => `{"jsonrpc":"2.0","id":${id},"method":"ping","extra":true}`],
          ['params {"_meta": null}', (id) => `{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"_meta":null}}`],
          [
            'a progressToken {}',
            (id) =>
              `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"progressToken":{}}}}`,
          ],
          ['a __proto__ key', (id) => `{"jsonrpc":"2.0","id":${id},"method":"ping","__proto__":{"polluted":true}}`],
        ];

        it.each(shapes)(`refuses %s with 400 and a JSON-RPC error within ${QUICK_MS} ms`, async (_shape, body) => {
          const answer = await postWithin(app!.url, body(nextId++), sessionHeaders(current), QUICK_MS);
          expectRefused(answer, host.bodyParser === true);
          await expectEcho(app!.url, current, nextId++);
        });

        it(`refuses a 2025-03-26 batch in which one request is such a shape, as a whole, with 400 within ${QUICK_MS} ms`, async () => {
          const [a, b] = [nextId++, nextId++];
          const body = [
            `{"jsonrpc":"2.0","id":${a},"method":"ping"}`,
            `{"jsonrpc":"2.0","id":${b},"method":"tools/call","params":{"name":"echo","arguments":{"text":"b"}}}`,
            '{"jsonrpc":"2.0","id":5.5,"method":"ping"}',
          ];
          expectRefused(await postWithin(app!.url, `[${body.join(',')}]`, sessionHeaders(batching), QUICK_MS), host.bodyParser === true);
          await expectEcho(app!.url, batching, nextId++);
        });

        it(`answers a 2025-03-26 batch with duplicate ids once per request, or refuses it as a whole with 400, within ${QUICK_MS} ms`, async () => {
          const id = nextId++;
          const body = `[{"jsonrpc":"2.0","id":${id},"method":"ping"},{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"dup"}}}]`;
          const answer = await postWithin(app!.url, body, sessionHeaders(batching), QUICK_MS);
          if (answer.status === 400) {
            expectRefused(answer, host.bodyParser === true);
          } else {
            expect(answer.status, answer.text).toBe(200);
            const responses = messagesOf(answer).filter((message) => isObject(message) && !('method' in message));
            const ids = responses.map((response) => idKey((response as { id?: unknown }).id));
            expect(ids, `${ids.length} response(s) for 2 requests: ${answer.text}`).toEqual([idKey(id), idKey(id)]);
          }
          await expectEcho(app!.url, batching, nextId++);
        });
      });
    });
  });
}
