// The StateStore contract, run against the in-memory store and a real redis-server, and the Redis
// store's behaviour when the server is stopped or frozen: a prompt StateUnavailableError.
import { describe, expect, it } from 'vitest';
import {
  createMemoryStateStore,
  createRedisStateStore,
  createRelayedStateStore,
  StateUnavailableError,
  type StateStore,
} from '../../src/auth/index.js';
import { STORED_TIME } from '../../src/auth/state/store.js';
import { primaryFor, redisForSuite, testClock } from './helpers.js';

/** A store under test, how to let its time to live pass, and its clock (epoch ms). */
interface StoreUnderTest {
  readonly store: StateStore;
  readonly expire: (ms: number) => Promise<void>;
  readonly now: () => number;
}

function contract(name: string, make: () => Promise<StoreUnderTest>): void {
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

    it('sets a value only when absent and keeps it without expiry when given no time to live', async () => {
      const { store, expire } = await make();
      expect(await store.setIfAbsent('forever', 'a')).toBe(true);
      await expire(1100);
      expect(await store.setIfAbsent('forever', 'b')).toBe(false);
      expect(await store.get('forever')).toBe('a');
    });

    it('raises a hash field to the later time, keeps a later one, and replaces one that is not a time', async () => {
      const { store, now } = await make();
      expect(await store.hashRaise('r', 'a', 2000)).toBe('2000');
      expect(await store.hashRaise('r', 'a', 1000)).toBe('2000');
      expect(await store.hashRaise('r', 'a', 3000.5)).toBe('3000.5');
      const value = now() + 3_600_000;
      const later = String(value);
      for (const damaged of ['garbled', '', '1e999', '99999999999999999', '12.', '-5', '0x10']) {
        await store.hashSet('r', 'b', damaged);
        expect([damaged, await store.hashRaise('r', 'b', value)]).toEqual([damaged, later]);
      }
      await store.hashSet('r', 'c', '1700000000000');
      expect(await store.hashRaise('r', 'c', 5)).toBe('1700000000000');
      expect(Object.fromEntries(await store.hashGetAll('r'))).toEqual({ a: '3000.5', b: later, c: '1700000000000' });
    });

    it('replaces a hash field that is not a time with the time now, not an earlier one, so a raise never lets sessions back in', async () => {
      const { store, now } = await make();
      for (const damaged of ['garbled', '99999999999999999', '-5']) {
        await store.hashSet('r', 'd', damaged);
        const before = now();
        const raised = await store.hashRaise('r', 'd', 1000);
        expect([damaged, STORED_TIME.test(raised), Number(raised) >= before && Number(raised) <= now()]).toEqual([damaged, true, true]);
      }
    });

    it('prunes, in one step, the hash fields holding a time before the given one, and keeps later times and every field that is not a time', async () => {
      const { store } = await make();
      const fields = { old: '999', older: '5.5', edge: '1000', later: '1000.5', damaged: 'garbled', huge: '99999999999999999' };
      for (const [field, value] of Object.entries(fields)) await store.hashSet('p', field, value);
      expect(await store.hashPrune('p', 1000)).toBe(2);
      expect(Object.fromEntries(await store.hashGetAll('p'))).toEqual({ edge: '1000', later: '1000.5', damaged: 'garbled', huge: '99999999999999999' });
      expect(await store.hashPrune('p', 1000)).toBe(0);
      expect(await store.hashPrune('none', 1000)).toBe(0);
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
  return { store: createMemoryStateStore({ now: clock.now }), expire: async (ms) => clock.advance(ms), now: clock.now };
});

contract('relayed (a worker through its primary)', async () => {
  const clock = testClock();
  return { store: createRelayedStateStore(primaryFor(createMemoryStateStore({ now: clock.now }))(), 2000), expire: async (ms) => clock.advance(ms), now: clock.now };
});

describe('Redis', () => {
  const suite = redisForSuite(200);
  const { connect } = suite;
  let n = 0;

  contract('Redis', async () => ({
    store: createRedisStateStore(await connect(), { prefix: `contract-${n++}:` }),
    // Redis expires on its own clock: wait for it (the TTLs here are one second).
    expire: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    // Redis runs on this host: its TIME is this clock.
    now: Date.now,
  }));

  it('shares state between two clients with the same prefix', async () => {
    const a = createRedisStateStore(await connect(), { prefix: 'shared:' });
    const b = createRedisStateStore(await connect(), { prefix: 'shared:' });
    expect(a.shared && b.shared).toBe(true);
    expect(await a.setIfAbsent('x', '1', 60_000)).toBe(true);
    expect(await b.setIfAbsent('x', '1', 60_000)).toBe(false);
  });

  it('names in each unavailability error the operation that failed, each script by the operation it runs', async () => {
    const redis = suite.server();
    const store = createRedisStateStore(await connect(), { prefix: 'labels:' });
    const calls: readonly [string, () => Promise<unknown>][] = [
      ['get', () => store.get('k')],
      ['set', () => store.set('k', 'v')],
      ['setIfAbsent', () => store.setIfAbsent('k', 'v', 1000)],
      ['incr', () => store.incr('n', 1000)],
      ['del', () => store.del('k')],
      ['hashSet', () => store.hashSet('h', 'f', '1')],
      ['hashGetAll', () => store.hashGetAll('h')],
      ['hashRaise', () => store.hashRaise('h', 'f', 1000)],
      ['hashPrune', () => store.hashPrune('h', 1000)],
    ];
    await redis.stop();
    const named: Record<string, string> = {};
    try {
      for (const [name, call] of calls) {
        named[name] = await call().then(
          () => 'answered',
          (err: unknown) => (err instanceof StateUnavailableError ? err.message.slice(0, err.message.indexOf(' failed: ')) : String(err)),
        );
      }
    } finally {
      await redis.start();
    }
    expect(named).toEqual({
      get: 'redis GET',
      set: 'redis SET',
      setIfAbsent: 'redis SET NX',
      incr: 'redis incr script',
      del: 'redis DEL',
      hashSet: 'redis HSET',
      hashGetAll: 'redis HGETALL',
      hashRaise: 'redis hashRaise script',
      hashPrune: 'redis hashPrune script',
    });
  });

  it('fails promptly with StateUnavailableError while the server is frozen or stopped', async () => {
    const redis = suite.server();
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
