// `npm run bench -- gateway [--quick]`: iamgate's data path as deployed, beside the floors it is
// judged against, in one run with interleaved rounds (the machine is shared: compare within a run).
// Floors: the upstream reached directly, nginx (one worker, keepalive pool) as a reverse proxy,
// and a bare node:http + undici `Pool.dispatch` proxy (bench/undici-proxy.ts). iamgate (`serve`,
// built, in its own processes) on the quick start: cached allow, allow with the decision cache
// off, deny, 401, an MFA-gated allow, a large directory, forward-auth behind nginx, and
// `--workers 2`. Each target per round: a warm-up, wrk -t1 -c32 (rate, p50/p99, CPU µs a request
// from /proc), then wrk -c1 (the latency one request adds). Method and figures: docs/benchmarks.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IAMGATE_HEADERS } from '../test/support/nginx.js';
import { waitForPort } from '../test/support/net.js';
import { freePort } from '../test/support/redis.js';
import { LARGE, largeUser, writeLargeDirectory } from './large-directory.js';
import { forwardAuth, NGINX_BINARY, reverseProxy, startBenchNginx, type RunningNginx } from './nginx.js';
import { startTinyUpstream } from './proxy.js';
import { QUICK_START, quickStartToken, quickStartYaml, serve, stopServed, type Served } from './serve.js';
import { formatTable, type TargetFigures } from './gateway-report.js';
import { busyShare, machineTicks, treeTicks, TICKS, wrk, type WrkResult } from './wrk.js';

const QUICK = process.argv.includes('--quick');
const PLAN = {
  rounds: QUICK ? 1 : Number(process.env['BENCH_ROUNDS'] ?? '3'),
  seconds: QUICK ? 1 : Number(process.env['BENCH_SECONDS'] ?? '5'),
  latencySeconds: QUICK ? 1 : 3,
  warmupSeconds: QUICK ? 1 : 2,
  // A fresh iamgate needs some thousands of requests to reach its pace (V8's optimising tiers);
  // on a busy machine that is many seconds, so the first warm-up counts requests, not time.
  warmupRequests: QUICK ? 10_000 : 30_000,
  warmupCapSeconds: QUICK ? 10 : 60,
  connections: 32,
  // The quick mode checks that everything runs; a 100,000-user directory takes minutes to load.
  largeUsers: QUICK ? 10_000 : Number(process.env['BENCH_LARGE_USERS'] ?? LARGE.users),
  largeReadySeconds: Number(process.env['BENCH_LARGE_READY_SECONDS'] ?? '900'),
  // Another build's dist/ (e.g. an earlier commit's, built elsewhere): its cached allow is measured
  // in the same rounds, so a change's gain is a ratio from one run.
  baseline: process.env['BENCH_BASELINE'],
};

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly headers?: readonly string[];
  readonly method?: string;
  /** The status every answer must have (checked before measuring, and counted while measuring). */
  readonly expect: number;
  /** Processes (with their children) whose CPU time is counted per request. */
  readonly cpu: readonly { readonly label: string; readonly pid: number }[];
  /** The floors and the reference that ratios are taken against. */
  readonly role?: 'direct' | 'nginx' | 'undici' | 'allow' | 'baseline' | 'workers' | 'deny' | 'unauthenticated';
}

/** Requests that got something other than `expect` (wrk counts answers of 400 and above). */
function unexpected(target: Target, r: WrkResult): number {
  return (target.expect >= 400 ? r.requests - r.failedStatus : r.failedStatus) + r.socketErrors;
}

/** Fails unless one request to the target answers its expected status: a benchmark of refusals measures nothing. */
async function preflight(target: Target): Promise<void> {
  const headers = Object.fromEntries((target.headers ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]));
  const res = await fetch(target.url, { method: target.method ?? 'GET', headers });
  const body = await res.text();
  if (res.status !== target.expect) throw new Error(`${target.name}: ${target.method ?? 'GET'} ${target.url} answered ${res.status}, not ${target.expect}: ${body.slice(0, 200)}`);
}

