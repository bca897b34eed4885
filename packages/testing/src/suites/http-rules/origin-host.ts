import { describe, expect, it } from 'vitest';
import {
  ACCEPT,
  del,
  echoCall,
  expectEcho,
  expectErrorBody,
  expectRpcError,
  get,
  initializeMessage,
  LATEST,
  openSession,
  portOf,
  post,
  rawRequest,
  SERVER_ERROR,
  session,
  type StartApp,
} from './helpers.js';

/** 403: Origin and Host. */
export function originHostRules(start: StartApp): void {
  describe('403: Origin and Host', () => {
    it.each(['https://evil.example', 'null', 'http://127.0.0.1.evil.example'])(
      'refuses the foreign Origin %s on POST, GET and DELETE',
      async (origin) => {
        const app = await start();
        const sessionId = await openSession(app.url);
        const res = await post(app.url, initializeMessage(), { origin });
        expect(res.headers.get('mcp-session-id')).toBeNull();
        await expectRpcError(res, 403, SERVER_ERROR);
        await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), origin }), 403, SERVER_ERROR);
        await expectRpcError(await get(app.url, { ...session(sessionId), origin }), 403, SERVER_ERROR);
        await expectRpcError(await del(app.url, { ...session(sessionId), origin }), 403, SERVER_ERROR);
        expect(await app.sessions.count()).toBe(1);
        await expectEcho(app.url, sessionId);
      },
    );

    it('allows a same-origin Origin and a localhost Origin on the loopback server', async () => {
      const app = await start();
      const port = portOf(app.url);
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
        const sessionId = await openSession(app.url, { headers: { origin } });
        await expectEcho(app.url, sessionId, 'ok', { origin });
      }
    });

    it('allows an Origin named in allowedOrigins', async () => {
      const app = await start({ allowedOrigins: ['https://evil.example'] });
      const sessionId = await openSession(app.url, { headers: { origin: 'https://evil.example' } });
      await expectEcho(app.url, sessionId, 'ok', { origin: 'https://evil.example' });
      await expectRpcError(
        await post(app.url, echoCall('x'), { ...session(sessionId), origin: 'https://other.example' }),
        403,
        SERVER_ERROR,
      );
    });

    it('refuses a foreign Host header on the loopback server, also with a matching Origin (DNS rebinding)', async () => {
      const app = await start();
      const port = portOf(app.url);
      const headers = { accept: ACCEPT, 'content-type': 'application/json' };
      const body = JSON.stringify(initializeMessage());
      const foreign: Array<Record<string, string>> = [
        { host: 'evil.example' },
        { host: `evil.example:${port}` },
        { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
      ];
      for (const extra of foreign) {
        const res = await rawRequest(app.url, { headers: { ...headers, ...extra }, body });
        expect(res.headers['mcp-session-id']).toBeUndefined();
        expectErrorBody({ status: res.status, contentType: res.headers['content-type'], text: res.body }, 403, SERVER_ERROR);
      }
      expect(await app.sessions.count()).toBe(0);
      // localhost is a loopback name: allowed.
      const ok = await rawRequest(app.url, { headers: { ...headers, host: `localhost:${port}` }, body });
      expect(ok.status).toBe(200);
      expect(ok.headers['mcp-session-id']).toBeTypeOf('string');
      expect(JSON.parse(ok.body).result.protocolVersion).toBe(LATEST);
    });

    it('allows a Host named in allowedHosts', async () => {
      const app = await start({ allowedHosts: ['evil.example'] });
      const port = portOf(app.url);
      const headers = { accept: ACCEPT, 'content-type': 'application/json', host: `evil.example:${port}` };
      const res = await rawRequest(app.url, { headers, body: JSON.stringify(initializeMessage()) });
      expect(res.status).toBe(200);
      const sessionId = res.headers['mcp-session-id'];
      expect(sessionId).toBeTypeOf('string');
      expect(JSON.parse(res.body).result.protocolVersion).toBe(LATEST);
      const other = await rawRequest(app.url, {
        headers: { ...headers, host: 'other.example' },
        body: JSON.stringify(initializeMessage()),
      });
      expectErrorBody({ status: other.status, contentType: other.headers['content-type'], text: other.body }, 403, SERVER_ERROR);
      expect(await app.sessions.count()).toBe(1);
    });
  });
}
