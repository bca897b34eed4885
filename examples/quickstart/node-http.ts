// #region quickstart
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/server';
import { createMcpSessionEndpoint } from '@x/mcp-session-core';
import { z } from 'zod';

const endpoint = createMcpSessionEndpoint({
  // One McpServer per session, built again wherever the session is rehydrated.
  server: (session) => {
    const server = new McpServer({ name: 'quickstart', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text: `${text} (session ${session?.id ?? 'none'})` }],
    }));
    return server;
  },
});

export const httpServer = createServer((req, res) => {
  if (new URL(req.url ?? '/', 'http://localhost').pathname === '/mcp') void endpoint.handleRequest(req, res);
  else res.writeHead(404).end();
});
httpServer.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
process.once('SIGTERM', () => void endpoint.close().then(() => httpServer.close()));
// #endregion quickstart

export { endpoint };
