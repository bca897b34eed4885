/**
 * Fixture MCP server for the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, server scenarios).
 *
 * `createConformanceServer(context)` returns a fresh `McpServer` (SDK v2) that
 * registers every tool, resource, resource template, prompt and completion
 * the server scenarios of conformance 0.1.16 (`--suite all`) and
 * 0.2.0-alpha.12 (`--spec-version 2025-11-25` and `--spec-version 2026-07-28`,
 * `--suite all`) call. It serves both protocol eras: it lists `2026-07-28` in
 * `supportedProtocolVersions`, so the endpoint's one 2026-07-28 server per
 * process is built from it too (`server(undefined, { era: 'modern', … })`),
 * beside one instance per legacy session.
 *
 * This file holds protocol-level behaviour only. Transport-level behaviour the
 * suite also checks (sessions, DELETE/404, Host/Origin validation, SSE priming
 * events, `retry:` and Last-Event-ID resumption, the 2026-07-28 headers and
 * `subscriptions/listen`) belongs to the HTTP layer serving this server. The
 * bridges are `test_reconnection`, which asks the transport to close the
 * request's SSE stream through the transport-supplied `ctx.http.closeSSE`
 * callback, and the 2026-07-28 change triggers, which announce through the
 * endpoint's `context.notify`.
 */
import { randomBytes } from 'node:crypto';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  completable,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type {
  CallToolResult,
  ElicitRequestFormParams,
  ElicitResult,
  GetPromptResult,
  InputRequests,
  InputRequiredResult,
  ReadResourceResult,
  ServerContext as RequestContext,
} from '@modelcontextprotocol/server';
import type { JsonValue, RequestStateCodec, ServerContext } from '@x/mcp-session-core';
import * as z from 'zod';

/** 1x1 red PNG pixel. */
const TEST_IMAGE_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** Minimal (empty) 8 kHz mono 16-bit PCM WAV file. */
const TEST_AUDIO_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const WATCHED_RESOURCE_URI = 'test://watched-resource';

/** Candidate values offered by `completion/complete` for prompt / template arguments. */
const COMPLETION_CANDIDATES: readonly string[] = ['paris', 'park', 'party', 'test', 'testing', 'tester'];

