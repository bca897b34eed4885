import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MemoryEventStore } from '@x/mcp-session-core';
import { mcpSession } from '@x/mcp-session-express';
import { gate, pausedGet } from '@x/mcp-session-testing';
import { describe, expect, it } from 'vitest';

/**
 * A client that opens its GET stream and stops reading, under 300 MB of broadcasts: the server keeps
 * its memory (RSS grows by less than 64 MB), closes the stream, and the client resumes with every event
 * the event store holds, the gap reported.
 */
describe('a paused GET client under 300 MB of broadcasts', () => {
  it('costs the server a bounded buffer, not the broadcasts', async () => {
    const fixture = gate();
    const mcp = mcpSession({
      server: fixture.factory,
      keepAliveIntervalMs: 0,
      eventStore: new MemoryEventStore({ maxEventsPerStream: 100 }),
    });
    const app = express();
    app.use('/mcp', mcp);
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    try {
      const init = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'slow', version: '1' } },
        }),
      });
      const sessionId = init.headers.get('mcp-session-id')!;
      await init.arrayBuffer();
      const paused = await pausedGet(url, sessionId);

      // Retained memory is what counts, not garbage a collection has not reached yet: sample after one.
      const retained = () => {
        global.gc!();
        return process.memoryUsage().rss;
      };
      const before = retained();
      let peak = before;
      const payload = 'b'.repeat(50 * 1024);
      for (let i = 0; i < 6_000; i += 1) {
        await mcp.sessions.broadcast({
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { level: 'info', data: `${i} ${payload}` },
        });
        if (i % 500 === 0) peak = Math.max(peak, retained());
      }
      peak = Math.max(peak, retained());
      paused.socket.destroy();
      expect(peak - before, `RSS grew by ${((peak - before) / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(64 * 2 ** 20);
      const metrics = await mcp.endpoint.metrics();
      expect(metrics.streamsOverflowed).toBe(1);
      expect(metrics.openStreams).toBe(0);

      const resumed = await fetch(url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
          'last-event-id': paused.primingId,
        },
      });
      expect(resumed.status).toBe(200);
      const reader = resumed.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while ((text.match(/^data: /gm) ?? []).length < 100) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      expect(text.startsWith(': gap')).toBe(true);
      expect((text.match(/^data: /gm) ?? []).length).toBe(100);
      expect((await mcp.endpoint.metrics()).resumptionGaps).toBe(1);
    } finally {
      await mcp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});
