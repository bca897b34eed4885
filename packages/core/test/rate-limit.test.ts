/** rateLimit() through the dispatcher: who is counted together, what is counted, and the 429 it answers. */
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../src/pipeline/rate-limit.js';
import { dispatchHarness, type Outcome } from './dispatch-harness.js';

const refused = (outcome: Outcome) => 'error' in outcome.response && outcome.response.error.code === -32029;

describe('rateLimit', () => {
  it('refuses over the limit with 429, Retry-After and data.retryAfterMs, without reaching the server', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(rateLimit({ limit: 2, windowMs: 10_000 }));
    expect(refused(await s.dispatch())).toBe(false);
    expect(refused(await s.dispatch())).toBe(false);
    const third = await s.dispatch({ id: 'third' });
    expect(third.refusals).toEqual([
      {
        ok: false,
        status: 429,
        code: -32029,
        message: 'Too Many Requests',
        headers: { 'retry-after': '5' },
        data: { retryAfterMs: 5_000 },
        id: 'third',
      },
    ]);
    expect(third.response).toEqual({
      jsonrpc: '2.0',
      id: 'third',
      error: { code: -32029, message: 'Too Many Requests', data: { retryAfterMs: 5_000 } },
    });
    expect(s.received).toHaveLength(2);
    expect(h.metrics.rateLimited).toBe(1);
  });

  it('allows again once the window has moved on the injected clock', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 1_000 }));
    await s.dispatch();
    expect(refused(await s.dispatch())).toBe(true);
    h.clock.advance(999);
    expect(refused(await s.dispatch())).toBe(true);
    h.clock.advance(1);
    expect(refused(await s.dispatch())).toBe(false);
  });

  it("with key 'session' counts per scope: a 'principal' scope and a session scope of the same id are counted apart", async () => {
    const h = dispatchHarness();
    const s = h.session('alice');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'session' }));
    expect(refused(await s.dispatch({ scope: { kind: 'session', id: 'alice' } }))).toBe(false);
    expect(refused(await s.dispatch({ scope: { kind: 'principal', id: 'alice' } }))).toBe(false);
    expect(refused(await s.dispatch({ scope: { kind: 'session', id: 'alice' } }))).toBe(true);
    expect(refused(await s.dispatch({ scope: { kind: 'principal', id: 'alice' } }))).toBe(true);
  });

  it("with key 'session' a state handle is counted per principal naming it; anonymous callers share it", async () => {
    const h = dispatchHarness();
    const handle = { kind: 'handle' as const, id: 'bsk_AAAAAAAAAAAAAAAAAAAAAA' };
    const alice = h.session('s-alice', 'client:alice');
    const bob = h.session('s-bob', 'client:bob');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'session' }));
    // Bob naming Alice's handle uses none of her quota (the tool refuses him after the middleware).
    expect(refused(await bob.dispatch({ scope: handle }))).toBe(false);
    expect(refused(await alice.dispatch({ scope: handle }))).toBe(false);
    expect(refused(await alice.dispatch({ scope: handle }))).toBe(true);
    expect(refused(await alice.dispatch({ scope: { kind: 'handle', id: 'bsk_BBBBBBBBBBBBBBBBBBBBBB' } }))).toBe(false);
    const anonymous = [h.session('anon-a'), h.session('anon-b')];
    expect(refused(await anonymous[0]!.dispatch({ scope: handle }))).toBe(false);
    expect(refused(await anonymous[1]!.dispatch({ scope: handle }))).toBe(true);
  });

  it("with key 'session' two sessions of the same principal are counted apart", async () => {
    const h = dispatchHarness();
    const a = h.session('s-a', 'client:alice');
    const b = h.session('s-b', 'client:alice');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'session' }));
    expect(refused(await a.dispatch())).toBe(false);
    expect(refused(await b.dispatch())).toBe(false);
    expect(refused(await a.dispatch())).toBe(true);
  });

  it('by default counts per principal: a new session of the same principal buys no new quota', async () => {
    const h = dispatchHarness();
    h.dispatcher.use(rateLimit({ limit: 2, windowMs: 60_000 }));
    expect(refused(await h.session('s-1', 'client:alice').dispatch())).toBe(false);
    expect(refused(await h.session('s-2', 'client:alice').dispatch())).toBe(false);
    expect(refused(await h.session('s-3', 'client:alice').dispatch())).toBe(true);
    expect(refused(await h.session('s-4', 'client:bob').dispatch())).toBe(false);
  });

  it("with key 'address' counts a client address whoever it is", async () => {
    const h = dispatchHarness();
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'address' }));
    expect(refused(await h.session('s-1', 'client:alice').dispatch({ address: '10.0.0.1' }))).toBe(false);
    expect(refused(await h.session('s-2', 'client:bob').dispatch({ address: '10.0.0.1' }))).toBe(true);
    expect(refused(await h.session('s-3').dispatch({ address: '10.0.0.2' }))).toBe(false);
  });

  it("with key 'principal' counts every session of a principal, and its stateless requests, together", async () => {
    const h = dispatchHarness();
    const a = h.session('s-a', 'client:alice');
    const b = h.session('s-b', 'client:alice');
    const bob = h.session('s-bob', 'client:bob');
    h.dispatcher.use(rateLimit({ limit: 2, windowMs: 60_000, key: 'principal' }));
    expect(refused(await a.dispatch())).toBe(false);
    expect(refused(await a.dispatch({ scope: { kind: 'principal', id: 'client:alice' } }))).toBe(false);
    expect(refused(await b.dispatch())).toBe(true);
    expect(refused(await bob.dispatch())).toBe(false);
  });

  it("with key 'principal', anonymous sessions are counted by their client address: new sessions buy no quota", async () => {
    const h = dispatchHarness();
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'principal' }));
    expect(refused(await h.session('anon-a').dispatch({ address: '10.0.0.1' }))).toBe(false);
    expect(refused(await h.session('anon-b').dispatch({ address: '10.0.0.1' }))).toBe(true);
    expect(refused(await h.session('anon-c').dispatch({ address: '10.0.0.2' }))).toBe(false);
    // A principal that happens to look like an address shares nothing with it.
    expect(refused(await h.session('s-x', 'n:10.0.0.2').dispatch({ address: '10.0.0.9' }))).toBe(false);
  });

  it("with key 'principal', a principal named like a session's key is not counted with that session", async () => {
    const h = dispatchHarness();
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: 'principal' }));
    const victim = h.session('victim-session');
    const other = h.session('other-session', 's:victim-session');
    await other.dispatch();
    expect((await victim.dispatch()).response).not.toMatchObject({ error: { code: -32029 } });
  });

  it('with a key function counts by what it returns', async () => {
    const h = dispatchHarness();
    const a = h.session('s-a');
    const b = h.session('s-b');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, key: (ctx) => String(ctx.http.headers['x-tenant']) }));
    expect(refused(await a.dispatch({ headers: { 'x-tenant': 'acme' } }))).toBe(false);
    expect(refused(await b.dispatch({ headers: { 'x-tenant': 'acme' } }))).toBe(true);
    expect(refused(await b.dispatch({ headers: { 'x-tenant': 'globex' } }))).toBe(false);
  });

  it('counts only the methods and tools it is given', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(rateLimit({ limit: 1, windowMs: 60_000, methods: ['tools/call'], tools: ['expensive'] }));
    const call = (name: string) => s.dispatch({ method: 'tools/call', params: { name } });
    expect(refused(await call('expensive'))).toBe(false);
    expect(refused(await call('cheap'))).toBe(false);
    expect(refused(await s.dispatch({ method: 'tools/list' }))).toBe(false);
    expect(refused(await call('expensive'))).toBe(true);
    expect(refused(await call('cheap'))).toBe(false);
  });

  it('limiters with different limits keep their own counters', async () => {
    const h = dispatchHarness();
    const s = h.session('s1');
    h.dispatcher.use(rateLimit({ limit: 3, windowMs: 60_000 }));
    h.dispatcher.use(rateLimit({ limit: 2, windowMs: 60_000, methods: ['tools/call'] }));
    expect(refused(await s.dispatch({ method: 'tools/call', params: { name: 'a' } }))).toBe(false);
    expect(refused(await s.dispatch({ method: 'tools/call', params: { name: 'a' } }))).toBe(false);
    expect(refused(await s.dispatch({ method: 'tools/call', params: { name: 'a' } }))).toBe(true);
    expect(refused(await s.dispatch({ method: 'tools/list' }))).toBe(true);
  });

  it('refuses bad options at once', () => {
    expect(() => rateLimit({ limit: 0, windowMs: 1_000 })).toThrow(TypeError);
    expect(() => rateLimit({ limit: 1.5, windowMs: 1_000 })).toThrow(TypeError);
    expect(() => rateLimit({ limit: 1, windowMs: 0 })).toThrow(TypeError);
  });
});
