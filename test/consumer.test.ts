/**
 * What a user outside this repository gets. Every public package is packed exactly as `pnpm publish`
 * would pack it (scripts/pack.ts), then installed with npm into scratch projects in the system's temp
 * directory, next to what README.md tells a user to install from the registry (test/support/installs.ts);
 * npm's cache is reused. There the README's quick starts are type-checked under `nodenext` with the
 * project's own TypeScript, compiled to ESM and to CommonJS and run with node, run as they are through
 * tsx in a CommonJS package (what `npm init -y` makes), and the CommonJS JavaScript example is run as
 * it is. Each must answer an official SDK client on 127.0.0.1 and stop on SIGTERM.
 *
 * Two projects, installed once each per run and side by side: one with the newest release of every
 * peer's highest major, one with the lowest release every peer range allows (Express 4, Koa 2: the
 * peer range test). The scratch directory goes when the file is done.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectClient } from '@x/mcp-session-testing';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, npmEnv } from '../scripts/exec.js';
import { type PackedPackage, packPublicPackages, publintProblems, repositoryRoot, typesProblems } from '../scripts/pack.js';
import { FRAMEWORK_INSTALLS, REDIS_INSTALL } from './support/installs.js';

interface Manifest {
  peerDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const manifestOf = (name: string) => JSON.parse(readFileSync(join(repositoryRoot, 'packages', name, 'package.json'), 'utf8')) as Manifest;

/** The two ends of a range of `^a.b.c` alternatives: its lowest release, and its highest major. */
function rangeEnds(range: string): { lowest: string; highestMajor: string } {
  const floors = range.split('||').map((part) => /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part));
  if (floors.length === 0 || floors.some((floor) => floor === null)) throw new Error(`expected ^x.y.z alternatives, not ${range}`);
  const versions = (floors as RegExpExecArray[]).map((floor) => floor.slice(1, 4).map(Number));
  versions.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!);
  return { lowest: versions[0]!.join('.'), highestMajor: String(versions.at(-1)![0]) };
}
const major = (version: string) => version.split('.')[0]!;

/** Every dependency the README names whose range this project family constrains, by the range that decides it. */
const ranges: Record<string, { lowest: string; highestMajor: string }> = {
  express: rangeEnds(manifestOf('express').peerDependencies!.express!),
  koa: rangeEnds(manifestOf('koa').peerDependencies!.koa!),
  fastify: rangeEnds(manifestOf('fastify').peerDependencies!.fastify!),
  '@modelcontextprotocol/server': rangeEnds(manifestOf('core').peerDependencies!['@modelcontextprotocol/server']!),
  zod: rangeEnds(manifestOf('core').dependencies!.zod!),
  ioredis: rangeEnds(manifestOf('redis').peerDependencies!.ioredis!),
};
/** @types packages follow their framework's major. */
const typesOf: Record<string, string> = { '@types/express': 'express', '@types/koa': 'koa' };

type ProjectName = 'newest' | 'lowest';

/** The spec npm installs for a package the README names, in one project. */
function spec(name: string, project: ProjectName): string {
  const framework = typesOf[name];
  if (framework !== undefined) {
    const { lowest, highestMajor } = ranges[framework]!;
    return `${name}@${project === 'newest' ? highestMajor : major(lowest)}`;
  }
  const range = ranges[name];
  if (range !== undefined) return `${name}@${project === 'newest' ? range.highestMajor : range.lowest}`;
  // Node 20 is the oldest Node the packages support.
  if (name === '@types/node' && project === 'lowest') return '@types/node@20';
  return name; // typescript, tsx: the newest, as a user gets them
}

const readmeDependencies = [
  ...new Set([...Object.values(FRAMEWORK_INSTALLS).flatMap(({ runtime, dev }) => [...runtime, ...dev]), ...REDIS_INSTALL.runtime]),
];

const projects = (['newest', 'lowest'] as const).map((name) => {
  const dependencies = readmeDependencies.map((dependency) => spec(dependency, name));
  const label = ['express', 'koa', 'fastify']
    .map((framework) => dependencies.find((entry) => entry.startsWith(`${framework}@`)))
    .join(', ');
  return { name, dependencies, label };
});

/**
 * How each quick start runs: compiled by tsc to ESM and to CommonJS, and as TypeScript through tsx in
 * a CommonJS package. The CommonJS JavaScript example runs as it is.
 */
