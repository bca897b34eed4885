/**
 * `pnpm bench`: starts each target server in a child process, one after another, drives it with the
 * load generator in alternating rounds, and writes bench/RESULTS.md.
 *
 *   pnpm bench                          # every case (tools, init, heap, tokens, eras), 5 rounds, heap at 10,000
 *                                       # and 100,000 idle sessions
 *   pnpm bench --cases tokens           # token validation per request against the memory-store lookup, alone
 *   pnpm bench --cases eras             # tools/call in each era and legacy mode against the SDK's createMcpHandler,
 *                                       # alone: replaces only its own section of RESULTS.md
 *   pnpm bench --cases eras --rounds 3 --eras-targets sdk-v2-handler,ours-fastify
 *   pnpm bench --sessions 10000         # the heap case at 10,000 sessions only
 *   pnpm bench --cases tools --rounds 3 --targets ours-json,sdk-v2-json
 *   pnpm bench --profile ours-json      # V8 profile of one target under tools/call c=32; no RESULTS.md
 *   pnpm bench --profile ours-auto --profile-case init   # ... under session creation c=32
 *   pnpm bench --profile ours-fastify --profile-case modern  # ... 2026-07-28 tools/call c=32 (the eras case's server)
 *
 * The `eras` case (bench/eras.ts) measures a `tools/call` at c=1 and c=32 in the 2026-07-28 lane, in a
 * legacy session and legacy stateless, of ours on Fastify, Express and Koa and of the SDK v2
 * (`createMcpHandler`, a server per request; its sessionful transport), every target serving the
 * conformance fixture server with `echo`, and judges the issue's targets for 2026-07-28: server CPU
 * per call at most 1/10 of `createMcpHandler`'s, and within 1.5× of our legacy-session lane on the
 * same adapter. Run with other cases it is a section of the full report; run alone it rewrites only
 * that section (between its markers), so the rest of RESULTS.md keeps the full run's numbers. At the
 * default 5 rounds it takes about 6 minutes on 2 cores. `--profile-case modern|session|stateless`
 * profiles one of its lanes on its server.
 *
 *   pnpm bench --cases instructions     # instructions per tools/call under valgrind's callgrind, alone
 *
 * The `instructions` case (bench/instructions.ts) counts the instructions a server runs per call in the
 * eras case's deciding lanes (the SDK's 2026-07-28 `createMcpHandler`; ours on Fastify, Express and Koa,
 * 2026-07-28 and in a session): steadier than CPU time, which moves by up to ±40% with the machine's
 * other work, though not fixed (see its file). Not in the default cases: it needs valgrind and takes
 * about four minutes. It rewrites only its own section of RESULTS.md, which a full run keeps. `--instructions-warm` and
 * `--instructions-calls` (default 6000 and 3000) set the calls before and while counting.
 *
 * Our packages load in every target from their build (packages/<name>/dist, built first by `pnpm build`
 * through turbo's cache: what a user installs); `--from source` loads their TypeScript sources through
 * tsx instead, whose `keepNames` adds a `__name()` call to every function made at run time.
 *
 * `--note "<text>"` adds a sentence about the machine to the report (`Shared with other test runs.`).
 *
 * `--baseline <dir>` compares this checkout with another checkout of the repository (a worktree of an
 * older commit, with its dependencies installed) in one run: every selected target is also started
 * from <dir>/bench/targets.ts with <dir> as its working directory, so that checkout's own packages
 * load; the two run back to back in every round, which goes first alternating and the targets'
 * order rotating. It measures tools/call (c=1, c=32) and session creation (`--cases tools,init`, the
 * default; no heap), prints and writes (default bench/.scratch/COMPARE.md, `--out` to change; never
 * RESULTS.md) each checkout's median server CPU per op and ops/s, the ratios this/baseline, and
 * whether CPU per op is within 5%: judged from the per-round paired ratios, so a run whose rounds
 * disagree by more than that says it did not decide. Default targets: ours-auto,ours-fastify,ours-koa.
 * It fails before the first round when the baseline's bench lacks a chosen target or the `cpu` command.
 *
 *   pnpm bench --baseline ../base --cases tools --targets ours-auto,ours-fastify --rounds 5
 *   pnpm bench --baseline ../base --profile ours-fastify  # profile the baseline's target instead
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Pool } from 'undici';
import { checkBaseline, compare } from './compare.js';
import {
  type Checkout,
  type PackageSource,
  buildCheckout,
  packagesLine,
  Child,
  MAX_OPS,
  REPORTED_PACKAGES,
  commitOf,
  loadSampler,
  machineInfo,
  markedSection,
  measureInit,
  measureTools,
  replaceMarkedSection,
  versionOf,
  withPool,
} from './harness.js';
import {
  ERAS_TARGETS,
  type ErasResult,
  LANES,
  type Lane,
  erasLanes,
  erasSection,
  laneOperation,
  measureEras,
  replaceErasSection,
} from './eras.js';
import { callEcho, openSession, runFor } from './load.js';
import { INSTRUCTIONS_BEGIN, INSTRUCTIONS_END, instructionsSection, measureInstructions } from './instructions.js';
import { summarizeProfile } from './profile.js';
import { CREATION_ONLY, ERAS_ONLY, type TargetName, TARGETS, isTargetName } from './protocol.js';
import { type HeapResult, type Meta, type Sample, type ThroughputCase, renderReport } from './report.js';
import { type TokenCaseResult, measureTokens, tokenSection } from './tokens.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const THROUGHPUT_TARGETS: TargetName[] = [
  'ours-json',
  'ours-auto',
  'ours-sse',
  'ours-sse-noevents',
  'ours-lazy',
  'ours-fastify',
  'ours-fastify-lazy',
  'ours-koa',
  'ours-redis',
  'ours-tokens',
  'sdk-v2-sse',
  'sdk-v2-json',
  'sdk-v1-sse',
  'express-floor',
];
const HEAP_TARGETS: TargetName[] = ['ours-auto', 'ours-hibernate', 'ours-lazy', 'sdk-v2-sse', 'sdk-v1-sse'];
/** Heap targets sampled at the first checkpoint only: SDK v1 creates sessions slowest, and SDK v2 is the baseline. */
const FIRST_CHECKPOINT_ONLY: ReadonlySet<TargetName> = new Set(['sdk-v1-sse']);
/** Targets the heap case skips: `ours-redis` keeps its sessions in Redis, so its heap says nothing per session. */
const NO_HEAP: ReadonlySet<TargetName> = new Set(['ours-redis']);
const WARM_SESSIONS = 200;
/** The versions the eras section names (a run of that case alone rewrites no other part of the report). */
const ERAS_PACKAGES = ['@modelcontextprotocol/server', '@modelcontextprotocol/node', 'fastify', 'express'];
/** `--baseline`: the adapters, each on its own framework. */
const COMPARE_TARGETS: TargetName[] = ['ours-auto', 'ours-fastify', 'ours-koa'];

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'warmup-ms': { type: 'string', default: '400' },
    'measure-ms': { type: 'string', default: '1500' },
    sessions: { type: 'string', default: '10000,100000' },
    targets: { type: 'string' },
    'heap-targets': { type: 'string', default: HEAP_TARGETS.join(',') },
    'eras-targets': { type: 'string', default: ERAS_TARGETS.map(([target]) => target).join(',') },
    note: { type: 'string' },
    cases: { type: 'string' },
    out: { type: 'string' },
    baseline: { type: 'string' },
    profile: { type: 'string' },
    'profile-ms': { type: 'string', default: '10000' },
    'profile-case': { type: 'string', default: 'tools' },
    from: { type: 'string', default: 'dist' },
    'instructions-warm': { type: 'string', default: '6000' },
    'instructions-calls': { type: 'string', default: '3000' },
  },
});

