import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RegisterOptions } from 'fastify';
import { METHODS } from 'node:http';
import fp from 'fastify-plugin';
import {
  type AuthInfo,
  type McpSessionEndpoint,
  type McpSessionOptions,
  type SessionDirectory,
  createMcpSessionEndpoint,
} from '@x/mcp-session-core';

export type { McpSessionOptions } from '@x/mcp-session-core';

/** Options of the Fastify plugin: the endpoint's options and the path it serves. */
export interface McpSessionFastifyOptions extends McpSessionOptions {
  /** The MCP path. Default `/mcp`. */
  path?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The MCP sessions of this instance: list, inspect, terminate. */
    mcpSessions: SessionDirectory;
    /** The framework-free endpoint behind the plugin. */
    mcpSessionEndpoint: McpSessionEndpoint;
  }
  interface FastifyRequest {
    /** Authentication set by the host's hooks (the SDK's `AuthInfo` convention). */
    auth?: AuthInfo;
  }
}

async function plugin(fastify: FastifyInstance, options: McpSessionFastifyOptions & RegisterOptions): Promise<void> {
  // fastify-plugin runs this in the host's scope, where Fastify applies none of its register options:
  // they are ours to pass on to the route's scope, and not endpoint options.
  const { path = '/mcp', prefix, logLevel, logSerializers, ...endpointOptions } = options;
  // Fastify's logger gets the library's logs unless the host passed its own.
  const endpoint = createMcpSessionEndpoint({ logger: fastify.log, ...endpointOptions });
  if (!fastify.hasDecorator('mcpSessions')) fastify.decorate('mcpSessions', endpoint.sessions);
  if (!fastify.hasDecorator('mcpSessionEndpoint')) fastify.decorate('mcpSessionEndpoint', endpoint);
  // preClose, not onClose: Fastify waits for open connections before it runs onClose hooks, and an
  // SSE stream stays open until the endpoint ends it.
  fastify.addHook('preClose', async () => endpoint.close());

  const routeOptions: RegisterOptions = {};
  if (prefix !== undefined) routeOptions.prefix = prefix;
  if (logLevel !== undefined) routeOptions.logLevel = logLevel;
  if (logSerializers !== undefined) routeOptions.logSerializers = logSerializers;

  // The route lives in its own scope so its body handling never leaks into the host app. Fastify
  // reads no body here: the endpoint reads and parses it, with the same limit and JSON rules as under
  // every other adapter.
  // Fastify routes only the methods it knows; the endpoint answers every other one with 405, as it
  // does under Express and Koa. Adding a method to the instance changes no route the host has.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !fastify.supportedMethods.includes(method)) fastify.addHttpMethod(method, { hasBody: true });
  }
  await fastify.register(async function mcpSessionRoute(scope) {
    scope.removeAllContentTypeParsers();
    const leaveUnread = (_request: FastifyRequest, _payload: unknown, done: (error: null, body: undefined) => void) =>
      done(null, undefined);
    // JSON by name finds Fastify's fast lookup; anything else the endpoint answers (415) unread too.
    scope.addContentTypeParser('application/json', leaveUnread);
    scope.addContentTypeParser('*', leaveUnread);
    const handler = async function mcpSessionHandler(request: FastifyRequest, reply: FastifyReply) {
      reply.hijack();
      const auth = request.auth ?? (request.raw as { auth?: AuthInfo }).auth;
      await endpoint.handleRequest(request.raw, reply.raw, { auth });
    };
    // With or without a trailing slash, as Express and Koa serve it.
    scope.all(path, handler);
    if (!path.endsWith('/')) scope.all(`${path}/`, handler);
  }, routeOptions);
}

/**
 * Fastify plugin serving the MCP Streamable HTTP endpoint with sessions at `path`, under the
 * `prefix` it is registered with. `fastify.close()` ends every stream and timer.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import { mcpSessionPlugin } from '@x/mcp-session-fastify';
 *
 * const fastify = Fastify();
 * await fastify.register(mcpSessionPlugin, {
 *   path: '/mcp',
 *   server: () => new McpServer({ name: 'demo', version: '1.0.0' }),
 * });
 * await fastify.listen({ port: 3000, host: '127.0.0.1' });
 * ```
 */
export const mcpSessionPlugin: FastifyPluginAsync<McpSessionFastifyOptions> = fp(plugin, {
  fastify: '5.x',
  name: '@x/mcp-session-fastify',
});

export default mcpSessionPlugin;
