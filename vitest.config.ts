import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources of the workspace packages, not their build output.
    alias: {
      '@x/mcp-session-core/internal': fileURLToPath(new URL('./packages/core/src/internal.ts', import.meta.url)),
      '@x/mcp-session-core': source('core'),
      '@x/mcp-session-express': source('express'),
      '@x/mcp-session-koa': source('koa'),
      '@x/mcp-session-fastify': source('fastify'),
      '@x/mcp-session-redis': source('redis'),
      '@x/mcp-session-testing': source('testing'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // test/slow-consumer.test.ts measures retained memory after a collection.
    execArgv: ['--expose-gc'],
    reporters: ['default', './test/summary-reporter.ts'],
    globalSetup: ['./test/global-setup.ts'],
  },
});