if (args.from !== 'dist' && args.from !== 'source') throw new Error(`--from must be dist or source, got ${args.from}`);
/** Where our packages load from in every target (`--from`): their build, as a user installs them, by default. */
const from: PackageSource = args.from;
const self: Checkout = { label: 'this', root, from };

function positive(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return number;
}

function targetList(value: string | undefined): TargetName[] {
  const names = (value ?? '').split(',').filter((name) => name !== '');
  for (const name of names) if (!isTargetName(name)) throw new Error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`);
  return names as TargetName[];
}

const settings = {
  rounds: positive('rounds', args.rounds),
  warmupMs: positive('warmup-ms', args['warmup-ms']),
  measureMs: positive('measure-ms', args['measure-ms']),
  /** Idle-session counts the heap case samples at, ascending: one process per target grows through them. */
  sessions: (args.sessions ?? '')
    .split(',')
    .map((value) => positive('sessions', value))
    .sort((a, b) => a - b),
  targets: targetList(args.targets ?? (args.baseline === undefined ? THROUGHPUT_TARGETS : COMPARE_TARGETS).join(',')),
  heapTargets: targetList(args['heap-targets']),
  /** The lanes of the eras case's targets; throws now for a target it does not measure. */
  erasLanes: erasLanes(targetList(args['eras-targets'])),
  cases: new Set((args.cases ?? (args.baseline === undefined ? 'tools,init,heap,tokens,eras' : 'tools,init')).split(',')),
  out: args.out ?? join(here, args.baseline === undefined ? 'RESULTS.md' : join('.scratch', 'COMPARE.md')),
};

function toolsCase(concurrency: number): ThroughputCase {
  return {
    title: `tools/call echo, one session, concurrency ${concurrency}`,
    op: 'one `tools/call` POST, answered',
    samples: new Map(),
  };
}

const cases = {
  tools1: toolsCase(1),
  tools32: toolsCase(32),
  init32: {
    title: 'Session creation, concurrency 32',
    op: '`initialize` POST + `notifications/initialized` POST (SDK targets: a new transport and server each)',
    samples: new Map(),
  } satisfies ThroughputCase,
};

function record(entry: ThroughputCase, target: TargetName, sample: Sample): void {
  const list = entry.samples.get(target) ?? [];
  list.push(sample);
  entry.samples.set(target, list);
}

async function throughputRound(target: TargetName, round: number): Promise<void> {
  if (ERAS_ONLY.has(target)) throw new Error(`${target} has no sessions: the eras case measures it (--eras-targets), not tools or init`);
  const child = new Child(target, self);
  try {
    const notes: string[] = [];
    if (settings.cases.has('tools') && !CREATION_ONLY.has(target)) {
      for (const [concurrency, entry] of [
        [1, cases.tools1],
        [32, cases.tools32],
      ] as const) {
        const sample = await measureTools(child, settings, concurrency);
        record(entry, target, sample);
        notes.push(`tools c=${concurrency} ${Math.round(sample.opsPerSec)}/s ${sample.cpuUsPerOp.toFixed(0)}µs`);
      }
    }
    if (settings.cases.has('init')) {
      const sample = await measureInit(child, settings);
      record(cases.init32, target, sample);
      notes.push(`init c=32 ${Math.round(sample.opsPerSec)}/s ${sample.cpuUsPerOp.toFixed(0)}µs`);
    }
    console.log(`round ${round + 1} ${target.padEnd(17)} ${notes.join(' | ')}`);
  } finally {
    await child.close();
  }
}

/**
 * Creates idle sessions in one target process up to each checkpoint in turn, sampling the heap (after
 * forced GCs) at each; per-session figures are relative to the sample taken after the warm-up.
 */
async function heapCase(target: TargetName): Promise<HeapResult[]> {
  const checkpoints = FIRST_CHECKPOINT_ONLY.has(target) ? settings.sessions.slice(0, 1) : settings.sessions;
  const largest = checkpoints.at(-1) ?? 0;
  const child = new Child(target, self, { execArgv: largest > 20_000 ? ['--max-old-space-size=8192'] : [] });
  const results: HeapResult[] = [];
  try {
    const origin = await child.origin();
    await withPool(origin, 32, async (pool) => {
      const hibernate = target === 'ours-hibernate';
      await runFor(32, { durationMs: 60_000, maxOps: WARM_SESSIONS }, () => openSession(pool));
      if (hibernate) await child.call('hibernate');
      const start = await child.call('sessions');
      const before = await child.call('mem');
      let created = 0;
      for (const checkpoint of checkpoints) {
        const run = await runFor(32, { durationMs: 420_000, maxOps: checkpoint - created }, () => openSession(pool));
        created += run.ops + run.errors;
        const live = hibernate ? (await child.call('hibernate', 300_000)).live : (await child.call('sessions')).live;
        const end = await child.call('sessions');
        const after = await child.call('mem', 120_000);
        const sessions = end.sessions - start.sessions;
        const result: HeapResult = {
          target,
          checkpoint,
          sessions,
          heapBytesPerSession: (after.heapUsed - before.heapUsed) / sessions,
          rssBytesPerSession: (after.rss - before.rss) / sessions,
          createdPerSec: (run.ops / run.elapsedMs) * 1000,
          live,
          errors: run.errors,
        };
        results.push(result);
        console.log(
          `heap ${target.padEnd(14)} ${sessions} sessions, ${(result.heapBytesPerSession / 1024).toFixed(1)} KiB heap/session, ` +
            `${(result.rssBytesPerSession / 1024).toFixed(1)} KiB RSS/session, live ${live}${run.firstError ? `, first error: ${run.firstError}` : ''}`,
        );
      }
    });
    return results;
  } finally {
    await child.close();
  }
}

type ProfileCase = 'tools' | 'init' | Lane;
const PROFILE_CASES: readonly ProfileCase[] = ['tools', 'init', ...LANES];
const isProfileCase = (value: string | undefined): value is ProfileCase => PROFILE_CASES.some((name) => name === value);

/** The operation a profile measures: the tools and init cases' (echo server), or a lane of the eras case's. */
async function profileOperation(pool: Pool, which: ProfileCase): Promise<() => Promise<unknown>> {
  if (which === 'init') return () => openSession(pool);
  if (which === 'tools') {
    const session = await openSession(pool);
    let id = 0;
    return () => callEcho(pool, session, ++id);
  }
  return laneOperation(pool, which);
}

/**
 * `--profile <target>`: tools/call (or `--profile-case init`: session creation; `modern`, `session`,
 * `stateless`: a lane of the eras case, on its server) at c=32 with the V8 profiler running in the
 * target for the measured window only; writes bench/.profiles/<target>-<case>.cpuprofile (with
 * `--baseline`: the baseline checkout's target, <target>-<case>-baseline.cpuprofile) and prints the
 * top self times.
 */
async function profile(target: TargetName, which: ProfileCase, checkout: Checkout): Promise<void> {
  const tools = which === 'tools' || which === 'init' ? 'echo' : 'conformance';
  const child = new Child(target, checkout, { labelled: checkout !== self, tools });
  let json: string;
  try {
    json = await withPool(await child.origin(), 32, async (pool) => {
      const op = await profileOperation(pool, which);
      await runFor(32, { durationMs: settings.warmupMs, maxOps: MAX_OPS }, op);
      await child.call('profileStart');
      const run = await runFor(32, { durationMs: positive('profile-ms', args['profile-ms']), maxOps: MAX_OPS }, op);
      const { profile: recorded } = await child.call('profileStop');
      const rate = (run.ops / run.elapsedMs) * 1000;
      console.log(
        `${child.label}: ${run.ops} × ${which} in ${(run.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s), ${run.errors} errors`,
      );
      return recorded;
    });
  } finally {
    await child.close();
  }
  const dir = join(here, '.profiles');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${target}-${which}${checkout === self ? '' : `-${checkout.label}`}.cpuprofile`);
  writeFileSync(file, json);
  const summary = summarizeProfile(json, [checkout.root]);
  const pct = (ms: number) => `${((ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n${relative(root, file)}: ${summary.totalMs.toFixed(0)} ms sampled\n\n self ms  self %  function`);
  for (const f of summary.functions) console.log(`${f.selfMs.toFixed(0).padStart(8)}  ${pct(f.selfMs)}  ${f.name}  ${f.where}`);
  console.log('\n self ms  self %  by package');
  for (const o of summary.origins) console.log(`${o.selfMs.toFixed(0).padStart(8)}  ${pct(o.selfMs)}  ${o.origin}`);
}

