/**
 * The stream registry on real responses of a node:http server on 127.0.0.1, with a real client
 * reading them, the memory event store, and the cluster router over a memory message bus as its
 * relay (a recording wrapper says what the registry asked of it).
 */
import { once } from 'node:events';
import { type ClientRequest, type IncomingHttpHeaders, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClusterRouter } from '../src/cluster/router.js';
import type { JSONRPCMessage, JSONRPCResponse, RequestId } from '../src/protocol/jsonrpc.js';
import { STANDALONE_STREAM_ID, sessionTopic } from '../src/protocol/wire.js';
import { MemoryEventStore, MemoryMessageBus, MemorySessionStore } from '../src/stores/memory.js';
import type { BusMessage, EventStore } from '../src/stores/types.js';
import { AttachedStream } from '../src/streams/attached-stream.js';
import type { PostStream } from '../src/streams/post-stream.js';
import { type StreamRelay, type StreamSettings, StreamRegistry } from '../src/streams/registry.js';
import { SseWriter } from '../src/streams/sse-writer.js';
import { deferred, manualClock, nextTurn } from './helpers.js';

// ---- a real HTTP server and client ---------------------------------------------------------------

/** The client's side of one response: what it has read so far, and when it ended. */
class Client {
  body = '';
  status: number | undefined;
  headers: IncomingHttpHeaders | undefined;
  /** Resolves with the whole body once the response is over (ended or cut). */
  readonly closed: Promise<string>;
  readonly #req: ClientRequest;
  readonly #waiters: Array<{ fragment: string; resolve: () => void }> = [];

  constructor(url: string) {
    this.#req = request(url, { agent: false });
    this.#req.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      this.#req.once('response', (res) => {
        this.status = res.statusCode;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          this.body += chunk;
          for (const waiter of [...this.#waiters]) {
            if (!this.body.includes(waiter.fragment)) continue;
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        });
        res.once('close', () => resolve(this.body));
      });
    });
    this.#req.end();
  }

  /** Resolves once the body holds `fragment`. */
  until(fragment: string): Promise<void> {
    if (this.body.includes(fragment)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ fragment, resolve }));
  }

  /** The client goes away. */
  abort(): void {
    this.#req.destroy();
  }
}

