/**
 * A benchmark target: one MCP server on 127.0.0.1, in its own process, driven by bench/run.ts over
 * IPC. Usage: `node --import tsx --conditions=@x/source --expose-gc bench/targets.ts <target> [echo|conformance]`,
 * the second argument the server it serves (bench/servers.ts; default `echo`).
 *
 * Every target but five is an Express 5 app. The SDK targets follow the SDK's own stateful examples: a
 * `Map<sessionId, transport>` kept by the app, a new transport and server per `initialize`, and
 * `express.json()` in front. Ours is the one-line `app.use('/mcp', mcpSession(...))`; `ours-fastify`
 * `ours-fastify-lazy` and `ours-fastify-stateless` are Fastify 5 apps with `mcpSessionPlugin`, `ours-koa` a Koa 3 app with
 * the Koa `mcpSession`. `sdk-v2-handler` is the SDK's `createMcpHandler` on `node:http`, as the SDK documents it: wrapped
 * once with `toNodeHandler`, behind its localhost Host and Origin guards; it builds a server per request.
 * `ours-redis` keeps every store on Redis (`REDIS_URL`, default the local server) under a prefix of
 * its own, whose keys it deletes when it closes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import Koa from 'koa';
import {
  NodeStreamableHTTPServerTransport,
  localhostHostValidation,
  localhostOriginValidation,
  toNodeHandler,
} from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest } from '@modelcontextprotocol/server';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type McpSessionOptions, mcpSession } from '@x/mcp-session-express';
import { mcpSessionPlugin } from '@x/mcp-session-fastify';
import { mcpSession as mcpSessionKoa } from '@x/mcp-session-koa';
import { createRedisStores } from '@x/mcp-session-redis';
import {
  type CommandMessage,
  type CommandName,
  type Commands,
  HIBERNATE_AFTER_MS,
  type TargetName,
  type ToolSet,
  isTargetName,
  isToolSet,
} from './protocol.js';
import { createServerOf, createV1Server } from './servers.js';

/** What the app needs from a target besides its routes. */
interface Target {
  sessions(): Promise<Commands['sessions']>;
  hibernate(): Promise<Commands['hibernate']>;
  /** Closes the target's sessions and stores (not its HTTP server). */
  close(): Promise<void>;
}

/** A target listening on 127.0.0.1. */
interface Started {
  target: Target;
  port: number;
  /** Closes the target, then its HTTP server. */
  close(): Promise<void>;
}

/** The structural face shared by the SDK v1 and v2 Node transports. */
interface SdkTransport {
  readonly sessionId: string | undefined;
  onclose: (() => void) | undefined;
  handleRequest(req: Request, res: Response, parsedBody?: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Builds a transport whose `onsessioninitialized` calls `register`, with its server connected. */
type OpenTransport = (register: (id: string, transport: SdkTransport) => void) => Promise<SdkTransport>;

function badRequest(res: Response): void {
  res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
}

/** The SDK examples' stateful pattern (v1 `simpleStreamableHttp.ts`, v2 `serving/http`). */
function mountSdk(app: express.Express, open: OpenTransport): Target {
  const transports = new Map<string, SdkTransport>();
  const register = (id: string, transport: SdkTransport) => void transports.set(id, transport);
  const existing = (req: Request) => {
    const id = req.get('mcp-session-id');
    return id === undefined ? undefined : transports.get(id);
  };
  app.post('/mcp', express.json(), async (req: Request, res: Response) => {
    const transport = existing(req);
    if (transport !== undefined) return transport.handleRequest(req, res, req.body);
    if (req.get('mcp-session-id') !== undefined || !isInitializeRequest(req.body)) return badRequest(res);
    const created = await open(register);
    created.onclose = () => {
      if (created.sessionId !== undefined) transports.delete(created.sessionId);
    };
    return created.handleRequest(req, res, req.body);
  });
  const other = async (req: Request, res: Response) => {
    const transport = existing(req);
    if (transport === undefined) return badRequest(res);
    return transport.handleRequest(req, res);
  };
  app.get('/mcp', other);
  app.delete('/mcp', other);
  return {
    sessions: async () => ({ sessions: transports.size, live: transports.size }),
    hibernate: async () => ({ live: transports.size }),
    close: async () => {
      for (const transport of [...transports.values()]) await transport.close();
    },
  };
}

const FLOOR_INITIALIZE = {
  protocolVersion: '2025-11-25',
  capabilities: { tools: { listChanged: true } },
  serverInfo: { name: 'bench', version: '1.0.0' },
};

/**
 * The Express floor: what answering these requests costs on Express with no MCP at all. It reads
 * and parses each body, then answers a fixed result (a new session id for `initialize`, 202 for a
 * notification, the echo for anything else).
 */
function mountFloor(app: express.Express): Target {
  let created = 0;
  app.post('/mcp', (req: Request, res: Response) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string };
      if (message.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      let result: unknown = { content: [{ type: 'text', text: 'hello' }] };
      if (message.method === 'initialize') {
        result = FLOOR_INITIALIZE;
        headers['mcp-session-id'] = randomUUID();
        created += 1;
      }
      const body = JSON.stringify({ jsonrpc: '2.0', id: message.id, result });
      headers['content-length'] = Buffer.byteLength(body);
      res.writeHead(200, headers);
      res.end(body);
    });
  });
  return {
    sessions: async () => ({ sessions: created, live: 0 }),
    hibernate: async () => ({ live: 0 }),
    close: async () => undefined,
  };
}

