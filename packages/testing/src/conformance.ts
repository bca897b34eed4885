import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * The runs of the official suite the project makes, each with its arguments and the protocol era it
 * speaks: two releases for legacy sessions (2025-11-25), and the newer release's 2026-07-28 scenarios
 * (`--suite all` also runs the pending ones: json-schema-2020-12, http-header-validation,
 * http-custom-header-server-validation).
 */
export const CONFORMANCE_RELEASES = [
  { label: 'conformance 0.1.16 --suite all', pkg: '@modelcontextprotocol/conformance', era: 'legacy', args: ['--suite', 'all'] },
  {
    label: 'conformance 0.2.0-alpha.12 --spec-version 2025-11-25 --suite all',
    pkg: 'conformance-next',
    era: 'legacy',
    args: ['--spec-version', '2025-11-25', '--suite', 'all'],
  },
  {
    label: 'conformance 0.2.0-alpha.12 --spec-version 2026-07-28 --suite all',
    pkg: 'conformance-next',
    era: 'modern',
    args: ['--spec-version', '2026-07-28', '--suite', 'all'],
  },
] as const;

export type ConformanceRelease = (typeof CONFORMANCE_RELEASES)[number];

/** One check of a scenario, as the suite saved it. */
export interface ConformanceCheck {
  scenario: string;
  id: string;
  message: string;
}

export interface ConformanceResult {
  exitCode: number | null;
  passed: number;
  failed: number;
  /** Scenario lines that failed (`✗ name: …`). */
  failures: string[];
  /** The checks that failed, from the per-check results. */
  failedChecks: ConformanceCheck[];
  /** Checks of a SHOULD the server missed: the summary counts them as passed. */
  warnings: ConformanceCheck[];
  output: string;
}

/** The Node release the conformance tool runs on when the tests run on an older Node. */
export const CONFORMANCE_NODE_VERSION = '22.23.3';

/** Where the Node 22 binary for the conformance tool lives: `.tools/node22` at the repository root. */
export function conformanceNodePath(): { binary: string; prefix: string; pkg: string } {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const prefix = join(root, '.tools', 'node22');
  const pkg = `node-${process.platform}-${process.arch}`;
  const binary = join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  return { binary, prefix, pkg };
}

/**
 * The suite needs Node >= 22 while the library supports 20: on an older Node, the binary the test
 * set-up (test/global-setup.ts) installed from the npm registry, for the tool alone.
 */
export function conformanceNode(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const { binary, pkg } = conformanceNodePath();
  if (!existsSync(binary)) {
    throw new Error(
      `The conformance suite needs Node >= 22: run the tests through vitest (its global set-up installs ${pkg}), or on Node 22`,
    );
  }
  return binary;
}

/** The FAILURE and WARNING checks in the per-scenario results the suite saved under `dir`. */
async function checksIn(dir: string): Promise<{ failedChecks: ConformanceCheck[]; warnings: ConformanceCheck[] }> {
  const failedChecks: ConformanceCheck[] = [];
  const warnings: ConformanceCheck[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    // Each scenario's directory is `server-`, its name and the time it ran.
    const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    let checks: Array<{ id?: string; status?: string; errorMessage?: string }>;
    try {
      checks = JSON.parse(await readFile(join(dir, entry, 'checks.json'), 'utf8')) as typeof checks;
    } catch {
      continue; // a scenario that saved nothing
    }
    for (const { id = '?', status, errorMessage = '' } of checks) {
      if (status === 'FAILURE') failedChecks.push({ scenario, id, message: errorMessage });
      if (status === 'WARNING') warnings.push({ scenario, id, message: errorMessage });
    }
  }
  return { failedChecks, warnings };
}

/** Runs one release of the official suite against a server URL; resolves with its summary. */
export async function runConformance(release: ConformanceRelease, url: string, timeoutMs = 240_000): Promise<ConformanceResult> {
  const cli = join(dirname(require.resolve(`${release.pkg}/package.json`)), 'dist', 'index.js');
  const resultsDir = await mkdtemp(join(tmpdir(), 'mcp-conformance-'));
  try {
    const { exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve, reject) => {
      const child = spawn(conformanceNode(), [cli, 'server', '--url', url, ...release.args, '--output-dir', resultsDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ exitCode, output });
      });
    });
    const total = /Total: (\d+) passed, (\d+) failed/.exec(output);
    return {
      exitCode,
      passed: Number(total?.[1] ?? 0),
      failed: total === null ? Number.NaN : Number(total[2]),
      failures: output.split('\n').filter((line) => line.startsWith('✗')),
      ...(await checksIn(resultsDir)),
      output,
    };
  } finally {
    await rm(resultsDir, { recursive: true, force: true });
  }
}
