import { type Server, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { mcpSession } from '@x/mcp-session-express';
import { describe, expect, it } from 'vitest';
import { ACCEPT_BOTH, type AdapterHarness, createV2Server, onRedis, runAdapterSuite } from '@x/mcp-session-testing';
import { logOnFailure } from '../../../test/support/log-on-failure.js';

/** An Express app on a real socket: the host's middleware, then a router with its routes and the endpoint. */
const harness: AdapterHarness = {
  name: 'express',
  async start(options, host = {}) {
    const app = express();
    const { auth, observe } = host;
    if (observe !== undefined) {
      app.use((req, _res, next) => {
        observe(req);
        next();
      });
    }
    if (auth !== undefined) {
      app.use((req, _res, next) => {
        Object.assign(req, { auth: auth(req) });
        next();
      });
    }
    if (host.bodyParser === true) app.use(express.json());

    // What the library logs shows only when a test fails: the suites throw errors on purpose.
    const mcp = mcpSession({ logger: logOnFailure, ...options });
    const router = express.Router();
    router.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    router.get('/sessions', async (_req, res) => {
      res.json({ ids: (await mcp.sessions.list()).map((session) => session.id) });
    });
    router.delete('/sessions/:id', async (req, res) => {
      res.json({ terminated: await mcp.sessions.terminate(req.params.id) });
    });
    router.use('/mcp', mcp);
    app.use(host.prefix ?? '/', router);

    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const { port } = server.address() as AddressInfo;
    const hostUrl = `http://127.0.0.1:${port}${host.prefix ?? ''}`;
    let closing: Promise<void> | undefined;
    return {
      url: `${hostUrl}/mcp`,
      hostUrl,
      endpoint: mcp.endpoint,
      sessions: mcp.sessions,
      close() {
        closing ??= (async () => {
          await mcp.close();
          server.closeAllConnections();
          await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
        })();
        return closing;
      },
    };
  },
};

runAdapterSuite(harness);
// The same suite with every store on Redis (REDIS_URL, else the local server, else one started here).
runAdapterSuite(onRedis(harness));

describe('express: request targets', () => {
  it('serves an absolute-form request target (POST http://host/mcp)', async () => {
    const app = await harness.start({ server: createV2Server });
    try {
      const url = new URL(app.url);
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      const answer = await new Promise<{ status: number; sessionId: string | undefined }>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: url.href,
            headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, host: url.host },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, sessionId: res.headers['mcp-session-id'] as string | undefined }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(answer.status).toBe(200);
      expect(answer.sessionId).toMatch(/^[\x21-\x7e]{22,}$/);
    } finally {
      await app.close();
    }
  });
});
