// Gateway throughput with wrk: a tiny upstream (its own process) reached directly, then through
// iamgate allowing (fresh evaluation, no decision cache), denying (403) and rejecting (401)
// requests. The gateway is assembled in this process exactly as `iamgate serve` does it (the
// real authenticator with its verified-token cache, the default audit sink: one pino line per
// decision, here to /dev/null). Method and figures: docs/benchmarks.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/cli.js';
import { createIamgate, loadConfig } from '../src/app/index.js';
import { formatProblems } from '../src/config/index.js';
import { createLogAuditSink } from '../src/gateway/index.js';
import { devConfigYaml } from '../test/support/gateway.js';
import { waitForPort } from '../test/support/net.js';
import { freePort } from '../test/support/redis.js';
import { report, type BenchResult } from './report.js';

const DURATION = process.env['BENCH_SECONDS'] ?? '5';
const CONNECTIONS = process.env['BENCH_CONNECTIONS'] ?? '32';

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n : m[2] === 'ms' ? n * 1000 : n * 1e6;
}

/**
 * Runs wrk and reads requests/s and the p50/p99 latency (µs) from its report, plus this process's
 * CPU time per request (the gateway's cost, which holds up better than req/s on a busy machine).
 */
export function wrk(name: string, url: string, headers: readonly string[], note: string): Promise<BenchResult> {
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const args = ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
      const p99 = ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
      const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const used = process.cpuUsage(cpu);
      const perRequest = total > 0 ? (used.user + used.system) / total : Number.NaN;
      const cpuNote = name.startsWith('upstream') ? '' : `; gateway CPU ${perRequest.toFixed(0)} µs/request`;
      resolve({ name, opsPerSec: rps, p50us: p50, p99us: p99, note: `${note}${cpuNote}` });
    });
  });
}

/** A tiny upstream in its own process, answering `ok` on a free loopback port. */
export async function startTinyUpstream(): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    // Idle keep-alive connections stay open for a minute, so proxies' pools are not cut every 5 s.
    ['-e', `const u = require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('ok'); }); u.keepAliveTimeout = 60000; u.listen(${port}, '127.0.0.1')`],
    { stdio: 'ignore' },
  );
  return { port, process: child };
}

export async function runProxyBench(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) {
    console.log('\n## proxy\n\nskipped: wrk is not installed');
    return;
  }
  const { port: upstreamPort, process: upstream } = await startTinyUpstream();
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-bench-'));
  const file = join(dir, 'iamgate.yaml');
  await writeFile(file, devConfigYaml({ port: 0, opsPort: 0, upstreamUrl: `http://127.0.0.1:${upstreamPort}` }));
  const loaded = await loadConfig({ file, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const { gateway, stop } = await createIamgate(loaded.config, { logger, audit: createLogAuditSink(logger) });
  const token = async (user: string): Promise<string> => {
    const out: string[] = [];
    await runCli(['token', user, '--config', file], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    return `Authorization: Bearer ${out.join('').trim()}`;
  };
  try {
    await gateway.initialLoad;
    await waitForPort(upstreamPort);
    const alice = await token('alice');
    const bob = await token('bob');
    const results = [
      await wrk('upstream direct', `http://127.0.0.1:${upstreamPort}/orders/1`, [], 'no gateway'),
      await wrk('gateway, allowed', `${gateway.url}/orders/1`, [alice], 'cached token + route + evaluate + audit line + proxy'),
      await wrk('gateway, denied (403)', `${gateway.url}/orders/secret-1`, [bob], 'explicit deny + MFA counterfactual + log lines'),
      await wrk('gateway, no token (401)', `${gateway.url}/orders/1`, [], 'rejected before routing'),
    ];
    report(`proxy (wrk -t2 -c${CONNECTIONS} -d${DURATION}s, loopback, 2 cores shared by wrk, gateway and upstream)`, results);
  } finally {
    await stop(1000);
    upstream.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