/** One round of one target: warm-up, c32 with CPU, c1. */
async function measure(target: Target): Promise<{ c32: WrkResult; c1: WrkResult; cpu: number[]; busy: number }> {
  const run = { url: target.url, headers: target.headers ?? [], method: target.method ?? 'GET' };
  await wrk({ ...run, connections: PLAN.connections, seconds: PLAN.warmupSeconds });
  const before = target.cpu.map((p) => treeTicks(p.pid));
  const machineBefore = machineTicks();
  const c32 = await wrk({ ...run, connections: PLAN.connections, seconds: PLAN.seconds });
  const busy = busyShare(machineBefore, machineTicks());
  const cpu = target.cpu.map((p, i) => ((treeTicks(p.pid) - before[i]!) * 1e6) / TICKS / c32.requests);
  const c1 = await wrk({ ...run, connections: 1, seconds: PLAN.latencySeconds });
  return { c32, c1, cpu, busy };
}

/** Before the first round: load until the target has answered PLAN.warmupRequests (or the cap passed). */
async function warmUp(target: Target): Promise<void> {
  const run = { url: target.url, headers: target.headers ?? [], method: target.method ?? 'GET', connections: PLAN.connections, seconds: 2 };
  const until = performance.now() + PLAN.warmupCapSeconds * 1000;
  for (let answered = 0; answered < PLAN.warmupRequests && performance.now() < until; ) answered += (await wrk(run)).requests;
}

/** Resident memory of a process, MiB. */
function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** The bare undici proxy in its own process. */
async function startUndiciProxy(upstream: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve('dist-bench/bench/undici-proxy.js'), String(port), upstream], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return { url: `http://127.0.0.1:${port}`, child };
}

