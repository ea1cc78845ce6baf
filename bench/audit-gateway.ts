// The audit trail's cost on the gateway's request path: wrk through the gateway assembled as
// `iamgate serve` does it, allowed requests (each forwarded only once its decision record is
// written), with the trail off, as the former single pino line, and as the configured trail (a
// signed chain in a file, durable and batched). Method and figures: docs/audit.md, "Cost".
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { createIamgate, loadConfig, type IamgateDeps } from '../src/app/index.js';
import { formatProblems } from '../src/config/index.js';
import { createLogAuditSink, type AuditSink } from '../src/gateway/index.js';
import { tokenFor, writeServedConfig } from '../test/audit/served.js';
import { waitForPort } from '../test/support/net.js';
import { startTinyUpstream, wrk } from './proxy.js';
import { report, type BenchResult } from './report.js';

const CONNECTIONS = process.env['BENCH_CONNECTIONS'] ?? '32';
const DURATION = process.env['BENCH_SECONDS'] ?? '5';

const NO_AUDIT: AuditSink = { record: () => undefined, flush: async () => undefined };

interface Case {
  readonly name: string;
  readonly note: string;
  /** Lines of the `audit` section (the trail file is `trail.jsonl`), unless `sink` replaces the trail. */
  readonly audit?: readonly string[];
  readonly sink?: (logger: Logger) => AuditSink;
}

const CASES: readonly Case[] = [
  { name: 'audit off', note: 'no record at all (baseline, not configurable)', sink: () => NO_AUDIT },
  { name: 'one pino line per decision', note: 'unchained, unsigned, to /dev/null (the former default)', sink: (logger) => createLogAuditSink(logger) },
  { name: 'trail: file, durable', note: 'hash chain, Ed25519 digest every 1000; forwarded after the write returns', audit: ['durability: durable'] },
  { name: 'trail: file, batched', note: 'hash chain, Ed25519 digest every 1000; 16 KiB / 200 ms batches', audit: ['durability: batched'] },
];

async function runCase(c: Case, upstreamPort: number): Promise<BenchResult> {
  const files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, audit: c.audit ?? [] });
  const loaded = await loadConfig({ file: files.config, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const deps: IamgateDeps = c.sink ? { logger, audit: c.sink(logger) } : { logger };
  const { gateway, stop } = await createIamgate(loaded.config, deps);
  let result: BenchResult;
  try {
    await gateway.initialLoad;
    const token = await tokenFor(files.config, 'alice');
    result = await wrk(c.name, `${gateway.url}/orders/1`, [`Authorization: Bearer ${token}`], c.note);
  } finally {
    await stop(1000);
  }
  const written = c.sink ? 0 : (await stat(files.trail)).size;
  await files.remove();
  return written > 0 ? { ...result, note: `${result.note}; trail ${(written / 1024 / 1024).toFixed(1)} MiB` } : result;
}

/** Rounds of every case (the best round of each is reported: the machine is shared, and others' load only slows a run down). */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '2');

export async function runAuditGatewayBench(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) {
    console.log('\n## audit-gateway\n\nskipped: wrk is not installed');
    return;
  }
  const upstream = await startTinyUpstream();
  try {
    await waitForPort(upstream.port);
    await runCase(CASES[2]!, upstream.port); // warm-up: compiles the hot path before anything is measured
    const best = new Map<string, BenchResult>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        const r = await runCase(c, upstream.port);
        if ((best.get(c.name)?.opsPerSec ?? -1) < r.opsPerSec) best.set(c.name, r);
      }
    }
    report(
      `audit-gateway (allowed requests through the gateway; wrk -t2 -c${CONNECTIONS} -d${DURATION}s, best of ${ROUNDS} interleaved rounds after a warm-up, loopback, 2 cores shared by wrk, gateway and upstream)`,
      CASES.map((c) => best.get(c.name)!),
    );
  } finally {
    upstream.process.kill();
  }
}
