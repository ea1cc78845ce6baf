// `npm run bench -- gateway`: the data path as deployed. `iamgate serve` (built, dist/) runs the
// quick start (policies/iamgate.yaml: cached allow, default durable audit to stdout, here to
// /dev/null) in its own process in front of a tiny upstream; wrk (-t1 -c32) drives each scenario in
// interleaved rounds, and the gateway's CPU time per request is read from /proc (it holds up on a
// busy machine where requests per second do not). Scenarios: cached allow, deny (403), no token
// (401), the decision cache off (in-process L1 off, no Redis), and the cached allow with two workers (requests per second only:
// the CPU of the workers is not the primary's). Method and figures: docs/benchmarks.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForPort } from '../test/support/net.js';
import { freePort } from '../test/support/redis.js';
import { report, type BenchResult } from './report.js';
import { startTinyUpstream } from './proxy.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const SECONDS = process.env['BENCH_SECONDS'] ?? '5';
const MAIN = resolve('dist/cli/main.js');
const QUICK_START = resolve('policies/iamgate.yaml');
/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
export const TICKS = 100;

interface Served {
  readonly url: string;
  readonly child: ChildProcess;
}

/** The quick start's configuration with its files named by absolute path, to be written elsewhere with more keys. */
export async function quickStartYaml(): Promise<string> {
  return (await readFile(QUICK_START, 'utf8'))
    .replace('directory: directory.yaml', `directory: ${resolve('policies/directory.yaml')}`)
    .replace('routes: routes.yaml', `routes: ${resolve('policies/routes.yaml')}`)
    .replaceAll('../.iamgate-state', resolve('.iamgate-state'));
}

/** A development token for a quick-start directory user. */
export function quickStartToken(user: string): string {
  return spawnSync(process.execPath, [MAIN, 'token', user, '--config', QUICK_START], { encoding: 'utf8' }).stdout.trim();
}

export async function serve(config: string, upstream: string, args: readonly string[]): Promise<Served> {
  const port = await freePort();
  const ops = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', config, ...args], {
    env: { ...process.env, IAMGATE_PORT: String(port), IAMGATE_OPS_PORT: String(ops), IAMGATE_UPSTREAM: upstream, IAMGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, 60_000);
  return { url: `http://127.0.0.1:${port}`, child };
}

/** CPU time (user + system) of process `pid` so far, in clock ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** One wrk run (`connections` open, 32 unless given): requests/s, p50/p99 µs, and the CPU µs per request of process `pid`. */
export function wrk(url: string, headers: readonly string[], pid: number, opts: { connections?: number; seconds?: string } = {}): Promise<{ rps: number; p50: number; p99: number; cpu: number }> {
  const before = cpuTicks(pid);
  return new Promise((done, fail) => {
    const args = ['-t1', `-c${opts.connections ?? 32}`, `-d${opts.seconds ?? SECONDS}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('exit', () => {
      const us = (t: string | undefined): number => {
        const m = /^([\d.]+)(us|ms|s)$/.exec((t ?? '').trim());
        return m ? Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1e6) : Number.NaN;
      };
      const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const cpu = ((cpuTicks(pid) - before) * 1e6) / TICKS / total;
      done({ rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: us(/^\s+50%\s+(\S+)/m.exec(out)?.[1]), p99: us(/^\s+99%\s+(\S+)/m.exec(out)?.[1]), cpu });
    });
  });
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function runGatewayBench(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) {
    console.log('\n## gateway\n\nskipped: wrk is not installed');
    return;
  }
  const { port: upstreamPort, process: upstream } = await startTinyUpstream();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-gwbench-'));
  // The quick start with the decision cache off, for the uncached scenario.
  const noCache = join(dir, 'iamgate-nocache.yaml');
  const quickStart = await quickStartYaml();
  await writeFile(noCache, `${quickStart}\ncache: { l1: { enabled: false } }\n`);
  const alice = `Authorization: Bearer ${quickStartToken('alice')}`;
  const served = {
    default: await serve(QUICK_START, upstreamUrl, []),
    nocache: await serve(noCache, upstreamUrl, []),
    workers: await serve(QUICK_START, upstreamUrl, ['--workers', '2']),
  };
  const scenarios = [
    { name: 'upstream direct', url: `${upstreamUrl}/orders/1`, header: undefined, pid: upstream.pid! },
    { name: 'cached allow (GET /orders/1 as alice)', url: `${served.default.url}/orders/1`, header: alice, pid: served.default.child.pid! },
    { name: 'deny (403: no route for GET /inventory as alice)', url: `${served.default.url}/inventory`, header: alice, pid: served.default.child.pid! },
    { name: 'no token (401)', url: `${served.default.url}/orders/1`, header: undefined, pid: served.default.child.pid! },
    { name: 'allow, decision cache off', url: `${served.nocache.url}/orders/1`, header: alice, pid: served.nocache.child.pid! },
    { name: 'cached allow, --workers 2', url: `${served.workers.url}/orders/1`, header: alice, pid: served.workers.child.pid! },
  ];
  const samples = scenarios.map(() => ({ rps: [] as number[], p50: [] as number[], p99: [] as number[], cpu: [] as number[] }));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of scenarios.entries()) {
        const r = await wrk(s.url, s.header ? [s.header] : [], s.pid);
        const into = samples[i]!;
        into.rps.push(r.rps);
        into.p50.push(r.p50);
        into.p99.push(r.p99);
        into.cpu.push(r.cpu);
      }
    }
    const results: BenchResult[] = scenarios.map((s, i) => {
      const m = samples[i]!;
      const cpu = s.name.includes('workers') || s.name.startsWith('upstream') ? '' : `; CPU ${median(m.cpu).toFixed(0)} µs/request`;
      return { name: s.name, opsPerSec: median(m.rps), p50us: median(m.p50), p99us: median(m.p99), note: `median of ${ROUNDS} interleaved rounds${cpu}` };
    });
    report(`gateway (iamgate serve, quick start, wrk -t1 -c32 -d${SECONDS}s, loopback)`, results);
  } finally {
    for (const s of Object.values(served)) s.child.kill('SIGTERM');
    upstream.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
