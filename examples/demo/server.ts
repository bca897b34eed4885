import express from 'express';
import { mcpSession } from '@x/mcp-session-express';
import { createDemoServer } from './mcp-server.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const app = express();
const mcp = mcpSession({ server: createDemoServer });
app.use('/mcp', mcp);

const server = app.listen(port, host, () => {
  console.log(`MCP demo server on http://${host}:${port}/mcp`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void mcp.close().then(() => server.close());
  });
}
