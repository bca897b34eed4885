import type { CacheStore, EventStore, MessageBus, RateLimitStore, RevocationStore, SessionStore } from '@x/mcp-session-core';

/** One instance of every store, as a backend provides them. */
export interface StoreSet {
  sessionStore: SessionStore;
  /** Where state handles live, when the backend keeps them apart from sessions (`createRedisStores` does); else `sessionStore`. */
  handleStore?: SessionStore;
  eventStore: EventStore;
  messageBus: MessageBus;
  rateLimitStore: RateLimitStore;
  cacheStore: CacheStore;
  revocationStore: RevocationStore;
  /** Releases everything the set holds (connections, subscriptions). */
  close(): Promise<void>;
  /** How long the backend itself keeps things, in ms like Redis `PTTL` (-2: gone, -1: no expiry). With `capabilities.backendTtl`. */
  ttl?: BackendTtl;
  /** Control over the connection to the backend. With `capabilities.connectionLoss`. */
  connection?: ConnectionControl;
}

export interface BackendTtl {
  session(sessionId: string): Promise<number>;
  state(sessionId: string): Promise<number>;
  /** The stored events of one stream. */
  events(sessionId: string, streamId: string): Promise<number>;
  cacheEntry(key: string): Promise<number>;
  cacheCounter(key: string): Promise<number>;
  rateLimit(key: string): Promise<number>;
  /** The revocation of a session id. */
  revocation(sessionId: string): Promise<number>;
}

export interface ConnectionControl {
  /** Closes the stores' connection the way `client.disconnect()` does: it stays closed. */
  disconnect(): Promise<void>;
  /** Opens it again (`client.connect()`). */
  reconnect(): Promise<void>;
  /**
   * Drops every connection of the set from the server side (`CLIENT KILL`), as a network failure would,
   * and resolves once the clients have noticed. They reconnect by themselves.
   */
  kill(): Promise<void>;
  /** Resolves once every connection is back and every subscription is in place again. */
  whenReconnected(): Promise<void>;
}

/** How the suite configures the stores it asks for. */
export interface StoreSuiteConfig {
  maxEventsPerStream: number;
}

/** What a backend opts into beyond the interfaces. */
export interface StoreSuiteCapabilities {
  /** The backend expires data itself; `ttl` reports it. `graceMs`: how long records outlive their deadline. */
  backendTtl?: { graceMs: number; eventTtlMs: number };
  /** The stores talk to a server over a connection that can drop; `connection` controls it. */
  connectionLoss?: boolean;
}

/** A backend under test. */
export interface StoreSuiteTarget {
  /** Names the top-level describe block. */
  name: string;
  /** A fresh, empty set of stores, isolated from every other set `create` returned. */
  create(config: StoreSuiteConfig): Promise<StoreSet>;
  capabilities?: StoreSuiteCapabilities;
}
