/**
 * The HTTP layer: the checks every request needs (shutdown, Host and Origin, method, then per method
 * Accept, Content-Type and the body), era routing, and the one place a refusal is written and counted.
 * Every request is answered: a failure inside a lane becomes 503 (a store out of reach) or 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonRpcErrorCode, McpSessionError } from '../errors.js';
import type { Lane, LaneRequest } from '../lanes/lane.js';
import { LEGACY, type ModernLane } from '../lanes/modern.js';
import type { Metrics } from '../metrics.js';
import { mayBeModern } from '../protocol/modern.js';
import type { AuthInfo, Logger } from '../types.js';
import { type TrustProxy, clientAddress } from './address.js';
import { checkPostHeaders } from './checks.js';
import { type OriginPolicy, checkOriginAndHost, isLoopbackAddress } from './guards.js';
import { parsePostBody } from './post-body.js';
import { type Refusal, refusal, shuttingDown, storeUnavailable, writeRefusal } from './refusal.js';

/** Per-request input an adapter passes besides Node's `req` and `res`. */
export interface HandleRequestOptions {
  /** The body, when the host framework already parsed it (or `unparsableBody`). Read from `req` otherwise. */
  body?: unknown;
  /** Authentication from the host's middleware (the SDK's `req.auth` convention). */
  auth?: AuthInfo;
}

export interface HttpEndpointSettings {
  readonly originPolicy: OriginPolicy;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly trustProxy: TrustProxy;
  /** The lane of each era: legacy clients (with sessions, stateless, or refused), and 2026-07-28. */
  readonly lanes: { readonly legacy: Lane; readonly modern: ModernLane };
  /** Resolves once the process can serve (subscribed to the message bus). */
  readonly ready: () => Promise<void>;
  readonly isClosed: () => boolean;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly reportError: (error: unknown) => void;
}

const methodNotAllowed = (allow: string): Refusal =>
  refusal(405, JsonRpcErrorCode.ServerError, `Method Not Allowed: use ${allow}`, { headers: { allow } });

export class HttpEndpoint {
  readonly #settings: HttpEndpointSettings;
  #warnedAnyHost = false;

  constructor(settings: HttpEndpointSettings) {
    this.#settings = settings;
  }

  /** Serves one HTTP request to the MCP path. Never throws: every failure is answered. */
  async handle(req: IncomingMessage, res: ServerResponse, options: HandleRequestOptions = {}): Promise<void> {
    const { lanes, isClosed, reportError } = this.#settings;
    try {
      if (isClosed()) return this.#refuse(res, shuttingDown());
      const forbidden = checkOriginAndHost(req, this.#settings.originPolicy);
      if (forbidden !== undefined) return this.#refuse(res, forbidden);
      this.#warnOnceBeyondLoopback(req);
      await this.#settings.ready();
      // close() may have begun while this process waited for the bus.
      if (isClosed()) return this.#refuse(res, shuttingDown());
      const request = { req, res, auth: options.auth, address: clientAddress(req, this.#settings.trustProxy) };
      let refused: Refusal | undefined;
      switch (req.method) {
        case 'POST':
          refused = await this.#post(req, options.body, request);
          break;
        case 'GET':
          refused = await lanes.legacy.get(request);
          break;
        case 'DELETE':
          refused = await lanes.legacy.delete(request);
          break;
        default:
          refused = methodNotAllowed(lanes.legacy.allow);
      }
      if (refused !== undefined) this.#refuse(res, refused);
    } catch (error) {
      reportError(error);
      // A store out of reach is a passing condition: tell the client when to come back.
      const storeDown = error instanceof McpSessionError && error.code === 'ERR_MCP_SESSION_STORE';
      this.#refuse(res, storeDown ? storeUnavailable() : refusal(500, JsonRpcErrorCode.InternalError, 'Internal error'));
    }
  }

  async #post(req: IncomingMessage, body: unknown, request: LaneRequest) {
    const badHeaders = checkPostHeaders(req);
    if (badHeaders !== undefined) return badHeaders;
    const parsed = await parsePostBody(req, body, this.#settings);
    if (!parsed.ok) return parsed;
    // A body that took its time may end after close() began: the servers and streams that would
    // serve it are gone, and nothing would answer it or end its stream.
    if (this.#settings.isClosed()) return shuttingDown();
    const { messages, batch } = parsed;
    const { lanes } = this.#settings;
    // Field by field: on Node 20's V8 a spread followed by new keys (`{ ...request, messages, batch }`)
    // gives every object a map of its own, and every read of it downstream goes the slow way.
    const post = { req: request.req, res: request.res, auth: request.auth, address: request.address, messages, batch };
    // Only what may be modern meets the SDK's classifier; the rest is legacy at no cost.
    if (mayBeModern(messages, batch, req.headers)) {
      const served = await lanes.modern.post(post);
      if (served !== LEGACY) return served;
    }
    return lanes.legacy.post(post);
  }

  /** Serving any host beyond loopback is the operator's choice (`allowAnyHost`): say so once. */
  #warnOnceBeyondLoopback(req: IncomingMessage): void {
    const { originPolicy, log } = this.#settings;
    if (this.#warnedAnyHost || originPolicy.allowedHosts !== undefined || isLoopbackAddress(req.socket.localAddress)) return;
    this.#warnedAnyHost = true;
    log.warn(
      {},
      'mcp-session: allowAnyHost is set and the server listens beyond loopback: any Host is answered (no DNS-rebinding protection)',
    );
  }

  /** Answers with the refusal's status and JSON-RPC error body, and counts it. */
  #refuse(res: ServerResponse, refused: Refusal): void {
    // A JSON-RPC error in a 200 (a refused subscription) is an answer, not an HTTP error.
    if (refused.status >= 400) this.#settings.metrics.countError(refused.status);
    writeRefusal(res, refused);
  }
}
