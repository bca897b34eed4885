/**
 * The `eras` case: what a `tools/call` of `echo` costs the server in each protocol era and legacy
 * mode, against the SDK v2's `createMcpHandler`, which builds a server per request. Every target
 * serves the same server, the conformance fixture with `echo` added (bench/servers.ts), and runs in
 * the same rounds, its process started afresh each round and every lane of it warmed before any is
 * measured, the targets' order rotating and the lanes inside a process alternating:
 *
 * - 2026-07-28 (`modern`): no `initialize`, no session; the envelope in `_meta` and the
 *   `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers on every call. Ours is measured on
 *   the default endpoint (legacy `'sessions'`), where this lane sits beside the sessions.
 * - legacy in a session (`session`): one session, every call with its `Mcp-Session-Id`.
 * - legacy without a session (`stateless`): each call a standalone POST, as a client of a stateless
 *   server sends it after its `initialize` (checked once before measuring).
 *
 * It writes its own section of bench/RESULTS.md, between markers: run alone (`--cases eras`) it
 * replaces that section and leaves the rest of the file as it was.
 */
import type { Pool } from 'undici';
import { type Checkout, Child, MAX_OPS, type Windows, measure, replaceMarkedSection, withPool } from './harness.js';
import { callEcho, callModern, callStateless, checkModern, checkStateless, openSession, runFor } from './load.js';
import type { TargetName } from './protocol.js';
import { type Sample, median } from './report.js';

/** How a `tools/call` reaches the server: see the file comment. */
export type Lane = 'modern' | 'session' | 'stateless';
export const LANES: readonly Lane[] = ['modern', 'session', 'stateless'];

export const LANE_TITLES: Record<Lane, string> = {
  modern: '2026-07-28',
  session: 'legacy, in a session',
  stateless: 'legacy, stateless',
};

/**
 * Our adapters as the targets judge them: the name, the target on the default endpoint (2026-07-28
 * beside sessions), and its legacy-stateless target. Koa has none: its legacy stateless mode is the
 * same lane as on the others.
 */
export const ADAPTERS: ReadonlyArray<readonly [adapter: string, ours: TargetName, stateless: TargetName | undefined]> = [
  ['Fastify', 'ours-fastify', 'ours-fastify-stateless'],
  ['Express', 'ours-auto', 'ours-stateless'],
  ['Koa', 'ours-koa', undefined],
];

/** The issue's bounds for 2026-07-28: CPU per call against `createMcpHandler`'s, and against our session lane. */
export const SDK_BOUND = 0.1;
export const SESSION_BOUND = 1.5;

/** The targets of the case, and the lanes each one's process is measured in. */
export const ERAS_TARGETS: ReadonlyArray<readonly [TargetName, readonly Lane[]]> = [
  ['sdk-v2-handler', ['modern', 'stateless']],
  ['sdk-v2-sse', ['session']],
  ['ours-fastify', ['modern', 'session']],
  ['ours-fastify-stateless', ['stateless']],
  ['ours-auto', ['modern', 'session']],
  ['ours-stateless', ['stateless']],
  ['ours-koa', ['modern', 'session']],
];

const CONCURRENCIES = [1, 32] as const;
type Concurrency = (typeof CONCURRENCIES)[number];

/** A target measured in one lane. */
export interface LaneKey {
  target: TargetName;
  lane: Lane;
}

const keyOf = ({ target, lane }: LaneKey) => `${target} ${lane}`;

/** Every sample of the case: per lane of a target and concurrency, one per round (index = round). */
export class ErasResult {
  readonly #samples = new Map<string, Record<Concurrency, Sample[]>>();
  /** The lanes measured, in the order of {@link ERAS_TARGETS}. */
  readonly lanes: LaneKey[];
  elapsedS = 0;
  /** The 1-minute load average through the case (from the harness's sampler). */
  load = '';

  constructor(lanes: LaneKey[]) {
    this.lanes = lanes;
    for (const lane of lanes) this.#samples.set(keyOf(lane), { 1: [], 32: [] });
  }

