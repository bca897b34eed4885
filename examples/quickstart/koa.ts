// #region quickstart
import Koa from 'koa';
import { McpServer } from '@modelcontextprotocol/server';
import { mcpSession } from '@x/mcp-session-koa';
import { z } from 'zod';

const app = new Koa();
const mcp = mcpSession({
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
app.use(mcp);

export const httpServer = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
process.once('SIGTERM', () => void mcp.close().then(() => httpServer.close()));
// #endregion quickstart

export { mcp };
