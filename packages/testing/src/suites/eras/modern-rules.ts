/**
 * The HTTP rules of the 2026-07-28 lane (SPEC.md, "The 2026-07-28 lane"), written by hand on the real
 * adapter: the mirrored headers (-32020), versions (-32022), capabilities (-32021), unknown methods
 * (404), streamed responses and `server/discover`.
 */
import { LOG_LEVEL_META_KEY } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { MessageMiddleware } from '@x/mcp-session-core';
import { erasServerFactory } from '../../fixtures/eras-server.js';
import { type AdapterHarness, appsFor } from '../../harness.js';
import { type HeaderMap, type Json, readMessages, readResponse } from '../http-rules/helpers.js';
import {
  HEADER_MISMATCH,
  LEGACY,
  MISSING_CAPABILITY,
  MODERN,
  UNSUPPORTED_VERSION,
  envelope,
  expectModernError,
  modernCall,
  modernRequest,
  postModern,
  resultText,
} from './helpers.js';

/** A middleware that records the methods reaching the pipeline: a refused request never does. */
function reachedLog(): { reached: string[]; middleware: MessageMiddleware } {
  const reached: string[] = [];
  return { reached, middleware: (ctx, next) => (reached.push(ctx.method), next()) };
}

export function modernRulesCases(harness: AdapterHarness): void {
  describe('the 2026-07-28 lane: headers and statuses', () => {
    const start = appsFor(harness, () => ({ server: erasServerFactory() }));

    it('a missing or mismatched MCP-Protocol-Version, Mcp-Method or Mcp-Name gets 400 with -32020, before the server', async () => {
      const { reached, middleware } = reachedLog();
      const app = await start({ middleware: [middleware] });
      const cases: Array<[string, () => { body: Json; headers: HeaderMap }, HeaderMap]> = [
        ['no MCP-Protocol-Version', () => modernCall('echo', { text: 'x' }), { 'mcp-protocol-version': undefined }],
        ['MCP-Protocol-Version other than the _meta one', () => modernCall('echo', { text: 'x' }), { 'mcp-protocol-version': LEGACY }],
        ['no Mcp-Method', () => modernCall('echo', { text: 'x' }), { 'mcp-method': undefined }],
        ['Mcp-Method naming another method', () => modernCall('echo', { text: 'x' }), { 'mcp-method': 'tools/list' }],
        ['no Mcp-Method on tools/list', () => modernRequest('tools/list'), { 'mcp-method': undefined }],
        ['no Mcp-Name', () => modernCall('echo', { text: 'x' }), { 'mcp-name': undefined }],
        ['Mcp-Name naming another tool', () => modernCall('echo', { text: 'x' }), { 'mcp-name': 'whoami' }],
        ['Mcp-Name, base64, naming another tool', () => modernCall('echo', { text: 'x' }), { 'mcp-name': '=?base64?d2hvYW1p?=' }],
        ['Mcp-Name with an invalid base64 value', () => modernCall('echo', { text: 'x' }), { 'mcp-name': '=?base64?!!!?=' }],
      ];
      for (const [label, request, headers] of cases) {
        const sent = request();
        const res = await postModern(app.url, sent, headers);
        const error = await expectModernError(res, 400, HEADER_MISMATCH, sent.body.id).catch((failure: unknown) => {
          throw new Error(`${label}: ${String(failure)}`);
        });
        expect(error.message, label).toMatch(/header/i);
      }
      expect(reached).toEqual([]);
      // The same requests with their headers right are served; a base64 Mcp-Name is decoded first.
      for (const name of ['echo', '=?base64?ZWNobw==?=']) {
        const res = await postModern(app.url, modernCall('echo', { text: name }), { 'mcp-name': name });
        expect(res.status).toBe(200);
        expect(await readResponse(res)).toMatchObject({ result: { resultType: 'complete', content: [{ type: 'text', text: name }] } });
      }
      expect(reached).toEqual(['tools/call', 'tools/call']);
    });

    it('an unsupported version gets 400 with -32022 and data.supported; an undeclared capability 400 with -32021; an unknown method 404', async () => {
      const app = await start();
      const future = modernCall('echo', { text: 'x' });
      (future.body.params!._meta as Record<string, unknown>)['io.modelcontextprotocol/protocolVersion'] = '2099-01-01';
      const unsupported = await expectModernError(
        await postModern(app.url, future, { 'mcp-protocol-version': '2099-01-01' }),
        400,
        UNSUPPORTED_VERSION,
        future.body.id,
      );
      expect(unsupported.data).toMatchObject({ supported: expect.arrayContaining([MODERN]), requested: '2099-01-01' });

      // ask_name needs elicitation: a client that did not declare it is refused, not asked.
      const undeclared = modernCall('ask_name', {}, {});
      const missing = await expectModernError(await postModern(app.url, undeclared), 400, MISSING_CAPABILITY, undeclared.body.id);
      expect(missing.data).toMatchObject({ requiredCapabilities: { elicitation: expect.any(Object) } });
      // Declared, the same call is asked for input.
      const declared = await postModern(app.url, modernCall('ask_name'));
      expect(declared.status).toBe(200);
      expect((await readResponse(declared)).result).toMatchObject({ resultType: 'input_required', requestState: expect.any(String) });

      // No client capabilities in _meta at all: 400, -32602.
      const bare = modernCall('echo', { text: 'x' });
      bare.body.params!._meta = { 'io.modelcontextprotocol/protocolVersion': MODERN };
      await expectModernError(await postModern(app.url, bare), 400, -32602, bare.body.id);

      const unknown = modernRequest('made/up');
      await expectModernError(await postModern(app.url, unknown), 404, -32601, unknown.body.id);
    });

    it('streams progress, and logs at the requested level only, on the request’s own SSE response with X-Accel-Buffering: no; a notification gets 202', async () => {
      const app = await start();
      const request = modernRequest('tools/call', { name: 'countdown', arguments: { from: 3 } }, { meta: { progressToken: 'p-1' } });
      const res = await postModern(app.url, request);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      expect(res.headers.get('mcp-session-id')).toBeNull();
      const messages = await readMessages(res);
      // Only messages about this request: its progress, then its answer; no server request.
      expect(messages.map((message) => message.method ?? `response ${String(message.id)}`)).toEqual([
        'notifications/progress',
        'notifications/progress',
        'notifications/progress',
        `response ${String(request.body.id)}`,
      ]);
      expect(messages.slice(0, 3).map((message) => message.params)).toEqual(
        [1, 2, 3].map((progress) => ({ progressToken: 'p-1', progress, total: 3 })),
      );
      expect(resultText(messages[3]!)).toBe('liftoff');

      // Logging only at the level the request asked for, on the same response.
      const logged = modernRequest(
        'tools/call',
        { name: 'countdown', arguments: { from: 2 } },
        { meta: { progressToken: 'p-2', [LOG_LEVEL_META_KEY]: 'info' } },
      );
      const withLogs = await readMessages(await postModern(app.url, logged));
      expect(withLogs.map((message) => (message.method === 'notifications/message' ? message.params?.data : message.method))).toEqual([
        't-minus 2',
        'notifications/progress',
        't-minus 1',
        'notifications/progress',
        undefined,
      ]);

      const notification = await postModern(app.url, {
        body: { jsonrpc: '2.0', method: 'notifications/roots/list_changed', params: { _meta: envelope() } },
        headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'notifications/roots/list_changed' },
      });
      expect(notification.status).toBe(202);
      expect(await notification.text()).toBe('');
    });

    it('server/discover answers with the versions, capabilities, server info and cache hints', async () => {
      const app = await start();
      const res = await postModern(app.url, modernRequest('server/discover'));
      expect(res.status).toBe(200);
      const { result } = await readResponse(res);
      expect(result).toMatchObject({
        resultType: 'complete',
        supportedVersions: expect.arrayContaining([MODERN]),
        capabilities: { tools: expect.any(Object) },
        cacheScope: expect.stringMatching(/^(public|private)$/),
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'fixture-eras', version: '1.0.0' } },
      });
      expect(result?.ttlMs).toBeGreaterThanOrEqual(0);
    });
  });
}
