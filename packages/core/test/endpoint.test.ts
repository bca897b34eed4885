import { request } from 'node:http';
import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { McpSessionError, MemorySessionStore, createMcpSessionEndpoint, envName, type McpSession } from '@x/mcp-session-core';
import { resolveOptions } from '@x/mcp-session-core/internal';
import { modernHeaders, modernMeta, within } from '@x/mcp-session-testing';
import { bareHttp } from './helpers.js';

const http = bareHttp();

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

const postInitialize = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(initialize),
  });

describe('createMcpSessionEndpoint on bare node:http', () => {
  it('answers 400 when something before it consumed the body without passing it on', async () => {
    const mcp = createMcpSessionEndpoint({ server: () => new McpServer({ name: 't', version: '1' }) });
    http.track(mcp);
    const url = await http.listen((req, res) => {
      req.resume();
      req.once('end', () => void mcp.handleRequest(req, res));
    });
    const response = await postInitialize(url);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
  });

  it('serves initialize when it reads the body itself', async () => {
    const mcp = createMcpSessionEndpoint({ server: () => new McpServer({ name: 't', version: '1' }) });
    http.track(mcp);
    const url = await http.listen((req, res) => void mcp.handleRequest(req, res));
    const response = await postInitialize(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toMatch(/^[\x21-\x7e]{22,}$/);
  });

  it('hands out session handles that behave as plain read-only objects', async () => {
    let created: McpSession | undefined;
    const mcp = createMcpSessionEndpoint({
      server: () => new McpServer({ name: 't', version: '1' }),
      onSessionCreated: (session) => void (created = session),
    });
    http.track(mcp);
    const url = await http.listen((req, res) => void mcp.handleRequest(req, res));
    const response = await postInitialize(url);
    expect(response.status).toBe(200);
    const session = created!;
    expect(session.id).toBe(response.headers.get('mcp-session-id'));
    // Spread and JSON see the fields, as of a plain object.
    expect({ ...session }).toMatchObject({ id: session.id, protocolVersion: '2025-11-25', clientInfo: { name: 't', version: '1' } });
    expect(JSON.parse(JSON.stringify(session))).toMatchObject({ id: session.id, requestCount: 1 });
    // Methods work taken off their object.
    const { set, get } = session.state;
    await set('k', { n: 1 });
    expect(await get('k')).toEqual({ n: 1 });
    const { onClose } = session;
    expect(typeof onClose(() => undefined)).toBe('function');
    // The id cannot be changed (ES modules are strict: assigning to a getter throws).
    expect(() => {
      (session as { id: string }).id = 'other';
    }).toThrow(TypeError);
  });

  it('names a bad option and the reason at start-up', () => {
    expect(() => createMcpSessionEndpoint({ server: () => new McpServer({ name: 't', version: '1' }), idleTimeoutMs: -5 })).toThrow(
      McpSessionError,
    );
    expect(() => createMcpSessionEndpoint({ server: () => new McpServer({ name: 't', version: '1' }), idleTimeoutMs: -5 })).toThrow(
      /idleTimeoutMs/,
    );
    expect(() =>
      createMcpSessionEndpoint({ server: () => new McpServer({ name: 't', version: '1' }), responseMode: 'xml' as 'sse' }),
    ).toThrow(/responseMode/);
  });

  it('refuses one store for sessions and state handles: they would sweep each other away', () => {
    const store = new MemorySessionStore();
    const server = () => new McpServer({ name: 't', version: '1' });
    expect(() => createMcpSessionEndpoint({ server, sessionStore: store, handleStore: store })).toThrow(
      /handleStore must be a store of its own/,
    );
    const endpoint = http.track(createMcpSessionEndpoint({ server, sessionStore: store, handleStore: new MemorySessionStore() }));
    expect(endpoint.settings.legacy).toBe('sessions');
  });
});

describe('options from MCP_SESSION_* environment variables', () => {
  const server = () => new McpServer({ name: 't', version: '1' });

  it('reads numbers, enums, lists and keys, and lets code options win', () => {
    const env = {
      MCP_SESSION_IDLE_TIMEOUT_MS: '60000',
      MCP_SESSION_RESPONSE_MODE: 'sse',
      MCP_SESSION_ALLOWED_HOSTS: 'a.example, b.example',
      MCP_SESSION_MAX_SESSIONS: '10',
      MCP_SESSION_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      MCP_SESSION_LAZY_SERVER: 'true',
    };
    const resolved = resolveOptions({ server, maxSessions: 20 }, env);
    expect(resolved.idleTimeoutMs).toBe(60_000);
    expect(resolved.responseMode).toBe('sse');
    expect(resolved.allowedHosts).toEqual(['a.example', 'b.example']);
    expect(resolved.maxSessions).toBe(20);
    expect(resolved.encryptionKeys?.[0]?.id).toBe('k1');
    expect(resolved.lazyServer).toBe(true);
    expect(resolveOptions({ server }, { MCP_SESSION_LAZY_SERVER: '0' }).lazyServer).toBe(false);
    expect(resolveOptions({ server }, {}).lazyServer).toBe(false);
    expect(envName('maxStreamDurationMs')).toBe('MCP_SESSION_MAX_STREAM_DURATION_MS');
  });

  it('secure defaults: a session bound, creation paced, no proxy trusted, unsealed values refused', () => {
    const resolved = resolveOptions({ server }, {});
    expect(resolved).toMatchObject({
      maxSessions: 10_000,
      sessionCreationLimit: 60,
      trustProxy: false,
      allowAnyHost: false,
      acceptUnsealed: false,
    });
    expect(resolveOptions({ server }, { MCP_SESSION_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(resolveOptions({ server }, { MCP_SESSION_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(() => resolveOptions({ server }, { MCP_SESSION_TRUST_PROXY: 'yes' })).toThrow(/trustProxy \(from MCP_SESSION_TRUST_PROXY\)/);
  });

  it('names the variable a bad value came from', () => {
    expect(() => resolveOptions({ server }, { MCP_SESSION_IDLE_TIMEOUT_MS: 'soon' })).toThrow(
      /idleTimeoutMs \(from MCP_SESSION_IDLE_TIMEOUT_MS\)/,
    );
    expect(() => resolveOptions({ server }, { MCP_SESSION_ON_MAX_SESSIONS: 'panic' })).toThrow(/MCP_SESSION_ON_MAX_SESSIONS/);
    expect(() => resolveOptions({ server }, { MCP_SESSION_LAZY_SERVER: 'yes' })).toThrow(/lazyServer \(from MCP_SESSION_LAZY_SERVER\)/);
    expect(() => createMcpSessionEndpoint({ server, encryptionKeys: [{ id: 'k', key: 'c2hvcnQ=' }] })).toThrow(/32 bytes/);
  });
});

/** A server for both eras with one tool. */
function bothEras(): McpServer {
  const server = new McpServer(
    { name: 't', version: '1' },
    { capabilities: { tools: { listChanged: true } }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, '2026-07-28'] },
  );
  server.registerTool('ping_tool', {}, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
  return server;
}

interface SlowPost {
  /** Sends the rest of the body. */
  finish(): void;
  /** The answer: status, headers and the body once it ended. */
  answer: Promise<{ status: number; retryAfter: string | undefined; body: string }>;
}

/** A POST whose body is held back after its first bytes, until `finish()`. */
function slowPost(url: string, message: unknown, headers: Record<string, string>): SlowPost {
  const body = JSON.stringify(message);
  const target = new URL(url);
  const req = request({
    host: target.hostname,
    port: target.port,
    path: target.pathname,
    method: 'POST',
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
  });
  req.on('error', () => undefined);
  req.write(body.slice(0, 8));
  const answer = new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text }),
      );
      res.once('error', reject);
    });
  });
  return { finish: () => req.end(body.slice(8)), answer };
}

