/**
 * `pnpm bench --baseline <dir>`: the same targets from two checkouts in one run. Every selected
 * target is started from this checkout's bench/targets.ts and from the baseline's (each child with
 * its checkout as cwd, so its own packages load), back to back in every round; which checkout goes
 * first alternates by round and the targets' order rotates. The report gives, per target and case,
 * the median server CPU per operation and ops/s of each checkout and their ratio this/baseline.
 */
import { existsSync, mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Checkout,
  Child,
  REPORTED_PACKAGES,
  type Windows,
  commitOf,
  loadSampler,
  machineInfo,
  packagesLine,
  measureInit,
  measureTools,
  versionOf,
} from './harness.js';
import { CREATION_ONLY, type TargetName } from './protocol.js';
import { type Sample, median } from './report.js';

/** CPU per operation within this fraction of the baseline's counts as unchanged. */
const TOLERANCE = 0.05;

type CaseKey = 'tools1' | 'tools32' | 'init32';

const CASE_TITLES: Record<CaseKey, string> = {
  tools1: 'tools/call c=1',
  tools32: 'tools/call c=32',
  init32: 'session creation c=32',
};

export interface CompareOptions {
  self: Checkout;
  baseline: Checkout;
  targets: TargetName[];
  cases: { tools: boolean; init: boolean };
  rounds: number;
  windows: Windows;
  out: string;
  /** The command line, for the report. */
  command: string;
}

/** Both checkouts' samples of one target and case, index = round. */
interface Pair {
  self: Sample[];
  baseline: Sample[];
}

/**
 * Checks that `dir` is a checkout this run can start targets from, and that its bench knows every
 * selected target. Throws with what is missing.
 */
export async function checkBaseline(dir: string, selfRoot: string, targets: TargetName[]): Promise<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--baseline ${dir}: no such directory`);
  const root = realpathSync(dir);
  if (root === realpathSync(selfRoot)) throw new Error(`--baseline ${dir} is this checkout; give the other checkout's directory`);
  if (!existsSync(join(root, 'bench', 'targets.ts'))) {
    throw new Error(`--baseline ${root}: no bench/targets.ts there (a checkout of this repository with the bench is needed)`);
  }
  if (!existsSync(join(root, 'node_modules', 'tsx'))) {
    throw new Error(`--baseline ${root}: its dependencies are not installed (no node_modules/tsx); run pnpm install there`);
  }
  const protocol = join(root, 'bench', 'protocol.ts');
  if (!existsSync(protocol)) {
    console.warn(`--baseline ${root}: no bench/protocol.ts to list its targets; a target it lacks fails when it starts`);
    return root;
  }
  const known = ((await import(pathToFileURL(protocol).href)) as { TARGETS?: Record<string, string> }).TARGETS;
  if (known === undefined) throw new Error(`--baseline ${root}: its bench/protocol.ts exports no TARGETS`);
  const missing = targets.filter((target) => !Object.hasOwn(known, target));
  if (missing.length > 0) {
    throw new Error(
      `--baseline ${root}: its bench/targets.ts does not know ${missing.join(', ')}; it knows ${Object.keys(known).join(', ')}`,
    );
  }
  return root;
}

/** Starts each target from each checkout once and reads its CPU, so a target or command the baseline lacks fails before any round. */
async function preflight(options: CompareOptions): Promise<void> {
  for (const target of options.targets) {
    for (const checkout of [options.self, options.baseline]) {
      const child = new Child(target, checkout, { labelled: true });
      try {
        await child.origin();
        await child.call('cpu', 10_000);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`the ${checkout.label} checkout (${checkout.root}) cannot run ${target}: ${why}`, { cause: error });
      } finally {
        await child.close();
      }
    }
  }
}

function record(samples: Map<CaseKey, Map<TargetName, Pair>>, key: CaseKey, target: TargetName, side: keyof Pair, sample: Sample) {
  const byTarget = samples.get(key) ?? new Map<TargetName, Pair>();
  const pair = byTarget.get(target) ?? { self: [], baseline: [] };
  pair[side].push(sample);
  byTarget.set(target, pair);
  samples.set(key, byTarget);
}

async function oneChild(
  options: CompareOptions,
  samples: Map<CaseKey, Map<TargetName, Pair>>,
  target: TargetName,
  side: keyof Pair,
  round: number,
): Promise<void> {
  const checkout = side === 'self' ? options.self : options.baseline;
  const child = new Child(target, checkout, { labelled: true });
  try {
    const notes: string[] = [];
    if (options.cases.tools && !CREATION_ONLY.has(target)) {
      for (const [concurrency, key] of [
        [1, 'tools1'],
        [32, 'tools32'],
      ] as const) {
        const sample = await measureTools(child, options.windows, concurrency);
        record(samples, key, target, side, sample);
        notes.push(`tools c=${concurrency} ${Math.round(sample.opsPerSec)}/s ${sample.cpuUsPerOp.toFixed(0)}µs`);
      }
    }
    if (options.cases.init) {
      const sample = await measureInit(child, options.windows);
      record(samples, 'init32', target, side, sample);
      notes.push(`init c=32 ${Math.round(sample.opsPerSec)}/s ${sample.cpuUsPerOp.toFixed(0)}µs`);
    }
    console.log(`round ${round + 1} ${target.padEnd(17)} ${checkout.label.padEnd(8)} ${notes.join(' | ')}`);
  } finally {
    await child.close();
  }
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(3)}×` : '–');
const signed = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%` : '–');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The web framework a target's app runs on. */
function framework(target: TargetName): string {
  if (target.startsWith('ours-fastify')) return 'Fastify';
  if (target === 'ours-koa') return 'Koa';
  return 'Express';
}

