// Redis failing under load, through the gateway as `iamgate serve` assembles it (REDIS_URL set,
// every decision looked up in Redis): killed and restarted, then frozen (SIGSTOP) and resumed.
// Requests that need nothing only Redis can give keep their answers (200 for alice, 403 for bob)
// throughout — no 5xx — and the gateway uses Redis again by itself once it is back. The latency
// figures are printed for docs/cache.md, never asserted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { startServedGateway, writePolicyFolder, type ServedGateway } from './served.js';
import { holdsWithin, until } from '../support/until.js';

const EXPECTED: Readonly<Record<string, number>> = { alice: 200, bob: 403 };
const LOOPS = 8;

type Phase = 'before' | 'outage' | 'after';

interface Sample {
  readonly phase: Phase;
  readonly user: string;
  readonly status: number;
  readonly ms: number;
}

let redis: TestRedis;
let upstream: TestUpstream;
let dir = '';
let gw: ServedGateway;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  redis = await startOwnedRedis();
  upstream = await startTestUpstream();
  const keys = await createTestKeys();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-outage-'));
  await writePolicyFolder(join(dir, 'policies'), 'Allow');
  gw = await startServedGateway({
    policies: join(dir, 'policies'),
    work: join(dir, 'work'),
    keys,
    upstreamUrl: upstream.url,
    redisUrl: redis.url,
    // No in-process level and no minimum cost: every request asks Redis, the worst case.
    config: { cache: { l1: { enabled: false }, l2: { minEvalMicros: 0 } } },
  });
  for (const user of Object.keys(EXPECTED)) tokens[user] = `Bearer ${await keys.token(user, { ttlSeconds: 600 })}`;
  // Ready: the revocation state has been read and decisions go through Redis.
  await until('alice is answered 200', async () => (await call('alice')).status === 200, 10_000);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await redis?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function call(user: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  try {
    const res = await request(`${gw.url}/orders/1`, { headers: { authorization: tokens[user]! } });
    await res.body.dump();
    return { status: res.statusCode, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started }; // a failed connection counts as a failure
  }
}

/** Runs LOOPS request loops while `script` runs; each sample is tagged with the phase it started in. */
async function underLoad(script: (setPhase: (p: Phase) => void, answered: (p: Phase) => number) => Promise<void>): Promise<Sample[]> {
  const samples: Sample[] = [];
  let phase: Phase = 'before';
  let done = false;
  const loop = async (n: number): Promise<void> => {
    for (let i = n; !done; i++) {
      const user = i % 2 === 0 ? 'alice' : 'bob';
      const at = phase;
      const { status, ms } = await call(user);
      samples.push({ phase: at, user, status, ms });
    }
  };
  const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
  try {
    await script(
      (p) => (phase = p),
      (p) => samples.filter((s) => s.phase === p).length,
    );
  } finally {
    done = true;
    await Promise.all(loops);
  }
  return samples;
}

function figures(samples: readonly Sample[], phase: Phase): string {
  const ms = samples.filter((s) => s.phase === phase).map((s) => s.ms).sort((x, y) => x - y);
  const at = (q: number): string => (ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0).toFixed(2);
  return `${phase}: n=${ms.length} p50=${at(0.5)} p99=${at(0.99)} max=${(ms[ms.length - 1] ?? 0).toFixed(2)} ms`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the gateway answers from Redis again (an L2 hit counted after Redis came back). */
async function usesRedisAgain(): Promise<boolean> {
  const before = await gw.metric('iamgate_decision_cache_lookups_total', 'result="hit_l2"');
  return holdsWithin(async () => {
    await call('alice');
    return (await gw.metric('iamgate_decision_cache_lookups_total', 'result="hit_l2"')) > before;
  }, 15_000);
}

function wrongAnswers(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => s.status !== EXPECTED[s.user]);
}

/** A fault: started at the outage, undone (Redis back) after `ms`. */
interface Fault {
  readonly name: string;
  begin(): Promise<void> | void;
  end(): Promise<void> | void;
}

const FAULTS: readonly Fault[] = [
  { name: 'killed (SIGKILL), then restarted', begin: () => redis.stop(), end: () => redis.start() },
  { name: 'frozen (SIGSTOP), then resumed', begin: () => redis.pause(), end: () => redis.resume() },
];

describe('the gateway with Redis failing under load', () => {
  it.for(FAULTS)('keeps every answer while redis-server is $name, and uses Redis again by itself once it is back', { timeout: 120_000 }, async (fault) => {
    let recovered = false;
    const samples = await underLoad(async (setPhase, answered) => {
      await sleep(500);
      setPhase('outage');
      await fault.begin();
      try {
        // At least 1.5 s and more than 50 answers of outage, however slowly a loaded machine answers.
        await sleep(1500);
        await until('more than 50 answers during the outage', async () => answered('outage') > 50, 30_000);
      } finally {
        await fault.end();
      }
      setPhase('after');
      recovered = await usesRedisAgain();
      await sleep(300);
    });
    console.info(`[redis ${fault.name}] ${(['before', 'outage', 'after'] as const).map((p) => figures(samples, p)).join(' | ')}`);
    expect(samples.filter((s) => s.phase === 'outage').length).toBeGreaterThan(50);
    expect(wrongAnswers(samples)).toEqual([]);
    expect(recovered).toBe(true);
  });

  it('counted the outages as Redis errors', async () => {
    expect(await gw.metric('iamgate_redis_errors_total', 'operation="cache_connection"')).toBeGreaterThan(0);
  });
});
