/**
 * Every request is answered, and nothing a client sends grows without bound: request deadlines, the
 * cap on requests in flight per session, ids reused while in flight, the cap on the stored
 * `initialize`, the body-read timeout, and metric labels.
 */
import { request as httpRequest } from 'node:http';
import type { McpSessionOptions } from '@x/mcp-session-core';
import { describe, expect, it } from 'vitest';
import { type AdapterHarness, ManualClock, type RunningApp, appsFor } from '../../harness.js';
import {
  ACCEPT,
  type Json,
  expectEcho,
  expectRpcError,
  initializeMessage,
  openSession,
  post,
  readResponse,
  session,
} from '../http-rules/helpers.js';
import { type Gate, gate } from './gate.js';

const holdCall = (id: number): Json => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'hold', arguments: {} } });

export function requestLimitsSuite(harness: AdapterHarness): void {
  describe('every request answered, every buffer bounded', () => {
    const run = appsFor(harness, () => ({}));
    const start = (fixture: Gate, options: Partial<McpSessionOptions> = {}): Promise<RunningApp> =>
      run({ server: fixture.factory, ...options });

    describe('requestTimeoutMs', () => {
      it('answers a request the server never answers with -32001 once its deadline passed, and cancels it', async () => {
        const fixture = gate();
        const clock = new ManualClock();
        const app = await start(fixture, { clock, requestTimeoutMs: 60_000, hibernateAfterMs: 1_000 });
        const sessionId = await openSession(app.url);
        const pending = post(app.url, holdCall(7), session(sessionId));
        await fixture.entered();
        clock.advance(59_999);
        await app.endpoint.sweep();
        expect((await app.endpoint.metrics()).requestsTimedOut).toBe(0);
        clock.advance(1);
        await app.endpoint.sweep();
        const response = await readResponse(await pending);
        expect(response).toMatchObject({ id: 7, error: { code: -32001, message: expect.stringMatching(/timed out/) } });
        expect(fixture.cancelled).toEqual([7]);
        expect((await app.endpoint.metrics()).requestsTimedOut).toBe(1);
        // Nothing of the request is left behind: the session hibernates, and serves on.
        clock.advance(1_000);
        await app.endpoint.sweep();
        expect(app.sessions.liveCount).toBe(0);
        await expectEcho(app.url, sessionId);
      });

      it('answers a request stuck in a middleware', async () => {
        const fixture = gate();
        const clock = new ManualClock();
        let entered: () => void = () => undefined;
        const reached = new Promise<void>((resolve) => (entered = resolve));
        const app = await start(fixture, {
          clock,
          requestTimeoutMs: 5_000,
          middleware: [
            (ctx, next) => {
              if (ctx.method !== 'tools/call') return next();
              entered();
              return new Promise<never>(() => undefined);
            },
          ],
        });
        const sessionId = await openSession(app.url);
        const pending = post(app.url, holdCall(8), session(sessionId));
        await reached;
        clock.advance(5_000);
        await app.endpoint.sweep();
        expect(await readResponse(await pending)).toMatchObject({ id: 8, error: { code: -32001 } });
      });
    });

    describe('requests in flight', () => {
      it('answers 429 past maxRequestsInFlight per session, and 400 to an id still in flight', async () => {
        const fixture = gate();
        const app = await start(fixture, { maxRequestsInFlight: 2 });
        const sessionId = await openSession(app.url);
        const first = post(app.url, holdCall(1), session(sessionId));
        const second = post(app.url, holdCall(2), session(sessionId));
        await fixture.entered(2);
        const refused = await post(app.url, holdCall(3), session(sessionId));
        expect(refused.headers.get('retry-after')).toBe('1');
        const body = (await refused.json()) as Json;
        expect(refused.status).toBe(429);
        expect(body).toMatchObject({ jsonrpc: '2.0', error: { code: -32029, data: { retryAfterMs: expect.any(Number) } } });
        // Another session is not held back.
        const other = await openSession(app.url);
        await expectEcho(app.url, other);
        // Reusing an id in flight would hand its answer to the wrong request.
        await expectRpcError(await post(app.url, holdCall(1), session(sessionId)), 400, -32600);
        fixture.release();
        expect((await readResponse(await first)).result?.content?.[0]?.text).toBe('released');
        expect((await readResponse(await second)).result?.content?.[0]?.text).toBe('released');
        await expectEcho(app.url, sessionId);
      });
    });

    describe('maxInitializeBytes', () => {
      it('answers 413 to initialize params over the limit and creates no session', async () => {
        const app = await start(gate(), { maxInitializeBytes: 1_024 });
        const big = initializeMessage();
        (big.params!.clientInfo as Record<string, unknown>).description = 'd'.repeat(2_000);
        await expectRpcError(await post(app.url, big), 413, -32000);
        expect(await app.sessions.count()).toBe(0);
        await openSession(app.url);
      });
    });

    describe('bodyTimeoutMs', () => {
      it('answers 408 to a body that stops arriving, and closes the connection', async () => {
        const app = await start(gate(), { bodyTimeoutMs: 200 });
        const url = new URL(app.url);
        const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
          const req = httpRequest(
            {
              hostname: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              headers: { 'content-type': 'application/json', accept: ACCEPT, 'content-length': '200' },
            },
            (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
            },
          );
          req.on('error', reject);
          // Part of the body, then nothing: the rest never comes.
          req.write('{"jsonrpc":"2.0",');
        });
        expect(answer.status).toBe(408);
        expect(answer.connection).toBe('close');
        expect(JSON.parse(answer.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
      });
    });

    describe('metrics', () => {
      it('counts requests of methods MCP does not define under one label', async () => {
        const app = await start(gate());
        const sessionId = await openSession(app.url);
        for (let i = 0; i < 3; i += 1) {
          const res = await post(app.url, { jsonrpc: '2.0', id: 100 + i, method: `made/up/${'m'.repeat(500)}${i}` }, session(sessionId));
          expect((await readResponse(res)).error?.code).toBe(-32601);
        }
        const { requestsByMethod } = await app.endpoint.metrics();
        expect(requestsByMethod.other).toBe(3);
        expect(Object.keys(requestsByMethod).every((method) => method.length < 40)).toBe(true);
      });
    });
  });
}
