// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Adapters see core only through its public entry (the tRPC rule): no deep imports, no internals. */
const adapterBoundary = {
  patterns: [
    {
      group: ['@x/mcp-session-core/*', '**/core/src/**', '../../core/**'],
      message: 'Adapters import only the public entry of @x/mcp-session-core.',
    },
    {
      group: ['@modelcontextprotocol/*', 'ioredis', '@x/mcp-session-redis'],
      message: 'Adapters add no MCP features and no stores: they translate requests for core.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.tools/**', '.release/**', 'coverage/**', 'bench/.scratch/**', 'test/.results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: './tsconfig.json', conditionNames: ['@x/source', 'types', 'import', 'node'] }),
      ],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(only|skip)$/][callee.object.name=/^(it|describe|test)$/]',
          message: 'No focused or skipped tests.',
        },
      ],
    },
  },
  {
    // CommonJS where a tool requires it (.pnpmfile.cjs and what it loads).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['packages/express/src/**', 'packages/koa/src/**', 'packages/fastify/src/**'],
    rules: { 'no-restricted-imports': ['error', adapterBoundary] },
  },
  prettier,
);