/** What a case's section says of the machine, where our packages loaded from, and the versions of `packages`. */
function machineLine(packages: readonly string[]): string {
  return [...machineInfo(), packagesLine(from), ...packages.map((pkg): [string, string] => [pkg, versionOf(root, pkg)])]
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

async function main(): Promise<void> {
  const baseline: Checkout | undefined =
    args.baseline === undefined
      ? undefined
      : {
          label: 'baseline',
          root: await checkBaseline(args.baseline, root, args.profile === undefined ? settings.targets : targetList(args.profile)),
          from,
        };
  buildCheckout(self);
  if (baseline !== undefined) buildCheckout(baseline);
  if (args.profile !== undefined) {
    const [target] = targetList(args.profile);
    if (target === undefined) throw new Error('--profile needs a target name');
    const which = args['profile-case'];
    if (!isProfileCase(which)) throw new Error(`--profile-case must be one of ${PROFILE_CASES.join(', ')}`);
    return profile(target, which, baseline ?? self);
  }
  const command = ['pnpm bench', ...process.argv.slice(2).map((arg) => (/[\s"']/.test(arg) ? JSON.stringify(arg) : arg))].join(' ');
  if (baseline !== undefined) {
    const unknown = [...settings.cases].filter((name) => name !== 'tools' && name !== 'init');
    if (unknown.length > 0) throw new Error(`--baseline compares the cases tools and init only, not ${unknown.join(', ')}`);
    if (relative(here, settings.out) === 'RESULTS.md') throw new Error('--baseline does not write bench/RESULTS.md; give another --out');
    return compare({
      self,
      baseline,
      targets: settings.targets,
      cases: { tools: settings.cases.has('tools'), init: settings.cases.has('init') },
      rounds: settings.rounds,
      windows: settings,
      out: settings.out,
      command,
    });
  }
  if (settings.cases.has('instructions')) {
    if (settings.cases.size > 1) throw new Error('--cases instructions runs alone (it needs valgrind and the machine to itself)');
    const counts = {
      warm: positive('instructions-warm', args['instructions-warm']),
      counted: positive('instructions-calls', args['instructions-calls']),
      concurrency: 8,
    };
    const started = performance.now();
    const samples = await measureInstructions(self, counts);
    const machine = machineLine(['@modelcontextprotocol/server']);
    const elapsedS = (performance.now() - started) / 1000;
    const section = instructionsSection(
      samples,
      { date: new Date().toISOString(), command, commit: commitOf(root), machine, elapsedS },
      counts,
    );
    replaceMarkedSection(settings.out, section, INSTRUCTIONS_BEGIN, INSTRUCTIONS_END);
    console.log(`\nwrote the instructions section of ${relative(process.cwd(), settings.out)} in ${elapsedS.toFixed(0)} s`);
    return;
  }
  const started = performance.now();
  // Other work on the machine skews ops/s: record the 1-minute load average through the run.
  const load = loadSampler();
  if (settings.cases.has('tools') || settings.cases.has('init')) {
    for (let round = 0; round < settings.rounds; round += 1) {
      // Rotate the order each round so no target always runs first (or right after another).
      const shift = round % settings.targets.length;
      const order = [...settings.targets.slice(shift), ...settings.targets.slice(0, shift)];
      for (const target of order) await throughputRound(target, round);
    }
  }
  const heap: HeapResult[] = [];
  if (settings.cases.has('heap')) {
    for (const target of settings.heapTargets) {
      if (NO_HEAP.has(target)) console.log(`heap ${target}: skipped (its session records live in Redis, not in the heap)`);
      else heap.push(...(await heapCase(target)));
    }
  }

  let tokens: TokenCaseResult | undefined;
  if (settings.cases.has('tokens')) tokens = await measureTokens(settings.rounds, settings.measureMs);

  let eras: ErasResult | undefined;
  if (settings.cases.has('eras')) {
    const erasLoad = loadSampler();
    eras = await measureEras({ self, lanes: settings.erasLanes, rounds: settings.rounds, windows: settings });
    eras.load = erasLoad.stop();
  }

  const loadSeen = load.stop();
  const elapsedS = (performance.now() - started) / 1000;
  const erasLines =
    eras === undefined
      ? []
      : erasSection(
          eras,
          {
            date: new Date().toISOString(),
            command,
            commit: commitOf(root),
            machine: machineLine(ERAS_PACKAGES),
            note: args.note,
          },
          settings,
          settings.rounds,
        );
  if (eras !== undefined && settings.cases.size === 1) {
    // Alone, the case replaces its own section: the rest of the file keeps the full run's numbers.
    replaceErasSection(settings.out, erasLines);
    console.log(`\nwrote the eras section of ${relative(process.cwd(), settings.out)} in ${elapsedS.toFixed(0)} s`);
    return;
  }
  const meta: Meta = {
    date: new Date().toISOString(),
    command,
    elapsedS,
    machine: [
      ...machineInfo(),
      packagesLine(from),
      ['commit', commitOf(root)],
      ['load average (1 min) during the run', loadSeen],
      ...(args.note === undefined ? [] : [['note', args.note] as [string, string]]),
    ],
    versions: REPORTED_PACKAGES.map((pkg): [string, string] => [pkg, versionOf(root, pkg)]),
    settings: [
      ['rounds', String(settings.rounds)],
      ['warm-up / measured window', `${settings.warmupMs} ms / ${settings.measureMs} ms per target, case and round`],
      ['idle sessions (heap case)', settings.sessions.map((n) => n.toLocaleString('en-US')).join(' and ')],
      ['protocol version', '2025-11-25 (the eras case: 2026-07-28 too)'],
    ],
  };
  const measured = [cases.tools1, cases.tools32, cases.init32].filter((entry) => entry.samples.size > 0);
  const tokenLines = tokens === undefined ? [] : tokenSection(tokens, [cases.tools1, cases.tools32]);
  const sections = tokenLines.length > 0 && erasLines.length > 0 ? [...tokenLines, '', ...erasLines] : [...tokenLines, ...erasLines];
  // A full run rewrites the file: the instructions case's section (run on its own) stays.
  const kept = markedSection(settings.out, INSTRUCTIONS_BEGIN, INSTRUCTIONS_END);
  const withKept = kept.length === 0 ? sections : sections.length === 0 ? kept : [...sections, '', ...kept];
  writeFileSync(settings.out, renderReport(meta, measured, heap, cases, withKept));
  console.log(`\nwrote ${relative(process.cwd(), settings.out)} in ${elapsedS.toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
