/**
 * Secure by default, through the adapter under test: quotas only the owner's requests use and a new
 * session does not reset, paced session creation, unambiguous principals, caches that keep principals
 * apart, malformed session ids that cost nothing, and logs without session ids at info.
 */
import { McpServer } from '@modelcontextprotocol/server';
import {
  type AuthInfo,
  type McpSessionOptions,
  type McpServerLike,
  MemoryRateLimitStore,
  MemorySessionStore,
  cache,
  rateLimit,
} from '@x/mcp-session-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { McpSession } from '@x/mcp-session-core';
import { type AdapterHarness, type HostOptions, appsFor } from '../harness.js';
import { type Json, echoCall, expectEcho, expectRpcError, openSession, post, readResponse, session } from './http-rules/helpers.js';

/** Bearer `<client>` or `<client>/<sub>`: a token the host's auth turns into the SDK's AuthInfo. */
const tokenAuth: HostOptions = {
  auth: (req): AuthInfo | undefined => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (match === null) return undefined;
    const [clientId, sub] = match[1]!.split('/');
    return { token: match[1]!, clientId: clientId!, scopes: [], ...(sub === undefined ? {} : { extra: { sub } }) };
  },
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A server whose tools/list shows an admin-only tool to the principal alice/admin. */
function listServer(): (session: McpSession | undefined) => McpServerLike {
  return (session) => {
    const server = new McpServer({ name: 'security', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    if (session?.principal?.includes('"user":"admin"') === true) {
      server.registerTool('drop_database', {}, async () => ({ content: [{ type: 'text', text: 'dropped' }] }));
    }
    return server;
  };
}

/** A session store that counts the calls made on it. */
class CountingSessionStore extends MemorySessionStore {
  calls = 0;
  override get(...args: Parameters<MemorySessionStore['get']>) {
    this.calls += 1;
    return super.get(...args);
  }
  override touch(...args: Parameters<MemorySessionStore['touch']>) {
    this.calls += 1;
    return super.touch(...args);
  }
}

/** A rate-limit store that counts the calls made on it. */
class CountingRateLimitStore extends MemoryRateLimitStore {
  calls = 0;
  override consume(...args: Parameters<MemoryRateLimitStore['consume']>) {
    this.calls += 1;
    return super.consume(...args);
  }
}

export function securitySuite(harness: AdapterHarness): void {
  describe('secure by default', () => {
    const start = appsFor(harness, () => ({ server: listServer() }));

    it('a 12 KB or malformed session header touches no store and no middleware, and answers 404', async () => {
      const sessionStore = new CountingSessionStore();
      const rateLimitStore = new CountingRateLimitStore();
      const app = await start({ sessionStore, rateLimitStore, middleware: [rateLimit({ limit: 100, windowMs: 60_000 })] });
      const sessionId = await openSession(app.url);
      sessionStore.calls = 0;
      rateLimitStore.calls = 0;
      for (const header of ['x'.repeat(12_000), `${sessionId}x`, 'a{b}c', sessionId.slice(1)]) {
        await expectRpcError(await post(app.url, echoCall('x'), session(header)), 404, -32001);
      }
      expect(sessionStore.calls).toBe(0);
      expect(rateLimitStore.calls).toBe(0);
      await expectEcho(app.url, sessionId);
    });

    it("requests with another principal's credentials or no session do not use a session's quota", async () => {
      const app = await start(
        { middleware: [rateLimit({ limit: 2, windowMs: 60_000, key: 'session', methods: ['tools/call'] })] },
        tokenAuth,
      );
      const victim = await openSession(app.url, { headers: bearer('app/victim') });
      for (let i = 0; i < 5; i += 1) {
        await expectRpcError(await post(app.url, echoCall('x'), { ...session(victim), ...bearer('app/mallory') }), 404, -32001);
        await expectRpcError(await post(app.url, echoCall('x'), session(victim)), 404, -32001);
      }
      // The owner still has its whole quota.
      await expectEcho(app.url, victim, 'one', bearer('app/victim'));
      await expectEcho(app.url, victim, 'two', bearer('app/victim'));
      const third = await post(app.url, echoCall('x'), { ...session(victim), ...bearer('app/victim') });
      expect(third.status).toBe(429);
      await third.arrayBuffer();
    });

    it('a new session buys no new quota: rateLimit counts a principal, or an anonymous client by address, by default', async () => {
      const app = await start({ middleware: [rateLimit({ limit: 3, windowMs: 60_000, methods: ['tools/call'] })] }, tokenAuth);
      for (const headers of [bearer('app/alice'), {}]) {
        let allowed = 0;
        for (let i = 0; i < 5; i += 1) {
          const sessionId = await openSession(app.url, { headers });
          const res = await post(app.url, echoCall('x'), { ...session(sessionId), ...headers });
          if (res.status === 200) allowed += 1;
          else expect(res.status).toBe(429);
          await res.arrayBuffer();
        }
        expect(allowed).toBe(3);
      }
    });

    it('limits how many sessions one anonymous client, or one principal, creates a minute, by default', async () => {
      const app = await start({}, tokenAuth);
      const attempts = async (headers: Record<string, string>) => {
        const statuses: number[] = [];
        for (let i = 0; i < 62; i += 1) {
          const res = await post(app.url, initializeMessageFor(i), headers);
          statuses.push(res.status);
          await res.arrayBuffer();
        }
        return statuses;
      };
      const anonymous = await attempts({});
      expect(anonymous.slice(0, 60).every((status) => status === 200)).toBe(true);
      expect(anonymous.slice(60)).toEqual([429, 429]);
      // Another principal has its own allowance.
      const alice = await attempts(bearer('app/alice'));
      expect(alice.filter((status) => status === 200)).toHaveLength(60);
      const refused = await post(app.url, initializeMessageFor(99), {});
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as Json).error?.code).toBe(-32029);
    });

    it('principals are unambiguous: client x with user y and client "x:y" do not share a session', async () => {
      const app = await start({}, tokenAuth);
      const sessionId = await openSession(app.url, { headers: bearer('x/y') });
      await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), ...bearer('x:y') }), 404, -32001);
      await expectEcho(app.url, sessionId, 'mine', bearer('x/y'));
      expect((await app.sessions.get(sessionId))?.principal).toBe('{"client":"x","user":"y"}');
    });

    it("the cache's default keeps one principal's list from another", async () => {
      const app = await start({ middleware: [cache({ ttlMs: 60_000 })] }, tokenAuth);
      const list = async (headers: Record<string, string>) => {
        const sessionId = await openSession(app.url, { headers });
        const res = await post(app.url, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, { ...session(sessionId), ...headers });
        const tools = (await readResponse(res)).result?.tools as Array<{ name: string }>;
        return tools.map((tool) => tool.name).sort();
      };
      expect(await list(bearer('app/admin'))).toEqual(['drop_database', 'echo']);
      expect(await list({})).toEqual(['echo']);
      expect(await list(bearer('app/bob'))).toEqual(['echo']);
      expect((await app.endpoint.metrics()).cacheHits).toBe(0);
      // A principal's next session is served from its own entry.
      expect(await list(bearer('app/admin'))).toEqual(['drop_database', 'echo']);
      expect((await app.endpoint.metrics()).cacheHits).toBe(1);
    });

    it('logs no full session id at info, and the short tag it logs is the same for one session', async () => {
      const entries: Array<{ level: string; text: string }> = [];
      const logger = Object.fromEntries(
        (['error', 'warn', 'info', 'debug'] as const).map((level) => [
          level,
          (fields: Record<string, unknown>, message: string) => void entries.push({ level, text: `${message} ${JSON.stringify(fields)}` }),
        ]),
      ) as unknown as NonNullable<McpSessionOptions['logger']>;
      const app = await start({ logger });
      const sessionId = await openSession(app.url);
      await expectEcho(app.url, sessionId);
      expect(await app.sessions.terminate(sessionId)).toBe(true);
      const info = entries.filter((entry) => entry.level !== 'debug');
      expect(info.length).toBeGreaterThanOrEqual(2);
      for (const entry of info) expect(entry.text).not.toContain(sessionId);
      const tags = info.map((entry) => /"session":"([^"]+)"/.exec(entry.text)?.[1]).filter((tag) => tag !== undefined);
      expect(new Set(tags).size).toBe(1);
      // At debug, for whoever asks for it, the full id.
      expect(entries.some((entry) => entry.level === 'debug' && entry.text.includes(sessionId))).toBe(true);
    });
  });
}

function initializeMessageFor(id: number): Json {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'security', version: '1' } },
  };
}
