import type { AddressInfo } from 'node:net';
import { createRedisStores } from '@x/mcp-session-redis';
import { createDemoApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

// REDIS_URL switches every store to Redis: any number of these processes then serve any session.
const redis =
  process.env.REDIS_URL === undefined
    ? undefined
    : createRedisStores({ client: process.env.REDIS_URL, prefix: process.env.MCP_SESSION_REDIS_PREFIX });
const { app, mcp, config } = createDemoApp(redis === undefined ? {} : { ...redis });
if (!config.encryptionAtRest) {
  console.warn(
    'Session state is stored unsealed in Redis. Set MCP_SESSION_ENCRYPTION_KEYS=<id>:<base64 of 32 bytes> ' +
      '(the same on every process) to seal it; a key made up at start-up would not open it after a restart.',
  );
}
const server = app.listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`MCP demo server on http://${host}:${actual}/mcp (stores: ${config.stores}; metrics on /metrics)`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void mcp
      .close()
      .then(() => redis?.close())
      .finally(() => server.close());
  });
}
