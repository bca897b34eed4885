/**
 * A client that leaves before its answer, on the lanes without sessions (where closing the response
 * cancels the request): whatever the endpoint was doing when it left — building the 2026-07-28
 * server, or running the call — nothing of the request stays behind, and its handler is told to stop.
 * Found by the 2026-07-28 fuzz (packages/testing/src/suites/fuzz-modern.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type McpSessionOptions, createMcpSessionEndpoint } from '@x/mcp-session-core';
import { bareHttp, deferred, nextTurn } from './helpers.js';

const MODERN = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

const http = bareHttp();

/** What the test sees of one request on the server side: its `req`, when its response closed, and when the endpoint was done with it. */
interface Seen {
  readonly req: WeakRef<IncomingMessage>;
  readonly closed: Promise<void>;
  readonly handled: Promise<void>;
}

/** The endpoint on bare node:http; `seen` resolves with the server side of each request, in order. */
async function serve(options: McpSessionOptions): Promise<{ url: string; seen: Array<Promise<Seen>> }> {
  const mcp = createMcpSessionEndpoint(options);
  http.track(mcp);
  const seen = Array.from({ length: 4 }, () => deferred<Seen>());
  let next = 0;
  const url = await http.listen((req: IncomingMessage, res: ServerResponse) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    seen[next++]!.resolve({ req: new WeakRef(req), closed, handled: mcp.handleRequest(req, res) });
  });
  return { url, seen: seen.map((each) => each.promise) };
}

/** A 2026-07-28 server with a tool that waits until its request is cancelled. */
function modernServer(onCall: () => void, onCancelled: () => void): McpServer {
  const mcp = new McpServer(
    { name: 'client-gone', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, MODERN] },
  );
  mcp.registerTool('wait_for_cancel', {}, async (ctx) => {
    onCall();
    const { signal } = ctx.mcpReq;
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    onCancelled();
    return { content: [{ type: 'text', text: 'cancelled' }] };
  });
  return mcp;
}

function post(url: string, method: string, params: Record<string, unknown>, signal: AbortSignal, name?: string): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
  };
  if (name !== undefined) headers['mcp-name'] = name;
  return fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META } }),
    signal,
  });
}

/** Whether nothing holds the object any more, after full collections (the WeakRef is read in a later turn each time). */
async function released(ref: WeakRef<object>): Promise<boolean> {
  for (let round = 0; round < 5; round += 1) {
    await nextTurn();
    global.gc!();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

/**
 * An endpoint whose 2026-07-28 server is built only once the client of the first request has gone,
 * so the lane serves a response that is already closed; `building` resolves as the build starts.
 */
async function serveBuiltAfterClientLeft(onCancelled: () => void = () => undefined) {
  const building = deferred();
  const served = await serve({
    server: async (_session, context) => {
      if (context.era === 'modern') {
        building.resolve();
        await (
          await served.seen[0]!
        ).closed;
      }
      return modernServer(() => undefined, onCancelled);
    },
  });
  return { ...served, building: building.promise };
}

describe('a client that leaves before its answer (2026-07-28)', () => {
  it('releases a subscriptions/listen stream whose client left while the server was being built', async () => {
    const { url, seen, building } = await serveBuiltAfterClientLeft();
    const client = new AbortController();
    const listening = post(url, 'subscriptions/listen', { notifications: { toolsListChanged: true } }, client.signal).catch(
      (error: unknown) => error,
    );
    await building;
    client.abort();
    expect(await listening).toBeInstanceOf(Error);
    await (
      await seen[0]!
    ).handled;

    const metrics = await http.endpoint!.metrics();
    expect(metrics.listenStreams).toBe(0);
    expect(metrics.openStreams).toBe(0);
  });

  it('cancels a call whose client left while the server was being built', async () => {
    const cancelled = deferred();
    const { url, seen, building } = await serveBuiltAfterClientLeft(() => cancelled.resolve());
    const client = new AbortController();
    const calling = post(url, 'tools/call', { name: 'wait_for_cancel', arguments: {} }, client.signal, 'wait_for_cancel').catch(
      (error: unknown) => error,
    );
    await building;
    client.abort();
    expect(await calling).toBeInstanceOf(Error);
    await (
      await seen[0]!
    ).handled;
    // The handler hears the cancellation (without it, it would wait for ever), and nothing of the request stays.
    await cancelled.promise;
    expect(await released((await seen[0]!).req)).toBe(true);
  }, 5_000);

  it.each(['json', 'sse'] as const)(
    'forgets a call whose client closed the response while it ran (responseMode %s)',
    async (responseMode) => {
      const called = deferred();
      const cancelled = deferred();
      const { url, seen } = await serve({
        responseMode,
        server: () =>
          modernServer(
            () => called.resolve(),
            () => cancelled.resolve(),
          ),
      });
      const client = new AbortController();
      const calling = post(url, 'tools/call', { name: 'wait_for_cancel', arguments: {} }, client.signal, 'wait_for_cancel').catch(
        (error: unknown) => error,
      );
      await called.promise;
      client.abort();
      await calling;
      await cancelled.promise;
      await (
        await seen[0]!
      ).closed;
      // Nothing of the request is held once its handler stopped: not its response, not its request.
      expect(await released((await seen[0]!).req)).toBe(true);
    },
  );
});
