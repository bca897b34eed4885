import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectClient } from '@x/mcp-session-testing';
import { describe, expect, it } from 'vitest';
import type * as ExpressQuickstartModule from '../examples/quickstart/express.js';
import { type Framework, readmeInstallLines } from './support/installs.js';

type ExpressQuickstart = typeof ExpressQuickstartModule;

/**
 * The README's quick starts are these files: each runs here (test/consumer.test.ts runs them again
 * from the packed packages), and the README must quote it exactly. The README's install lines and its
 * demo table are checked here too.
 */
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
  it.each(['express.ts', 'koa.ts', 'fastify.ts', 'express.cjs'])('README quotes examples/quickstart/%s', (file) => {
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

  it('the node:http quick start (the core package alone) serves a session', async () => {
    const { httpServer, endpoint } = await import('../examples/quickstart/node-http.js');
    const client = await connectClient('v2', `http://127.0.0.1:${await address(httpServer)}/mcp`);
    expect(await client.callTool('echo', { text: 'hi' })).toBe(`hi (session ${client.sessionId})`);
    await client.close();
    await endpoint.close();
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

describe('package READMEs', () => {
  const packageReadme = (name: string) => readFileSync(new URL(`../packages/${name}/README.md`, import.meta.url), 'utf8');

  it.each([
    ['express', 'express.ts'],
    ['koa', 'koa.ts'],
    ['fastify', 'fastify.ts'],
    ['core', 'node-http.ts'],
  ])('packages/%s/README.md quotes examples/quickstart/%s and links the main README', (name, file) => {
    expect(packageReadme(name)).toContain(region(file));
    expect(packageReadme(name)).toContain('](../../README.md)');
  });

  it.each(['express', 'koa', 'fastify'] as Framework[])('packages/%s/README.md gives the complete install lines', (framework) => {
    const { tarballs, registry } = readmeInstallLines(framework);
    expect(packageReadme(framework)).toContain(`\n${registry}\n${tarballs[1]}\n`);
  });

  it('packages/redis/README.md gives its install line and links the main README', () => {
    expect(packageReadme('redis')).toContain('\nnpm install @x/mcp-session-redis ioredis\n');
    expect(packageReadme('redis')).toContain('](../../README.md)');
  });
});

describe('README set-up', () => {
  it.each(['express', 'koa', 'fastify'] as Framework[])(
    'gives the complete install lines for %s, from tarballs and from the registry',
    (framework) => {
      const { tarballs, registry } = readmeInstallLines(framework);
      for (const line of [...tarballs, registry]) expect(readme).toContain(`\n${line}\n`);
    },
  );

  it('runs npx with --yes wherever it fetches a package, so that no prompt waits on a fresh machine', () => {
    expect(readme.match(/npx (?!--yes )[^\s`]+@/g) ?? []).toEqual([]);
    expect(readme).toContain('npx --yes pnpm@10 install');
  });

  it('lists every tool, resource and HTTP route of the demo', () => {
    const demo = readFileSync(new URL('../examples/demo/mcp-server.ts', import.meta.url), 'utf8');
    const app = readFileSync(new URL('../examples/demo/app.ts', import.meta.url), 'utf8');
    const registered = [...demo.matchAll(/register(Tool|Resource)\(\s*'([^']+)'(?:,\s*'([^']+)')?/g)].map((match) =>
      match[1] === 'Tool' ? `\`${match[2]}\`` : `resource \`${match[3]}\``,
    );
    // `app.post('/login', …)` is listed as route `POST /login`; `app.use('/mcp', …)` (every method) as route `/mcp`.
    const routes = [...app.matchAll(/\bapp\.(get|post|put|delete|use)\(\s*'([^']+)'/g)].map(([, method, path]) =>
      method === 'use' ? `route \`${path}\`` : `route \`${method!.toUpperCase()} ${path}\``,
    );
    expect(routes).toContain('route `POST /login`');
    registered.push(...routes);
    const section = readme.slice(readme.indexOf('## The demo'), readme.indexOf('## Scaling out'));
    const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| tool') && !line.startsWith('| ---'));
    const listed = rows.flatMap((row) =>
      row
        .split('|')[1]!
        .split(',')
        .map((cell) => cell.trim()),
    );
    expect(listed.sort()).toEqual(registered.sort());
  });
});
