/**
 * Session handles: what the server factory, tools, middleware and hooks hold of a session. A view of
 * the session record plus its state, as one small object per session.
 */
import type { SessionRecord } from '../stores/types.js';
import type { ClientInfo, McpSession, SessionState } from '../types.js';
import { type StateRuntime, scopedState } from './state.js';

/** What a session handle needs: its state's runtime, and where `onClose` cleanup is registered. */
export interface HandleRuntime extends StateRuntime {
  onClose(sessionId: string, cleanup: () => void | Promise<void>): () => void;
}

const kId = Symbol('mcp-session.id');
const kRecord = Symbol('mcp-session.record');
const kRuntime = Symbol('mcp-session.runtime');
const kState = Symbol('mcp-session.state');

/** What a handle keeps out of sight: read by the accessors below, shared by every handle. */
interface HandleInternals {
  readonly [kId]: string;
  readonly [kRecord]: () => SessionRecord;
  readonly [kRuntime]: HandleRuntime;
  [kState]: SessionState | undefined;
}

const field = <K extends keyof McpSession>(read: (handle: HandleInternals) => McpSession[K]): PropertyDescriptor => ({
  enumerable: true,
  get(this: HandleInternals) {
    return read(this);
  },
});

/**
 * The fields of every handle, as own enumerable accessors (spread and JSON see them, assignment
 * throws) whose functions are shared: a live session keeps one small object, not a dozen closures.
 */
const HANDLE_FIELDS: PropertyDescriptorMap = {
  id: field<'id'>((h) => h[kId]),
  principal: field<'principal'>((h) => h[kRecord]().principal),
  protocolVersion: field<'protocolVersion'>((h) => h[kRecord]().protocolVersion),
  clientInfo: field<'clientInfo'>((h) => h[kRecord]().initialize.params.clientInfo as ClientInfo | undefined),
  clientCapabilities: field<'clientCapabilities'>(
    (h) => h[kRecord]().initialize.params.capabilities as Record<string, unknown> | undefined,
  ),
  createdAt: field<'createdAt'>((h) => h[kRecord]().createdAt),
  lastActiveAt: field<'lastActiveAt'>((h) => h[kRecord]().lastActiveAt),
  requestCount: field<'requestCount'>((h) => h[kRecord]().requestCount),
  // Most handles never touch their state: it is made on first use.
  state: field<'state'>((h) => (h[kState] ??= scopedState(h[kId], h[kRuntime]))),
};

/** A session handle over a record, read live so it reflects later touches on this process. */
export function sessionHandle(sessionId: string, getRecord: () => SessionRecord, runtime: HandleRuntime): McpSession {
  const internals: HandleInternals & Pick<McpSession, 'onClose'> = {
    [kId]: sessionId,
    [kRecord]: getRecord,
    [kRuntime]: runtime,
    [kState]: undefined,
    onClose: (cleanup) => runtime.onClose(sessionId, cleanup),
  };
  return Object.defineProperties(internals, HANDLE_FIELDS) as unknown as McpSession;
}
