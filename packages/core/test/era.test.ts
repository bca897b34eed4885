/** The era classifier: which POST bodies belong to the 2026-07-28 ("modern") era and which are legacy. */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION_META_KEY, classifyEra, claimedVersion } from '../src/protocol/era.js';
import type { JSONRPCMessage } from '../src/protocol/jsonrpc.js';

const MODERN = '2026-07-28';
const claim = (version: unknown) => ({ _meta: { [PROTOCOL_VERSION_META_KEY]: version } });

const request = (method: string, params?: Record<string, unknown>): JSONRPCMessage =>
  params === undefined ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', id: 1, method, params };
const notification = (method: string, params?: Record<string, unknown>): JSONRPCMessage =>
  params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };

const one = (message: JSONRPCMessage) => classifyEra([message], false);

describe('classifyEra', () => {
  it('names the meta key the protocol defines', () => {
    expect(PROTOCOL_VERSION_META_KEY).toBe('io.modelcontextprotocol/protocolVersion');
  });

  it('a request claiming a version in params._meta is modern, with that version', () => {
    expect(one(request('tools/call', { name: 'echo', ...claim(MODERN) }))).toEqual({ era: 'modern', protocolVersion: MODERN });
    expect(one(request('tools/list', claim('2027-01-01')))).toEqual({ era: 'modern', protocolVersion: '2027-01-01' });
  });

  it('initialize without a claim is legacy', () => {
    expect(
      one(request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } })),
    ).toEqual({
      era: 'legacy',
    });
  });

  it('a request without a claim is legacy: no params, params without _meta, _meta without the key', () => {
    expect(one(request('tools/list'))).toEqual({ era: 'legacy' });
    expect(one(request('tools/call', { name: 'echo' }))).toEqual({ era: 'legacy' });
    expect(one(request('tools/call', { name: 'echo', _meta: { progressToken: 7 } }))).toEqual({ era: 'legacy' });
    // The version in params (as initialize carries it) is not a claim.
    expect(one(request('tools/list', { protocolVersion: MODERN }))).toEqual({ era: 'legacy' });
  });

  it('notifications and responses without a claim are legacy', () => {
    expect(one(notification('notifications/initialized'))).toEqual({ era: 'legacy' });
    expect(one(notification('notifications/cancelled', { requestId: 1 }))).toEqual({ era: 'legacy' });
    expect(one({ jsonrpc: '2.0', id: 1, result: {} })).toEqual({ era: 'legacy' });
    expect(one({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } })).toEqual({ era: 'legacy' });
  });

  it('a response is legacy even when its result carries the meta key', () => {
    expect(one({ jsonrpc: '2.0', id: 1, result: claim(MODERN) })).toEqual({ era: 'legacy' });
  });

  it('a notification claiming a version is modern', () => {
    expect(one(notification('notifications/initialized', claim(MODERN)))).toEqual({ era: 'modern', protocolVersion: MODERN });
  });

  it('any batch is legacy, even of modern-claiming messages', () => {
    const modern = request('tools/list', claim(MODERN));
    expect(classifyEra([modern], true)).toEqual({ era: 'legacy' });
    expect(classifyEra([modern, notification('notifications/initialized', claim(MODERN))], true)).toEqual({ era: 'legacy' });
    expect(classifyEra([], true)).toEqual({ era: 'legacy' });
    // More than one message is a batch, whatever the flag says.
    expect(classifyEra([modern, modern], false)).toEqual({ era: 'legacy' });
  });

  it.each([
    ['null', null],
    ['a string', 'io.modelcontextprotocol/protocolVersion=2026-07-28'],
    ['a number', 20260728],
    ['an array', [MODERN]],
    ['true', true],
  ])('a request whose _meta is %s is legacy', (_label, meta) => {
    expect(one(request('tools/list', { _meta: meta }))).toEqual({ era: 'legacy' });
  });

  it.each([
    ['a number', 20260728],
    ['null', null],
    ['an object', { version: MODERN }],
    ['an array', [MODERN]],
    ['a boolean', true],
  ])('a claim whose value is %s is not a version: legacy', (_label, value) => {
    expect(one(request('tools/list', claim(value)))).toEqual({ era: 'legacy' });
  });
});

describe('claimedVersion', () => {
  it('reads the claim of a request or notification as it is, and nothing from a response', () => {
    expect(claimedVersion(request('tools/list', claim(MODERN)))).toBe(MODERN);
    expect(claimedVersion(request('tools/list', claim(7)))).toBe(7);
    expect(claimedVersion(notification('notifications/initialized', claim(MODERN)))).toBe(MODERN);
    expect(claimedVersion(request('tools/list'))).toBeUndefined();
    expect(claimedVersion({ jsonrpc: '2.0', id: 1, result: claim(MODERN) })).toBeUndefined();
  });
});
