import { McpServer } from '@modelcontextprotocol/server';
import type { McpSession, SessionDirectory } from '@x/mcp-session-core';
import { z } from 'zod';

/** What `get_server_config` reports: the non-secret settings the demo runs with. */
export interface DemoConfig {
  responseMode: string;
  idleTimeoutMs: number;
  hibernateAfterMs: number | undefined;
  stores: 'memory' | 'redis';
  encryptionAtRest: boolean;
  rateLimit: string;
  cache: string;
  /** Where the bearer-token signing key came from, and how long tokens last. */
  tokens: string;
  /** Random ids kept in the session store, or session tokens (MCP_SESSION_TOKEN_KEYS) and where revocations go. */
  sessionIds: string;
  loginRateLimit: string;
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const JOINED = 'coordination.joined';

/**
 * The demo's MCP server: one instance per session, built by the session layer. Every tool is backed by
 * a library feature — session state, the session directory, broadcast, the cache and the rate limit
 * configured in `app.ts` — not by maps of its own.
 */
export function createDemoServer(maybeSession: McpSession | undefined, sessions?: () => SessionDirectory, config?: DemoConfig): McpServer {
  // Every tool of this demo keeps its state in the session: it serves legacy sessions only.
  if (maybeSession === undefined) throw new Error('the demo server serves legacy sessions only');
  const session = maybeSession;
  const server = new McpServer({ name: 'mcp-session-demo', version: '0.1.0' }, { capabilities: { logging: {} } });

  server.registerTool('echo', { description: 'Echoes its input.', inputSchema: z.object({ text: z.string() }) }, async ({ text: value }) =>
    text(value),
  );

  server.registerTool(
    'limited_echo',
    {
      description: 'Echoes its input; limited to 5 calls a minute per user (anonymous: per client address).',
      inputSchema: z.object({ text: z.string() }),
    },
    async ({ text: value }) => text(value),
  );

  server.registerTool('session_id', { description: "This session's id and short id." }, async () =>
    text(JSON.stringify({ sessionId: session.id, shortId: session.id.slice(0, 8), client: session.clientInfo?.name ?? null })),
  );

  server.registerTool(
    'set_session_data',
    { description: 'Stores a value in this session.', inputSchema: z.object({ key: z.string(), value: z.string() }) },
    async ({ key, value }) => {
      await session.state.set(`data.${key}`, value);
      return text(`stored ${key}`);
    },
  );
  server.registerTool(
    'get_session_data',
    { description: 'Reads a value of this session.', inputSchema: z.object({ key: z.string() }) },
    async ({ key }) => {
      const value = await session.state.get<string>(`data.${key}`);
      return text(value === undefined ? `no value for ${key}` : value);
    },
  );
  server.registerTool('list_session_keys', { description: 'Keys stored in this session.' }, async () => {
    const keys = (await session.state.keys()).filter((key) => key.startsWith('data.')).map((key) => key.slice(5));
    return text(JSON.stringify(keys.sort()));
  });

  server.registerTool(
    'managed_tool',
    { description: "Answers with this session's request number.", inputSchema: z.object({ data: z.string() }) },
    async ({ data }) => text(`request #${session.requestCount} of session ${session.id.slice(0, 8)}: ${data}`),
  );

  server.registerTool('join_coordination', { description: 'Joins the group that broadcast_to_sessions reaches.' }, async () => {
    await session.state.set(JOINED, true);
    return text('joined');
  });
  server.registerTool(
    'broadcast_to_sessions',
    {
      description: 'Sends a message to every other joined session (as a logging notification).',
      inputSchema: z.object({ message: z.string() }),
    },
    async ({ message }) => {
      if ((await session.state.get(JOINED)) !== true) return { ...text('join_coordination first'), isError: true };
      if (sessions === undefined) return { ...text('no session directory in this server'), isError: true };
      await sessions().broadcast(
        {
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { level: 'info', logger: 'coordination', data: `${session.id.slice(0, 8)}: ${message}` },
        },
        { hasStateKey: JOINED, excludeSessionIds: [session.id] },
      );
      return text('broadcast sent');
    },
  );

  // Identity comes from the bearer token the host verified on this very request (`authInfo`), never
  // from session state: whoever holds a session id holds nothing more than the session.
  server.registerTool(
    'whoami',
    { description: 'Who this request comes from, from its bearer token (anonymous without one), and whom the session is bound to.' },
    async (ctx) => {
      const auth = ctx.http?.authInfo;
      const principal = session.principal ?? null;
      if (auth === undefined) return text(JSON.stringify({ authenticated: false, principal }));
      return text(
        JSON.stringify({
          authenticated: true,
          sub: auth.extra?.sub ?? null,
          clientId: auth.clientId,
          scopes: auth.scopes,
          expiresAt: auth.expiresAt,
          principal,
        }),
      );
    },
  );
  server.registerTool(
    'secure_operation',
    {
      description: 'A privileged action: needs a bearer token with the admin scope on this request (POST /login as admin).',
      inputSchema: z.object({ action: z.string() }),
    },
    async ({ action }, ctx) => {
      const auth = ctx.http?.authInfo;
      if (auth === undefined) return { ...text('refused: no bearer token (log in with POST /login)'), isError: true };
      if (!auth.scopes.includes('admin')) return { ...text('refused: the token lacks the admin scope'), isError: true };
      return text(`${action} done by ${String(auth.extra?.sub)}`);
    },
  );

  server.registerTool(
    'store_sensitive_data',
    {
      description:
        "Stores a value in this session's state, sealed at rest when the endpoint has encryption keys. Whoever can use the session reads it back.",
      inputSchema: z.object({ key: z.string(), value: z.string() }),
    },
    async ({ key, value }) => {
      await session.state.set(`secret.${key}`, value);
      return text(`stored ${key}${config?.encryptionAtRest === true ? ' (encrypted at rest)' : ' (not encrypted at rest)'}`);
    },
  );
  server.registerTool(
    'retrieve_sensitive_data',
    { description: 'Reads a secret stored with store_sensitive_data.', inputSchema: z.object({ key: z.string() }) },
    async ({ key }) => text((await session.state.get<string>(`secret.${key}`)) ?? `no secret for ${key}`),
  );

  server.registerTool('get_server_config', { description: 'The settings this demo runs with.' }, async () =>
    text(JSON.stringify(config ?? {}, null, 2)),
  );

  server.registerResource(
    'server-info',
    'demo://server-info',
    { description: 'Served through the response cache.', mimeType: 'application/json' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ generatedAt: new Date().toISOString(), config }) }],
    }),
  );

  server.registerTool(
    'countdown',
    {
      description: 'Counts down, reporting progress and logging each step.',
      inputSchema: z.object({ from: z.number().int().min(1).max(100) }),
    },
    async ({ from }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let step = from; step > 0; step -= 1) {
        await ctx.mcpReq.log('info', `t-minus ${step}`);
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: from - step + 1, total: from } });
        }
      }
      return text('liftoff');
    },
  );

  server.registerTool('ask_user', { description: 'Asks the user for their name (elicitation).' }, async (ctx) => {
    const result = await ctx.mcpReq.elicitInput(
      {
        mode: 'form',
        message: 'What is your name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
      { relatedRequestId: ctx.mcpReq.id },
    );
    return text(result.action === 'accept' ? `Hello, ${String(result.content?.name ?? '')}` : `(${result.action})`);
  });

  server.registerTool(
    'notify_session',
    {
      description: "Sends a logging notification on this session's GET stream, unrelated to any request.",
      inputSchema: z.object({ message: z.string() }),
    },
    async ({ message }) => {
      await server.sendLoggingMessage({ level: 'info', logger: 'notify', data: message });
      return text('sent');
    },
  );

  server.registerTool(
    'long_task',
    {
      description: 'Works for a while, reporting progress every intervalMs.',
      inputSchema: z.object({ steps: z.number().int().min(1).max(1000), intervalMs: z.number().int().min(1).max(10_000) }),
    },
    async ({ steps, intervalMs }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let step = 1; step <= steps; step += 1) {
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken: progressToken ?? 'none', progress: step, total: steps },
        });
      }
      return text(`done after ${steps} steps`);
    },
  );

  server.registerTool(
    'ask_model',
    { description: 'Asks the client’s model a question (sampling).', inputSchema: z.object({ question: z.string() }) },
    async ({ question }, ctx) => {
      const result = await ctx.mcpReq.requestSampling(
        { messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 100 },
        { relatedRequestId: ctx.mcpReq.id },
      );
      const content = Array.isArray(result.content) ? result.content[0] : result.content;
      return text(content?.type === 'text' ? content.text : '(no text)');
    },
  );

  return server;
}
