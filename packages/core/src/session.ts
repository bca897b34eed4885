import type { SessionRecord } from './stores/types.js';

/** The client's self-description from `initialize`. */
export interface ClientInfo {
  name: string;
  version: string;
  [key: string]: unknown;
}

/**
 * A legacy MCP session as the server factory and hooks see it. A read-only view of the session
 * record; the record in the `SessionStore` is the truth.
 */
export interface McpSession {
  /** The `MCP-Session-Id`. */
  readonly id: string;
  /** The principal the session is bound to, when the client authenticated. */
  readonly principal: string | undefined;
  /** The protocol version the client asked for at `initialize` (the server may have answered another). */
  readonly protocolVersion: string;
  readonly clientInfo: ClientInfo | undefined;
  readonly clientCapabilities: Record<string, unknown> | undefined;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly requestCount: number;
}

/** A view of a record, read live so it reflects later touches on this process. */
export function sessionView(getRecord: () => SessionRecord): McpSession {
  return {
    get id() {
      return getRecord().id;
    },
    get principal() {
      return getRecord().principal;
    },
    get protocolVersion() {
      return getRecord().protocolVersion;
    },
    get clientInfo() {
      return getRecord().initialize.params.clientInfo as ClientInfo | undefined;
    },
    get clientCapabilities() {
      return getRecord().initialize.params.capabilities as Record<string, unknown> | undefined;
    },
    get createdAt() {
      return getRecord().createdAt;
    },
    get lastActiveAt() {
      return getRecord().lastActiveAt;
    },
    get requestCount() {
      return getRecord().requestCount;
    },
  };
}
