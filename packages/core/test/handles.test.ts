/**
 * State handles (SEP-2567) on a real memory store, real scoped state and an injected clock: ids, the
 * principal binding, idle and absolute expiry, the sweep, state and its limits, `maxHandles`, the
 * request binding of `for(ctx)` in both SDK shapes, and sealing at rest.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Sealer } from '../src/crypto.js';
import { McpSessionError } from '../src/errors.js';
import { messageExtra } from '../src/http/request-view.js';
import { type HandleSettings, StateHandleManager, isHandleId } from '../src/sessions/handles.js';
import { bindRequest } from '../src/sessions/request-binding.js';
import { scopedState } from '../src/sessions/state.js';
import { MemorySessionStore } from '../src/stores/memory.js';
import { sealedSessionStore } from '../src/stores/sealed.js';
import type { SessionRecord } from '../src/stores/types.js';
import type { HandlerContext, JsonValue, SessionState } from '../src/types.js';
import { type ManualClock, manualClock } from './helpers.js';

const IDLE_MS = 60_000;
const DAY_MS = 24 * 60 * 60_000;

interface Harness {
  handles: StateHandleManager;
  store: MemorySessionStore;
  clock: ManualClock;
  errors: unknown[];
}

function harness(overrides: Partial<HandleSettings> = {}): Harness {
  const store = new MemorySessionStore();
  const clock = manualClock();
  const errors: unknown[] = [];
  const handles = new StateHandleManager({
    store,
    clock,
    idleTimeoutMs: IDLE_MS,
    maxHandles: 100_000,
    maxStateKeys: 100,
    maxStateBytes: 100_000,
    reportError: (error) => errors.push(error),
    ...overrides,
  });
  return { handles, store: (overrides.store as MemorySessionStore | undefined) ?? store, clock, errors };
}

/** The context a tool handler gets, bound by the dispatcher: v2 `ctx` (`ctx.http.req`) or v1 `extra` (`requestInfo`). */
function contextOf(principal: string | undefined, sdk: 'v1' | 'v2' = 'v2'): HandlerContext {
  const req = { headers: { host: 'localhost', 'x-trace': 't-1' }, method: 'POST', url: '/mcp' } as unknown as IncomingMessage;
  const extra = bindRequest(messageExtra(req, undefined), { principal, method: 'tools/call', params: { name: 'tool', arguments: {} } });
  return sdk === 'v2' ? { http: { req: extra.request }, mcpReq: { id: 1 } } : extra;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(McpSessionError);
    return (error as McpSessionError).code;
  }
  return undefined;
}

