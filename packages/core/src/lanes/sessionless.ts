/**
 * What the lanes without sessions share (the 2026-07-28 lane and legacy stateless mode): whose
 * request it is (principal, scope), a bound on each principal's requests in flight, and the dispatch
 * of one request to a shared server with a response that nothing can resume — so a client that closes
 * it cancels the request.
 */
import { messageExtra } from '../http/request-view.js';
import { onResponseClose } from '../http/response.js';
import { type Refusal, tooManyRequests } from '../http/refusal.js';
import type { RequestSink } from '../live/transport.js';
import type { Dispatcher, Receiver } from '../pipeline/dispatcher.js';
import { principalKey } from '../pipeline/middleware.js';
import type { JSONRPCRequest, JSONRPCResponse } from '../protocol/jsonrpc.js';
import { isHandleId } from '../sessions/handles.js';
import type { PrincipalOf } from '../sessions/principal.js';
import type { PostStream } from '../streams/post-stream.js';
import type { StreamRegistry } from '../streams/registry.js';
import type { Era, Scope } from '../types.js';
import type { LaneRequest } from './lane.js';

export interface SessionlessDeps {
  readonly streams: StreamRegistry;
  readonly dispatcher: Dispatcher;
  readonly principalOf: PrincipalOf;
  /** Requests of one principal (an anonymous client: of one address) in flight on this process. */
  readonly maxRequestsInFlight: number;
  readonly countError: (status: number) => void;
}

/** Who is asking: the principal, and the key its requests are counted under. */
export interface Caller {
  readonly principal: string | undefined;
  readonly key: string;
}

/**
 * The scope of a request without a session: the state handle its tool arguments name (by format;
 * the tool checks it), or its principal (an anonymous client by its address).
 */
export function sessionlessScope(caller: Caller, request: JSONRPCRequest): Scope {
  if (request.method === 'tools/call') {
    const args = request.params?.arguments;
    if (typeof args === 'object' && args !== null) {
      for (const value of Object.values(args)) if (isHandleId(value)) return { kind: 'handle', id: value };
    }
  }
  return { kind: 'principal', id: caller.key };
}

/** How a response of one request reports its outcome: the 2026-07-28 lane maps protocol errors to HTTP statuses. */
export type Respond = (stream: PostStream, response: JSONRPCResponse, receiver: Receiver) => void;

export class Sessionless {
  readonly #deps: SessionlessDeps;
  /** Requests in flight per caller key. */
  readonly #inFlight = new Map<string, number>();

  constructor(deps: SessionlessDeps) {
    this.#deps = deps;
  }

  caller(request: LaneRequest): Caller {
    const principal = this.#deps.principalOf(request.auth, request.req);
    return { principal, key: principalKey(principal, `n:${request.address}`) };
  }

  /** Refuses more than `maxRequestsInFlight` requests of one caller at once (429). */
  checkInFlight(caller: Caller, count: number): Refusal | undefined {
    const inFlight = this.#inFlight.get(caller.key) ?? 0;
    if (inFlight + count <= this.#deps.maxRequestsInFlight) return undefined;
    return tooManyRequests(`${inFlight} requests of this client are in flight`, 1000);
  }

  /**
   * Dispatches the requests of one POST, each to the receiver `open()` gives, and answers them on one
   * response. Closing the response cancels what is still unanswered.
   */
  dispatch(
    request: LaneRequest,
    init: { caller: Caller; era: Era; protocolVersion: string; requests: JSONRPCRequest[]; batch: boolean },
    open: () => Receiver,
    respond?: Respond,
  ): PostStream {
    const { streams, dispatcher } = this.#deps;
    const { caller, requests } = init;
    const stream = streams.openSessionless(request.res, {
      protocolVersion: init.protocolVersion,
      requestIds: requests.map((each) => each.id),
      batch: init.batch,
    });
    this.#inFlight.set(caller.key, (this.#inFlight.get(caller.key) ?? 0) + requests.length);
    let unanswered = requests.length;
    const settle = () => {
      unanswered -= 1;
      const left = (this.#inFlight.get(caller.key) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(caller.key, left);
      else this.#inFlight.delete(caller.key);
    };
    const extra = messageExtra(request.req, request.auth);
    const cancels: Array<(reason: string) => void> = [];
    for (const each of requests) {
      const receiver = open();
      let answered = false;
      const sink: RequestSink = {
        acceptsRelated: stream.acceptsRelated,
        send: (message) => stream.send(message),
        respond: (response) => {
          if (answered) return;
          answered = true;
          settle();
          if (respond !== undefined) respond(stream, response, receiver);
          else stream.respond(response);
        },
      };
      const cancel = dispatcher.dispatch({
        target: { transport: receiver },
        era: init.era,
        session: undefined,
        principal: caller.principal,
        scope: sessionlessScope(caller, each),
        request: each,
        extra,
        sink,
        response: stream,
        headers: request.req.headers,
        auth: request.auth,
        address: request.address,
      });
      cancels.push((reason) => {
        if (answered) return;
        answered = true;
        settle();
        cancel(reason);
      });
    }
    // Nothing can resume a response outside a session: the client closing it (maybe already, while the
    // request waited for its server) gives up on its requests.
    onResponseClose(request.res, () => {
      if (unanswered === 0) return;
      for (const cancel of cancels) cancel('the client closed the response');
      // No answer will come for what was cancelled: the response is done, or it would be kept for ever.
      stream.abort();
    });
    return stream;
  }
}
