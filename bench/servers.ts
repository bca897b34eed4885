/**
 * The MCP servers the targets serve. `echo`: an `McpServer` with a single `echo` tool, for SDK v2 and
 * for SDK v1 (whose transport only takes a v1 server); our targets use the v2 factory, as the SDK v2
 * target does. `conformance` (the eras case): the conformance fixture server with `echo` added, the
 * same for every target of that case.
 */
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import type { ServerContext } from '@x/mcp-session-core';
import { z } from 'zod';
import { createConformanceServer } from '../examples/conformance/fixtures.js';
import type { ToolSet } from './protocol.js';

const info = { name: 'bench', version: '1.0.0' };

function registerEcho(server: McpServerV2): McpServerV2 {
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

export function createV2Server(): McpServerV2 {
  return registerEcho(new McpServerV2(info));
}

/**
 * The conformance fixture server (every tool, resource and prompt the conformance suite calls; it
 * lists 2026-07-28) plus `echo`. `context`: our endpoint's, when it builds the server.
 */
export function createConformanceBenchServer(context?: ServerContext): McpServerV2 {
  return registerEcho(createConformanceServer(context));
}

/** The v2 server of a tool set. */
export function createServerOf(tools: ToolSet, context?: ServerContext): McpServerV2 {
  return tools === 'conformance' ? createConformanceBenchServer(context) : createV2Server();
}

export function createV1Server(): McpServerV1 {
  const server = new McpServerV1(info);
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}
