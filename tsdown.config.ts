import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsdown';
import { entriesOf } from './scripts/manifest.cjs';

/**
 * The build of every public package, run in the package's directory by its `build` script. Entries come
 * from the package's `exports` (scripts/manifest.cjs), so a new entry point is one line there. ESM and
 * CommonJS, each with declarations of its own format, bundled per entry point with shared code in common
 * chunks (one copy of each class per format).
 */
const cwd = process.cwd();
const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as Parameters<typeof entriesOf>[0];

export default defineConfig({
  cwd,
  entry: Object.fromEntries(entriesOf(pkg).map((entry) => [entry.name, entry.source])),
  format: ['esm', 'cjs'],
  platform: 'node',
  fixedExtension: true,
  dts: true,
  sourcemap: false,
  tsconfig: 'tsconfig.build.json',
  outDir: 'dist',
  clean: true,
  report: false,
  // A CommonJS build of a module with a default and named exports: exports.default and exports.<name>.
  outputOptions: { exports: 'named' },
  // CommonJS is still what many Express and Koa apps run: keep it without a deprecation notice.
  checks: { legacyCjs: false, pluginTimings: false },
});
