/**
 * Closing the endpoint while a response without a session is under way: nothing can resume it (no
 * session, no Last-Event-ID), so every request it still owes is answered before it ends. A response
 * still owed as JSON gets 503; one that became an SSE stream gets a JSON-RPC error for each request,
 * then ends without a retry hint. Found by the 2026-07-28 fuzz (packages/testing/src/suites/fuzz-modern.ts).
 */
import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { createMcpSessionEndpoint } from '@x/mcp-session-core';
import { bareHttp, deferred } from './helpers.js';

const MODERN = '2026-07-28';

const http = bareHttp();

/** A server of both eras whose tool logs, tells the test, and works until it is cancelled. */
function loggingServer(working: () => void): McpServer {
  const mcp = new McpServer(
    { name: 'shutdown', version: '1.0.0' },
    { capabilities: { logging: {} }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, MODERN] },
  );
  mcp.registerTool('log_then_work', {}, async (ctx) => {
    await ctx.mcpReq.log('info', 'working');
    working();
    const { signal } = ctx.mcpReq;
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    return { content: [{ type: 'text', text: 'stopped' }] };
  });
  return mcp;
}

const calls = {
  '2026-07-28': {
    legacy: 'reject',
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'log_then_work' },
    params: {
      name: 'log_then_work',
      arguments: {},
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/logLevel': 'info',
      },
    },
  },
  'legacy without a session': {
    legacy: 'stateless',
    headers: { 'mcp-protocol-version': '2025-11-25' },
    params: { name: 'log_then_work', arguments: {} },
  },
} as const;

describe('closing the endpoint during a response without a session', () => {
  it.each(Object.entries(calls))(
    'answers a %s call whose response is an SSE stream, and ends it without a retry hint',
    async (_era, call) => {
      const working = deferred();
      const mcp = createMcpSessionEndpoint({
        server: () => loggingServer(() => working.resolve()),
        legacy: call.legacy,
        retryIntervalMs: 250,
      });
      http.track(mcp);
      const url = await http.listen((req, res) => void mcp.handleRequest(req, res));
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...call.headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: call.params }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = response.text();
      await working.promise;

      await mcp.close();
      const text = await body;
      const messages = text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as { id?: unknown; method?: string; error?: { code: number; message: string } });
      expect(messages.filter((message) => message.method === undefined)).toEqual([
        { jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'Service Unavailable: the MCP endpoint is shutting down' } },
      ]);
      expect(text).not.toMatch(/^retry:/m);
    },
  );
});
