// Redis going away under load — killed, or frozen with SIGSTOP — never fails a lookup or a store:
// every call resolves, as a miss when Redis cannot answer, never with a wrong decision; and the
// shared level comes back by itself when Redis does. The worst latency seen is printed (speed
// itself is not asserted here; bench/ measures it).
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacheRedis, createDecisionCache, DEFAULT_CHANNEL, type CacheEntry, type DecisionCache, type DecisionKey } from '../../src/cache/index.js';
import { createClusterBus } from '../../src/cluster/index.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { until } from '../support/until.js';

const ALLOW: CacheEntry = { decision: { decision: 'Allow', matched: [{ policy: 'p', kind: 'identity', index: 0, effect: 'Allow' }] } };
const DENY: CacheEntry = { decision: { decision: 'ExplicitDeny', matched: [{ policy: 'p', kind: 'identity', index: 1, effect: 'Deny' }] } };
const KEYS = 200;
/** The decision each key stands for: a hit must always bring back exactly this one. */
const entryFor = (i: number): CacheEntry => (i % 2 === 0 ? ALLOW : DENY);

const NOTHING_READ: ReadonlySet<string> = new Set();
/** A key naming one action of a policy set that reads no context key. */
function keyFor(cache: DecisionCache, action: string): DecisionKey {
  const key = cache.keyOf({ fingerprint: 'fp', generation: 'g', principal: 'arn:aws:iam::111122223333:user/alice', action, resource: '*', context: new Map(), keys: NOTHING_READ });
  if (!key) throw new Error('cacheable by construction');
  return key;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  readonly at: number;
  readonly ms: number;
}

/** Runs `workers` loops of lookup-then-store until stopped; counts calls and anything wrong. */
function load(cache: DecisionCache, workers: number) {
  const samples: Sample[] = [];
  let issued = 0;
  let resolved = 0;
  const wrong: string[] = [];
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const i = Math.floor(Math.random() * KEYS);
      const key = keyFor(cache, `svc:Action${i}`);
      const started = performance.now();
      issued++;
      try {
        const hit = await cache.get(key);
        if (hit && JSON.stringify(hit.decision) !== JSON.stringify(entryFor(i).decision)) wrong.push(`${i}: ${hit.decision.decision}`);
        if (!hit) cache.set(key, entryFor(i));
        resolved++;
      } catch (err) {
        wrong.push(`${i} threw ${String(err)}`);
      }
      samples.push({ at: Date.now(), ms: performance.now() - started });
      await new Promise((r) => setImmediate(r));
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    samples,
    wrong,
    counts: () => ({ issued, resolved }),
    async stop() {
      running = false;
      await done;
    },
  };
}

function worst(samples: readonly Sample[], from: number, to: number): { max: number; p99: number; n: number } {
  const ms = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.ms).sort((a, b) => a - b);
  return { max: ms.at(-1) ?? 0, p99: ms[Math.floor(ms.length * 0.99)] ?? 0, n: ms.length };
}

describe('the decision cache while Redis is away', () => {
  let redis: TestRedis;
  let client: Redis;
  let cache: DecisionCache;

  beforeAll(async () => {
    redis = await startOwnedRedis();
  });
  afterEach(async () => {
    await cache?.close();
    client?.disconnect();
  });
  afterAll(async () => {
    await redis?.close();
  });

  async function setup(): Promise<void> {
    client = createCacheRedis(redis.url, { commandTimeoutMs: 50 });
    await until('redis ready', () => client.status === 'ready', 5000);
    // No L1: every lookup goes to Redis, the worst case for an outage.
    cache = createDecisionCache({
      now: Date.now,
      redis: client,
      l1: false,
      l2: { ttlMs: 60_000, prefix: 'outage:', minEvalMicros: 0, timeoutMs: 50 },
      breaker: { failures: 3, cooldownMs: 200 },
    });
  }

  /** L2 answers again: a store followed by a lookup finds the entry. */
  const l2Answers = async (): Promise<boolean> => {
    cache.set(keyFor(cache, 'svc:Probe'), ALLOW);
    await sleep(10);
    return (await cache.get(keyFor(cache, 'svc:Probe')))?.level === 'l2';
  };

  for (const fault of ['stopped', 'paused (SIGSTOP)'] as const) {
    it(`answers every lookup and store, with no wrong decision, when Redis is ${fault} mid-load, and recovers by itself`, async () => {
      await setup();
      const run = load(cache, 16);
      // Conditions, not fixed sleeps: on a loaded machine the load may take a while to reach L2, the
      // breaker to open, and its cooldown to let a probe through.
      await until('L2 hits before the outage', () => cache.stats().hitsL2 > 0, 15_000);
      const baselineEnd = Date.now();

      const outageStart = Date.now();
      if (fault === 'stopped') await redis.stop();
      else redis.pause();
      await until('the breaker opening', () => cache.stats().breaker !== 'closed', 15_000);
      const duringOutage = run.counts().resolved;
      await until('lookups resolving during the outage', () => run.counts().resolved > duringOutage + 16, 15_000);
      if (fault === 'stopped') await redis.start();
      else redis.resume();
      const outageEnd = Date.now();

      await until('L2 answering again', l2Answers, 15_000);
      const recovered = Date.now();
      const hitsAtRecovery = cache.stats().hitsL2;
      await until('L2 hits after the outage', () => cache.stats().hitsL2 > hitsAtRecovery, 15_000);
      await run.stop();
      await until('the breaker closed', l2Answers, 15_000);

      expect(run.wrong).toEqual([]);
      expect(run.counts().resolved).toBe(run.counts().issued);
      expect(cache.stats().breaker).toBe('closed');
      const base = worst(run.samples, 0, baselineEnd);
      const out = worst(run.samples, outageStart, recovered);
      console.info(
        `redis ${fault}: baseline p99 ${base.p99.toFixed(1)} ms, max ${base.max.toFixed(1)} ms (${base.n} calls); ` +
          `outage+recovery p99 ${out.p99.toFixed(1)} ms, max ${out.max.toFixed(1)} ms (${out.n} calls); ` +
          `recovered ${recovered - outageEnd} ms after Redis returned; L2 errors ${cache.stats().l2Errors}`,
      );
    }, 60_000);
  }

  it('keeps deciding from L1 and the evaluator with no Redis at all', async () => {
    cache = createDecisionCache({ now: Date.now, l1: { maxEntries: 10, ttlMs: 1000 } });
    expect(cache.usesL2(keyFor(cache, 'svc:A'))).toBe(false);
    expect(await cache.get(keyFor(cache, 'svc:A'))).toBeUndefined();
    cache.set(keyFor(cache, 'svc:A'), DENY);
    expect(cache.getL1(keyFor(cache, 'svc:A'))).toEqual({ ...DENY, level: 'l1' });
    // A key made by another cache is never answered from this one.
    const other = createDecisionCache({ now: Date.now });
    expect(cache.getL1(keyFor(other, 'svc:A'))).toBeUndefined();
    // Nor is anything announced: the cluster bus has no Redis to announce on.
    expect(await createClusterBus({ channel: DEFAULT_CHANNEL, now: Date.now }).publishGeneration('h1')).toBe(false);
    expect(cache.stats().breaker).toBe('off');
  });
});
