// #region quickstart
import Fastify from 'fastify';
import { McpServer } from '@modelcontextprotocol/server';
import { mcpSessionPlugin } from '@x/mcp-session-fastify';
import { z } from 'zod';

export const fastify = Fastify({ logger: process.env.NODE_ENV !== 'test' });
fastify.register(mcpSessionPlugin, {
  path: '/mcp',
  // One McpServer per session, built again wherever the session is rehydrated.
  server: (session) => {
    const server = new McpServer({ name: 'quickstart', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text: `${text} (session ${session?.id ?? 'none'})` }],
    }));
    return server;
  },
});

fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }, (error) => {
  if (error) throw error;
});
process.once('SIGTERM', () => void fastify.close()); // ends every MCP stream and timer too
// #endregion quickstart
