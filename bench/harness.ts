/**
 * What bench/run.ts and bench/compare.ts share: a target server in a child process (started from
 * the bench/targets.ts of a given checkout), a measured window with the server's CPU, a pool, and
 * what a report says about the machine and a checkout.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Pool } from 'undici';
import { callEcho, openPool, openSession, percentile, runFor } from './load.js';
import type { ChildMessage, CommandName, Commands, TargetName, ToolSet } from './protocol.js';
import type { Sample } from './report.js';

export const MAX_OPS = 2_000_000;

/** The warm-up and the measured window of every sample. */
export interface Windows {
  warmupMs: number;
  measureMs: number;
}

/** A checkout whose bench/targets.ts a child runs, with that checkout as its working directory. */
export interface Checkout {
  /** Shown in messages: `this`, `baseline`. */
  label: string;
  /** The checkout's root directory. */
  root: string;
  /**
   * Where a target loads our packages from: `dist`, their build (what a user installs; see
   * bench/loader/resolve.mjs and {@link buildCheckout}), or `source`, the TypeScript through tsx.
   */
  from: PackageSource;
}

export type PackageSource = 'dist' | 'source';

/** The report's line on where our packages loaded from. */
export function packagesLine(from: PackageSource): [string, string] {
  return [
    'our packages',
    from === 'dist'
      ? 'their build (packages/<name>/dist, as published; `--from source`: the sources through tsx)'
      : 'their TypeScript sources through tsx (`--from source`)',
  ];
}

/** Node's `--import` of the resolve hook that loads our packages from their build. */
export const DIST_HOOK = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'loader', 'register.mjs')).href;

/**
 * Builds a checkout's packages (its `turbo run build`; unchanged packages come from turbo's cache) when
 * its targets load them from their build, so a bench never measures a stale dist/.
 */
