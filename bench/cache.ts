// Decision cache benchmark: what an answer costs from L1, from L2 (a real local redis-server,
// started on a free port for the run and stopped after), and from a fresh evaluation, on the small
// and large policy sets of bench/policy.ts. Each case includes building the exact key, as the
// gateway does per request. Method and figures: docs/cache.md.
import { createCacheRedis, createDecisionCache, decisionKey, sharedKey, type DecisionCache, type DecisionKey, type DecisionKeyInput } from '../src/cache/index.js';
import { evaluate, type AuthzRequest, type PolicySet } from '../src/policy/index.js';
import { largeSet, smallSet } from './policy.js';
import { startRedis } from '../test/support/redis.js';
import { percentile, report, type BenchResult } from './report.js';

const SYNC_ITERATIONS = 300_000;
const ASYNC_ITERATIONS = 20_000;

function measureSync(name: string, run: (i: number) => unknown, note?: string): BenchResult {
  for (let i = 0; i < 50_000; i++) run(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < SYNC_ITERATIONS; i++) run(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const samples = new Float64Array(50_000);
  for (let i = 0; i < samples.length; i++) {
    const t = process.hrtime.bigint();
    run(i);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return { name, opsPerSec: SYNC_ITERATIONS / seconds, p50us: percentile(samples, 0.5), p99us: percentile(samples, 0.99), ...(note ? { note } : {}) };
}

/** One call at a time, awaited: the latency a request sees. */
async function measureAsync(name: string, run: (i: number) => Promise<unknown>, note?: string): Promise<BenchResult> {
  for (let i = 0; i < 2000; i++) await run(i);
  const samples = new Float64Array(ASYNC_ITERATIONS);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ASYNC_ITERATIONS; i++) {
    const t = process.hrtime.bigint();
    await run(i);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort();
  return { name, opsPerSec: ASYNC_ITERATIONS / seconds, p50us: percentile(samples, 0.5), p99us: percentile(samples, 0.99), ...(note ? { note } : {}) };
}

/** `concurrency` calls in flight at all times: throughput, and so the CPU each call costs this process. */
async function measureConcurrent(name: string, run: (i: number) => Promise<unknown>, concurrency: number): Promise<BenchResult> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ASYNC_ITERATIONS) await run(next++);
  };
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / ASYNC_ITERATIONS;
  return { name, opsPerSec: ASYNC_ITERATIONS / seconds, note: `${concurrency} in flight; ${cpuUs.toFixed(1)} µs of gateway CPU per lookup` };
}

async function benchSet(label: string, set: PolicySet, requests: readonly AuthzRequest[], l1: DecisionCache, l2: DecisionCache): Promise<BenchResult[]> {
  const readable = l1.keysOf(set);
  const n = requests.length;
  const input = (i: number): DecisionKeyInput => ({ fingerprint: `fp-${label}`, generation: 'bench-generation', ...(requests[i % n] as AuthzRequest), keys: readable });
  const keyIn = (cache: DecisionCache, i: number): DecisionKey => cache.keyOf(input(i)) as DecisionKey;
  for (let i = 0; i < n; i++) {
    const entry = { decision: evaluate(set, requests[i] as AuthzRequest) };
    l1.set(keyIn(l1, i), entry);
    l2.set(keyIn(l2, i), entry);
  }
  await new Promise((r) => setTimeout(r, 100)); // background L2 writes land
  const allowed = requests.filter((r) => evaluate(set, r).decision === 'Allow').length;
  return [
    measureSync(`${label}: fresh evaluation`, (i) => evaluate(set, requests[i % n] as AuthzRequest), `${allowed}/${n} requests allowed`),
    measureSync(`${label}: exact key only (in-process)`, (i) => keyIn(l1, i), `${readable.size} context keys read`),
    measureSync(`${label}: portable key + SHA-256 (the L2 key)`, (i) => sharedKey('p:', decisionKey(input(i)) as string)),
    measureSync(`${label}: L1 hit (key + lookup)`, (i) => l1.getL1(keyIn(l1, i))),
    await measureAsync(`${label}: L2 hit (key + Redis GET + decode)`, (i) => l2.get(keyIn(l2, i)), 'loopback redis-server, one call at a time'),
    await measureConcurrent(`${label}: L2 hit under load`, (i) => l2.get(keyIn(l2, i)), 32),
  ];
}

/** Runs the decision cache benchmarks and prints a table. */
export async function runCacheBench(): Promise<void> {
  const server = await startRedis(); // a private redis-server on a free port (or REDIS_URL)
  const client = createCacheRedis(server.url, { commandTimeoutMs: 1000 });
  try {
    await new Promise((r) => (client.status === 'ready' ? r(undefined) : client.once('ready', r)));
    const options = { now: Date.now };
    const l1 = createDecisionCache({ ...options, l1: { maxEntries: 10_000, ttlMs: 600_000 } });
    // L2 alone (no L1), asked for every lookup, with a deadline that never fires here.
    const l2 = createDecisionCache({ ...options, l1: false, redis: client, l2: { ttlMs: 600_000, prefix: 'bench:', minEvalMicros: 0, timeoutMs: 1000 } });
    const ping = await measureAsync('Redis round trip (PING)', () => client.ping(), 'the floor of any L2 lookup');
    const small = smallSet();
    const large = largeSet();
    const results = [ping, ...(await benchSet('small set', small.set, small.requests, l1, l2)), ...(await benchSet('large set', large.set, large.requests, l1, l2))];
    report('decision cache', results);
    await l1.close();
    await l2.close();
  } finally {
    client.disconnect();
    await server.close();
  }
}
