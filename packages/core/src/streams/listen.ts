/**
 * `subscriptions/listen` (2026-07-28): a POST whose SSE response carries the change notifications a
 * client opted into, for as long as it stays open. The acknowledgement goes first; every message
 * carries the subscription id (the listen request's id); the filter is narrowed to what the server
 * declares. Changes come from the message bus, so a change raised on any process reaches the
 * listeners of every process. A graceful close ends each stream with the request's result.
 */
import type { ServerResponse } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from '../http/refusal.js';
import type { JSONRPCNotification, JSONRPCRequest } from '../protocol/jsonrpc.js';
import { META } from '../protocol/modern.js';
import { SseWriter } from './sse-writer.js';

/** What a client may opt into (`params.notifications`), narrowed to what the server declares. */
export interface ListenFilter {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
}

export interface ListenSettings {
  readonly maxListenStreams: number;
  readonly maxStreamBufferBytes: number;
  /** Registers an open SSE writer for keep-alive comments and shutdown. */
  readonly track: (writer: SseWriter) => void;
}

interface Listener {
  readonly writer: SseWriter;
  readonly id: JSONRPCRequest['id'];
  readonly filter: ListenFilter;
  readonly serverInfo: unknown;
}

type Capabilities = Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;

/** The filter honoured: the client's request, narrowed to the server's capabilities. */
function honoured(requested: Record<string, unknown>, capabilities: Capabilities): ListenFilter {
  const filter: ListenFilter = {};
  if (requested.toolsListChanged === true && capabilities.tools?.listChanged === true) filter.toolsListChanged = true;
  if (requested.promptsListChanged === true && capabilities.prompts?.listChanged === true) filter.promptsListChanged = true;
  if (requested.resourcesListChanged === true && capabilities.resources?.listChanged === true) filter.resourcesListChanged = true;
  const uris = requested.resourceSubscriptions;
  if (Array.isArray(uris) && uris.length > 0 && capabilities.resources?.subscribe === true) {
    filter.resourceSubscriptions = uris.filter((uri): uri is string => typeof uri === 'string');
  }
  return filter;
}

function wants(filter: ListenFilter, notification: JSONRPCNotification): boolean {
  switch (notification.method) {
    case 'notifications/tools/list_changed':
      return filter.toolsListChanged === true;
    case 'notifications/prompts/list_changed':
      return filter.promptsListChanged === true;
    case 'notifications/resources/list_changed':
      return filter.resourcesListChanged === true;
    case 'notifications/resources/updated':
      return filter.resourceSubscriptions?.includes(String(notification.params?.uri)) === true;
    default:
      return false;
  }
}

/** A notification stamped with the subscription it is delivered on. */
function stamped(method: string, params: Record<string, unknown> | undefined, id: JSONRPCRequest['id']): JSONRPCNotification {
  const meta = typeof params?._meta === 'object' && params._meta !== null ? params._meta : {};
  return { jsonrpc: '2.0', method, params: { ...params, _meta: { ...meta, [META.subscriptionId]: id } } };
}

export class ListenStreams {
  readonly #settings: ListenSettings;
  readonly #listeners = new Set<Listener>();

  constructor(settings: ListenSettings) {
    this.#settings = settings;
  }

  /** Open listen streams on this process. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Serves a `subscriptions/listen` request; a refusal when it cannot be served. */
  serve(res: ServerResponse, request: JSONRPCRequest, capabilities: Record<string, unknown>, serverInfo: unknown): Refusal | undefined {
    const requested = request.params?.notifications;
    if (typeof requested !== 'object' || requested === null || Array.isArray(requested)) {
      return refusal(200, JsonRpcErrorCode.InvalidParams, "Invalid params: 'notifications' must be an object", { id: request.id });
    }
    if (this.#listeners.size >= this.#settings.maxListenStreams) {
      return refusal(200, JsonRpcErrorCode.InternalError, 'Subscription limit reached (maxListenStreams)', { id: request.id });
    }
    const filter = honoured(requested as Record<string, unknown>, capabilities as Capabilities);
    const writer = new SseWriter(res, { sessionId: undefined, maxBufferBytes: this.#settings.maxStreamBufferBytes });
    const listener: Listener = { writer, id: request.id, filter, serverInfo };
    writer.event(undefined, stamped('notifications/subscriptions/acknowledged', { notifications: filter }, request.id));
    if (Object.keys(filter).length === 0) {
      // Nothing to listen to: the subscription is over at once.
      this.#finish(listener);
      return undefined;
    }
    this.#settings.track(writer);
    this.#listeners.add(listener);
    writer.onClose(() => this.#listeners.delete(listener));
    return undefined;
  }

  /** A change raised on some process: each listener here that opted into it gets it. */
  deliver(notification: JSONRPCNotification): void {
    for (const listener of this.#listeners) {
      if (wants(listener.filter, notification))
        listener.writer.event(undefined, stamped(notification.method, notification.params, listener.id));
    }
  }

  /** Ends every stream with its result (a graceful close). */
  close(): void {
    for (const listener of [...this.#listeners]) this.#finish(listener);
  }

  #finish(listener: Listener): void {
    const meta: Record<string, unknown> = { [META.subscriptionId]: listener.id };
    if (listener.serverInfo !== undefined) meta[META.serverInfo] = listener.serverInfo;
    listener.writer.event(undefined, { jsonrpc: '2.0', id: listener.id, result: { resultType: 'complete', _meta: meta } });
    listener.writer.end();
    this.#listeners.delete(listener);
  }
}
