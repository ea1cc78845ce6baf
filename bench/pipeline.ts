// The request pipeline's own cost, in process: iamgate (createIamgate on the quick start, the audit
// trail replaced by a sink that keeps nothing, so what is measured is the pipeline and the data
// path around it) answers real HTTP requests on loopback from an undici client in this process,
// before a tiny upstream in its own process. Per target and round: CPU µs per request of this
// process (client + iamgate, process.cpuUsage) and young-generation collections per 1,000
// requests (a measure of allocation). The client alone (the upstream reached directly) is measured
// in the same rounds, so `iamgate µs` is what iamgate adds. With BENCH_BASELINE=DIR (another
// build's dist/), that build is measured in the same interleaved rounds. Method: docs/benchmarks.md.
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool, type Dispatcher } from 'undici';
import type { IamgateDeps } from '../src/app/index.js';
import { startTinyUpstream } from './proxy.js';
import { waitForPort } from '../test/support/net.js';

type AppModule = typeof import('../src/app/index.js');
type CliModule = typeof import('../src/cli/cli.js');

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (process.argv.includes('--quick') ? 3 : 7));
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? (process.argv.includes('--quick') ? 5_000 : 20_000));
const IN_FLIGHT = 16;

interface Build {
  readonly name: string;
  readonly url: string;
  stop(): Promise<void>;
}

interface Scenario {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly token: boolean;
  readonly status: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'cached allow', method: 'GET', path: '/orders/1', token: true, status: 200 },
  { name: 'deny (403)', method: 'DELETE', path: '/orders/1', token: true, status: 403 },
  { name: 'no token (401)', method: 'GET', path: '/orders/1', token: false, status: 401 },
];

/** A dispatch handler that reads the status and drops the body: the cheapest client undici has. */
class StatusHandler implements Dispatcher.DispatchHandler {
  status = 0;
  constructor(private readonly done: (status: number) => void) {}
  onRequestStart(): void {}
  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }
  onResponseData(): void {}
  onResponseEnd(): void {
    this.done(this.status);
  }
  onResponseError(): void {
    this.done(0);
  }
}

/** Sends `count` requests, IN_FLIGHT at a time; resolves with how many answered another status. */
function drive(pool: Pool, path: string, method: string, headers: Record<string, string>, count: number, status: number): Promise<number> {
  return new Promise((done) => {
    let sent = 0;
    let answered = 0;
    let unexpected = 0;
    const next = (): void => {
      sent += 1;
      pool.dispatch({ path, method: method as Dispatcher.HttpMethod, headers }, new StatusHandler(onDone));
    };
    const onDone = (got: number): void => {
      answered += 1;
      if (got !== status) unexpected += 1;
      if (answered === count) done(unexpected);
      else if (sent < count) next();
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) next();
  });
}

/** Young-generation collections seen so far (PerformanceObserver `gc` entries of the minor kind). */
function scavengeCounter(): { count(): number; stop(): void } {
  let n = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) n += 1;
  });
  observer.observe({ entryTypes: ['gc'] });
  return { count: () => n, stop: () => observer.disconnect() };
}

