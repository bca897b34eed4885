import { describe, expect, it } from 'vitest';
import type { RunningApp } from '../../harness.js';
import {
  ACCEPT,
  chunkedBody,
  echoCall,
  expectEcho,
  expectRpcError,
  expectStreamOpens,
  get,
  initializeMessage,
  openSession,
  post,
  postRaw,
  readResponse,
  SERVER_ERROR,
  session,
  type StartApp,
} from './helpers.js';

/** 405, 406, 413, 415: the method, Accept, body size and Content-Type of a request. */
export function requestShapeRules(start: StartApp): void {
  describe('405: methods other than GET, POST and DELETE', () => {
    it.each(['PUT', 'PATCH', 'PROPFIND', 'MKCOL', 'SEARCH'])('answers %s with Allow: GET, POST, DELETE', async (method) => {
      const app = await start();
      const sessionId = await openSession(app.url);
      const res = await fetch(app.url, {
        method,
        headers: { accept: ACCEPT, 'content-type': 'application/json', ...session(sessionId) },
        body: JSON.stringify(echoCall('x')),
      });
      expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
      await expectRpcError(res, 405, SERVER_ERROR);
      await expectEcho(app.url, sessionId);
    });
  });

  describe('the path', () => {
    it('serves the endpoint path with a trailing slash too, as every adapter does', async () => {
      const app = await start();
      const sessionId = await openSession(`${app.url}/`);
      await expectEcho(`${app.url}/`, sessionId);
      await expectEcho(app.url, sessionId);
    });
  });

  describe('406: Accept', () => {
    it.each<[string, string | undefined]>([
      ['only application/json', 'application/json'],
      ['only text/event-stream', 'text/event-stream'],
      ['text/html', 'text/html'],
      ['no Accept header', undefined],
    ])('refuses a POST accepting %s', async (_name, accept) => {
      const app = await start();
      const sessionId = await openSession(app.url);
      await expectRpcError(await post(app.url, echoCall('x'), { ...session(sessionId), accept }), 406, SERVER_ERROR);
      // An initialize is refused the same way, and creates no session.
      await expectRpcError(await post(app.url, initializeMessage(), { accept }), 406, SERVER_ERROR);
      expect(await app.sessions.count()).toBe(1);
      await expectEcho(app.url, sessionId);
    });

    it.each<[string, string | undefined]>([
      ['application/json', 'application/json'],
      ['no Accept header', undefined],
    ])('refuses a GET accepting %s', async (_name, accept) => {
      const app = await start();
      const sessionId = await openSession(app.url);
      await expectRpcError(await get(app.url, { ...session(sessionId), accept }), 406, SERVER_ERROR);
      await expectStreamOpens(await get(app.url, session(sessionId)));
    });
  });

  describe('413: body over maxBodyBytes', () => {
    const LIMIT = 1024;

    it('accepts bodies under the limit, with Content-Length and chunked (control)', async () => {
      const app = await start({ maxBodyBytes: LIMIT });
      const sessionId = await openSession(app.url);
      const text = 'y'.repeat(600);
      const json = JSON.stringify(echoCall(text));
      expect(Buffer.byteLength(json)).toBeLessThan(LIMIT);
      const withLength = await postRaw(app.url, json, session(sessionId));
      expect(withLength.status).toBe(200);
      expect((await readResponse(withLength)).result?.content?.[0]?.text).toBe(text);
      const pieces = json.match(/[\s\S]{1,100}/g)!;
      const { body, init } = chunkedBody(pieces);
      const chunked = await postRaw(app.url, body, session(sessionId), init);
      expect(chunked.status).toBe(200);
      expect((await readResponse(chunked)).result?.content?.[0]?.text).toBe(text);
    });

    it('refuses a body whose Content-Length is over the limit, and keeps serving', async () => {
      const app = await start({ maxBodyBytes: LIMIT });
      const sessionId = await openSession(app.url);
      const json = JSON.stringify(echoCall('z'.repeat(4 * LIMIT)));
      await expectRpcError(await postRaw(app.url, json, session(sessionId)), 413, SERVER_ERROR);
      await expectEcho(app.url, sessionId);
    });

    it('refuses a chunked body that grows over the limit, and keeps serving', async () => {
      const app = await start({ maxBodyBytes: LIMIT });
      const sessionId = await openSession(app.url);
      const json = JSON.stringify(echoCall('z'.repeat(4 * LIMIT)));
      const { body, init } = chunkedBody(json.match(/[\s\S]{1,256}/g)!);
      await expectRpcError(await postRaw(app.url, body, session(sessionId), init), 413, SERVER_ERROR);
      await expectEcho(app.url, sessionId);
      // An oversized initialize creates no session.
      const { body: initBody, init: initInit } = chunkedBody([
        JSON.stringify(initializeMessage()).slice(0, -1),
        `,"pad":"${'p'.repeat(2 * LIMIT)}"}`,
      ]);
      await expectRpcError(await postRaw(app.url, initBody, {}, initInit), 413, SERVER_ERROR);
      expect(await app.sessions.count()).toBe(1);
      await expectEcho(app.url, sessionId);
    });

    it('takes the limit from MCP_SESSION_MAX_BODY_BYTES like any other option', async () => {
      const previous = process.env.MCP_SESSION_MAX_BODY_BYTES;
      process.env.MCP_SESSION_MAX_BODY_BYTES = String(LIMIT);
      let app: RunningApp;
      try {
        app = await start();
      } finally {
        if (previous === undefined) delete process.env.MCP_SESSION_MAX_BODY_BYTES;
        else process.env.MCP_SESSION_MAX_BODY_BYTES = previous;
      }
      const sessionId = await openSession(app.url);
      const json = JSON.stringify(echoCall('z'.repeat(2 * LIMIT)));
      await expectRpcError(await postRaw(app.url, json, session(sessionId)), 413, SERVER_ERROR);
      const { body, init } = chunkedBody(json.match(/[\s\S]{1,256}/g)!);
      await expectRpcError(await postRaw(app.url, body, session(sessionId), init), 413, SERVER_ERROR);
      await expectEcho(app.url, sessionId);
    });
  });

  describe('415: Content-Type', () => {
    it.each<[string, string | undefined]>([
      ['text/plain', 'text/plain'],
      ['text/plain with a charset', 'text/plain;charset=UTF-8'],
      ['form data', 'application/x-www-form-urlencoded'],
      ['no content-type', undefined],
    ])('refuses %s', async (_name, contentType) => {
      const app = await start();
      const sessionId = await openSession(app.url);
      // A Uint8Array body makes fetch send no Content-Type of its own.
      const body = new TextEncoder().encode(JSON.stringify(echoCall('x')));
      const res = await postRaw(app.url, body, { ...session(sessionId), 'content-type': contentType });
      await expectRpcError(res, 415, SERVER_ERROR);
      await expectEcho(app.url, sessionId);
    });

    it('accepts application/json with parameters (control)', async () => {
      const app = await start();
      const sessionId = await openSession(app.url);
      await expectEcho(app.url, sessionId, 'charset', { 'content-type': 'application/json; charset=utf-8' });
    });
  });
}