const runs = [
  ...(['express', 'koa', 'fastify', 'node-http'] as const).flatMap((name) => [
    { name, how: 'compiled to ESM', file: `esm/${name}.js`, tsx: false },
    { name, how: 'compiled to CommonJS', file: `cjs/${name}.js`, tsx: false },
    { name, how: 'through tsx in a CommonJS package', file: `cjs/${name}.ts`, tsx: true },
  ]),
  { name: 'express', how: 'as CommonJS JavaScript (express.cjs)', file: 'cjs/express-require.cjs', tsx: false },
];

/**
 * Loads a quick start and prints the port it listens on; the process then lives until the quick
 * start's own SIGTERM handler closes it.
 */
const RUNNER = `import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
const loaded = await import(pathToFileURL(process.argv[2]).href);
const server = loaded.httpServer ?? loaded.fastify?.server ?? loaded.default?.httpServer ?? loaded.default?.fastify?.server;
if (!server.listening) await once(server, 'listening');
process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
`;

/** Every package's exports, through require() or through import: the two formats must agree. */
const exportsProbe = (names: string[], how: 'require' | 'import') => `${how === 'import' ? 'export {};\n' : ''}const found = {};
for (const name of ${JSON.stringify(names)}) {
  const loaded = ${how === 'require' ? 'require(name)' : 'await import(name)'};
  found[name] = Object.keys(loaded).filter((key) => !['default', '__esModule', 'module.exports'].includes(key)).sort();
}
process.stdout.write(JSON.stringify(found));
`;

interface InstalledProject {
  dir: string;
  npmOutput: string;
  typecheck: { ok: boolean; output: string };
}

let scratch: string | undefined;
let packed: PackedPackage[] = [];
/** attw and publint on every tarball, started as soon as they are packed, to run while npm installs. */
let tarballReports: Promise<Array<{ name: string; problems: string[] }>> | undefined;
const installed = new Map<ProjectName, InstalledProject>();
const running = new Set<ChildProcess>();

