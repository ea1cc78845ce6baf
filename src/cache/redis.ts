// The shared level's access to Redis, built so that Redis can never hurt a request: every command
// has a deadline of its own (whatever the client's options), a circuit breaker stops sending
// commands for a while after failures, a client that is not connected is not asked at all, and
// every failure is reported as a miss (`undefined`), never thrown.
import { Redis, type RedisOptions } from 'ioredis';
import type { Breaker } from './breaker.js';

/** A Redis command outlived its deadline. */
export class RedisDeadlineError extends Error {
  readonly code = 'ERR_CACHE_REDIS_DEADLINE';
  constructor(ms: number) {
    super(`redis did not answer within ${ms} ms`);
    this.name = 'RedisDeadlineError';
  }
}

/** Settles like `promise`, or rejects with RedisDeadlineError after `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisDeadlineError(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export interface CacheRedisOptions {
  /** ioredis `commandTimeout`, ms (default 50). */
  readonly commandTimeoutMs?: number;
  /** Told about connection errors (ioredis emits one per failed reconnect). */
  readonly onError?: (err: Error) => void;
  /** More ioredis options (Sentinel: `sentinels` and `name`; TLS; credentials). */
  readonly options?: Omit<RedisOptions, 'replyMapping'>;
}

/**
 * Connects a client for the decision cache with fail-fast options: a short command timeout, one
 * retry, no offline queue (commands sent while disconnected fail at once), reconnection forever
 * with a capped back-off, and an `error` listener.
 */
export function createCacheRedis(url: string, o: CacheRedisOptions = {}): Redis {
  const client = new Redis(url, {
    ...o.options,
    commandTimeout: o.commandTimeoutMs ?? 50,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
  });
  client.on('error', o.onError ?? (() => undefined));
  return client;
}

export interface SharedLevelOptions {
  readonly redis: Redis;
  /** Deadline of each command, ms. */
  readonly timeoutMs: number;
  readonly breaker: Breaker;
  /** Told about each failed command (operation, error), for metrics. */
  readonly onFailure?: (operation: 'get' | 'set', err: unknown) => void;
}

export interface SharedLevel {
  /** The stored text, or undefined on a miss, on any failure, or while the breaker is open. */
  get(key: string): Promise<string | undefined>;
  /** Stores text for `ttlMs` in the background; failures only lose the entry. */
  set(key: string, value: string, ttlMs: number): void;
}

/** Creates the guarded shared level over a client. */
export function createSharedLevel(o: SharedLevelOptions): SharedLevel {
  const { redis, timeoutMs, breaker } = o;

  /** Runs one command under the breaker and the deadline; undefined when it was not sent or failed. */
  const run = async <T>(operation: 'get' | 'set', command: () => Promise<T>): Promise<T | undefined> => {
    if (!breaker.allow()) return undefined;
    if (redis.status !== 'ready') {
      // Disconnected: the command would fail at once (no offline queue); count it without sending.
      breaker.failure();
      return undefined;
    }
    try {
      const value = await within(command(), timeoutMs);
      breaker.success();
      return value;
    } catch (err) {
      breaker.failure();
      o.onFailure?.(operation, err);
      return undefined;
    }
  };

  return {
    get: async (key) => (await run('get', () => redis.get(key))) ?? undefined,
    set(key, value, ttlMs) {
      void run('set', () => redis.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
    },
  };
}
