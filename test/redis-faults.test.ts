import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { mcpSession } from '@x/mcp-session-express';
import { createRedisStores } from '@x/mcp-session-redis';
import { type StartedRedis, gate, startRedisServer } from '@x/mcp-session-testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * Redis faults, on a Redis this test starts and stops itself: killed, then frozen (SIGSTOP). Every
 * request that needs the store is answered 503 with Retry-After within a second, the process stays up,
 * nothing is printed by ioredis, and service returns within two seconds of Redis.
 */
const ACCEPT = 'application/json, text/event-stream';

let dir: string;
let redis: StartedRedis;
let port: number;
let server: Server;
let url: string;
let close: () => Promise<void>;
const storeErrors: unknown[] = [];

async function startRedis(): Promise<StartedRedis> {
  // Persisted to disk, so a restart keeps the sessions.
  return startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], port);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-redis-faults-'));
  redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
  port = Number(new URL(redis.url).port);
  const stores = createRedisStores({ client: redis.url, prefix: 'faults:', onError: (error) => storeErrors.push(error) });
  const mcp = mcpSession({ server: gate().factory, ...stores });
  const app = express();
  app.use('/mcp', mcp);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  close = async () => {
    await mcp.close();
    await stores.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
});

afterAll(async () => {
  await close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

function initialize(): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'faults', version: '1' } },
    }),
  });
}

async function openSession(): Promise<string> {
  const res = await initialize();
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get('mcp-session-id')!;
}

const inSession = (sessionId: string) => ({
  accept: ACCEPT,
  'content-type': 'application/json',
  'mcp-session-id': sessionId,
  'mcp-protocol-version': '2025-11-25',
});

/** The requests a client makes that need the store: a call, a GET stream, a DELETE, a new session. */
function requestsOf(sessionId: string): Array<() => Promise<Response>> {
  const echo = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } });
  return [
    () => fetch(url, { method: 'POST', headers: inSession(sessionId), body: echo }),
    () => fetch(url, { headers: { ...inSession(sessionId), accept: 'text/event-stream' } }),
    // An unknown id of the right form: only the store can tell it is unknown.
    () => fetch(url, { method: 'DELETE', headers: inSession(`${sessionId.slice(0, -1)}${sessionId.endsWith('A') ? 'B' : 'A'}`) }),
    initialize,
  ];
}

/** Each request is answered 503 with Retry-After and a JSON-RPC error, each within a second. */
async function expectUnavailable(sessionId: string): Promise<void> {
  for (const send of requestsOf(sessionId)) {
    const started = performance.now();
    const res = await send();
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(elapsed, `answered after ${elapsed.toFixed(0)} ms`).toBeLessThan(1_000);
  }
}

/** Requests back to back until one is served; resolves with how long that took. */
async function recovery(sessionId: string): Promise<number> {
  const started = performance.now();
  const [call] = requestsOf(sessionId);
  for (;;) {
    const res = await call!();
    if (res.status === 200) {
      expect(await res.json()).toMatchObject({ result: { content: [{ text: 'x' }] } });
      return performance.now() - started;
    }
    await res.arrayBuffer();
    expect(performance.now() - started, 'service did not return').toBeLessThan(10_000);
  }
}

describe('Redis faults', () => {
  it('killed: 503 within a second for every request, no process exit, service back within two seconds of Redis', async () => {
    const sessionId = await openSession();
    const printed = vi.spyOn(console, 'error');
    await redis.kill();
    await expectUnavailable(sessionId);
    await expectUnavailable(sessionId);
    redis = await startRedis();
    expect(await recovery(sessionId)).toBeLessThan(2_000);
    // The library's own connections had an error listener: ioredis printed nothing.
    expect(printed.mock.calls.filter((args) => String(args[0]).includes('[ioredis]'))).toEqual([]);
    printed.mockRestore();
    // The outage was reported once to onError, not once per reconnection attempt.
    expect(storeErrors.length).toBeGreaterThan(0);
    expect(storeErrors.length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('frozen (SIGSTOP): 503 within a second for every request, service back within two seconds of SIGCONT', async () => {
    const sessionId = await openSession();
    redis.freeze();
    try {
      await expectUnavailable(sessionId);
    } finally {
      redis.thaw();
    }
    expect(await recovery(sessionId)).toBeLessThan(2_000);
  }, 60_000);
});
