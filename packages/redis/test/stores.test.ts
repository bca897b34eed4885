import { randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { McpSessionError, type SessionRecord } from '@x/mcp-session-core';
import { StateHandleManager, resolveOptions } from '@x/mcp-session-core/internal';
import {
  RedisCacheStore,
  RedisEventStore,
  RedisMessageBus,
  RedisRateLimitStore,
  RedisRevocationStore,
  RedisSessionStore,
  createRedisStores,
  type RedisStores,
} from '@x/mcp-session-redis';
import { type StoreSet, type StoreSuiteTarget, type TestRedis, redisForTests, runStoreSuite } from '@x/mcp-session-testing';
import { ALL_SCRIPTS } from '../src/scripts.js';

const GRACE_MS = 60_000;
const EVENT_TTL_MS = 120_000;
const T0 = Date.UTC(2026, 0, 1);

/** Every key this run writes starts with this; teardown deletes exactly those. */
const RUN_PREFIX = `mcp-session-test:${randomBytes(6).toString('hex')}:`;
let prefixes = 0;
const nextPrefix = () => `${RUN_PREFIX}${++prefixes}:`;

let redis: TestRedis;
let admin: Redis;
const clients = new Set<Redis>();

beforeAll(async () => {
  redis = await redisForTests();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  for (const client of clients) if (client.status !== 'end') client.disconnect();
  // Teardown only: SCAN for this run's keys and delete them. Nothing else is touched, nothing flushed.
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${RUN_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  await admin.quit();
  await redis.stop();
});

function connect(options: RedisOptions = {}): Redis {
  const client = new Redis(redis.url, options);
  clients.add(client);
  return client;
}

async function close(client: Redis): Promise<void> {
  clients.delete(client);
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}

/** The server-side address of a connection, for CLIENT KILL. */
function address(client: Redis): string {
  return `${client.stream.localAddress}:${client.stream.localPort}`;
}

function redisTarget(name: string, clientOptions: RedisOptions, sharded: boolean | 'auto'): StoreSuiteTarget {
  return {
    name,
    capabilities: { backendTtl: { graceMs: GRACE_MS, eventTtlMs: EVENT_TTL_MS }, connectionLoss: true },
    async create({ maxEventsPerStream }): Promise<StoreSet> {
      const client = connect(clientOptions);
      const stores = createRedisStores({
        client,
        prefix: nextPrefix(),
        expiryGraceMs: GRACE_MS,
        ttlMs: EVENT_TTL_MS,
        maxEventsPerStream,
        sharded,
      });
      const revocationStore = new RedisRevocationStore({ client, prefix: stores.sessionStore.keys.prefix });
      const layout = stores.sessionStore.keys;
      // What the server calls a key: with an ioredis keyPrefix, the client prepends it to every key.
      const raw = (key: string) => `${clientOptions.keyPrefix ?? ''}${key}`;
      const subscriber = () => stores.messageBus.subscriber as Redis | undefined;
      return {
        ...stores,
        revocationStore,
        async close() {
          await stores.close();
          await close(client);
        },
        ttl: {
          session: (id) => admin.pttl(raw(layout.record(id))),
          state: (id) => admin.pttl(raw(layout.state(id))),
          events: (sessionId, streamId) => admin.pttl(raw(layout.stream(sessionId, streamId))),
          cacheEntry: (key) => admin.pttl(raw(layout.cacheEntry(key))),
          cacheCounter: (key) => admin.pttl(raw(layout.cacheCounter(key))),
          rateLimit: (key) => admin.pttl(raw(layout.rateLimit(key))),
          revocation: (id) => admin.pttl(raw(layout.revocation(id))),
        },
        connection: {
          async disconnect() {
            const ended = once(client, 'end');
            client.disconnect();
            await ended;
          },
          async reconnect() {
            await client.connect();
          },
          async kill() {
            const connections = [client, subscriber()].filter((c): c is Redis => c !== undefined && c.status === 'ready');
            const closed = connections.map((c) => once(c, 'close'));
            for (const c of connections) await admin.client('KILL', 'ADDR', address(c));
            await Promise.all(closed);
          },
          async whenReconnected() {
            if (client.status !== 'ready') await once(client, 'ready');
            await stores.messageBus.ready();
          },
        },
      };
    },
  };
}

runStoreSuite(redisTarget('redis', {}, 'auto'));
runStoreSuite(redisTarget('redis over RESP2, PUBLISH/SUBSCRIBE', { protocol: 2 }, false));
runStoreSuite(redisTarget('redis with RESP3 reply mapping', { replyMapping: 'resp3' }, true));
runStoreSuite(redisTarget('redis through a client with an ioredis keyPrefix', { keyPrefix: `${RUN_PREFIX}kp:` }, 'auto'));

function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomBytes(16).toString('base64url'),
    protocolVersion: '2025-11-25',
    initialize: {
      id: 0,
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
        clientInfo: { name: 'claude-code', title: 'Claude Code', version: '2.0.14' },
      },
    },
    createdAt: T0,
    lastActiveAt: T0,
    requestCount: 1,
    idleTimeoutMs: 30 * 60_000,
    ...overrides,
  };
}