/**
 * A distribution-free confidence interval for the median of the per-round ratios (sorted): the k-th
 * smallest and k-th largest, k as large as keeps the coverage at 90% or more (5 rounds: min–max, 94%).
 */
function medianInterval(sorted: number[]): { low: number; high: number; coverage: number } {
  const n = sorted.length;
  if (n === 0) return { low: Number.NaN, high: Number.NaN, coverage: 0 };
  // P(Binomial(n, 1/2) <= j), accumulated.
  const tail: number[] = [];
  let term = 0.5 ** n;
  let sum = 0;
  for (let j = 0; j <= n; j += 1) {
    sum += term;
    tail.push(sum);
    term = (term * (n - j)) / (j + 1);
  }
  let k = 1;
  while (k + 1 <= Math.ceil(n / 2) && 1 - 2 * tail[k]! >= 0.9) k += 1;
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage: Math.max(0, 1 - 2 * tail[k - 1]!) };
}

type Call = 'within' | 'above' | 'below' | 'unresolved';

/**
 * Within 5% when the interval of the per-round CPU ratios lies inside ±5%, above or below when it
 * lies wholly outside; otherwise the rounds disagree more than the tolerance and the run does not
 * decide (the median ratio is still given).
 */
function call(row: Row): Call {
  const { low, high } = medianInterval(row.roundRatios);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 'unresolved';
  if (low >= 1 - TOLERANCE && high <= 1 + TOLERANCE) return 'within';
  if (low > 1 + TOLERANCE) return 'above';
  if (high < 1 - TOLERANCE) return 'below';
  return 'unresolved';
}

const CALLS: Record<Call, string> = {
  within: '**within 5%**',
  above: '**more than 5% above**',
  below: 'more than 5% below (faster)',
  unresolved: '**not resolved** (the rounds disagree by more than 5%)',
};

interface Row {
  target: TargetName;
  key: CaseKey;
  cpuSelf: number;
  cpuBase: number;
  opsSelf: number;
  opsBase: number;
  /** Each round's CPU per op, this/baseline, sorted. */
  roundRatios: number[];
  errors: number;
  firstError: string | undefined;
}

function rows(options: CompareOptions, samples: Map<CaseKey, Map<TargetName, Pair>>): Row[] {
  const out: Row[] = [];
  for (const target of options.targets) {
    for (const key of ['tools1', 'tools32', 'init32'] as const) {
      const pair = samples.get(key)?.get(target);
      if (pair === undefined) continue;
      const all = [...pair.self, ...pair.baseline];
      out.push({
        target,
        key,
        cpuSelf: median(pair.self.map((s) => s.cpuUsPerOp)),
        cpuBase: median(pair.baseline.map((s) => s.cpuUsPerOp)),
        opsSelf: median(pair.self.map((s) => s.opsPerSec)),
        opsBase: median(pair.baseline.map((s) => s.opsPerSec)),
        roundRatios: pair.self
          .map((s, round) => s.cpuUsPerOp / (pair.baseline[round]?.cpuUsPerOp ?? Number.NaN))
          .filter(Number.isFinite)
          .sort((a, b) => a - b),
        errors: all.reduce((sum, s) => sum + s.errors, 0),
        firstError: all.find((s) => s.firstError !== undefined)?.firstError,
      });
    }
  }
  return out;
}

function resultsTable(list: Row[]): string {
  return table(
    [
      'target',
      'case',
      'CPU µs/op this',
      'CPU µs/op baseline',
      'CPU this/baseline',
      'per-round CPU ratios (min–median–max)',
      'interval of their median',
      'ops/s this',
      'ops/s baseline',
      'ops/s this/baseline',
      'errors',
      'CPU per op within 5%?',
    ],
    list.map((row) => {
      const r = row.roundRatios;
      const interval = medianInterval(r);
      return [
        `\`${row.target}\` (${framework(row.target)})`,
        CASE_TITLES[row.key],
        fixed(row.cpuSelf, 1),
        fixed(row.cpuBase, 1),
        times(row.cpuSelf / row.cpuBase),
        r.length === 0 ? '–' : `${fixed(r[0]!, 3)}–${fixed(median(r), 3)}–${fixed(r.at(-1)!, 3)}`,
        `${fixed(interval.low, 3)}–${fixed(interval.high, 3)} (${(interval.coverage * 100).toFixed(0)}%)`,
        int(row.opsSelf),
        int(row.opsBase),
        times(row.opsSelf / row.opsBase),
        String(row.errors),
        CALLS[call(row)],
      ];
    }),
  );
}

