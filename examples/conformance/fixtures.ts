/**
 * Fixture MCP server for the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, server scenarios).
 *
 * `createConformanceServer()` returns a fresh `McpServer` (SDK v2) that
 * registers every tool, resource, resource template, prompt and completion
 * the server scenarios of conformance 0.1.16 (`--suite all`) and
 * 0.2.0-alpha.12 (`--spec-version 2025-11-25 --suite all`) call. Create one
 * instance per session: an `McpServer` can only be connected to one transport.
 *
 * This file holds protocol-level behaviour only. Transport-level behaviour the
 * suite also checks (sessions, DELETE/404, Host/Origin validation, SSE priming
 * events, `retry:` and Last-Event-ID resumption) belongs to the HTTP layer
 * serving this server. The one bridge is `test_reconnection`, which asks the
 * transport to close the request's SSE stream through the transport-supplied
 * `ctx.http.closeSSE` callback (present only when the transport has an event
 * store, i.e. supports resumption).
 */
import { completable, fromJsonSchema, McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import type {
  CallToolResult,
  ElicitRequestFormParams,
  ElicitResult,
  GetPromptResult,
  ReadResourceResult,
  ServerContext,
} from '@modelcontextprotocol/server';
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

/** Sends an `elicitation/create` request and renders the outcome as tool text. */
async function elicitAndDescribe(ctx: ServerContext, params: ElicitRequestFormParams, prefix: string): Promise<CallToolResult> {
  try {
    // relatedRequestId keeps the request on this tools/call's POST stream; without it the SDK
    // routes it to the standalone GET stream and drops it if that stream is not open yet.
    const result = await ctx.mcpReq.elicitInput(params, { relatedRequestId: ctx.mcpReq.id });
    return text(`${prefix}: ${describeElicitResult(result)}`);
  } catch (error) {
    return { isError: true, content: [{ type: 'text', text: `Elicitation failed: ${errorMessage(error)}` }] };
  }
}

export function createConformanceServer(): McpServer {
  const server = new McpServer(
    { name: 'mcp-conformance-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      instructions: 'Fixture server for the MCP conformance suite.',
    },
  );

  registerTools(server);
  const subscriptions = registerResources(server);
  registerNotificationTriggers(server, subscriptions);
  registerPrompts(server);
  return server;
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

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
// Notification triggers (not called by the 2025-era scenarios; the tool names
// match the ones alpha.12's 2026-07-28 `server-stateless` scenario calls).
// They emit server-initiated notifications that are not tied to a request, so
// the transport must deliver them on the session's standalone GET SSE stream.
// ---------------------------------------------------------------------------

function registerNotificationTriggers(server: McpServer, subscriptions: ReadonlySet<string>): void {
  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Sends notifications/tools/list_changed', inputSchema: z.object({}) },
    () => {
      server.sendToolListChanged();
      return text('tools/list_changed sent');
    },
  );

  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Sends notifications/prompts/list_changed', inputSchema: z.object({}) },
    () => {
      server.sendPromptListChanged();
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
