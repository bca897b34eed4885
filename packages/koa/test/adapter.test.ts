import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { mcpSession } from '@x/mcp-session-koa';
import { type AdapterHarness, onRedis, runAdapterSuite } from '@x/mcp-session-testing';
import { logOnFailure } from '../../../test/support/log-on-failure.js';

/**
 * A Koa app on a real socket: the host's middleware, then the endpoint — with its `path` option at the
 * top level, or on a `@koa/router` route under a prefix — and the host's routes on a router.
 */
const harness: AdapterHarness = {
  name: 'koa',
  async start(options, host = {}) {
    const app = new Koa();
    const { auth, observe, prefix } = host;
    if (observe !== undefined) {
      app.use(async (ctx, next) => {
        observe(ctx.req);
        await next();
      });
    }
    if (auth !== undefined) {
      app.use(async (ctx, next) => {
        ctx.state.auth = auth(ctx.req);
        await next();
      });
    }
    // A client error, not a server one: Koa then answers 400 without logging a stack.
    if (host.bodyParser === true) app.use(bodyParser({ onError: (error, ctx) => ctx.throw(400, error.message) }));

    // What the library logs shows only when a test fails: the suites throw errors on purpose.
    const logged = { logger: logOnFailure, ...options };
    const mcp = prefix === undefined ? mcpSession({ path: '/mcp', ...logged }) : mcpSession(logged);
    const router = new Router(prefix === undefined ? {} : { prefix });
    router.get('/health', (ctx) => {
      ctx.body = { ok: true };
    });
    router.get('/sessions', async (ctx) => {
      ctx.body = { ids: (await mcp.sessions.list()).map((session) => session.id) };
    });
    router.delete('/sessions/:id', async (ctx) => {
      ctx.body = { terminated: await mcp.sessions.terminate(ctx.params.id!) };
    });
    if (prefix === undefined) app.use(mcp);
    else router.all('/mcp', mcp);
    app.use(router.routes());

    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const { port } = server.address() as AddressInfo;
    const hostUrl = `http://127.0.0.1:${port}${prefix ?? ''}`;
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
