import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoServer } from '../examples/demo/mcp-server.js';
import { type RunningApp, startExpress } from './helpers.js';

let app: RunningApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('smoke', () => {
  it('v2 client calls a tool', async () => {
    app = await startExpress({ server: createDemoServer });
    const client = new Client({ name: 'smoke', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(app.url));
    await client.connect(transport);
    expect(transport.sessionId).toBeTypeOf('string');
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    const progress: number[] = [];
    const r2 = await client.callTool({ name: 'countdown', arguments: { from: 3 } }, { onprogress: (p) => progress.push(p.progress) });
    expect(r2.content).toEqual([{ type: 'text', text: 'liftoff' }]);
    expect(progress).toEqual([1, 2, 3]);
    await client.close();
  });
});
