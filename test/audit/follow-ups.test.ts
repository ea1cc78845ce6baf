// The audit log's follow-ups (`recordWhenAccepting`): an event that must follow a record sealed into
// the chain whose write failed waits, in order and bounded, until every refusing sink accepts records
// again, then goes into the same chain after that record; what cannot be written is counted (stats,
// the next digest's `dropped.followUps`) and reported. A real failing disk: /dev/full, which never
// takes a byte, and a small tmpfs that fills up and is then grown (mounting needs root: those tests
// are skipped elsewhere).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditError } from '../../src/audit/errors.js';
import { createAuditLog, type AuditLog } from '../../src/audit/log.js';
import type { AuditEventInput, AuditRecord } from '../../src/audit/schema.js';
import { readPublicKeys } from '../../src/audit/signing.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import { decisionEvent, ed25519, lines, tempDir, verifyFile, type TempDir } from './support.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

const records = async (path: string): Promise<AuditRecord[]> => (await lines(path)).map((l) => JSON.parse(l) as AuditRecord);

/** The follow-up the gateway records for a request refused because its decision's write failed. */
const refusedOutcome = (requestId: string): AuditEventInput => ({ kind: 'outcome', reason: 'audit_unavailable', requestId, status: 503 });

describe('the audit log follow-ups', () => {
  it('writes a follow-up at once, after its decision, when every refusing sink accepts and nothing waits', async () => {
    const path = dir.file('at-once.jsonl');
    const log = createAuditLog({ instanceId: 'gw-f1', sinks: [createFileSink(path)] });
    await log.record(decisionEvent(1));
    const before = log.stats().lastSeq;
    log.recordWhenAccepting(refusedOutcome('req-1'));
    expect(log.stats()).toMatchObject({ lastSeq: before + 1, followUps: { queued: 0, dropped: 0 } });
    await log.close();
    const written = await records(path);
    expect(written.map((r) => [r.kind, r.requestId])).toEqual([['audit.start', undefined], ['request', 'req-1'], ['outcome', 'req-1']]);
  });

  it('queues nothing while every record is written', async () => {
    const path = dir.file('normal.jsonl');
    const log = createAuditLog({ instanceId: 'gw-f2', sinks: [createFileSink(path)] });
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(decisionEvent(i))));
    expect(log.stats().followUps).toEqual({ queued: 0, dropped: 0 });
    await log.close();
    expect((await records(path)).filter((r) => r.kind === 'outcome')).toEqual([]);
  });

  it('keeps at most its bound waiting and, closed while the sink still fails, counts and reports what waited', async () => {
    const reported: [string, unknown][] = [];
    const log = createAuditLog({
      instanceId: 'gw-f3',
      sinks: [createFileSink('/dev/full', { retryMs: 60_000 })],
      followUps: { max: 2, retryMs: 60_000 },
      onSinkError: (sink, err) => reported.push([sink, err]),
    });
    expect(await log.record(decisionEvent(1)).catch((e: unknown) => e)).toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED' });
    // What was said of the failed write itself (the chain's first record shared it).
    const before = reported.length;
    for (const id of ['req-a', 'req-b', 'req-c']) log.recordWhenAccepting(refusedOutcome(id));
    expect(log.stats().followUps).toEqual({ queued: 2, dropped: 1 });
    expect(reported).toHaveLength(before);

    await log.close();
    expect(log.stats().followUps).toEqual({ queued: 0, dropped: 3 });
    const atClose = reported.slice(before);
    expect(atClose).toEqual([['file', expect.any(AuditError)]]);
    expect((atClose[0]![1] as AuditError).message).toMatch(/^2 follow-up record\(s\) not written/);
    log.recordWhenAccepting(refusedOutcome('req-d'));
    expect(log.stats().followUps).toEqual({ queued: 0, dropped: 4 });
    expect(reported.slice(before).map(([sink]) => sink)).toEqual(['file', 'log']);
  });
});

/** Whether this process may mount a tmpfs. */
const canMount = process.getuid?.() === 0;