export function buildCheckout(checkout: Checkout): void {
  if (checkout.from !== 'dist') return;
  const turbo = join(checkout.root, 'node_modules', '.bin', 'turbo');
  try {
    execFileSync(turbo, ['run', 'build', '--output-logs=errors-only'], { cwd: checkout.root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    throw new Error(`building the packages of ${checkout.root} failed; bench its sources instead with --from source`, { cause: error });
  }
}

const targetFlags = (process.env.BENCH_TARGET_FLAGS ?? '').split(' ').filter((flag) => flag !== '');

export interface ChildOptions {
  /** More Node flags for the child (`--max-old-space-size=8192`). */
  execArgv?: string[];
  /** Name the checkout in the label (`ours-auto (baseline)`). */
  labelled?: boolean;
  /** The server the target serves (default `echo`; older checkouts know no other). */
  tools?: ToolSet;
}

/**
 * A target server in a child process, and the IPC to it. The child runs `<root>/bench/targets.ts`
 * with `cwd` = root, so `--import tsx` and every package load from that checkout's node_modules; ours
 * from their build there (`from: 'dist'`) or from their sources (`--conditions=@x/source`).
 */
export class Child {
  readonly name: TargetName;
  /** `ours-auto`, or `ours-auto (baseline)` for a child of another checkout. */
  readonly label: string;
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, (message: ChildMessage) => void>();
  readonly #exited: Promise<void>;
  #seq = 0;
  #port: Promise<number>;

  constructor(name: TargetName, checkout: Checkout, { execArgv = [], labelled = false, tools = 'echo' }: ChildOptions = {}) {
    this.name = name;
    this.label = labelled ? `${name} (${checkout.label})` : name;
    const label = this.label;
    this.#proc = fork(join(checkout.root, 'bench', 'targets.ts'), tools === 'echo' ? [name] : [name, tools], {
      cwd: checkout.root,
      // BENCH_TARGET_FLAGS: extra Node flags for every target (`--trace-gc`, say), split on spaces.
      execArgv: [
        '--import',
        'tsx',
        ...(checkout.from === 'dist' ? ['--import', DIST_HOOK] : []),
        '--conditions=@x/source',
        '--expose-gc',
        ...execArgv,
        ...targetFlags,
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = new Promise((resolve) => this.#proc.once('exit', () => resolve()));
    this.#port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} did not start in 30 s`)), 30_000);
      void this.#exited.then(() => reject(new Error(`${label} exited before it was ready (${checkout.root}/bench/targets.ts)`)));
      this.#proc.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.port);
        } else this.#pending.get(message.id)?.(message);
      });
    });
  }

  async origin(): Promise<string> {
    return `http://127.0.0.1:${await this.#port}`;
  }

  call<K extends CommandName>(cmd: K, timeoutMs = 60_000): Promise<Commands[K]> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: ${cmd} timed out`)), timeoutMs);
      this.#pending.set(id, (message) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        if (message.type === 'reply') resolve(message.value as Commands[K]);
        else reject(new Error(`${this.label}: ${cmd}: ${message.type === 'error' ? message.message : 'bad reply'}`));
      });
      this.#proc.send({ id, cmd });
    });
  }

  /** Asks the child to close and exit; kills it (by its own handle) when it does not. */
  async close(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    await this.call('close', 30_000).catch((error: unknown) => console.error(String(error)));
    const exited = await Promise.race([this.#exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
    if (!exited) this.#proc.kill('SIGKILL');
  }
}

/** Warm-up, then one measured window with the server's CPU read before and after. */
export async function measure(child: Child, windows: Windows, concurrency: number, op: () => Promise<unknown>): Promise<Sample> {
  await runFor(concurrency, { durationMs: windows.warmupMs, maxOps: MAX_OPS }, op);
  const before = await child.call('cpu');
  const run = await runFor(concurrency, { durationMs: windows.measureMs, maxOps: MAX_OPS }, op);
  const after = await child.call('cpu');
  const cpuUs = after.user + after.system - before.user - before.system;
  return {
    opsPerSec: (run.ops / run.elapsedMs) * 1000,
    cpuUsPerOp: cpuUs / Math.max(run.ops, 1),
    p50Ms: percentile(run.latencies, 50),
    p99Ms: percentile(run.latencies, 99),
    errors: run.errors,
    firstError: run.firstError,
  };
}

export async function withPool<T>(origin: string, connections: number, use: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = openPool(origin, connections);
  try {
    return await use(pool);
  } finally {
    await pool.close();
  }
}

/** `tools/call` of `echo` on one session at `concurrency`, in a pool of that many connections. */
export async function measureTools(child: Child, windows: Windows, concurrency: number): Promise<Sample> {
  return withPool(await child.origin(), concurrency, async (pool) => {
    const session = await openSession(pool);
    let id = 0;
    return measure(child, windows, concurrency, () => callEcho(pool, session, ++id));
  });
}

/** Session creation (`initialize` + `notifications/initialized`) at concurrency 32. */
export async function measureInit(child: Child, windows: Windows): Promise<Sample> {
  return withPool(await child.origin(), 32, (pool) => measure(child, windows, 32, () => openSession(pool)));
}

/** The packages whose versions a report lists. */
export const REPORTED_PACKAGES = [
  '@x/mcp-session-core',
  '@x/mcp-session-express',
  '@x/mcp-session-fastify',
  '@x/mcp-session-koa',
  '@x/mcp-session-redis',
  '@modelcontextprotocol/server',
  '@modelcontextprotocol/node',
  '@modelcontextprotocol/sdk',
  'express',
  'fastify',
  'koa',
  'ioredis',
  'zod',
  'undici',
];

/** A package's version in a checkout: ours from its workspace folder, the rest from the root node_modules. */
export function versionOf(root: string, pkg: string): string {
  const dir = pkg.startsWith('@x/') ? join(root, 'packages', pkg.slice('@x/mcp-session-'.length)) : join(root, 'node_modules', pkg);
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** A checkout's short commit, noting uncommitted changes under packages/. */
export function commitOf(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages') !== '';
    return dirty ? `${head} + uncommitted changes in packages/` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** nproc, CPU model and Node version. */
export function machineInfo(): Array<[string, string]> {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return [
    ['nproc', `${nproc} (availableParallelism ${availableParallelism()})`],
    ['CPU', cpu],
    ['node', process.version],
  ];
}

/** Samples the 1-minute load average every 10 s until `stop()`, which describes what it saw. */
export function loadSampler(): { stop(): string } {
  const loads: number[] = [];
  const sample = () => loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
  sample();
  const timer = setInterval(sample, 10_000);
  return {
    stop() {
      clearInterval(timer);
      const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
      return `mean ${mean.toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (${loads.length} samples; the bench alone keeps it near 2)`;
    },
  };
}

/**
 * Replaces the section between the markers `begin` and `end` in `file` (a case run alone rewrites
 * only its own section); without them, inserts it before the profiles' section (where a full run
 * puts it), or at the end.
 */
export function replaceMarkedSection(file: string, section: string[], begin: string, end: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const block = section.join('\n');
  const from = text.indexOf(begin);
  const to = from < 0 ? -1 : text.indexOf(end, from);
  let next: string;
  if (from >= 0 && to > from) next = `${text.slice(0, from)}${block}${text.slice(to + end.length)}`;
  else {
    const anchor = text.indexOf('\n## What the profiles showed');
    next = anchor >= 0 ? `${text.slice(0, anchor)}\n${block}\n${text.slice(anchor)}` : `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, next);
}

/** The section between the markers in `file`, markers included; empty when it has none. */
export function markedSection(file: string, begin: string, end: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(begin);
  const to = from < 0 ? -1 : text.indexOf(end, from);
  return from >= 0 && to > from ? text.slice(from, to + end.length).split('\n') : [];
}
