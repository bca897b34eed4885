/** The dispatcher: requests through the middleware chain to a session's transport, and every way back out. */
import { describe, expect, it } from 'vitest';
import { JsonRpcError } from '../src/errors.js';
import type { JSONRPCMessage } from '../src/protocol/jsonrpc.js';
import type { MessageContext, MiddlewareEnv, NotificationSource } from '../src/types.js';
import { dispatchHarness } from './dispatch-harness.js';
import { deferred, nextTurn } from './helpers.js';

const progress: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };

describe('Dispatcher.dispatch without middleware', () => {
  it('hands the request to the transport, relays related messages, answers, and counts the method', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    s.answer = (request, notify) => {
      notify(progress);
      return { tools: [], method: request.method };
    };
    const outcome = await s.dispatch({ id: 7, method: 'tools/list' });
    expect(s.received).toMatchObject([{ id: 7, method: 'tools/list' }]);
    expect(outcome.sent).toEqual([progress]);
    expect(outcome.response).toEqual({ jsonrpc: '2.0', id: 7, result: { tools: [], method: 'tools/list' } });
    expect(h.metrics.requestsByMethod.get('tools/list')).toBe(1);
  });
});

describe('Dispatcher.dispatch through middleware', () => {
  it('runs middleware in onion order, in the order added, around the server', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    const trace: string[] = [];
    s.answer = () => {
      trace.push('server');
      return { n: 1 };
    };
    for (const name of ['first', 'second']) {
      h.dispatcher.use(async (_ctx, next) => {
        trace.push(`${name} in`);
        const result = await next();
        trace.push(`${name} out`);
        return { ...result, [name]: true };
      });
    }
    const outcome = await s.dispatch({ id: 1 });
    expect(trace).toEqual(['first in', 'second in', 'server', 'second out', 'first out']);
    expect(outcome.response).toEqual({ jsonrpc: '2.0', id: 1, result: { n: 1, first: true, second: true } });
  });

  it('a middleware that answers itself short-circuits: the server never sees the request', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use((ctx, next) => (ctx.method === 'tools/list' ? { tools: [{ name: 'from-middleware' }] } : next()));
    const outcome = await s.dispatch({ id: 3, method: 'tools/list' });
    expect(outcome.response).toEqual({ jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'from-middleware' }] } });
    expect(s.received).toEqual([]);
    await s.dispatch({ id: 4, method: 'prompts/list' });
    expect(s.received.map((request) => request.id)).toEqual([4]);
  });

  it('a request given up on while the middleware runs never reaches the server', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    const release = deferred();
    const chainDone = deferred<string>();
    h.dispatcher.use(async (_ctx, next) => {
      await release.promise;
      try {
        const result = await next();
        chainDone.resolve('the server answered');
        return result;
      } catch (error) {
        chainDone.resolve((error as Error).message);
        throw error;
      }
    });
    let cancel: ((reason: string) => void) | undefined;
    void s.dispatch({ id: 9, onDispatched: (giveUp) => (cancel = giveUp) });
    cancel!('the client closed the response');
    expect(h.dispatcher.inFlight).toBe(0);
    release.resolve();
    expect(await chainDone.promise).toMatch(/cancelled/);
    expect(s.received).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it('relays related messages through the chain to the request stream', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    s.answer = (_request, notify) => {
      notify(progress);
      return {};
    };
    h.dispatcher.use((_ctx, next) => next());
    const outcome = await s.dispatch({ id: 1 });
    expect(outcome.sent).toEqual([progress]);
  });

  it('gives the middleware the request, its scope, session, principal, auth, headers and locals', async () => {
    const h = dispatchHarness();
    const s = h.session('s1', 'client:alice');
    let seen: MessageContext | undefined;
    h.dispatcher.use((ctx, next) => {
      seen = ctx;
      return next();
    });
    const auth = { token: 't', clientId: 'client', scopes: ['mcp'], extra: { sub: 'alice' } };
    await s.dispatch({
      id: 'req-9',
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hi' } },
      scope: { kind: 'principal', id: 'client:alice' },
      auth,
      headers: { 'x-trace': 'abc' },
      address: '10.1.2.3',
    });
    expect(seen).toMatchObject({
      scope: { kind: 'principal', id: 'client:alice' },
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hi' } },
      id: 'req-9',
      principal: 'client:alice',
      address: '10.1.2.3',
      authInfo: auth,
      http: { headers: { 'x-trace': 'abc' } },
      locals: {},
    });
    expect(seen?.session).toBe(s.handle);
    expect(seen?.session?.id).toBe('s1');
  });

  it('a server error response reaches middleware as a JsonRpcError and the client as the same error', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    s.answer = () => ({ error: { code: -32602, message: 'Invalid params', data: { field: 'name' } } });
    let caught: unknown;
    h.dispatcher.use(async (_ctx, next) => {
      try {
        return await next();
      } catch (error) {
        caught = error;
        throw error;
      }
    });
    const outcome = await s.dispatch({ id: 5 });
    expect(caught).toBeInstanceOf(JsonRpcError);
    expect(caught).toMatchObject({ code: -32602, message: 'Invalid params', data: { field: 'name' } });
    expect(outcome.response).toEqual({
      jsonrpc: '2.0',
      id: 5,
      error: { code: -32602, message: 'Invalid params', data: { field: 'name' } },
    });
    expect(outcome.refusals).toEqual([]);
    expect(h.errors).toEqual([]);
  });
});

