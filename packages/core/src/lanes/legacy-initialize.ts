/**
 * `initialize` in the legacy session lane: a new session's record, its server (or, with
 * `lazyServer`, a kept result), and the session stored only once the server agreed — a failed
 * initialize leaves no session behind.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { messageExtra } from '../http/request-view.js';
import { type Refusal, refusal, storeUnavailable } from '../http/refusal.js';
import type { KeptInitializeResults, SessionTarget } from '../live/initialize-results.js';
import type { LiveSession, LiveSessions } from '../live/live-sessions.js';
import type { RequestSink } from '../live/transport.js';
import type { Dispatcher } from '../pipeline/dispatcher.js';
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from '../protocol/jsonrpc.js';
import type { SessionManager } from '../sessions/manager.js';
import type { SessionRecord } from '../stores/types.js';
import type { PostStream } from '../streams/post-stream.js';
import type { StreamRegistry } from '../streams/registry.js';
import type { LaneRequest } from './lane.js';

export interface SessionCreation {
  readonly sessions: SessionManager;
  readonly live: LiveSessions;
  readonly keptResults: KeptInitializeResults;
  readonly streams: StreamRegistry;
  readonly dispatcher: Dispatcher;
  readonly maxInitializeBytes: number;
  readonly isClosed: () => boolean;
  readonly reportError: (error: unknown) => void;
}

/** Serves an `initialize`: answers it itself, or returns the refusal (503 at `maxSessions`, 500 when no server could be built). */
export async function initializeSession(
  deps: SessionCreation,
  request: LaneRequest,
  asked: JSONRPCRequest,
  principal: string | undefined,
): Promise<Refusal | undefined> {
  const { sessions, live, keptResults, streams, dispatcher } = deps;
  // The params are kept in the session record and replayed on every rehydration: bounded.
  const size = Buffer.byteLength(JSON.stringify(asked.params ?? {}));
  if (size > deps.maxInitializeBytes) {
    return refusal(413, JsonRpcErrorCode.ServerError, `Payload Too Large: initialize params exceed ${deps.maxInitializeBytes} bytes`);
  }
  const reserved = await sessions.reserve(asked, principal, request.address);
  if (!reserved.ok) return reserved;
  // What the session keeps of the request (with tokens: what its token carries) is what its server sees.
  const { record, initialize } = reserved;
  const requested = record.protocolVersion;

  // With lazyServer, a result the factory's servers gave before answers without building one; the
  // session's server is built by its first request that needs it (the rehydration path).
  let built: LiveSession | undefined;
  let target = keptResults.answering(record, sessions.view(record), initialize, requested);
  if (target === undefined) {
    try {
      built = await live.build(record);
    } catch (error) {
      sessions.release(record);
      deps.reportError(error);
      return refusal(500, JsonRpcErrorCode.InternalError, 'Internal error: the MCP server could not be created');
    }
    target = keptResults.enabled ? keptResults.learning(built, requested) : built;
  }
  const stream = streams.openPostStream(request.res, {
    sessionId: record.id,
    protocolVersion: requested,
    requestIds: [initialize.id],
    batch: false,
    deferHeaders: true,
  });
  dispatcher.dispatch({
    target,
    era: 'legacy',
    session: target.session,
    principal: record.principal,
    scope: { kind: 'session', id: record.id },
    request: initialize,
    extra: messageExtra(request.req, request.auth),
    sink: initializeSink(deps, { record, target, built, stream, tokens: sessions.usesTokens }),
    response: stream,
    headers: request.req.headers,
    auth: request.auth,
    address: request.address,
  });
  return undefined;
}

/**
 * Stores the session once its server answered with a result; a failed initialize leaves nothing behind.
 * A token carries the negotiated version, so it exists only with the result: messages the server
 * sends before it wait (their SSE headers would carry the session id).
 */
function initializeSink(
  deps: SessionCreation,
  pending: { record: SessionRecord; target: SessionTarget; built: LiveSession | undefined; stream: PostStream; tokens: boolean },
): RequestSink {
  const { record, target, built, stream } = pending;
  const { sessions, live } = deps;
  const held: JSONRPCMessage[] | undefined = pending.tokens ? [] : undefined;
  const flush = () => {
    for (const message of held?.splice(0) ?? []) stream.send(message);
  };
  return {
    acceptsRelated: stream.acceptsRelated,
    send: (message) => (held === undefined ? stream.send(message) : void held.push(message)),
    respond: async (response: JSONRPCResponse) => {
      if ('result' in response && !deps.isClosed()) {
        const negotiated = response.result.protocolVersion;
        if (typeof negotiated === 'string') record.protocolVersion = negotiated;
        try {
          stream.sessionHeader = await sessions.save(record);
          if (built !== undefined) live.adopt(built);
        } catch (error) {
          deps.reportError(error);
          stream.sessionHeader = undefined;
          // A store out of reach is passing: 503 with Retry-After, unless the answer already started.
          if (!stream.refuse({ ...storeUnavailable(), id: response.id })) {
            stream.respond({
              jsonrpc: '2.0',
              id: response.id,
              error: { code: JsonRpcErrorCode.InternalError, message: 'Internal error: the session could not be stored' },
            });
          }
          if (built !== undefined) await live.dispose(built);
          return;
        }
        flush();
        stream.respond(response);
        await sessions.created(record, target.session);
        return;
      }
      // A failed initialize: the client gets the server's error, and no session exists.
      sessions.release(record);
      stream.sessionHeader = undefined;
      flush();
      stream.respond(response);
      if (built !== undefined) await live.dispose(built);
    },
  };
}
