import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@x/source', 'import', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@x/source', 'import', 'module', 'node', 'default'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
