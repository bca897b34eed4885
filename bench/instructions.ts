/**
 * The `instructions` case: the CPU instructions a server spends per `tools/call`, counted by
 * valgrind's callgrind, for the eras case's lanes. Where the eras case reads each target's CPU time,
 * which moves with whatever else the machine runs (±40% between runs on a shared host), this count
 * moves less between runs, though timing still decides how many calls a turn of the event loop serves
 * (in five runs here: up to 16% for the SDK's handler, 1% for ours on Fastify in the 2026-07-28 lane, one
 * session-lane run 24% above the other four): the steadier check of the eras case's targets. It
 * leaves out what the kernel does for the process (one `read` and one `writev` per call, the same for
 * every target), so it says more about the code than about the whole cost of a call.
 *
 * Each target runs under `valgrind --tool=callgrind --instr-atstart=no`, serving the eras case's
 * server (the conformance fixture with `echo`); after `warm` calls at concurrency 8 (V8 has
 * optimized the path by then), counting is switched on for `counted` calls and off again
 * (`callgrind_control`), and the count divided by the calls. Needs valgrind (`apt-get install
 * valgrind`); a run takes about four minutes, most of it the SDK's handler, fifty times slower under
 * callgrind. Run alone (`pnpm bench --cases instructions`), it replaces its section of RESULTS.md.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADAPTERS, LANE_TITLES, type Lane, type LaneKey, SDK_BOUND, SESSION_BOUND, laneOperation } from './eras.js';
import { type Checkout, DIST_HOOK } from './harness.js';
import { openPool, runFor } from './load.js';
import type { ChildMessage } from './protocol.js';

/**
 * The lanes counted: those of the eras case's targets that decide its verdicts (the SDK's 2026-07-28
 * handler, and each adapter's 2026-07-28 and session lanes), and Express with no MCP at all, answering
 * the same POSTs with fixed bodies: what Express itself costs.
 */
export const INSTRUCTION_LANES: readonly LaneKey[] = [
  { target: 'sdk-v2-handler', lane: 'modern' },
  ...ADAPTERS.flatMap(([, target]) => (['modern', 'session'] as const).map((lane) => ({ target, lane }))),
  { target: 'express-floor', lane: 'session' },
];

export interface InstructionCounts {
  readonly warm: number;
  readonly counted: number;
  readonly concurrency: number;
}

/** The SDK's handler is slow under callgrind: it gets fewer calls (its count per call varies least). */
const SDK_SHARE = 3;

export interface InstructionSample {
  readonly lane: LaneKey;
  readonly calls: number;
  readonly perCall: number;
}

function requireValgrind(): void {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the instructions case needs valgrind and callgrind_control on PATH (apt-get install valgrind)');
  }
}

/**
 * Ends a target under callgrind: SIGTERM lets valgrind remove its control pipes (SIGKILL would leave
 * them in the temporary directory); SIGKILL when it has not exited in 10 s.
 */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<boolean>((resolve) => proc.once('exit', () => resolve(true)));
  proc.kill('SIGTERM');
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref());
  if (!(await Promise.race([exited, timer]))) proc.kill('SIGKILL');
}