async function setUpProject(project: (typeof projects)[number]): Promise<InstalledProject> {
  const dir = join(scratch!, project.name);
  mkdirSync(join(dir, 'esm'), { recursive: true });
  mkdirSync(join(dir, 'cjs'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `consumer-${project.name}`, private: true, type: 'module' }, null, 2)}\n`,
  );
  writeFileSync(join(dir, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  const quickstarts = join(repositoryRoot, 'examples', 'quickstart');
  for (const name of ['express', 'koa', 'fastify', 'node-http']) {
    for (const format of ['esm', 'cjs']) copyFileSync(join(quickstarts, `${name}.ts`), join(dir, format, `${name}.ts`));
  }
  copyFileSync(join(quickstarts, 'express.cjs'), join(dir, 'cjs', 'express-require.cjs'));
  writeFileSync(join(dir, 'run.mjs'), RUNNER);
  const names = packed.map((pkg) => pkg.name);
  writeFileSync(join(dir, 'cjs', 'exports.cjs'), exportsProbe(names, 'require'));
  writeFileSync(join(dir, 'esm', 'exports.mjs'), exportsProbe(names, 'import'));
  // What `tsc --init` writes for Node's own module system: nodenext, strict, skipLibCheck (some
  // frameworks' @types do not type-check against their dependencies' current declarations).
  const compilerOptions = { module: 'nodenext', target: 'es2022', strict: true, skipLibCheck: true, types: ['node'] };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['esm/*.ts', 'cjs/*.ts'] }, null, 2)}\n`);

  const install = await exec(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((pkg) => pkg.tarball), ...project.dependencies],
    { cwd: dir, env: npmEnv(), timeoutMs: 540_000 },
  );
  // Emits next to each source, so each output sits under its own package.json "type".
  const typecheck = await exec(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir }).then(
    ({ stdout }) => ({ ok: true, output: stdout }),
    (error: Error) => ({ ok: false, output: error.message }),
  );
  return { dir, npmOutput: `${install.stdout}${install.stderr}`, typecheck };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'mcp-session-consumer-'));
  packed = await packPublicPackages(join(scratch, 'tarballs'));
  tarballReports = Promise.all(
    packed.map(async (pkg) => ({
      name: pkg.name,
      problems: [...(await typesProblems(pkg.tarball)), ...(await publintProblems(pkg.tarball))],
    })),
  );
  tarballReports.catch(() => undefined); // awaited, and so reported, by its test
  const results = await Promise.all(projects.map((project) => setUpProject(project)));
  projects.forEach((project, index) => installed.set(project.name, results[index]!));
}, 600_000);

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** Starts a quick start and resolves with its port, or rejects with what it printed. */
async function start(dir: string, file: string, tsx: boolean): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [...(tsx ? ['--import', 'tsx'] : []), 'run.mjs', file], {
    cwd: dir,
    env: { ...process.env, PORT: '0', NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${file} exited with ${String(code)} before it listened:\n${stderr}`);
  });
  const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited])) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port, stderr: () => stderr };
}

describe('the packed packages', () => {
  it('are the five public packages', () => {
    expect(packed.map((pkg) => pkg.name)).toEqual([
      '@x/mcp-session-core',
      '@x/mcp-session-express',
      '@x/mcp-session-fastify',
      '@x/mcp-session-koa',
      '@x/mcp-session-redis',
    ]);
  });

  it('each has README and LICENSE, only its build besides them, and no workspace: range', () => {
    for (const pkg of packed) {
      expect(pkg.problems, pkg.name).toEqual([]);
      expect(pkg.files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', 'dist/index.mjs', 'dist/index.cjs']));
      expect(JSON.stringify(pkg.manifest)).not.toContain('workspace:');
    }
  });

  it('@arethetypeswrong/cli and publint report no problem for any of them', async () => {
    expect(await tarballReports).toEqual(packed.map((pkg) => ({ name: pkg.name, problems: [] })));
  });
});

describe.each(projects)('a project with $label, installed with npm', (project) => {
  it('installs the tarballs beside them with no peer dependency conflict', () => {
    const { dir, npmOutput } = installed.get(project.name)!;
    expect(npmOutput).not.toMatch(/ERESOLVE|peer dep|invalid/i);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const versions = ['express', 'koa', 'fastify'].map((name) => lock.packages[`node_modules/${name}`]?.version);
    const expected = ['express', 'koa', 'fastify'].map((name) =>
      project.name === 'lowest' ? ranges[name]!.lowest : ranges[name]!.highestMajor,
    );
    expect(project.name === 'lowest' ? versions : versions.map((version) => major(version ?? ''))).toEqual(expected);
  });

  it('type-checks the quick starts with its own TypeScript under nodenext, as ESM and as CommonJS', () => {
    const { typecheck } = installed.get(project.name)!;
    expect(typecheck).toEqual({ ok: true, output: '' });
  });

  it('loads every package through require() and through import, with the same exports', async () => {
    const { dir } = installed.get(project.name)!;
    const required = JSON.parse((await exec(process.execPath, ['cjs/exports.cjs'], { cwd: dir })).stdout) as Record<string, string[]>;
    const imported = JSON.parse((await exec(process.execPath, ['esm/exports.mjs'], { cwd: dir })).stdout) as Record<string, string[]>;
    expect(required).toEqual(imported);
    expect(required['@x/mcp-session-express']).toContain('mcpSession');
    expect(required['@x/mcp-session-fastify']).toContain('mcpSessionPlugin');
    expect(required['@x/mcp-session-redis']).toContain('createRedisStores');
  });

  it.each(runs)('runs the $name quick start $how: it answers an SDK client and stops on SIGTERM', async ({ file, tsx }) => {
    const { dir, typecheck } = installed.get(project.name)!;
    if (!tsx && file.endsWith('.js')) expect(typecheck.ok).toBe(true);
    const app = await start(dir, file, tsx);
    // The client's own connection pool, closed with the client: a socket kept alive would hold the
    // quick start's server.close() until the client's keep-alive timeout.
    const agent = new Agent();
    const fetch = (url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...init, dispatcher: agent } as never) as unknown as Promise<Response>;
    const client = await connectClient('v2', `http://127.0.0.1:${app.port}/mcp`, { fetch });
    try {
      expect(client.sessionId).toEqual(expect.any(String));
      expect(await client.callTool('echo', { text: 'hi' })).toBe(`hi (session ${client.sessionId})`);
    } finally {
      await client.close();
      await agent.close();
    }
    const exited = once(app.child, 'exit');
    app.child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, stderr: app.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