  record(lane: LaneKey, concurrency: Concurrency, sample: Sample): void {
    this.#samples.get(keyOf(lane))?.[concurrency].push(sample);
  }

  samples(lane: LaneKey, concurrency: Concurrency): Sample[] {
    return this.#samples.get(keyOf(lane))?.[concurrency] ?? [];
  }

  /** Median server CPU µs per call (NaN when not measured). */
  cpu(lane: LaneKey, concurrency: Concurrency = 32): number {
    return median(this.samples(lane, concurrency).map((s) => s.cpuUsPerOp));
  }

  /** Median calls/s. */
  ops(lane: LaneKey, concurrency: Concurrency = 32): number {
    return median(this.samples(lane, concurrency).map((s) => s.opsPerSec));
  }
}

/** The lanes of the chosen targets (`--eras-targets`), in the case's order. */
export function erasLanes(targets: readonly TargetName[]): LaneKey[] {
  const unknown = targets.filter((target) => !ERAS_TARGETS.some(([name]) => name === target));
  if (unknown.length > 0) {
    throw new Error(`the eras case does not measure ${unknown.join(', ')}; it measures ${ERAS_TARGETS.map(([name]) => name).join(', ')}`);
  }
  return ERAS_TARGETS.filter(([target]) => targets.includes(target)).flatMap(([target, lanes]) => lanes.map((lane) => ({ target, lane })));
}

/**
 * The operation of a lane on a pool, after checking once that the server answers it as it should
 * (a session is opened for the `session` lane).
 */
export async function laneOperation(pool: Pool, lane: Lane): Promise<() => Promise<void>> {
  let id = 0;
  switch (lane) {
    case 'session': {
      const session = await openSession(pool);
      return () => callEcho(pool, session, ++id);
    }
    case 'stateless':
      await checkStateless(pool);
      return () => callStateless(pool, ++id);
    case 'modern':
      await checkModern(pool);
      return () => callModern(pool, ++id);
  }
}

/** Runs a lane at c=32 for `durationMs`, unmeasured. */
async function warmLane(child: Child, lane: Lane, durationMs: number): Promise<void> {
  await withPool(await child.origin(), 32, async (pool) => runFor(32, { durationMs, maxOps: MAX_OPS }, await laneOperation(pool, lane)));
}

async function measureLane(child: Child, windows: Windows, lane: Lane, concurrency: number): Promise<Sample> {
  return withPool(await child.origin(), concurrency, async (pool) => measure(child, windows, concurrency, await laneOperation(pool, lane)));
}

export interface ErasOptions {
  self: Checkout;
  lanes: LaneKey[];
  rounds: number;
  windows: Windows;
}

/** Every lane, `rounds` times: one process per target and round, the targets' order rotating, lanes alternating. */
export async function measureEras({ self, lanes, rounds, windows }: ErasOptions): Promise<ErasResult> {
  const result = new ErasResult(lanes);
  const targets = [...new Set(lanes.map((lane) => lane.target))];
  const started = performance.now();
  for (let round = 0; round < rounds; round += 1) {
    const shift = round % targets.length;
    for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const own = lanes.filter((lane) => lane.target === target);
      const order = round % 2 === 0 ? own : [...own].reverse();
      const child = new Child(target, self, { tools: 'conformance' });
      try {
        // V8 is still optimizing a path through its first thousands of calls: every lane of the process
        // runs for one measured window's length before any is measured, so no sample pays for a
        // warm-up another lane's sample did not.
        for (const lane of order) await warmLane(child, lane.lane, windows.measureMs);
        const notes: string[] = [];
        for (const lane of order) {
          for (const concurrency of CONCURRENCIES) {
            const sample = await measureLane(child, windows, lane.lane, concurrency);
            result.record(lane, concurrency, sample);
            notes.push(`${lane.lane} c=${concurrency} ${Math.round(sample.opsPerSec)}/s ${sample.cpuUsPerOp.toFixed(0)}µs`);
          }
        }
        console.log(`round ${round + 1} eras ${target.padEnd(22)} ${notes.join(' | ')}`);
      } finally {
        await child.close();
      }
    }
  }
  result.elapsedS = (performance.now() - started) / 1000;
  return result;
}

