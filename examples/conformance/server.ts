/**
 * The server the official MCP conformance suite expects, on 127.0.0.1:$PORT/mcp.
 * ADAPTER: express (default) | koa | fastify. RESPONSE_MODE: auto (default) | sse | json.
 * REDIS_URL: Redis stores instead of memory (MCP_SESSION_REDIS_PREFIX: their key prefix).
 * Legacy (2025-11-25 and earlier) and 2026-07-28 clients share the endpoint; MCP_SESSION_* variables
 * set the other options, e.g. MCP_SESSION_LEGACY=stateless|reject for how legacy clients are served,
 * or MCP_SESSION_SESSION_CREATION_LIMIT=0 to run both legacy releases within a minute (they open over
 * 60 sessions, the default limit per address and minute).
 */
import type { ResponseMode } from '@x/mcp-session-core';
import { createRedisStores } from '@x/mcp-session-redis';
import { ADAPTERS, type AdapterName, startConformanceApp } from './app.js';

const adapter = (process.env.ADAPTER ?? 'express') as AdapterName;
const responseMode = (process.env.RESPONSE_MODE ?? 'auto') as ResponseMode;
if (!ADAPTERS.includes(adapter)) {
  console.error(`ADAPTER must be one of ${ADAPTERS.join(', ')}; got ${adapter}`);
  process.exit(2);
}
if (!['auto', 'sse', 'json'].includes(responseMode)) {
  console.error(`RESPONSE_MODE must be auto, sse or json; got ${responseMode}`);
  process.exit(2);
}

// REDIS_URL switches every store to Redis.
const redis =
  process.env.REDIS_URL === undefined
    ? undefined
    : createRedisStores({ client: process.env.REDIS_URL, prefix: process.env.MCP_SESSION_REDIS_PREFIX });
const stores = redis === undefined ? {} : { ...redis };
const app = await startConformanceApp(adapter, Number(process.env.PORT ?? 3000), { responseMode, ...stores });
const legacy = process.env.MCP_SESSION_LEGACY ?? 'sessions';
console.log(
  `conformance server (${adapter}, ${responseMode}, legacy ${legacy}, ${redis === undefined ? 'memory' : 'redis'} stores) on ${app.url}`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void app.close().then(() => redis?.close()));
}