describe('StateHandleManager: ids', () => {
  it('an id is the kind, "_" and 22 base64url characters: 16 random bytes', async () => {
    const { handles } = harness();
    const alice = handles.of('alice');
    const ids: string[] = [];
    for (let i = 0; i < 256; i++) ids.push((await alice.create('bsk')).id);
    for (const id of ids) {
      expect(id).toMatch(/^bsk_[A-Za-z0-9_-]{22}$/);
      const random = id.slice('bsk_'.length);
      const bytes = Buffer.from(random, 'base64url');
      expect(bytes).toHaveLength(16);
      expect(bytes.toString('base64url')).toBe(random);
      expect(isHandleId(id)).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // Every one of the 128 bits takes both values across the ids: none is fixed, none is a counter's high bit.
    const ones = new Array<number>(128).fill(0);
    for (const id of ids) {
      const bytes = Buffer.from(id.slice(4), 'base64url');
      for (let bit = 0; bit < 128; bit++) ones[bit]! += (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
    }
    for (const count of ones) {
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(ids.length);
    }
  });

  it('a handle tells its kind, id and absolute deadline', async () => {
    const { handles, clock } = harness();
    const created = clock.now();
    const basket = await handles.of('alice').create('bsk');
    expect(basket.kind).toBe('bsk');
    expect(basket.id.startsWith('bsk_')).toBe(true);
    expect(basket.expiresAt).toBe(created + DAY_MS);
    const short = await handles.of('alice').create('q1', { ttlMs: 5_000 });
    expect(short.kind).toBe('q1');
    expect(short.expiresAt).toBe(created + 5_000);
    expect(Object.isFrozen(basket)).toBe(true);
  });

  it('a kind is a lower-case letter and up to 15 lower-case letters or digits', async () => {
    const { handles, store } = harness();
    const alice = handles.of('alice');
    for (const kind of ['a', 'bsk', 'cart2', 'a'.repeat(16)]) expect((await alice.create(kind)).kind).toBe(kind);
    for (const kind of [
      '',
      'Bsk',
      '2cart',
      'a_b',
      'a-b',
      'bsk ',
      'ä',
      'a'.repeat(17),
      7 as unknown as string,
      undefined as unknown as string,
    ]) {
      const error = await alice.create(kind).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(kind)).toBeInstanceOf(McpSessionError);
      expect((error as McpSessionError).code).toBe('ERR_MCP_SESSION_HANDLE');
      expect((error as Error).message).toMatch(/a handle kind is a lower-case letter/);
    }
    expect(store.count()).toBe(4);
  });

  it('ttlMs and idleTimeoutMs are positive integers of milliseconds', async () => {
    const { handles, store } = harness();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(await codeOf(handles.of('alice').create('bsk', { ttlMs: bad }))).toBe('ERR_MCP_SESSION_HANDLE');
      expect(await codeOf(handles.of('alice').create('bsk', { idleTimeoutMs: bad }))).toBe('ERR_MCP_SESSION_HANDLE');
    }
    expect(store.count()).toBe(0);
  });

  it('an id that cannot be a handle id is unknown without asking the store', async () => {
    const calls: string[] = [];
    const inner = new MemorySessionStore();
    const counting = new Proxy(inner, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(key));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { handles } = harness({ store: counting });
    const alice = handles.of('alice');
    for (const id of [
      '',
      'bsk',
      'bsk_short',
      'BSK_AAAAAAAAAAAAAAAAAAAAAA',
      `bsk_${'A'.repeat(23)}`,
      'bsk_AAAAAAAAAAAAAAAAAAAAA{',
      'session-id-22-chars-xx',
    ]) {
      expect(await alice.get(id)).toBeUndefined();
      expect(await alice.delete(id)).toBe(false);
    }
    expect(calls).toEqual([]);
  });
});

describe('StateHandleManager: principal binding', () => {
  it("another principal's id is unknown to get and delete, and the handle lives on", async () => {
    const { handles } = harness();
    const basket = await handles.of('alice').create('bsk');
    await basket.set('items', ['tea']);
    expect(await handles.of('bob').get(basket.id)).toBeUndefined();
    expect(await handles.of(undefined).get(basket.id)).toBeUndefined();
    expect(await handles.of('bob').delete(basket.id)).toBe(false);
    expect(await handles.of(undefined).delete(basket.id)).toBe(false);
    const again = await handles.of('alice').get(basket.id);
    expect(again?.id).toBe(basket.id);
    expect(await again?.get('items')).toEqual(['tea']);
    expect(await handles.of('alice').delete(basket.id)).toBe(true);
    expect(await handles.of('alice').get(basket.id)).toBeUndefined();
    expect(await handles.of('alice').delete(basket.id)).toBe(false);
  });

  it('an anonymous handle is one of the anonymous principal: no named principal reaches it', async () => {
    const { handles } = harness();
    const anonymous = await handles.of(undefined).create('bsk');
    expect(await handles.of('alice').get(anonymous.id)).toBeUndefined();
    expect(await handles.of('undefined').get(anonymous.id)).toBeUndefined();
    expect(await handles.of('').get(anonymous.id)).toBeUndefined();
    expect(await handles.of('alice').delete(anonymous.id)).toBe(false);
    expect((await handles.of(undefined).get(anonymous.id))?.id).toBe(anonymous.id);
    expect(await handles.of(undefined).delete(anonymous.id)).toBe(true);
  });

  it("a refused get does not count as use: another principal's probes keep nothing alive", async () => {
    const { handles, clock } = harness();
    const basket = await handles.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
    clock.advance(600);
    expect(await handles.of('bob').get(basket.id)).toBeUndefined();
    clock.advance(400);
    expect(await handles.of('alice').get(basket.id)).toBeUndefined();
  });
});

