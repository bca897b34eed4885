/**
 * What the token-mode tests share: endpoints on bare node:http with the SDK v2 `McpServer`, an
 * injected clock, a user named by the `x-user` header (the host's auth), and raw JSON-RPC calls.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/server';
import { type McpSessionEndpoint, type McpSessionOptions, createMcpSessionEndpoint } from '@x/mcp-session-core';
import { z } from 'zod';
import type { ManualClock } from './helpers.js';

export const ACCEPT = 'application/json, text/event-stream';
export const key = (id: string) => ({ id, key: randomBytes(32).toString('base64') });

/** The capabilities and client info of a real client (Claude Code 2.0 over the SDK). */
export const REAL_CLIENT = {
  protocolVersion: '2025-11-25',
  capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } },
  clientInfo: { name: 'claude-code', title: 'Claude Code', version: '2.0.14' },
};

export interface RunningEndpoint {
  url: string;
  endpoint: McpSessionEndpoint;
  close(): Promise<void>;
}

const running = new Set<RunningEndpoint>();

/** Closes every endpoint a test started (call in afterEach). */
export async function closeAll(): Promise<void> {
  for (const each of [...running]) await each.close();
}

/**
 * A server whose tools say what it knows: `echo`, `client` (the client capabilities and info the
 * server negotiated), `remember` / `recall` (session state).
 */
export function factory(): McpSessionOptions['server'] {
  return (maybeSession) => {
    // Token mode names legacy sessions: a fixture for that lane only.
    if (maybeSession === undefined) throw new Error('the tokens fixture serves legacy sessions only');
    const session = maybeSession;
    const server = new McpServer({ name: 'tokens', version: '1.0.0' });
    const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text: value }) => text(value));
    server.registerTool('client', {}, async () =>
      text(JSON.stringify({ capabilities: server.server.getClientCapabilities(), info: server.server.getClientVersion() })),
    );
    server.registerTool('remember', { inputSchema: z.object({ value: z.string() }) }, async ({ value }) => {
      await session.state.set('value', value);
      return text('ok');
    });
    server.registerTool('recall', {}, async () => text(String(await session.state.get<string>('value'))));
    return server;
  };
}

/** An endpoint on 127.0.0.1 whose host authenticates `x-user: <name>` as that user of client `app`. */
export async function start(options: Omit<McpSessionOptions, 'server'> & { clock?: ManualClock }): Promise<RunningEndpoint> {
  const endpoint = createMcpSessionEndpoint({ server: factory(), ...options });
  const server: Server = createServer((req, res) => {
    const user = req.headers['x-user'];
    const auth = typeof user === 'string' ? { token: 't', clientId: 'app', scopes: [], extra: { sub: user } } : undefined;
    void endpoint.handleRequest(req, res, { auth });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const started: RunningEndpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    endpoint,
    async close() {
      if (!running.delete(started)) return;
      await endpoint.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.add(started);
  return started;
}

/** POSTs `initialize` (as `user`, when given); resolves with the response and its `MCP-Session-Id`. */
export async function initialize(
  url: string,
  options: { user?: string; params?: Record<string, unknown> } = {},
): Promise<{ response: Response; sessionId: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...(options.user === undefined ? {} : { 'x-user': options.user }) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: options.params ?? REAL_CLIENT }),
  });
  return { response, sessionId: response.headers.get('mcp-session-id') ?? '' };
}

/** POSTs one JSON-RPC message in a session. */
export function post(url: string, sessionId: string, body: unknown, user?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
      ...(user === undefined ? {} : { 'x-user': user }),
    },
    body: JSON.stringify(body),
  });
}

let ids = 0;
/** Calls a tool; resolves with the HTTP status, the `MCP-Session-Id` answered, and the tool's text. */
export async function callTool(
  url: string,
  sessionId: string,
  name: string,
  args: Record<string, unknown> = {},
  user?: string,
): Promise<{ status: number; header: string | null; text: string | undefined; body: unknown }> {
  const response = await post(url, sessionId, { jsonrpc: '2.0', id: ++ids, method: 'tools/call', params: { name, arguments: args } }, user);
  const body = (await response.json()) as { result?: { content?: Array<{ text?: string }> } };
  return { status: response.status, header: response.headers.get('mcp-session-id'), text: body.result?.content?.[0]?.text, body };
}

/** Opens a session as an SDK client would: initialize, then initialized. */
export async function openSession(url: string, options: { user?: string; params?: Record<string, unknown> } = {}): Promise<string> {
  const { response, sessionId } = await initialize(url, options);
  if (response.status !== 200) throw new Error(`initialize answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
  const initialized = await post(url, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' }, options.user);
  if (initialized.status !== 202) throw new Error(`initialized answered ${initialized.status}`);
  return sessionId;
}
