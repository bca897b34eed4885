import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { mcpSessionPlugin } from '@x/mcp-session-fastify';
import { createV2Server } from '@x/mcp-session-testing';
import { afterEach, describe, expect, it } from 'vitest';

/** Fastify-only behaviour; what every adapter must do is in the shared suite (adapter.test.ts). */
describe('fastify: the plugin in its host', () => {
  let fastify: FastifyInstance | undefined;
  afterEach(async () => {
    await fastify?.close();
    fastify = undefined;
  });

  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fastify', version: '1' } },
  });
  const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

  it("leaves an error thrown by the host's own hook to the host, headers included", async () => {
    fastify = Fastify({ forceCloseConnections: true });
    // An auth hook in the common style: set the challenge, throw a 401.
    fastify.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization !== undefined) return;
      reply.header('www-authenticate', 'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"');
      throw Object.assign(new Error('Unauthorized'), { statusCode: 401 });
    });
    fastify.setErrorHandler(async (error: Error & { statusCode?: number }, _request, reply) => {
      return reply.code(error.statusCode ?? 500).send({ host: true, message: error.message });
    });
    await fastify.register(mcpSessionPlugin, { path: '/mcp', server: createV2Server });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/mcp`;

    const refused = await fetch(url, { method: 'POST', headers, body: initialize });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
    expect(await refused.json()).toEqual({ host: true, message: 'Unauthorized' });

    const allowed = await fetch(url, { method: 'POST', headers: { ...headers, authorization: 'Bearer alice' }, body: initialize });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('mcp-session-id')).toBeTypeOf('string');
    await allowed.arrayBuffer();
  });

  it('still answers a body over maxBodyBytes itself, with a JSON-RPC error', async () => {
    fastify = Fastify({ forceCloseConnections: true });
    fastify.setErrorHandler(async (_error, _request, reply) => reply.code(500).send({ host: true }));
    await fastify.register(mcpSessionPlugin, { path: '/mcp', server: createV2Server, maxBodyBytes: 64 });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/mcp`;
    const res = await fetch(url, { method: 'POST', headers, body: initialize });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.any(String) }, id: null });
  });

  it("sends the library's logs to Fastify's logger, with no full session id at info", async () => {
    const lines: Array<{ msg?: string; session?: string; reason?: string }> = [];
    fastify = Fastify({
      forceCloseConnections: true,
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) } },
    });
    await fastify.register(mcpSessionPlugin, { path: '/mcp', server: createV2Server });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}/mcp`;
    const res = await fetch(url, { method: 'POST', headers, body: initialize });
    const sessionId = res.headers.get('mcp-session-id')!;
    await res.arrayBuffer();
    const deleted = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
    expect(deleted.status).toBe(200);
    const created = lines.find((line) => line.msg === 'mcp-session: session created');
    expect(created?.session).toMatch(/^[\w-]{10}$/);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'mcp-session: session closed', session: created?.session, reason: 'deleted' }),
    );
    expect(JSON.stringify(lines)).not.toContain(sessionId);
  });
});
