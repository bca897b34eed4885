/**
 * The 2026-07-28 lane: no sessions, no `initialize`; every request carries its protocol version and
 * client capabilities in `_meta` and is served by one server per process. The SDK's classifier
 * decides the era and the envelope rules (protocol/classify.ts spares it the envelopes it already
 * found valid); this lane adds the header rules (`-32020`), the supported version (`-32022`),
 * `subscriptions/listen`, and the HTTP status of errors the protocol's gates send.
 */
import { messageExtra } from '../http/request-view.js';
import { type Refusal, refusal, shuttingDown } from '../http/refusal.js';
import type { ModernServer, SharedServers } from '../live/shared-servers.js';
import type { SharedReceiver } from '../live/shared-transport.js';
import type { JSONRPCMessage, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse, RequestId } from '../protocol/jsonrpc.js';
import {
  MODERN_PROTOCOL_VERSION,
  MODERN_PROTOCOL_VERSIONS,
  type MirroredArgument,
  checkParamHeaders,
  checkStandardHeaders,
  headerText,
  mirroredArguments,
  modernErrorStatus,
  unsupportedVersion,
} from '../protocol/modern.js';
import type { ListenStreams } from '../streams/listen.js';
import type { PostStream } from '../streams/post-stream.js';
import type { PostRequest } from './lane.js';
import type { Sessionless } from './sessionless.js';

/** The request is legacy after all (the SDK's classifier said so): the legacy lane serves it. */
export const LEGACY = Symbol('legacy');

export interface ModernLaneDeps {
  readonly servers: SharedServers;
  readonly sessionless: Sessionless;
  readonly listen: ListenStreams;
  /** The versions a client may fall back to when this lane cannot serve (none when legacy clients are refused). */
  readonly legacyVersions: readonly string[];
  readonly countError: (status: number) => void;
  readonly isClosed: () => boolean;
}

/** The id a refusal echoes: the request's, when the body is one. */
function bodyId(body: unknown): RequestId | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { id, method } = body as { id?: unknown; method?: unknown };
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number') ? id : null;
}

export class ModernLane {
  readonly #deps: ModernLaneDeps;
  /** The mirrored arguments of each tool input schema the server gave (it keeps one object per tool until the tool changes). */
  readonly #mirrored = new WeakMap<object, readonly MirroredArgument[]>();

  constructor(deps: ModernLaneDeps) {
    this.#deps = deps;
  }

  /** Serves a POST that may be of the 2026-07-28 era; {@link LEGACY} when it is not. */
  async post(request: PostRequest): Promise<Refusal | undefined | typeof LEGACY> {
    const { req, res, messages, batch } = request;
    // The entry refuses an empty batch: a single body is one message.
    const body = batch ? messages : (messages[0] as JSONRPCMessage);
    const id = bodyId(body);
    const server = await this.#deps.servers.modern();
    // A server that close() cut short while it was built says nothing about the versions served.
    if (this.#deps.isClosed()) return { ...shuttingDown(), id };
    if (server === undefined) {
      return { ...unsupportedVersion(headerText(req.headers, 'mcp-protocol-version'), this.#deps.legacyVersions), id };
    }
    const outcome = server.classifier.classify({
      protocolVersionHeader: headerText(req.headers, 'mcp-protocol-version'),
      mcpMethodHeader: headerText(req.headers, 'mcp-method'),
      mcpNameHeader: headerText(req.headers, 'mcp-name'),
      body,
    });
    if (outcome.kind === 'legacy') return LEGACY;
    if (outcome.kind === 'reject') return refusal(outcome.httpStatus, outcome.code, outcome.message, { data: outcome.data, id });
    const revision = outcome.classification.revision;
    if (revision === undefined || !(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(revision)) {
      return { ...unsupportedVersion(revision, MODERN_PROTOCOL_VERSIONS), id };
    }
    const message = messages[0] as JSONRPCRequest | JSONRPCNotification;
    if (outcome.messageKind === 'notification') {
      // A client cancels a 2026-07-28 request by closing its response; its own ids mean nothing here.
      if (message.method !== 'notifications/cancelled') server.transport.notify(message, messageExtra(req, request.auth));
      res.writeHead(202).end();
      return undefined;
    }
    const call = message as JSONRPCRequest;
    const badHeaders = checkStandardHeaders(req.headers, call) ?? this.#checkParamHeaders(request, server, call);
    if (badHeaders !== undefined) return { ...badHeaders, id: call.id };
    if (call.method === 'subscriptions/listen') {
      const refused = this.#deps.listen.serve(res, call, server.capabilities(), server.serverInfo);
      return refused === undefined ? undefined : { ...refused, id: call.id };
    }
    const { sessionless } = this.#deps;
    const caller = sessionless.caller(request);
    const busy = sessionless.checkInFlight(caller, 1);
    if (busy !== undefined) return { ...busy, id: call.id };
    sessionless.dispatch(
      request,
      { caller, era: 'modern', protocolVersion: MODERN_PROTOCOL_VERSION, requests: [call], batch: false },
      () => server.transport.open(),
      (stream, response, receiver) => this.#respond(stream, response, receiver as SharedReceiver),
    );
    return undefined;
  }

  /** Tool arguments the schema marks `x-mcp-header` must come with equal `Mcp-Param-*` headers. */
  #checkParamHeaders(request: PostRequest, server: ModernServer, call: JSONRPCRequest): Refusal | undefined {
    if (call.method !== 'tools/call' || typeof call.params?.name !== 'string') return undefined;
    const mirrored = this.#mirroredOf(server.toolInputSchema(call.params.name));
    if (mirrored.length === 0) return undefined;
    const args = call.params.arguments;
    return checkParamHeaders(
      request.req.headers,
      mirrored,
      typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : undefined,
    );
  }

  #mirroredOf(schema: unknown): readonly MirroredArgument[] {
    if (typeof schema !== 'object' || schema === null) return mirroredArguments(schema);
    let mirrored = this.#mirrored.get(schema);
    if (mirrored === undefined) {
      mirrored = mirroredArguments(schema);
      this.#mirrored.set(schema, mirrored);
    }
    return mirrored;
  }

  /** An error the protocol's gates sent (or `-32021`) goes out with its HTTP status while the response has not started. */
  #respond(stream: PostStream, response: JSONRPCResponse, receiver: SharedReceiver): void {
    if ('error' in response && response.id !== undefined && response.id !== null) {
      const status = modernErrorStatus(response.error.code, receiver.refusedByProtocol);
      if (status !== undefined) {
        const { code, message, data } = response.error;
        if (stream.refuse({ ...refusal(status, code, message, { data }), id: response.id })) {
          this.#deps.countError(status);
          return;
        }
      }
    }
    stream.respond(response);
  }
}
