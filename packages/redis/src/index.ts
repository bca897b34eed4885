export { type RedisClient, type RedisConnectionOptions } from './connection.js';
export { KeyLayout } from './keys.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session-store.js';
export { RedisEventStore, type RedisEventStoreOptions } from './event-store.js';
export { RedisMessageBus, type RedisMessageBusOptions } from './message-bus.js';
export { RedisRateLimitStore, type RedisRateLimitStoreOptions } from './rate-limit-store.js';
export { RedisCacheStore, type RedisCacheStoreOptions } from './cache-store.js';
export { RedisRevocationStore, type RedisRevocationStoreOptions } from './revocation-store.js';
export { createRedisStores, type RedisStores, type RedisStoresOptions } from './stores.js';
