// The decision cache: exact keys, in-process LRU, Redis shared level, the generation keys are made under.
export { createDecisionCache, DEFAULT_BREAKER, DEFAULT_L1, DEFAULT_L2, type BreakerOptions, type CachedDecision, type CacheLevel, type CacheLogger, type CacheMetrics, type CacheStats, type DecisionCache, type DecisionCacheDeps, type L1Options, type L2Options, type StoreOptions } from './cache.js';
export { createBreaker, type Breaker, type BreakerState } from './breaker.js';
export { decodeEntry, encodeEntry, type CacheEntry } from './codec.js';
export { DEFAULT_CHANNEL, readCacheConfig, type CacheConfig } from './config.js';
export { createGenerationHolder, type GenerationHolder, type PolicyGeneration } from './generation.js';
export { createKeyBuilder, decisionKey, portableText, sharedKey, type DecisionKey, type DecisionKeyInput, type KeyBuilder } from './key.js';
export { createLru, type Lru } from './lru.js';
export { createCacheRedis, RedisDeadlineError, within, type CacheRedisOptions } from './redis.js';