const modernCall = (method: string, params: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 7,
  method,
  params: { _meta: modernMeta(), ...params },
});

describe('requests racing close()', () => {
  /** An endpoint on node:http that reports each request it is handed. */
  async function served(factory: () => McpServer | Promise<McpServer>) {
    const mcp = createMcpSessionEndpoint({ server: factory });
    http.track(mcp);
    const arrivals: Array<() => void> = [];
    const url = await http.listen((req, res) => {
      arrivals.shift()?.();
      void mcp.handleRequest(req, res);
    });
    const arrival = () => new Promise<void>((resolve) => arrivals.push(resolve));
    return { mcp, url, arrival };
  }

  it.each([
    [
      'a 2026-07-28 tools/call',
      modernCall('tools/call', { name: 'ping_tool', arguments: {} }),
      modernHeaders('tools/call', { 'mcp-name': 'ping_tool' }),
    ],
    [
      'a subscriptions/listen',
      modernCall('subscriptions/listen', { notifications: { toolsListChanged: true } }),
      modernHeaders('subscriptions/listen'),
    ],
  ])(
    '%s whose body arrives after close() began is answered 503 with Retry-After, not served by what close() ended',
    async (_name, message, headers) => {
      const { mcp, url, arrival } = await served(bothEras);
      // The 2026-07-28 server is built and serving before the race.
      const discover = await fetch(url, {
        method: 'POST',
        headers: modernHeaders('server/discover'),
        body: JSON.stringify(modernCall('server/discover', {})),
      });
      expect(discover.status).toBe(200);
      await discover.arrayBuffer();
      const arrived = arrival();
      const post = slowPost(url, message, headers);
      await arrived;
      await mcp.close();
      post.finish();
      const answer = await within(post.answer, 'the answer to a request whose body came after close()');
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('1');
      expect(JSON.parse(answer.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
      expect((await mcp.metrics()).listenStreams).toBe(0);
    },
  );

  it('a 2026-07-28 request waiting for the server that close() cut short is answered 503, not -32022', async () => {
    let factoryCalled: () => void = () => undefined;
    const building = new Promise<void>((resolve) => (factoryCalled = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { mcp, url } = await served(async () => {
      factoryCalled();
      await released;
      return bothEras();
    });
    const answer = fetch(url, {
      method: 'POST',
      headers: modernHeaders('tools/call', { 'mcp-name': 'ping_tool' }),
      body: JSON.stringify(modernCall('tools/call', { name: 'ping_tool', arguments: {} })),
    });
    await building;
    const closing = mcp.close();
    release();
    await closing;
    const response = await within(answer, 'the answer to a request whose server was being built at close()');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  });
});
