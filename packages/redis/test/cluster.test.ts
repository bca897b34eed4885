import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRevocationStore, createRedisStores } from '@x/mcp-session-redis';
import { type StoreSet, type TestRedisCluster, redisClusterForTests, runStoreSuite } from '@x/mcp-session-testing';

/**
 * The same compliance suite on a three-master Redis Cluster: every script and every multi-key command
 * must stay on one slot (a CROSSSLOT error fails the test), and the bus runs sharded pub/sub across
 * shards. Connection loss is covered on a standalone server (stores.test.ts): ioredis reconnects a
 * Cluster's node and sharded-subscriber connections on its own schedule.
 */
const GRACE_MS = 60_000;
const EVENT_TTL_MS = 120_000;
const RUN_PREFIX = `mcp-session-test:${randomBytes(6).toString('hex')}:`;
let prefixes = 0;

let cluster: TestRedisCluster;
let admin: Cluster;

beforeAll(async () => {
  cluster = await redisClusterForTests();
  admin = new Cluster(cluster.nodes);
});

afterAll(async () => {
  // Teardown only: this run's keys, node by node (a cluster SCAN sees one node).
  for (const node of admin.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${RUN_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      // One key per UNLINK: the keys of one node span many slots.
      await Promise.all(keys.map((key) => node.unlink(key)));
    } while (cursor !== '0');
  }
  await admin.quit();
  await cluster.stop();
});

runStoreSuite({
  name: 'redis cluster',
  capabilities: { backendTtl: { graceMs: GRACE_MS, eventTtlMs: EVENT_TTL_MS } },
  async create({ maxEventsPerStream }): Promise<StoreSet> {
    const client = new Cluster(cluster.nodes);
    const stores = createRedisStores({
      client,
      prefix: `${RUN_PREFIX}${++prefixes}:`,
      expiryGraceMs: GRACE_MS,
      ttlMs: EVENT_TTL_MS,
      maxEventsPerStream,
    });
    const keys = stores.sessionStore.keys;
    return {
      ...stores,
      revocationStore: new RedisRevocationStore({ client, prefix: keys.prefix }),
      async close() {
        await stores.close();
        await client.quit();
      },
      ttl: {
        session: (id) => admin.pttl(keys.record(id)),
        state: (id) => admin.pttl(keys.state(id)),
        events: (sessionId, streamId) => admin.pttl(keys.stream(sessionId, streamId)),
        cacheEntry: (key) => admin.pttl(keys.cacheEntry(key)),
        cacheCounter: (key) => admin.pttl(keys.cacheCounter(key)),
        rateLimit: (key) => admin.pttl(keys.rateLimit(key)),
        revocation: (id) => admin.pttl(keys.revocation(id)),
      },
    };
  },
});

describe('redis cluster specifics', () => {
  it('sessions spread over every shard, and the bus shards its channels', async () => {
    const client = new Cluster(cluster.nodes);
    const stores = createRedisStores({ client, prefix: `${RUN_PREFIX}${++prefixes}:` });
    try {
      const T0 = Date.UTC(2026, 0, 1);
      const ids = Array.from({ length: 30 }, () => randomBytes(16).toString('base64url'));
      for (const id of ids) {
        await stores.sessionStore.create({
          id,
          protocolVersion: '2025-11-25',
          initialize: { id: 1, params: {} },
          createdAt: T0,
          lastActiveAt: T0,
          requestCount: 1,
          idleTimeoutMs: 1_000,
        });
        await stores.eventStore.append(id, 'st', { jsonrpc: '2.0', method: 'm' });
      }
      const keys = stores.sessionStore.keys;
      const owners = new Set<string>();
      for (const id of ids) {
        // One multi-key command per session: it would fail with CROSSSLOT if the keys were on two slots.
        expect(await client.exists(keys.record(id), keys.streams(id), keys.stream(id, 'st'))).toBe(3);
        const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', keys.record(id)));
        owners.add(String(admin.slots[slot]?.[0]));
      }
      // The 30 sessions spread over all three masters.
      expect(owners.size).toBe(3);
      expect(await stores.messageBus.isSharded()).toBe(true);
      const received: unknown[] = [];
      const done = new Promise<void>((resolve) => {
        const offs = ids.slice(0, 10).map((id) =>
          stores.messageBus.subscribe(`mcp:session:${id}`, (message) => {
            received.push(message);
            if (received.length === 10) resolve();
          }),
        );
        void Promise.all(offs).then(async () => {
          for (const id of ids.slice(0, 10)) await stores.messageBus.publish(`mcp:session:${id}`, { kind: 'terminated', sessionId: id });
        });
      });
      await done;
      expect(new Set(received.map((m) => (m as { sessionId: string }).sessionId))).toEqual(new Set(ids.slice(0, 10)));
      expect((await stores.sessionStore.takeExpired(T0 + 1_000, 100)).length).toBe(30);
      for (const id of ids) await stores.eventStore.deleteSession(id);
    } finally {
      await stores.close();
      await client.quit();
    }
  });
});
