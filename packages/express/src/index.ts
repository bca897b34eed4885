import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type AuthInfo,
  type McpSessionEndpoint,
  type McpSessionOptions,
  type SessionDirectory,
  createMcpSessionEndpoint,
} from '@x/mcp-session-core';

export type { McpSessionOptions } from '@x/mcp-session-core';

/** The Express middleware, with the endpoint's administration and shutdown. */
export interface McpSessionMiddleware extends RequestHandler {
  /** The framework-free endpoint behind this middleware. */
  readonly endpoint: McpSessionEndpoint;
  /** List, inspect and terminate sessions from the host app. */
  readonly sessions: SessionDirectory;
  /** Ends every stream and session timer. Call it when the HTTP server closes. */
  close(): Promise<void>;
}

/**
 * Express middleware serving the MCP Streamable HTTP endpoint with sessions. Mount it on the MCP path;
 * it answers requests to that exact path and passes every other one on. Works with or without
 * `express.json()` before it, and reads `req.auth` set by the host's auth middleware.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import { mcpSession } from '@x/mcp-session-express';
 *
 * const app = express();
 * app.use('/mcp', mcpSession({ server: () => new McpServer({ name: 'demo', version: '1.0.0' }) }));
 * app.listen(3000, '127.0.0.1');
 * ```
 */
export function mcpSession(options: McpSessionOptions): McpSessionMiddleware {
  const endpoint = createMcpSessionEndpoint(options);
  const middleware = function mcpSessionMiddleware(req: Request, res: Response, next: NextFunction): void {
    // The path under the mount point, without the query; req.path parses the whole URL, which only an
    // absolute-form target (`POST http://host/mcp`) needs.
    const url = req.url;
    const query = url.indexOf('?');
    const path = !url.startsWith('/') ? req.path : query === -1 ? url : url.slice(0, query);
    if (path !== '/' && path !== '') {
      next();
      return;
    }
    // A body parser that already consumed the stream leaves the parsed value on req.body.
    const parsed = req.readableEnded && req.body !== undefined;
    const auth = (req as Request & { auth?: AuthInfo }).auth;
    endpoint.handleRequest(req, res, { body: parsed ? (req.body as unknown) : undefined, auth }).catch(next);
  };
  return Object.assign(middleware, {
    endpoint,
    sessions: endpoint.sessions,
    close: () => endpoint.close(),
  });
}