/** CRC16/XMODEM of a key's hash tag, modulo 16384: the Redis Cluster slot. */
function slot(key: string): number {
  const open = key.indexOf('{');
  let tagged = key;
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) tagged = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(tagged)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('redis specifics', () => {
  let stores: RedisStores | undefined;
  let client: Redis;
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
    if (client !== undefined) await close(client);
  });
  function open(options: Partial<Parameters<typeof createRedisStores>[0]> = {}): RedisStores {
    client = connect();
    stores = createRedisStores({ client, prefix: nextPrefix(), ...options });
    return stores;
  }

  it('one round trip per call on the request path, and never KEYS or SCAN', async () => {
    const s = open();
    const commands: string[] = [];
    const listener = (message: unknown) => void commands.push((message as { command: string }).command.toLowerCase());
    const record = sessionRecord({ principal: 'p' });
    // Warm up: load every script and detect sharding, so what follows is the steady state.
    await s.sessionStore.create(record);
    await s.sessionStore.touch(record.id, T0, { principal: 'p', countRequest: true });
    await s.sessionStore.setState(record.id, 'k', 'v', { now: T0, maxKeys: 10, maxBytes: 1000 });
    await s.eventStore.append(record.id, 'st', null);
    await s.eventStore.replayAfter(record.id, 'st.1');
    await s.eventStore.completeStream(record.id, 'warm', 10_000, T0);
    await s.rateLimitStore.consume('rl', T0, 10, 60_000);
    const revocations = new RedisRevocationStore({ client, prefix: s.sessionStore.keys.prefix });
    await revocations.revoke(sessionRecord().id, T0 + 1, T0);
    await s.messageBus.publish('warm', { kind: 'terminated', sessionId: 'x' });
    await s.sessionStore.takeExpired(T0, 1);
    await s.sessionStore.delete(sessionRecord().id);

    dc.subscribe('tracing:ioredis:command:start', listener);
    try {
      const calls: Array<[string, () => unknown, string[]]> = [
        ['SessionStore.create', () => s.sessionStore.create(sessionRecord()), ['set', 'evalsha']],
        ['SessionStore.get', () => s.sessionStore.get(record.id, T0), ['get']],
        ['SessionStore.touch', () => s.sessionStore.touch(record.id, T0 + 1, { principal: 'p', countRequest: true }), ['evalsha']],
        ['SessionStore.getState', () => s.sessionStore.getState(record.id, 'k', T0), ['hget']],
        [
          'SessionStore.setState',
          () => s.sessionStore.setState(record.id, 'k', 'w', { now: T0, maxKeys: 10, maxBytes: 1000 }),
          ['evalsha'],
        ],
        ['SessionStore.deleteState', () => s.sessionStore.deleteState(record.id, 'k'), ['hdel']],
        ['SessionStore.stateKeys', () => s.sessionStore.stateKeys(record.id, T0), ['hgetall']],
        ['SessionStore.clearState', () => s.sessionStore.clearState(record.id), ['del']],
        ['SessionStore.count', () => s.sessionStore.count(), ['zcard']],
        ['SessionStore.takeExpired (nothing due)', () => s.sessionStore.takeExpired(T0, 500), ['zrangebyscore']],
        ['SessionStore.delete', () => s.sessionStore.delete(sessionRecord().id), ['evalsha', 'evalsha']],
        ['EventStore.append', () => s.eventStore.append(record.id, 'st', { jsonrpc: '2.0', method: 'm' }), ['evalsha']],
        ['EventStore.replayAfter', () => s.eventStore.replayAfter(record.id, 'st.1'), ['evalsha']],
        ['EventStore.completeStream', () => s.eventStore.completeStream(record.id, 'st', 10_000, T0), ['evalsha']],
        ['EventStore.deleteSession', () => s.eventStore.deleteSession(record.id), ['hkeys', 'del']],
        ['RateLimitStore.consume', () => s.rateLimitStore.consume('rl', T0, 10, 60_000), ['evalsha']],
        ['RevocationStore.revoke', () => revocations.revoke(record.id, T0 + 60_000, T0), ['evalsha']],
        ['RevocationStore.isRevoked', () => revocations.isRevoked(record.id, T0), ['get']],
        ['CacheStore.get', () => s.cacheStore.get('c', T0), ['get']],
        ['CacheStore.set', () => s.cacheStore.set('c', 'v', 1_000, T0), ['psetex']],
        ['CacheStore.incr', () => s.cacheStore.incr('n'), ['incr']],
        ['CacheStore.counter', () => s.cacheStore.counter('n'), ['get']],
        ['CacheStore.delete', () => s.cacheStore.delete('c'), ['del', 'del']],
        ['MessageBus.publish', () => s.messageBus.publish('t', { kind: 'terminated', sessionId: 'x' }), ['spublish']],
      ];
      for (const [name, call, expected] of calls) {
        commands.length = 0;
        await call();
        // Commands sent together (Promise.all) travel in one round trip.
        expect(commands.sort(), name).toEqual([...expected].sort());
      }
    } finally {
      dc.unsubscribe('tracing:ioredis:command:start', listener);
    }
  });

  it('no source file or script uses KEYS or SCAN', () => {
    for (const [name, script] of Object.entries(ALL_SCRIPTS)) {
      expect(script.lua, name).not.toMatch(/redis\.call\(\s*'(keys|scan)'/i);
    }
    const dir = new URL('../src/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      expect(source, file).not.toMatch(/\.(keys|scan|scanStream|scanBuffer)\(|['"](KEYS|SCAN)['"]/i);
    }
  });

  it('every key of one session hashes to one Cluster slot, and every script stays on one slot', async () => {
    expect(slot('123456789')).toBe(0x31c3 % 16384);
    const s = open();
    const keys = s.sessionStore.keys;
    const id = randomBytes(16).toString('base64url');
    const sessionKeys = [
      keys.record(id),
      keys.state(id),
      keys.streams(id),
      keys.stream(id, 'standalone'),
      keys.stream(id, 'abc'),
      keys.revocation(id),
    ];
    expect(new Set(sessionKeys.map(slot)).size).toBe(1);
    expect(slot(keys.deadlines)).toBe(slot(keys.activity));
    // Sessions spread over the slots.
    const slots = new Set(Array.from({ length: 50 }, () => slot(keys.record(randomBytes(16).toString('base64url')))));
    expect(slots.size).toBeGreaterThan(40);
  });

  it('a record is one compact string; state is a hash; events are a stream', async () => {
    const s = open();
    const record = sessionRecord({ principal: 'client:alice' });
    await s.sessionStore.create(record);
    await s.sessionStore.setState(record.id, 'k', 'v', { now: T0, maxKeys: 10, maxBytes: 1000 });
    await s.eventStore.append(record.id, 'st', { jsonrpc: '2.0', method: 'm' });
    const keys = s.sessionStore.keys;
    expect(await admin.type(keys.record(record.id))).toBe('string');
    expect(await admin.type(keys.state(record.id))).toBe('hash');
    expect(await admin.type(keys.stream(record.id, 'st'))).toBe('stream');
    const value = (await admin.get(keys.record(record.id)))!;
    const initialize = JSON.stringify(record.initialize);
    // The header costs less than 100 bytes beyond the initialize request itself.
    expect(value.length - initialize.length).toBeLessThan(100);
    // Redis's own cost of a string key (dict entry, key, object, allocator rounding) is under 200 bytes.
    const usage = Number(await admin.memory('USAGE', keys.record(record.id)));
    expect(usage).toBeLessThan(value.length + 200);
  });

  it('a session id with braces is refused on create and unknown everywhere else', async () => {
    const s = open();
    const record = sessionRecord({ id: 'a{b}c' });
    await expect(s.sessionStore.create(record)).rejects.toMatchObject({ code: 'ERR_MCP_SESSION_STORE' });
    expect(await s.sessionStore.get('a{b}c', T0)).toBeUndefined();
    expect(await s.sessionStore.touch('}', T0, { principal: undefined, countRequest: true })).toBeUndefined();
    expect(await s.sessionStore.setState('{x}', 'k', 'v', { now: T0, maxKeys: 1, maxBytes: 10 })).toEqual({
      ok: false,
      reason: 'no-session',
    });
    expect(await s.eventStore.replayAfter('{x}', 'st.1')).toBeUndefined();
    await expect(s.eventStore.append('{x}', 'st', null)).rejects.toBeInstanceOf(McpSessionError);
  });

  it('a record Redis dropped by itself leaves the indexes at the next read', async () => {
    const s = open();
    const gone = sessionRecord({ idleTimeoutMs: 1_000, lastActiveAt: T0 + 1 });
    const kept = sessionRecord({ idleTimeoutMs: 1_000 });
    await s.sessionStore.create(gone);
    await s.sessionStore.create(kept);
    // As if its TTL had run out before any sweeper took it.
    await admin.del(s.sessionStore.keys.record(gone.id));
    expect(await s.sessionStore.count()).toBe(2);
    expect((await s.sessionStore.list()).map((r) => r.id)).toEqual([kept.id]);
    expect((await s.sessionStore.leastRecentlyActive(5)).map((r) => r.id)).toEqual([kept.id]);
    expect(await s.sessionStore.count()).toBe(1);
    expect((await s.sessionStore.takeExpired(T0 + 5_000, 10)).map((r) => r.id)).toEqual([kept.id]);
    expect(await s.sessionStore.count()).toBe(0);
  });

  it('a completed stream leaves the session index, and is unknown once Redis dropped it', async () => {
    const s = open();
    const keys = s.eventStore.keys;
    await s.eventStore.append('s1', 'done', { jsonrpc: '2.0', method: 'm' });
    await s.eventStore.append('s1', 'open', { jsonrpc: '2.0', method: 'm' });
    await s.eventStore.completeStream('s1', 'done', 10_000, T0);
    expect((await admin.hkeys(keys.streams('s1'))).sort()).toEqual(['open']);
    expect((await s.eventStore.replayAfter('s1', 'done.0'))?.events).toHaveLength(1);
    // As if its keepMs had run out.
    await admin.del(keys.stream('s1', 'done'));
    expect(await s.eventStore.replayAfter('s1', 'done.0')).toBeUndefined();
    await s.eventStore.deleteSession('s1');
    expect(await admin.exists(keys.streams('s1'), keys.stream('s1', 'open'))).toBe(0);
  });

  it('two processes sharing a prefix share sessions, event sequences and the bus', async () => {
    const prefix = nextPrefix();
    const clientA = connect();
    const clientB = connect();
    const a = createRedisStores({ client: clientA, prefix });
    const b = createRedisStores({ client: clientB, prefix });
    try {
      const record = sessionRecord({ principal: 'p' });
      await a.sessionStore.create(record);
      expect((await b.sessionStore.touch(record.id, T0 + 5, { principal: 'p', countRequest: true }))?.requestCount).toBe(2);
      expect((await a.sessionStore.get(record.id, T0))?.lastActiveAt).toBe(T0 + 5);
      await b.sessionStore.setState(record.id, 'k', 'from b', { now: T0, maxKeys: 10, maxBytes: 1000 });
      expect(await a.sessionStore.getState(record.id, 'k', T0)).toBe('from b');

      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).eventStore.append(record.id, 'st', { jsonrpc: '2.0', method: `m${i}` })),
      );
      expect(new Set(ids).size).toBe(20);
      expect((await b.eventStore.replayAfter(record.id, 'st.10'))?.events.map((e) => e.id)).toEqual(
        Array.from({ length: 10 }, (_, i) => `st.${i + 11}`),
      );

      expect(await heardAfterSubscribe(b, a)).toEqual({ kind: 'terminated', sessionId: 'y' });
      expect(await heardAfterSubscribe(a, b)).toEqual({ kind: 'terminated', sessionId: 'y' });

      expect(await a.sessionStore.delete(record.id)).toBe(true);
      expect(await b.sessionStore.delete(record.id)).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await close(clientA);
      await close(clientB);
    }
  });

  it('createRedisStores keeps state handles under <prefix>h:, apart from session ids, counts and sweeps', async () => {
    const s = open();
    const prefix = s.sessionStore.keys.prefix;
    expect(s.handleStore.keys.prefix).toBe(`${prefix}h:`);
    const session = sessionRecord({ principal: 'alice', idleTimeoutMs: 1_000 });
    await s.sessionStore.create(session);
    await s.sessionStore.setState(session.id, 'k', 'session', { now: T0, maxKeys: 10, maxBytes: 1000 });
    // A handle record under the very id of the session: its own key, state and index entries.
    await s.handleStore.create({ ...sessionRecord({ id: session.id, idleTimeoutMs: 60_000 }), protocolVersion: 'state-handle' });
    await s.handleStore.setState(session.id, 'k', 'handle', { now: T0, maxKeys: 10, maxBytes: 1000 });
    expect(s.handleStore.keys.record(session.id)).not.toBe(s.sessionStore.keys.record(session.id));
    expect(await admin.exists(s.handleStore.keys.record(session.id), s.sessionStore.keys.record(session.id))).toBe(2);
    expect(await s.sessionStore.getState(session.id, 'k', T0)).toBe('session');
    expect(await s.handleStore.getState(session.id, 'k', T0)).toBe('handle');

    const handles = new StateHandleManager({
      store: s.handleStore,
      clock: { now: () => T0 },
      idleTimeoutMs: 60_000,
      maxHandles: 1_000,
      maxStateKeys: 10,
      maxStateBytes: 1_000,
      reportError: (error) => {
        throw error;
      },
    });
    const made = await Promise.all(Array.from({ length: 3 }, () => handles.of('alice').create('bsk')));
    for (const handle of made) expect(await admin.exists(`${prefix}h:s:{${handle.id}}`)).toBe(1);
    expect(await s.sessionStore.count()).toBe(1);
    expect(await s.handleStore.count()).toBe(4);
    expect((await s.sessionStore.list()).map((record) => record.id)).toEqual([session.id]);
    // The session's sweep takes the session alone; the handles' sweep, nothing yet.
    expect((await s.sessionStore.takeExpired(T0 + 1_000, 100)).map((record) => record.id)).toEqual([session.id]);
    expect(await s.handleStore.takeExpired(T0 + 1_000, 100)).toEqual([]);
    expect(await s.handleStore.count()).toBe(4);
    expect(await s.handleStore.getState(session.id, 'k', T0)).toBe('handle');
  });

  it('createRedisStores: the handle store gets the default prefix too, and spreading the stores passes it', () => {
    client = connect();
    const defaults = createRedisStores({ client });
    stores = defaults;
    expect(defaults.sessionStore.keys.prefix).toBe('mcp-session:');
    expect(defaults.handleStore.keys.prefix).toBe('mcp-session:h:');
    expect(Object.keys(defaults)).toEqual(['sessionStore', 'handleStore', 'eventStore', 'messageBus', 'rateLimitStore', 'cacheStore']);
    const options = resolveOptions({ server: () => ({ connect: async () => undefined, close: async () => undefined }), ...defaults }, {});
    expect(options.handleStore).toBe(defaults.handleStore);
    expect(options.sessionStore).toBe(defaults.sessionStore);
  });

  it('a store opened from a URL owns its connection and closes it; a client passed in stays open', async () => {
    const owned = new RedisCacheStore({ client: redis.url, prefix: nextPrefix() });
    const ownedClient = owned.client as Redis;
    await owned.set('k', 'v', 10_000, T0);
    expect(await owned.get('k', T0)).toBe('v');
    await owned.delete('k');
    await owned.close();
    expect(ownedClient.status).toBe('end');

    client = connect();
    const shared = new RedisRateLimitStore({ client, prefix: nextPrefix() });
    await shared.consume('k', T0, 1, 1_000);
    await shared.close();
    expect(client.status).toBe('ready');

    const bus = new RedisMessageBus({ client: redis.url, prefix: nextPrefix() });
    await bus.subscribe('t', () => undefined);
    await bus.ready();
    const subscriber = bus.subscriber as Redis;
    await bus.close();
    expect(subscriber.status).toBe('end');
    expect((bus.client as Redis).status).toBe('end');
  });

  it('invalid options fail at construction, naming the option', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => new RedisSessionStore({ client: 'http://localhost' }), /client/],
      [() => new RedisSessionStore({ client: {} as never }), /client/],
      [() => new RedisSessionStore({ client: redis.url, prefix: '{app}:' }), /prefix/],
      [() => new RedisSessionStore({ client: redis.url, expiryGraceMs: -1 }), /expiryGraceMs/],
      [() => new RedisEventStore({ client: redis.url, maxEventsPerStream: 0 }), /maxEventsPerStream/],
      [() => new RedisEventStore({ client: redis.url, ttlMs: 1.5 }), /ttlMs/],
      [() => new RedisMessageBus({ client: redis.url, sharded: 'yes' as never }), /sharded/],
    ];
    for (const [build, option] of cases) {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(McpSessionError);
      expect((error as McpSessionError).code).toBe('ERR_MCP_SESSION_INVALID_OPTIONS');
      expect((error as Error).message).toMatch(/^\[mcp-session\] \[redis\] /);
      expect((error as Error).message).toMatch(option);
    }
  });

  it('a failed call says which store method failed, why, and what to do', async () => {
    const s = open();
    await s.sessionStore.count();
    const ended = once(client, 'end');
    client.disconnect();
    await ended;
    const error = (await s.sessionStore.get('id', T0).catch((e: unknown) => e)) as McpSessionError;
    expect(error).toBeInstanceOf(McpSessionError);
    expect(error.code).toBe('ERR_MCP_SESSION_STORE');
    expect(error.message).toBe(
      '[mcp-session] [redis] SessionStore.get failed: Connection is closed. The Redis connection was closed (disconnect() or quit()): reconnect the client (client.connect()) or pass an open one.',
    );
    expect((error.cause as Error).message).toBe('Connection is closed.');
    await client.connect();
    expect(await s.sessionStore.get('id', T0)).toBeUndefined();
  });

  it("'auto' uses sharded pub/sub exactly when the server has SPUBLISH", async () => {
    const s = open();
    const info = (await admin.call('COMMAND', 'INFO', 'SPUBLISH')) as unknown[];
    expect(await s.messageBus.isSharded()).toBe(info[0] !== null && info[0] !== undefined);
  });
});

/** Subscribes on `listener`, publishes from `publisher`, resolves with what arrived. */
async function heardAfterSubscribe(listener: RedisStores, publisher: RedisStores): Promise<unknown> {
  let resolve!: (message: unknown) => void;
  const arrived = new Promise((r) => (resolve = r));
  const off = await listener.messageBus.subscribe('mcp:node:n2', resolve);
  await publisher.messageBus.publish('mcp:node:n2', { kind: 'terminated', sessionId: 'y' });
  const message = await arrived;
  await off();
  return message;
}
