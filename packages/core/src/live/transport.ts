import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type RequestId,
  isRequest,
  isResponse,
} from '../protocol/jsonrpc.js';

/** Where the messages of one client request go: its POST stream. */
export interface RequestSink {
  /** False when related messages cannot travel with the response (JSON response mode). */
  readonly acceptsRelated: boolean;
  /** A request or notification related to the client's request, sent before its response. */
  send(message: JSONRPCMessage): void;
  respond(response: JSONRPCResponse): void | Promise<void>;
}

/** What the transport needs from the endpoint that owns it. */
export interface TransportHost {
  /** A server-to-client request id unique in the session across every process. */
  nextOutgoingId(): string;
  /** Delivers a message that belongs on the session's standalone (GET) stream. */
  sendStandalone(sessionId: string, message: JSONRPCMessage): void;
  /** Sees every notification the server sends (for cache invalidation). */
  serverNotification(sessionId: string, notification: JSONRPCNotification): void;
  reportError(error: Error): void;
}

/** The per-message information the SDK's servers read (`authInfo` in v1 and v2, `requestInfo` in v1, `request` in v2). */
export interface MessageExtra {
  authInfo?: unknown;
  requestInfo?: { headers: Record<string, string | string[] | undefined> };
  request?: unknown;
  closeSSEStream?: () => void;
  closeStandaloneSSEStream?: () => void;
}

interface SendOptions {
  relatedRequestId?: RequestId;
}

const REHYDRATE_ID = 'mcp-session:rehydrate';

/**
 * The transport of one live session on this process, implementing the SDK's `Transport` interface
 * (structurally, so it fits `McpServer` of SDK v1 and v2). It routes what the server sends: a
 * response to the stream of its request; a related message to that stream while it accepts them;
 * everything else to the session's standalone stream. Server-to-client request ids are rewritten to
 * ids unique across processes and restored when the client answers.
 */
export class SessionTransport {
  readonly sessionId: string;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtra) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  readonly #host: TransportHost;
  readonly #routes = new Map<RequestId, RequestSink>();
  /** Wire id on the client side → the id the server used. */
  readonly #outgoing = new Map<string, RequestId>();
  #closed = false;
  #replay: ((response: JSONRPCResponse) => void) | undefined;

  constructor(sessionId: string, host: TransportHost) {
    this.sessionId = sessionId;
    this.#host = host;
  }

  /** Client requests still waiting for their response. */
  get pendingRequests(): number {
    return this.#routes.size;
  }

  async start(): Promise<void> {}

  /** Hands a client message to the server; a request's response will go to `sink`. */
  receive(message: JSONRPCMessage, extra: MessageExtra | undefined, sink?: RequestSink): void {
    if (this.#closed) return;
    if (sink !== undefined && isRequest(message)) this.#routes.set(message.id, sink);
    this.onmessage?.(message, extra);
  }

  /**
   * Gives up on a client request (its deadline passed): its response, if the server ever sends one,
   * goes nowhere, and the server is told to cancel the work.
   */
  abandon(requestId: RequestId, reason: string): void {
    if (this.#closed || !this.#routes.delete(requestId)) return;
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason } });
  }

  /**
   * Hands the client's answer to a server-to-client request to the server, restoring the server's
   * own id. False when this transport did not send that request.
   */
  receiveResponse(response: JSONRPCResponse): boolean {
    if (this.#closed || response.id === undefined || response.id === null) return false;
    const original = this.#outgoing.get(String(response.id));
    if (original === undefined) return false;
    this.#outgoing.delete(String(response.id));
    this.onmessage?.({ ...response, id: original });
    return true;
  }

  /**
   * Rebuilds the server's session state by replaying the stored `initialize` and
   * `notifications/initialized`; the replayed response is swallowed, its result returned.
   */
  async replayInitialize(params: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const response = new Promise<JSONRPCResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not answer the replayed initialize')), timeoutMs);
      timer.unref();
      this.#replay = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
    });
    const request: JSONRPCRequest = { jsonrpc: '2.0', id: REHYDRATE_ID, method: 'initialize', params };
    this.onmessage?.(request);
    const answer = await response;
    if ('error' in answer) throw new Error(`the replayed initialize failed: ${answer.error.message}`);
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return answer.result;
  }

  async send(message: JSONRPCMessage, options?: SendOptions): Promise<void> {
    if (this.#closed) return;
    if (isResponse(message)) {
      const id = message.id;
      if (id === REHYDRATE_ID && this.#replay !== undefined) {
        const replay = this.#replay;
        this.#replay = undefined;
        replay(message);
        return;
      }
      if (id === undefined || id === null) return;
      const sink = this.#routes.get(id);
      if (sink === undefined) return; // already answered, or the session is ending
      this.#routes.delete(id);
      await sink.respond(message);
      return;
    }
    let outbound: JSONRPCMessage = message;
    if (isRequest(message)) {
      const wireId = this.#host.nextOutgoingId();
      this.#outgoing.set(wireId, message.id);
      outbound = { ...message, id: wireId };
    } else {
      this.#host.serverNotification(this.sessionId, message);
      if (message.method === 'notifications/cancelled') outbound = this.#rewriteCancellation(message.params);
    }
    const related = options?.relatedRequestId;
    const sink = related === undefined ? undefined : this.#routes.get(related);
    if (sink?.acceptsRelated) sink.send(outbound);
    else this.#host.sendStandalone(this.sessionId, outbound);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#routes.clear();
    this.#outgoing.clear();
    this.onclose?.();
  }

  /** A server cancelling its own request names the server's id; the client knows the wire id. */
  #rewriteCancellation(params: Record<string, unknown> | undefined): JSONRPCMessage {
    const requestId = params?.requestId;
    for (const [wireId, original] of this.#outgoing) {
      if (original === requestId) {
        this.#outgoing.delete(wireId);
        return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { ...params, requestId: wireId } };
      }
    }
    return { jsonrpc: '2.0', method: 'notifications/cancelled', ...(params === undefined ? {} : { params }) };
  }
}