const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const code = (lane: LaneKey) => `\`${lane.target}\` ${LANE_TITLES[lane.lane]}`;

const SDK_MODERN: LaneKey = { target: 'sdk-v2-handler', lane: 'modern' };
const SDK_STATELESS: LaneKey = { target: 'sdk-v2-handler', lane: 'stateless' };
/** The SDK's way of serving each lane: `createMcpHandler` for both without sessions, its transport for sessions. */
const SDK_OF: Record<Lane, LaneKey> = {
  modern: SDK_MODERN,
  session: { target: 'sdk-v2-sse', lane: 'session' },
  stateless: SDK_STATELESS,
};

/** A ratio of two lanes' CPU per call at c=32: of the medians, and the range of the per-round ratios. */
interface Ratio {
  of: LaneKey;
  to: LaneKey;
  value: number;
  /** min–max of the rounds' own ratios (the two lanes measured in the same round). */
  range: string;
}

function ratio(result: ErasResult, of: LaneKey, to: LaneKey): Ratio {
  const a = result.samples(of, 32);
  const b = result.samples(to, 32);
  const rounds = a.map((s, i) => s.cpuUsPerOp / (b[i]?.cpuUsPerOp ?? Number.NaN)).filter(Number.isFinite);
  return {
    of,
    to,
    value: result.cpu(of) / result.cpu(to),
    range: rounds.length === 0 ? '–' : `${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)}`,
  };
}

const ratioText = (r: Ratio, result: ErasResult) =>
  `${code(r.of)} ${fixed(result.cpu(r.of), 0)} µs vs ${code(r.to)} ${fixed(result.cpu(r.to), 0)} µs: ` +
  `**${times(r.value)}** (rounds ${r.range})`;

interface Goal {
  label: string;
  /** Undefined: no target, or not measured. */
  met: boolean | undefined;
  bound: number | undefined;
  ratio: Ratio;
}

/** The targets at c=32, per adapter, then the comparisons it asks for without a target. */
function goals(result: ErasResult): Goal[] {
  const out: Goal[] = [];
  const judged = (label: string, bound: number, r: Ratio): Goal => ({
    label,
    bound,
    ratio: r,
    met: Number.isFinite(r.value) ? r.value <= bound : undefined,
  });
  for (const [adapter, ours] of ADAPTERS) {
    out.push(
      judged(
        `2026-07-28 on ${adapter}: server CPU per call ≤ 1/10 of the SDK’s \`createMcpHandler\``,
        SDK_BOUND,
        ratio(result, { target: ours, lane: 'modern' }, SDK_MODERN),
      ),
    );
  }
  for (const [adapter, ours] of ADAPTERS) {
    out.push(
      judged(
        `2026-07-28 on ${adapter}: within 1.5× of our legacy-session lane on the same adapter`,
        SESSION_BOUND,
        ratio(result, { target: ours, lane: 'modern' }, { target: ours, lane: 'session' }),
      ),
    );
  }
  for (const [adapter, ours, stateless] of ADAPTERS) {
    if (stateless === undefined) continue;
    out.push({
      label: `legacy stateless on ${adapter} against the SDK’s (no target)`,
      met: undefined,
      bound: undefined,
      ratio: ratio(result, { target: stateless, lane: 'stateless' }, SDK_STATELESS),
    });
    out.push({
      label: `legacy stateless on ${adapter} against our session lane (no target)`,
      met: undefined,
      bound: undefined,
      ratio: ratio(result, { target: stateless, lane: 'stateless' }, { target: ours, lane: 'session' }),
    });
  }
  return out;
}

