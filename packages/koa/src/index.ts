import type { IncomingMessage } from 'node:http';
import type { Middleware, ParameterizedContext } from 'koa';
import {
  type AuthInfo,
  type McpSessionEndpoint,
  type McpSessionOptions,
  type SessionDirectory,
  createMcpSessionEndpoint,
} from '@x/mcp-session-core';

export type { McpSessionOptions } from '@x/mcp-session-core';

/** Options of the Koa middleware: the endpoint's options and the path it answers. */
export interface McpSessionKoaOptions extends McpSessionOptions {
  /** The MCP path. Omit it when the middleware is mounted on a `@koa/router` route. */
  path?: string;
}

/** What the middleware puts on `ctx.state.mcpSession` for the host's middleware. */
export interface McpSessionState {
  /**
   * The session the request names in `Mcp-Session-Id`, if any. An `initialize` names none: the id of
   * the session it creates is in its response's `Mcp-Session-Id` header and in `onSessionCreated`.
   */
  id: string | undefined;
}

/** The Koa middleware, with the endpoint's administration and shutdown. */
export interface McpSessionKoaMiddleware extends Middleware {
  readonly endpoint: McpSessionEndpoint;
  readonly sessions: SessionDirectory;
  close(): Promise<void>;
}

interface KoaRequestWithBody {
  body?: unknown;
}

/** Socket errors of a client that went away: for a stream the endpoint owns, a closed stream and no more. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Koa middleware serving the MCP Streamable HTTP endpoint with sessions. It answers requests to
 * `path` and calls `next()` for every other. A body parser before it is optional. The host's auth
 * middleware may set `ctx.state.auth` (or `ctx.req.auth`) to the SDK's `AuthInfo`.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import { mcpSession } from '@x/mcp-session-koa';
 *
 * const app = new Koa();
 * app.use(mcpSession({ path: '/mcp', server: () => new McpServer({ name: 'demo', version: '1.0.0' }) }));
 * app.listen(3000, '127.0.0.1');
 * ```
 */
export function mcpSession(options: McpSessionKoaOptions): McpSessionKoaMiddleware {
  const { path, ...endpointOptions } = options;
  const endpoint = createMcpSessionEndpoint(endpointOptions);
  const middleware = async function mcpSessionMiddleware(ctx: ParameterizedContext, next: () => Promise<unknown>): Promise<void> {
    // The path, with or without a trailing slash (as Express and Fastify serve it).
    if (path !== undefined && ctx.path !== path && ctx.path !== `${path}/`) {
      await next();
      return;
    }
    // From here on Node's res is ours: Koa must not write a response of its own, nor report a client
    // that drops its stream (routine for SSE) as an app error.
    ctx.respond = false;
    const reportError = ctx.onerror;
    ctx.onerror = function onMcpSessionError(error: Error) {
      if (CLIENT_GONE.has((error as NodeJS.ErrnoException | null)?.code ?? '')) return;
      reportError.call(ctx, error);
    };
    // ctx.get() answers '' for a missing header. Read the request, not the response: the endpoint
    // writes its headers later, with writeHead(), where getHeader() cannot see them.
    const state: McpSessionState = { id: ctx.get('mcp-session-id') || undefined };
    ctx.state.mcpSession = state;
    const parsed = ctx.req.readableEnded ? (ctx.request as KoaRequestWithBody).body : undefined;
    const auth = (ctx.state.auth as AuthInfo | undefined) ?? (ctx.req as IncomingMessage & { auth?: AuthInfo }).auth;
    await endpoint.handleRequest(ctx.req, ctx.res, { body: parsed, auth });
  };
  return Object.assign(middleware, {
    endpoint,
    sessions: endpoint.sessions,
    close: () => endpoint.close(),
  });
}
