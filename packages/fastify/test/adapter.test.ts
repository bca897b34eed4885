import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { mcpSessionPlugin } from '@x/mcp-session-fastify';
import { type AdapterHarness, onRedis, runAdapterSuite } from '@x/mcp-session-testing';
import { logOnFailure } from '../../../test/support/log-on-failure.js';

/**
 * A Fastify app on a real socket: the host's hooks, the plugin registered with `{ prefix }`, and the
 * host's routes beside it. Fastify parses JSON bodies itself, so `bodyParser` changes nothing here.
 */
const harness: AdapterHarness = {
  name: 'fastify',
  async start(options, host = {}) {
    // Like the other harnesses' closeAllConnections(): a keep-alive socket the client opened but never
    // used is not idle to Node, and would hold fastify.close() until the client drops it.
    const fastify = Fastify({ forceCloseConnections: true });
    const { auth, observe, prefix = '' } = host;
    if (observe !== undefined) {
      fastify.addHook('onRequest', async (request) => {
        observe(request.raw);
      });
    }
    if (auth !== undefined) {
      fastify.decorateRequest('auth', undefined);
      fastify.addHook('onRequest', async (request) => {
        request.auth = auth(request.raw);
      });
    }
    // What the library logs shows only when a test fails: the suites throw errors on purpose.
    await fastify.register(mcpSessionPlugin, { logger: logOnFailure, ...options, path: '/mcp', ...(prefix === '' ? {} : { prefix }) });
    fastify.get(`${prefix}/health`, async () => ({ ok: true }));
    fastify.get(`${prefix}/sessions`, async () => ({ ids: (await fastify.mcpSessions.list()).map((session) => session.id) }));
    fastify.delete<{ Params: { id: string } }>(`${prefix}/sessions/:id`, async (request) => ({
      terminated: await fastify.mcpSessions.terminate(request.params.id),
    }));

    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as AddressInfo;
    const hostUrl = `http://127.0.0.1:${port}${prefix}`;
    let closing: Promise<void> | undefined;
    return {
      url: `${hostUrl}/mcp`,
      hostUrl,
      endpoint: fastify.mcpSessionEndpoint,
      sessions: fastify.mcpSessions,
      close() {
        closing ??= fastify.close();
        return closing;
      },
    };
  },
};

runAdapterSuite(harness);
// The same suite with every store on Redis (REDIS_URL, else the local server, else one started here).
runAdapterSuite(onRedis(harness));
