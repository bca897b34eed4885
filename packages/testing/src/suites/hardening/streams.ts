/**
 * Streams under slow and long-lived conditions: a JSON answer that takes long becomes SSE with
 * keep-alives, SEP-1699 polling works in auto mode, and a client that stops reading is cut off (its
 * buffer dropped) and resumes from the event store, with a gap reported when events were dropped.
 */
import { type Socket, connect } from 'node:net';
import { MemoryEventStore, type McpSessionOptions } from '@x/mcp-session-core';
import { describe, expect, it } from 'vitest';
import { type AdapterHarness, type RunningApp, appsFor } from '../../harness.js';
import { type Json, get, openSession, parseSse, post, readMessages, session } from '../http-rules/helpers.js';
import { type Gate, gate } from './gate.js';

const call = (name: string, id: number): Json => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

/** Reads an SSE response until `until` holds for the text so far; returns that text, the body left open. */
async function readUntil(
  res: Response,
  until: (text: string) => boolean,
): Promise<{ text: string; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return { text, reader };
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * A GET stream over a raw socket that reads the response headers and the priming event, then stops
 * reading: a client that went away without closing.
 */
export function pausedGet(url: string, sessionId: string): Promise<{ primingId: string; socket: Socket }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    let text = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /\r\n\r\n[\s\S]*?id: (\S+)\n/.exec(text);
      if (match === null) return;
      socket.pause();
      socket.removeAllListeners('data');
      resolve({ primingId: match[1]!, socket });
    });
    socket.once('close', () => reject(new Error(`the GET stream closed before its priming event: ${text}`)));
    socket.write(
      `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n` +
        `Mcp-Session-Id: ${sessionId}\r\nMcp-Protocol-Version: 2025-11-25\r\n\r\n`,
    );
  });
}

export function streamHardeningSuite(harness: AdapterHarness): void {
  describe('streams of slow clients and long calls', () => {
    const run = appsFor(harness, () => ({}));
    const start = (fixture: Gate, options: Partial<McpSessionOptions> = {}): Promise<RunningApp> =>
      run({ server: fixture.factory, ...options });

    it('auto mode: an answer not ready after sseAfterMs becomes SSE with a priming event and keep-alives', async () => {
      const fixture = gate();
      const app = await start(fixture, { sseAfterMs: 50, keepAliveIntervalMs: 50 });
      const sessionId = await openSession(app.url);
      // fetch resolves with the headers: they go out only when the answer became SSE.
      const res = await post(app.url, call('hold', 5), session(sessionId));
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const { text, reader } = await readUntil(res, (sofar) => sofar.includes(': keep-alive') && parseSse(sofar).length > 0);
      expect(parseSse(text)[0]).toMatchObject({ data: '', id: expect.any(String) });
      fixture.release();
      const rest = await readRest(reader, text);
      const answer = parseSse(rest).find((event) => event.data !== '');
      expect(JSON.parse(answer!.data)).toMatchObject({ id: 5, result: { content: [{ text: 'released' }] } });
    });

    it('auto mode: closeSSE before anything was sent turns the answer into SSE, and it arrives on the resumed stream', async () => {
      const fixture = gate();
      const app = await start(fixture, { retryIntervalMs: 10 });
      const sessionId = await openSession(app.url);
      const res = await post(app.url, call('close_first', 6), session(sessionId));
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = parseSse(await res.text());
      // The priming event, then the end of the connection with a retry hint: no answer yet.
      expect(events[0]).toMatchObject({ data: '', id: expect.any(String) });
      expect(events.some((event) => event.data !== '')).toBe(false);
      const resumed = await get(app.url, { ...session(sessionId), 'last-event-id': events[0]!.id! });
      expect(resumed.status).toBe(200);
      fixture.release();
      const messages = await readMessages(resumed);
      expect(messages).toEqual([expect.objectContaining({ id: 6, result: { content: [{ type: 'text', text: 'after close' }] } })]);
    });

    it('cuts off a GET client that stopped reading, and its resumption gets what the store holds with the gap reported', async () => {
      const fixture = gate();
      // A small store, so the events the client missed cannot all be held.
      const app = await start(fixture, {
        maxStreamBufferBytes: 256 * 1024,
        keepAliveIntervalMs: 0,
        eventStore: new MemoryEventStore({ maxEventsPerStream: 20 }),
      });
      const sessionId = await openSession(app.url);
      const paused = await pausedGet(app.url, sessionId);
      const payload = 'x'.repeat(10_000);
      let sent = 0;
      while ((await app.endpoint.metrics()).streamsOverflowed === 0) {
        expect(sent, 'the stream was never cut off').toBeLessThan(5_000);
        await app.sessions.broadcast({
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { level: 'info', data: `${sent} ${payload}` },
        });
        sent += 1;
      }
      // The server dropped the connection and what it held for it (the paused client cannot tell yet).
      paused.socket.destroy();
      const metrics = await app.endpoint.metrics();
      expect(metrics.openStreams).toBe(0);
      expect(sent).toBeGreaterThan(20);

      const resumed = await get(app.url, { ...session(sessionId), 'last-event-id': paused.primingId });
      expect(resumed.status).toBe(200);
      const { text, reader } = await readUntil(resumed, (sofar) => parseSse(sofar).length >= 20);
      await reader.cancel();
      expect(text).toMatch(/^: gap/m);
      const replayed = parseSse(text).map((event) => JSON.parse(event.data) as Json);
      expect(replayed).toHaveLength(20);
      // The newest events are the ones held, in order.
      const numbers = replayed.map((message) => Number(String(message.params?.data).split(' ')[0]));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(numbers.at(-1)).toBe(sent - 1);
      expect((await app.endpoint.metrics()).resumptionGaps).toBe(1);
    });
  });
}
