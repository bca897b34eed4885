/**
 * Legacy clients refused (`legacy: 'reject'`): the endpoint serves 2026-07-28 only. A legacy request
 * gets 400 with `-32022` naming the versions served; a notification is accepted and dropped;
 * batches and posted responses are invalid; GET and DELETE get 405 and session headers are ignored.
 */
import { JsonRpcErrorCode } from '../errors.js';
import { headerValue } from '../http/checks.js';
import { type Refusal, refusal } from '../http/refusal.js';
import { isInitializeRequest, isRequest, isResponse } from '../protocol/jsonrpc.js';
import { MODERN_PROTOCOL_VERSIONS, unsupportedVersion } from '../protocol/modern.js';
import type { Lane, LaneRequest, PostRequest } from './lane.js';
import { postOnly } from './legacy-stateless.js';

export class RejectLane implements Lane {
  readonly allow = 'POST';

  async post(request: PostRequest): Promise<Refusal | undefined> {
    const { req, res, messages, batch } = request;
    const invalid = (what: string) =>
      refusal(400, JsonRpcErrorCode.InvalidRequest, `Bad Request: ${what} are not supported by this endpoint`);
    if (batch) return invalid('JSON-RPC batches');
    const message = messages[0]!;
    if (isResponse(message)) return invalid('posted JSON-RPC responses');
    if (!isRequest(message)) {
      res.writeHead(202).end();
      return undefined;
    }
    const named = message.params?.protocolVersion;
    const requested = isInitializeRequest(message)
      ? typeof named === 'string'
        ? named
        : undefined
      : headerValue(req, 'mcp-protocol-version');
    return { ...unsupportedVersion(requested, MODERN_PROTOCOL_VERSIONS), id: message.id };
  }

  async get(_request: LaneRequest): Promise<Refusal | undefined> {
    return postOnly();
  }

  async delete(_request: LaneRequest): Promise<Refusal | undefined> {
    return postOnly();
  }
}
