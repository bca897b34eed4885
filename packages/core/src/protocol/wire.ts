/**
 * Every identifier this library puts on the wire or on the message bus, each as a format/parse pair:
 * event ids, POST stream ids, server-to-client request ids, stream holder ids and bus topics.
 * Process instance ids (`<nodeId>-<hex>`) contain neither `~`, `:` nor `.`, so each format splits
 * unambiguously.
 */
import type { RequestId } from './jsonrpc.js';

/** The stream id of a session's standalone (GET) stream. */
export const STANDALONE_STREAM_ID = 'standalone';

/** Event ids are `<streamId>.<sequence>`; stream ids never contain a dot. */
export function formatEventId(streamId: string, sequence: number): string {
  return `${streamId}.${sequence}`;
}

export function parseEventId(eventId: string): { streamId: string; sequence: number } | undefined {
  const dot = eventId.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const digits = eventId.slice(dot + 1);
  if (!/^\d{1,15}$/.test(digits)) return undefined;
  return { streamId: eventId.slice(0, dot), sequence: Number(digits) };
}

/** Request ids are carried in a stream id only while they stay this short (base64url characters). */
const MAX_ENCODED_REQUEST_IDS = 256;

/**
 * A POST stream's id names its process instance (routing, liveness) and, when short enough, the ids
 * of its requests, so a process resuming it after the owner died can still answer the client:
 * `<instanceId>~<seq>~<base64url(JSON(requestIds))>`, or `<instanceId>~<seq>`.
 */
export function formatPostStreamId(instanceId: string, sequence: number, requestIds: readonly RequestId[]): string {
  const seq = sequence.toString(36);
  const ids = Buffer.from(JSON.stringify(requestIds)).toString('base64url');
  return ids.length <= MAX_ENCODED_REQUEST_IDS ? `${instanceId}~${seq}~${ids}` : `${instanceId}~${seq}`;
}

export interface ParsedPostStreamId {
  instanceId: string;
  /** Undefined when the ids were too long to carry, or the id is not one of ours. */
  requestIds: RequestId[] | undefined;
}

/** Undefined for the standalone stream and for ids this library did not make. */
export function parsePostStreamId(streamId: string): ParsedPostStreamId | undefined {
  const [instanceId, seq, encoded, ...rest] = streamId.split('~');
  if (instanceId === undefined || instanceId === '' || seq === undefined || !/^[0-9a-z]+$/.test(seq) || rest.length > 0) return undefined;
  if (encoded === undefined) return { instanceId, requestIds: undefined };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return { instanceId, requestIds: undefined };
  }
  const valid = Array.isArray(decoded) && decoded.every((id) => typeof id === 'string' || typeof id === 'number');
  return { instanceId, requestIds: valid ? (decoded as RequestId[]) : undefined };
}

/**
 * A server-to-client request id, unique in the session across processes: `<instanceId>~<n>`. The
 * client's answer carries it back, and the instance part says which process's server asked.
 */
export function formatOutgoingRequestId(instanceId: string, sequence: number): string {
  return `${instanceId}~${sequence}`;
}

/** The instance whose server sent the request, or undefined for an id this library did not make. */
export function parseOutgoingRequestId(id: RequestId): { instanceId: string } | undefined {
  if (typeof id !== 'string') return undefined;
  const tilde = id.lastIndexOf('~');
  return tilde <= 0 ? undefined : { instanceId: id.slice(0, tilde) };
}

/** One client connection to a stream, among every process: `<instanceId>:<n>`. */
export function formatHolderId(instanceId: string, sequence: number): string {
  return `${instanceId}:${sequence}`;
}

export function parseHolderId(holder: string): { instanceId: string; sequence: number } | undefined {
  const colon = holder.lastIndexOf(':');
  const digits = holder.slice(colon + 1);
  return colon <= 0 || !/^\d{1,15}$/.test(digits) ? undefined : { instanceId: holder.slice(0, colon), sequence: Number(digits) };
}

/** Message bus topics: one every process hears, one per session with streams, one per process instance. */
export const CONTROL_TOPIC = 'mcp:control';
const SESSION_TOPIC = 'mcp:session:';
const NODE_TOPIC = 'mcp:node:';

export function sessionTopic(sessionId: string): string {
  return `${SESSION_TOPIC}${sessionId}`;
}

export function nodeTopic(instanceId: string): string {
  return `${NODE_TOPIC}${instanceId}`;
}

export type ParsedTopic = { kind: 'control' } | { kind: 'session'; sessionId: string } | { kind: 'node'; instanceId: string };

export function parseTopic(topic: string): ParsedTopic | undefined {
  if (topic === CONTROL_TOPIC) return { kind: 'control' };
  const [prefix, kind] = topic.startsWith(SESSION_TOPIC)
    ? [SESSION_TOPIC, 'session']
    : topic.startsWith(NODE_TOPIC)
      ? [NODE_TOPIC, 'node']
      : [];
  const id = prefix === undefined ? '' : topic.slice(prefix.length);
  if (id === '') return undefined;
  return kind === 'session' ? { kind, sessionId: id } : { kind: 'node', instanceId: id };
}

/** A process instance: its node id and a random epoch, so a restart under the same node id is told apart. */
export function formatInstanceId(nodeId: string, epoch: string): string {
  return `${nodeId}-${epoch}`;
}
