import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of DESIGN.md, enforced: adapters import only core's public entry and their own
 * framework; core imports no web framework and no MCP SDK at run time.
 */
const root = new URL('..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, with whether it is type-only. */
function imports(file: string): Array<{ specifier: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]/gms;
  for (const match of text.matchAll(pattern)) found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined });
  for (const match of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);

const adapters: Record<string, string[]> = {
  express: ['express'],
  koa: ['koa'],
  fastify: ['fastify', 'fastify-plugin'],
};

describe('package boundaries', () => {
  it.each(Object.entries(adapters))('the %s adapter imports only core’s public entry and its framework', (name, framework) => {
    const files = sourceFiles(join(root, 'packages', name, 'src'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      for (const { specifier } of imports(file)) {
        const allowed =
          specifier === '@x/mcp-session-core' || framework.includes(specifier) || isBuiltin(specifier) || specifier.startsWith('./');
        expect(allowed, `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('core imports no web framework, and the MCP SDK only on demand, in the one module that serves 2026-07-28', () => {
    const files = sourceFiles(join(root, 'packages', 'core', 'src'));
    expect(files.length).toBeGreaterThan(5);
    const onDemand: string[] = [];
    for (const file of files) {
      for (const { specifier, typeOnly } of imports(file)) {
        if (specifier === '@modelcontextprotocol/server' && !typeOnly) {
          onDemand.push(file);
          continue;
        }
        const allowed =
          isBuiltin(specifier) || specifier.startsWith('./') || specifier.startsWith('../') || ['zod', 'lru-cache'].includes(specifier);
        expect(allowed || typeOnly, `${file} imports ${specifier}`).toBe(true);
      }
    }
    // An optional peer: loaded with import() when a 2026-07-28 request first arrives, never statically.
    expect(onDemand.map((file) => file.slice(file.indexOf('packages/')))).toEqual(['packages/core/src/live/shared-servers.ts']);
    const text = readFileSync(join(root, 'packages/core/src/live/shared-servers.ts'), 'utf8');
    expect(text).not.toMatch(/^\s*import\s[^(]*from\s+['"]@modelcontextprotocol\/server['"]/m);
  });

  it.each(['core', 'express', 'koa', 'fastify', 'redis', 'testing'])('%s has no import cycle, type imports included', (name) => {
    const files = sourceFiles(join(root, 'packages', name, 'src'));
    const graph = new Map(
      files.map((file) => [
        file,
        imports(file)
          .filter(({ specifier }) => specifier.startsWith('.'))
          .map(({ specifier }) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))),
      ]),
    );
    const cycle = findCycle(graph);
    expect(cycle, cycle?.map((file) => file.slice(root.length)).join(' -> ')).toBeUndefined();
  });
});

/** A cycle in the import graph, as the files along it, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
