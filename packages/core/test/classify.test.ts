/**
 * The 2026-07-28 lane's classifier answers exactly as the SDK's `classifyInboundRequest` does, while
 * sparing it the requests whose envelope it already found valid: checked over a grid of bodies and
 * headers that vary every condition of the shortcut, each classified twice so the second pass meets
 * the envelopes the first one remembered. A body the entry's envelope check refuses (400) never
 * reaches the classifier: for those the test holds that the check refuses them.
 */
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type InboundOutcome, type InboundRequest, ModernClassifier } from '../src/protocol/classify.js';
import { type JSONRPCMessage, invalidMessageReason } from '../src/protocol/jsonrpc.js';

const CLAIM = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const INFO = 'io.modelcontextprotocol/clientInfo';
const LOG = 'io.modelcontextprotocol/logLevel';
const TASK = 'io.modelcontextprotocol/related-task';

const envelope = { [CLAIM]: '2026-07-28', [CAPS]: {}, [INFO]: { name: 'c', version: '1' } };

const metas: unknown[] = [
  envelope,
  { ...envelope, [CAPS]: { elicitation: {} } },
  { ...envelope, progressToken: 7 },
  { ...envelope, progressToken: 'p' },
  { ...envelope, progressToken: 1.5 },
  { ...envelope, progressToken: null },
  { ...envelope, progressToken: {} },
  { ...envelope, [TASK]: { taskId: 't' } },
  { ...envelope, [TASK]: 'junk' },
  { ...envelope, [CLAIM]: '2025-11-25' },
  { ...envelope, [CLAIM]: '2026-13-99' },
  { ...envelope, [CLAIM]: 42 },
  { [CLAIM]: '2026-07-28' },
  { ...envelope, [CAPS]: 'junk' },
  { ...envelope, [INFO]: { name: 1 } },
  { ...envelope, [LOG]: 'debug' },
  { ...envelope, [LOG]: 'loudest' },
  { ...envelope, 'x.example/foreign': [1, { a: null }] },
  {},
  null,
  [],
  'meta',
];

type Body = Record<string, unknown>;

/** The request's shape: every key and value the shortcut looks at, varied one at a time. */
function requests(meta: unknown): Body[] {
  const params = { name: 'echo', arguments: { text: 'hi' }, _meta: meta };
  const base: Body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params };
  return [
    base,
    { ...base, id: 'a' },
    { ...base, id: 1.5 },
    { ...base, id: null },
    { ...base, id: true },
    { ...base, id: 2 ** 60 },
    { jsonrpc: '2.0', method: 'tools/call', params },
    { ...base, jsonrpc: '1.0' },
    { id: 1, method: 'tools/call', params },
    { ...base, method: 'initialize' },
    { ...base, method: 42 },
    { ...base, method: 'ping', params: { _meta: meta } },
    { ...base, extra: 1 },
    { ...base, result: {} },
    { ...base, error: { code: 1, message: 'x' } },
    { ...base, params: [] },
    { ...base, params: null },
    { jsonrpc: '2.0', id: 1, method: 'tools/call' },
  ];
}

const versionHeaders = [undefined, '2026-07-28', '2025-11-25', ' 2026-07-28'];
const methodOf = (body: Body) => (typeof body.method === 'string' ? body.method : 'tools/call');

/** The outcome's fields the lane reads. */
function reading(outcome: InboundOutcome): unknown {
  if (outcome.kind === 'legacy') return { kind: 'legacy' };
  if (outcome.kind === 'modern') return { kind: 'modern', messageKind: outcome.messageKind, classification: outcome.classification };
  return { kind: 'reject', httpStatus: outcome.httpStatus, code: outcome.code, message: outcome.message, data: outcome.data };
}

