/**
 * The dispatcher: hands each JSON-RPC request to its server, through the middleware chain when there
 * is one. A middleware may answer itself, change the result, or refuse (with an HTTP status when the
 * response has not started, as a rate limit's 429 does).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { JsonRpcError, JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from '../http/refusal.js';
import type { MessageExtra, RequestSink } from '../live/transport.js';
import type { Metrics } from '../metrics.js';
import { type JSONRPCNotification, type JSONRPCRequest, type JSONRPCResponse, type RequestId } from '../protocol/jsonrpc.js';
import type {
  AuthInfo,
  Era,
  JsonRpcResult,
  McpSession,
  MessageContext,
  MessageMiddleware,
  MiddlewareEnv,
  MiddlewarePlugin,
  NotificationSource,
  Scope,
} from '../types.js';
import { bindRequest } from '../http/request-view.js';
import { compose } from './compose.js';
import { toPlugin } from './middleware.js';

/** What a server receives requests through: a session's transport, or one request's way into a shared server. */
export interface Receiver {
  /** Hands a client message to the server; a request's response goes to `sink`. */
  receive(message: JSONRPCRequest, extra: MessageExtra | undefined, sink: RequestSink): void;
  /** Gives up on a request (its deadline passed): the server is told to cancel it. */
  abandon?(requestId: RequestId, reason: string): void;
}

/** What a request is dispatched to. */
export interface DispatchTarget {
  readonly transport: Receiver;
}

/** A response that can still be answered with an HTTP error status (the POST stream). */
export interface HttpRefusable {
  /** False when the response already started: the refusal then goes in-band, as a JSON-RPC error. */
  refuse(refused: Refusal & { id: RequestId }): boolean;
}

/** One request to dispatch. */
export interface DispatchCall {
  readonly target: DispatchTarget;
  readonly era: Era;
  /** The session, for a request in a legacy session. */
  readonly session: McpSession | undefined;
  /** The principal making the request (a session's: the one it is bound to). */
  readonly principal: string | undefined;
  readonly scope: Scope;
  readonly request: JSONRPCRequest;
  readonly extra: MessageExtra;
  /** Where the server's messages about the request and its response go. */
  readonly sink: RequestSink;
  readonly response: HttpRefusable;
  readonly headers: IncomingHttpHeaders;
  readonly auth: AuthInfo | undefined;
  /** The client's network address. */
  readonly address: string;
}

type Chain = (ctx: MessageContext, innermost: () => Promise<JsonRpcResult>) => Promise<JsonRpcResult>;

/** A dispatched request until it is answered. */
interface InFlight {
  readonly call: DispatchCall;
  readonly startedAt: number;
  answered: boolean;
}

export class Dispatcher {
  readonly #env: MiddlewareEnv;
  readonly #metrics: Metrics;
  readonly #reportError: (error: unknown) => void;
  readonly #requestTimeoutMs: number;
  readonly #plugins: MiddlewarePlugin[] = [];
  /** Every request dispatched and not yet answered, oldest first. */
  readonly #inFlight = new Set<InFlight>();
  #chain: Chain | undefined;
  #watchesNotifications = false;

  constructor(options: { env: MiddlewareEnv; metrics: Metrics; requestTimeoutMs: number; reportError: (error: unknown) => void }) {
    this.#env = options.env;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#metrics = options.metrics;
    this.#reportError = options.reportError;
  }