describe('StateHandleManager: expiry', () => {
  it('idle expiry: each get marks use; a handle unused for idleTimeoutMs is gone', async () => {
    const { handles, clock } = harness();
    const alice = handles.of('alice');
    const kept = await alice.create('bsk', { idleTimeoutMs: 1_000 });
    const left = await alice.create('bsk', { idleTimeoutMs: 1_000 });
    clock.advance(999);
    expect(await alice.get(kept.id)).toBeDefined();
    clock.advance(999);
    expect(await alice.get(kept.id)).toBeDefined();
    expect(await alice.get(left.id)).toBeUndefined();
    clock.advance(1_000);
    expect(await alice.get(kept.id)).toBeUndefined();
  });

  it("idle expiry defaults to the endpoint's idleTimeoutMs", async () => {
    const { handles, clock } = harness();
    const alice = handles.of('alice');
    const early = await alice.create('bsk');
    const late = await alice.create('bsk');
    clock.advance(IDLE_MS - 1);
    expect(await alice.get(early.id)).toBeDefined();
    clock.advance(1);
    expect(await alice.get(late.id)).toBeUndefined();
  });

  it('absolute expiry: a handle ends ttlMs after it was made, however much it is used', async () => {
    const { handles, clock } = harness();
    const alice = handles.of('alice');
    const basket = await alice.create('bsk', { ttlMs: 3_000, idleTimeoutMs: 1_000 });
    for (let t = 900; t < 3_000; t += 900) {
      clock.advance(900);
      expect(await alice.get(basket.id), `at +${t} ms`).toBeDefined();
    }
    clock.advance(3_000 - 2_700 - 1);
    expect(await alice.get(basket.id)).toBeDefined();
    clock.advance(1);
    expect(await alice.get(basket.id)).toBeUndefined();
  });

  it('the default absolute lifetime is 24 hours', async () => {
    const { handles, clock } = harness({ idleTimeoutMs: 2 * DAY_MS });
    const alice = handles.of('alice');
    const basket = await alice.create('bsk');
    clock.advance(DAY_MS - 1);
    expect(await alice.get(basket.id)).toBeDefined();
    clock.advance(1);
    expect(await alice.get(basket.id)).toBeUndefined();
  });

  it('expire(now) removes the records past their deadline and their state, and nothing else', async () => {
    const { handles, store, clock } = harness();
    const alice = handles.of('alice');
    const idle = await alice.create('bsk', { idleTimeoutMs: 1_000 });
    const capped = await alice.create('bsk', { ttlMs: 1_500, idleTimeoutMs: 10_000 });
    const live = await alice.create('bsk', { idleTimeoutMs: 10_000 });
    for (const handle of [idle, capped, live]) await handle.set('k', handle.id);
    clock.advance(1_500);
    await handles.expire(clock.now());
    expect(store.count()).toBe(1);
    for (const gone of [idle, capped]) {
      expect(store.get(gone.id, 0)).toBeUndefined();
      expect(store.getState(gone.id, 'k', 0)).toBeUndefined();
      expect(store.stateKeys(gone.id, 0)).toEqual([]);
      // A handle object kept from before cannot write to the ended handle.
      expect(await codeOf(gone.set('k', 'again'))).toBe('ERR_MCP_SESSION_STATE');
    }
    expect(await (await alice.get(live.id))?.get('k')).toBe(live.id);
  });

  it('expire(now) takes every expired handle, past one batch of the store', async () => {
    const { handles, store, clock } = harness();
    const alice = handles.of('alice');
    for (let i = 0; i < 2_345; i++) await alice.create('bsk', { idleTimeoutMs: 1_000 });
    const live = await alice.create('bsk', { idleTimeoutMs: 5_000 });
    clock.advance(1_000);
    await handles.expire(clock.now());
    expect(store.list().map((record) => record.id)).toEqual([live.id]);
  });
});

