/**
 * The dispatcher: hands each JSON-RPC request to its server, through the middleware chain when there
 * is one. A middleware may answer itself, change the result, or refuse (with an HTTP status when the
 * response has not started, as a rate limit's 429 does).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { JsonRpcError, JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from '../http/refusal.js';
import type { MessageExtra, RequestSink, SessionTransport } from '../live/transport.js';
import type { Metrics } from '../metrics.js';
import type { SessionRecord } from '../stores/types.js';
import { type JSONRPCMessage, type JSONRPCNotification, type JSONRPCRequest, type RequestId, isRequest } from '../protocol/jsonrpc.js';
import type {
  AuthInfo,
  JsonRpcResult,
  McpSession,
  MessageContext,
  MessageMiddleware,
  MiddlewareEnv,
  MiddlewarePlugin,
  NotificationSource,
  Scope,
} from '../types.js';
import { compose } from './compose.js';
import { toPlugin } from './middleware.js';

/** What a request is dispatched to: a live session, or a new session answered from a kept result. */
export interface DispatchTarget {
  readonly record: SessionRecord;
  readonly session: McpSession;
  readonly transport: Pick<SessionTransport, 'receive'>;
}

/** A response that can still be answered with an HTTP error status (the POST stream). */
export interface HttpRefusable {
  /** False when the response already started: the refusal then goes in-band, as a JSON-RPC error. */
  refuse(refused: Refusal & { id: RequestId }): boolean;
}

/** One request to dispatch. */
export interface DispatchCall {
  readonly target: DispatchTarget;
  readonly scope: Scope;
  readonly request: JSONRPCRequest;
  readonly extra: MessageExtra;
  /** Where the server's messages about the request and its response go. */
  readonly sink: RequestSink;
  readonly response: HttpRefusable;
  readonly headers: IncomingHttpHeaders;
  readonly auth: AuthInfo | undefined;
  /** What the plugins' prefetch started for this request. */
  readonly locals: Record<string, unknown> | undefined;
}

type Chain = (ctx: MessageContext, innermost: () => Promise<JsonRpcResult>) => Promise<JsonRpcResult>;

export class Dispatcher {
  readonly #env: MiddlewareEnv;
  readonly #metrics: Metrics;
  readonly #reportError: (error: unknown) => void;
  readonly #plugins: MiddlewarePlugin[] = [];
  #chain: Chain | undefined;
  #watchesNotifications = false;
  #prefetches = false;

  constructor(options: { env: MiddlewareEnv; metrics: Metrics; reportError: (error: unknown) => void }) {
    this.#env = options.env;
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
    this.#prefetches = this.#plugins.some((entry) => entry.prefetch !== undefined);
  }

  /** Whether any middleware looks at server notifications. */
  get watchesNotifications(): boolean {
    return this.#watchesNotifications;
  }

  /** Starts each plugin's prefetch for each request of a POST; a rejection is left for `handle` to see. */
  prefetch(
    scope: Scope,
    principal: string | undefined,
    messages: readonly JSONRPCMessage[],
  ): Map<RequestId, Record<string, unknown>> | undefined {
    if (!this.#prefetches) return undefined;
    let out: Map<RequestId, Record<string, unknown>> | undefined;
    for (const message of messages) {
      if (!isRequest(message)) continue;
      const locals: Record<string, unknown> = {};
      for (const plugin of this.#plugins) {
        const pending = plugin.prefetch?.({ scope, principal, method: message.method, params: message.params });
        if (pending === undefined) continue;
        pending.catch(() => undefined); // observed by handle(); never an unhandled rejection
        locals[plugin.name] = pending;
      }
      (out ??= new Map()).set(message.id, locals);
    }
    return out;
  }

  dispatch(call: DispatchCall): void {
    const { target, request, extra, sink } = call;
    this.#metrics.countRequest(request.method);
    const chain = this.#chain;
    if (chain === undefined) {
      target.transport.receive(request, extra, sink);
      return;
    }
    const ctx: MessageContext = {
      scope: call.scope,
      session: target.session,
      method: request.method,
      params: request.params,
      id: request.id,
      principal: target.record.principal,
      authInfo: call.auth,
      http: { headers: call.headers },
      locals: call.locals ?? {},
    };
    const server = () =>
      new Promise<JsonRpcResult>((resolve, reject) => {
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
      (error: unknown) => this.#fail(call, error),
    );
  }

  /** Tells middleware what a server sent (cache invalidation). */
  serverNotification(source: NotificationSource, notification: JSONRPCNotification): void {
    if (!this.#watchesNotifications) return;
    for (const plugin of this.#plugins) {
      if (plugin.onServerNotification === undefined) continue;
      Promise.resolve(plugin.onServerNotification(source, notification)).catch((error: unknown) => this.#reportError(error));
    }
  }

  #fail(call: DispatchCall, error: unknown): void {
    const { request, sink } = call;
    if (!(error instanceof JsonRpcError)) this.#reportError(error);
    const failure = error instanceof JsonRpcError ? error : new JsonRpcError(JsonRpcErrorCode.InternalError, 'Internal error');
    if (failure.httpStatus !== undefined) {
      this.#metrics.countError(failure.httpStatus);
      call.response.refuse({
        ...refusal(failure.httpStatus, failure.code, failure.message, { headers: failure.headers, data: failure.data }),
        id: request.id,
      });
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