/** One line per target: within 5% in every case, above in one, or not resolved. */
function verdicts(options: CompareOptions, list: Row[]): string[] {
  return options.targets.flatMap((target) => {
    const mine = list.filter((row) => row.target === target);
    if (mine.length === 0) return [];
    const calls = mine.map(call);
    const what = calls.every((c) => c === 'within' || c === 'below')
      ? calls.every((c) => c === 'within')
        ? CALLS.within
        : 'within 5% or lower'
      : calls.includes('above')
        ? CALLS.above
        : CALLS.unresolved;
    const detail = mine.map((row) => {
      const { low, high } = medianInterval(row.roundRatios);
      return (
        `${CASE_TITLES[row.key]} ${fixed(row.cpuSelf, 1)} vs ${fixed(row.cpuBase, 1)} µs ` +
        `(medians ${signed(row.cpuSelf / row.cpuBase - 1)}; rounds ${signed(low - 1)} to ${signed(high - 1)})`
      );
    });
    return [`- \`${target}\` (${framework(target)}): server CPU per op ${what}: ${detail.join('; ')}.`];
  });
}

function render(options: CompareOptions, list: Row[], meta: { date: string; elapsedS: number; load: string }): string {
  const { self, baseline } = options;
  const versionRows = REPORTED_PACKAGES.map((pkg) => {
    const a = versionOf(self.root, pkg);
    const b = versionOf(baseline.root, pkg);
    return [pkg, a, b === a ? b : `**${b}**`];
  });
  const [packages, loadedFrom] = packagesLine(self.from);
  const errors = list.filter((row) => row.firstError !== undefined);
  const out = [
    '# Side-by-side comparison: this checkout and a baseline',
    '',
    `Written by \`${options.command}\` on ${meta.date}; the run took ${meta.elapsedS.toFixed(0)} s.`,
    '',
    '## Checkouts, machine and versions',
    '',
    table(
      ['', 'this', 'baseline'],
      [['checkout', self.root, baseline.root], ['commit', commitOf(self.root), commitOf(baseline.root)], ...versionRows],
    ),
    '',
    table(
      ['', ''],
      [
        ...machineInfo(),
        [packages, `${loadedFrom}, in both checkouts`],
        ['load average (1 min) during the run', meta.load],
        ['rounds', String(options.rounds)],
        [
          'warm-up / measured window',
          `${options.windows.warmupMs} ms / ${options.windows.measureMs} ms per target, checkout, case and round`,
        ],
      ],
    ),
    '',
    '## Results',
    '',
    'Each round starts every target once from each checkout, the two back to back (which goes first',
    'alternates by round; the targets’ order rotates), each child with its own checkout as working',
    'directory, so its packages load from that checkout’s sources (`--conditions=@x/source`) and',
    'node_modules. Server CPU is `process.cpuUsage()` of the target process over the measured window,',
    'divided by operations; it is the steadier figure, ops/s shares the cores with the load generator',
    'and with whatever else runs on the machine. Ratios are of medians; the per-round ratios pair the',
    'two children of each round; the verdict takes the interval of their median (the k-th smallest and',
    'largest round, ≥ 90% coverage where the rounds allow: with 5 rounds, min–max at 94%). Within 5% means',
    'that interval lies inside 0.95–1.05; when it straddles a bound the run does not decide, whatever',
    'the medians say: run more rounds, or on a quieter machine.',
    '',
    resultsTable(list),
    '',
    '## Verdict',
    '',
    ...verdicts(options, list),
  ];
  if (errors.length > 0) {
    out.push(
      '',
      '## First error per target and case',
      '',
      ...errors.map((row) => `- \`${row.target}\` ${CASE_TITLES[row.key]}: ${row.firstError}`),
    );
  }
  return `${out.join('\n')}\n`;
}

export async function compare(options: CompareOptions): Promise<void> {
  const started = performance.now();
  const load = loadSampler();
  console.log(`this:     ${options.self.root} (${commitOf(options.self.root)})`);
  console.log(`baseline: ${options.baseline.root} (${commitOf(options.baseline.root)})`);
  const samples = new Map<CaseKey, Map<TargetName, Pair>>();
  let loadSeen: string;
  try {
    await preflight(options);
    for (let round = 0; round < options.rounds; round += 1) {
      // Rotate the targets each round; the two checkouts of a target run back to back, first in turn.
      const shift = round % options.targets.length;
      const order = [...options.targets.slice(shift), ...options.targets.slice(0, shift)];
      const sides: Array<keyof Pair> = round % 2 === 0 ? ['self', 'baseline'] : ['baseline', 'self'];
      for (const target of order) for (const side of sides) await oneChild(options, samples, target, side, round);
    }
  } finally {
    loadSeen = load.stop();
  }
  const elapsedS = (performance.now() - started) / 1000;
  const list = rows(options, samples);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, render(options, list, { date: new Date().toISOString(), elapsedS, load: loadSeen }));
  console.log(`\n${resultsTable(list)}\n\n${verdicts(options, list).join('\n')}`);
  console.log(`\nwrote ${relative(process.cwd(), options.out)} in ${elapsedS.toFixed(0)} s`);
}