describe('StateHandleManager: state', () => {
  it("state works as a session's: values, keys, delete, clear, per-key ttlMs, and the same errors at the same limits", async () => {
    const limits = { maxStateKeys: 3, maxStateBytes: 64 };
    const { handles, clock } = harness(limits);
    const handle = await handles.of('alice').create('bsk', { idleTimeoutMs: DAY_MS });
    // A session's state, on a store of its own, with the same limits and clock.
    const sessionClock = manualClock(clock.now());
    const sessions = new MemorySessionStore();
    const session: SessionRecord = {
      id: 'session-1',
      protocolVersion: '2025-11-25',
      initialize: { id: 1, params: {} },
      createdAt: clock.now(),
      lastActiveAt: clock.now(),
      requestCount: 1,
      idleTimeoutMs: DAY_MS,
    };
    sessions.create(session);
    const sessionState = scopedState(session.id, { store: sessions, clock: sessionClock, ...limits, reportError: () => undefined });

    const script = async (state: SessionState, time: ManualClock): Promise<unknown[]> => {
      const out: unknown[] = [];
      const step = async (run: () => Promise<unknown>) => {
        try {
          out.push(['ok', await run()]);
        } catch (error) {
          out.push(['error', (error as McpSessionError).code]);
        }
      };
      await step(() => state.set('a', { n: 1, list: [1, 'two', null] }));
      await step(() => state.get<JsonValue>('a'));
      await step(() => state.set('b', 'ünï', { ttlMs: 1_000 }));
      await step(async () => (await state.keys()).sort());
      await step(() => state.set('c', true));
      await step(() => state.set('d', 1)); // a fourth key: maxStateKeys
      await step(() => state.set('c', 'x'.repeat(64))); // too many bytes: maxStateBytes
      await step(() => state.get('c'));
      await step(() => state.set('', 1)); // a bad key
      await step(() => state.set('e', undefined as unknown as JsonValue)); // not JSON
      time.advance(1_000);
      await step(() => state.get('b'));
      await step(async () => (await state.keys()).sort());
      await step(() => state.set('d', 1)); // room again: b expired
      await step(() => state.delete('a'));
      await step(() => state.delete('a'));
      await step(() => state.clear());
      await step(() => state.keys());
      return out;
    };
    const forHandle = await script(handle, clock);
    const forSession = await script(sessionState, sessionClock);
    expect(forHandle).toEqual(forSession);
    expect(forHandle).toEqual([
      ['ok', undefined],
      ['ok', { n: 1, list: [1, 'two', null] }],
      ['ok', undefined],
      ['ok', ['a', 'b']],
      ['ok', undefined],
      ['error', 'ERR_MCP_SESSION_STATE_LIMIT'],
      ['error', 'ERR_MCP_SESSION_STATE_LIMIT'],
      ['ok', true],
      ['error', 'ERR_MCP_SESSION_STATE'],
      ['error', 'ERR_MCP_SESSION_STATE'],
      ['ok', undefined],
      ['ok', ['a', 'c']],
      ['ok', undefined],
      ['ok', true],
      ['ok', false],
      ['ok', undefined],
      ['ok', []],
    ]);
  });

  it('state belongs to the handle: another handle has its own, and a later get of the id finds it', async () => {
    const { handles } = harness();
    const alice = handles.of('alice');
    const one = await alice.create('bsk');
    const two = await alice.create('bsk');
    await one.set('k', 'one');
    await two.set('k', 'two');
    await two.set('only-two', 1);
    expect(await (await alice.get(one.id))?.get('k')).toBe('one');
    expect(await one.keys()).toEqual(['k']);
    await one.clear();
    expect(await two.keys()).toEqual(['k', 'only-two']);
  });

  it('a store failure reaches the tool as a generic state error and the report as itself', async () => {
    class FailingStore extends MemorySessionStore {
      override getState(): string | undefined {
        throw new Error('connection refused 10.0.0.7:6379');
      }
    }
    const { handles, errors } = harness({ store: new FailingStore() });
    const handle = await handles.of('alice').create('bsk');
    const error = await handle.get('k').then(
      () => undefined,
      (e: unknown) => e as McpSessionError,
    );
    expect(error?.code).toBe('ERR_MCP_SESSION_STATE');
    expect(error?.message).not.toContain('10.0.0.7');
    expect(errors).toHaveLength(1);
  });
});