/** A clock `hibernate` can move forward. */
const clock = {
  offset: 0,
  now(): number {
    return Date.now() + this.offset;
  },
};

/** What our endpoint exposes to a target, whichever adapter carries it. */
interface OursEndpoint {
  readonly sessions: { count(): Promise<number>; readonly liveCount: number };
  readonly endpoint: { sweep(): Promise<unknown> };
  close(): Promise<void>;
}

/** A Redis key prefix of this process, and what to release when the target closes. */
interface RedisSetup {
  url: string;
  prefix: string;
  stores: ReturnType<typeof createRedisStores>;
}

function redisSetup(): RedisSetup {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `mcp-session-bench:${process.pid}:${randomUUID().slice(0, 8)}:`;
  return { url, prefix, stores: createRedisStores({ client: url, prefix }) };
}

/** Deletes every key under the prefix with SCAN + DEL (never a flush), then closes the stores. */
async function redisCleanup(setup: RedisSetup): Promise<void> {
  const client = new Redis(setup.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await client.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${setup.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
    console.log(`ours-redis: deleted ${deleted} keys under ${setup.prefix}`);
  } finally {
    client.disconnect();
    await setup.stores.close();
  }
}

/** Our endpoint options of a target: response mode, event store, hibernation, stores, legacy mode. */
function oursOptions(name: TargetName, tools: ToolSet, redis: RedisSetup | undefined): McpSessionOptions {
  const responseMode = name === 'ours-json' ? 'json' : name === 'ours-sse' || name === 'ours-sse-noevents' ? 'sse' : 'auto';
  return {
    server: (_session, context) => createServerOf(tools, context),
    responseMode,
    clock,
    // The load generator is one client address opening up to 100,000 sessions: the defaults that
    // protect a server from one anonymous client would stop it (the SDK targets have no such limits).
    maxSessions: 1_000_000,
    sessionCreationLimit: 0,
    ...(name === 'ours-hibernate' ? { hibernateAfterMs: HIBERNATE_AFTER_MS } : {}),
    ...(name === 'ours-sse-noevents' ? { eventStore: null } : {}),
    ...(name === 'ours-lazy' || name === 'ours-fastify-lazy' ? { lazyServer: true } : {}),
    ...(name === 'ours-stateless' || name === 'ours-fastify-stateless' ? { legacy: 'stateless' as const } : {}),
    ...(name === 'ours-tokens' || name === 'ours-tokens-sealed'
      ? { tokenKeys: [{ id: 'bench', key: randomBytes(32).toString('base64') }], tokenFormat: name === 'ours-tokens' ? 'signed' : 'sealed' }
      : {}),
    ...(redis === undefined ? {} : redis.stores),
  };
}

function oursTarget(mcp: OursEndpoint, redis: RedisSetup | undefined): Target {
  return {
    sessions: async () => ({ sessions: await mcp.sessions.count(), live: mcp.sessions.liveCount }),
    hibernate: async () => {
      clock.offset += HIBERNATE_AFTER_MS + 1_000;
      await mcp.endpoint.sweep();
      return { live: mcp.sessions.liveCount };
    },
    close: async () => {
      await mcp.close();
      if (redis !== undefined) await redisCleanup(redis);
    },
  };
}

function mount(app: express.Express, name: TargetName, tools: ToolSet): Target {
  switch (name) {
    case 'express-floor':
      return mountFloor(app);
    case 'sdk-v2-sse':
    case 'sdk-v2-json':
      return mountSdk(app, async (register) => {
        const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: name === 'sdk-v2-json',
          onsessioninitialized: (id) => register(id, transport),
        });
        await createServerOf(tools).connect(transport);
        return transport;
      });
    case 'sdk-v1-sse':
    case 'sdk-v1-json':
      if (tools !== 'echo') throw new Error(`${name} serves the echo server only (the conformance server is an SDK v2 server)`);
      return mountSdk(app, async (register) => {
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: name === 'sdk-v1-json',
          onsessioninitialized: (id) => register(id, transport),
        });
        await createV1Server().connect(transport);
        return transport;
      });
    default: {
      const redis = name === 'ours-redis' ? redisSetup() : undefined;
      const mcp = mcpSession(oursOptions(name, tools, redis));
      app.use('/mcp', mcp);
      return oursTarget(mcp, redis);
    }
  }
}