/** Counts one lane of one target in a process of its own under callgrind. */
async function countLane(self: Checkout, lane: LaneKey, counts: InstructionCounts): Promise<InstructionSample> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  const share = lane.target === 'sdk-v2-handler' ? SDK_SHARE : 1;
  const proc = fork(join(self.root, 'bench', 'targets.ts'), [lane.target, 'conformance'], {
    cwd: self.root,
    execPath: 'valgrind',
    execArgv: [
      '-q',
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      process.execPath,
      '--import',
      'tsx',
      ...(self.from === 'dist' ? ['--import', DIST_HOOK] : []),
      '--conditions=@x/source',
      '--expose-gc',
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const control = (...flags: string[]) => execFileSync('callgrind_control', [...flags, String(proc.pid)], { stdio: 'ignore' });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${lane.target} did not start under callgrind in 120 s`)), 120_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${lane.target} exited under callgrind before it was ready`));
      });
      proc.on('message', (message: ChildMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve(message.port);
      });
    });
    const pool = openPool(`http://127.0.0.1:${port}`, counts.concurrency);
    try {
      const op = await laneOperation(pool, lane.lane);
      const limits = (calls: number) => ({ durationMs: 1_800_000, maxOps: Math.ceil(calls / share) });
      const warm = await runFor(counts.concurrency, limits(counts.warm), op);
      if (warm.errors > 0) throw new Error(`${lane.target} ${lane.lane}: ${warm.errors} errors while warming (${warm.firstError})`);
      control('-i', 'on');
      const run = await runFor(counts.concurrency, limits(counts.counted), op);
      control('-i', 'off');
      control('-d');
      if (run.errors > 0) throw new Error(`${lane.target} ${lane.lane}: ${run.errors} errors while counted (${run.firstError})`);
      let instructions = 0;
      for (const file of readdirSync(dir)) {
        const totals = /^totals:\s*(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
        if (totals !== null) instructions += Number(totals[1]);
      }
      if (instructions === 0) throw new Error(`${lane.target} ${lane.lane}: callgrind wrote no count`);
      return { lane, calls: run.ops, perCall: instructions / run.ops };
    } finally {
      await pool.close();
    }
  } finally {
    await stop(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Counts every lane, one after another (callgrind runs one thread at a time: each takes a core). */
export async function measureInstructions(self: Checkout, counts: InstructionCounts): Promise<InstructionSample[]> {
  requireValgrind();
  const samples: InstructionSample[] = [];
  for (const lane of INSTRUCTION_LANES) {
    const sample = await countLane(self, lane, counts);
    console.log(
      `instructions ${lane.target.padEnd(14)} ${lane.lane.padEnd(8)} ${Math.round(sample.perCall / 1000)} k/call (${sample.calls} calls)`,
    );
    samples.push(sample);
  }
  return samples;
}

export const INSTRUCTIONS_BEGIN = '<!-- instructions:begin (pnpm bench --cases instructions replaces this section) -->';
export const INSTRUCTIONS_END = '<!-- instructions:end -->';

const thousands = (value: number) => `${Math.round(value / 1000).toLocaleString('en-US')} k`;

/** The section of RESULTS.md, markers included. */
export function instructionsSection(
  samples: readonly InstructionSample[],
  meta: { date: string; command: string; commit: string; machine: string; elapsedS: number },
  counts: InstructionCounts,
): string[] {
  const of = (target: string, lane: Lane) => samples.find((s) => s.lane.target === target && s.lane.lane === lane)?.perCall ?? Number.NaN;
  const sdk = of('sdk-v2-handler', 'modern');
  const title = (lane: LaneKey) => (lane.target === 'express-floor' ? 'no MCP: fixed answers (Express alone)' : LANE_TITLES[lane.lane]);
  const rows = samples.map(
    (s) =>
      `| \`${s.lane.target}\` | ${title(s.lane)} | ${thousands(s.perCall)} | ${s.calls.toLocaleString('en-US')} | ${(s.perCall / sdk).toFixed(3)}× |`,
  );
  const floor = of('express-floor', 'session');
  const verdict = (adapter: string, target: string) => {
    const modern = of(target, 'modern');
    const session = of(target, 'session');
    return [
      `| 2026-07-28 on ${adapter}: ≤ 1/10 of the SDK’s \`createMcpHandler\` | ${modern / sdk <= SDK_BOUND ? '**met**' : '**not met**'} | ${thousands(modern)} vs ${thousands(sdk)}: **${(modern / sdk).toFixed(3)}×** |`,
      `| 2026-07-28 on ${adapter}: ≤ 1.5× our legacy-session lane | ${modern / session <= SESSION_BOUND ? '**met**' : '**not met**'} | ${thousands(modern)} vs ${thousands(session)}: **${(modern / session).toFixed(2)}×** |`,
    ];
  };
  return [
    INSTRUCTIONS_BEGIN,
    '## Instructions per tools/call (callgrind): the eras case without the noise',
    '',
    `Measured by \`${meta.command}\` on ${meta.date}, commit ${meta.commit}; the case took ${meta.elapsedS.toFixed(0)} s.`,
    `Machine: ${meta.machine}.`,
    '',
    'The eras case’s server and lanes, each target in a process of its own under valgrind’s callgrind:',
    `${counts.warm.toLocaleString('en-US')} calls at concurrency ${counts.concurrency} to warm it (the SDK’s handler 1/${SDK_SHARE} of that), then the`,
    `instructions of the next ${counts.counted.toLocaleString('en-US')} (the SDK’s: 1/${SDK_SHARE}) counted, divided by the calls. The count moves`,
    'less than CPU time between runs, though timing still decides how many calls a turn of the event loop',
    'serves (bench/instructions.ts says by how much it moved across runs); it leaves out the kernel’s work for',
    'the process (one `read` and one `writev` a call for every target), which the eras case’s CPU time',
    'includes: a target’s share of that time is larger than its share of these instructions.',
    '',
    '| target | lane | instructions per call | calls counted | × the SDK’s 2026-07-28 |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '| target | verdict | numbers |',
    '| --- | --- | --- |',
    ...ADAPTERS.flatMap(([adapter, target]) => verdict(adapter, target)),
    ...(Number.isFinite(floor)
      ? [
          '',
          `On Express, Express alone (\`express-floor\`: reading each body and answering a fixed JSON-RPC result, no`,
          `MCP) runs ${thousands(floor)} instructions a call, ${(floor / sdk).toFixed(3)}× the SDK’s whole 2026-07-28 call on \`node:http\`, which`,
          `leaves ${thousands(Math.max(0, sdk * SDK_BOUND - floor))} for everything MCP does under the first target; ours adds ${thousands(of('ours-auto', 'modern') - floor)} (our whole`,
          `2026-07-28 call on Fastify, HTTP included, is ${thousands(of('ours-fastify', 'modern'))}). Express swaps the prototype of every request object and`,
          'adds properties to it, and `--log-ic` shows the reads of it in Node’s stream code and in ours missing',
          'V8’s inline caches.',
        ]
      : []),
    INSTRUCTIONS_END,
  ];
}
