/**
 * The last phase of a 2026-07-28 fuzz run: the endpoint closes with requests in flight — listen
 * streams, calls answered in SSE or still owed as JSON, and in stateless mode a legacy call — and
 * each must still be answered within the deadline: a listen stream ends with its result, a call gets
 * its response or 503 with Retry-After; none is cut off or ends without one.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { RunningApp } from '../harness.js';
import { ACCEPT_BOTH } from '../raw.js';
import { type Observed, check } from './modern-check.js';
import { BodyReader } from './modern-flows.js';
import { type Expectation, type LegacyMode, META, MODERN_VERSION } from './modern-oracle.js';
import { DEADLINE_MS } from './settings.js';

/** A tool of the fuzz's servers that holds its call until the call is cancelled (the endpoint closing). */
export const HOLD_TOOL = 'fuzz_hold';

/** Counts the calls of {@link HOLD_TOOL} under way, so the endpoint closes only once each was taken. */
export class Holds {
  #held = 0;
  readonly #waiting: Array<{ count: number; resolve: () => void }> = [];

  /** Adds the tool to a server. */
  register(server: McpServer): McpServer {
    server.registerTool(HOLD_TOOL, { inputSchema: z.object({ log: z.boolean().optional() }) }, async ({ log }, ctx) => {
      if (log === true) await ctx.mcpReq.log('info', 'holding');
      this.#held += 1;
      for (const waiter of this.#waiting.filter((each) => each.count <= this.#held)) waiter.resolve();
      const { signal } = ctx.mcpReq;
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return { content: [{ type: 'text', text: 'released' }] };
    });
    return server;
  }

  /** Resolves once `count` calls were taken since the start. */
  until(count: number): Promise<void> {
    if (this.#held >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ count, resolve }));
  }
}

interface InFlight {
  label: string;
  expectation: Expectation;
  response: Promise<Response>;
}

const meta = (extra: Record<string, unknown> = {}) => ({ [META.protocolVersion]: MODERN_VERSION, [META.clientCapabilities]: {}, ...extra });

function called(id: number, modern: boolean, logLevel: boolean): Expectation {
  return {
    outcomes: [
      {
        status: 200,
        reason: 'answered before the endpoint closed',
        success: { kind: 'answer', modern, method: 'tools/call', logLevel, progress: false, resultOnly: false },
      },
    ],
    requestIds: [id],
    sessionless: true,
  };
}

/** Closes `app` with requests in flight; the problems of their answers. */
export async function closeWithRequestsInFlight(app: RunningApp, mode: LegacyMode, holds: Holds, nextId: () => number): Promise<string[]> {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  const post = (id: number, body: Record<string, unknown>, headers: Record<string, string>) =>
    fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id, ...body }),
      signal,
    });
  const modern = (method: string, name?: string) => ({
    'mcp-protocol-version': MODERN_VERSION,
    'mcp-method': method,
    ...(name === undefined ? {} : { 'mcp-name': name }),
  });
  const listens: InFlight[] = [];
  for (const filter of [{ toolsListChanged: true }, { promptsListChanged: true }]) {
    const id = nextId();
    const listen = { tools: filter.toolsListChanged === true, prompts: filter.promptsListChanged === true, resources: false, uris: [] };
    listens.push({
      label: `listen ${JSON.stringify(filter)}`,
      expectation: {
        outcomes: [{ status: 200, reason: 'listening', success: { kind: 'listen', stays: 'either', filter: listen } }],
        requestIds: [id],
        sessionless: true,
      },
      response: post(
        id,
        { method: 'subscriptions/listen', params: { notifications: filter, _meta: meta() } },
        modern('subscriptions/listen'),
      ),
    });
  }
  const calls: InFlight[] = [];
  for (const logLevel of [true, false]) {
    const id = nextId();
    const params = { name: HOLD_TOOL, arguments: { log: logLevel }, _meta: meta(logLevel ? { [META.logLevel]: 'info' } : {}) };
    calls.push({
      label: `a 2026-07-28 call${logLevel ? ' that logs' : ''}`,
      expectation: called(id, true, logLevel),
      response: post(id, { method: 'tools/call', params }, modern('tools/call', HOLD_TOOL)),
    });
  }
  if (mode === 'stateless') {
    const id = nextId();
    calls.push({
      label: 'a legacy call without a session that logs',
      expectation: called(id, false, true),
      response: post(
        id,
        { method: 'tools/call', params: { name: HOLD_TOOL, arguments: { log: true } } },
        { 'mcp-protocol-version': '2025-06-18' },
      ),
    });
  }
  const problems: string[] = [];
  try {
    // Every request is taken: the listen streams have answered, each call reached its tool.
    await Promise.race([
      Promise.all([...listens.map((each) => each.response), holds.until(calls.length)]),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('not taken')), { once: true })),
    ]);
  } catch {
    return [`the requests to close the endpoint on were not all taken within ${DEADLINE_MS} ms`];
  }
  const closing = app.close();
  for (const { label, expectation, response } of [...listens, ...calls]) {
    try {
      const res = await response;
      const reader = new BodyReader(res);
      await reader.until(() => false);
      const observed: Observed = { status: res.status, headers: res.headers, text: reader.text, ended: true };
      problems.push(...check(expectation, observed).map((problem) => `${label}: ${problem}`));
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      problems.push(signal.aborted ? `${label}: not answered within ${DEADLINE_MS} ms of the close` : `${label}: ${String(error)}${cause}`);
    }
  }
  await closing;
  return problems;
}
