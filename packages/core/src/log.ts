import { createHash } from 'node:crypto';
import type { Logger } from './types.js';

/** Without a logger: errors become process warnings; lifecycle messages are dropped. */
export const defaultLogger: Logger = {
  error: (fields, message) => {
    const error = fields.err instanceof Error ? fields.err : undefined;
    process.emitWarning(`${message}${error === undefined ? '' : `: ${error.message}`}`, {
      code: 'MCP_SESSION',
      ...(error?.stack === undefined ? {} : { detail: error.stack }),
    });
  },
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** Reports an unexpected error to the log, with the process it happened on. */
export function errorReporter(log: Logger, nodeId: string): (error: unknown) => void {
  return (error) => {
    const err = error instanceof Error ? error : new Error(String(error));
    log.error({ err, nodeId }, 'mcp-session: error');
  };
}

/**
 * A short, non-reversible tag of a session id for logs: enough to tell sessions apart and to match
 * log lines, useless to take a session over.
 */
export function sessionTag(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url').slice(0, 10);
}
