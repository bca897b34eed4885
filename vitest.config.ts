import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests run the TypeScript sources of the workspace packages: each package's exports name them.
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