describe('Dispatcher failures', () => {
  it('a JsonRpcError with httpStatus reaches the HTTP response as a refusal, and the sink as the error', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(() => {
      throw new JsonRpcError(-32029, 'Too Many Requests', {
        httpStatus: 429,
        headers: { 'retry-after': '2' },
        data: { retryAfterMs: 1_500 },
      });
    });
    const outcome = await s.dispatch({ id: 11 });
    expect(outcome.refusals).toEqual([
      {
        ok: false,
        status: 429,
        code: -32029,
        message: 'Too Many Requests',
        headers: { 'retry-after': '2' },
        data: { retryAfterMs: 1_500 },
        id: 11,
      },
    ]);
    expect(outcome.response).toEqual({
      jsonrpc: '2.0',
      id: 11,
      error: { code: -32029, message: 'Too Many Requests', data: { retryAfterMs: 1_500 } },
    });
    expect(h.metrics.errorsByStatus.get(429)).toBe(1);
    expect(s.received).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it('a JsonRpcError without httpStatus is answered in-band only', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(() => {
      throw new JsonRpcError(-32001, 'Forbidden tool');
    });
    const outcome = await s.dispatch({ id: 12 });
    expect(outcome.refusals).toEqual([]);
    expect(outcome.response).toEqual({ jsonrpc: '2.0', id: 12, error: { code: -32001, message: 'Forbidden tool' } });
    expect(h.metrics.errorsByStatus.size).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it('an httpStatus error that goes out in-band (the response started) is not counted as an HTTP error', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(() => {
      throw new JsonRpcError(-32029, 'Too Many Requests', { httpStatus: 429 });
    });
    const outcome = await s.dispatch({ refusable: false });
    expect(outcome.response).toMatchObject({ error: { code: -32029 } });
    expect(h.metrics.errorsByStatus.get(429)).toBeUndefined();
  });

  it('a plain Error becomes -32603 Internal error without its message, and is reported', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    const bug = new Error('secret detail from a bug');
    h.dispatcher.use(async () => {
      throw bug;
    });
    const outcome = await s.dispatch({ id: 13 });
    expect(outcome.response).toEqual({ jsonrpc: '2.0', id: 13, error: { code: -32603, message: 'Internal error' } });
    expect(outcome.refusals).toEqual([]);
    expect(h.errors).toEqual([bug]);
  });

  it('next() called twice answers -32603 and reports the misuse', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(async (_ctx, next) => {
      await next();
      return next();
    });
    const outcome = await s.dispatch({ id: 14 });
    expect(outcome.response).toMatchObject({ id: 14, error: { code: -32603 } });
    expect(s.received).toHaveLength(1);
    expect(h.errors).toHaveLength(1);
    expect((h.errors[0] as Error).message).toMatch(/next\(\) called more than once/);
  });
});

describe('Dispatcher plugins and server notifications', () => {
  it('sets each plugin up with the endpoint env when it is added', () => {
    const h = dispatchHarness();
    let lent: MiddlewareEnv | undefined;
    h.dispatcher.use({ name: 'p', setup: (env) => void (lent = env), handle: (_ctx, next) => next() });
    expect(lent?.clock).toBe(h.clock);
    expect(lent?.metrics).toBe(h.metrics);
    expect(lent?.rateLimitStore).toBeDefined();
    expect(lent?.cacheStore).toBeDefined();
  });

  it('serverNotification goes only to plugins that watch, and a failing watcher is reported', async () => {
    const h = dispatchHarness();
    const seen: Array<[string, NotificationSource, string]> = [];
    expect(h.dispatcher.watchesNotifications).toBe(false);
    h.dispatcher.use({ name: 'blind', handle: (_ctx, next) => next() });
    h.dispatcher.use((_ctx, next) => next());
    expect(h.dispatcher.watchesNotifications).toBe(false);
    h.dispatcher.use({
      name: 'watcher',
      handle: (_ctx, next) => next(),
      onServerNotification: (source, notification) => void seen.push(['watcher', source, notification.method]),
    });
    const broken = new Error('invalidation failed');
    h.dispatcher.use({
      name: 'broken',
      handle: (_ctx, next) => next(),
      onServerNotification: async () => {
        throw broken;
      },
    });
    expect(h.dispatcher.watchesNotifications).toBe(true);
    const source: NotificationSource = { scope: { kind: 'session', id: 's1' }, principal: 'client:alice' };
    h.dispatcher.serverNotification(source, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await nextTurn();
    expect(seen).toEqual([['watcher', source, 'notifications/tools/list_changed']]);
    expect(h.errors).toEqual([broken]);
  });
});
