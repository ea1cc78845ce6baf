// The StateStore contract, run against the in-memory store and a real redis-server, and the Redis
// store's behaviour when the server is stopped or frozen: a prompt StateUnavailableError.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStateStore, createRedisClient, createRedisStateStore, redisReady, StateUnavailableError, type StateStore } from '../../src/auth/index.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { testClock } from './helpers.js';

function contract(name: string, make: () => Promise<{ store: StateStore; expire: (ms: number) => Promise<void> }>): void {
  describe(`${name} state store`, () => {
    it('gets what was set and forgets what was deleted', async () => {
      const { store } = await make();
      expect(await store.get('k')).toBeUndefined();
      await store.set('k', 'v');
      expect(await store.get('k')).toBe('v');
      await store.del('k');
      expect(await store.get('k')).toBeUndefined();
    });

    it('sets a value only when absent', async () => {
      const { store } = await make();
      expect(await store.setIfAbsent('once', 'a', 60_000)).toBe(true);
      expect(await store.setIfAbsent('once', 'b', 60_000)).toBe(false);
      expect(await store.get('once')).toBe('a');
    });

    it('counts, and expires a counter from its creation', async () => {
      const { store, expire } = await make();
      expect(await store.incr('n', 1000)).toBe(1);
      expect(await store.incr('n', 1000)).toBe(2);
      await expire(1100);
      expect(await store.incr('n', 1000)).toBe(1);
    });

    it('expires values set with a time to live', async () => {
      const { store, expire } = await make();
      await store.set('t', 'x', 1000);
      expect(await store.get('t')).toBe('x');
      await expire(1100);
      expect(await store.get('t')).toBeUndefined();
    });

    it('keeps hash fields', async () => {
      const { store } = await make();
      await store.hashSet('h', 'a', '1');
      await store.hashSet('h', 'b', '2');
      await store.hashSet('h', 'a', '3');
      expect(Object.fromEntries(await store.hashGetAll('h'))).toEqual({ a: '3', b: '2' });
      expect((await store.hashGetAll('none')).size).toBe(0);
    });
  });
}

contract('in-memory', async () => {
  const clock = testClock();
  return { store: createMemoryStateStore({ now: clock.now }), expire: async (ms) => clock.advance(ms) };
});

describe('Redis', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.close();
  });
  const connect = async (): Promise<Redis> => {
    const c = createRedisClient(redis.url, { commandTimeoutMs: 200 });
    clients.push(c);
    await redisReady(c);
    return c;
  };

  contract('Redis', async () => ({
    store: createRedisStateStore(await connect(), { prefix: `contract-${n++}:` }),
    // Redis expires on its own clock: wait for it (the TTLs here are one second).
    expire: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  }));

  it('shares state between two clients with the same prefix', async () => {
    const a = createRedisStateStore(await connect(), { prefix: 'shared:' });
    const b = createRedisStateStore(await connect(), { prefix: 'shared:' });
    expect(a.shared && b.shared).toBe(true);
    expect(await a.setIfAbsent('x', '1', 60_000)).toBe(true);
    expect(await b.setIfAbsent('x', '1', 60_000)).toBe(false);
  });

  it('fails promptly with StateUnavailableError while the server is frozen or stopped', async () => {
    if (!redis.owned) return;
    const store = createRedisStateStore(await connect(), { prefix: 'outage:' });
    redis.pause();
    try {
      await expect(store.get('k')).rejects.toBeInstanceOf(StateUnavailableError);
    } finally {
      redis.resume();
    }
    await redis.stop();
    try {
      await expect(store.setIfAbsent('k', 'v', 1000)).rejects.toBeInstanceOf(StateUnavailableError);
    } finally {
      await redis.start();
    }
    await expect.poll(async () => store.get('k').then(() => 'up', () => 'down'), { timeout: 10_000 }).toBe('up');
  });
});
