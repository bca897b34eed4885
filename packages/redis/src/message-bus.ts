import { once } from 'node:events';
import type { BusMessage, MessageBus } from '@x/mcp-session-core';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import {
  Connection,
  type RedisClient,
  type RedisConnectionOptions,
  connectionShape,
  defaultOnError,
  guard,
  parseOptions,
  quit,
  reportOutages,
  storeError,
} from './connection.js';
import { KeyLayout } from './keys.js';

/** Options of {@link RedisMessageBus}. */
export interface RedisMessageBusOptions extends RedisConnectionOptions {
  /**
   * Sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7 or newer): on a Cluster, each message then goes
   * only to the shard of its channel instead of to every node. `'auto'` (default) uses it when the
   * server knows `SPUBLISH`. Every process sharing the bus must make the same choice.
   */
  sharded?: boolean | 'auto';
}

const optionsSchema = z.object({
  ...connectionShape,
  sharded: z.union([z.boolean(), z.literal('auto')]).default('auto'),
});

type Handler = (message: BusMessage) => void;

function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * Publish/subscribe between processes over Redis pub/sub: sharded (`SPUBLISH`/`SSUBSCRIBE`) where the
 * server supports it, else `PUBLISH`/`SUBSCRIBE`. Messages travel as JSON on the channel
 * `<prefix>bus:<topic>`. Publishing uses the client given; subscriptions use one dedicated connection
 * (a `duplicate()` of it, owned and closed by the bus) that ioredis re-subscribes after a reconnect.
 * Delivery is at most once, like Redis pub/sub itself.
 */
export class RedisMessageBus implements MessageBus {
  readonly #connection: Connection;
  readonly #keys: KeyLayout;
  readonly #shardedOption: boolean | 'auto';
  readonly #onError: (error: unknown) => void;
  readonly #handlers = new Map<string, Set<Handler>>();
  /** Channels the subscriber connection is subscribed to (or on its way to). */
  readonly #subscribed = new Set<string>();
  /** Subscription changes per channel run one after another. */
  readonly #pending = new Map<string, Promise<void>>();
  #sharded: Promise<boolean> | undefined;
  #subscriber: Redis | Cluster | undefined;
  #closed = false;

  constructor(options: RedisMessageBusOptions) {
    const parsed = parseOptions('RedisMessageBus', optionsSchema, options);
    this.#onError = parsed.onError ?? defaultOnError;
    this.#connection = new Connection(parsed.client, { commandTimeoutMs: parsed.commandTimeoutMs, onError: this.#onError });
    this.#keys = new KeyLayout(parsed.prefix);
    this.#shardedOption = parsed.sharded;
  }

  /** The client that publishes. */
  get client(): RedisClient {
    return this.#connection.client;
  }

  /** The dedicated subscriber connection, once the first subscription opened it (for diagnostics). */
  get subscriber(): RedisClient | undefined {
    return this.#subscriber;
  }