const verdict = (goal: Goal) =>
  goal.bound === undefined
    ? '–'
    : goal.met === undefined
      ? 'not measured'
      : goal.met
        ? `**met** (≤ ${goal.bound.toFixed(2)}×)`
        : `**not met** (needs ≤ ${goal.bound.toFixed(2)}×)`;

/**
 * What `--profile <target> --profile-case modern` showed when this case was added (shares of the
 * target's non-idle CPU at c=32): where the time goes, for the 1/10 target.
 */
const PROFILE_NOTES = [
  'What the profiles showed (`pnpm bench --profile ours-fastify --profile-case modern`, and the same for',
  '`sdk-v2-handler`; shares of non-idle CPU at c=32):',
  '',
  '- `ours-fastify`, 2026-07-28, when this case was added (our packages then ran from their sources through',
  '  tsx): writing the response 32% (the `writev` system call alone 23%), Node’s HTTP parsing 8%, the SDK’s',
  '  handling of the request in the shared server (its `Protocol` and `McpServer`, with zod validating the',
  '  request and the arguments) 9%, the SDK’s era classifier, asked for every request, 5% (zod `safeParse`s',
  '  that fail each time), garbage collection 9%, our own code 18%. Since then the targets load our packages',
  '  from their build (tsx wrapped every function our code makes per request in a `__name()` call, about 4%',
  '  of the CPU), and the lane answers a request whose `_meta` envelope the SDK’s classifier already found',
  '  valid without asking it again (protocol/classify.ts), which also took most of the garbage zod made.',
  '- Then `--log-ic` showed our per-request objects missing V8’s inline caches at every read: on Node 20 a',
  '  spread followed by new keys (`{ ...request, messages, batch }`) gives each object a map of its own. Built',
  '  with one shape, a 2026-07-28 call fell from 384–403 k to 347 k instructions, and its CPU against the SDK’s,',
  '  in three rounds with this run’s windows before and after, from 0.095–0.11× to 0.07–0.09×.',
  '- Against the legacy-session lane on Fastify: the SDK’s 2026-07-28 steps (`liftWireOnlyMaterial`,',
  '  the envelope check, `stampServerInfoMeta`, `stampResultType`, cache hints, a larger context per',
  '  request) and our sessionless dispatch add a few µs each, and the answer is longer (`resultType`,',
  '  `_meta.serverInfo`). The instructions case counts them without the noise (its section below): the',
  '  system calls, the same number per call for every target (one `read`, one `writev`), are not counted',
  '  there, and weigh more in our CPU per call than in the SDK’s.',
  '- `sdk-v2-handler`, 2026-07-28: garbage collection 21%, zod 17% (the schemas of 30 tools, set up for each',
  '  request), the SDK 16% (building and connecting the server: `registerTool` and the like), Node 26%',
  '  (with the conversion to and from web `Request`/`Response`), `writev` 10%. Its cost per call falls as',
  '  its process warms: measured without the warm-up of each lane, its figure ranged 1,254–2,616 µs.',
];

/** Markers of the section in RESULTS.md: `--cases eras` replaces what lies between them. */
const BEGIN = '<!-- eras:begin (pnpm bench --cases eras replaces this section) -->';
const END = '<!-- eras:end -->';

export interface ErasMeta {
  date: string;
  command: string;
  commit: string;
  /** nproc, CPU, node. */
  machine: string;
  /** `--note`: about the machine. */
  note: string | undefined;
}

