/**
 * The `tokens` case: what validating a session token costs a request, against the memory-store lookup
 * a random session id costs, measured in this process on the same machine in the same rounds. The
 * end-to-end figure (a `tools/call` of `ours-tokens` against `ours-auto`) comes from the tools case;
 * it is a few microseconds in a hundred and more, within that case's noise, which is why the
 * validation itself is timed here, alone.
 */
import { randomBytes } from 'node:crypto';
import { MemoryRevocationStore, MemorySessionStore, type SessionRecord } from '@x/mcp-session-core';
import { SessionTokens, TokenSessions } from '@x/mcp-session-core/internal';
import { type ThroughputCase, median } from './report.js';

/** Sessions the stores hold while measured: lookups are in a map of this size. */
const SESSIONS = 10_000;
const PRINCIPAL = '{"client":"app","user":"alice"}';
/** Claude Code 2.0's `initialize` params, as a token carries them. */
const PARAMS = {
  protocolVersion: '2025-11-25',
  capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } },
  clientInfo: { name: 'claude-code', title: 'Claude Code', version: '2.0.14' },
};

interface Operation {
  what: string;
  run: (i: number) => unknown;
}

export interface TokenCaseResult {
  /** Per operation, ns per call in each round. */
  rows: Array<{ what: string; nsPerOp: number[] }>;
  /** Characters of the token measured (signed, sealed). */
  tokenLength: { signed: number; sealed: number };
}

function record(id: string, now: number): SessionRecord {
  return {
    id,
    protocolVersion: '2025-11-25',
    initialize: { id: 0, params: PARAMS },
    principal: PRINCIPAL,
    createdAt: now,
    lastActiveAt: now,
    requestCount: 1,
    idleTimeoutMs: 30 * 60_000,
    expiresAt: now + 86_400_000,
  };
}

function operations(): { ops: Operation[]; tokenLength: TokenCaseResult['tokenLength'] } {
  const now = Date.now();
  const keys = [{ id: 'k1', key: randomBytes(32).toString('base64') }];
  const signed = new SessionTokens(keys, 'signed');
  const sealed = new SessionTokens(keys, 'sealed');
  const store = new MemorySessionStore();
  const tokenStore = new MemorySessionStore();
  const ids: string[] = [];
  const signedTokens: string[] = [];
  const sealedTokens: string[] = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    const id = randomBytes(16).toString('base64url');
    ids.push(id);
    store.create(record(id, now));
    tokenStore.create(record(id, now));
    const content = { sid: id, iat: now, exp: now + 86_400_000, principal: PRINCIPAL, protocolVersion: '2025-11-25', params: PARAMS };
    signedTokens.push(signed.issue(content));
    sealedTokens.push(sealed.issue(content));
  }
  const sessions = new TokenSessions({
    tokens: signed,
    revocations: new MemoryRevocationStore(),
    store: tokenStore,
    tracked: false,
    idleTimeoutMs: 30 * 60_000,
    lifetimeMs: 86_400_000,
  });
  const access = { principal: PRINCIPAL, countRequest: true };
  const at = (i: number) => i % SESSIONS;
  return {
    tokenLength: { signed: signedTokens[0]!.length, sealed: sealedTokens[0]!.length },
    ops: [
      {
        what: 'random id: memory-store lookup (`MemorySessionStore.touch` with the principal check)',
        run: (i) => store.touch(ids[at(i)]!, now, access),
      },
      {
        what: 'token validation, signed (`SessionTokens.verify`: HMAC-SHA256, binding, claims)',
        run: (i) => signed.verify(signedTokens[at(i)]!, PRINCIPAL, now),
      },
      {
        what: 'token validation, sealed (AES-256-GCM open, binding, claims)',
        run: (i) => sealed.verify(sealedTokens[at(i)]!, PRINCIPAL, now),
      },
      {
        what: 'token session, signed, no session store: validation + memory denylist + memory touch (`TokenSessions.resolve`)',
        run: (i) => sessions.resolve(signedTokens[at(i)]!, PRINCIPAL, true, now),
      },
    ],
  };
}

