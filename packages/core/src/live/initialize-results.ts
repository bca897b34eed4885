/**
 * `lazyServer`: the `initialize` results this process's servers gave, kept per protocol version, so a
 * new session is answered without building its server. A server built later for such a session must
 * answer the same; when one does not, the factory's servers differ per session and kept results are
 * turned off here.
 */
import type { DispatchTarget } from '../pipeline/dispatcher.js';

/** A target inside a legacy session: the session's record and handle beside its receiver. */
export interface SessionTarget extends DispatchTarget {
  readonly record: SessionRecord;
  readonly session: McpSession;
}
import type { JSONRPCRequest } from '../protocol/jsonrpc.js';
import type { SessionRecord } from '../stores/types.js';
import type { Logger, McpSession } from '../types.js';
import type { MessageExtra, RequestSink } from './transport.js';

/** Results kept per requested protocol version; clients ask for a handful. */
const MAX_KEPT_RESULTS = 16;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The shape the SDK's servers require of `initialize` params. Params that miss it are never answered
 * from a kept result: a server is built and answers (with its error), as without `lazyServer`.
 */
function wellFormedInitialize(params: Record<string, unknown>): boolean {
  const { protocolVersion, capabilities, clientInfo } = params;
  return (
    typeof protocolVersion === 'string' &&
    isObject(capabilities) &&
    isObject(clientInfo) &&
    typeof clientInfo.name === 'string' &&
    typeof clientInfo.version === 'string'
  );
}

export class KeptInitializeResults {
  /** A result as JSON, so no two answers share an object, by protocol version. */
  readonly #results = new Map<string, string>();
  readonly #log: Logger;
  readonly #nodeId: string;
  #enabled: boolean;

  constructor(options: { enabled: boolean; log: Logger; nodeId: string }) {
    this.#enabled = options.enabled;
    this.#log = options.log;
    this.#nodeId = options.nodeId;
  }

  /** `lazyServer` is on, and no two servers answered differently. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** A target that answers the initialize from a kept result, or undefined when none fits. */
  answering(record: SessionRecord, session: McpSession, request: JSONRPCRequest, requested: string): SessionTarget | undefined {
    const params = request.params ?? {};
    const kept = this.#enabled && wellFormedInitialize(params) ? this.#results.get(requested) : undefined;
    if (kept === undefined) return undefined;
    return {
      record,
      session,
      transport: {
        receive: (_message: unknown, _extra: MessageExtra | undefined, sink?: RequestSink) =>
          void sink?.respond({ jsonrpc: '2.0', id: request.id, result: JSON.parse(kept) as Record<string, unknown> }),
      },
    };
  }

  /** A live session as a target whose initialize result is kept for later sessions. */
  learning(live: SessionTarget, requested: string): SessionTarget {
    return {
      record: live.record,
      session: live.session,
      transport: {
        receive: (message, extra, sink) =>
          live.transport.receive(
            message,
            extra,
            sink && {
              acceptsRelated: sink.acceptsRelated,
              send: (related) => sink.send(related),
              respond: (response) => {
                if ('result' in response) this.#remember(requested, response.result);
                return sink.respond(response);
              },
            },
          ),
      },
    };
  }

  /** A server built for a session answered the replayed initialize with `result`: check it against the kept one. */
  check(requested: string, result: Record<string, unknown>): void {
    const kept = this.#results.get(requested);
    if (!this.#enabled || kept === undefined || kept === JSON.stringify(result)) return;
    this.#enabled = false;
    this.#results.clear();
    this.#log.warn(
      { nodeId: this.#nodeId, protocolVersion: requested },
      'mcp-session: lazyServer is on, but the server factory answered initialize differently for two sessions; ' +
        'sessions are now created with their own server (turn lazyServer off when your servers differ per session)',
    );
  }

  /**
   * Keeps a server's result, as it left the server (middleware sees it after), for the version the
   * client asked for, when the server agreed to it: a made-up version takes no slot.
   */
  #remember(requested: string, result: Record<string, unknown>): void {
    if (result.protocolVersion !== requested || this.#results.has(requested)) return;
    if (this.#results.size >= MAX_KEPT_RESULTS) return;
    this.#results.set(requested, JSON.stringify(result));
  }
}
