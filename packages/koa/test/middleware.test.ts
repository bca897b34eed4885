import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import Koa from 'koa';
import { type McpSessionState, mcpSession } from '@x/mcp-session-koa';
import { createV2Server, initializeParams, postInitialize } from '@x/mcp-session-testing';
import { afterEach, describe, expect, it } from 'vitest';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function listen(app: Koa, close: () => Promise<void>): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  stop = async () => {
    await close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

async function initialize(url: string): Promise<string> {
  const init = await postInitialize(url, initializeParams('2025-11-25', 'koa'));
  expect(init.status).toBe(200);
  await init.arrayBuffer();
  return init.headers.get('mcp-session-id')!;
}

/** Koa-only behaviour; what every adapter must do is in the shared suite (adapter.test.ts). */
describe('koa: ctx.state.mcpSession', () => {
  it('names the session of each request for the host middleware around the endpoint', async () => {
    const seen: Array<McpSessionState | undefined> = [];
    const app = new Koa();
    app.use(async (ctx, next) => {
      await next();
      seen.push(ctx.state.mcpSession as McpSessionState | undefined);
    });
    const mcp = mcpSession({ path: '/mcp', server: createV2Server });
    app.use(mcp);
    app.use((ctx) => {
      ctx.body = 'host';
    });
    const base = await listen(app, () => mcp.close());
    const sessionId = await initialize(`${base}/mcp`);
    const call = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(call.status).toBe(200);
    await call.arrayBuffer();
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('host');

    // An initialize names no session (the new id is in its response header); the endpoint was not involved elsewhere.
    expect(seen).toEqual([{ id: undefined }, { id: sessionId }, undefined]);
  });
});

describe('koa: a client that drops its stream', () => {
  it('is no app error: a reset SSE stream the endpoint owns does not reach app.on("error")', async () => {
    const errors: string[] = [];
    const app = new Koa();
    app.on('error', (error: Error) => void errors.push(error.message));
    let streamClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (streamClosed = resolve));
    app.use(async (ctx, next) => {
      if (ctx.method === 'GET') ctx.res.once('close', streamClosed);
      await next();
    });
    const mcp = mcpSession({ path: '/mcp', server: createV2Server });
    app.use(mcp);
    const base = await listen(app, () => mcp.close());
    const sessionId = await initialize(`${base}/mcp`);

    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${sessionId}\r\n\r\n`);
    const head = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    socket.resetAndDestroy();
    // Koa reports a socket error as soon as it happens, before the response's close.
    await closed;
    expect(errors).toEqual([]);
    expect(await mcp.sessions.count()).toBe(1);
  });
});
