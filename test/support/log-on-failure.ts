import { inspect } from 'node:util';
import type { Logger } from '@x/mcp-session-core';
import { afterEach } from 'vitest';

/**
 * The logger the adapter harnesses give every app the shared suites start. The suites throw errors on
 * purpose (a middleware that throws to show it becomes a JSON-RPC error), and the library's default
 * logger prints each as a process warning with its stack. This one keeps what the library logs during
 * a test and prints it only if that test fails, where it helps; a test that passes prints nothing.
 * Importing it registers the afterEach hook in the importing test file.
 */
const entries: string[] = [];

function keep(level: string): (fields: Record<string, unknown>, message: string) => void {
  return (fields, message) => {
    const { err, ...rest } = fields;
    const detail = Object.keys(rest).length === 0 ? '' : ` ${inspect(rest, { breakLength: Infinity })}`;
    entries.push(`[${level}] ${message}${detail}${err instanceof Error ? `\n${err.stack ?? err.message}` : ''}`);
  };
}

export const logOnFailure: Logger = {
  error: keep('error'),
  warn: keep('warn'),
  info: () => undefined,
  debug: () => undefined,
};

afterEach((context) => {
  const failed = context.task.result?.state === 'fail' || (context.task.result?.errors?.length ?? 0) > 0;
  if (failed && entries.length > 0) {
    process.stderr.write(`mcp-session logs of the failed test "${context.task.name}":\n${entries.join('\n')}\n`);
  }
  entries.length = 0;
});