/** The section of RESULTS.md, markers included. */
export function erasSection(result: ErasResult, meta: ErasMeta, windows: Windows, rounds: number): string[] {
  const rows = result.lanes.map((lane) => {
    const at32 = result.samples(lane, 32);
    const cpu32 = at32.map((s) => s.cpuUsPerOp);
    const base = result.cpu(SDK_OF[lane.lane]);
    const errors = [...at32, ...result.samples(lane, 1)].reduce((sum, s) => sum + s.errors, 0);
    return [
      `\`${lane.target}\``,
      LANE_TITLES[lane.lane],
      fixed(result.cpu(lane), 0),
      cpu32.length === 0 ? '–' : `${fixed(Math.min(...cpu32), 0)}–${fixed(Math.max(...cpu32), 0)}`,
      int(result.ops(lane)),
      times(result.cpu(lane) / base),
      fixed(median(at32.map((s) => s.p99Ms)), 1),
      fixed(result.cpu(lane, 1), 0),
      int(result.ops(lane, 1)),
      String(errors),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const header = [
    'target',
    'lane',
    'server CPU µs/call, c=32',
    'min–max',
    'calls/s, c=32',
    'CPU × the SDK’s, same lane',
    'p99 ms, c=32',
    'server CPU µs/call, c=1',
    'calls/s, c=1',
    'errors',
  ];
  const firstErrors = result.lanes.flatMap((lane) => {
    const error = [...result.samples(lane, 32), ...result.samples(lane, 1)].find((s) => s.firstError !== undefined)?.firstError;
    return error === undefined ? [] : [`- ${code(lane)}: ${error}`];
  });
  return [
    BEGIN,
    '## Protocol eras and legacy modes: tools/call against the SDK’s createMcpHandler',
    '',
    `Measured by \`${meta.command}\` on ${meta.date}, commit ${meta.commit}; the case took ${result.elapsedS.toFixed(0)} s`,
    `(${rounds} rounds; ${windows.warmupMs} ms warm-up and ${windows.measureMs} ms measured per lane, concurrency and round).`,
    `Machine: ${meta.machine}. Load average (1 min) during the case: ${result.load}.`,
    ...(meta.note === undefined ? [] : [meta.note]),
    '',
    'Every target serves the same server: the conformance fixture (examples/conformance: 29 tools, 3 resources,',
    'a resource template and 5 prompts; it lists 2026-07-28) with `echo` added, which every call calls.',
    "`sdk-v2-handler` is the SDK’s `createMcpHandler` (`legacy: 'stateless'`), which builds a server from",
    'that factory for every request of either era; `sdk-v2-sse` is its sessionful transport, a server per',
    'session. Ours on the default endpoint (`ours-fastify`, `ours-auto` on Express, `ours-koa`: legacy',
    "`'sessions'`) serves 2026-07-28 beside the sessions from one server per process; `-stateless` is",
    "`legacy: 'stateless'`, one server per process and protocol version.",
    '',
    'One operation is one `tools/call` POST, answered: for 2026-07-28 with the `_meta` envelope and the',
    '`MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers (one answer is checked for the echo and',
    '`resultType: complete` first); in a session with its `Mcp-Session-Id`; stateless, a standalone POST',
    '(the `initialize` and `notifications/initialized` a client sends first are checked once, not',
    'measured). A target’s process is started afresh each round; each of its lanes runs for one measured',
    'window before any is measured (the order of its lanes alternates by round, the targets’ order',
    'rotates). Server CPU is the target process’s `process.cpuUsage()` over the window, per call: the',
    'steadier figure on a shared machine, where calls/s moves with the load. “The SDK’s, same lane”:',
    '`sdk-v2-handler` for 2026-07-28 and stateless, `sdk-v2-sse` for sessions.',
    '',
    line(header),
    line(header.map(() => '---')),
    ...rows.map(line),
    '',
    'Targets at concurrency 32 (ratios of median CPU per call; in parentheses the range of the per-round ratios):',
    '',
    '| target | verdict | numbers |',
    '| --- | --- | --- |',
    ...goals(result).map((goal) => `| ${goal.label} | ${verdict(goal)} | ${ratioText(goal.ratio, result)} |`),
    ...(firstErrors.length === 0 ? [] : ['', 'First error per lane:', '', ...firstErrors]),
    '',
    ...PROFILE_NOTES,
    END,
  ];
}

/** Replaces the eras section of `file` (see {@link replaceMarkedSection}). */
export function replaceErasSection(file: string, section: string[]): void {
  replaceMarkedSection(file, section, BEGIN, END);
}
