/**
 * `pnpm release:dry`: builds every public package and packs it exactly as `pnpm publish` (and so
 * `changeset publish`) would, then checks each tarball. Usage: `tsx scripts/pack.ts [--out <dir>]`
 * (default `.release/`). test/consumer.test.ts packs through the same function.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, pnpmCommand } from './exec.js';
import { entriesOf, type PackageManifest } from './manifest.cjs';

export const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));

export interface PackedPackage {
  name: string;
  version: string;
  /** The package's directory in the repository. */
  dir: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** The manifest inside the tarball. */
  manifest: PackageManifest;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  /** What is wrong with the tarball; empty when nothing is. */
  problems: string[];
}

/** The packages that are published: every packages/* whose manifest is not private. */
export function publicPackages(): Array<{ dir: string; manifest: PackageManifest }> {
  const packagesDir = join(repositoryRoot, 'packages');
  return readdirSync(packagesDir)
    .map((name) => join(packagesDir, name))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageManifest }))
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Checks a tarball's files and manifest against what its repository manifest promises. */
export function checkTarball(source: PackageManifest, manifest: PackageManifest, files: readonly string[]): string[] {
  const problems: string[] = [];
  const has = new Set(files);
  for (const required of ['package.json', 'README.md', 'LICENSE']) if (!has.has(required)) problems.push(`no ${required}`);
  for (const file of files) {
    if (!/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+\.(mjs|cjs|d\.mts|d\.cts))$/.test(file))
      problems.push(`unexpected file ${file}`);
  }
  for (const entry of entriesOf(source)) {
    for (const output of [entry.import, entry.importTypes, entry.require, entry.requireTypes]) {
      if (!has.has(output.slice(2))) problems.push(`entry ${entry.subpath}: no ${output}`);
    }
  }
  for (const field of DEPENDENCY_FIELDS) {
    for (const [dependency, range] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
      if (range.includes(':')) problems.push(`${field}.${dependency} is "${range}": a registry cannot install it`);
    }
  }
  // Every path the manifest points at: the string values (not the keys) of exports and typesVersions.
  const targets = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : typeof value === 'object' && value !== null ? Object.values(value).flatMap(targets) : [];
  const exportTargets = targets([manifest.exports ?? {}, manifest.typesVersions ?? {}]);
  for (const target of [...exportTargets, manifest.main, manifest.module, manifest.types]) {
    if (typeof target !== 'string') {
      problems.push('no main, module or types field');
      continue;
    }
    const path = target.replace(/^\.\//, '');
    if (!path.includes('*') && !has.has(path) && !target.endsWith('/'))
      problems.push(`the manifest names ${target}, which is not in the tarball`);
  }
  if (JSON.stringify(manifest).includes('./src/')) problems.push('the manifest still names sources under ./src/');
  if (manifest.scripts !== undefined) problems.push('the manifest keeps scripts');
  return problems;
}

async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await exec('tar', ['-tzf', tarball], { cwd: repositoryRoot });
  return stdout
    .split('\n')
    .filter((line) => line.length > 0 && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();
}

/** Builds every public package (`pnpm build`) and packs them all into outDir with one `pnpm -r pack`. */
export async function packPublicPackages(outDir: string, options: { build?: boolean } = {}): Promise<PackedPackage[]> {
  const pnpm = pnpmCommand();
  if (options.build !== false) await exec(pnpm.command, [...pnpm.args, 'run', 'build'], { cwd: repositoryRoot });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const sources = publicPackages();
  const filters = sources.flatMap(({ manifest }) => ['--filter', manifest.name]);
  const { stdout } = await exec(pnpm.command, [...pnpm.args, '-r', ...filters, 'pack', '--json', '--pack-destination', outDir], {
    cwd: repositoryRoot,
  });
  // The JSON follows the prepack scripts' output.
  const reports = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as Array<{ name: string; filename: string }>;
  const packed: PackedPackage[] = [];
  for (const { dir, manifest: source } of sources) {
    const report = reports.find((candidate) => candidate.name === source.name);
    if (report === undefined) throw new Error(`pnpm -r pack did not pack ${source.name}`);
    const tarball = resolve(outDir, report.filename);
    const files = await tarballFiles(tarball);
    const { stdout: manifestText } = await exec('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: repositoryRoot });
    const manifest = JSON.parse(manifestText) as PackageManifest;
    packed.push({
      name: manifest.name,
      version: manifest.version,
      dir,
      tarball,
      manifest,
      files,
      problems: checkTarball(source, manifest, files),
    });
  }
  return packed;
}

/** `attw` on a tarball: the problems it reports, as `entrypoint (resolution): kind` lines. */
export async function typesProblems(tarball: string): Promise<string[]> {
  const attw = join(repositoryRoot, 'node_modules', '.bin', 'attw');
  // attw exits 1 when it finds a problem; its JSON says which.
  const output = await exec(attw, [tarball, '--format', 'json', '--no-definitely-typed'], { cwd: repositoryRoot }).catch(
    (error: Error) => ({ stdout: error.message.slice(error.message.indexOf('{')) }),
  );
  const report = JSON.parse(output.stdout) as {
    problems?: Array<{ kind: string; entrypoint?: string; resolutionKind?: string }> | Record<string, unknown>;
  };
  const problems = Array.isArray(report.problems) ? report.problems : Object.values(report.problems ?? {}).flat();
  return (problems as Array<{ kind: string; entrypoint?: string; resolutionKind?: string }>).map(
    (problem) => `${problem.entrypoint ?? '?'} (${problem.resolutionKind ?? 'any'}): ${problem.kind}`,
  );
}

/** `publint` on a tarball: its errors, warnings and suggestions. */
export async function publintProblems(tarball: string): Promise<string[]> {
  const publint = join(repositoryRoot, 'node_modules', '.bin', 'publint');
  const { stdout } = await exec(publint, ['run', tarball, '--level', 'suggestion'], { cwd: repositoryRoot });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+\./.test(line));
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const outDir = resolve(outIndex === -1 ? join(repositoryRoot, '.release') : process.argv[outIndex + 1]!);
  const packed = await packPublicPackages(outDir);
  const checked = await Promise.all(
    packed.map(async (pkg) => [...pkg.problems, ...(await typesProblems(pkg.tarball)), ...(await publintProblems(pkg.tarball))]),
  );
  let failed = false;
  for (const [index, pkg] of packed.entries()) {
    const problems = checked[index]!;
    failed ||= problems.length > 0;
    process.stdout.write(`\n${pkg.name}@${pkg.version}  ${pkg.tarball}\n`);
    for (const file of pkg.files) process.stdout.write(`  ${file}\n`);
    const dependencies = Object.entries((pkg.manifest.dependencies ?? {}) as Record<string, string>).map(
      ([name, range]) => `${name}@${range}`,
    );
    const peers = Object.entries((pkg.manifest.peerDependencies ?? {}) as Record<string, string>).map(
      ([name, range]) => `${name}@${range}`,
    );
    process.stdout.write(`  dependencies: ${dependencies.join(', ') || 'none'}\n  peers: ${peers.join(', ') || 'none'}\n`);
    process.stdout.write(
      problems.length === 0 ? '  checks: files, manifest, attw, publint: no problem\n' : `  PROBLEMS:\n    ${problems.join('\n    ')}\n`,
    );
  }
  process.stdout.write(`\n${packed.length} packages packed into ${outDir}${failed ? ', with problems' : ''}\n`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
