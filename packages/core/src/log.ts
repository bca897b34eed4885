import { createHash } from 'node:crypto';
import { McpSessionError } from './errors.js';
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

/**
 * Reports an error to the log, with the process it happened on. A store out of reach is a warning:
 * every request during an outage fails the same way (and is answered 503), and the store's own
 * connection reports the outage once.
 */
export function errorReporter(log: Logger, nodeId: string): (error: unknown) => void {
  return (error) => {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof McpSessionError && err.code === 'ERR_MCP_SESSION_STORE') log.warn({ err, nodeId }, 'mcp-session: store unavailable');
    else log.error({ err, nodeId }, 'mcp-session: error');
  };
}

/**
 * A short, non-reversible tag of a session id for logs: enough to tell sessions apart and to match
 * log lines, useless to take a session over.
 */
export function sessionTag(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url').slice(0, 10);
}
