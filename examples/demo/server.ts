import { createDemoApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const { app, mcp, config } = createDemoApp();
const server = app.listen(port, host, () => {
  console.log(`MCP demo server on http://${host}:${port}/mcp (stores: ${config.stores}; metrics on /metrics)`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void mcp.close().then(() => server.close());
  });
}
