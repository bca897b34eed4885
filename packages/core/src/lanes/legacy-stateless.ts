/**
 * Legacy clients without sessions (`legacy: 'stateless'`), as the SDK's stateless mode serves them:
 * `initialize` is answered with no `Mcp-Session-Id`, every request stands alone (a session header is
 * ignored), GET and DELETE get 405. Requests are served by one server per protocol version and
 * process, initialized once; progress and logging reach the client on the POST's response.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { checkProtocolVersionHeader, headerValue } from '../http/checks.js';
import { type Refusal, refusal } from '../http/refusal.js';
import type { SharedServer, SharedServers } from '../live/shared-servers.js';
import type { MessageExtra, RequestSink } from '../live/transport.js';
import type { Receiver } from '../pipeline/dispatcher.js';
import { type JSONRPCRequest, isInitializeRequest, isRequest } from '../protocol/jsonrpc.js';
import {
  DEFAULT_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
  allowsBatches,
  isLegacyVersion,
  requestedVersion,
} from '../protocol/versions.js';
import type { Lane, LaneRequest, PostRequest } from './lane.js';
import type { Sessionless } from './sessionless.js';

export interface StatelessLaneDeps {
  readonly servers: SharedServers;
  readonly sessionless: Sessionless;
}

/** GET and DELETE are session operations: without sessions only POST is served. */
export const postOnly = (): Refusal =>
  refusal(405, JsonRpcErrorCode.ServerError, 'Method Not Allowed: this endpoint serves no sessions; use POST', {
    headers: { allow: 'POST' },
  });

/** Answers `initialize` with the result the shared server gave its own. */
function initializeReceiver(shared: SharedServer): Receiver {
  return {
    receive: (request: JSONRPCRequest, _extra: MessageExtra | undefined, sink: RequestSink) =>
      void sink.respond({ jsonrpc: '2.0', id: request.id, result: { ...shared.initializeResult } }),
  };
}

export class StatelessLane implements Lane {
  readonly allow = 'POST';
  readonly #deps: StatelessLaneDeps;

  constructor(deps: StatelessLaneDeps) {
    this.#deps = deps;
  }

  async post(request: PostRequest): Promise<Refusal | undefined> {
    const { req, res, messages, batch } = request;
    const { servers, sessionless } = this.#deps;
    const initialize = messages.find(isInitializeRequest);
    let version: string;
    if (initialize !== undefined) {
      if (batch) return refusal(400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch');
      const requested = requestedVersion(initialize.params ?? {});
      version = isLegacyVersion(requested) ? requested : LEGACY_PROTOCOL_VERSIONS[0];
    } else {
      const unsupported = checkProtocolVersionHeader(req);
      if (unsupported !== undefined) return unsupported;
      version = headerValue(req, 'mcp-protocol-version') ?? DEFAULT_PROTOCOL_VERSION;
      if (batch && !allowsBatches(version)) {
        return refusal(400, JsonRpcErrorCode.InvalidRequest, `Invalid Request: batches are not supported in protocol ${version}`);
      }
    }
    // Notifications and responses have no session to reach: accepted, and dropped.
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      res.writeHead(202).end();
      return undefined;
    }
    const caller = sessionless.caller(request);
    const busy = sessionless.checkInFlight(caller, requests.length);
    if (busy !== undefined) return busy;
    const shared = await servers.legacy(version);
    sessionless.dispatch(request, { caller, era: 'legacy', protocolVersion: version, requests, batch }, () =>
      initialize === undefined ? shared.transport.open() : initializeReceiver(shared),
    );
    return undefined;
  }

  async get(_request: LaneRequest): Promise<Refusal | undefined> {
    return postOnly();
  }

  async delete(_request: LaneRequest): Promise<Refusal | undefined> {
    return postOnly();
  }
}