/** The grid's bodies with every pair of headers: those the entry lets through, and those it refuses. */
function grid(): { passed: InboundRequest[]; refused: Body[] } {
  const passed: InboundRequest[] = [];
  const refused: Body[] = [];
  for (const meta of metas) {
    for (const body of requests(meta)) {
      if (invalidMessageReason(body) !== undefined) {
        refused.push(body);
        continue;
      }
      for (const version of versionHeaders) {
        for (const method of [undefined, methodOf(body), 'prompts/get']) {
          passed.push({
            protocolVersionHeader: version?.trim(),
            mcpMethodHeader: method,
            mcpNameHeader: 'echo',
            body: body as unknown as JSONRPCMessage,
          });
        }
      }
    }
  }
  return { passed, refused };
}

describe('ModernClassifier', () => {
  it('answers every request of the grid as the SDK does, twice over, and spares the SDK the repeats', () => {
    let sdkCalls = 0;
    const classifier = new ModernClassifier((request) => {
      sdkCalls += 1;
      return classifyInboundRequest(request) as InboundOutcome;
    });
    const { passed: all, refused } = grid();
    // What the shortcut's conditions on the body's shape rest on: the entry refuses these with 400, and
    // the SDK's classifier would not call any of them modern either.
    for (const body of refused) {
      expect(invalidMessageReason(body), JSON.stringify(body)).toBeDefined();
      const sdk = classifyInboundRequest({
        httpMethod: 'POST',
        protocolVersionHeader: '2026-07-28',
        mcpMethodHeader: methodOf(body),
        body,
      });
      expect(sdk.kind, JSON.stringify(body)).not.toBe('modern');
    }
    expect(refused.length).toBeGreaterThan(100);
    let modern = 0;
    const spared: number[] = [];
    for (const pass of [1, 2]) {
      const before = sdkCalls;
      for (const request of all) {
        const expected = reading(classifyInboundRequest({ httpMethod: 'POST', ...request }) as InboundOutcome);
        if (pass === 1 && (expected as { kind: string }).kind === 'modern') modern += 1;
        expect(reading(classifier.classify(request)), `pass ${pass}: ${JSON.stringify(request)}`).toEqual(expected);
      }
      spared.push(all.length - (sdkCalls - before));
    }
    expect(all.length).toBeGreaterThan(1000);
    // Modern outcomes are common in the grid, and the shortcut answered many of them itself: some in
    // the first pass (an envelope met again), more in the second.
    expect(modern).toBeGreaterThan(200);
    expect(spared[0]).toBeGreaterThan(20);
    expect(spared[1]).toBeGreaterThan(spared[0]!);
  });

  it('remembers only an envelope the SDK found valid, and a bounded number of them', () => {
    let sdkCalls = 0;
    const classifier = new ModernClassifier((request) => {
      sdkCalls += 1;
      return classifyInboundRequest(request) as InboundOutcome;
    });
    const request = (meta: unknown): InboundRequest => ({
      protocolVersionHeader: '2026-07-28',
      mcpMethodHeader: 'tools/call',
      mcpNameHeader: 'echo',
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: meta } },
    });
    // Invalid: refused each time by the SDK itself, never remembered.
    const invalid = { ...envelope, [CAPS]: 'junk' };
    for (let i = 0; i < 3; i += 1) expect(classifier.classify(request(invalid)).kind).toBe('reject');
    expect(sdkCalls).toBe(3);
    // Valid: the SDK once, then remembered.
    for (let i = 0; i < 3; i += 1) expect(classifier.classify(request(envelope)).kind).toBe('modern');
    expect(sdkCalls).toBe(4);
    // 300 distinct envelopes: the set starts over when full, so the first one goes to the SDK again.
    for (let i = 0; i < 300; i += 1) classifier.classify(request({ ...envelope, [INFO]: { name: `c${i}`, version: '1' } }));
    const before = sdkCalls;
    classifier.classify(request(envelope));
    expect(sdkCalls).toBe(before + 1);
    // An envelope too long to remember goes to the SDK every time.
    const long = { ...envelope, [INFO]: { name: 'c'.repeat(3000), version: '1' } };
    classifier.classify(request(long));
    classifier.classify(request(long));
    expect(sdkCalls).toBe(before + 3);
  });
});
