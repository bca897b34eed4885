/**
 * A module resolve hook: an import of one of our public packages (`@x/mcp-session-core`,
 * `@x/mcp-session-core/internal`, ...) resolves to its ESM build in packages/<name>/dist, the files
 * the published manifest names (scripts/manifest.cjs); everything else resolves as before. The
 * workspace's manifests name the sources (so tsc, tsx and vitest run them), and tsx compiles them with
 * esbuild's `keepNames`, which wraps every function made at run time in a `__name()` call: a cost
 * the published build does not have. Private packages (the testing package) are left to the sources.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// The checkout whose packages load: the target process's working directory (the bench runs a
// baseline checkout's targets with that checkout as their directory, and this file from its own).
const root = `${process.cwd()}/`;
const { entriesOf } = createRequire(import.meta.url)('../../scripts/manifest.cjs');

/** Specifier (`@x/mcp-session-core/internal`) -> URL of its built ESM file. */
const built = new Map();
for (const dir of readdirSync(`${root}packages`)) {
  const manifest = `${root}packages/${dir}/package.json`;
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (pkg.private === true) continue;
  for (const entry of entriesOf(pkg)) {
    const file = `${root}packages/${dir}/${entry.import.slice(2)}`;
    if (!existsSync(file))
      throw new Error(`${file} is missing: build the packages first (pnpm build), or bench the sources (--from source)`);
    built.set(entry.subpath === '.' ? pkg.name : `${pkg.name}${entry.subpath.slice(1)}`, pathToFileURL(file).href);
  }
}

export async function resolve(specifier, context, next) {
  const url = built.get(specifier);
  return url === undefined ? next(specifier, context) : { url, shortCircuit: true, format: 'module' };
}
