// Replicas sharing one Redis: generations and revocations announced by one reach the others, a
// replica that was away catches up, an announcement Redis refused is sent again, and after a
// change that turns an allow into a deny no replica serves the old allow once it has reloaded.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCacheRedis, createDecisionCache, DEFAULT_CHANNEL, type DecisionCache } from '../../src/cache/index.js';
import { createClusterBus, type ClusterBus, type GenerationAnnouncement, type RevocationAnnouncement } from '../../src/cluster/index.js';
import { createContext, evaluate, type AuthzRequest, type Decision, type PolicySet } from '../../src/policy/index.js';
import { compileSet } from '../policy/harness.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { until } from '../support/until.js';

const statement = (effect: 'Allow' | 'Deny') => ({ Effect: effect, Action: 'orders:GetOrder', Resource: 'arn:aws:orders:::order/*' });
/** The shared policy files, by generation hash: what a replica reads when it reloads. */
const FILES: Readonly<Record<string, PolicySet>> = {
  allow: compileSet({ identity: [{ Version: '2012-10-17', Statement: [statement('Allow')] }] }),
  deny: compileSet({ identity: [{ Version: '2012-10-17', Statement: [statement('Allow'), statement('Deny')] }] }),
};

const request: AuthzRequest = {
  principal: 'arn:aws:iam::111122223333:user/alice',
  action: 'orders:GetOrder',
  resource: 'arn:aws:orders:::order/7',
  context: createContext({ 'aws:SourceIp': '10.0.0.1' }),
};

/** One replica: its cache, its cluster bus, and the policies it has loaded. */
interface Replica {
  readonly client: Redis;
  readonly cache: DecisionCache;
  readonly bus: ClusterBus;
  loaded: string;
}

/** A cache and a bus joined as the composition root joins them (src/app/cluster.ts). */
function joined(client: Redis, cache: DecisionCache): ClusterBus {
  const bus = createClusterBus({ redis: client, channel: DEFAULT_CHANNEL, now: Date.now });
  bus.onGeneration(() => cache.clear());
  return bus;
}

/** A replica installs policies: its cache adopts their generation, its bus announces it. */
function publish(r: Replica, hash: string): Promise<boolean> {
  r.cache.setGeneration(hash);
  return r.bus.publishGeneration(hash);
}

