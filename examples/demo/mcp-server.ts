import { McpServer } from '@modelcontextprotocol/server';
import type { McpSession } from '@x/mcp-session-core';
import { z } from 'zod';

/** The demo's MCP server: one instance per session, built by the session layer. */
export function createDemoServer(session: McpSession): McpServer {
  const server = new McpServer({ name: 'mcp-session-demo', version: '0.1.0' }, { capabilities: { logging: {} } });

  server.registerTool(
    'echo',
    { description: 'Echoes its input.', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'session_id',
    { description: "This session's id and the client that opened it." },
    async () => ({
      content: [{ type: 'text', text: `${session.id} (${session.clientInfo?.name ?? 'unknown client'})` }],
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
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress: from - step + 1, total: from },
          });
        }
      }
      return { content: [{ type: 'text', text: 'liftoff' }] };
    },
  );

  server.registerTool(
    'ask_model',
    { description: 'Asks the client’s model a question (sampling).', inputSchema: z.object({ question: z.string() }) },
    async ({ question }, ctx) => {
      const result = await ctx.mcpReq.requestSampling({
        messages: [{ role: 'user', content: { type: 'text', text: question } }],
        maxTokens: 100,
      });
      const content = Array.isArray(result.content) ? result.content[0] : result.content;
      return { content: [{ type: 'text', text: content?.type === 'text' ? content.text : '(no text)' }] };
    },
  );

  server.registerTool(
    'ask_user',
    { description: 'Asks the user for their name (elicitation).' },
    async (ctx) => {
      const result = await ctx.mcpReq.elicitInput({
        mode: 'form',
        message: 'What is your name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      });
      const name = result.action === 'accept' ? String(result.content?.name ?? '') : `(${result.action})`;
      return { content: [{ type: 'text', text: `Hello, ${name}` }] };
    },
  );

  return server;
}
