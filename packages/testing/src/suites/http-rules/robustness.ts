import { describe, expect, it } from 'vitest';
import {
  ACCEPT,
  chunkedBody,
  del,
  echoCall,
  expectEcho,
  expectErrorBody,
  expectRpcError,
  get,
  initializeMessage,
  openSession,
  post,
  postRaw,
  rawRequest,
  type RawResponse,
  session,
  SESSION_NOT_FOUND,
  type StartApp,
} from './helpers.js';

/** Robustness: the server keeps serving after bad input. */
export function robustnessRules(start: StartApp): void {
  describe('robustness: the server keeps serving after bad input', () => {
    type Bad = (url: string, sessionId: string) => Promise<Response | RawResponse>;
    const cases: Array<[string, number, Bad]> = [
      ['POST without session id', 400, (url) => post(url, echoCall('x'))],
      ['malformed JSON', 400, (url, id) => postRaw(url, '{"jsonrpc":', session(id))],
      ['not JSON-RPC', 400, (url, id) => post(url, { hello: 'world' }, session(id))],
      ['empty batch', 400, (url, id) => post(url, [], session(id))],
      ['batch on 2025-11-25', 400, (url, id) => post(url, [echoCall('a'), echoCall('b')], session(id))],
      ['batch with initialize', 400, (url) => post(url, [initializeMessage()])],
      ['second initialize', 400, (url, id) => post(url, initializeMessage(), session(id))],
      ['unsupported protocol version', 400, (url, id) => post(url, echoCall('x'), session(id, '1999-01-01'))],
      ['GET without session id', 400, (url) => get(url)],
      ['DELETE without session id', 400, (url) => del(url)],
      ['malformed Last-Event-ID', 400, (url, id) => get(url, { ...session(id), 'last-event-id': 'garbage' })],
      ['unknown session', 404, (url) => post(url, echoCall('x'), session('unknown-session'))],
      ['PUT', 405, (url, id) => fetch(url, { method: 'PUT', headers: session(id) })],
      ['PATCH', 405, (url, id) => fetch(url, { method: 'PATCH', headers: session(id), body: '{}' })],
      ['POST accepting only JSON', 406, (url, id) => post(url, echoCall('x'), { ...session(id), accept: 'application/json' })],
      ['GET accepting only JSON', 406, (url, id) => get(url, { ...session(id), accept: 'application/json' })],
      ['oversized body', 413, (url, id) => postRaw(url, JSON.stringify(echoCall('z'.repeat(8192))), session(id))],
      [
        'oversized chunked body',
        413,
        (url, id) => {
          const { body, init } = chunkedBody(Array.from({ length: 20 }, () => ' '.repeat(512)));
          return postRaw(url, body, session(id), init);
        },
      ],
      ['text/plain', 415, (url, id) => postRaw(url, JSON.stringify(echoCall('x')), { ...session(id), 'content-type': 'text/plain' })],
      ['foreign Origin', 403, (url, id) => post(url, echoCall('x'), { ...session(id), origin: 'https://evil.example' })],
      [
        'foreign Host',
        403,
        (url, id) =>
          rawRequest(url, {
            headers: { accept: ACCEPT, 'content-type': 'application/json', host: 'evil.example', ...session(id) },
            body: JSON.stringify(echoCall('x')),
          }),
      ],
    ];

    it.each(cases)('after %s (%i)', async (_name, status, bad) => {
      const app = await start({ maxBodyBytes: 4096 });
      const sessionId = await openSession(app.url);
      const res = await bad(app.url, sessionId);
      if (res instanceof Response) {
        await expectRpcError(res, status, status === 404 ? SESSION_NOT_FOUND : expect.any(Number));
      } else {
        expectErrorBody({ status: res.status, contentType: res.headers['content-type'], text: res.body }, status, expect.any(Number));
      }
      await expectEcho(app.url, sessionId);
      await expectEcho(app.url, await openSession(app.url), 'new session');
      expect(await app.sessions.count()).toBe(2);
    });
  });
}
