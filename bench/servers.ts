/**
 * The one MCP server every target serves: an `McpServer` with a single `echo` tool, for SDK v2 and
 * for SDK v1 (whose transport only takes a v1 server). Our targets use the v2 factory, as the SDK v2
 * target does.
 */
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import { z } from 'zod';

const info = { name: 'bench', version: '1.0.0' };

export function createV2Server(): McpServerV2 {
  const server = new McpServerV2(info);
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

export function createV1Server(): McpServerV1 {
  const server = new McpServerV1(info);
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}
