/**
 * The sealed `requestState` codec of multi round-trip requests: a state opens once, for the principal
 * and the request it was minted for, before its expiry, with a key the endpoint still lists, and not
 * after any change to its text. Contexts are built the way the dispatcher builds them (`bindRequest`
 * over the endpoint's message extra).
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type EncryptionKey, Sealer } from '../src/crypto.js';
import { McpSessionError } from '../src/errors.js';
import { messageExtra } from '../src/http/request-view.js';
import { bindRequest } from '../src/sessions/request-binding.js';
import { type RequestStateSettings, SealedRequestState } from '../src/sessions/request-state.js';
import { MemoryCacheStore } from '../src/stores/memory.js';
import type { HandlerContext, JsonValue } from '../src/types.js';
import { type ManualClock, manualClock, recordingLogger } from './helpers.js';

const KEY_A: EncryptionKey = { id: 'A', key: Buffer.alloc(32, 0xa1) };
const KEY_B: EncryptionKey = { id: 'B', key: Buffer.alloc(32, 0xb2) };
const TTL_MS = 600_000;

type Params = Record<string, unknown>;

/** The context a tool handler gets for a request, as the dispatcher binds it: v2 `ctx` or v1 `extra`. */
function contextOf(principal: string | undefined, method: string, params: Params | undefined, sdk: 'v1' | 'v2' = 'v2'): HandlerContext {
  const req = { headers: { host: 'localhost' }, method: 'POST', url: '/mcp' } as unknown as IncomingMessage;
  const extra = bindRequest(messageExtra(req, undefined), { principal, method, params });
  return sdk === 'v2' ? { http: { req: extra.request }, mcpReq: { id: 1 } } : extra;
}

const call = (name: string, args: Params): Params => ({
  name,
  arguments: args,
  _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
});

/** The same call as a retry sends it: the state, the answers, and other `_meta`. */
const retry = (params: Params, state: string): Params => ({
  ...params,
  requestState: state,
  inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
  _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', progressToken: 7 },
});

interface Codec {
  codec: SealedRequestState;
  clock: ManualClock;
  cacheStore: MemoryCacheStore;
  log: ReturnType<typeof recordingLogger>;
}

function codec(overrides: Partial<RequestStateSettings> & { keys?: EncryptionKey[]; clock?: ManualClock } = {}): Codec {
  const { keys = [KEY_A], clock = manualClock(), ...settings } = overrides;
  const cacheStore = (settings.cacheStore as MemoryCacheStore | undefined) ?? new MemoryCacheStore();
  const log = recordingLogger();
  const instance = new SealedRequestState({
    sealer: new Sealer(keys),
    processKey: false,
    clock,
    ttlMs: TTL_MS,
    log,
    ...settings,
    cacheStore,
  });
  return { codec: instance, clock, cacheStore, log };
}

/** The refusal `promise` ends in: the error, checked to be the codec's. */
async function refusal(promise: Promise<unknown>): Promise<McpSessionError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(McpSessionError);
  expect((error as McpSessionError).code).toBe('ERR_MCP_SESSION_REQUEST_STATE');
  expect((error as Error).message).toMatch(/^\[mcp-session\] requestState refused: /);
  return error as McpSessionError;
}

const payload: JsonValue = { step: 2, answers: ['yes', 'blue'], nested: { n: null, ok: true, text: 'secret-step-two ✓' } };
const params = call('book_table', { restaurant: 'chez-ami', guests: 4 });