/** Starts iamgate from one build on the quick start, its audit trail replaced by a sink that keeps nothing. */
async function startBuild(name: string, app: AppModule, upstreamUrl: string): Promise<Build> {
  const loaded = await app.loadConfig({ file: resolve('policies/iamgate.yaml'), env: { IAMGATE_PORT: '0', IAMGATE_OPS_PORT: '0', IAMGATE_UPSTREAM: upstreamUrl, IAMGATE_LOG_LEVEL: 'silent' } });
  if (!loaded.ok) throw new Error(`${name}: the quick start does not load`);
  const audit: NonNullable<IamgateDeps['audit']> = { record() {}, flush: async () => undefined };
  const iamgate = await app.createIamgate(loaded.config, { audit });
  const first = await iamgate.gateway.initialLoad;
  if (!first.ok) throw new Error(`${name}: ${first.problems.join('; ')}`);
  return { name, url: iamgate.gateway.url, stop: () => iamgate.stop(0) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

export async function runPipelineBench(): Promise<void> {
  const upstream = await startTinyUpstream();
  const builds: Build[] = [];
  const pools: Pool[] = [];
  try {
    await waitForPort(upstream.port);
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const current: AppModule = await import('../src/app/index.js');
    builds.push(await startBuild('this build', current, upstreamUrl));
    const baselineDir = process.env['BENCH_BASELINE'];
    if (baselineDir) {
      const baseline = (await import(pathToFileURL(join(resolve(baselineDir), 'app/index.js')).href)) as AppModule;
      builds.push(await startBuild('baseline build', baseline, upstreamUrl));
    }
    const cli: CliModule = await import('../src/cli/cli.js');
    const out: string[] = [];
    await cli.runCli(['token', 'alice', '--config', resolve('policies/iamgate.yaml')], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    const authorization = `Bearer ${out.join('').trim()}`;

    const targets = [{ name: 'client alone (upstream direct)', url: upstreamUrl, gateway: false }, ...builds.map((b) => ({ name: b.name, url: b.url, gateway: true }))];
    const poolOf = new Map<string, Pool>();
    for (const t of targets) {
      const pool = new Pool(t.url, { connections: IN_FLIGHT, pipelining: 1 });
      pools.push(pool);
      poolOf.set(t.name, pool);
    }
    const cpu = new Map<string, number[]>();
    const gcs = new Map<string, number[]>();
    const scavenges = scavengeCounter();
    const measure = async (key: string, pool: Pool, s: Scenario, count: number, record: boolean): Promise<void> => {
      const headers: Record<string, string> = s.token ? { authorization } : {};
      const before = process.cpuUsage();
      const gc0 = scavenges.count();
      const unexpected = await drive(pool, s.path, s.method, headers, count, s.status);
      const used = process.cpuUsage(before);
      if (unexpected > 0) throw new Error(`${key}: ${unexpected} answers other than ${s.status}`);
      if (!record) return;
      (cpu.get(key) ?? cpu.set(key, []).get(key)!).push((used.user + used.system) / count);
      (gcs.get(key) ?? gcs.set(key, []).get(key)!).push(((scavenges.count() - gc0) * 1000) / count);
    };
    // Warm-up: every build and scenario until V8 has optimised the path.
    for (const t of targets) for (const s of SCENARIOS) await measure('', poolOf.get(t.name)!, t.gateway ? s : { ...s, status: 200 }, REQUESTS, false);
    const loadBefore = loadavg();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of SCENARIOS) {
        for (const t of targets) {
          if (!t.gateway && s !== SCENARIOS[0]) continue;
          await measure(`${s.name}|${t.name}`, poolOf.get(t.name)!, t.gateway ? s : { ...s, status: 200 }, REQUESTS, true);
        }
      }
    }
    scavenges.stop();
    const loadAfter = loadavg();
    const client = median(cpu.get(`${SCENARIOS[0]!.name}|client alone (upstream direct)`) ?? []);
    console.log(`\n## pipeline (in process, ${ROUNDS} rounds of ${REQUESTS} requests, ${IN_FLIGHT} in flight; load ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after)\n`);
    console.log('| scenario | build | CPU µs/request (client + iamgate) | iamgate µs/request | scavenges per 1,000 requests |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    console.log(`| — | client alone (upstream direct) | ${client.toFixed(1)} | — | ${median(gcs.get(`${SCENARIOS[0]!.name}|client alone (upstream direct)`) ?? []).toFixed(2)} |`);
    for (const s of SCENARIOS) {
      for (const b of builds) {
        const key = `${s.name}|${b.name}`;
        const total = median(cpu.get(key) ?? []);
        console.log(`| ${s.name} | ${b.name} | ${total.toFixed(1)} | ${(total - client).toFixed(1)} | ${median(gcs.get(key) ?? []).toFixed(2)} |`);
      }
    }
    if (builds.length > 1) {
      console.log('\nPer-round ratios, this build ÷ baseline build, of iamgate µs/request (median of rounds):\n');
      for (const s of SCENARIOS) {
        const mine = cpu.get(`${s.name}|this build`) ?? [];
        const base = cpu.get(`${s.name}|baseline build`) ?? [];
        const direct = cpu.get(`${SCENARIOS[0]!.name}|client alone (upstream direct)`) ?? [];
        const ratios = mine.map((m, i) => (m - direct[i]!) / (base[i]! - direct[i]!));
        console.log(`- ${s.name}: ${median(ratios).toFixed(2)}`);
      }
    }
    const rates = builds.map((b) => {
      const allow = median(cpu.get(`${SCENARIOS[0]!.name}|${b.name}`) ?? []) - client;
      return `${b.name}: deny ${(allow / (median(cpu.get(`${SCENARIOS[1]!.name}|${b.name}`) ?? []) - client)).toFixed(2)}×, 401 ${(allow / (median(cpu.get(`${SCENARIOS[2]!.name}|${b.name}`) ?? []) - client)).toFixed(2)}× the cached allow (inverse of iamgate CPU)`;
    });
    console.log(`\n${rates.join('\n')}`);
  } finally {
    for (const p of pools) await p.close();
    for (const b of builds) await b.stop();
    upstream.process.kill();
  }
}
