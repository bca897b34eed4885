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
