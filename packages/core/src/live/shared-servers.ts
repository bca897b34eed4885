/**
 * The servers that serve requests without a session, one per process and kind, built from the user's
 * factory on first need (single-flight) and kept until the endpoint closes:
 *
 * - the 2026-07-28 server, bound to that revision by connecting it to a transport of the SDK's
 *   per-request class (the SDK's documented binding); a factory whose servers do not list
 *   `2026-07-28`, or an SDK without it, leaves the lane unavailable, which is said once in the log;
 * - one legacy server per protocol version for `legacy: 'stateless'`, initialized once with an
 *   `initialize` of no client capabilities; its result answers every client's `initialize`.
 */
import { McpSessionError } from '../errors.js';
import type { JSONRPCNotification, JSONRPCResponse } from '../protocol/jsonrpc.js';
import { ModernClassifier, type SdkClassifier } from '../protocol/classify.js';
import { META, MODERN_PROTOCOL_VERSION } from '../protocol/modern.js';
import type { Era, Logger, McpServerLike, ServerContext } from '../types.js';
import { type SharedTransport, type SharedTransportHost, type TransportBase, sharedTransportClass } from './shared-transport.js';

/** What the 2026-07-28 lane uses of `@modelcontextprotocol/server` (2.4 and later). */
export interface ModernSdk {
  readonly classifyInboundRequest: SdkClassifier;
  readonly PerRequestHTTPServerTransport: TransportBase;
}

/**
 * The copies of the SDK this process can load: the server factory's `McpServer` binds to the
 * 2026-07-28 era only through a transport of its own copy's class, and the SDK ships an ES module and
 * a CommonJS build, either of which the user's code may have loaded. Both are offered, ES module
 * first; none when the SDK is not installed or too old (before 2.4).
 */
async function loadModernSdks(): Promise<ModernSdk[]> {
  const loaders: Array<() => Promise<unknown>> = [() => import('@modelcontextprotocol/server')];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS copy, where require exists (both builds of this package)
  if (typeof require === 'function') loaders.push(async () => require('@modelcontextprotocol/server'));
  const found: ModernSdk[] = [];
  for (const load of loaders) {
    try {
      const sdk = (await load()) as Partial<ModernSdk>;
      if (typeof sdk.classifyInboundRequest !== 'function' || typeof sdk.PerRequestHTTPServerTransport !== 'function') continue;
      if (found.some((copy) => copy.PerRequestHTTPServerTransport === sdk.PerRequestHTTPServerTransport)) continue;
      found.push({ classifyInboundRequest: sdk.classifyInboundRequest, PerRequestHTTPServerTransport: sdk.PerRequestHTTPServerTransport });
    } catch {
      // Not installed in this format.
    }
  }
  return found;
}

/** A server serving many clients, and its transport. */
export interface SharedServer {
  readonly server: McpServerLike;
  readonly transport: SharedTransport;
  /** The `initialize` result of a legacy server (answers every client's `initialize`). */
  readonly initializeResult?: Record<string, unknown>;
}

/** What the modern server offers the lane besides serving. */
export interface ModernServer extends SharedServer {
  readonly sdk: ModernSdk;
  /** The SDK's era classifier, with its shortcut for a request the SDK has already found modern. */
  readonly classifier: ModernClassifier;
  /** The capabilities it declares (narrow `subscriptions/listen` filters). */
  capabilities(): Record<string, unknown>;
  /** The JSON input schema of a tool (for `Mcp-Param-*` checks); undefined when unknown. */
  toolInputSchema(name: string): unknown;
  /** `serverInfo` for result `_meta`. */
  readonly serverInfo: { name: string; version: string } | undefined;
}

export interface SharedServerSettings {
  readonly factory: (context: ServerContext) => McpServerLike | Promise<McpServerLike>;
  readonly context: (era: Era) => ServerContext;
  readonly changed: (notification: JSONRPCNotification) => void;
  readonly log: Logger;
  readonly reportError: (error: unknown) => void;
}

/** The SDK v2 `McpServer` surface the modern lane reads (all optional: a v1 server has none of it). */
interface V2ServerShape {
  server?: {
    getNegotiatedProtocolVersion?: () => string | undefined;
    getCapabilities?: () => Record<string, unknown>;
  };
  toolInputSchemaJson?: (name: string) => unknown;
}

/** After a factory threw building a shared server, requests are refused this long before it is asked again. */
const RETRY_BUILD_MS = 10_000;

function connect(server: McpServerLike, transport: SharedTransport): Promise<void> {
  return (server as unknown as { connect(transport: SharedTransport): Promise<void> }).connect(transport);
}

const STATELESS_CLIENT = { name: 'mcp-session-stateless', version: '1.0.0' };

/** Asks a server what `server/discover` says of it: the `serverInfo` results carry in `_meta`. */
async function discoveredServerInfo(transport: SharedTransport): Promise<{ name: string; version: string } | undefined> {
  const response = await new Promise<JSONRPCResponse>((resolve) => {
    transport.open().receive(
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'server/discover',
        params: { _meta: { [META.protocolVersion]: MODERN_PROTOCOL_VERSION, [META.clientCapabilities]: {} } },
      },
      undefined,
      { acceptsRelated: false, send: () => undefined, respond: resolve },
    );
  });
  const info = 'result' in response ? (response.result._meta as Record<string, unknown> | undefined)?.[META.serverInfo] : undefined;
  return typeof info === 'object' && info !== null ? (info as { name: string; version: string }) : undefined;
}

