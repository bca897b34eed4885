/**
 * The legacy session lane (2025-11-25 and earlier): POST inside a session, GET streams and their
 * resumption, DELETE. `initialize` creates the session (legacy-initialize.ts); every later request
 * names it in `Mcp-Session-Id` and must come from the principal it is bound to.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { checkGetHeaders, checkProtocolVersionHeader, headerValue, missingSessionId, sessionNotFound } from '../http/checks.js';
import { messageExtra } from '../http/request-view.js';
import { type Checked, type Refusal, refusal, shuttingDown, tooManyRequests } from '../http/refusal.js';
import type { LiveSession } from '../live/live-sessions.js';
import { type JSONRPCRequest, type JSONRPCResponse, isInitializeRequest, isRequest, isResponse } from '../protocol/jsonrpc.js';
import { allowsBatches } from '../protocol/versions.js';
import type { PrincipalOf } from '../sessions/principal.js';
import type { SessionRecord } from '../stores/types.js';
import type { GetStreams } from '../streams/resumption.js';
import type { Scope } from '../types.js';
import type { Lane, LaneRequest, PostRequest } from './lane.js';
import { type SessionCreation, initializeSession } from './legacy-initialize.js';

export interface LegacySessionLaneDeps extends SessionCreation {
  readonly getStreams: GetStreams;
  readonly routeClientResponse: (sessionId: string, response: JSONRPCResponse) => void;
  readonly principalOf: PrincipalOf;
  readonly maxRequestsInFlight: number;
  readonly now: () => number;
}

const invalid = (message: string): Refusal => refusal(400, JsonRpcErrorCode.InvalidRequest, `Invalid Request: ${message}`);

export class LegacySessionLane implements Lane {
  readonly allow = 'GET, POST, DELETE';
  readonly #deps: LegacySessionLaneDeps;

  constructor(deps: LegacySessionLaneDeps) {
    this.#deps = deps;
  }

  async post(request: PostRequest): Promise<Refusal | undefined> {
    const { req, res, auth, messages, batch } = request;
    const { live, streams, dispatcher } = this.#deps;
    const sessionId = headerValue(req, 'mcp-session-id');
    const principal = this.#deps.principalOf(auth, req);
    const initialize = messages.find(isInitializeRequest);
    if (initialize !== undefined) {
      if (batch) return invalid('initialize must not be part of a batch');
      if (sessionId !== undefined) return invalid('the session is already initialized');
      return initializeSession(this.#deps, request, initialize, principal);
    }
    const requests = messages.filter(isRequest);
    const access = await this.#access(request, sessionId, principal, requests.length > 0);
    if (!access.ok) return access;
    const { record } = access;
    if (batch && !allowsBatches(record.protocolVersion)) return invalid(`batches are not supported in protocol ${record.protocolVersion}`);
    const busy = this.#checkInFlight(record.id, requests);
    if (busy !== undefined) return busy;
    let target: LiveSession | undefined;
    const extra = messageExtra(req, auth);
    for (const message of messages) {
      if (isResponse(message)) {
        this.#deps.routeClientResponse(record.id, message);
        continue;
      }
      if (target === undefined && message.method === 'notifications/initialized' && live.get(record.id) === undefined) {
        // A server built from the record later has it replayed: nothing is built for it alone.
        continue;
      }
      target ??= await live.acquire(record);
      if (!isRequest(message)) target.transport.receive(message, extra);
    }
    if (target === undefined || requests.length === 0) {
      res.writeHead(202).end();
      return undefined;
    }
    const stream = streams.openPostStream(res, {
      sessionId: record.id,
      protocolVersion: record.protocolVersion,
      requestIds: requests.map((each) => each.id),
      batch,
    });
    // The id as the client sent it (with tokens, the token; inside, the session is known by its id).
    if (sessionId !== undefined) stream.sessionHeader = sessionId;
    extra.closeSSEStream = () => stream.detach();
    extra.closeStandaloneSSEStream = () => streams.standalone(record.id)?.writer.end();
    const scope = sessionScope(record.id);
    for (const each of requests) {
      dispatcher.dispatch({
        target,
        era: 'legacy',
        session: target.session,
        principal: record.principal,
        scope,
        request: each,
        extra,
        sink: stream,
        response: stream,
        headers: req.headers,
        auth,
        address: request.address,
      });
    }
    return undefined;
  }

  async get(request: LaneRequest): Promise<Refusal | undefined> {
    const { req, res, auth } = request;
    const notAcceptable = checkGetHeaders(req);
    if (notAcceptable !== undefined) return notAcceptable;
    const principal = this.#deps.principalOf(auth, req);
    const header = headerValue(req, 'mcp-session-id');
    const access = await this.#access(request, header, principal, false);
    if (!access.ok) return access;
    // close() may have ended every stream while the store was read: a stream opened now would hold
    // the HTTP server open for ever.
    if (this.#deps.isClosed()) return shuttingDown();
    const { id, protocolVersion } = access.record;
    return this.#deps.getStreams.open(res, { id, protocolVersion, header }, headerValue(req, 'last-event-id'));
  }

  async delete(request: LaneRequest): Promise<Refusal | undefined> {
    const { req, res, auth } = request;
    const sessionId = headerValue(req, 'mcp-session-id');
    if (sessionId === undefined) return missingSessionId();
    const unsupported = checkProtocolVersionHeader(req);
    if (unsupported !== undefined) return unsupported;
    const { sessions } = this.#deps;
    if (!sessions.isWellFormed(sessionId)) return sessionNotFound();
    const record = await sessions.owned(sessionId, this.#deps.principalOf(auth, req));
    if (record === undefined || !(await sessions.end(record, 'deleted'))) {
      return sessionNotFound();
    }
    res.writeHead(200).end();
    return undefined;
  }

  /** A request id still in flight in the session (its response would go to the wrong request), or too many in flight. */
  #checkInFlight(sessionId: string, requests: readonly JSONRPCRequest[]): Refusal | undefined {
    const { streams, maxRequestsInFlight } = this.#deps;
    const reused = requests.find((request) => streams.isInFlight(sessionId, request.id));
    if (reused !== undefined) return invalid(`request id ${JSON.stringify(reused.id)} is still in flight in this session`);
    const inFlight = streams.requestsInFlight(sessionId);
    if (inFlight + requests.length <= maxRequestsInFlight) return undefined;
    return tooManyRequests(`${inFlight} requests of this session are in flight`, 1000);
  }

  /** Checks the session header, the protocol version and the principal; marks the session active. */
  async #access(
    request: LaneRequest,
    sessionId: string | undefined,
    principal: string | undefined,
    countRequest: boolean,
  ): Promise<Checked<{ record: SessionRecord }>> {
    if (sessionId === undefined) return missingSessionId();
    const unsupported = checkProtocolVersionHeader(request.req);
    if (unsupported !== undefined) return unsupported;
    // A header no id of ours can match touches no store and no middleware.
    if (!this.#deps.sessions.isWellFormed(sessionId)) return sessionNotFound();
    const record = await this.#deps.sessions.resolve(sessionId, principal, countRequest);
    if (record === undefined) return sessionNotFound();
    // The negotiated version decides (batches, priming); the header is only checked to be supported.
    this.#deps.live.touched(record, this.#deps.now());
    return { ok: true, record };
  }
}

function sessionScope(sessionId: string): Scope {
  return { kind: 'session', id: sessionId };
}
