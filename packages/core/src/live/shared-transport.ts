/**
 * The transport of a server that serves requests of many clients without sessions (the 2026-07-28
 * protocol, legacy stateless mode). Request ids are rewritten to ids unique on this transport, so two
 * clients that both send id 1 get their own answers, and restored on the way out. What the server
 * sends about a request goes to that request's response; a list change or resource update it sends
 * on its own goes to the host (the `subscriptions/listen` streams of every process); anything else
 * without a request has nowhere to go and is dropped. A server-to-client request has no way back
 * without a session: the server gets an error at once instead of waiting.
 */
import { JsonRpcErrorCode } from '../errors.js';
import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type RequestId,
  isRequest,
  isResponse,
} from '../protocol/jsonrpc.js';
import type { Receiver } from '../pipeline/dispatcher.js';
import type { MessageExtra, RequestSink } from './transport.js';

/** Methods of the notifications a server sends when its lists or a resource change. */
export const CHANGE_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
]);

export interface SharedTransportHost {
  /** The server announced a change of its lists or of a resource. */
  changed(notification: JSONRPCNotification): void;
  reportError(error: Error): void;
}

/** What goes with every message to the server (the 2026-07-28 lane adds its classification). */
export type ExtraFields = Record<string, unknown>;

/** One request on its way through the server. */
interface Route {
  readonly sink: RequestSink;
  /** The id the client sent. */
  readonly clientId: RequestId;
  /** While the request is being handed to the server: an error sent now comes from the protocol's gates. */
  window: boolean;
}

/** One request's way into the shared server; `refusedByProtocol` tells a gate's error from a handler's. */
export interface SharedReceiver extends Receiver {
  readonly refusedByProtocol: boolean;
}

/** A base class the transport extends: `Object`, or the SDK's per-request transport (see shared-servers.ts). */
export type TransportBase = new (init: never) => object;

const PlainBase = class {
  constructor(_init: never) {}
} as TransportBase;

/** The transport API, for a server of either SDK major (structurally the SDK's `Transport`). */
export interface SharedTransport {
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtra & ExtraFields) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  start(): Promise<void>;
  send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void>;
  close(): Promise<void>;
  /** A way into the server for one request. */
  open(): SharedReceiver;
  /** Hands the server a notification from a client. */
  notify(notification: JSONRPCNotification, extra: MessageExtra | undefined): void;
  /** Requests on their way through the server. */
  readonly pendingRequests: number;
}

/** `init` goes to the base class; `extra` goes with every message to the server. */
export type SharedTransportClass = new (host: SharedTransportHost, init: unknown, extra?: ExtraFields) => SharedTransport;

/**
 * A shared transport class over `Base`: the SDK binds a server to the 2026-07-28 protocol when its
 * transport is an instance of its per-request transport class, so the modern lane passes that class;
 * nothing of it is used but its identity and the classification given to its constructor.
 */
export function sharedTransportClass(Base: TransportBase = PlainBase): SharedTransportClass {
  return class Shared extends Base implements SharedTransport {
    onmessage?: (message: JSONRPCMessage, extra?: MessageExtra & ExtraFields) => void;
    onclose?: () => void;
    onerror?: (error: Error) => void;
    readonly #host: SharedTransportHost;
    readonly #extra: ExtraFields;
    readonly #routes = new Map<string, Route>();
    #seq = 0;
    #closed = false;

    /** `init` goes to the base class; `extra` goes with every message to the server. */
    constructor(host: SharedTransportHost, init: unknown, extra: ExtraFields = {}) {
      super(init as never);
      this.#host = host;
      this.#extra = extra;
    }

    get pendingRequests(): number {
      return this.#routes.size;
    }

    async start(): Promise<void> {}

    open(): SharedReceiver {
      let internalId: string | undefined;
      let refusedByProtocol = false;
      return {
        receive: (request: JSONRPCRequest, extra: MessageExtra | undefined, sink: RequestSink) => {
          if (this.#closed) return;
          internalId = `~${++this.#seq}`;
          const route: Route = {
            sink: {
              acceptsRelated: sink.acceptsRelated,
              send: (message) => sink.send(message),
              respond: (response) => {
                if (route.window && 'error' in response) refusedByProtocol = true;
                return sink.respond(response);
              },
            },
            clientId: request.id,
            window: true,
          };
          this.#routes.set(internalId, route);
          try {
            this.onmessage?.({ ...request, id: internalId }, this.#extraOf(extra));
          } finally {
            route.window = false;
          }
        },
        abandon: (_requestId: RequestId, reason: string) => {
          if (internalId === undefined || this.#closed || !this.#routes.delete(internalId)) return;
          this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: internalId, reason } }, this.#extra);
        },
        get refusedByProtocol() {
          return refusedByProtocol;
        },
      };
    }

    notify(notification: JSONRPCNotification, extra: MessageExtra | undefined): void {
      if (!this.#closed) this.onmessage?.(notification, this.#extraOf(extra));
    }

    /**
     * The message's extra with this transport's fields. `Object.assign` rather than `{ ...extra,
     * ...this.#extra }`: on Node 20's V8 a spread followed by keys the first object lacks gives every
     * copy a map of its own, and the SDK's every read of it goes the slow way.
     */
    #extraOf(extra: MessageExtra | undefined): MessageExtra & ExtraFields {
      return Object.assign({}, extra, this.#extra);
    }

    async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
      if (this.#closed) return;
      if (isResponse(message)) {
        const id = message.id;
        const route = id === undefined || id === null ? undefined : this.#routes.get(String(id));
        if (route === undefined) return; // answered already, or abandoned
        this.#routes.delete(String(id));
        await route.sink.respond({ ...message, id: route.clientId });
        return;
      }
      if (isRequest(message)) {
        // No session: the client's answer could not find its way back. Fail the server's call now.
        this.onmessage?.(
          {
            jsonrpc: '2.0',
            id: message.id,
            error: {
              code: JsonRpcErrorCode.InternalError,
              message: `${message.method} cannot be sent to a client without a session (serve legacy clients with sessions, or use inputRequired on 2026-07-28)`,
            },
          },
          this.#extra,
        );
        return;
      }
      const related = options?.relatedRequestId === undefined ? undefined : this.#routes.get(String(options.relatedRequestId));
      if (related !== undefined) {
        if (related.sink.acceptsRelated) related.sink.send(message);
        return;
      }
      if (CHANGE_NOTIFICATIONS.has(message.method)) this.#host.changed(message);
    }

    async close(): Promise<void> {
      if (this.#closed) return;
      this.#closed = true;
      this.#routes.clear();
      this.onclose?.();
    }
  };
}