async function listen(server: Server): Promise<number> {
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * The SDK's stateless entry on `node:http`: `createMcpHandler` builds a server per request from the
 * factory, for 2026-07-28 requests and (`legacy: 'stateless'`) legacy ones alike.
 */
async function startSdkHandler(tools: ToolSet): Promise<Started> {
  const handler = createMcpHandler(() => createServerOf(tools), { legacy: 'stateless' });
  const serve = toNodeHandler(handler);
  const validateHost = localhostHostValidation();
  const validateOrigin = localhostOriginValidation();
  const server = createServer((req, res) => {
    if (!validateHost(req, res) || !validateOrigin(req, res)) return;
    if (req.url !== '/mcp') return void res.writeHead(404).end();
    void serve(req, res);
  }).listen(0, '127.0.0.1');
  const target: Target = {
    sessions: async () => ({ sessions: 0, live: 0 }),
    hibernate: async () => ({ live: 0 }),
    close: () => handler.close(),
  };
  return { target, port: await listen(server), close: async () => (await target.close(), await closeServer(server)) };
}

async function start(name: TargetName, tools: ToolSet): Promise<Started> {
  if (name === 'sdk-v2-handler') return startSdkHandler(tools);
  if (name === 'ours-fastify' || name === 'ours-fastify-lazy' || name === 'ours-fastify-stateless') {
    const fastify = Fastify();
    await fastify.register(mcpSessionPlugin, { path: '/mcp', ...oursOptions(name, tools, undefined) });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const target = oursTarget(
      { sessions: fastify.mcpSessions, endpoint: fastify.mcpSessionEndpoint, close: () => fastify.mcpSessionEndpoint.close() },
      undefined,
    );
    // fastify.close() closes the endpoint first (its preClose hook), then the server.
    const close = async () => {
      fastify.server.closeAllConnections();
      await fastify.close();
    };
    return { target, port: (fastify.server.address() as AddressInfo).port, close };
  }
  if (name === 'ours-koa') {
    const app = new Koa();
    const mcp = mcpSessionKoa({ path: '/mcp', ...oursOptions(name, tools, undefined) });
    app.use(mcp);
    const server = app.listen(0, '127.0.0.1');
    const target = oursTarget(mcp, undefined);
    return { target, port: await listen(server), close: async () => (await target.close(), await closeServer(server)) };
  }
  const app = express();
  const target = mount(app, name, tools);
  const server = app.listen(0, '127.0.0.1');
  return { target, port: await listen(server), close: async () => (await target.close(), await closeServer(server)) };
}

function memory(): Commands['mem'] {
  if (globalThis.gc === undefined) throw new Error('run the target with --expose-gc');
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, rss, external } = process.memoryUsage();
  return { heapUsed, rss, external };
}

/** The V8 profiler over an inspector session, so a profile covers only the measured window. */
const inspector = new Session();

async function profileStart(): Promise<null> {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
  await inspector.post('Profiler.start');
  return null;
}

async function profileStop(): Promise<Commands['profileStop']> {
  const { profile } = await inspector.post('Profiler.stop');
  inspector.disconnect();
  return { profile: JSON.stringify(profile) };
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const tools = process.argv[3] ?? 'echo';
  if (!isTargetName(name) || !isToolSet(tools) || process.send === undefined) {
    throw new Error(`usage: run from bench/run.ts with a target name and optionally a tool set, got "${name}" "${tools}"`);
  }
  const send = process.send.bind(process);
  const { target, port, close } = await start(name, tools);

  const commands: { [K in CommandName]: () => Promise<Commands[K]> | Commands[K] } = {
    cpu: () => process.cpuUsage(),
    mem: memory,
    hibernate: () => target.hibernate(),
    sessions: () => target.sessions(),
    profileStart,
    profileStop,
    close: async () => {
      await close();
      return null;
    },
  };
  process.on('message', (message: CommandMessage) => {
    void (async () => {
      try {
        const value = await commands[message.cmd]();
        send({ type: 'reply', id: message.id, value }, undefined, {}, () => {
          if (message.cmd === 'close') process.exit(0);
        });
      } catch (error) {
        send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  // The orchestrator going away (crash, Ctrl-C) ends this process too.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port });
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