function complete(prefix: string | undefined): string[] {
  const value = (prefix ?? '').toLowerCase();
  return COMPLETION_CANDIDATES.filter((candidate) => candidate.startsWith(value));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeElicitResult(result: ElicitResult): string {
  return `action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
}

/**
 * The input schema of `json_schema_2020_12_tool`, made once: the SDK caches a validator per schema
 * object, so one made per server would grow that cache with every session.
 */
const JSON_SCHEMA_2020_12_INPUT = fromJsonSchema<Record<string, unknown>>({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: {
        street: { type: 'string' },
        city: { type: 'string' },
      },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
});

// A separate constant: `x-mcp-header` is no keyword of the SDK's JSON Schema type.
const MIRRORED_REGION = { type: 'string', description: 'Mirrored in the Mcp-Param-Region header', 'x-mcp-header': 'Region' } as const;
/** The input schema of `test_x_mcp_header` (made once, as above). */
const X_MCP_HEADER_INPUT = fromJsonSchema<{ region?: string; level?: number }>({
  type: 'object',
  properties: { region: MIRRORED_REGION, level: { type: 'integer', description: 'Not mirrored' } },
});

/** The form of the elicitations the MRTR tools ask for: one required string. */
function askFor(message: string, field: string): ReturnType<typeof inputRequired.elicit> {
  return inputRequired.elicit({
    message,
    requestedSchema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] },
  });
}

/** The confirmation the requestState tools ask for. */
function askToConfirm(): ReturnType<typeof inputRequired.elicit> {
  return inputRequired.elicit({
    message: 'Please confirm',
    requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
  });
}

/** Sends an `elicitation/create` request and renders the outcome as tool text. */
async function elicitAndDescribe(ctx: RequestContext, params: ElicitRequestFormParams, prefix: string): Promise<CallToolResult> {
  try {
    // relatedRequestId keeps the request on this tools/call's POST stream; without it the SDK
    // routes it to the standalone GET stream and drops it if that stream is not open yet.
    const result = await ctx.mcpReq.elicitInput(params, { relatedRequestId: ctx.mcpReq.id });
    return text(`${prefix}: ${describeElicitResult(result)}`);
  } catch (error) {
    return { isError: true, content: [{ type: 'text', text: `Elicitation failed: ${errorMessage(error)}` }] };
  }
}

/**
 * Seals MRTR `requestState` when the fixture runs without the endpoint's context: the SDK's codec
 * with a key of this process, made once.
 */
let processCodec: RequestStateCodec | undefined;
function processRequestState(): RequestStateCodec {
  if (processCodec === undefined) {
    const codec = createRequestStateCodec<JsonValue>({ key: randomBytes(32) });
    processCodec = {
      mint: (payload, ctx) => codec.mint(payload, ctx as RequestContext),
      verify: (state, ctx) => codec.verify(state, ctx as RequestContext),
    };
  }
  return processCodec;
}

/**
 * The fixture server for either era. `context` is the endpoint's (`server: (_session, context) =>
 * createConformanceServer(context)`): its `requestState` seals MRTR state and its `notify` reaches
 * `subscriptions/listen` streams on every process. Without it, state is sealed with a process key and
 * the change triggers notify the session only.
 */
export function createConformanceServer(context?: ServerContext): McpServer {
  const requestState = context?.requestState ?? processRequestState();
  const server = new McpServer(
    { name: 'mcp-conformance-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        // Deprecated in 2026-07-28 (the request's _meta logLevel replaces it); the 2025 logging scenarios need it.
        logging: {},
        completions: {},
      },
      instructions: 'Fixture server for the MCP conformance suite.',
      supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, '2026-07-28'],
      // Every retried MRTR request that carries requestState is opened here, before its handler: a
      // forged, changed, expired or replayed state is answered -32602.
      requestState: { verify: (state, ctx) => requestState.verify(state, ctx) },
    },
  );

  registerHeaderTool(server);
  registerTools(server);
  registerModernDiagnostics(server);
  registerInputRequiredTools(server, requestState);
  const subscriptions = registerResources(server);
  registerNotificationTriggers(server, subscriptions, context);
  registerPrompts(server);
  return server;
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

/**
 * The `x-mcp-header` tool (SEP-2243), registered first: http-header-validation calls tools[0] with
 * `{}`, and http-custom-header-server-validation looks for the first tool with a string argument
 * mirrored in an `Mcp-Param-*` header. Hand-written JSON, so the annotation reaches tools/list as is.
 */
function registerHeaderTool(server: McpServer): void {
  server.registerTool(
    'test_x_mcp_header',
    {
      description: 'An argument mirrored in the Mcp-Param-Region header (SEP-2243)',
      inputSchema: X_MCP_HEADER_INPUT,
    },
    (args) => text(`region=${args.region ?? '<none>'}`),
  );
}

function registerTools(server: McpServer): void {
  // tools-call-simple-text (called without `arguments`)
  server.registerTool('test_simple_text', { description: 'Returns a simple text content block' }, () =>
    text('This is a simple text response for testing.'),
  );

  // tools-call-image
  server.registerTool('test_image_content', { description: 'Returns an image content block (1x1 PNG)' }, (): CallToolResult => ({
    content: [{ type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' }],
  }));

  // tools-call-audio (mimeType must be exactly audio/wav)
  server.registerTool('test_audio_content', { description: 'Returns an audio content block (WAV)' }, (): CallToolResult => ({
    content: [{ type: 'audio', data: TEST_AUDIO_BASE64, mimeType: 'audio/wav' }],
  }));

  // tools-call-embedded-resource
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded text resource' }, (): CallToolResult => ({
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  }));

  // tools-call-mixed-content
  server.registerTool(
    'test_multiple_content_types',
    { description: 'Returns text, image and embedded resource content' },
    (): CallToolResult => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  );

  // tools-call-with-logging: three info-level notifications/message, ~50 ms apart,
  // sent on the request's stream and filtered by the session's logging/setLevel.
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Emits three info log notifications while running', inputSchema: z.object({}) },
    async (_args, ctx) => {
      await ctx.mcpReq.log('info', 'Tool execution started', 'conformance-fixture');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool processing data', 'conformance-fixture');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool execution completed', 'conformance-fixture');
      return text('Tool with logging executed successfully');
    },
  );

  // tools-call-error: a thrown error becomes a result with isError: true.
  server.registerTool('test_error_handling', { description: 'Always fails with a tool error' }, () => {
    throw new Error('This tool intentionally returns an error for testing');
  });

  // tools-call-with-progress: 0/100, 50/100, 100/100 when a progressToken is supplied.
  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress notifications (0, 50, 100 of 100)', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        }
        if (progress < 100) {
          await sleep(50);
        }
      }
      return text(
        progressToken === undefined
          ? 'Progress tool completed (no progress token)'
          : `Progress tool completed (token ${String(progressToken)})`,
      );
    },
  );

  // tools-call-sampling: sampling/createMessage with the prompt argument, maxTokens 100.
  server.registerTool(
    'test_sampling',
    {
      description: 'Requests an LLM completion from the client (sampling/createMessage)',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    },
    async ({ prompt }, ctx) => {
      try {
        const result = await ctx.mcpReq.requestSampling(
          { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          { relatedRequestId: ctx.mcpReq.id }, // see elicitAndDescribe
        );
        const blocks = Array.isArray(result.content) ? result.content : [result.content];
        const reply = blocks.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');
        return text(`LLM response: ${reply}`);
      } catch (error) {
        return { isError: true, content: [{ type: 'text', text: `Sampling failed: ${errorMessage(error)}` }] };
      }
    },
  );

  // tools-call-elicitation: elicitation/create with the message argument.
  server.registerTool(
    'test_elicitation',
    {
      description: 'Requests user input from the client (elicitation/create)',
      inputSchema: z.object({ message: z.string().describe('The message to show the user') }),
    },
    async ({ message }, ctx) =>
      elicitAndDescribe(
        ctx,
        {
          message,
          requestedSchema: {
            type: 'object',
            properties: {
              username: { type: 'string', description: "User's response" },
              email: { type: 'string', description: "User's email address" },
            },
            required: ['username', 'email'],
          },
        },
        'User response',
      ),
  );

  // elicitation-sep1034-defaults: every primitive type carries a default.
  server.registerTool(
    'test_elicitation_sep1034_defaults',
    {
      description: 'Elicitation whose schema has defaults for every primitive type (SEP-1034)',
      inputSchema: z.object({}),
    },
    async (_args, ctx) =>
      elicitAndDescribe(
        ctx,
        {
          message: 'Please review and update the form fields with defaults',
          requestedSchema: {
            type: 'object',
            properties: {
              name: { type: 'string', description: 'User name', default: 'John Doe' },
              age: { type: 'integer', description: 'User age', default: 30 },
              score: { type: 'number', description: 'User score', default: 95.5 },
              status: {
                type: 'string',
                description: 'User status',
                enum: ['active', 'inactive', 'pending'],
                default: 'active',
              },
              verified: { type: 'boolean', description: 'Verification status', default: true },
            },
            required: [],
          },
        },
        'Elicitation completed',
      ),
  );

  // elicitation-sep1330-enums: the five enum schema variants.
  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicitation using every enum schema variant (SEP-1330)', inputSchema: z.object({}) },
    async (_args, ctx) =>
      elicitAndDescribe(
        ctx,
        {
          message: 'Please select options from the enum fields',
          requestedSchema: {
            type: 'object',
            properties: {
              untitledSingle: {
                type: 'string',
                description: 'Select one option',
                enum: ['option1', 'option2', 'option3'],
              },
              titledSingle: {
                type: 'string',
                description: 'Select one option with titles',
                oneOf: [
                  { const: 'value1', title: 'First Option' },
                  { const: 'value2', title: 'Second Option' },
                  { const: 'value3', title: 'Third Option' },
                ],
              },
              legacyEnum: {
                type: 'string',
                description: 'Select one option (legacy)',
                enum: ['opt1', 'opt2', 'opt3'],
                enumNames: ['Option One', 'Option Two', 'Option Three'],
              },
              untitledMulti: {
                type: 'array',
                description: 'Select multiple options',
                minItems: 1,
                maxItems: 3,
                items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
              },
              titledMulti: {
                type: 'array',
                description: 'Select multiple options with titles',
                minItems: 1,
                maxItems: 3,
                items: {
                  anyOf: [
                    { const: 'value1', title: 'First Choice' },
                    { const: 'value2', title: 'Second Choice' },
                    { const: 'value3', title: 'Third Choice' },
                  ],
                },
              },
            },
            required: [],
          },
        },
        'Elicitation completed',
      ),
  );

  // json-schema-2020-12: the inputSchema must reach tools/list verbatim
  // ($schema, $defs, additionalProperties; SEP-2106 also allOf/anyOf, if/then/else, $anchor).
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool whose inputSchema uses JSON Schema 2020-12 keywords (SEP-1613, SEP-2106)',
      inputSchema: JSON_SCHEMA_2020_12_INPUT,
    },
    (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
  );

  // server-sse-polling (SEP-1699): close this request's SSE stream mid-call, then
  // answer; the client must resume with GET + Last-Event-ID to get the result.
  // `closeSSE` is supplied by the HTTP transport only when it can resume streams.
  server.registerTool(
    'test_reconnection',
    {
      description: 'Closes the SSE stream mid-call and answers after the client reconnects (SEP-1699)',
      inputSchema: z.object({}),
    },
    async (_args, ctx) => {
      const closeSSE = ctx.http?.closeSSE;
      if (closeSSE !== undefined) {
        closeSSE();
      }
      await sleep(100);
      return text(
        closeSSE === undefined
          ? 'Reconnection test completed without closing the stream (transport offers no closeSSE).'
          : 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.',
      );
    },
  );
}

// ---------------------------------------------------------------------------
// 2026-07-28 diagnostics (SEP-2575, the server-stateless scenario names them)
// ---------------------------------------------------------------------------

function registerModernDiagnostics(server: McpServer): void {
  // Asks for sampling in-band; called with no client capabilities, the SDK answers -32021 (HTTP 400).
  server.registerTool(
    'test_missing_capability',
    { description: 'Needs the sampling client capability (drives the -32021 refusal)', inputSchema: z.object({}) },
    (_args, ctx): CallToolResult | InputRequiredResult => {
      if (ctx.mcpReq.inputResponses?.llm_answer !== undefined) return text('sampling round-trip complete');
      return inputRequired({
        inputRequests: {
          llm_answer: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'Reply with the single word: pong' } }],
            maxTokens: 16,
          }),
        },
      });
    },
  );

  // The scenario checks that the response stream carries no top-level request: it must not elicit.
  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Answers with result frames only (no server-to-client request)', inputSchema: z.object({}) },
    () => text('stream observed: result frames only, no top-level requests'),
  );

  // ctx.mcpReq.log sends only when the request's _meta carries a logLevel; the scenario sends none.
  server.registerTool(
    'test_logging_tool',
    { description: 'Logs through ctx.mcpReq.log (sent only when the request set _meta logLevel)', inputSchema: z.object({}) },
    async (_args, ctx) => {
      await ctx.mcpReq.log('info', 'test_logging_tool ran', 'conformance-fixture');
      return text('logged through the request-scoped, logLevel-gated channel');
    },
  );
}

// ---------------------------------------------------------------------------
// Multi round-trip requests (SEP-2322, 2026-07-28): each handler returns an
// InputRequiredResult until the retried request carries the answers it needs.
// On a legacy session the SDK's shim fulfils the same returns with real
// server-to-client requests.
// ---------------------------------------------------------------------------

function registerInputRequiredTools(server: McpServer, requestState: RequestStateCodec): void {
  // Also the tool of the result-type, missing-input-response, ignore-extra-params and validate-input
  // scenarios: whatever lacks an accepted user_name is asked again.
  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'MRTR: asks for the caller name (elicitation)', inputSchema: z.object({}) },
    (_args, ctx): CallToolResult | InputRequiredResult => {
      const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, 'user_name')?.name;
      if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: askFor('What is your name?', 'name') } });
      return text(`Hello, ${name}!`);
    },
  );

  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'MRTR: asks for an LLM completion (sampling)', inputSchema: z.object({}) },
    (_args, ctx): CallToolResult | InputRequiredResult => {
      const answer = ctx.mcpReq.inputResponses?.capital_question as { content?: { text?: unknown } } | undefined;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            capital_question: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
              maxTokens: 100,
            }),
          },
        });
      }
      return text(`Sampling response: ${typeof answer.content?.text === 'string' ? answer.content.text : JSON.stringify(answer)}`);
    },
  );

  server.registerTool(
    'test_input_required_result_list_roots',
    { description: 'MRTR: asks for the client roots (roots/list)', inputSchema: z.object({}) },
    (_args, ctx): CallToolResult | InputRequiredResult => {
      const roots = (ctx.mcpReq.inputResponses?.client_roots as { roots?: Array<{ uri?: string }> } | undefined)?.roots;
      if (!Array.isArray(roots)) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      return text(`Client exposed ${roots.length} root(s): ${roots.map((root) => root.uri).join(', ')}`);
    },
  );

  // The state is sealed when minted and opened by the server's requestState.verify before this runs.
  server.registerTool(
    'test_input_required_result_request_state',
    { description: 'MRTR: round-trips sealed requestState beside an elicitation', inputSchema: z.object({}) },
    async (_args, ctx): Promise<CallToolResult | InputRequiredResult> => {
      if (acceptedContent(ctx.mcpReq.inputResponses, 'confirm') === undefined) {
        return inputRequired({
          inputRequests: { confirm: askToConfirm() },
          requestState: await requestState.mint({ tool: 'request_state' }, ctx),
        });
      }
      if (ctx.mcpReq.requestState() === undefined) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid requestState: missing');
      }
      return text('state-ok: requestState verified and confirmation received');
    },
  );

  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'MRTR: asks for elicitation, sampling and roots in one round', inputSchema: z.object({}) },
    async (_args, ctx): Promise<CallToolResult | InputRequiredResult> => {
      const responses = ctx.mcpReq.inputResponses;
      const name = acceptedContent<{ name: string }>(responses, 'user_name')?.name;
      const greeting = (responses?.greeting as { content?: { text?: unknown } } | undefined)?.content?.text;
      const roots = (responses?.client_roots as { roots?: unknown[] } | undefined)?.roots;
      if (typeof name !== 'string' || typeof greeting !== 'string' || !Array.isArray(roots)) {
        return inputRequired({
          inputRequests: {
            user_name: askFor('What is your name?', 'name'),
            greeting: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
              maxTokens: 50,
            }),
            client_roots: inputRequired.listRoots(),
          },
          requestState: await requestState.mint({ tool: 'multiple_inputs' }, ctx),
        });
      }
      return text(`${greeting} ${name} — ${roots.length} root(s) visible`);
    },
  );

  // The round lives in the sealed state (no session keeps it), which changes from round to round.
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'MRTR: two elicitation rounds with a changing requestState', inputSchema: z.object({}) },
    async (_args, ctx): Promise<CallToolResult | InputRequiredResult> => {
      const state = ctx.mcpReq.requestState<{ tool?: string; round?: number; name?: string }>();
      const round = state?.tool === 'multi_round' && typeof state.round === 'number' ? state.round : 0;
      if (round === 0) {
        return inputRequired({
          inputRequests: { step1: askFor('Step 1: What is your name?', 'name') },
          requestState: await requestState.mint({ tool: 'multi_round', round: 1 }, ctx),
        });
      }
      if (round === 1) {
        const name = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, 'step1')?.name ?? 'unknown';
        return inputRequired({
          inputRequests: { step2: askFor('Step 2: What is your favorite color?', 'color') },
          requestState: await requestState.mint({ tool: 'multi_round', round: 2, name }, ctx),
        });
      }
      const color = acceptedContent<{ color: string }>(ctx.mcpReq.inputResponses, 'step2')?.color ?? 'unknown';
      return text(`Multi-round complete: ${state?.name ?? 'unknown'} likes ${color}`);
    },
  );

  // A retry whose state was changed never reaches this handler: requestState.verify refuses it.
  server.registerTool(
    'test_input_required_result_tampered_state',
    { description: 'MRTR: refuses a retry whose requestState was changed', inputSchema: z.object({}) },
    async (_args, ctx): Promise<CallToolResult | InputRequiredResult> => {
      if (ctx.mcpReq.requestState() !== undefined && acceptedContent(ctx.mcpReq.inputResponses, 'confirm') !== undefined) {
        return text('integrity-ok: requestState verified');
      }
      return inputRequired({
        inputRequests: { confirm: askToConfirm() },
        requestState: await requestState.mint({ tool: 'tampered_state' }, ctx),
      });
    },
  );

  // Asks only for what this request's client capabilities cover (the SDK refuses the rest with -32021).
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'MRTR: asks only for input kinds the client declared', inputSchema: z.object({}) },
    (_args, ctx): CallToolResult | InputRequiredResult => {
      if (ctx.mcpReq.inputResponses !== undefined) return text('Capability-aware input requests fulfilled');
      const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
      const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY] as
        { elicitation?: unknown; sampling?: unknown; roots?: unknown } | undefined;
      const inputRequests: InputRequests = {};
      if (declared?.elicitation !== undefined) inputRequests.user_name = askFor('What is your name?', 'name');
      if (declared?.sampling !== undefined) {
        inputRequests.greeting = inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Generate a short greeting' } }],
          maxTokens: 50,
        });
      }
      if (declared?.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots();
      if (Object.keys(inputRequests).length === 0) return text('No declared client capability supports an in-band input request');
      return inputRequired({ inputRequests });
    },
  );
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

function registerResources(server: McpServer): ReadonlySet<string> {
  // resources-read-text
  server.registerResource(
    'static-text',
    'test://static-text',
    { title: 'Static Text Resource', description: 'A static text resource', mimeType: 'text/plain' },
    (): ReadResourceResult => ({
      contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
    }),
  );

  // resources-read-binary
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { title: 'Static Binary Resource', description: 'A static binary resource (PNG image)', mimeType: 'image/png' },
    (): ReadResourceResult => ({
      contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: TEST_IMAGE_BASE64 }],
    }),
  );

  // resources-templates-read: test://template/123/data must mention "123".
  server.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', {
      list: undefined,
      complete: { id: (value) => complete(value) },
    }),
    {
      title: 'Resource Template',
      description: 'A resource template with parameter substitution',
      mimeType: 'application/json',
    },
    (uri, variables): ReadResourceResult => {
      const id = Array.isArray(variables.id) ? variables.id.join(',') : variables.id;
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    },
  );

  // resources-subscribe / resources-unsubscribe target this URI.
  server.registerResource(
    'watched-resource',
    WATCHED_RESOURCE_URI,
    { title: 'Watched Resource', description: 'Resource used for subscribe/unsubscribe', mimeType: 'text/plain' },
    (): ReadResourceResult => ({
      contents: [{ uri: WATCHED_RESOURCE_URI, mimeType: 'text/plain', text: 'Watched resource content' }],
    }),
  );

  // McpServer has no built-in subscription handling; track subscriptions per
  // server instance (= per session) and answer with an empty result.
  const subscriptions = new Set<string>();
  server.server.setRequestHandler('resources/subscribe', (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  return subscriptions;
}

// ---------------------------------------------------------------------------
// Notification triggers (the 2026-07-28 server-stateless scenario calls the
// list ones). A change is not tied to a request: on 2026-07-28 it goes to the
// subscriptions/listen streams of every process through context.notify; on a
// legacy session to that session's standalone GET stream.
// ---------------------------------------------------------------------------

function registerNotificationTriggers(server: McpServer, subscriptions: ReadonlySet<string>, context: ServerContext | undefined): void {
  const modern = context?.era === 'modern' ? context : undefined;

  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Sends notifications/tools/list_changed', inputSchema: z.object({}) },
    () => {
      if (modern === undefined) server.sendToolListChanged();
      else modern.notify.toolsChanged();
      return text('tools/list_changed sent');
    },
  );

  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Sends notifications/prompts/list_changed', inputSchema: z.object({}) },
    () => {
      if (modern === undefined) server.sendPromptListChanged();
      else modern.notify.promptsChanged();
      return text('prompts/list_changed sent');
    },
  );

  server.registerTool(
    'test_trigger_resource_updated',
    {
      description: `Sends notifications/resources/updated for ${WATCHED_RESOURCE_URI} if it is subscribed`,
      inputSchema: z.object({}),
    },
    async () => {
      // 2026-07-28 has no resources/subscribe: a listen stream's resourceSubscriptions filter decides.
      if (modern !== undefined) {
        modern.notify.resourceUpdated(WATCHED_RESOURCE_URI);
        return text(`resources/updated sent for ${WATCHED_RESOURCE_URI}`);
      }
      if (!subscriptions.has(WATCHED_RESOURCE_URI)) {
        return text(`${WATCHED_RESOURCE_URI} is not subscribed; nothing sent`);
      }
      await server.server.sendResourceUpdated({ uri: WATCHED_RESOURCE_URI });
      return text(`resources/updated sent for ${WATCHED_RESOURCE_URI}`);
    },
  );
}

// ---------------------------------------------------------------------------
// Prompts (+ completion via completable arguments)
// ---------------------------------------------------------------------------

function registerPrompts(server: McpServer): void {
  // prompts-get-simple
  server.registerPrompt(
    'test_simple_prompt',
    { title: 'Simple Test Prompt', description: 'A simple prompt without arguments' },
    (): GetPromptResult => ({
      messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
    }),
  );

  // prompts-get-with-args; completion-complete completes its `arg1`.
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      title: 'Prompt With Arguments',
      description: 'A prompt with two required arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) => complete(value)),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    ({ arg1, arg2 }): GetPromptResult => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    }),
  );

  // prompts-get-embedded-resource
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      title: 'Prompt With Embedded Resource',
      description: 'A prompt that embeds a resource',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    ({ resourceUri }): GetPromptResult => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  // input-required-result-non-tool-request: prompts/get may ask for input too. A prompt without
  // arguments gets the request context as its only argument.
  server.registerPrompt(
    'test_input_required_result_prompt',
    { title: 'MRTR Prompt', description: 'MRTR: asks for context (elicitation) before rendering' },
    (ctx): GetPromptResult | InputRequiredResult => {
      const context = acceptedContent<{ context: string }>((ctx as RequestContext).mcpReq.inputResponses, 'user_context')?.context;
      if (typeof context !== 'string') {
        return inputRequired({ inputRequests: { user_context: askFor('What context should the prompt use?', 'context') } });
      }
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use the following context: ${context}` } }] };
    },
  );

  // prompts-get-with-image
  server.registerPrompt(
    'test_prompt_with_image',
    { title: 'Prompt With Image', description: 'A prompt that includes image content' },
    (): GetPromptResult => ({
      messages: [
        { role: 'user', content: { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
      ],
    }),
  );
}
