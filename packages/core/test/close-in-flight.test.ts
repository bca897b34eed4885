/**
 * `close()` with requests on their way in: a request the endpoint had taken but not yet handed to a
 * lane's stream (its body still arriving, or its server still being built) is answered with 503 and
 * Retry-After like any other; none is left without an answer. Found by the 2026-07-28 fuzz's close
 * with requests in flight (packages/testing/src/suites/fuzz-modern.ts).
 */
import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type McpSessionOptions, createMcpSessionEndpoint } from '@x/mcp-session-core';
import { bareHttp, deferred } from './helpers.js';

const MODERN = '2026-07-28';

const http = bareHttp();

function modernServer(): McpServer {
  const mcp = new McpServer({ name: 'close', version: '1.0.0' }, { supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, MODERN] });
  mcp.registerTool('hello', {}, () => ({ content: [{ type: 'text', text: 'hello' }] }));
  return mcp;
}

/** The endpoint on bare node:http; `arrived[n]` resolves when request n reached it. */
async function serve(options: McpSessionOptions): Promise<{ url: string; arrived: Array<Promise<void>> }> {
  const mcp = createMcpSessionEndpoint(options);
  http.track(mcp);
  const arrived = [deferred(), deferred()];
  let next = 0;
  const url = await http.listen((req, res) => {
    arrived[next++]?.resolve();
    void mcp.handleRequest(req, res);
  });
  return { url, arrived: arrived.map((each) => each.promise) };
}

const call = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: {
    name: 'hello',
    arguments: {},
    _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
  },
});
const headers = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': MODERN,
  'mcp-method': 'tools/call',
  'mcp-name': 'hello',
};

async function expectShuttingDown(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  // The connection goes with the answer: a kept-alive connection would hold the closing HTTP server open.
  expect(response.headers.get('connection')).toBe('close');
  expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/shutting down/) } });
}

describe('close() with requests on their way in', () => {
  it('answers 503 to a request whose body was still arriving', async () => {
    const { url, arrived } = await serve({ server: modernServer });
    // The server is built and serving: nothing but the body stands between the request and its lane.
    expect((await fetch(url, { method: 'POST', headers, body: call })).status).toBe(200);
    const half = Math.floor(call.length / 2);
    let push!: (chunk: string | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const encoder = new TextEncoder();
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(encoder.encode(chunk)));
      },
    });
    push(call.slice(0, half));
    const response = fetch(url, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
    await arrived[1];
    await http.endpoint!.close();
    push(call.slice(half));
    push(null);
    await expectShuttingDown(await response);
  });

  it('answers 503 to a request whose server was still being built when close() ran', async () => {
    const building = deferred();
    const release = deferred();
    const { url } = await serve({
      server: async (_session, context) => {
        if (context.era === 'modern') {
          building.resolve();
          await release.promise;
        }
        return modernServer();
      },
    });
    const response = fetch(url, { method: 'POST', headers, body: call });
    await building.promise;
    const closing = http.endpoint!.close();
    release.resolve();
    await expectShuttingDown(await response);
    await closing;
  });
});
