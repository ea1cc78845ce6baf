// The audit log through its public API: one record per call, named fields only, durable and
// batched writes, refusal or counted drops when a sink fails, and the stdout default.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_LIMITS, REDACTED } from '../../src/audit/build.js';
import { AuditError } from '../../src/audit/errors.js';
import { createAuditLog } from '../../src/audit/log.js';
import type { AuditEventInput, AuditRecord } from '../../src/audit/schema.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import { splitTrailText } from '../../src/audit/trail.js';
import { verifyTrail } from '../../src/audit/verify.js';
import { promisesMadeBy } from '../support/promises.js';
import { decisionEvent, ed25519, lines, steppingClock, tempDir, verifyFile, type TempDir } from './support.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

const records = async (path: string): Promise<AuditRecord[]> => (await lines(path)).map((l) => JSON.parse(l) as AuditRecord);

describe('createAuditLog', () => {
  it('writes exactly one record per recorded decision, in one unbroken chain', async () => {
    const path = dir.file('one-each.jsonl');
    const log = createAuditLog({ instanceId: 'gw-1', sinks: [createFileSink(path)], signer: ed25519().signer, digestEvery: { records: 25, ms: 0 } });
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.record(decisionEvent(i))));
    await log.close();

    const written = await records(path);
    const decisions = written.filter((r) => r.kind === 'request');
    expect(decisions).toHaveLength(300);
    expect(new Set(decisions.map((r) => r.requestId)).size).toBe(300);
    expect(written.map((r) => r.seq)).toEqual(written.map((_, i) => i + 1));
    expect(log.stats()).toMatchObject({ recorded: 300, refused: 0, lastSeq: written.length });
    expect(log.stats().digests).toBe(written.filter((r) => r.kind === 'audit.digest').length);
    expect((await verifyFile(path)).status).toBe('ok');
  });

  it('keeps only the named fields: no header maps, tokens or codes, no query string', async () => {
    const path = dir.file('fields.jsonl');
    const log = createAuditLog({ instanceId: 'gw-2', sinks: [createFileSink(path)], now: steppingClock(), randomId: () => 'id-1' });
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    const hostile = {
      ...decisionEvent(1, { path: '/orders/1?access_token=abc&code=123456', resource: `arn:aws:orders:::order/${token}` }),
      headers: { authorization: `Bearer ${token}` },
      token,
      totp: '123456',
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
      principal: { arn: 'arn:aws:iam::111122223333:user/alice', type: 'user', password: 'hunter2' },
    } as AuditEventInput;
    await log.record(hostile);
    await log.close();

    const [start, record] = await lines(path);
    expect(JSON.parse(start as string)).toMatchObject({ kind: 'audit.start', seq: 1 });
    for (const banned of ['headers', 'authorization', 'access_token', '123456', 'hunter2', 'JBSWY3DP', 'eyJ', 'password', 'totp']) {
      expect(record).not.toContain(banned);
    }
    const parsed = JSON.parse(record as string) as AuditRecord;
    expect(parsed).toMatchObject({ path: '/orders/1', resource: REDACTED, time: '2025-03-01T12:00:02.000Z', eventId: 'id-1' });
    expect(Object.keys(parsed).sort()).toEqual(
      ['action', 'authn', 'cache', 'decision', 'eventId', 'hash', 'instanceId', 'kind', 'method', 'path', 'policyGeneration', 'prev', 'principal', 'reason', 'requestId', 'resource', 'schemaVersion', 'seq', 'sourceIp', 'statements', 'status', 'time'].sort(),
    );
    expect(Object.keys(parsed.principal ?? {})).toEqual(['arn', 'type']);
  });

  it('bounds every field so the largest record still fits one atomic pipe write', async () => {
    const path = dir.file('large.jsonl');
    const log = createAuditLog({ instanceId: 'i'.repeat(64), sinks: [createFileSink(path)] });
    const long = (n: number): string => 'x'.repeat(n * 4);
    await log.record({
      kind: 'outcome',
      reason: long(FIELD_LIMITS.reason),
      requestId: long(FIELD_LIMITS.id),
      principal: { arn: long(FIELD_LIMITS.arn), type: long(FIELD_LIMITS.name), session: long(64), sourceIdentity: long(64) },
      authn: { issuer: long(FIELD_LIMITS.issuer), methods: Array.from({ length: 20 }, () => long(16)), mfa: true },
      action: long(FIELD_LIMITS.action),
      resource: long(FIELD_LIMITS.resource),
      decision: 'ImplicitDeny',
      statements: Array.from({ length: 50 }, () => ({ policy: long(64), sid: long(64) })),
      cache: 'l2',
      policyGeneration: 123456789,
      sourceIp: long(FIELD_LIMITS.ip),
      method: long(FIELD_LIMITS.method),
      path: `/${long(FIELD_LIMITS.path)}`,
      status: 504,
      upstream: { status: 504, latencyMs: 30000.123456, error: long(64) },
    });
    await log.close();
    const line = (await readFile(path, 'utf8')).split('\n')[1] as string;
    expect(JSON.parse(line)).toMatchObject({ decision: 'Deny', upstream: { latencyMs: 30000.123 } });
    expect(Buffer.byteLength(`${line}\n`)).toBeLessThan(4096);
  });

  it('in batched mode returns at once and writes everything by flush', async () => {
    const path = dir.file('batched.jsonl');
    const sink = createFileSink(path, { durability: 'batched', batchBytes: 64 * 1024, flushIntervalMs: 60_000 });
    const log = createAuditLog({ instanceId: 'gw-3', sinks: [sink] });
    for (let i = 0; i < 50; i++) await log.record(decisionEvent(i));
    expect(sink.stats().buffered).toBeGreaterThan(0);
    await log.flush();
    expect(sink.stats()).toMatchObject({ buffered: 0, written: 51 });
    expect((await records(path)).filter((r) => r.kind === 'request')).toHaveLength(50);
    await log.close();
  });

  it('in batched mode makes callers faster than the disk wait for it instead of refusing them', async () => {
    const path = dir.file('batched-pressure.jsonl');
    // A small bound: 32 callers recording without pause would pass it many times over.
    const sink = createFileSink(path, { durability: 'batched', maxBufferBytes: 64 * 1024 });
    const log = createAuditLog({ instanceId: 'gw-9', sinks: [sink] });
    const refused: unknown[] = [];
    const caller = async (c: number): Promise<void> => {
      for (let i = 0; i < 100; i++) await log.record(decisionEvent(c * 100 + i)).catch((err: unknown) => refused.push(err));
    };
    await Promise.all(Array.from({ length: 32 }, (_, c) => caller(c)));
    await log.close();
    expect(refused).toEqual([]);
    expect(log.stats()).toMatchObject({ recorded: 3200, refused: 0 });
    expect(sink.stats()).toMatchObject({ written: 3201, dropped: 0, buffered: 0 });
    const written = await records(path);
    expect(written.filter((r) => r.kind === 'request')).toHaveLength(3200);
    expect(written.map((r) => r.seq)).toEqual(written.map((_, i) => i + 1));
  });

  it('refuses records once a refusing sink has failed, without using up sequence numbers', async () => {
    const log = createAuditLog({ instanceId: 'gw-4', sinks: [createFileSink('/dev/full', { retryMs: 60_000 })] });
    const first = await log.record(decisionEvent(1)).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AuditError);
    expect(first).toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED', status: 503, sink: 'file' });
    const second = await log.record(decisionEvent(2)).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
    expect(log.stats()).toMatchObject({ recorded: 1, refused: 1, lastSeq: 2 });
    expect(log.stats().sinks['file']).toMatchObject({ healthy: false });
    await log.close().catch(() => undefined);
  });

  it('with a dropping sink that fails, keeps answering and counts what it dropped', async () => {
    const errors: string[] = [];
    const log = createAuditLog({
      instanceId: 'gw-5',
      sinks: [createFileSink('/dev/full', { whenFull: 'drop', retryMs: 60_000 })],
      onSinkError: (sink) => errors.push(sink),
    });
    for (let i = 0; i < 5; i++) await log.record(decisionEvent(i));
    expect(log.stats()).toMatchObject({ recorded: 5, refused: 0 });
    expect(log.stats().sinks['file']?.failures).toBeGreaterThan(0);
    expect(log.stats().sinks['file']?.dropped).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    await log.close().catch(() => undefined);
  });

  it('writes a signed digest on its timer when records arrived since the last one', async () => {
    const path = dir.file('timer.jsonl');
    const log = createAuditLog({ instanceId: 'gw-7', sinks: [createFileSink(path)], signer: ed25519().signer, digestEvery: { records: 1000, ms: 20 } });
    await log.record(decisionEvent(1));
    for (let i = 0; i < 500 && log.stats().digests === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(log.stats().digests).toBe(1);
    await log.flush();
    const digest = (await records(path)).find((r) => r.kind === 'audit.digest');
    expect(digest).toMatchObject({ seq: 3, digest: { fromSeq: 1, toSeq: 2, final: false } });
    await log.close();
    expect((await verifyFile(path)).status).toBe('ok');
  });

  it('without a signer, writes the chain but verification says nothing is signed', async () => {
    const path = dir.file('unsigned.jsonl');
    const log = createAuditLog({ instanceId: 'gw-8', sinks: [createFileSink(path)] });
    for (let i = 0; i < 3; i++) await log.record(decisionEvent(i));
    await log.close();
    const report = await verifyFile(path);
    expect(report.status).toBe('incomplete');
    expect(report.findings.map((f) => f.code)).toEqual(['unsigned']);
  });

  it('fails at start, not on the request path, when the file cannot be opened', async () => {
    const notAFolder = dir.file('plain-file');
    await writeFile(notAFolder, '');
    expect(() => createFileSink(`${notAFolder}/audit/trail.jsonl`)).toThrow(/ENOTDIR/);
  });

  it('rejects records after close', async () => {
    const log = createAuditLog({ instanceId: 'gw-6', sinks: [createFileSink(dir.file('closed.jsonl'))] });
    await log.close();
    await expect(log.record(decisionEvent(1))).rejects.toMatchObject({ code: 'ERR_AUDIT_CLOSED' });
  });

  it('writes to standard output by default, and the trail verifies among other log lines', async () => {
    const script = fileURLToPath(new URL('./fixtures/stdout-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const report = await verifyTrail(splitTrailText(out));
    expect(report).toMatchObject({ status: 'ok', ignored: 40 });
    expect(report.records).toBeGreaterThan(40);
  }, CHILD_PROCESS_TEST_MS);
});

/** Records `event` with `recordThen` and resolves with what its callback was told (undefined: written). */
function recordedThen(log: ReturnType<typeof createAuditLog>, event: AuditEventInput): Promise<unknown> {
  return new Promise((resolve) => {
    if (!log.recordThen(event, resolve)) resolve('nothing to wait for');
  });
}

describe('recordThen, the callback form a request waits on its record with', () => {
  it('calls each caller back once its record is in the file, makes no Promise, and keeps one unbroken chain with record', async () => {
    const path = dir.file('then.jsonl');
    const log = createAuditLog({ instanceId: 'gw-then-1', sinks: [createFileSink(path)] });
    const told: { i: number; err: unknown; inFile: boolean }[] = [];
    const made = promisesMadeBy(() => {
      for (let i = 0; i < 20; i++) {
        const requestId = `then-${i}`;
        const waits = log.recordThen(decisionEvent(i, { requestId }), (err) => told.push({ i, err, inFile: readFileSync(path, 'utf8').includes(`"requestId":"${requestId}"`) }));
        expect(waits).toBe(true);
      }
    });
    expect(made).toBe(0);
    expect(told).toEqual([]);
    await log.record(decisionEvent(20));
    expect(told).toEqual(Array.from({ length: 20 }, (_, i) => ({ i, err: undefined, inFile: true })));
    await log.close();
    const written = await records(path);
    expect(written.filter((r) => r.kind === 'request')).toHaveLength(21);
    expect(written.map((r) => r.seq)).toEqual(written.map((_, i) => i + 1));
    expect(log.stats()).toMatchObject({ recorded: 21, refused: 0 });
  });

  it('hands the error of a failed write to the waiting caller, then refuses the next record by throwing, as record rejects', async () => {
    const log = createAuditLog({ instanceId: 'gw-then-2', sinks: [createFileSink('/dev/full', { retryMs: 60_000 })] });
    const first = await recordedThen(log, decisionEvent(1));
    expect(first).toBeInstanceOf(AuditError);
    expect(first).toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED', sink: 'file' });
    expect(() => log.recordThen(decisionEvent(2), () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_UNAVAILABLE' }));
    expect(log.stats()).toMatchObject({ recorded: 1, refused: 1, lastSeq: 2 });
    await log.close().catch(() => undefined);
  });

  it('refuses a record by throwing once the log is closed', async () => {
    const log = createAuditLog({ instanceId: 'gw-then-3', sinks: [createFileSink(dir.file('then-closed.jsonl'))] });
    await log.close();
    expect(() => log.recordThen(decisionEvent(1), () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_CLOSED' }));
  });

  it('with several sinks waits for all: a refusing sink that fails fails the caller, a dropping one is only reported', async () => {
    const reported: string[] = [];
    const path = dir.file('then-two.jsonl');
    const dropping = createAuditLog({
      instanceId: 'gw-then-4',
      sinks: [createFileSink(path), createFileSink('/dev/full', { whenFull: 'drop', retryMs: 60_000 })],
      onSinkError: (sink) => reported.push(sink),
    });
    expect(await recordedThen(dropping, decisionEvent(1, { requestId: 'kept' }))).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toContain('"requestId":"kept"');
    expect(reported).toContain('file');
    await dropping.close().catch(() => undefined);

    const refusing = createAuditLog({ instanceId: 'gw-then-5', sinks: [createFileSink(dir.file('then-three.jsonl')), createFileSink('/dev/full', { retryMs: 60_000 })] });
    expect(await recordedThen(refusing, decisionEvent(1))).toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED' });
    await refusing.close().catch(() => undefined);
  });

  it('writes a record that comes alone before recordThen returns, and keeps the chain in order when records of the same turn race behind it', async () => {
    const path = dir.file('then-lone.jsonl');
    const log = createAuditLog({ instanceId: 'gw-then-7', sinks: [createFileSink(path)], signer: ed25519().signer, digestEvery: { records: 2, ms: 0 } });
    // The chain's start record went out alone at the end of its turn: the next record may go alone.
    await log.flush();
    const told: string[] = [];
    const callback = (i: number) => (err: unknown) => told.push(`${i}:${String(err)}:${readFileSync(path, 'utf8').includes(`"requestId":"req-${i}"`)}`);
    expect(log.recordThen(decisionEvent(1), callback(1))).toBe(true);
    expect(readFileSync(path, 'utf8')).toContain('"requestId":"req-1"');
    const promised = [log.record(decisionEvent(2))];
    expect(log.recordThen(decisionEvent(3), callback(3))).toBe(true);
    promised.push(log.record(decisionEvent(4)));
    expect(log.recordThen(decisionEvent(5), callback(5))).toBe(true);
    expect(readFileSync(path, 'utf8')).not.toContain('"requestId":"req-2"');
    expect(told).toEqual([]);
    await Promise.all(promised);
    expect(told).toEqual(['1:undefined:true', '3:undefined:true', '5:undefined:true']);
    await log.close();
    const written = await records(path);
    expect(written.map((r) => r.seq)).toEqual(written.map((_, i) => i + 1));
    expect(written.filter((r) => r.kind === 'request').map((r) => r.requestId)).toEqual([1, 2, 3, 4, 5].map((i) => `req-${i}`));
    expect((await verifyFile(path)).status).toBe('ok');
  });

  it('does not make the caller wait on a batched sink below its high-water mark', async () => {
    const path = dir.file('then-batched.jsonl');
    const log = createAuditLog({ instanceId: 'gw-then-6', sinks: [createFileSink(path, { durability: 'batched', flushIntervalMs: 60_000 })] });
    expect(log.recordThen(decisionEvent(1), () => expect.unreachable('called back'))).toBe(false);
    await log.flush();
    expect((await records(path)).filter((r) => r.kind === 'request')).toHaveLength(1);
    await log.close();
  });
});
