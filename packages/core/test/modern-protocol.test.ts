/**
 * The 2026-07-28 rules the entry enforces itself: which POSTs may be modern (checked against the
 * SDK's own classifier over every combination of body and header below), the header checks and their
 * base64 sentinel, and the HTTP status of protocol errors.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type JSONRPCMessage, type JSONRPCRequest, invalidMessageReason } from '../src/protocol/jsonrpc.js';
import {
  checkParamHeaders,
  checkStandardHeaders,
  decodeHeaderValue,
  isModernVersion,
  mayBeModern,
  mirroredArguments,
  modernErrorStatus,
} from '../src/protocol/modern.js';

const CLAIM = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';

const metas: Array<Record<string, unknown> | undefined | null> = [
  undefined,
  null,
  {},
  { progressToken: 1 },
  { [CLAIM]: '2026-07-28', [CAPS]: {} },
  { [CLAIM]: '2026-07-28' },
  { [CLAIM]: '2025-11-25', [CAPS]: {} },
  { [CLAIM]: 'v999.0.0', [CAPS]: {} },
  { [CLAIM]: 7, [CAPS]: {} },
  { [CLAIM]: null },
];
const methods = ['tools/call', 'tools/list', 'initialize', 'server/discover', 'subscriptions/listen', 'ping'];
const headers: Array<string | undefined> = [undefined, '2025-11-25', '2026-07-28', ' 2026-07-28 ', '2027-01-01', '2025-03-26'];

function params(meta: Record<string, unknown> | undefined | null, method: string): Record<string, unknown> | undefined {
  const base: Record<string, unknown> =
    method === 'tools/call' ? { name: 'echo' } : method === 'initialize' ? { protocolVersion: '2025-11-25' } : {};
  if (meta === undefined) return Object.keys(base).length === 0 ? undefined : base;
  return { ...base, _meta: meta };
}

function bodies(): Array<{ messages: JSONRPCMessage[]; batch: boolean; label: string }> {
  const out: Array<{ messages: JSONRPCMessage[]; batch: boolean; label: string }> = [];
  for (const method of methods) {
    for (const meta of metas) {
      const p = params(meta, method);
      const request: JSONRPCMessage = p === undefined ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', id: 1, method, params: p };
      const notification: JSONRPCMessage =
        p === undefined
          ? { jsonrpc: '2.0', method: `notifications/${method}` }
          : { jsonrpc: '2.0', method: `notifications/${method}`, params: p };
      out.push({ messages: [request], batch: false, label: `request ${method} ${JSON.stringify(meta)}` });
      out.push({ messages: [notification], batch: false, label: `notification ${method} ${JSON.stringify(meta)}` });
      out.push({
        messages: [request, { jsonrpc: '2.0', id: 2, method: 'ping' }],
        batch: true,
        label: `batch with ${method} ${JSON.stringify(meta)}`,
      });
    }
  }
  out.push({ messages: [{ jsonrpc: '2.0', id: 1, result: { _meta: { [CLAIM]: '2026-07-28' } } }], batch: false, label: 'a response' });
  return out;
}

describe('mayBeModern agrees with the SDK classifier', () => {
  it('sends every POST the SDK would serve as 2026-07-28 or refuse to the modern lane', () => {
    let checked = 0;
    let modern = 0;
    for (const { messages, batch, label } of bodies()) {
      // The entry's envelope check refuses these before any lane (400): the classifier never sees them.
      if (messages.some((message) => invalidMessageReason(message) !== undefined)) continue;
      for (const header of headers) {
        const requestHeaders: IncomingHttpHeaders = header === undefined ? {} : { 'mcp-protocol-version': header };
        const sdk = classifyInboundRequest({
          httpMethod: 'POST',
          protocolVersionHeader: header?.trim(),
          body: batch ? messages : messages[0],
        });
        const ours = mayBeModern(messages, batch, requestHeaders);
        checked += 1;
        if (sdk.kind !== 'legacy') {
          modern += 1;
          expect(ours, `${label} with header ${String(header)}: the SDK says ${sdk.kind}`).toBe(true);
        }
      }
    }
    // The grid reaches both outcomes many times over.
    expect(checked).toBeGreaterThan(900);
    expect(modern).toBeGreaterThan(200);
  });

  it('keeps plain legacy traffic away from the classifier', () => {
    const legacy: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 1 } } };
    expect(mayBeModern([legacy], false, { 'mcp-protocol-version': '2025-11-25' })).toBe(false);
    expect(mayBeModern([legacy], false, {})).toBe(false);
    expect(mayBeModern([{ jsonrpc: '2.0', id: 1, result: {} }], false, { 'mcp-protocol-version': '2026-07-28' })).toBe(false);
    expect(mayBeModern([legacy, legacy], true, { 'mcp-protocol-version': '2026-07-28' })).toBe(false);
  });

  it('a version header that is no revision at all is legacy (an unsupported legacy version), unlike the SDK', () => {
    // The SDK compares strings, so "banana" sorts after 2026-07-28; such a header is answered as an
    // unsupported version by the legacy lane instead (400 either way).
    expect(isModernVersion('banana')).toBe(false);
    expect(isModernVersion('2026-07-28')).toBe(true);
    expect(isModernVersion('2027-01-01')).toBe(true);
    expect(isModernVersion('2025-11-25')).toBe(false);
    expect(mayBeModern([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }], false, { 'mcp-protocol-version': 'banana' })).toBe(false);
  });
});

const call = (method: string, params?: Record<string, unknown>): JSONRPCRequest =>
  params === undefined ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', id: 1, method, params };
const both = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };

describe('checkStandardHeaders', () => {
  it('wants MCP-Protocol-Version, then Mcp-Method, on every request: -32020', () => {
    expect(checkStandardHeaders({ 'mcp-method': 'tools/list' }, call('tools/list'))).toMatchObject({ status: 400, code: -32020 });
    expect(checkStandardHeaders({ 'mcp-protocol-version': '2026-07-28' }, call('tools/list'))?.message).toContain('Mcp-Method');
    expect(checkStandardHeaders({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' }, call('tools/list'))).toBeUndefined();
  });

  it('wants Mcp-Name equal to the name or URI the body carries, decoded and trimmed', () => {
    const echo = call('tools/call', { name: 'echo' });
    expect(checkStandardHeaders(both, echo)).toMatchObject({ code: -32020, data: { mismatch: { header: '(missing)' } } });
    expect(checkStandardHeaders({ ...both, 'mcp-name': 'other' }, echo)).toMatchObject({ code: -32020 });
    expect(checkStandardHeaders({ ...both, 'mcp-name': ' echo\t' }, echo)).toBeUndefined();
    expect(checkStandardHeaders({ ...both, 'mcp-name': '=?base64?ZWNobw==?=' }, echo)).toBeUndefined();
    expect(checkStandardHeaders({ ...both, 'mcp-name': '=?base64?ZWNobw=?=' }, echo)?.message).toContain('invalid Base64');
    const read = call('resources/read', { uri: 'test://a' });
    expect(checkStandardHeaders({ ...both, 'mcp-method': 'resources/read', 'mcp-name': 'test://a' }, read)).toBeUndefined();
    expect(checkStandardHeaders({ ...both, 'mcp-method': 'resources/read', 'mcp-name': 'test://b' }, read)).toMatchObject({ code: -32020 });
    // No name in the body: nothing to mirror.
    expect(checkStandardHeaders(both, call('tools/call', {}))).toBeUndefined();
  });
});

describe('decodeHeaderValue', () => {
  it('decodes the sentinel strictly and leaves other values as they are', () => {
    expect(decodeHeaderValue('plain value')).toBe('plain value');
    expect(decodeHeaderValue('=?base64?SGVsbG8=?=')).toBe('Hello');
    expect(decodeHeaderValue('=?base64?5pel5pys?=')).toBe('日本');
    expect(decodeHeaderValue('=?base64?SGVsbG8?=')).toBeUndefined(); // no padding
    expect(decodeHeaderValue('=?base64?SGV*bG8=?=')).toBeUndefined(); // bad character
    expect(decodeHeaderValue('=?base64?/w==?=')).toBeUndefined(); // not UTF-8
    expect(decodeHeaderValue('=?base64??=')).toBe('');
  });
});

describe('Mcp-Param-* headers', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      level: { type: 'integer', 'x-mcp-header': 'Level' },
      nested: { type: 'object', properties: { flag: { type: 'boolean', 'x-mcp-header': 'Flag' } } },
      plain: { type: 'string' },
    },
  };

  it('finds the arguments a schema mirrors, through properties only', () => {
    expect(mirroredArguments(schema)).toEqual([
      { path: ['region'], header: 'Region', type: 'string' },
      { path: ['level'], header: 'Level', type: 'integer' },
      { path: ['nested', 'flag'], header: 'Flag', type: 'boolean' },
    ]);
    expect(mirroredArguments({ type: 'object', items: { 'x-mcp-header': 'X', type: 'string' } })).toEqual([]);
    expect(mirroredArguments(undefined)).toEqual([]);
  });

  it('each mirrored argument in the body needs its header, equal to it', () => {
    const mirrored = mirroredArguments(schema);
    expect(checkParamHeaders({}, mirrored, {})).toBeUndefined();
    expect(checkParamHeaders({}, mirrored, { region: 'eu' })).toMatchObject({ status: 400, code: -32020 });
    expect(checkParamHeaders({ 'mcp-param-region': 'eu' }, mirrored, { region: 'eu' })).toBeUndefined();
    expect(checkParamHeaders({ 'mcp-param-region': 'us' }, mirrored, { region: 'eu' })).toMatchObject({ code: -32020 });
    expect(checkParamHeaders({ 'mcp-param-region': '=?base64?ZXU=?=' }, mirrored, { region: 'eu' })).toBeUndefined();
    expect(checkParamHeaders({ 'mcp-param-region': '=?base64?ZXU?=' }, mirrored, { region: 'eu' })?.message).toContain('invalid Base64');
    // Numbers compare as numbers; booleans as their text; objects and null are not mirrored.
    expect(checkParamHeaders({ 'mcp-param-level': '3.0' }, mirrored, { level: 3 })).toBeUndefined();
    expect(checkParamHeaders({ 'mcp-param-level': '4' }, mirrored, { level: 3 })).toMatchObject({ code: -32020 });
    expect(checkParamHeaders({ 'mcp-param-flag': 'true' }, mirrored, { nested: { flag: true } })).toBeUndefined();
    expect(checkParamHeaders({}, mirrored, { region: null, level: { n: 1 } })).toBeUndefined();
  });
});

describe('modernErrorStatus', () => {
  it('maps the protocol gates’ errors to their status, keeps a handler’s in-band, and -32021 is always 400', () => {
    expect(modernErrorStatus(-32601, true)).toBe(404);
    expect(modernErrorStatus(-32600, true)).toBe(400);
    expect(modernErrorStatus(-32022, true)).toBe(400);
    expect(modernErrorStatus(-32020, true)).toBe(400);
    expect(modernErrorStatus(-32602, true)).toBeUndefined();
    expect(modernErrorStatus(-32603, true)).toBeUndefined();
    expect(modernErrorStatus(-32601, false)).toBeUndefined();
    expect(modernErrorStatus(-32021, false)).toBe(400);
  });
});
