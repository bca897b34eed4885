import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { mcpSession as expressSession } from '@x/mcp-session-express';
import { mcpSessionPlugin } from '@x/mcp-session-fastify';
import { mcpSession as koaSession } from '@x/mcp-session-koa';
import type { McpSessionOptions } from '@x/mcp-session-core';
import { createConformanceServer } from './fixtures.js';

export const ADAPTERS = ['express', 'koa', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface ConformanceApp {
  url: string;
  close(): Promise<void>;
}

function listening(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/mcp`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The conformance fixture server on one adapter, listening on 127.0.0.1: both protocol eras on one endpoint. */
export async function startConformanceApp(
  adapter: AdapterName,
  port: number,
  options: Partial<McpSessionOptions> = {},
): Promise<ConformanceApp> {
  // The context goes through: the 2026-07-28 server seals MRTR state and announces changes with it.
  const endpointOptions: McpSessionOptions = { server: (_session, context) => createConformanceServer(context), ...options };
  switch (adapter) {
    case 'express': {
      const app = express();
      const mcp = expressSession(endpointOptions);
      app.use('/mcp', mcp);
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(port, '127.0.0.1', () => resolve(s));
      });
      return { url: listening(server), close: async () => (await mcp.close(), closeServer(server)) };
    }
    case 'koa': {
      const app = new Koa();
      const mcp = koaSession({ path: '/mcp', ...endpointOptions });
      app.use(mcp);
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(port, '127.0.0.1', () => resolve(s));
      });
      return { url: listening(server), close: async () => (await mcp.close(), closeServer(server)) };
    }
    case 'fastify': {
      const fastify = Fastify();
      await fastify.register(mcpSessionPlugin, { path: '/mcp', ...endpointOptions });
      await fastify.listen({ port, host: '127.0.0.1' });
      return { url: listening(fastify.server), close: () => fastify.close() };
    }
  }
}
