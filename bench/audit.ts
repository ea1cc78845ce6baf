// Audit trail benchmark: records per second (and per-record latency) for each durability mode and
// sink, and the loss window of batched mode measured by killing a writer. Method and figures:
// docs/benchmarks.md and docs/audit.md.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLog, type AuditLog } from '../src/audit/log.js';
import type { AuditEventInput } from '../src/audit/schema.js';
import { createAuditSigner } from '../src/audit/signing.js';
import { createRedisStreamSink } from '../src/audit/sinks/redis.js';
import { createFileSink } from '../src/audit/sinks/stream.js';
import type { RecordSink } from '../src/audit/sinks/types.js';
import { startRedis } from '../test/support/redis.js';
import { percentile, report, type BenchResult } from './report.js';

const signer = createAuditSigner(generateKeyPairSync('ed25519').privateKey);

function event(i: number): AuditEventInput {
  return {
    kind: 'request',
    requestId: `req-${i}`,
    principal: { arn: 'arn:aws:iam::111122223333:user/engineering/alice', type: 'User' },
    authn: { issuer: 'https://idp.example.com', methods: ['jwt'], mfa: false },
    action: 'orders:GetOrder',
    resource: `arn:aws:orders:us-east-1:111122223333:order/${i}`,
    decision: 'Allow',
    reason: 'allowed',
    statements: [{ policy: 'OrdersReadWrite', sid: 'ReadAndCreateOrders' }],
    cache: 'l1',
    policyGeneration: 3,
    sourceIp: '10.0.0.7',
    method: 'GET',
    path: `/orders/${i}`,
    status: 200,
  };
}

/** A sink that takes records and does nothing: the cost of building, hashing and signing alone. */
const nullSink: RecordSink = {
  name: 'null',
  whenFull: 'drop',
  accepting: () => true,
  write: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
  stats: () => ({ written: 0, dropped: 0, buffered: 0, failures: 0, healthy: true }),
};

const newLog = (sinks: RecordSink[]): AuditLog => createAuditLog({ instanceId: 'bench', sinks, signer, digestEvery: { records: 1000, ms: 0 } });

/** One request at a time, each awaited: per-record latency as the request path sees it. */
async function sequential(name: string, sinks: RecordSink[], n: number, note = ''): Promise<BenchResult> {
  const log = newLog(sinks);
  const samples = new Float64Array(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await log.record(event(i));
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  await log.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await log.close();
  samples.sort();
  return { name, opsPerSec: n / seconds, p50us: percentile(samples, 0.5), p99us: percentile(samples, 0.99), note };
}

/**
 * Rounds of `inFlight` requests at once, as on a busy gateway (records written together: group
 * commit). Each round ends with a turn of the event loop, as network I/O gives a real gateway.
 */
async function concurrent(name: string, sinks: RecordSink[], n: number, inFlight: number, note = ''): Promise<BenchResult> {
  const log = newLog(sinks);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += inFlight) {
    const round: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + inFlight); j++) round.push(log.record(event(j)));
    await Promise.all(round);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await log.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await log.close();
  return { name, opsPerSec: n / seconds, note };
}

/** Kills a batched writer at full speed and counts acknowledged records missing from its file. */
async function lossWindow(dir: string): Promise<string> {
  const writer = fileURLToPath(new URL('../test/audit/fixtures/crash-writer.ts', import.meta.url));
  const path = join(dir, 'loss.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', writer, path, 'bench-loss', 'batched'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let rest = '';
  await new Promise<void>((resolve) => {
    child.on('exit', () => resolve());
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (acked.length >= 20_000 && !child.killed) child.kill('SIGKILL');
    });
  });
  const text = await readFile(path, 'utf8');
  const lost = acked.filter((id) => !text.includes(`"requestId":"${id}"`)).length;
  return `batched mode (16 KiB batches, 200 ms): killed after ${acked.length} acknowledged records, ${lost} of them not in the file (≈ ${Math.round((lost * 420) / 1024)} KiB)`;
}

export async function runAuditBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-bench-audit-'));
  const redis = await startRedis();
  try {
    const results: BenchResult[] = [];
    results.push(await sequential('no sink (build + chain + digest signing)', [nullSink], 50_000));
    results.push(await sequential('file, durable, one at a time', [createFileSink(join(dir, 'a.jsonl'))], 10_000, 'await per record'));
    results.push(await concurrent('file, durable, 64 in flight', [createFileSink(join(dir, 'b.jsonl'))], 50_000, 64, 'group commit'));
    results.push(await concurrent('file, batched, 64 in flight', [createFileSink(join(dir, 'c.jsonl'), { durability: 'batched' })], 50_000, 64, 'bounded loss window'));
    results.push(await concurrent('Redis Stream, 64 in flight', [createRedisStreamSink({ redis: redis.url, stream: 'bench' })], 50_000, 64, 'asynchronous; XADD MAXLEN ~'));
    results.push(
      await concurrent('file durable + Redis Stream, 64 in flight', [createFileSink(join(dir, 'd.jsonl')), createRedisStreamSink({ redis: redis.url, stream: 'bench2' })], 50_000, 64),
    );
    report('audit trail (records/s)', results);
    console.log(await lossWindow(dir));
  } finally {
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  }
}