describe.skipIf(!canMount)('the audit log follow-ups on a disk that fills up and gets space again', () => {
  const mounted: string[] = [];
  afterAll(async () => {
    for (const disk of mounted) {
      try {
        execFileSync('umount', [disk]);
      } catch {
        // not mounted: removed below
      }
      await rm(disk, { recursive: true, force: true });
    }
  });

  /** A 16 KiB tmpfs and a durable file sink on it that tries a failed write again every 20 ms. */
  const smallDisk = async (): Promise<{ path: string; grow(): void }> => {
    const disk = await mkdtemp(join(tmpdir(), 'iamgate-follow-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', disk]);
    mounted.push(disk);
    return { path: join(disk, 'trail.jsonl'), grow: () => execFileSync('mount', ['-o', 'remount,size=1m', disk]) };
  };

  /**
   * Records ten decisions a turn until a write fails, and has each refused for it followed, as the
   * gateway does. Returns the request ids followed, in order, and one refused before it was sealed.
   */
  const fillUntilAWriteFails = async (log: AuditLog): Promise<{ followed: string[]; unsealed: AuditError }> => {
    const followed: string[] = [];
    for (let turn = 0; followed.length === 0 && turn < 1000; turn++) {
      const events = Array.from({ length: 10 }, (_, k) => decisionEvent(turn * 10 + k));
      const results = await Promise.all(events.map((event) => log.record(event).then(() => undefined, (err: unknown) => err)));
      results.forEach((err, k) => {
        if (err === undefined) return;
        expect(err).toMatchObject({ code: 'ERR_AUDIT_WRITE_FAILED' });
        const id = events[k]!.requestId as string;
        followed.push(id);
        log.recordWhenAccepting(refusedOutcome(id));
      });
    }
    const unsealed = (await log.record(decisionEvent(100_000)).catch((e: unknown) => e)) as AuditError;
    return { followed, unsealed };
  };

  it('writes the waiting follow-ups once the sink accepts again, in the order they came, each after its decision', async () => {
    const disk = await smallDisk();
    const key = ed25519();
    const log = createAuditLog({ instanceId: 'gw-f4', sinks: [createFileSink(disk.path, { retryMs: 20 })], signer: key.signer, digestEvery: { records: 1000, ms: 0 }, followUps: { retryMs: 10 } });
    const { followed, unsealed } = await fillUntilAWriteFails(log);
    expect(followed.length).toBeGreaterThan(1);
    // Refused before it was sealed: no record, nothing to follow.
    expect(unsealed).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
    expect(log.stats().followUps).toEqual({ queued: followed.length, dropped: 0 });

    disk.grow();
    await vi.waitFor(() => expect(log.stats().followUps.queued).toBe(0), { timeout: 20_000, interval: 10 });
    await log.close();

    const written = await records(disk.path);
    const outcomes = written.filter((r) => r.kind === 'outcome');
    expect(outcomes.map((r) => r.requestId)).toEqual(followed);
    for (const outcome of outcomes) {
      const decision = written.find((r) => r.kind === 'request' && r.requestId === outcome.requestId);
      expect(decision?.seq).toBeLessThan(outcome.seq);
      expect(outcome).toMatchObject({ reason: 'audit_unavailable', status: 503 });
    }
    expect(written.some((r) => r.requestId === 'req-100000')).toBe(false);
    expect((await verifyFile(disk.path, { trustedKeys: readPublicKeys(key.publicPem) })).status).toBe('ok');
  });

  it('counts the follow-ups past its bound in the next digest, and writes the rest', async () => {
    const disk = await smallDisk();
    const key = ed25519();
    const log = createAuditLog({ instanceId: 'gw-f5', sinks: [createFileSink(disk.path, { retryMs: 20 })], signer: key.signer, digestEvery: { records: 1000, ms: 0 }, followUps: { max: 2, retryMs: 10 } });
    const { followed } = await fillUntilAWriteFails(log);
    expect(followed.length).toBeGreaterThan(2);
    expect(log.stats().followUps).toEqual({ queued: 2, dropped: followed.length - 2 });

    disk.grow();
    await vi.waitFor(() => expect(log.stats().followUps.queued).toBe(0), { timeout: 20_000, interval: 10 });
    await log.close();

    const written = await records(disk.path);
    expect(written.filter((r) => r.kind === 'outcome').map((r) => r.requestId)).toEqual(followed.slice(0, 2));
    const final = written.at(-1);
    expect(final).toMatchObject({ kind: 'audit.digest', digest: { final: true, dropped: { file: 0, followUps: followed.length - 2 } } });
    expect((await verifyFile(disk.path, { trustedKeys: readPublicKeys(key.publicPem) })).status).toBe('ok');
  });

  it('writes the follow-ups still waiting when the log closes, before its final digest, once the sink accepts', async () => {
    const disk = await smallDisk();
    const key = ed25519();
    const sink = createFileSink(disk.path, { retryMs: 20 });
    // The log would look again only after a minute: closing is what writes them.
    const log = createAuditLog({ instanceId: 'gw-f6', sinks: [sink], signer: key.signer, digestEvery: { records: 1000, ms: 0 }, followUps: { retryMs: 60_000 } });
    const { followed } = await fillUntilAWriteFails(log);
    disk.grow();
    await vi.waitFor(() => expect(sink.stats()).toMatchObject({ healthy: true, buffered: 0 }), { timeout: 20_000, interval: 10 });
    expect(log.stats().followUps.queued).toBe(followed.length);
    await log.close();

    const written = await records(disk.path);
    expect(written.filter((r) => r.kind === 'outcome').map((r) => r.requestId)).toEqual(followed);
    expect(written.at(-1)).toMatchObject({ kind: 'audit.digest', digest: { final: true, dropped: { file: 0 } } });
    expect(log.stats().followUps).toEqual({ queued: 0, dropped: 0 });
    expect((await verifyFile(disk.path, { trustedKeys: readPublicKeys(key.publicPem) })).status).toBe('ok');
  });
});
