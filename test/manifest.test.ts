import { describe, expect, it } from 'vitest';
import { entriesOf, publishedManifest } from '../scripts/manifest.cjs';
import { checkTarball } from '../scripts/pack.js';

/** A public package's manifest as the repository keeps it. */
const source = {
  name: '@x/mcp-session-core',
  version: '1.2.3',
  type: 'module',
  exports: { '.': './src/index.ts', './internal': './src/internal.ts', './package.json': './package.json' },
  files: ['dist', 'README.md', 'LICENSE', 'CHANGELOG.md'],
  scripts: { build: 'tsdown -c ../../tsdown.config.ts -l warn', prepack: 'node ../../scripts/prepack.cjs' },
  dependencies: { zod: '^4.2.0' },
  devDependencies: { '@types/express': '^5.0.6' },
};

describe('scripts/manifest.cjs', () => {
  it('reads one entry point per exports line under ./src/', () => {
    expect(entriesOf(source).map(({ subpath, name }) => ({ subpath, name }))).toEqual([
      { subpath: '.', name: 'index' },
      { subpath: './internal', name: 'internal' },
    ]);
  });

  it('publishes each entry as import and require conditions with their own types, and the root for older resolvers', () => {
    const published = publishedManifest(source);
    expect(published.exports).toEqual({
      '.': {
        import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
      './internal': {
        import: { types: './dist/internal.d.mts', default: './dist/internal.mjs' },
        require: { types: './dist/internal.d.cts', default: './dist/internal.cjs' },
      },
      './package.json': './package.json',
    });
    expect(published).toMatchObject({
      main: './dist/index.cjs',
      module: './dist/index.mjs',
      types: './dist/index.d.cts',
      typesVersions: { '*': { internal: ['./dist/internal.d.cts'] } },
      dependencies: { zod: '^4.2.0' },
    });
    expect(published).not.toHaveProperty('scripts');
    expect(published).not.toHaveProperty('devDependencies');
  });

  it('publishes a package with only a root entry without typesVersions', () => {
    expect(publishedManifest({ ...source, exports: { '.': './src/index.ts' } })).not.toHaveProperty('typesVersions');
  });

  it('leaves a private package alone', () => {
    const testing = {
      name: '@x/mcp-session-testing',
      version: '0.0.0',
      private: true,
      exports: { '.': { '@x/source': './src/index.ts' } },
    };
    expect(publishedManifest(testing)).toBe(testing);
  });

  it('refuses an entry written as conditions, or a root entry that is not under ./src/', () => {
    expect(() => entriesOf({ ...source, exports: { '.': { '@x/source': './src/index.ts', import: './dist/index.js' } } })).toThrow(
      /exports\["\."\] must be one path/,
    );
    expect(() => entriesOf({ ...source, exports: { '.': './lib/index.js' } })).toThrow(/no "\." entry under \.\/src\//);
    expect(() => entriesOf({ ...source, exports: { '.': './src/index.js' } })).toThrow(/must be \.\/src\/<name>\.ts/);
  });
});

describe('checkTarball', () => {
  const files = [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    ...['index', 'internal'].flatMap((name) => ['mjs', 'd.mts', 'cjs', 'd.cts'].map((ext) => `dist/${name}.${ext}`)),
  ];

  it('finds nothing wrong with a tarball packed as published', () => {
    expect(checkTarball(source, publishedManifest(source), files)).toEqual([]);
  });

  it('names what a wrong tarball gets wrong', () => {
    const published = { ...publishedManifest(source), dependencies: { '@x/mcp-session-core': 'workspace:*' } };
    const withoutReadme = files.filter((file) => file !== 'README.md' && file !== 'dist/internal.cjs');
    expect(checkTarball(source, published, [...withoutReadme, 'src/index.ts'])).toEqual([
      'no README.md',
      'unexpected file src/index.ts',
      'entry ./internal: no ./dist/internal.cjs',
      'dependencies.@x/mcp-session-core is "workspace:*": a registry cannot install it',
      'the manifest names ./dist/internal.cjs, which is not in the tarball',
    ]);
    expect(checkTarball(source, source, files)).toContain('the manifest still names sources under ./src/');
  });
});