describe('replicas sharing one Redis', () => {
  let redis: TestRedis;
  const replicas: Replica[] = [];

  async function replica(loaded: string, release = '1.0.0'): Promise<Replica> {
    const client = createCacheRedis(redis.url, { commandTimeoutMs: 200 });
    await until('redis ready', () => client.status === 'ready');
    const cache = createDecisionCache({ now: Date.now, redis: client, l2: { ttlMs: 60_000, prefix: 'replicas:', minEvalMicros: 0 }, release });
    cache.setGeneration(loaded);
    const r: Replica = { client, cache, bus: joined(client, cache), loaded };
    replicas.push(r);
    return r;
  }

  /** The gateway's decide step: the cache first, the evaluator on a miss. The fingerprint is a fixed name, so only the generation tells policy versions apart. */
  async function decide(r: Replica): Promise<{ decision: Decision; from: string }> {
    const set = FILES[r.loaded] as PolicySet;
    const key = r.cache.keyOf({ fingerprint: 'alice-set', generation: r.loaded, ...request, keys: r.cache.keysOf(set) });
    if (!key) throw new Error('these policies are cacheable');
    const cached = await r.cache.get(key);
    if (cached) return { decision: cached.decision, from: cached.level };
    const decision = evaluate(set, request);
    r.cache.set(key, { decision });
    await r.client.ping(); // the background L2 write has landed
    return { decision, from: 'evaluator' };
  }

  /** Waits until Redis counts `n` subscribers on the channel: a replica hears only what is published after its SUBSCRIBE has landed. */
  async function subscribed(n: number): Promise<void> {
    const admin = createCacheRedis(redis.url, { commandTimeoutMs: 5000 });
    try {
      const count = async (): Promise<number> => (admin.status === 'ready' ? ((await admin.pubsub('NUMSUB', DEFAULT_CHANNEL)) as [string, number])[1] : -1);
      await until(`${n} subscribers on the channel`, async () => (await count()) === n, 10_000, 10);
    } finally {
      admin.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await startOwnedRedis();
  });
  beforeEach(async () => {
    // Each test starts with no announced generation and no entries.
    const admin = createCacheRedis(redis.url, { commandTimeoutMs: 1000 });
    await until('redis ready', () => admin.status === 'ready');
    await admin.flushall();
    admin.disconnect();
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      await r.bus.close();
      await r.cache.close();
      r.client.disconnect();
    }
    // The next test counts its own replicas' subscriptions.
    await subscribed(0);
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('see a generation published by one of them, and the publisher does not hear itself', async () => {
    const a = await replica('allow');
    const b = await replica('allow');
    const heardByA: GenerationAnnouncement[] = [];
    const heardByB: GenerationAnnouncement[] = [];
    const revocationsHeardByA: RevocationAnnouncement[] = [];
    a.bus.onGeneration((g) => heardByA.push(g));
    a.bus.onRevocation((r) => revocationsHeardByA.push(r));
    b.bus.onGeneration((g) => heardByB.push(g));
    await subscribed(2);
    expect(await publish(a, 'deny')).toBe(true);
    await until('B hears the generation', () => heardByB.length > 0);
    expect(heardByB[0]).toMatchObject({ type: 'generation', hash: 'deny' });
    expect(a.cache.generation()).toEqual({ id: 2, hash: 'deny' });
    // Redis delivers one channel's messages in the order it took them: once A hears what B sent
    // after A's announcement, A's own would have reached it before, had it been delivered.
    expect(await b.bus.publishRevocation('arn:aws:iam::111122223333:user/marker', 1_700_000_000_000)).toBe(true);
    await until('A hears what B sent after its announcement', () => revocationsHeardByA.length > 0);
    expect(heardByA).toEqual([]);
  });

  it('never serve the old allow after a change to deny, from L1 or from L2', async () => {
    const a = await replica('allow');
    const b = await replica('allow');
    // B reloads when told, as the gateway's reload does.
    b.bus.onGeneration((g) => {
      b.loaded = g.hash;
      b.cache.setGeneration(g.hash);
    });
    await subscribed(2);
    expect((await decide(a)).decision.decision).toBe('Allow');
    expect(await decide(b)).toMatchObject({ decision: { decision: 'Allow' }, from: 'l2' });
    expect(await decide(b)).toMatchObject({ from: 'l1' });

    a.loaded = 'deny';
    await publish(a, 'deny');
    await until('B reloads', () => b.loaded === 'deny');
    expect(b.cache.stats().l1Entries).toBe(0);
    for (const r of [a, b, a, b]) {
      const { decision } = await decide(r);
      expect(decision).toStrictEqual(evaluate(FILES['deny'] as PolicySet, request));
      expect(decision.decision).toBe('ExplicitDeny');
    }
  });

  it('of different releases never answer from each other\'s entries, though they loaded the same files', async () => {
    // During a rolling upgrade the old and the new evaluator read the same files (one generation
    // hash) and may decide them differently: what one stored is never the other's answer.
    const old = await replica('allow', '1.0.0');
    const upgraded = await replica('allow', '1.1.0');
    const twin = await replica('allow', '1.0.0');
    expect(await decide(old)).toMatchObject({ from: 'evaluator' });
    expect(await decide(upgraded)).toMatchObject({ from: 'evaluator' });
    expect(await decide(twin)).toMatchObject({ from: 'l2' });
    expect(await old.client.keys('replicas:*')).toHaveLength(2);
  });

  it('tell a replica that connects later the latest generation', async () => {
    const a = await replica('allow');
    await publish(a, 'deny');
    const client = createCacheRedis(redis.url);
    const late = createDecisionCache({ now: Date.now, redis: client });
    const lateBus = joined(client, late);
    replicas.push({ client, cache: late, bus: lateBus, loaded: 'allow' });
    const heard: GenerationAnnouncement[] = [];
    lateBus.onGeneration((g) => heard.push(g));
    await until('the late replica catches up', () => heard.length > 0);
    expect(heard[0]?.hash).toBe('deny');
  });

  it('send a generation again once Redis takes it, when it was down at the time', async () => {
    const a = await replica('allow');
    const b = await replica('allow');
    const heard: GenerationAnnouncement[] = [];
    b.bus.onGeneration((g) => heard.push(g));
    await redis.stop();
    await until('A sees Redis gone', () => a.client.status !== 'ready');
    expect(await publish(a, 'deny')).toBe(false);
    await redis.start();
    await until('B hears the generation after the outage', () => heard.some((g) => g.hash === 'deny'), 15_000);
  }, 30_000);

  it('carry revocations to the other replicas', async () => {
    const a = await replica('allow');
    const b = await replica('allow');
    const heard: RevocationAnnouncement[] = [];
    b.bus.onRevocation((r) => heard.push(r));
    await subscribed(2);
    expect(await a.bus.publishRevocation('arn:aws:iam::111122223333:user/alice', 1_700_000_000_000)).toBe(true);
    await until('B hears the revocation', () => heard.length > 0);
    expect(heard[0]).toMatchObject({ subject: 'arn:aws:iam::111122223333:user/alice', before: 1_700_000_000_000 });
  });
});