  /** Whether the bus uses sharded pub/sub (decided on first use when `sharded` is `'auto'`). */
  isSharded(): Promise<boolean> {
    if (this.#sharded === undefined) {
      const detected = this.#detectSharded();
      this.#sharded = detected;
      // A failed detection (no connection yet) is tried again on the next call.
      detected.catch(() => {
        if (this.#sharded === detected) this.#sharded = undefined;
      });
    }
    return this.#sharded;
  }

  publish(topic: string, message: BusMessage): Promise<void> {
    return this.#connection.run('MessageBus.publish', async () => {
      const { client } = this.#connection;
      const channel = this.#keys.channel(topic);
      const payload = JSON.stringify(message);
      if (await this.isSharded()) await client.spublish(channel, payload);
      else await client.publish(channel, payload);
    });
  }

  /** Resolves once the subscriber connection has confirmed the subscription. */
  async subscribe(topic: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.#closed) throw storeError('MessageBus.subscribe', new Error('the bus is closed'));
    const channel = this.#keys.channel(topic);
    let handlers = this.#handlers.get(channel);
    if (handlers === undefined) this.#handlers.set(channel, (handlers = new Set()));
    handlers.add(handler);
    const remove = () => {
      const set = this.#handlers.get(channel);
      if (set === undefined) return;
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(channel);
    };
    try {
      await this.#sync(channel);
    } catch (error) {
      remove();
      void this.#sync(channel).catch(() => undefined);
      throw storeError('MessageBus.subscribe', error);
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      remove();
      await this.#connection.run('MessageBus.unsubscribe', () => this.#sync(channel));
    };
  }

  /**
   * Resolves when the subscriber connection is up and every subscription is in place again: after a
   * reconnect, ioredis re-subscribes before it answers the PING sent here.
   */
  async ready(): Promise<void> {
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    // Waits as long as the reconnection takes: no deadline.
    await guard('MessageBus.ready', async () => {
      if (subscriber.status === 'end') throw new Error('Connection is closed');
      if (subscriber.status !== 'ready') {
        const listening = new AbortController();
        const { signal } = listening;
        try {
          await Promise.race([
            once(subscriber, 'ready', { signal }),
            once(subscriber, 'end', { signal }).then(() => {
              throw new Error('Connection is closed');
            }),
          ]);
        } finally {
          listening.abort();
        }
      }
      if (!isCluster(subscriber)) await subscriber.ping();
      await Promise.all([...this.#pending.values()]);
    });
  }

  /** Removes every subscription and closes the subscriber connection (and the client, if the bus opened it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    await Promise.allSettled([...this.#pending.values()]);
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribed.clear();
    if (subscriber !== undefined) await quit(subscriber);
    await this.#connection.close();
  }

  async #detectSharded(): Promise<boolean> {
    if (this.#shardedOption !== 'auto') return this.#shardedOption;
    const reply = await this.#connection.client.call('COMMAND', 'INFO', 'SPUBLISH');
    return Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined;
  }

  /** Brings the subscription of one channel in line with its handlers. */
  #sync(channel: string): Promise<void> {
    const previous = this.#pending.get(channel) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const wanted = this.#handlers.has(channel) && !this.#closed;
        if (wanted === this.#subscribed.has(channel)) return;
        const sharded = await this.isSharded();
        const subscriber = this.#openSubscriber(sharded);
        const name = this.#subscriberChannel(channel, sharded);
        if (wanted) {
          this.#subscribed.add(channel);
          try {
            await (sharded ? subscriber.ssubscribe(name) : subscriber.subscribe(name));
          } catch (error) {
            this.#subscribed.delete(channel);
            throw error;
          }
        } else {
          this.#subscribed.delete(channel);
          await (sharded ? subscriber.sunsubscribe(name) : subscriber.unsubscribe(name));
        }
      });
    this.#pending.set(channel, next);
    const settle = () => {
      if (this.#pending.get(channel) === next) this.#pending.delete(channel);
    };
    next.then(settle, settle);
    return next;
  }

  get #keyPrefix(): string {
    return (this.#connection.client.options as { keyPrefix?: string }).keyPrefix ?? '';
  }

  /**
   * The channel name the subscriber connection uses. ioredis prefixes shard channels with a client's
   * `keyPrefix` (classic channels it leaves alone), and would prefix them again when it re-subscribes
   * after a reconnect; so a standalone subscriber has no `keyPrefix` and names shard channels in full.
   */
  #subscriberChannel(channel: string, sharded: boolean): string {
    return sharded && !isCluster(this.#connection.client) ? `${this.#keyPrefix}${channel}` : channel;
  }

  #openSubscriber(sharded: boolean): Redis | Cluster {
    if (this.#subscriber !== undefined) return this.#subscriber;
    const { client } = this.#connection;
    const subscriber: Redis | Cluster = isCluster(client)
      ? client.duplicate(undefined, { shardedSubscribers: sharded })
      : (client as Redis).duplicate({ autoResubscribe: true, lazyConnect: false, keyPrefix: '' });
    const listener = (channel: string, payload: string) => this.#dispatch(channel, payload);
    subscriber.on(sharded ? 'smessage' : 'message', listener);
    // ioredis retries connection errors itself; they reach callers as failed commands. An outage is
    // reported once.
    reportOutages(subscriber, this.#onError);
    this.#subscriber = subscriber;
    return subscriber;
  }

  #dispatch(channel: string, payload: string): void {
    // Shard channels arrive with the client's `keyPrefix` (see #subscriberChannel): look past it.
    const keyPrefix = this.#keyPrefix;
    const handlers =
      this.#handlers.get(channel) ??
      (keyPrefix !== '' && channel.startsWith(keyPrefix) ? this.#handlers.get(channel.slice(keyPrefix.length)) : undefined);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      let message: BusMessage;
      try {
        // Parsed once per handler, so no two handlers share an object.
        message = JSON.parse(payload) as BusMessage;
      } catch (error) {
        this.#onError(storeError(`MessageBus: a message on ${channel} is not JSON`, error));
        return;
      }
      try {
        handler(message);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
