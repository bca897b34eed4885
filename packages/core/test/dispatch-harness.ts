/**
 * A Dispatcher over real parts: a SessionTransport with a small stand-in server behind it, session
 * handles over a MemorySessionStore, memory rate-limit and cache stores, and an injected clock. Each
 * dispatched request's outcome is awaited through its sink.
 */
import type { Refusal } from '../src/http/refusal.js';
import { SessionTransport, type RequestSink } from '../src/live/transport.js';
import { Metrics } from '../src/metrics.js';
import { type DispatchTarget, Dispatcher } from '../src/pipeline/dispatcher.js';
import { type JSONRPCMessage, type JSONRPCRequest, type JSONRPCResponse, type RequestId, isRequest } from '../src/protocol/jsonrpc.js';
import { sessionHandle } from '../src/sessions/handle.js';
import { MemoryCacheStore, MemoryRateLimitStore, MemorySessionStore } from '../src/stores/memory.js';
import type { SessionRecord } from '../src/stores/types.js';
import type { AuthInfo, Era, JsonRpcResult, McpSession, Scope } from '../src/types.js';
import { type ManualClock, deferred, manualClock, recordingLogger } from './helpers.js';

/** What the stand-in server answers a request with: a result, or a JSON-RPC error. */
export type Answer = JsonRpcResult | { error: { code: number; message: string; data?: unknown } };

export interface Outcome {
  /** What the sink was told to respond, in order (the last is the answer). */
  readonly response: JSONRPCResponse;
  /** Related messages the server sent before answering. */
  readonly sent: JSONRPCMessage[];
  /** Refusals handed to the HTTP response. */
  readonly refusals: Array<Refusal & { id: RequestId }>;
}

export interface DispatchOptions {
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly id?: RequestId;
  readonly scope?: Scope;
  readonly auth?: AuthInfo;
  readonly headers?: Record<string, string>;
  readonly address?: string;
  /** Whether the HTTP response can still be answered with an error status. Default true. */
  readonly refusable?: boolean;
  readonly acceptsRelated?: boolean;
  /** The era of the request. Default legacy. */
  readonly era?: Era;
  /** Gets the function that gives up on the request (a client closing a response no one can resume). */
  readonly onDispatched?: (cancel: (reason: string) => void) => void;
}

export interface Session {
  readonly record: SessionRecord;
  readonly target: DispatchTarget;
  readonly handle: McpSession;
  /** Requests that reached the server, in order. */
  readonly received: JSONRPCRequest[];
  /** The stand-in server's answer; may send related messages through `notify` first. */
  answer: (request: JSONRPCRequest, notify: (message: JSONRPCMessage) => void) => Answer;
  dispatch(options?: DispatchOptions): Promise<Outcome>;
}

export interface DispatchHarness {
  readonly dispatcher: Dispatcher;
  readonly clock: ManualClock;
  readonly metrics: Metrics;
  readonly errors: unknown[];
  /** A session with a server behind it; `principal` binds it, as an authenticated initialize would. */
  session(id: string, principal?: string): Session;
}

export function dispatchHarness(): DispatchHarness {
  const clock = manualClock();
  const metrics = new Metrics();
  const errors: unknown[] = [];
  const store = new MemorySessionStore();
  const dispatcher = new Dispatcher({
    env: { clock, log: recordingLogger(), rateLimitStore: new MemoryRateLimitStore(), cacheStore: new MemoryCacheStore(), metrics },
    metrics,
    requestTimeoutMs: 60_000,
    reportError: (error) => void errors.push(error),
  });
  let nextId = 0;

  function session(id: string, principal?: string): Session {
    const now = clock.now();
    const record: SessionRecord = {
      id,
      protocolVersion: '2025-11-25',
      initialize: { id: 0, params: {} },
      principal,
      createdAt: now,
      lastActiveAt: now,
      requestCount: 1,
      idleTimeoutMs: 60_000,
    };
    store.create(record);
    const handle = sessionHandle(id, () => record, {
      store,
      clock,
      maxStateKeys: 10,
      maxStateBytes: 10_000,
      reportError: (error) => void errors.push(error),
      onClose: () => () => undefined,
    });
    const transport = new SessionTransport(id, {
      nextOutgoingId: () => `test~${++nextId}`,
      sendStandalone: () => undefined,
      serverNotification: () => undefined,
      reportError: (error) => void errors.push(error),
    });
    const received: JSONRPCRequest[] = [];
    const self: Session = {
      record,
      target: { transport },
      handle,
      received,
      answer: (request) => ({ echo: request.method }),
      dispatch: (options = {}) => dispatch(self, options),
    };
    // The stand-in server: answers every request on the next microtask, as an SDK server would after its handler.
    transport.onmessage = (message) => {
      if (!isRequest(message)) return;
      received.push(message);
      queueMicrotask(() => {
        const answer = self.answer(message, (related) => void transport.send(related, { relatedRequestId: message.id }));
        const response: JSONRPCResponse =
          'error' in answer && typeof answer.error === 'object'
            ? { jsonrpc: '2.0', id: message.id, error: answer.error as { code: number; message: string } }
            : { jsonrpc: '2.0', id: message.id, result: answer };
        void transport.send(response);
      });
    };
    return self;
  }

  async function dispatch(target: Session, options: DispatchOptions): Promise<Outcome> {
    const request: JSONRPCRequest = { jsonrpc: '2.0', id: options.id ?? ++nextId, method: options.method ?? 'tools/list' };
    if (options.params !== undefined) request.params = options.params;
    const answered = deferred<JSONRPCResponse>();
    const sent: JSONRPCMessage[] = [];
    const refusals: Outcome['refusals'] = [];
    const sink: RequestSink = {
      acceptsRelated: options.acceptsRelated ?? true,
      send: (message) => void sent.push(message),
      respond: (response) => answered.resolve(response),
    };
    const cancel = dispatcher.dispatch({
      target: target.target,
      era: options.era ?? 'legacy',
      session: target.handle,
      principal: target.record.principal,
      scope: options.scope ?? { kind: 'session', id: target.record.id },
      request,
      extra: {},
      sink,
      response: {
        refuse: (refused) => {
          refusals.push(refused);
          return options.refusable ?? true;
        },
      },
      headers: options.headers ?? {},
      auth: options.auth,
      address: options.address ?? '127.0.0.1',
    });
    options.onDispatched?.(cancel);
    return { response: await answered.promise, sent, refusals };
  }

  return { dispatcher, clock, metrics, errors, session };
}