describe('StateHandleManager: maxHandles', () => {
  it('at maxHandles, create throws ERR_MCP_SESSION_HANDLE_LIMIT, whoever asks; deleted and swept handles make room', async () => {
    const { handles, clock } = harness({ maxHandles: 3 });
    const first = await handles.of('alice').create('bsk', { idleTimeoutMs: 1_000 });
    await handles.of('bob').create('bsk');
    const third = await handles.of(undefined).create('bsk');
    for (const principal of ['alice', 'carol', undefined]) {
      const error = await handles
        .of(principal)
        .create('bsk')
        .then(
          () => undefined,
          (e: unknown) => e as McpSessionError,
        );
      expect(error?.code).toBe('ERR_MCP_SESSION_HANDLE_LIMIT');
      expect(error?.message).toMatch(/3 state handles exist already \(maxHandles\)/);
    }
    expect(await handles.of(undefined).delete(third.id)).toBe(true);
    await handles.of('carol').create('bsk');
    expect(await codeOf(handles.of('carol').create('bsk'))).toBe('ERR_MCP_SESSION_HANDLE_LIMIT');
    clock.advance(1_000);
    expect(await handles.of('alice').get(first.id)).toBeUndefined();
    await handles.expire(clock.now());
    expect(await codeOf(handles.of('carol').create('bsk'))).toBeUndefined();
  });
});

