// #region quickstart
const express = require('express');
const { McpServer } = require('@modelcontextprotocol/server');
const { mcpSession } = require('@x/mcp-session-express');
const { z } = require('zod');

const app = express();
const mcp = mcpSession({
  // One McpServer per session, built again wherever the session is rehydrated.
  server: (session) => {
    const server = new McpServer({ name: 'quickstart', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text: `${text} (session ${session?.id ?? 'none'})` }],
    }));
    return server;
  },
});
app.use('/mcp', mcp);

const httpServer = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
process.once('SIGTERM', () => void mcp.close().then(() => httpServer.close()));
// #endregion quickstart

module.exports = { httpServer, mcp };
