import express from 'express';
import { randomBytes } from 'node:crypto';
import { cache, type McpSessionOptions, MemorySessionStore, rateLimit } from '@x/mcp-session-core';
import { mcpSession, type McpSessionMiddleware } from '@x/mcp-session-express';
import { createDemoServer, type DemoConfig } from './mcp-server.js';

/**
 * The demo app: Express with the MCP endpoint at /mcp and Prometheus metrics at /metrics. Stores are in
 * memory unless `stores` are given (the Redis ones, when REDIS_URL is set).
 */
export function createDemoApp(
  options: Partial<McpSessionOptions> = {},
  auth?: express.RequestHandler,
): { app: express.Express; mcp: McpSessionMiddleware; config: DemoConfig } {
  // State is sealed with MCP_SESSION_ENCRYPTION_KEYS when it is set. Without it, sessions in memory get a
  // key that lives exactly as long as they do (the process); sessions in Redis outlive the process, so
  // their state is stored unsealed rather than under a key the next start could not know.
  const persistent = options.sessionStore !== undefined && !(options.sessionStore instanceof MemorySessionStore);
  const encryptionKeys =
    process.env.MCP_SESSION_ENCRYPTION_KEYS === undefined && !persistent
      ? [{ id: 'demo', key: randomBytes(32).toString('base64') }]
      : undefined;
  const mcp: McpSessionMiddleware = mcpSession({
    ...(encryptionKeys === undefined ? {} : { encryptionKeys }),
    middleware: [
      rateLimit({ limit: 5, windowMs: 60_000, tools: ['limited_echo'] }),
      cache({ ttlMs: 30_000, methods: ['resources/read'], scope: 'global' }),
    ],
    ...options,
    // Servers are built per session, once the settings below are known.
    server: (session) => createDemoServer(session, () => mcp.sessions, config),
  });
  const { settings } = mcp.endpoint;
  const config: DemoConfig = {
    responseMode: settings.responseMode,
    idleTimeoutMs: settings.idleTimeoutMs,
    hibernateAfterMs: settings.hibernateAfterMs,
    stores: persistent ? 'redis' : 'memory',
    encryptionAtRest: settings.encryptionAtRest,
    rateLimit: 'limited_echo: 5 calls per minute per session',
    cache: 'resources/read: 30 s, shared by all sessions',
  };
  const app = express();
  // A host's auth middleware goes before the endpoint and sets req.auth (the SDK's AuthInfo).
  if (auth !== undefined) app.use(auth);
  app.use('/mcp', mcp);
  app.get('/metrics', mcp.endpoint.metricsHandler());
  return { app, mcp, config };
}
