// The Redis Stream sink against a real redis-server: every record reaches the stream and verifies;
// the stream stays bounded; Redis stopped and back: records buffered within the bound arrive late
// and in order, past the bound they are counted as dropped and the trail says so; a refusing sink
// refuses instead; Redis frozen (SIGSTOP): commands time out and nothing is lost.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../../src/audit/log.js';
import { readPublicKeys } from '../../src/audit/signing.js';
import { createRedisStreamSink, FAIL_FAST_REDIS_OPTIONS } from '../../src/audit/sinks/redis.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import type { RecordSink } from '../../src/audit/sinks/types.js';
import { readTrailStream } from '../../src/audit/trail.js';
import { verifyTrail, type VerifyReport } from '../../src/audit/verify.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { until } from '../support/until.js';
import { decisionEvent, ed25519, tempDir, verifyFile, type TempDir } from './support.js';

let redis: TestRedis;
let reader: Redis;
let dir: TempDir;
const key = ed25519();
const trustedKeys = readPublicKeys(key.publicPem);
let stream = 0;
const open: AuditLog[] = [];

beforeAll(async () => {
  redis = await startOwnedRedis();
  reader = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  reader.on('error', () => undefined);
  dir = await tempDir();
});
/** Set by a test that stops or pauses Redis, so that it is brought back even if the test fails. */
let outage: 'stopped' | 'paused' | undefined;
afterEach(async () => {
  if (outage === 'paused') redis.resume();
  if (outage === 'stopped') await redis.start();
  outage = undefined;
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
});
afterAll(async () => {
  reader?.disconnect();
  await redis?.close();
  await dir?.remove();
});

function setup(options: { maxBuffer?: number; whenFull?: 'drop' | 'refuse'; maxLen?: number; client?: Redis } = {}) {
  const name = `audit:test:${++stream}`;
  const sink = createRedisStreamSink({ redis: options.client ?? redis.url, stream: name, retryMs: 50, ...options });
  const file = dir.file(`${name.replaceAll(':', '-')}.jsonl`);
  const log = createAuditLog({
    instanceId: `gw-redis-${stream}`,
    sinks: [createFileSink(file), sink],
    signer: key.signer,
    digestEvery: { records: 20, ms: 0 },
  });
  open.push(log);
  return { name, sink, log, file };
}

async function verifyStream(name: string): Promise<VerifyReport> {
  if (reader.status === 'wait' || reader.status === 'end') await reader.connect().catch(() => undefined);
  return verifyTrail(readTrailStream(reader, name, 100), { trustedKeys, headMayBeTrimmed: true });
}

const healthy = (sink: RecordSink) => () => sink.stats().healthy && sink.stats().buffered === 0;