  /** Adds middleware inside any already added. */
  use(middleware: MessageMiddleware | MiddlewarePlugin): void {
    const plugin = toPlugin(middleware);
    plugin.setup?.(this.#env);
    this.#plugins.push(plugin);
    this.#chain = compose(this.#plugins.map((entry) => entry.handle));
    this.#watchesNotifications = this.#plugins.some((entry) => entry.onServerNotification !== undefined);
  }

  /** Whether any middleware looks at server notifications. */
  get watchesNotifications(): boolean {
    return this.#watchesNotifications;
  }

  /**
   * Hands a request to its server; its answer (or, past its deadline, a timeout error) goes to
   * `call.sink`. Returns a function that gives up on it (the client closed a response no one can
   * resume): the server is told to cancel, and nothing more goes to the sink.
   */
  dispatch(call: DispatchCall): (reason: string) => void {
    const { target, request } = call;
    this.#metrics.countRequest(request.method);
    const tracked = this.#track(call);
    const { sink } = tracked;
    // Handles and requestState read who asks, and what, from the request objects a handler sees.
    const extra = bindRequest(call.extra, { principal: call.principal, method: request.method, params: request.params });
    const cancel = (reason: string) => this.#cancel(tracked.inFlight, reason);
    const chain = this.#chain;
    if (chain === undefined) {
      target.transport.receive(request, extra, sink);
      return cancel;
    }
    const ctx: MessageContext = {
      scope: call.scope,
      era: call.era,
      session: call.session,
      method: request.method,
      params: request.params,
      id: request.id,
      principal: call.principal,
      address: call.address,
      authInfo: call.auth,
      http: { headers: call.headers },
      locals: {},
    };
    const server = () =>
      new Promise<JsonRpcResult>((resolve, reject) => {
        // Given up on while the middleware ran (its client left, or its deadline passed): no server is
        // handed a request no one waits for, and whose cancellation it was never told.
        if (tracked.inFlight.answered) {
          reject(new JsonRpcError(JsonRpcErrorCode.InternalError, 'Request cancelled before it reached the server'));
          return;
        }
        target.transport.receive(request, extra, {
          acceptsRelated: sink.acceptsRelated,
          send: (message) => sink.send(message),
          respond: (response) => {
            if ('result' in response) resolve(response.result);
            else reject(new JsonRpcError(response.error.code, response.error.message, { data: response.error.data }));
          },
        });
      });
    chain(ctx, server).then(
      (result) => sink.respond({ jsonrpc: '2.0', id: request.id, result }),
      (error: unknown) => this.#fail(call, sink, error),
    );
    return cancel;
  }

  /** Forgets a request still in flight and tells its server to stop. */
  #cancel(inFlight: InFlight, reason: string): void {
    if (inFlight.answered) return;
    inFlight.answered = true;
    this.#inFlight.delete(inFlight);
    inFlight.call.target.transport.abandon?.(inFlight.call.request.id, reason);
  }

  /**
   * Answers every request dispatched at least `requestTimeoutMs` before `now` with a timeout error,
   * and tells its server to stop (a sweep task): no request waits forever, whatever the server or a
   * middleware does.
   */
  expire(now: number): void {
    const deadline = now - this.#requestTimeoutMs;
    for (const inFlight of this.#inFlight) {
      // Oldest first: the rest are younger.
      if (inFlight.startedAt > deadline) break;
      const { call } = inFlight;
      this.#metrics.requestsTimedOut += 1;
      call.target.transport.abandon?.(call.request.id, 'requestTimeoutMs passed');
      this.#answer(inFlight, {
        jsonrpc: '2.0',
        id: call.request.id,
        error: {
          code: JsonRpcErrorCode.RequestTimeout,
          message: `Request timed out: no answer within ${this.#requestTimeoutMs} ms`,
          data: { timeoutMs: this.#requestTimeoutMs },
        },
      });
    }
  }

  /** Requests dispatched on this process and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** A sink that answers the call's sink once, and forgets the request when it is answered. */
  #track(call: DispatchCall): { inFlight: InFlight; sink: RequestSink } {
    const inFlight: InFlight = { call, startedAt: this.#env.clock.now(), answered: false };
    this.#inFlight.add(inFlight);
    const sink: RequestSink = {
      acceptsRelated: call.sink.acceptsRelated,
      send: (message) => {
        if (!inFlight.answered) call.sink.send(message);
      },
      respond: (response) => this.#answer(inFlight, response),
    };
    return { inFlight, sink };
  }

  #answer(inFlight: InFlight, response: JSONRPCResponse): void | Promise<void> {
    if (inFlight.answered) return;
    inFlight.answered = true;
    this.#inFlight.delete(inFlight);
    return inFlight.call.sink.respond(response);
  }

  /** Tells middleware what a server sent (cache invalidation). */
  serverNotification(source: NotificationSource, notification: JSONRPCNotification): void {
    if (!this.#watchesNotifications) return;
    for (const plugin of this.#plugins) {
      if (plugin.onServerNotification === undefined) continue;
      Promise.resolve(plugin.onServerNotification(source, notification)).catch((error: unknown) => this.#reportError(error));
    }
  }

  #fail(call: DispatchCall, sink: RequestSink, error: unknown): void {
    const { request } = call;
    if (!(error instanceof JsonRpcError)) this.#reportError(error);
    const failure = error instanceof JsonRpcError ? error : new JsonRpcError(JsonRpcErrorCode.InternalError, 'Internal error');
    if (failure.httpStatus !== undefined) {
      const refused = call.response.refuse({
        ...refusal(failure.httpStatus, failure.code, failure.message, { headers: failure.headers, data: failure.data }),
        id: request.id,
      });
      // Counted as an HTTP error only when it went out as one, not in-band in a started response.
      if (refused) this.#metrics.countError(failure.httpStatus);
    }
    // After a refusal the stream ignores this; the sink still learns the outcome (a refused
    // initialize must drop the server it built).
    const body = {
      jsonrpc: '2.0' as const,
      id: request.id,
      error: { code: failure.code, message: failure.message } as { code: number; message: string; data?: unknown },
    };
    if (failure.data !== undefined) body.error.data = failure.data;
    void sink.respond(body);
  }
}