export async function runGatewayBench(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error || !NGINX_BINARY) {
    console.log('\n## gateway\n\nskipped: wrk or nginx is not installed');
    return;
  }
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-gwbench-'));
  const upstream = await startTinyUpstream();
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const served: Served[] = [];
  const nginx: RunningNginx[] = [];
  let undici: ChildProcess | undefined;
  try {
    await waitForPort(upstream.port);
    const quickStart = await quickStartYaml();
    const noCache = join(dir, 'iamgate-nocache.yaml');
    await writeFile(noCache, `${quickStart}\ncache: { l1: { enabled: false } }\n`);
    const largeFile = await writeLargeDirectory(dir, PLAN.largeUsers);
    const large = join(dir, 'iamgate-large.yaml');
    await writeFile(large, quickStart.replace(/directory: .*/, `directory: ${largeFile}`));
    // The token is signed with the quick start's development key; iamgate looks the user up in the
    // large directory. Minting it from a one-user directory spares `iamgate token` a second load.
    const oneUser = join(dir, 'one-user.yaml');
    await writeFile(join(dir, 'one-user-directory.json'), JSON.stringify({ version: 1, account: '111122223333', users: { [largeUser(PLAN.largeUsers)]: {} } }));
    await writeFile(oneUser, quickStart.replace(/directory: .*/, `directory: ${join(dir, 'one-user-directory.json')}`));

    const [main, cacheOff, workers] = [await serve(QUICK_START, upstreamUrl), await serve(noCache, upstreamUrl), await serve(QUICK_START, upstreamUrl, ['--workers', '2'])];
    served.push(main, cacheOff, workers);
    // A directory too large to load in time is a finding, not a reason to lose the other figures.
    const big = await serve(large, upstreamUrl, [], PLAN.largeReadySeconds * 1000).catch((err: unknown) => {
      console.error(`large directory: ${err instanceof Error ? err.message : String(err)}; measured without it`);
      return undefined;
    });
    if (big) served.push(big);
    const baseline = PLAN.baseline === undefined ? undefined : await serve(QUICK_START, upstreamUrl, [], 120_000, resolve(PLAN.baseline, 'cli/main.js'));
    if (baseline) served.push(baseline);
    const floor = await startBenchNginx(reverseProxy(upstreamUrl));
    nginx.push(floor);
    const guarded = await startBenchNginx(forwardAuth(main.url, upstreamUrl, IAMGATE_HEADERS));
    nginx.push(guarded);
    const bare = await startUndiciProxy(upstreamUrl);
    undici = bare.child;

    const bearer = (token: string): string => `Authorization: Bearer ${token}`;
    const alice = bearer(quickStartToken('alice'));
    const carolMfa = bearer(quickStartToken('carol', { mfa: true }));
    const someone = bearer(quickStartToken(largeUser(PLAN.largeUsers), { config: oneUser }));
    const iamgate = (s: Served) => [{ label: 'iamgate', pid: s.child.pid! }];
    const largeDirectory: Target[] = big
      ? [
          {
            name: `iamgate: large directory (${PLAN.largeUsers.toLocaleString('en-US')} users, ${(LARGE.policies * LARGE.statementsPerPolicy).toLocaleString('en-US')} statements), cached allow`,
            url: `${big.url}/orders/1`,
            headers: [someone],
            expect: 200,
            cpu: iamgate(big),
          },
        ]
      : [];
    const targets: Target[] = [
      { name: 'upstream direct', url: `${upstreamUrl}/orders/1`, expect: 200, cpu: [], role: 'direct' },
      { name: 'nginx reverse proxy (1 worker, keepalive)', url: `${floor.url}/orders/1`, expect: 200, cpu: [{ label: 'nginx', pid: floor.pid }], role: 'nginx' },
      { name: 'bare node:http + undici Pool.dispatch', url: `${bare.url}/orders/1`, expect: 200, cpu: [{ label: 'proxy', pid: bare.child.pid! }], role: 'undici' },
      { name: 'iamgate: cached allow (GET /orders/1 as alice)', url: `${main.url}/orders/1`, headers: [alice], expect: 200, cpu: iamgate(main), role: 'allow' },
      ...(baseline ? [{ name: `iamgate baseline build (${PLAN.baseline}): cached allow`, url: `${baseline.url}/orders/1`, headers: [alice], expect: 200, cpu: iamgate(baseline), role: 'baseline' as const }] : []),
      { name: 'iamgate: allow, decision cache off', url: `${cacheOff.url}/orders/1`, headers: [alice], expect: 200, cpu: iamgate(cacheOff) },
      { name: 'iamgate: deny (403, DELETE /orders/1 as alice)', url: `${main.url}/orders/1`, method: 'DELETE', headers: [alice], expect: 403, cpu: iamgate(main), role: 'deny' },
      { name: 'iamgate: no token (401)', url: `${main.url}/orders/1`, expect: 401, cpu: iamgate(main), role: 'unauthenticated' },
      { name: 'iamgate: MFA-gated allow (DELETE /orders/1 as carol, MFA)', url: `${main.url}/orders/1`, method: 'DELETE', headers: [carolMfa], expect: 200, cpu: iamgate(main) },
      ...largeDirectory,
      {
        name: 'nginx + forward-auth to iamgate (keepalive both ways)',
        url: `${guarded.url}/orders/1`,
        headers: [alice],
        expect: 200,
        cpu: [...iamgate(main), { label: 'nginx', pid: guarded.pid }],
      },
      { name: 'iamgate serve --workers 2: cached allow', url: `${workers.url}/orders/1`, headers: [alice], expect: 200, cpu: iamgate(workers), role: 'workers' },
    ];
    for (const t of targets) await preflight(t);
    for (const t of targets) await warmUp(t);

    const figures: TargetFigures[] = targets.map((target) => ({ target, rounds: [] }));
    for (let round = 0; round < PLAN.rounds; round++) {
      for (const f of figures) {
        const m = await measure(f.target);
        f.rounds.push({ rps: m.c32.rps, p50: m.c32.p50, p99: m.c32.p99, c1p50: m.c1.p50, c1p99: m.c1.p99, cpu: m.cpu, machineBusy: m.busy, unexpected: unexpected(f.target, m.c32) + unexpected(f.target, m.c1) });
      }
    }
    const loadAfter = loadavg()[0]!;
    console.log(
      `\n## gateway (${PLAN.rounds} interleaved round${PLAN.rounds === 1 ? '' : 's'}, medians; wrk -t1 -c${PLAN.connections} -d${PLAN.seconds}s and -c1 -d${PLAN.latencySeconds}s after a ${PLAN.warmupSeconds}s warm-up; ` +
        `load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after; node ${process.version})\n`,
    );
    console.log(formatTable(figures).join('\n'));
    const largeFacts = big ? `ready in ${big.readySeconds.toFixed(0)} s, ${rssMiB(big.child.pid!).toFixed(0)} MiB resident` : `not ready within ${PLAN.largeReadySeconds} s`;
    console.log(`\nLarge directory (${PLAN.largeUsers.toLocaleString('en-US')} users): ${largeFacts} (the quick start: ${main.readySeconds.toFixed(1)} s, ${rssMiB(main.child.pid!).toFixed(0)} MiB).`);
  } finally {
    undici?.kill('SIGTERM');
    for (const n of nginx) await n.close();
    await Promise.all(served.map(stopServed));
    upstream.process.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}