export class SharedServers {
  readonly #settings: SharedServerSettings;
  readonly #host: SharedTransportHost;
  #modern: Promise<ModernServer | undefined> | undefined;
  readonly #legacy = new Map<string, Promise<SharedServer>>();
  readonly #built: SharedServer[] = [];
  #closed = false;

  constructor(settings: SharedServerSettings) {
    this.#settings = settings;
    this.#host = { changed: settings.changed, reportError: settings.reportError };
  }

  /** The 2026-07-28 server; undefined when it cannot be served (said once in the log). */
  modern(): Promise<ModernServer | undefined> {
    this.#modern ??= this.#buildModern().catch((error: unknown) => {
      // A build that close() cut short is no failure of the factory.
      if (this.#closed) return undefined;
      this.#settings.reportError(error);
      // A factory that threw is asked again a while later, not by every request.
      setTimeout(() => (this.#modern = undefined), RETRY_BUILD_MS).unref();
      return undefined;
    });
    return this.#modern;
  }

  /** The stateless legacy server of a protocol version. */
  legacy(protocolVersion: string): Promise<SharedServer> {
    let pending = this.#legacy.get(protocolVersion);
    if (pending === undefined) {
      pending = this.#buildLegacy(protocolVersion);
      pending.catch(() => this.#legacy.delete(protocolVersion));
      this.#legacy.set(protocolVersion, pending);
    }
    return pending;
  }

  /** Requests on their way through these servers on this process. */
  get pendingRequests(): number {
    return this.#built.reduce((sum, shared) => sum + shared.transport.pendingRequests, 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const shared of this.#built.splice(0)) await this.#dispose(shared);
  }

  async #build(era: Era): Promise<McpServerLike> {
    try {
      return await this.#settings.factory(this.#settings.context(era));
    } catch (error) {
      throw new McpSessionError('ERR_MCP_SESSION_FACTORY', `the server factory threw building the ${era} server without a session`, {
        cause: error,
      });
    }
  }

  async #buildModern(): Promise<ModernServer | undefined> {
    const copies = await loadModernSdks();
    if (copies.length === 0) {
      this.#settings.log.warn(
        {},
        'mcp-session: 2026-07-28 requests are refused: @modelcontextprotocol/server >= 2.4 is not installed (legacy clients are served as before)',
      );
      return undefined;
    }
    const server = await this.#build('modern');
    const shape = server as unknown as V2ServerShape;
    const classification = { era: 'modern', revision: MODERN_PROTOCOL_VERSION };
    for (const sdk of copies) {
      const Transport = sharedTransportClass(sdk.PerRequestHTTPServerTransport);
      const transport = new Transport(this.#host, { classification }, { classification });
      await connect(server, transport);
      if (shape.server?.getNegotiatedProtocolVersion?.() === MODERN_PROTOCOL_VERSION) return this.#adoptModern(server, transport, sdk);
      // Not this copy's server (or not one that serves 2026-07-28): disconnect, try the next copy.
      await this.#dispose({ server, transport });
    }
    this.#settings.log.warn(
      {},
      `mcp-session: 2026-07-28 requests are refused: the server factory's McpServer does not list '${MODERN_PROTOCOL_VERSION}' in supportedProtocolVersions (new McpServer(info, { supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, '${MODERN_PROTOCOL_VERSION}'] }))`,
    );
    return undefined;
  }

  async #adoptModern(server: McpServerLike, transport: SharedTransport, sdk: ModernSdk): Promise<ModernServer> {
    const shape = server as unknown as V2ServerShape;
    const built: ModernServer = {
      server,
      transport,
      sdk,
      classifier: new ModernClassifier(sdk.classifyInboundRequest),
      capabilities: () => shape.server?.getCapabilities?.() ?? {},
      toolInputSchema: (name) => shape.toolInputSchemaJson?.(name),
      serverInfo: await discoveredServerInfo(transport),
    };
    return this.#adopt(built);
  }

  async #buildLegacy(protocolVersion: string): Promise<SharedServer> {
    const Transport = sharedTransportClass();
    const transport = new Transport(this.#host, undefined);
    const server = await this.#build('legacy');
    await connect(server, transport);
    let response: JSONRPCResponse;
    try {
      response = await new Promise<JSONRPCResponse>((resolve) => {
        transport.open().receive(
          {
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: { protocolVersion, capabilities: {}, clientInfo: STATELESS_CLIENT },
          },
          undefined,
          { acceptsRelated: false, send: () => undefined, respond: resolve },
        );
      });
      if ('error' in response) throw new Error(response.error.message);
    } catch (error) {
      await this.#dispose({ server, transport });
      throw new McpSessionError('ERR_MCP_SESSION_FACTORY', `the stateless server did not initialize for ${protocolVersion}`, {
        cause: error,
      });
    }
    transport.notify({ jsonrpc: '2.0', method: 'notifications/initialized' }, undefined);
    return this.#adopt({ server, transport, initializeResult: response.result });
  }

  async #adopt<T extends SharedServer>(shared: T): Promise<T> {
    if (this.#closed) {
      await this.#dispose(shared);
      throw new McpSessionError('ERR_MCP_SESSION_FACTORY', 'the endpoint closed while a server was built');
    }
    this.#built.push(shared);
    return shared;
  }

  async #dispose(shared: Pick<SharedServer, 'server' | 'transport'>): Promise<void> {
    await shared.transport.close();
    try {
      await shared.server.close();
    } catch (error) {
      this.#settings.reportError(error);
    }
  }
}