describe('SealedRequestState', () => {
  it('round trip: a state opens to its payload on the retry of its request, for both SDK shapes', async () => {
    const { codec: c } = codec();
    for (const sdk of ['v2', 'v1'] as const) {
      const state = await c.mint(payload, contextOf('alice', 'tools/call', params, sdk));
      expect(typeof state).toBe('string');
      // Sealed: the client can read nothing of it.
      expect(state).toMatch(/^enc:v1:A:/);
      expect(state).not.toContain('secret-step-two');
      expect(Buffer.from(state.split(':').at(-1)!, 'base64url').toString('utf8')).not.toContain('secret-step-two');
      expect(await c.verify(state, contextOf('alice', 'tools/call', retry(params, state), sdk))).toEqual(payload);
    }
  });

  it('every state is distinct, even of one payload for one request', async () => {
    const { codec: c } = codec();
    const ctx = contextOf('alice', 'tools/call', params);
    const states = await Promise.all(Array.from({ length: 20 }, () => c.mint(payload, ctx)));
    expect(new Set(states).size).toBe(20);
  });

  it('a change of any one character, a cut, an addition or a foreign value is refused, and refusals do not use the state up', async () => {
    const { codec: c } = codec();
    const state = await c.mint(payload, contextOf('alice', 'tools/call', params));
    const ctx = contextOf('alice', 'tools/call', retry(params, state));
    for (let i = 0; i < state.length; i++) {
      const changed = `${state.slice(0, i)}${state[i] === 'A' ? 'B' : 'A'}${state.slice(i + 1)}`;
      const error = await refusal(c.verify(changed, ctx));
      expect(error.message, `character ${i} changed`).toMatch(/not sealed by this server, or was changed/);
    }
    const [prefix, version, keyId, iv, tag, body] = state.split(':') as [string, string, string, string, string, string];
    const shortTag = Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url');
    const forgeries = [
      '',
      'not-a-state',
      state.slice(0, -1),
      `${state}A`,
      `${state}:`,
      `${state}:extra`,
      [prefix, version, keyId, iv, shortTag, body].join(':'),
      [prefix, version, keyId, iv, tag].join(':'),
      // Sealed with the same key, for another purpose (a state value at rest).
      new Sealer([KEY_A]).seal(JSON.stringify({ p: 1, exp: Number.MAX_SAFE_INTEGER, pr: 'alice', d: 'x', n: 'y' }), 'handle\nk'),
      // A well-formed state in the clear.
      JSON.stringify({ p: payload, exp: Number.MAX_SAFE_INTEGER, pr: 'alice', d: 'x', n: 'y' }),
    ];
    for (const forged of forgeries) await refusal(c.verify(forged, ctx));
    // None of the refusals took the state's single use.
    expect(await c.verify(state, ctx)).toEqual(payload);
  });

  it("another principal's state is refused; an anonymous state is refused to a named principal and the other way round", async () => {
    const { codec: c } = codec();
    const alices = await c.mint(payload, contextOf('alice', 'tools/call', params));
    const anonymous = await c.mint(payload, contextOf(undefined, 'tools/call', params));
    expect((await refusal(c.verify(alices, contextOf('bob', 'tools/call', retry(params, alices))))).message).toMatch(/another principal/);
    await refusal(c.verify(alices, contextOf(undefined, 'tools/call', retry(params, alices))));
    await refusal(c.verify(anonymous, contextOf('alice', 'tools/call', retry(params, anonymous))));
    // The principal it was minted for still opens each (the refusals used nothing up).
    expect(await c.verify(alices, contextOf('alice', 'tools/call', retry(params, alices)))).toEqual(payload);
    expect(await c.verify(anonymous, contextOf(undefined, 'tools/call', retry(params, anonymous)))).toEqual(payload);
  });

  it('a state minted for one request is refused on another: other arguments, another tool, another method', async () => {
    const { codec: c } = codec();
    const state = await c.mint(payload, contextOf('alice', 'tools/call', params));
    const others: Array<[string, Params | undefined]> = [
      ['tools/call', call('book_table', { restaurant: 'chez-ami', guests: 5 })],
      ['tools/call', call('book_table', { restaurant: 'chez-ami' })],
      ['tools/call', call('book_table', { restaurant: 'chez-ami', guests: 4, when: 'now' })],
      ['tools/call', call('cancel_table', { restaurant: 'chez-ami', guests: 4 })],
      ['prompts/get', params],
      ['tools/call', undefined],
    ];
    for (const [method, other] of others) {
      const error = await refusal(c.verify(state, contextOf('alice', method, other === undefined ? undefined : retry(other, state))));
      expect(error.message).toMatch(/minted for another request/);
    }
    expect(await c.verify(state, contextOf('alice', 'tools/call', retry(params, state)))).toEqual(payload);
  });

  it('what a retry adds (requestState, inputResponses, _meta) and the order of keys do not change the request', async () => {
    const { codec: c } = codec();
    const first = { _meta: { progressToken: 1 }, arguments: { b: { y: 2, x: 1 }, a: [1, 2] }, name: 'order' };
    const state = await c.mint(payload, contextOf('alice', 'tools/call', first));
    // The retry: keys in another order, other `_meta`, and the retry's own fields.
    const again = {
      requestState: state,
      name: 'order',
      inputResponses: { q: { action: 'decline' } },
      arguments: { a: [1, 2], b: { x: 1, y: 2 } },
      _meta: { progressToken: 99, 'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' } },
    };
    expect(await c.verify(state, contextOf('alice', 'tools/call', again))).toEqual(payload);
  });

  it('a state is refused from its expiry on: the endpoint ttlMs by default, or the one minted with', async () => {
    const { codec: c, clock } = codec();
    const ctx = contextOf('alice', 'tools/call', params);
    const early = await c.mint(payload, ctx);
    const late = await c.mint(payload, ctx);
    const short = await c.mint(payload, ctx, { ttlMs: 1_000 });
    const shortLate = await c.mint(payload, ctx, { ttlMs: 1_000 });
    clock.advance(999);
    expect(await c.verify(short, ctx)).toEqual(payload);
    clock.advance(1);
    expect((await refusal(c.verify(shortLate, ctx))).message).toMatch(/expired/);
    clock.advance(TTL_MS - 1_000 - 1);
    expect(await c.verify(early, ctx)).toEqual(payload);
    clock.advance(1);
    expect((await refusal(c.verify(late, ctx))).message).toMatch(/expired/);
  });

  it('a state opens once: a second verify, later or concurrent with the first, is refused', async () => {
    const { codec: c, clock } = codec();
    const ctx = contextOf('alice', 'tools/call', params);
    const state = await c.mint(payload, ctx);
    expect(await c.verify(state, ctx)).toEqual(payload);
    expect((await refusal(c.verify(state, ctx))).message).toMatch(/used already/);
    // Still refused as used (not as expired) on the last millisecond of the state's life.
    clock.advance(TTL_MS - 1);
    expect((await refusal(c.verify(state, ctx))).message).toMatch(/used already/);

    const racing = await c.mint(payload, ctx);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => c.verify(racing, ctx)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it('single use holds across processes that share the cache store, and a state opens on any of them', async () => {
    const cacheStore = new MemoryCacheStore();
    const clock = manualClock();
    const one = codec({ cacheStore, clock }).codec;
    const two = codec({ cacheStore, clock }).codec;
    const ctx = contextOf('alice', 'tools/call', params);
    const state = await one.mint(payload, ctx);
    expect(await two.verify(state, ctx)).toEqual(payload);
    expect((await refusal(one.verify(state, ctx))).message).toMatch(/used already/);
    await refusal(two.verify(state, ctx));

    const raced = await two.mint(payload, ctx);
    const outcomes = await Promise.allSettled([one.verify(raced, ctx), two.verify(raced, ctx)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it('key rotation: a state sealed with A opens with [B, A], not with [B]; new states are sealed with B', async () => {
    const cacheStore = new MemoryCacheStore();
    const clock = manualClock();
    const before = codec({ keys: [KEY_A], cacheStore, clock }).codec;
    const rotating = codec({ keys: [KEY_B, KEY_A], cacheStore, clock }).codec;
    const after = codec({ keys: [KEY_B], cacheStore, clock }).codec;
    const ctx = contextOf('alice', 'tools/call', params);
    const state = await before.mint(payload, ctx);
    await refusal(after.verify(state, ctx));
    expect(await rotating.verify(state, ctx)).toEqual(payload);

    const fresh = await rotating.mint(payload, ctx);
    expect(fresh).toMatch(/^enc:v1:B:/);
    await refusal(before.verify(fresh, ctx));
    expect(await after.verify(fresh, ctx)).toEqual(payload);
  });

  it('ttlMs must be a positive integer of milliseconds: a programming error, not a refused state', async () => {
    const { codec: c } = codec();
    const ctx = contextOf('alice', 'tools/call', params);
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(c.mint(payload, ctx, { ttlMs })).rejects.toThrow(
        new TypeError(`requestState.mint: ttlMs must be a positive integer; got ${ttlMs}`),
      );
    }
    expect(await c.mint(payload, ctx, { ttlMs: 1 })).toMatch(/^enc:v1:/);
  });

  it('mint and verify need the context of a request the endpoint serves', async () => {
    const { codec: c } = codec();
    const state = await c.mint(payload, contextOf('alice', 'tools/call', params));
    const foreign: HandlerContext[] = [{}, { http: { req: { headers: {} } } }, { requestInfo: { headers: {} } }, { request: {} }];
    for (const ctx of foreign) {
      for (const attempt of [() => c.mint(payload, ctx), () => c.verify(state, ctx)]) {
        await expect(attempt()).rejects.toMatchObject({
          code: 'ERR_MCP_SESSION_CONTEXT',
          message: expect.stringMatching(/requestState\.(mint|verify)/),
        });
      }
    }
  });

  it('with a key of this process and other processes on the bus, the first mint warns once', async () => {
    const { codec: c, log } = codec({ processKey: true });
    const ctx = contextOf('alice', 'tools/call', params);
    await c.mint(payload, ctx);
    await c.mint(payload, ctx);
    expect(log.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
    expect(log.lines[0]?.message).toMatch(/requestState is sealed with a key of this process/);
    const quiet = codec({ processKey: false });
    await quiet.codec.mint(payload, ctx);
    expect(quiet.log.lines).toEqual([]);
  });
});
