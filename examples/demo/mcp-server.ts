import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { HandlerContext, McpSession, ServerContext, SessionDirectory, SessionState } from '@x/mcp-session-core';
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

/** What the demo's tools use besides the session and the server context. */
export interface DemoServerOptions {
  /** The endpoint's session directory, for `broadcast_to_sessions`. */
  sessions?: () => SessionDirectory;
  /** What `get_server_config` answers. */
  config?: DemoConfig;
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const refused = (value: string) => ({ ...text(value), isError: true });
const JOINED = 'coordination.joined';

/** The basket's items, under this key of whichever state holds the basket. */
const BASKET_ITEMS = 'basket.items';
/** A basket handle's lifetimes, given explicitly so the tool descriptions stay true whatever the endpoint's defaults. */
const BASKET_TTL_MS = 24 * 60 * 60_000;
const BASKET_IDLE_MS = 60 * 60_000;
const BASKET_LIFETIME = 'A basket lasts 24 hours after create_basket made it, and ends sooner after 1 hour without use';
const UNKNOWN_BASKET = 'expired or unknown basket: baskets last 24 hours (1 hour without use); create_basket makes a new one';

/** Adds an item: the same code whether the state is a session's or a basket handle's. */
async function addToBasket(basket: SessionState, item: string) {
  // Read, then write: two adds racing on one basket may keep only one (state has no atomic append).
  const items = [...((await basket.get<string[]>(BASKET_ITEMS)) ?? []), item];
  await basket.set(BASKET_ITEMS, items);
  return text(`${items.length} item${items.length === 1 ? '' : 's'} in the basket`);
}

async function viewBasket(basket: SessionState) {
  return text(JSON.stringify((await basket.get<string[]>(BASKET_ITEMS)) ?? []));
}

/**
 * The demo's MCP server. For a legacy session (`session` given) one instance per session, built by the
 * session layer; without one (2026-07-28 clients, and legacy clients with `legacy: 'stateless'`) one
 * instance per process serves every such request. Every tool is backed by a library feature — session
 * state, state handles, the session directory, broadcast, the cache and the rate limit configured in
 * `app.ts` — not by maps of its own.
 */
export function createDemoServer(session: McpSession | undefined, context: ServerContext, options: DemoServerOptions = {}): McpServer {
  const { sessions, config } = options;
  const server = new McpServer(
    { name: 'mcp-session-demo', version: '0.1.0' },
    { capabilities: { logging: {} }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, '2026-07-28'] },
  );

  // Tools for every client, with a session or without one.

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

  // Identity comes from the bearer token the host verified on this very request (`authInfo`), never
  // from session state: whoever holds a session id holds nothing more than the session.
  server.registerTool(
    'whoami',
    {
      description:
        session === undefined
          ? 'Who this request comes from, from its bearer token (anonymous without one).'
          : 'Who this request comes from, from its bearer token (anonymous without one), and whom the session is bound to.',
    },
    async (ctx) => {
      const auth = ctx.http?.authInfo;
      // Without a session there is nothing to be bound to: the principal goes with each request.
      const bound = session === undefined ? {} : { principal: session.principal ?? null };
      if (auth === undefined) return text(JSON.stringify({ authenticated: false, ...bound }));
      return text(
        JSON.stringify({
          authenticated: true,
          sub: auth.extra?.sub ?? null,
          clientId: auth.clientId,
          scopes: auth.scopes,
          expiresAt: auth.expiresAt,
          ...bound,
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
      if (auth === undefined) return refused('refused: no bearer token (log in with POST /login)');
      if (!auth.scopes.includes('admin')) return refused('refused: the token lacks the admin scope');
      return text(`${action} done by ${String(auth.extra?.sub)}`);
    },
  );

  // The basket, written once: a legacy session keeps its basket in its own state; a client without a
  // session (2026-07-28, or legacy stateless) makes one with create_basket and names it by the id, a
  // state handle bound to the principal that made it (another user's id is unknown to the caller).
  const basketOf = async (basketId: unknown, ctx: HandlerContext): Promise<SessionState | undefined> => {
    if (session !== undefined) return session.state;
    return typeof basketId === 'string' ? context.handles.for(ctx).get(basketId) : undefined;
  };
  const basketId: { basket_id?: z.ZodString } =
    session === undefined ? { basket_id: z.string().describe(`The id create_basket answered. ${BASKET_LIFETIME}.`) } : {};
  const whose = session === undefined ? 'the basket basket_id names' : "this session's basket";
  if (session === undefined) {
    server.registerTool(
      'create_basket',
      { description: `Makes an empty basket and answers its basket_id, for add_to_basket and view_basket. ${BASKET_LIFETIME}.` },
      async (ctx) => {
        const basket = await context.handles.for(ctx).create('bsk', { ttlMs: BASKET_TTL_MS, idleTimeoutMs: BASKET_IDLE_MS });
        return text(JSON.stringify({ basket_id: basket.id, expiresAt: new Date(basket.expiresAt).toISOString() }));
      },
    );
  }
  server.registerTool(
    'add_to_basket',
    { description: `Adds an item to ${whose}.`, inputSchema: z.object({ ...basketId, item: z.string().min(1).max(200) }) },
    async (args, ctx) => {
      const basket = await basketOf(args.basket_id, ctx);
      return basket === undefined ? refused(UNKNOWN_BASKET) : addToBasket(basket, args.item);
    },
  );
  server.registerTool(
    'view_basket',
    { description: `The items in ${whose}, as a JSON array.`, inputSchema: z.object({ ...basketId }) },
    async (args, ctx) => {
      const basket = await basketOf(args.basket_id, ctx);
      return basket === undefined ? refused(UNKNOWN_BASKET) : viewBasket(basket);
    },
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

  // A change is not about a request: context.notify sends it through the message bus to the
  // subscriptions/listen streams of every process (2026-07-28 clients that opted into it).
  server.registerTool(
    'notify_tools_changed',
    {
      description:
        'Tells every 2026-07-28 client listening for tool list changes (subscriptions/listen), on any process, that the tool list changed.',
    },
    async () => {
      context.notify.toolsChanged();
      return text('tools/list_changed sent to every listener');
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

  // The tools below need a legacy session: they are about the session itself (its id, state, request
  // count, GET stream, coordination between sessions), or they send the client requests of their own
  // (sampling, elicitation), which 2026-07-28 replaces with multi round-trip results. A server without
  // a session does not list them.
  if (session === undefined) return server;

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
      if ((await session.state.get(JOINED)) !== true) return refused('join_coordination first');
      if (sessions === undefined) return refused('no session directory in this server');
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