describe('the Redis Stream sink', () => {
  it('writes every record to the stream, where the trail verifies clean', async () => {
    const { name, log } = setup();
    for (let i = 0; i < 60; i++) await log.record(decisionEvent(i));
    await log.close();
    const report = await verifyStream(name);
    expect(report).toMatchObject({ status: 'ok', findings: [] });
    expect(report.chains).toEqual([expect.objectContaining({ firstSeq: 1, closed: true, records: 60 + 1 + 4 })]);
  });

  it('reports an entry whose U+FFFD was rewritten as a byte that is not UTF-8 as altered, though a lossy reader sees the same text', async () => {
    const { name, log } = setup();
    await log.record(decisionEvent(1, { path: '/orders/\uFFFD' }));
    await log.close();
    expect(await verifyStream(name)).toMatchObject({ status: 'ok' });
    const copy = `${name}:rewritten`;
    for (const [, fields] of await reader.xrangeBuffer(name, '-', '+')) {
      const line = fields[1] as Buffer;
      const at = line.indexOf('\uFFFD');
      await reader.xadd(copy, '*', 'r', at === -1 ? line : Buffer.concat([line.subarray(0, at), Buffer.from([0xff]), line.subarray(at + 3)]));
    }
    const report = await verifyStream(copy);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'altered', seq: 2, message: expect.stringContaining('not UTF-8') })]);
  });

  it('keeps the stream near its MAXLEN bound; the trimmed trail still verifies against the trusted key', async () => {
    const { name, log } = setup({ maxLen: 100 });
    for (let i = 0; i < 600; i++) void log.record(decisionEvent(i));
    await log.close();
    expect(await reader.xlen(name)).toBeLessThanOrEqual(300);
    const report = await verifyStream(name);
    expect(report.status).toBe('ok');
    expect(report.findings.map((f) => f.code)).toEqual(['trimmed']);
    expect(report.chains[0]?.closed).toBe(true);
  });

  it('buffers records while Redis is stopped and writes them, in order, when it is back', async () => {
    const { name, sink, log, file } = setup({ maxBuffer: 1000 });
    for (let i = 0; i < 10; i++) await log.record(decisionEvent(i));
    await log.flush();
    outage = 'stopped';
    await redis.stop();
    for (let i = 10; i < 40; i++) await log.record(decisionEvent(i));
    await until('the sink notices Redis is gone', () => !sink.stats().healthy);
    expect(sink.stats().buffered).toBeGreaterThanOrEqual(30);
    await redis.start();
    outage = undefined;
    await until('the buffer drains', healthy(sink));
    for (let i = 40; i < 50; i++) await log.record(decisionEvent(i));
    await log.close();
    expect(sink.stats()).toMatchObject({ dropped: 0, buffered: 0 });
    const report = await verifyStream(name);
    expect(report.status).toBe('ok');
    // This test's redis-server keeps nothing across a restart: the stream now begins with the first
    // record written during the outage (seq 12, after the start record and ten events), none missing.
    expect(report.chains[0]).toMatchObject({ firstSeq: 12, closed: true });
    expect(report.chains[0]?.records).toBe(report.chains[0]!.lastSeq - 11);
    expect((await verifyFile(file, { trustedKeys })).status).toBe('ok');
  });

  it('past its bound drops and counts records, and the stream says which are missing', async () => {
    const { name, sink, log, file } = setup({ maxBuffer: 10 });
    for (let i = 0; i < 5; i++) await log.record(decisionEvent(i));
    await log.flush();
    outage = 'stopped';
    await redis.stop();
    for (let i = 5; i < 45; i++) await log.record(decisionEvent(i));
    // At most 10 wait in the buffer (some may have been in flight when Redis went away).
    expect(sink.stats().buffered).toBeLessThanOrEqual(10);
    const dropped = sink.stats().dropped;
    expect(dropped).toBeGreaterThanOrEqual(25);
    await redis.start();
    outage = undefined;
    await until('the buffer drains', healthy(sink));
    for (let i = 45; i < 50; i++) await log.record(decisionEvent(i));
    await log.close();

    const report = await verifyStream(name);
    expect(report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
    expect(report.status).toBe('incomplete');
    const gaps = report.findings.filter((f) => f.code === 'dropped');
    expect(gaps.length).toBeGreaterThan(0);
    expect(report.chains[0]?.closed).toBe(true);
    // This test's redis-server keeps nothing across a restart, so the stream begins after the outage.
    const chain = report.chains[0]!;
    expect(chain.records).toBe(chain.lastSeq - chain.firstSeq + 1 - dropped);
    // The local file kept everything.
    expect((await verifyFile(file, { trustedKeys })).status).toBe('ok');
  });

  it('configured to refuse, refuses records once its buffer is full, and accepts again when Redis is back', async () => {
    const { sink, log } = setup({ maxBuffer: 5, whenFull: 'refuse' });
    await log.record(decisionEvent(0));
    await log.flush();
    outage = 'stopped';
    await redis.stop();
    const outcomes: string[] = [];
    for (let i = 1; i <= 8; i++) {
      outcomes.push(await log.record(decisionEvent(i)).then(() => 'ok', (e: { code?: string }) => e.code ?? 'error'));
    }
    // Five fill the buffer; then the sink refuses, and the log with it.
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ERR_AUDIT_UNAVAILABLE', 'ERR_AUDIT_UNAVAILABLE', 'ERR_AUDIT_UNAVAILABLE']);
    expect(log.stats().refused).toBe(3);
    await redis.start();
    outage = undefined;
    await until('the buffer drains', healthy(sink));
    await expect(log.record(decisionEvent(9))).resolves.toBeUndefined();
    expect(sink.stats().dropped).toBe(0);
  });

  it('with Redis frozen (SIGSTOP), times out, keeps the records and writes them after it resumes', async () => {
    const client = new Redis(redis.url, { ...FAIL_FAST_REDIS_OPTIONS, commandTimeout: 200 });
    client.on('error', () => undefined);
    const { name, sink, log } = setup({ client });
    await log.record(decisionEvent(0));
    await log.flush();
    outage = 'paused';
    redis.pause();
    for (let i = 1; i < 15; i++) await log.record(decisionEvent(i));
    await until('a command times out', () => sink.stats().failures > 0);
    redis.resume();
    outage = undefined;
    await until('the buffer drains', healthy(sink));
    await log.close();
    client.disconnect();
    const report = await verifyStream(name);
    expect(report.findings.filter((f) => f.severity !== 'note')).toEqual([]);
    expect(report.chains[0]).toMatchObject({ closed: true, records: report.chains[0]?.lastSeq });
  });
});
