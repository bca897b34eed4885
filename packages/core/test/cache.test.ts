/** cache() through the dispatcher: who shares an entry, what makes a key, expiry and invalidation by notification. */
import { describe, expect, it } from 'vitest';
import { cache } from '../src/pipeline/cache.js';
import type { NotificationSource } from '../src/types.js';
import { dispatchHarness } from './dispatch-harness.js';
import { nextTurn } from './helpers.js';

/** A harness whose server answers with a counter, so a cached answer is told from a fresh one. */
function cached(options: Parameters<typeof cache>[0]) {
  const h = dispatchHarness();
  h.dispatcher.use(cache(options));
  let served = 0;
  const session = (id: string, principal?: string) => {
    const s = h.session(id, principal);
    s.answer = () => ({ served: ++served });
    return s;
  };
  return { h, session, served: () => served };
}

const list = { method: 'tools/list' };
const listChanged = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };

describe('cache', () => {
  it('answers a repeated request from the cache, counting a miss then a hit', async () => {
    const { h, session, served } = cached({ ttlMs: 60_000 });
    const s = session('s1');
    const first = await s.dispatch({ ...list, id: 1 });
    const second = await s.dispatch({ ...list, id: 2 });
    expect(first.response).toEqual({ jsonrpc: '2.0', id: 1, result: { served: 1 } });
    expect(second.response).toEqual({ jsonrpc: '2.0', id: 2, result: { served: 1 } });
    expect(served()).toBe(1);
    expect(h.metrics.cacheMisses).toBe(1);
    expect(h.metrics.cacheHits).toBe(1);
  });

  it('leaves methods it does not cache alone, and counts nothing for them', async () => {
    const { h, session, served } = cached({ ttlMs: 60_000 });
    const s = session('s1');
    await s.dispatch({ method: 'tools/call', params: { name: 'echo' } });
    await s.dispatch({ method: 'tools/call', params: { name: 'echo' } });
    expect(served()).toBe(2);
    expect(h.metrics.cacheMisses + h.metrics.cacheHits).toBe(0);
  });

  it('keys on params, ignoring _meta and key order', async () => {
    const { session, served } = cached({ ttlMs: 60_000 });
    const s = session('s1');
    await s.dispatch({ method: 'resources/read', params: { uri: 'file:///a', opts: { b: 1, a: 2 } } });
    await s.dispatch({ method: 'resources/read', params: { opts: { a: 2, b: 1 }, uri: 'file:///a', _meta: { progressToken: 'x' } } });
    expect(served()).toBe(1);
    await s.dispatch({ method: 'resources/read', params: { uri: 'file:///b' } });
    expect(served()).toBe(2);
  });

  it('an entry lives ttlMs on the injected clock', async () => {
    const { h, session, served } = cached({ ttlMs: 1_000 });
    const s = session('s1');
    await s.dispatch(list);
    h.clock.advance(999);
    await s.dispatch(list);
    expect(served()).toBe(1);
    h.clock.advance(1);
    await s.dispatch(list);
    expect(served()).toBe(2);
  });

  it("scope 'session': sessions, and a 'principal' scope of the same id, do not share", async () => {
    const { session, served } = cached({ ttlMs: 60_000, scope: 'session' });
    const a = session('alice', 'client:alice');
    const b = session('s-b', 'client:alice');
    await a.dispatch(list);
    await b.dispatch(list);
    expect(served()).toBe(2);
    await a.dispatch({ ...list, scope: { kind: 'principal', id: 'alice' } });
    expect(served()).toBe(3);
    await a.dispatch(list);
    expect(served()).toBe(3);
  });

  it('by default entries are per principal: two sessions of one principal share, another principal does not', async () => {
    const { session, served } = cached({ ttlMs: 60_000 });
    await session('s-a', 'client:alice').dispatch(list);
    await session('s-b', 'client:alice').dispatch(list);
    expect(served()).toBe(1);
    await session('s-c', 'client:bob').dispatch(list);
    expect(served()).toBe(2);
  });

  it("scope 'session': a state handle's entries are kept per principal naming it; anonymous callers share them", async () => {
    const { session, served } = cached({ ttlMs: 60_000, scope: 'session' });
    const handle = { kind: 'handle' as const, id: 'bsk_AAAAAAAAAAAAAAAAAAAAAA' };
    const call = { method: 'tools/list', scope: handle };
    const alice = session('s-alice', 'client:alice');
    expect((await alice.dispatch(call)).response).toMatchObject({ result: { served: 1 } });
    expect((await alice.dispatch(call)).response).toMatchObject({ result: { served: 1 } });
    // Bob naming Alice's handle reaches the server (whose tool checks the handle), not her entry.
    expect((await session('s-bob', 'client:bob').dispatch(call)).response).toMatchObject({ result: { served: 2 } });
    expect((await session('anon-a').dispatch(call)).response).toMatchObject({ result: { served: 3 } });
    expect((await session('anon-b').dispatch(call)).response).toMatchObject({ result: { served: 3 } });
    expect(served()).toBe(3);
  });

  it("scope 'principal': every session of a principal and its stateless requests share; other principals do not", async () => {
    const { session, served } = cached({ ttlMs: 60_000, scope: 'principal' });
    const a = session('s-a', 'client:alice');
    const b = session('s-b', 'client:alice');
    const bob = session('s-bob', 'client:bob');
    await a.dispatch(list);
    await b.dispatch(list);
    await a.dispatch({ ...list, scope: { kind: 'principal', id: 'client:alice' } });
    expect(served()).toBe(1);
    await bob.dispatch(list);
    expect(served()).toBe(2);
  });

  it("scope 'principal': sessions without a principal each keep their own entries", async () => {
    const { session, served } = cached({ ttlMs: 60_000, scope: 'principal' });
    await session('anon-a').dispatch(list);
    await session('anon-b').dispatch(list);
    expect(served()).toBe(2);
  });

  it("scope 'principal': a principal named like a session's key does not share that session's entries", async () => {
    const h = dispatchHarness();
    h.dispatcher.use(cache({ ttlMs: 60_000, scope: 'principal' }));
    let served = 0;
    const victim = h.session('victim-session');
    victim.answer = () => ({ secret: 'victim', served: ++served });
    const other = h.session('other-session', 's:victim-session');
    other.answer = () => ({ secret: 'other', served: ++served });
    await victim.dispatch({ method: 'tools/list' });
    expect((await other.dispatch({ method: 'tools/list' })).response).toMatchObject({ result: { secret: 'other' } });
  });

  it("scope 'global': everyone shares", async () => {
    const { session, served } = cached({ ttlMs: 60_000, scope: 'global' });
    await session('s-a', 'client:alice').dispatch(list);
    await session('s-b').dispatch(list);
    expect(served()).toBe(1);
  });

  it('a list_changed notification from a scope invalidates that family in that scope only', async () => {
    const { h, session, served } = cached({ ttlMs: 60_000 });
    const a = session('s-a');
    const b = session('s-b');
    await a.dispatch(list);
    await a.dispatch({ method: 'prompts/list' });
    await b.dispatch(list);
    expect(served()).toBe(3);
    const source: NotificationSource = { scope: { kind: 'session', id: 's-a' }, principal: undefined };
    h.dispatcher.serverNotification(source, listChanged);
    // Invalidation is fire-and-forget: let it finish.
    await nextTurn();
    await a.dispatch(list);
    expect(served()).toBe(4);
    await a.dispatch({ method: 'prompts/list' });
    await b.dispatch(list);
    expect(served()).toBe(4);
  });

  it('resources/updated invalidates the read of that uri only; resources/list_changed both lists', async () => {
    const { h, session, served } = cached({ ttlMs: 60_000 });
    const s = session('s1');
    const source: NotificationSource = { scope: { kind: 'session', id: 's1' }, principal: undefined };
    const read = (uri: string) => s.dispatch({ method: 'resources/read', params: { uri } });
    await read('file:///a');
    await read('file:///b');
    await s.dispatch({ method: 'resources/list' });
    await s.dispatch({ method: 'resources/templates/list' });
    expect(served()).toBe(4);
    h.dispatcher.serverNotification(source, { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///a' } });
    await nextTurn();
    await read('file:///a');
    await read('file:///b');
    expect(served()).toBe(5);
    h.dispatcher.serverNotification(source, { jsonrpc: '2.0', method: 'notifications/resources/list_changed' });
    await nextTurn();
    await s.dispatch({ method: 'resources/list' });
    await s.dispatch({ method: 'resources/templates/list' });
    await read('file:///b');
    expect(served()).toBe(7);
  });

  it("keeps each era's entries apart: a 2026-07-28 result and a legacy one differ in shape", async () => {
    const { session, served } = cached({ ttlMs: 60_000 });
    const s = session('s1', 'client:alice');
    const read = { method: 'resources/read', params: { uri: 'file:///a' }, scope: { kind: 'principal', id: 'alice' } } as const;
    const legacy = await s.dispatch({ ...read, id: 1 });
    const modern = await s.dispatch({ ...read, id: 2, era: 'modern' });
    expect(served()).toBe(2);
    expect(legacy.response).toEqual({ jsonrpc: '2.0', id: 1, result: { served: 1 } });
    expect(modern.response).toMatchObject({ id: 2, result: { served: 2, cacheScope: 'private' } });
    // Each era still hits its own entry.
    await s.dispatch({ ...read, id: 3 });
    await s.dispatch({ ...read, id: 4, era: 'modern' });
    expect(served()).toBe(2);
  });

  it('does not cache an error answer', async () => {
    const { h } = cached({ ttlMs: 60_000 });
    const s = h.session('s1');
    let calls = 0;
    s.answer = () => (++calls === 1 ? { error: { code: -32603, message: 'boom' } } : { ok: true });
    expect((await s.dispatch(list)).response).toMatchObject({ error: { code: -32603 } });
    expect((await s.dispatch(list)).response).toMatchObject({ result: { ok: true } });
    expect((await s.dispatch(list)).response).toMatchObject({ result: { ok: true } });
    expect(calls).toBe(2);
  });

  it('refuses a ttl that is not positive', () => {
    expect(() => cache({ ttlMs: 0 })).toThrow(TypeError);
  });
});
