import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectClient } from '@x/mcp-session-testing';
import type * as ExpressQuickstartModule from '../examples/quickstart/express.js';

type ExpressQuickstart = typeof ExpressQuickstartModule;
import { describe, expect, it } from 'vitest';

/** The README's quick starts are these files: each runs here, and the README must quote it exactly. */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function region(file: string): string {
  const text = readFileSync(new URL(`../examples/quickstart/${file}`, import.meta.url), 'utf8');
  const match = /\/\/ #region quickstart\n([\s\S]*?)\/\/ #endregion quickstart/.exec(text);
  if (match === null) throw new Error(`${file} has no quickstart region`);
  return match[1]!.trimEnd();
}

async function address(server: Server): Promise<number> {
  if (!server.listening) await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

process.env.PORT = '0';
process.env.NODE_ENV = 'test';

describe('README quick starts', () => {
  it.each(['express.ts', 'koa.ts', 'fastify.ts'])('README quotes examples/quickstart/%s', (file) => {
    expect(readme).toContain(region(file));
  });

  it.each(['express', 'koa'])('the %s quick start serves a session', async (name) => {
    const { httpServer, mcp } = (await import(`../examples/quickstart/${name}.ts`)) as ExpressQuickstart;
    const client = await connectClient('v2', `http://127.0.0.1:${await address(httpServer)}/mcp`);
    expect(await client.callTool('echo', { text: 'hi' })).toBe(`hi (session ${client.sessionId})`);
    await client.close();
    await mcp.close();
    httpServer.closeAllConnections();
    httpServer.close();
  });

  it('the Fastify quick start serves a session', async () => {
    const { fastify } = await import('../examples/quickstart/fastify.js');
    const client = await connectClient('v2', `http://127.0.0.1:${await address(fastify.server)}/mcp`);
    expect(await client.callTool('echo', { text: 'hi' })).toBe(`hi (session ${client.sessionId})`);
    await client.close();
    await fastify.close();
  });
});
