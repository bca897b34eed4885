import type { AddressInfo } from 'node:net';
import { RedisRevocationStore, createRedisStores } from '@x/mcp-session-redis';
import { createDemoApp } from './app.js';
import { usesDefaultPasswords } from './auth.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

// The demo accounts' default passwords are in the README: they may only be reachable from this machine.
if (!['127.0.0.1', '::1', 'localhost'].includes(host) && usesDefaultPasswords()) {
  console.error(
    `Refusing to listen on ${host} with the demo accounts' public passwords: set DEMO_ADMIN_PASSWORD and DEMO_USER_PASSWORD ` +
      '(and allowedHosts / allowedOrigins through MCP_SESSION_ALLOWED_HOSTS / MCP_SESSION_ALLOWED_ORIGINS), or listen on 127.0.0.1.',
  );
  process.exit(1);
}

// REDIS_URL switches every store to Redis: any number of these processes then serve any session. The
// stores include the state handles (the baskets of clients without a session), under a prefix of their
// own: a basket outlives a restart, on any process.
const prefix = process.env.MCP_SESSION_REDIS_PREFIX ?? 'mcp-session:';
const redis = process.env.REDIS_URL === undefined ? undefined : createRedisStores({ client: process.env.REDIS_URL, prefix });
// REVOCATION_REDIS_URL (with MCP_SESSION_TOKEN_KEYS and memory stores): only the session-token denylist on
// Redis, so a DELETE through one process is refused by every other.
const revocations =
  process.env.REVOCATION_REDIS_URL === undefined
    ? undefined
    : new RedisRevocationStore({ client: process.env.REVOCATION_REDIS_URL, prefix });
const { app, mcp, config, tokenKey } = createDemoApp({
  ...(redis === undefined ? {} : redis),
  ...(revocations === undefined ? {} : { revocationStore: revocations }),
});
if (!config.encryptionAtRest) {
  console.warn(
    'Session state is stored unsealed in Redis. Set MCP_SESSION_ENCRYPTION_KEYS=<id>:<base64 of 32 bytes> ' +
      '(the same on every process) to seal it; a key made up at start-up would not open it after a restart.',
  );
}
console.log(`Auth: ${config.tokens}; logins: ${config.loginRateLimit}.`);
console.log(`Session ids: ${config.sessionIds}.`);
if (tokenKey.source === 'start-up' && config.stores === 'redis') {
  console.warn(
    'Tokens are signed with a key made at start-up: other processes on this Redis refuse them, and so does this one after a ' +
      'restart. Set DEMO_TOKEN_KEY=<base64 of 32 bytes> (the same on every process), or MCP_SESSION_ENCRYPTION_KEYS, to share one.',
  );
}
const server = app.listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`MCP demo server on http://${host}:${actual}/mcp (stores: ${config.stores}; metrics on /metrics)`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: closing (no new connections; every stream ends, every request is answered)`);
    server.close(() => console.log('HTTP server closed'));
    void mcp
      .close()
      .then(() => redis?.close())
      .then(() => revocations?.close())
      .then(
        () => console.log('MCP endpoint and stores closed'),
        (error: unknown) => console.error('closing failed:', error),
      )
      .finally(() => {
        server.closeIdleConnections();
        // A connection still open now (a keep-alive a client holds, a request that came in as the
        // endpoint closed) would keep the process up: it gets two seconds to finish.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
  });
}
