/**
 * Routing between the processes that share the stores, over the message bus: a client's answer to
 * a server-to-client request goes to the process whose server asked; an event goes to the process
 * that holds the stream's client; a stream taken over elsewhere closes here; a session ended
 * elsewhere is released here; broadcasts reach every GET stream once. Heartbeats in the session store
 * let a process tell that another one died.
 */
import type { JSONRPCMessage, JSONRPCNotification, JSONRPCResponse } from '../protocol/jsonrpc.js';
import { isResponse } from '../protocol/jsonrpc.js';
import { CONTROL_TOPIC, formatOutgoingRequestId, nodeTopic, parseOutgoingRequestId, sessionTopic } from '../protocol/wire.js';
import type { BroadcastFilter, BusMessage, EventStore, MessageBus, SessionStore } from '../stores/types.js';
import type { AttachedStream } from '../streams/attached-stream.js';
import type { StreamRegistry, StreamRelay } from '../streams/registry.js';
import type { StreamOwnership } from '../streams/resumption.js';
import type { Clock } from '../types.js';
import { OrphanedStreams } from './orphans.js';

/** What the cluster hands to the rest of this process. */
export interface ClusterPeers {
  /** A client's answer to a request this process's server sent. */
  receiveClientResponse(sessionId: string, response: JSONRPCResponse): void;
  /** Another process ended the session. */
  endedElsewhere(sessionId: string): Promise<void>;
  /** A list or a resource changed, on this process or another (2026-07-28 listeners). */
  changed(notification: JSONRPCNotification): void;
}

export interface ClusterSettings {
  readonly bus: MessageBus;
  readonly store: SessionStore;
  readonly eventStore: EventStore | null;
  readonly instanceId: string;
  readonly clock: Clock;
  readonly sweepIntervalMs: number;
  readonly reportError: (error: unknown) => void;
}

export class ClusterRouter implements StreamRelay, StreamOwnership {
  readonly #settings: ClusterSettings;
  readonly #streams: StreamRegistry;
  readonly #peers: ClusterPeers;
  readonly #orphans: OrphanedStreams;
  readonly #unsubscribe: Array<() => unknown> = [];
  readonly #sessionSubscriptions = new Map<string, Promise<() => unknown>>();
  #ready: Promise<void>;
  #outgoingSeq = 0;

  constructor(settings: ClusterSettings, streams: StreamRegistry, peers: ClusterPeers) {
    this.#settings = settings;
    this.#streams = streams;
    this.#peers = peers;
    this.#orphans = new OrphanedStreams(settings, streams);
    this.#ready = this.#start();
  }

  /** Resolves once this process hears the bus; a start that failed is tried again. */
  async ready(): Promise<void> {
    try {
      await this.#ready;
    } catch {
      // The bus or the store was out of reach at start: try again now.
      this.#ready = this.#start();
      await this.#ready;
    }
  }

