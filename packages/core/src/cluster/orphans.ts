/**
 * Resumed response streams whose response may never come: when the process that owed it died (its
 * heartbeat lapsed), or, owned here, is no longer running, the client gets a JSON-RPC error for each
 * of the stream's requests instead of waiting forever.
 */
import { JsonRpcErrorCode } from '../errors.js';
import type { JSONRPCResponse } from '../protocol/jsonrpc.js';
import { parsePostStreamId } from '../protocol/wire.js';
import type { EventStore, SessionStore } from '../stores/types.js';
import type { AttachedStream } from '../streams/attached-stream.js';
import type { StreamRegistry } from '../streams/registry.js';
import type { Clock } from '../types.js';

export interface OrphanSettings {
  readonly instanceId: string;
  readonly store: SessionStore;
  readonly eventStore: EventStore | null;
  readonly clock: Clock;
}

export class OrphanedStreams {
  readonly #settings: OrphanSettings;
  readonly #streams: StreamRegistry;
  /** Resumed response streams still waiting for their response. */
  readonly #waiting = new Set<AttachedStream>();

  constructor(settings: OrphanSettings, streams: StreamRegistry) {
    this.#settings = settings;
    this.#streams = streams;
  }

  /** Watches a resumed response stream until its response comes or its client leaves. */
  async watch(stream: AttachedStream): Promise<void> {
    this.#waiting.add(stream);
    stream.writer.onClose(() => this.#waiting.delete(stream));
    await this.#answerIfOrphaned(stream);
  }

  /** Checks every watched stream again (a sweep task: heartbeats lapse with time). */
  async sweep(): Promise<void> {
    for (const stream of [...this.#waiting]) await this.#answerIfOrphaned(stream);
  }

  async #answerIfOrphaned(stream: AttachedStream): Promise<void> {
    const { instanceId, store, eventStore, clock } = this.#settings;
    const owner = parsePostStreamId(stream.streamId);
    if (owner?.requestIds === undefined || !stream.open) return;
    if (owner.instanceId === instanceId) {
      if (this.#streams.isAnswering(stream.streamId)) return;
    } else if (store.isAlive === undefined || (await store.isAlive(owner.instanceId, clock.now()))) {
      return;
    }
    if (!stream.open) return;
    this.#waiting.delete(stream);
    for (const id of owner.requestIds) {
      const response: JSONRPCResponse = {
        jsonrpc: '2.0',
        id,
        error: {
          code: JsonRpcErrorCode.InternalError,
          message: 'The server process handling this request stopped before answering; send the request again',
        },
      };
      const eventId = await eventStore?.append(stream.sessionId, stream.streamId, response);
      stream.deliver(eventId, response);
    }
  }
}