/** Calls `op` for `windowMs`, in batches; ns per call. */
async function time(op: Operation, windowMs: number): Promise<number> {
  let calls = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(windowMs) * 1_000_000n;
  let now = started;
  while (now < until) {
    for (let j = 0; j < 256; j += 1) await op.run(calls + j);
    calls += 256;
    now = process.hrtime.bigint();
  }
  return Number(now - started) / calls;
}

/** Every operation, `rounds` times, the order rotating each round; after a warm-up of each. */
export async function measureTokens(rounds: number, windowMs: number): Promise<TokenCaseResult> {
  const { ops, tokenLength } = operations();
  for (const op of ops) await time(op, Math.min(windowMs, 300));
  const rows = ops.map((op) => ({ what: op.what, nsPerOp: [] as number[] }));
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < ops.length; k += 1) {
      const index = (k + round) % ops.length;
      rows[index]!.nsPerOp.push(await time(ops[index]!, windowMs));
    }
    console.log(`round ${round + 1} tokens ${rows.map((row) => `${(row.nsPerOp.at(-1)! / 1000).toFixed(2)}µs`).join(' | ')}`);
  }
  return { rows, tokenLength };
}

/** The section of RESULTS.md: validation per request against the memory-store lookup, and the end-to-end CPU. */
export function tokenSection(result: TokenCaseResult, tools: ThroughputCase[]): string[] {
  const base = median(result.rows[0]!.nsPerOp);
  const lines = [
    '## Session tokens: validation per request',
    '',
    `Timed in the orchestrator process, each operation for the measured window in every round (order rotating), over ${SESSIONS.toLocaleString('en-US')}`,
    'sessions with Claude Code’s capabilities and a bound principal; median ns per call. A random id costs a request',
    'the memory-store lookup; a token session with no session store costs the last row instead (with a configured',
    `store: the validation plus that store’s lookup). Tokens measured: ${result.tokenLength.signed} characters signed, ${result.tokenLength.sealed} sealed.`,
    '',
    '| per request | ns (median) | min–max | × memory-store lookup |',
    '| --- | --- | --- | --- |',
    ...result.rows.map((row) => {
      const ns = median(row.nsPerOp);
      return `| ${row.what} | ${ns.toFixed(0)} | ${Math.min(...row.nsPerOp).toFixed(0)}–${Math.max(...row.nsPerOp).toFixed(0)} | ${(ns / base).toFixed(1)}× |`;
    }),
  ];
  const cpu = (entry: ThroughputCase, target: 'ours-auto' | 'ours-tokens' | 'ours-tokens-sealed') =>
    median((entry.samples.get(target) ?? []).map((s) => s.cpuUsPerOp));
  const measured = tools.filter((entry) => entry.samples.has('ours-auto') && entry.samples.has('ours-tokens'));
  if (measured.length > 0) {
    lines.push('', 'End to end, server CPU per `tools/call` (µs, medians of the tools case above):', '');
    lines.push(
      '| case | `ours-auto` | `ours-tokens` | difference | `ours-tokens-sealed` | difference |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const entry of measured) {
      const auto = cpu(entry, 'ours-auto');
      const signed = cpu(entry, 'ours-tokens');
      const sealed = cpu(entry, 'ours-tokens-sealed');
      const diff = (value: number) => (Number.isFinite(value) ? `${value - auto >= 0 ? '+' : ''}${(value - auto).toFixed(1)}` : '–');
      lines.push(
        `| ${entry.title} | ${auto.toFixed(1)} | ${signed.toFixed(1)} | ${diff(signed)} | ${sealed.toFixed(1)} | ${diff(sealed)} |`,
      );
    }
  }
  return lines;
}
