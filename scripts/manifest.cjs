'use strict';
/**
 * How a package's entry points map to what it publishes, in one place. In the repository a public
 * package's manifest names each entry point by its source, one line each:
 *
 *   "exports": { ".": "./src/index.ts", "./internal": "./src/internal.ts", "./package.json": "./package.json" }
 *
 * so the workspace (tsc, tsx, eslint, vitest) runs the sources. The build (tsdown.config.ts) takes its
 * entries from these lines, and the pnpm hook in .pnpmfile.cjs writes the published form when pnpm
 * packs or publishes: each entry becomes `import` and `require` targets in dist/, each with `types` of
 * its own format, and the root entry also gets `main`, `module` and `types` (other entries `typesVersions`)
 * for resolvers that predate `exports`. Targets that are not under src/ (./package.json) are published as they are; `scripts` and
 * `devDependencies` are not published.
 *
 * CommonJS (a .cjs file) so that .pnpmfile.cjs can require it.
 */

/** The build output of one source file: `./src/a/b.ts` -> `./dist/a/b.{mjs,d.mts,cjs,d.cts}`. */
function outputsOf(source) {
  const match = /^\.\/src\/(.+)\.ts$/.exec(source);
  if (match === null) throw new Error(`an entry point's source must be ./src/<name>.ts, not ${source}`);
  const name = match[1];
  return {
    name,
    import: `./dist/${name}.mjs`,
    importTypes: `./dist/${name}.d.mts`,
    require: `./dist/${name}.cjs`,
    requireTypes: `./dist/${name}.d.cts`,
  };
}

/** The entry points of a public package's manifest: every `exports` target under ./src/. */
function entriesOf(pkg) {
  const exportsField = pkg.exports;
  if (exportsField === null || typeof exportsField !== 'object' || Array.isArray(exportsField)) {
    throw new Error(`${pkg.name}: "exports" must map each entry point to its source, such as { ".": "./src/index.ts" }`);
  }
  const entries = [];
  for (const [subpath, target] of Object.entries(exportsField)) {
    if (typeof target !== 'string') {
      throw new Error(
        `${pkg.name}: exports["${subpath}"] must be one path, such as "./src/index.ts"; the published conditions are generated`,
      );
    }
    if (target.startsWith('./src/')) entries.push({ subpath, source: target, ...outputsOf(target) });
  }
  if (!entries.some((entry) => entry.subpath === '.')) throw new Error(`${pkg.name}: exports has no "." entry under ./src/`);
  return entries;
}

/** The manifest as it is published: what pnpm pack and pnpm publish write into the tarball. */
function publishedManifest(pkg) {
  if (pkg.private === true) return pkg;
  const entries = entriesOf(pkg);
  const exportsField = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const entry = entries.find((candidate) => candidate.subpath === subpath);
    exportsField[subpath] =
      entry === undefined
        ? target
        : {
            import: { types: entry.importTypes, default: entry.import },
            require: { types: entry.requireTypes, default: entry.require },
          };
  }
  const root = entries.find((entry) => entry.subpath === '.');
  // moduleResolution "node" (node10) reads no exports: typesVersions gives it the types of subpaths.
  const subpaths = entries.filter((entry) => entry.subpath !== '.');
  const typesVersions =
    subpaths.length === 0
      ? {}
      : { typesVersions: { '*': Object.fromEntries(subpaths.map((entry) => [entry.subpath.slice(2), [entry.requireTypes]])) } };
  // Scripts name files of this repository, and no installer reads devDependencies: neither is published.
  const { scripts: _scripts, devDependencies: _devDependencies, ...published } = pkg;
  return { ...published, main: root.require, module: root.import, types: root.requireTypes, ...typesVersions, exports: exportsField };
}

module.exports = { entriesOf, outputsOf, publishedManifest };