describe('StateHandleManager: for(ctx)', () => {
  it('binds to the principal of the request a v2 ctx or a v1 extra belongs to', async () => {
    const { handles } = harness();
    for (const sdk of ['v2', 'v1'] as const) {
      const basket = await handles.for(contextOf('alice', sdk)).create('bsk');
      expect((await handles.for(contextOf('alice', sdk === 'v2' ? 'v1' : 'v2')).get(basket.id))?.id).toBe(basket.id);
      expect((await handles.of('alice').get(basket.id))?.id).toBe(basket.id);
      expect(await handles.for(contextOf('bob', sdk)).get(basket.id)).toBeUndefined();
      expect(await handles.for(contextOf(undefined, sdk)).get(basket.id)).toBeUndefined();
      expect(await handles.for(contextOf('bob', sdk)).delete(basket.id)).toBe(false);

      const anonymous = await handles.for(contextOf(undefined, sdk)).create('bsk');
      expect((await handles.of(undefined).get(anonymous.id))?.id).toBe(anonymous.id);
      expect(await handles.for(contextOf('alice', sdk)).get(anonymous.id)).toBeUndefined();
    }
  });

  it('a ctx the endpoint did not bind is refused with ERR_MCP_SESSION_CONTEXT', () => {
    const { handles } = harness();
    const unbound = messageExtra({ headers: {}, method: 'POST', url: '/' } as unknown as IncomingMessage, undefined);
    const foreign: unknown[] = [
      {},
      { http: { req: unbound.request } },
      unbound,
      { requestInfo: { headers: {}, principal: 'alice' } },
      // A binding under a look-alike key is not a binding.
      { http: { req: { [Symbol('@x/mcp-session.request')]: { principal: 'alice', method: 'tools/call', params: {} } } } },
    ];
    for (const ctx of foreign) {
      let error: unknown;
      try {
        handles.for(ctx as HandlerContext);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(McpSessionError);
      expect((error as McpSessionError).code).toBe('ERR_MCP_SESSION_CONTEXT');
      expect((error as Error).message).toMatch(/handles\.for\(ctx\) needs the context of a request this endpoint is serving/);
    }
  });

  it('the bound request still reads as the original: v2 headers, v1 requestInfo fields', () => {
    const v2 = contextOf('alice', 'v2') as { http: { req: { headers: Headers; method: string; url: string } } };
    expect(v2.http.req.headers.get('x-trace')).toBe('t-1');
    expect(v2.http.req.method).toBe('POST');
    expect(v2.http.req.url).toBe('http://localhost/mcp');
    const v1 = contextOf('alice', 'v1') as { requestInfo: { headers: Record<string, string> } };
    expect(v1.requestInfo.headers['x-trace']).toBe('t-1');
    expect({ ...v1.requestInfo }).toEqual({ headers: { host: 'localhost', 'x-trace': 't-1' } });
  });
});

describe('StateHandleManager: sealed at rest', () => {
  const key = (id: string, fill: number) => ({ id, key: Buffer.alloc(32, fill) });
  const sealing = (keys: Array<{ id: string; key: Buffer }>, errors: unknown[] = []) => ({
    sealer: new Sealer(keys),
    acceptUnsealed: false,
    reportError: (error: unknown) => errors.push(error),
  });

  it('over sealedSessionStore, state values are sealed in the store and open through the handle', async () => {
    const raw = new MemorySessionStore();
    const { handles } = harness({ store: sealedSessionStore(raw, sealing([key('k1', 1)])) });
    const basket = await handles.of('alice').create('bsk');
    await basket.set('card', { number: '4111-1111-1111-1111' });
    const stored = raw.getState(basket.id, 'card', 0);
    expect(stored).toMatch(/^enc:v1:k1:/);
    expect(stored).not.toContain('4111');
    expect(await (await handles.of('alice').get(basket.id))?.get('card')).toEqual({ number: '4111-1111-1111-1111' });
    // The record is a handle's, bound to its principal, with the sealed (empty) initialize.
    expect(raw.get(basket.id, 0)).toMatchObject({ principal: 'alice', protocolVersion: 'state-handle' });
    expect(Object.keys(raw.get(basket.id, 0)!.initialize.params)).toEqual(['io.mcp-session/sealed']);
  });

  it('a sealed value moved to another handle, or read with other keys, does not open', async () => {
    const raw = new MemorySessionStore();
    const { handles, errors } = harness({ store: sealedSessionStore(raw, sealing([key('k1', 1)])) });
    const one = await handles.of('alice').create('bsk');
    const two = await handles.of('alice').create('bsk');
    await one.set('card', 'secret');
    await two.set('card', 'other');
    raw.setState(two.id, 'card', raw.getState(one.id, 'card', 0)!, { now: 0, maxKeys: 10, maxBytes: 10_000 });
    expect(await codeOf(two.get('card'))).toBe('ERR_MCP_SESSION_STATE');
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_MCP_SESSION_SEALED' })]);

    // A process with other keys cannot open the record: the handle is unknown there, and the failure reported.
    const unopened: unknown[] = [];
    const otherKeys = harness({ store: sealedSessionStore(raw, sealing([key('k2', 2)], unopened)) });
    expect(await otherKeys.handles.of('alice').get(one.id)).toBeUndefined();
    expect(unopened).toEqual([expect.objectContaining({ code: 'ERR_MCP_SESSION_SEALED' })]);
    expect((await handles.of('alice').get(one.id))?.id).toBe(one.id);
  });

  it('unsealed: the store keeps the JSON as given (what sealing changes)', async () => {
    const { handles, store } = harness();
    const basket = await handles.of('alice').create('bsk');
    await basket.set('card', { number: '4111' });
    expect(store.getState(basket.id, 'card', 0)).toBe('{"number":"4111"}');
  });
});