class HttpHarness {
  readonly #server: Server;
  readonly #waiting: Array<(res: ServerResponse) => void> = [];
  #url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      req.resume();
      this.#waiting.shift()?.(res);
    });
  }

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/mcp`;
  }

  /** A new request: the server's response to write to, and the client reading it. */
  async open(): Promise<{ res: ServerResponse; client: Client }> {
    const arrived = new Promise<ServerResponse>((resolve) => this.#waiting.push(resolve));
    const client = new Client(this.#url);
    return { res: await arrived, client };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// ---- a process: registry + router over shared stores ---------------------------------------------

interface Shared {
  bus: MemoryMessageBus;
  eventStore: EventStore | null;
  store: MemorySessionStore;
}

interface Proc {
  registry: StreamRegistry;
  router: ClusterRouter;
  /** What the registry asked of its relay, in order. */
  relayCalls: string[];
  errors: unknown[];
  eventsStored: () => number;
}

/** One server for the whole file; every connection is cut when the file is done. */
const http = new HttpHarness();
beforeAll(() => http.start());
afterAll(() => http.close());

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function shared(options: { eventStore?: EventStore | null } = {}): Shared {
  return {
    bus: new MemoryMessageBus(),
    eventStore: options.eventStore === undefined ? new MemoryEventStore() : options.eventStore,
    store: new MemorySessionStore(),
  };
}

async function proc(share: Shared, instanceId = 'web-1-aaaaaa', overrides: Partial<StreamSettings> = {}): Promise<Proc> {
  const clock = manualClock();
  const relayCalls: string[] = [];
  const errors: unknown[] = [];
  let stored = 0;
  const relay: StreamRelay = {
    publishEvent: (sessionId, streamId, eventId, message) => {
      relayCalls.push(`publish ${sessionId} ${streamId} ${eventId}`);
      router.publishEvent(sessionId, streamId, eventId, message);
    },
    watch: (sessionId) => {
      relayCalls.push(`watch ${sessionId}`);
      return router.watch(sessionId);
    },
    unwatch: (sessionId) => {
      relayCalls.push(`unwatch ${sessionId}`);
      router.unwatch(sessionId);
    },
  };
  const registry = new StreamRegistry(
    {
      instanceId,
      eventStore: share.eventStore,
      responseMode: 'sse',
      retryIntervalMs: 1_000,
      maxStreamDurationMs: undefined,
      maxStreamBufferBytes: 1024 * 1024,
      keepAliveIntervalMs: 0,
      sseAfterMs: undefined,
      completedStreamTtlMs: 10_000,
      now: () => clock.now(),
      eventStored: () => void (stored += 1),
      streamOverflowed: () => undefined,
      reportError: (error) => void errors.push(error),
      ...overrides,
    },
    relay,
  );
  // The relay's closures reach the router once the registry runs, as in the composition root.
  const router: ClusterRouter = new ClusterRouter(
    {
      bus: share.bus,
      store: share.store,
      eventStore: share.eventStore,
      instanceId,
      clock,
      sweepIntervalMs: 10_000,
      reportError: (error) => void errors.push(error),
    },
    registry,
    { receiveClientResponse: () => undefined, endedElsewhere: async () => undefined, changed: () => undefined },
  );
  await router.ready();
  cleanups.push(async () => {
    registry.close(0);
    await router.close();
  });
  return { registry, router, relayCalls, errors, eventsStored: () => stored };
}

/** A GET stream attached to one of the session's streams, live (nothing to replay). */
async function attach(p: Proc, sessionId: string, streamId = STANDALONE_STREAM_ID) {
  const { res, client } = await http.open();
  const stream = new AttachedStream({
    sessionId,
    streamId,
    holder: p.registry.nextHolder(),
    writer: new SseWriter(res, { sessionId, maxBufferBytes: 1024 * 1024 }),
    lastSequence: 0,
    endOnResponse: streamId !== STANDALONE_STREAM_ID,
  });
  await p.registry.attach(stream);
  stream.replay([]);
  return { stream, res, client };
}

/** A POST stream answering `requestIds`. */
async function post(p: Proc, sessionId: string, requestIds: RequestId[] = [1]) {
  const { res, client } = await http.open();
  const stream: PostStream = p.registry.openPostStream(res, { sessionId, protocolVersion: '2025-11-25', requestIds, batch: false });
  return { stream, res, client };
}

const result = (id: RequestId, value: Record<string, unknown> = {}): JSONRPCResponse => ({ jsonrpc: '2.0', id, result: value });
const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: n } });
const data = (message: JSONRPCMessage) => `data: ${JSON.stringify(message)}\n\n`;

/** Waits until the server has seen the client go away. */
async function gone(client: Client, res: ServerResponse): Promise<void> {
  const closed = once(res, 'close');
  client.abort();
  await closed;
}

// ---- POST streams --------------------------------------------------------------------------------

describe('StreamRegistry POST streams', () => {
  it('registers a POST stream under its session until it is answered', async () => {
    const p = await proc(shared());
    const first = await post(p, 's1', [1]);
    const second = await post(p, 's1', [2]);
    const other = await post(p, 's2', [1]);
    expect(p.registry.hasPostStreams('s1')).toBe(true);
    expect(p.registry.isAnswering(first.stream.streamId)).toBe(true);
    expect(p.registry.openStreams).toBe(3);

    first.stream.respond(result(1, { n: 1 }));
    expect(p.registry.hasPostStreams('s1')).toBe(true);
    expect(p.registry.isAnswering(first.stream.streamId)).toBe(false);
    second.stream.respond(result(2));
    expect(p.registry.hasPostStreams('s1')).toBe(false);
    expect(p.registry.hasPostStreams('s2')).toBe(true);

    const body = await first.client.closed;
    expect(first.client.status).toBe(200);
    expect(first.client.headers).toMatchObject({ 'content-type': 'text/event-stream', 'mcp-session-id': 's1' });
    expect(body).toBe(
      `id: ${first.stream.streamId}.1\nretry: 1000\ndata: \n\nevent: message\nid: ${first.stream.streamId}.2\n${data(result(1, { n: 1 }))}`,
    );
    await second.client.closed;
    expect(p.registry.openStreams).toBe(1);
    expect(p.eventsStored()).toBe(2);
    other.stream.respond(result(1));
    expect(p.registry.hasPostStreams('s2')).toBe(false);
  });

  it('in json mode registers the stream until it is answered, as a plain JSON response', async () => {
    const p = await proc(shared(), 'web-1-aaaaaa', { responseMode: 'json' });
    const { stream, client } = await post(p, 's1', [7]);
    expect(p.registry.hasPostStreams('s1')).toBe(true);
    expect(p.registry.openStreams).toBe(0);
    stream.respond(result(7, { ok: true }));
    expect(p.registry.hasPostStreams('s1')).toBe(false);
    expect(JSON.parse(await client.closed)).toEqual(result(7, { ok: true }));
    expect(client.headers).toMatchObject({ 'content-type': 'application/json', 'mcp-session-id': 's1' });
  });

  it('stores what a POST stream sends after its client left, and offers it through the relay', async () => {
    const share = shared();
    const p = await proc(share);
    const heard: BusMessage[] = [];
    const off = share.bus.subscribe(sessionTopic('s1'), (message) => void heard.push(message));
    cleanups.push(off);
    const { stream, res, client } = await post(p, 's1', [1]);
    await client.until('data: \n\n');
    await gone(client, res);
    stream.send(note(1));
    stream.respond(result(1));
    await nextTurn();
    const eventId = `${stream.streamId}.2`;
    expect(p.relayCalls).toEqual([`publish s1 ${stream.streamId} ${eventId}`, `publish s1 ${stream.streamId} ${stream.streamId}.3`]);
    expect(heard[0]).toEqual({ kind: 'event', sessionId: 's1', streamId: stream.streamId, eventId, message: note(1) });
    expect((await share.eventStore!.replayAfter('s1', `${stream.streamId}.1`))?.events.map((event) => event.message)).toEqual([
      note(1),
      result(1),
    ]);
    expect(p.registry.hasPostStreams('s1')).toBe(false);
  });
});

// ---- attached streams ----------------------------------------------------------------------------

describe('StreamRegistry attached streams', () => {
  it('attach() watches the session; standalone() and broadcastTargets() see only open standalone streams', async () => {
    const share = shared();
    const p = await proc(share);
    const topicsBefore = share.bus.topicCount;
    const standalone = await attach(p, 's1');
    const resumed = await attach(p, 's2', 'web-1-aaaaaa~1~WzFd');
    expect(p.relayCalls).toEqual(['watch s1', 'watch s2']);
    expect(share.bus.topicCount).toBe(topicsBefore + 2);
    expect(p.registry.standalone('s1')).toBe(standalone.stream);
    expect(p.registry.standalone('s2')).toBeUndefined();
    expect(p.registry.broadcastTargets()).toEqual(['s1']);
    expect(p.registry.hasAttached('s1')).toBe(true);
    expect(p.registry.hasAttached('s2')).toBe(true);
    expect(p.registry.streamingSessions()).toEqual(new Set(['s1', 's2']));
    expect(p.registry.openStreams).toBe(2);
    expect(resumed.stream.open).toBe(true);
  });

  it('unwatches a session when the last of its attached streams closes, and not before', async () => {
    const share = shared();
    const p = await proc(share);
    const topicsBefore = share.bus.topicCount;
    const first = await attach(p, 's1');
    const second = await attach(p, 's1', 'web-1-aaaaaa~1~WzFd');
    expect(p.relayCalls).toEqual(['watch s1', 'watch s1']);

    await gone(first.client, first.res);
    expect(p.relayCalls).toEqual(['watch s1', 'watch s1']);
    expect(p.registry.hasAttached('s1')).toBe(true);
    expect(p.registry.standalone('s1')).toBeUndefined();
    expect(p.registry.broadcastTargets()).toEqual([]);

    await gone(second.client, second.res);
    expect(p.relayCalls).toEqual(['watch s1', 'watch s1', 'unwatch s1']);
    expect(p.registry.hasAttached('s1')).toBe(false);
    expect(p.registry.openStreams).toBe(0);
    await nextTurn();
    expect(share.bus.topicCount).toBe(topicsBefore);
  });
});

// ---- standalone messages -------------------------------------------------------------------------

describe('StreamRegistry.sendStandalone', () => {
  it('stores the message, then writes it to the standalone stream held here', async () => {
    const share = shared();
    const p = await proc(share);
    const { client } = await attach(p, 's1');
    p.registry.sendStandalone('s1', note(1));
    p.registry.sendStandalone('s1', note(2));
    await client.until(data(note(2)));
    expect(client.body).toBe(`event: message\nid: standalone.1\n${data(note(1))}event: message\nid: standalone.2\n${data(note(2))}`);
    expect((await share.eventStore!.replayAfter('s1', 'standalone.0'))?.events).toEqual([
      { id: 'standalone.1', message: note(1) },
      { id: 'standalone.2', message: note(2) },
    ]);
    expect(p.relayCalls).toEqual(['watch s1']);
  });

  it('without a standalone stream here, stores the message and publishes it to the process that holds one', async () => {
    const share = shared();
    const a = await proc(share, 'web-1-aaaaaa');
    const b = await proc(share, 'web-2-bbbbbb');
    const { client } = await attach(b, 's1');
    a.registry.sendStandalone('s1', note(1));
    await client.until(data(note(1)));
    expect(client.body).toBe(`event: message\nid: standalone.1\n${data(note(1))}`);
    expect(a.relayCalls).toEqual(['publish s1 standalone standalone.1']);
    expect((await share.eventStore!.replayAfter('s1', 'standalone.0'))?.events).toHaveLength(1);
  });

  it('without an event store, writes the message without an id here, and drops it when no stream is here', async () => {
    const share = shared({ eventStore: null });
    const p = await proc(share);
    const heard: BusMessage[] = [];
    cleanups.push(share.bus.subscribe(sessionTopic('s2'), (message) => void heard.push(message)));
    const { client } = await attach(p, 's1');
    p.registry.sendStandalone('s1', note(1));
    await client.until(data(note(1)));
    expect(client.body).toBe(`event: message\n${data(note(1))}`);
    p.registry.sendStandalone('s2', note(2));
    await nextTurn();
    expect(heard).toEqual([]);
    expect(p.relayCalls).toEqual(['watch s1']);
    expect(p.errors).toEqual([]);
  });

  it('with an asynchronous event store, writes after the store answered, in order', async () => {
    const memory = new MemoryEventStore();
    const gate = deferred();
    const slow: EventStore = {
      append: async (sessionId, streamId, message) => {
        await gate.promise;
        return memory.append(sessionId, streamId, message);
      },
      replayAfter: (sessionId, lastEventId) => memory.replayAfter(sessionId, lastEventId),
      deleteSession: (sessionId) => memory.deleteSession(sessionId),
    };
    const p = await proc(shared({ eventStore: slow }));
    const { client } = await attach(p, 's1');
    p.registry.sendStandalone('s1', note(1));
    p.registry.sendStandalone('s1', note(2));
    await nextTurn();
    expect(client.body).toBe('');
    gate.resolve();
    await client.until(data(note(2)));
    expect(client.body.indexOf(data(note(1)))).toBeLessThan(client.body.indexOf(data(note(2))));
  });

  it('reports an event store that fails, synchronously or not, and writes nothing', async () => {
    const syncFailure = new Error('append threw');
    const asyncFailure = new Error('append rejected');
    let call = 0;
    const failing: EventStore = {
      append: () => {
        if (++call === 1) throw syncFailure;
        return Promise.reject(asyncFailure);
      },
      replayAfter: () => undefined,
      deleteSession: () => undefined,
    };
    const p = await proc(shared({ eventStore: failing }));
    const { client } = await attach(p, 's1');
    p.registry.sendStandalone('s1', note(1));
    p.registry.sendStandalone('s1', note(2));
    await nextTurn();
    expect(p.errors).toEqual([syncFailure, asyncFailure]);
    expect(client.body).toBe('');
    expect(p.relayCalls).toEqual(['watch s1']);
  });
});

// ---- takeover ------------------------------------------------------------------------------------

describe('StreamRegistry.yieldStream', () => {
  it('ends every connection to that stream but the new holder, and nothing else', async () => {
    const p = await proc(shared());
    const streamId = 'web-9-cccccc~4~WzFd';
    const older = await attach(p, 's1', streamId);
    const newer = await attach(p, 's1', streamId);
    const standalone = await attach(p, 's1');
    const otherSession = await attach(p, 's2', streamId);
    p.registry.yieldStream('s1', streamId, newer.stream.holder);
    await older.client.closed;
    expect(older.stream.open).toBe(false);
    expect(newer.stream.open).toBe(true);
    expect(standalone.stream.open).toBe(true);
    expect(otherSession.stream.open).toBe(true);
    expect(p.registry.hasAttached('s1')).toBe(true);
  });

  it('detaches a POST stream taken over elsewhere: its client goes, the stream keeps answering through the relay', async () => {
    const p = await proc(shared());
    const { stream, client } = await post(p, 's1', [1]);
    await client.until('data: \n\n');
    // Another session naming the same stream id does not touch it.
    p.registry.yieldStream('s2', stream.streamId, 'web-2-bbbbbb:1');
    expect(stream.connected).toBe(true);

    p.registry.yieldStream('s1', stream.streamId, 'web-2-bbbbbb:1');
    await client.closed;
    expect(stream.connected).toBe(false);
    expect(p.registry.isAnswering(stream.streamId)).toBe(true);
    expect(p.registry.hasPostStreams('s1')).toBe(true);

    stream.respond(result(1));
    expect(p.relayCalls).toEqual([`publish s1 ${stream.streamId} ${stream.streamId}.2`]);
    expect(p.registry.isAnswering(stream.streamId)).toBe(false);
    expect(p.registry.hasPostStreams('s1')).toBe(false);
  });
});

// ---- ending --------------------------------------------------------------------------------------

describe('StreamRegistry.endSession', () => {
  it("ends the session's attached streams and aborts its POST streams, with the retry hint, and leaves other sessions alone", async () => {
    const p = await proc(shared(), 'web-1-aaaaaa', { responseMode: 'auto' });
    const standalone = await attach(p, 's1');
    const streaming = await post(p, 's1', [1]);
    streaming.stream.send(note(1));
    const pending = await post(p, 's1', [2]);
    const otherAttached = await attach(p, 's2');
    const otherPost = await post(p, 's2', [1]);

    p.registry.endSession('s1', 2_500);

    expect(await standalone.client.closed).toBe('retry: 2500\n\n');
    expect(await streaming.client.closed).toMatch(/retry: 2500\n\n$/);
    expect(JSON.parse(await pending.client.closed)).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
    expect(pending.client.status).toBe(404);
    expect(p.registry.hasPostStreams('s1')).toBe(false);
    expect(p.registry.hasAttached('s1')).toBe(false);
    expect(p.registry.isAnswering(streaming.stream.streamId)).toBe(false);
    expect(p.relayCalls).toContain('unwatch s1');

    expect(otherAttached.stream.open).toBe(true);
    expect(p.registry.hasPostStreams('s2')).toBe(true);
    otherPost.stream.respond(result(1));
    expect(JSON.parse(await otherPost.client.closed)).toEqual(result(1));
  });
});

describe('StreamRegistry.close', () => {
  it('ends every stream with the retry hint and aborts every POST stream', async () => {
    const p = await proc(shared(), 'web-1-aaaaaa', { responseMode: 'auto' });
    const a = await attach(p, 's1');
    const b = await attach(p, 's2', 'web-1-aaaaaa~1~WzFd');
    const streaming = await post(p, 's2', [1]);
    streaming.stream.send(note(1));
    const pending = await post(p, 's3', [1]);
    p.registry.close(3_000);
    expect(await a.client.closed).toBe('retry: 3000\n\n');
    expect(await b.client.closed).toBe('retry: 3000\n\n');
    expect(await streaming.client.closed).toMatch(/retry: 3000\n\n$/);
    await pending.client.closed;
    expect(pending.client.status).toBe(404);
    expect(p.registry.openStreams).toBe(0);
    for (const sessionId of ['s1', 's2', 's3']) {
      expect(p.registry.hasAttached(sessionId)).toBe(false);
      expect(p.registry.hasPostStreams(sessionId)).toBe(false);
    }
  });

  it("writes a keep-alive comment to every open stream each interval, from an unref'd timer that close() stops", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const p = await proc(shared(), 'web-1-aaaaaa', { keepAliveIntervalMs: 15_000 });
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    expect((setIntervalSpy.mock.results[0]!.value as NodeJS.Timeout).hasRef()).toBe(false);
    const attached = await attach(p, 's1');
    const answering = await post(p, 's1', [1]);
    await answering.client.until('data: \n\n');

    vi.advanceTimersByTime(14_999);
    await nextTurn();
    expect(attached.client.body).toBe('');
    vi.advanceTimersByTime(1);
    await attached.client.until(': keep-alive\n\n');
    await answering.client.until(': keep-alive\n\n');
    vi.advanceTimersByTime(15_000);
    await attached.client.until(': keep-alive\n\n: keep-alive\n\n');

    p.registry.close(1_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(await attached.client.closed).toBe(': keep-alive\n\n: keep-alive\n\nretry: 1000\n\n');
  });

  it('without a keep-alive interval starts no timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await proc(shared(), 'web-1-aaaaaa', { keepAliveIntervalMs: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });
});
