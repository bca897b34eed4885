/** Turns the samples of a run into bench/RESULTS.md. */
import { TARGETS, type TargetName } from './protocol.js';

/** One measured window of one target in one round. */
export interface Sample {
  opsPerSec: number;
  /** Server process CPU (user + system) per operation, microseconds. */
  cpuUsPerOp: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | undefined;
}

export interface ThroughputCase {
  title: string;
  /** What one operation is. */
  op: string;
  samples: Map<TargetName, Sample[]>;
}

export interface HeapResult {
  target: TargetName;
  sessions: number;
  heapBytesPerSession: number;
  rssBytesPerSession: number;
  createdPerSec: number;
  /** Servers still live in memory after the (optional) sweep. */
  live: number;
  errors: number;
}

export interface Meta {
  date: string;
  command: string;
  elapsedS: number;
  machine: Array<[string, string]>;
  versions: Array<[string, string]>;
  settings: Array<[string, string]>;
}

const BASE: TargetName = 'sdk-v2-sse';
const BASE_JSON: TargetName = 'sdk-v2-json';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ratio = (value: number, base: number) => (Number.isFinite(value / base) ? `${(value / base).toFixed(2)}×` : '–');
const kib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(1) : '–');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function throughputTable(entry: ThroughputCase): string {
  const med = (target: TargetName, pick: (s: Sample) => number) => median((entry.samples.get(target) ?? []).map(pick));
  const base = med(BASE, (s) => s.opsPerSec);
  const baseJson = med(BASE_JSON, (s) => s.opsPerSec);
  const baseCpu = med(BASE, (s) => s.cpuUsPerOp);
  const rows = [...entry.samples.entries()].map(([target, samples]) => {
    const ops = samples.map((s) => s.opsPerSec);
    const errors = samples.reduce((sum, s) => sum + s.errors, 0);
    return [
      `\`${target}\``,
      int(median(ops)),
      `${int(Math.min(...ops))}–${int(Math.max(...ops))}`,
      ratio(median(ops), base),
      ratio(median(ops), baseJson),
      fixed(med(target, (s) => s.cpuUsPerOp), 0),
      ratio(med(target, (s) => s.cpuUsPerOp), baseCpu),
      fixed(med(target, (s) => s.p50Ms), 2),
      fixed(med(target, (s) => s.p99Ms), 2),
      String(errors),
    ];
  });
  return table(
    ['target', 'ops/s (median)', 'min–max', '× SDK v2 sse', '× SDK v2 json', 'server CPU µs/op', 'CPU × SDK v2 sse', 'p50 ms', 'p99 ms', 'errors'],
    rows,
  );
}

function heapTable(results: HeapResult[]): string {
  const base = results.find((r) => r.target === BASE)?.heapBytesPerSession ?? Number.NaN;
  const rows = results.map((r) => [
    `\`${r.target}\``,
    int(r.sessions),
    kib(r.heapBytesPerSession),
    ratio(r.heapBytesPerSession, base),
    kib(r.rssBytesPerSession),
    int(r.live),
    int(r.createdPerSec),
    String(r.errors),
  ]);
  return table(
    ['target', 'sessions', 'heapUsed KiB/session', '× SDK v2', 'RSS KiB/session', 'live servers', 'created/s (c=32)', 'errors'],
    rows,
  );
}

function firstErrors(cases: ThroughputCase[]): string[] {
  const lines: string[] = [];
  for (const entry of cases) {
    for (const [target, samples] of entry.samples) {
      const error = samples.find((s) => s.firstError !== undefined)?.firstError;
      if (error !== undefined) lines.push(`- ${entry.title}, \`${target}\`: ${error}`);
    }
  }
  return lines;
}

export function renderReport(meta: Meta, cases: ThroughputCase[], heap: HeapResult[]): string {
  const kv = (pairs: Array<[string, string]>) => table(['', ''], pairs.map(([k, v]) => [k, v]));
  const out = [
    '# Benchmark results',
    '',
    `Written by \`${meta.command}\` on ${meta.date}; the run took ${meta.elapsedS.toFixed(0)} s.`,
    '',
    '## Machine and versions',
    '',
    kv([...meta.machine, ...meta.versions]),
    '',
    '## Settings',
    '',
    kv(meta.settings),
    '',
    '## Targets',
    '',
    table(['target', 'what'], Object.entries(TARGETS).map(([name, what]) => [`\`${name}\``, what])),
    '',
    'All are Express 5 apps on 127.0.0.1, each in its own child process, with the same `McpServer`',
    'factory (one `echo` tool). The SDK targets keep a `Map<sessionId, transport>` and parse bodies',
    'with `express.json()`, as the SDK examples do; ours reads the body itself. Ratios compare medians.',
    'Server CPU is `process.cpuUsage()` of the target process over the measured window, divided by',
    'operations; the load generator runs in another process and is not counted, but shares the cores,',
    'so ops/s on a 2-core machine is noisy (see min–max) and CPU µs/op is the steadier figure. Our',
    'packages run from their TypeScript sources through tsx (`--conditions=@x/source`), the SDKs from',
    'their published JavaScript. `pnpm bench --profile <target>` prints where a target spends its CPU.',
  ];
  for (const entry of cases) out.push('', `## ${entry.title}`, '', `One operation: ${entry.op}.`, '', throughputTable(entry));
  if (heap.length > 0) {
    out.push(
      '',
      '## Heap per idle session',
      '',
      'Sessions created at concurrency 32 after 200 warm-up sessions; `heapUsed` and RSS after two forced',
      'GCs (`--expose-gc`), minus the same before, divided by the sessions created. `ours-hibernate`:',
      'its clock is advanced past `hibernateAfterMs` and `endpoint.sweep()` is awaited before each sample.',
      'RSS keeps the pages the heap grew to while the sessions were created, so it overstates what an',
      'idle hibernated session costs; `heapUsed` is the figure to compare.',
      '',
      heapTable(heap),
    );
  }
  const errors = firstErrors(cases);
  if (errors.length > 0) out.push('', '## First error per target and case', '', ...errors);
  return `${out.join('\n')}\n`;
}
