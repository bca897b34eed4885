/** Helpers shared by every part of the store compliance suite. */
import type { BusMessage, JSONRPCMessage, SessionRecord, StateWriteOptions } from '@x/mcp-session-core';
import { expect } from 'vitest';
import type { StoreSet, StoreSuiteConfig } from './types.js';

export const T0 = Date.UTC(2026, 0, 1);
export const MAX_EVENTS = 5;
/** Slack for a TTL measured a moment after it was set. */
export const TTL_SLACK_MS = 2_000;

let sequence = 0;
/** A session record as the endpoint creates it, at `T0` unless told otherwise. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  sequence += 1;
  return {
    id: `s${sequence}-${Math.random().toString(36).slice(2, 10)}`,
    protocolVersion: '2025-11-25',
    initialize: {
      id: 1,
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {}, roots: { listChanged: true }, experimental: {} },
        clientInfo: { name: 'test-client', version: '1.0.0', tags: [] },
      },
    },
    createdAt: T0,
    lastActiveAt: T0,
    requestCount: 1,
    idleTimeoutMs: 1_000,
    ...overrides,
  };
}

export function notification(i: number): JSONRPCMessage {
  return { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { i, text: `event ${i}` } } };
}

export function limits(overrides: Partial<StateWriteOptions> = {}): StateWriteOptions {
  return { now: T0, maxKeys: 100, maxBytes: 100_000, ...overrides };
}

/** Collects what a bus handler receives; `until(n)` resolves once n messages have arrived. */
export function collector() {
  const messages: BusMessage[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    messages,
    handler: (message: BusMessage) => {
      messages.push(message);
      for (const waiter of [...waiters]) {
        if (messages.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    async until(count: number): Promise<BusMessage[]> {
      if (messages.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }));
      return messages;
    },
  };
}

export const terminated = (sessionId: string): BusMessage => ({ kind: 'terminated', sessionId });

export async function expectStoreError(promise: unknown): Promise<void> {
  await expect(Promise.resolve(promise)).rejects.toMatchObject({ code: 'ERR_MCP_SESSION_STORE' });
}

/** What the parts of the suite share: the set of the running test, and more sets on demand. */
export interface StoreSuiteContext {
  /** The set the suite created for the running test (in its `beforeEach`); closed after it. */
  current(): StoreSet;
  /** A further fresh set, closed after the running test. */
  another(config?: StoreSuiteConfig): Promise<StoreSet>;
}