  /** A server-to-client request id unique in the session across every process. */
  nextOutgoingId(): string {
    return formatOutgoingRequestId(this.#settings.instanceId, ++this.#outgoingSeq);
  }

  /** A client's answer to a server-to-client request goes to the process whose server asked. */
  routeClientResponse(sessionId: string, response: JSONRPCResponse): void {
    const sender = parseOutgoingRequestId(response.id ?? '');
    if (sender === undefined) return;
    if (sender.instanceId === this.#settings.instanceId) this.#peers.receiveClientResponse(sessionId, response);
    else this.#publish(nodeTopic(sender.instanceId), { kind: 'client-message', sessionId, message: response });
  }

  /** Tells every process that a session ended. */
  async announceEnded(sessionId: string): Promise<void> {
    await this.#settings.bus.publish(CONTROL_TOPIC, { kind: 'terminated', sessionId });
  }

  /** Sends a notification to every GET stream on every process (each delivers to the streams it holds). */
  async broadcast(notification: JSONRPCNotification, filter: BroadcastFilter | undefined): Promise<void> {
    const message: BusMessage = { kind: 'broadcast', message: notification };
    if (filter !== undefined) message.filter = filter;
    await this.#settings.bus.publish(CONTROL_TOPIC, message);
  }

  /** Tells every process (this one too, through the bus) that a list or a resource changed. */
  publishChange(notification: JSONRPCNotification): void {
    this.#publish(CONTROL_TOPIC, { kind: 'change', message: notification });
  }

  /** Heartbeat and a new look at orphaned streams (a sweep task). */
  async sweep(now: number): Promise<void> {
    await this.#heartbeat(now);
    await this.#orphans.sweep();
  }

  /** Leaves every subscription; a bus out of reach is reported, and close goes on. */
  async close(): Promise<void> {
    const { reportError } = this.#settings;
    const leave = async (unsubscribe: () => unknown) => {
      try {
        await unsubscribe();
      } catch (error) {
        reportError(error);
      }
    };
    for (const unsubscribe of this.#unsubscribe.splice(0)) await leave(unsubscribe);
    for (const subscription of this.#sessionSubscriptions.values()) await leave(async () => (await subscription)());
    this.#sessionSubscriptions.clear();
  }

  // ---- StreamRelay ------------------------------------------------------------------------------

  publishEvent(sessionId: string, streamId: string, eventId: string, message: JSONRPCMessage): void {
    this.#publish(sessionTopic(sessionId), { kind: 'event', sessionId, streamId, eventId, message });
  }

  watch(sessionId: string): Promise<void> {
    let subscription = this.#sessionSubscriptions.get(sessionId);
    if (subscription === undefined) {
      const { bus } = this.#settings;
      subscription = Promise.resolve(bus.subscribe(sessionTopic(sessionId), (message) => this.#onSessionMessage(message)));
      this.#sessionSubscriptions.set(sessionId, subscription);
    }
    return subscription.then(() => undefined);
  }

  unwatch(sessionId: string): void {
    const subscription = this.#sessionSubscriptions.get(sessionId);
    this.#sessionSubscriptions.delete(sessionId);
    void subscription?.then((off) => off()).catch((error: unknown) => this.#settings.reportError(error));
  }

  // ---- StreamOwnership --------------------------------------------------------------------------

  takeOver(sessionId: string, streamId: string, holder: string): void {
    this.#streams.yieldStream(sessionId, streamId, holder);
    this.#publish(CONTROL_TOPIC, { kind: 'stream-taken', sessionId, streamId, holder });
  }

  awaitResponse(stream: AttachedStream): Promise<void> {
    return this.#orphans.watch(stream);
  }

  // ---- the bus ----------------------------------------------------------------------------------

  /** Subscribes to the bus and sends the first heartbeat; a failure is retried by the next request. */
  #start(): Promise<void> {
    const ready = (async () => {
      await this.#subscribe();
      await this.#heartbeat(this.#settings.clock.now());
    })();
    ready.catch((error: unknown) => this.#settings.reportError(error));
    return ready;
  }

  async #subscribe(): Promise<void> {
    if (this.#unsubscribe.length > 0) return;
    const { bus, instanceId } = this.#settings;
    const control = await bus.subscribe(CONTROL_TOPIC, (message) => this.#onControlMessage(message));
    try {
      const node = await bus.subscribe(nodeTopic(instanceId), (message) => this.#onNodeMessage(message));
      this.#unsubscribe.push(control, node);
    } catch (error) {
      await control();
      throw error;
    }
  }

  #heartbeat(now: number): Promise<void> | void {
    const { store, instanceId, sweepIntervalMs } = this.#settings;
    return store.markAlive?.(instanceId, now, sweepIntervalMs * 3);
  }

  #publish(topic: string, message: BusMessage): void {
    const { bus, reportError } = this.#settings;
    try {
      const published = bus.publish(topic, message);
      if (published instanceof Promise) published.catch((error: unknown) => reportError(error));
    } catch (error) {
      reportError(error);
    }
  }

  #onSessionMessage(message: BusMessage): void {
    if (message.kind !== 'event') return;
    this.#streams.deliverEvent(message.sessionId, message.streamId, message.eventId, message.message);
  }

  #onNodeMessage(message: BusMessage): void {
    if (message.kind !== 'client-message' || !isResponse(message.message)) return;
    this.#peers.receiveClientResponse(message.sessionId, message.message);
  }

  #onControlMessage(message: BusMessage): void {
    if (message.kind === 'terminated') {
      this.#peers.endedElsewhere(message.sessionId).catch((error: unknown) => this.#settings.reportError(error));
    } else if (message.kind === 'stream-taken') {
      this.#streams.yieldStream(message.sessionId, message.streamId, message.holder);
    } else if (message.kind === 'broadcast') {
      void this.#deliverBroadcast(message.message, message.filter);
    } else if (message.kind === 'change') {
      this.#peers.changed(message.message);
    }
  }

  /** Delivers a broadcast to the sessions whose GET stream is held here (so each gets it once). */
  async #deliverBroadcast(message: JSONRPCMessage, filter: BroadcastFilter | undefined): Promise<void> {
    const { store, clock, reportError } = this.#settings;
    const now = clock.now();
    for (const sessionId of this.#streams.broadcastTargets()) {
      if (filter?.sessionIds !== undefined && !filter.sessionIds.includes(sessionId)) continue;
      if (filter?.excludeSessionIds?.includes(sessionId)) continue;
      try {
        if (filter?.principal !== undefined) {
          const record = await store.get(sessionId, now);
          if (record?.principal !== filter.principal) continue;
        }
        if (filter?.hasStateKey !== undefined && (await store.getState(sessionId, filter.hasStateKey, now)) === undefined) continue;
        this.#streams.sendStandalone(sessionId, message);
      } catch (error) {
        reportError(error);
      }
    }
  }
}
