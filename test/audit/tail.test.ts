// The end of a trail: a clean stop seals it, a head published outside the trail (GET /audit/head,
// the iamgate_audit_chain_head_seq metric) proves how far it reached, and `iamgate audit verify`
// tells a cut tail, a dropped file, a torn line and a writer that stopped uncleanly apart. Real
// files, real Ed25519 keys, the rotating file sink as `iamgate serve` uses it.
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHash } from '../../src/audit/chain.js';
import { createAuditLog, type AuditLog } from '../../src/audit/log.js';
import { GENESIS_PREV, type AuditRecord, type ChainHead } from '../../src/audit/schema.js';
import { trailSet } from '../../src/audit/rotated-set.js';
import { createRotatingFileSink } from '../../src/audit/sinks/rotation.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { EXIT_INCOMPLETE, runAudit } from '../../src/cli/audit.js';
import { EXIT } from '../../src/cli/exit.js';
import { decisionEvent, ed25519, lines, steppingClock, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let key: ReturnType<typeof ed25519>;
let publicKey: string;
beforeAll(async () => {
  dir = await tempDir();
  key = ed25519();
  publicKey = dir.file('public.pem');
  await writeFile(publicKey, key.publicPem);
});
afterAll(() => dir.remove());

async function verify(...args: string[]): Promise<{ code: number; report: VerifyReport; text: string[] }> {
  const out: string[] = [];
  const code = await runAudit(['verify', ...args, '--public-key', publicKey, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
  const text: string[] = [];
  await runAudit(['verify', ...args, '--public-key', publicKey], { stdout: (l) => text.push(l), stderr: () => undefined });
  return { code, report: JSON.parse(out.join('')) as VerifyReport, text };
}

const headArg = (head: ChainHead): string => `${head.instanceId}=${head.seq}${head.hash ? `:${head.hash}` : ''}`;
const codes = (report: VerifyReport): string[] => report.findings.map((f) => f.code);

/** A signed log on a durable file; `count` decisions recorded, each awaited. */
async function written(name: string, count: number): Promise<{ path: string; log: AuditLog }> {
  const path = dir.file(name);
  const log = createAuditLog({ instanceId: `gw-${name}`, sinks: [createFileSink(path)], signer: key.signer, now: steppingClock(), digestEvery: { records: 5, ms: 0 } });
  for (let i = 1; i <= count; i++) await log.record(decisionEvent(i));
  return { path, log };
}

/** Keeps the first `keep` lines of a file. */
async function keepLines(path: string, keep: number): Promise<void> {
  await writeFile(path, `${(await lines(path)).slice(0, keep).join('\n')}\n`);
}

type Line = Omit<AuditRecord, 'hash'> & { hash?: string };

/**
 * What someone who can write the file but holds no key can add: `count` decision records after
 * `after` (or a new chain start when it is undefined), each hashed and linked as the writer would.
 */
function forged(instanceId: string, after: { seq: number; hash: string } | undefined, count: number): string[] {
  const out: string[] = [];
  let seq = after?.seq ?? 0;
  let prev = after?.hash ?? GENESIS_PREV;
  const seal = (record: Omit<Line, 'instanceId' | 'prev' | 'seq' | 'schemaVersion' | 'time' | 'eventId'>): void => {
    seq++;
    const body = { ...record, eventId: `forged-${seq}`, instanceId, prev, schemaVersion: 2, seq, time: '2025-03-01T13:00:00.000Z' } as unknown as Line;
    const hash = recordHash(body);
    out.push(JSON.stringify({ ...body, hash }));
    prev = hash;
  };
  if (after === undefined) seal({ kind: 'audit.start', reason: 'chain_start' });
  for (let i = 0; i < count; i++) seal({ kind: 'request', reason: 'allowed', decision: 'Allow', action: 'orders:ListOrders', resource: 'arn:aws:orders:::order/*' });
  return out;
}

describe('the published chain head', () => {
  it('names the last record once every sink has written it, with its hash', async () => {
    const { path, log } = await written('head.jsonl', 12);
    const head = log.stats().head;
    const all = await lines(path);
    const last = JSON.parse(all.at(-1)!) as { seq: number; hash: string };
    expect(head).toEqual({ instanceId: 'gw-head.jsonl', seq: last.seq, hash: last.hash });
    await log.close();
  });

  it('stays at the last written record while a batched sink still holds later ones, without a hash', async () => {
    const path = dir.file('batched-head.jsonl');
    const log = createAuditLog({ instanceId: 'gw-batched', sinks: [createFileSink(path, { durability: 'batched', flushIntervalMs: 60_000 })], signer: key.signer, now: steppingClock(), digestEvery: { records: 1000, ms: 0 } });
    await log.flush();
    const before = log.stats().head;
    for (let i = 1; i <= 4; i++) void log.record(decisionEvent(i));
    const held = log.stats();
    expect(held.lastSeq).toBe(before.seq + 4);
    expect(held.head).toEqual({ instanceId: 'gw-batched', seq: before.seq });
    await log.flush();
    expect(log.stats().head).toMatchObject({ seq: before.seq + 4, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await log.close();
  });

  it('counts records waiting for the next file of a rotation as not yet written', async () => {
    const path = dir.file('rotating-head.jsonl');
    const sink = createRotatingFileSink(path, { maxBytes: 1 << 20 });
    const log = createAuditLog({ instanceId: 'gw-rotating', sinks: [sink], signer: key.signer, now: steppingClock(), digestEvery: { records: 1000, ms: 0 } });
    await log.record(decisionEvent(1));
    const rotating = sink.rotate();
    const pending = log.record(decisionEvent(2));
    expect(log.stats().head.seq).toBe(log.stats().lastSeq - 1);
    await Promise.all([rotating, pending]);
    expect(log.stats().head.seq).toBe(log.stats().lastSeq);
    await log.close();
  });
});

describe('the seal of a rotated file', () => {
  /** 10 decisions, a rotation, 10 more, then `end`: the log's close (a clean stop) or the sink's alone (a stop without a seal). */
  async function rotatedTrail(name: string, end: 'clean' | 'unclean'): Promise<{ path: string; rotated: string; log: AuditLog }> {
    const path = dir.file(`${name}/audit.jsonl`);
    const sink = createRotatingFileSink(path);
    const log = createAuditLog({ instanceId: `gw-${name}`, sinks: [sink], signer: key.signer, now: steppingClock(), digestEvery: { records: 7, ms: 0 } });
    for (let i = 1; i <= 10; i++) await log.record(decisionEvent(i));
    await sink.rotate();
    for (let i = 11; i <= 20; i++) await log.record(decisionEvent(i));
    if (end === 'clean') await log.close();
    else await sink.close();
    return { path, rotated: `${path}.000001`, log };
  }

  it('ends every file the sink rotates away with a signed digest, so the file alone is proven to its last record', async () => {
    const { rotated } = await rotatedTrail('sealed', 'clean');
    const last = JSON.parse((await lines(rotated)).at(-1)!) as { kind: string; reason: string; seq: number; digest: { final: boolean; toSeq: number } };
    expect(last).toMatchObject({ kind: 'audit.digest', reason: 'file_end', digest: { final: false, toSeq: last.seq - 1 } });
    const { code, report } = await verify(rotated);
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(report.chains[0]).toMatchObject({ lastSeq: last.seq, signedThrough: last.seq, closed: false });
    expect(report.findings).toEqual([expect.objectContaining({ code: 'unclosed', seq: last.seq })]);
    expect(report.findings[0]!.message).toContain('ends with the seal of a file the writer rotated away, so the files written after it were removed, or the writer stopped right after rotating');
  });

  it('leaves the rotated set one closed chain, the seal linked like any record', async () => {
    const { path } = await rotatedTrail('sealed-set', 'clean');
    const { code, report } = await verify('--rotated', path);
    expect(report.findings).toEqual([]);
    expect(report.chains).toEqual([expect.objectContaining({ closed: true })]);
    expect(code).toBe(EXIT.ok);
  });

  it('reports a set whose newest file was removed as ending at a file seal, and as truncated against the head', async () => {
    const { path, log } = await rotatedTrail('newest-removed', 'unclean');
    const head = log.stats().head;
    await rm(path);
    const alone = await verify('--rotated', path);
    expect(codes(alone.report)).toEqual(['unclosed']);
    expect(alone.report.findings[0]!.message).toContain('ends with the seal of a file the writer rotated away');
    const { code, report } = await verify('--rotated', path, '--head', headArg(head));
    expect(codes(report)).toEqual(['truncated']);
    expect(code).toBe(EXIT.failed);
  });

  it('is not written after the final digest of a clean stop', async () => {
    const path = dir.file('after-close/audit.jsonl');
    const sink = createRotatingFileSink(path);
    const log = createAuditLog({ instanceId: 'gw-after-close', sinks: [sink], signer: key.signer, now: steppingClock(), digestEvery: { records: 7, ms: 0 } });
    await log.record(decisionEvent(1));
    const closing = log.close();
    await sink.rotate();
    await closing;
    const { code, report } = await verify('--rotated', path);
    expect(report.findings).toEqual([]);
    expect(code).toBe(EXIT.ok);
  });
});

describe('audit verify at the end of a trail', () => {
  it('finds a cleanly stopped trail closed by its seal and holding its published head', async () => {
    const { path, log } = await written('clean.jsonl', 12);
    const head = log.stats().head;
    await log.close();
    const { code, report } = await verify(path, '--head', headArg(head));
    expect(code).toBe(EXIT.ok);
    expect(report.findings).toEqual([]);
    expect(report.chains[0]).toMatchObject({ closed: true, lastSeq: head.seq + 1, signedThrough: head.seq + 1 });
  });

  it('reports a tail cut after the head was published as truncated, naming the records cut, where without the head it could only say unclosed', async () => {
    const { path, log } = await written('cut.jsonl', 12);
    const head = log.stats().head;
    await log.close();
    const total = (await lines(path)).length;
    await keepLines(path, total - 4);

    const alone = await verify(path);
    expect(alone.code).toBe(EXIT_INCOMPLETE);
    expect(codes(alone.report)).toEqual(['unclosed']);
    expect(alone.report.findings[0]!.message).toMatch(/or the tail was removed/);

    const { code, report, text } = await verify(path, '--head', headArg(head));
    expect(code).toBe(EXIT.failed);
    expect(report.status).toBe('tampered');
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'truncated', severity: 'tampered', seq: total - 4 + 1, ref: `line ${total - 4}` }));
    expect(text[0]).toBe(`TAMPERED truncated: chain gw-cut.jsonl ends at seq ${total - 4} (line ${total - 4}), but its writer had written it through seq ${head.seq} (its published head): seq ${total - 3}..${head.seq} were cut from the tail`);
  });

  it('reports a writer that stopped without its seal but holds its published head as unclosed, with the last verified seq, never as truncated', async () => {
    const { path, log } = await written('stopped.jsonl', 12);
    const head = log.stats().head;
    // Records after the head was read: a writer that dies here leaves them, and no seal.
    await log.record(decisionEvent(13));
    const { code, report } = await verify(path, '--head', headArg(head));
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(codes(report)).toEqual(['unclosed']);
    expect(report.findings[0]!.message).toMatch(new RegExp(`ends at seq ${head.seq + 1} .*without a final digest .*last verified seq ${report.chains[0]!.signedThrough} \\(signed\\).*holds its published head, seq ${head.seq}`));
    await log.close();
  });

  it('says a chain holds a head given without its hash by length only when no digest signs the records up to it: they may have been cut and forged back to that length', async () => {
    const { path, log } = await written('padded.jsonl', 12);
    const head = log.stats().head;
    const all = (await lines(path)).map((l) => JSON.parse(l) as { seq: number; hash: string; kind: string });
    const lastDigest = all.findLastIndex((r) => r.kind === 'audit.digest');
    expect(all[lastDigest]!.seq).toBeLessThan(head.seq - 1);
    // Cut everything after the last signed digest, then forge records back to the head's seq.
    const kept = (await lines(path)).slice(0, lastDigest + 1);
    const padding = forged(`gw-padded.jsonl`, all[lastDigest]!, head.seq - all[lastDigest]!.seq);
    await writeFile(path, `${[...kept, ...padding].join('\n')}\n`);

    const bySeq = await verify(path, '--head', `${head.instanceId}=${head.seq}`);
    expect(bySeq.code).toBe(EXIT_INCOMPLETE);
    expect(codes(bySeq.report)).toEqual(['unclosed']);
    expect(bySeq.report.findings[0]!.message).not.toContain('so only records after that may have been cut');
    expect(bySeq.report.findings[0]!.message).toContain(`or its tail was cut and forged back to that length: it holds its published head, seq ${head.seq}, by length only, since that head gives no hash and no signed digest covers seq ${all[lastDigest]!.seq + 1}..${head.seq}, so those records are not proven to be the ones written`);
    // The head with its hash proves the records up to it: the forged ones are found.
    const byHash = await verify(path, '--head', headArg(head));
    expect(byHash.code).toBe(EXIT.failed);
    expect(codes(byHash.report)).toEqual(['chain_broken', 'unclosed']);
    await log.close();
  });

  it('reports a chain cut before its head as truncated even when a second chain under its instance id follows it', async () => {
    const { path, log } = await written('spliced.jsonl', 12);
    const head = log.stats().head;
    await log.close();
    // An instance id names one process run: a second chain start under it was spliced in.
    const kept = (await lines(path)).slice(0, 4);
    await writeFile(path, `${[...kept, ...forged('gw-spliced.jsonl', undefined, head.seq + 3)].join('\n')}\n`);
    for (const given of [`${head.instanceId}=${head.seq}`, headArg(head)]) {
      const { code, report } = await verify(path, '--head', given);
      expect(code).toBe(EXIT.failed);
      expect(report.findings).toContainEqual(expect.objectContaining({ code: 'truncated', instanceId: 'gw-spliced.jsonl', seq: 5, ref: 'line 4' }));
    }
  });

  it('reports a head whose hash is not the record at its seq as a rewritten chain', async () => {
    const { path, log } = await written('rewritten.jsonl', 6);
    const head = log.stats().head;
    await log.close();
    const { code, report } = await verify(path, '--head', headArg({ ...head, hash: 'a'.repeat(64) }));
    expect(code).toBe(EXIT.failed);
    expect(codes(report)).toEqual(['chain_broken']);
    expect(report.findings[0]).toMatchObject({ seq: head.seq, ref: `line ${head.seq}` });
  });

  it('reports a chain named by a published head and absent from the trail as removed', async () => {
    const { path, log } = await written('other.jsonl', 3);
    await log.close();
    const { code, report } = await verify(path, '--head', 'gw-gone=40');
    expect(code).toBe(EXIT.failed);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'truncated', instanceId: 'gw-gone', seq: 40 })]);
  });

  it('finds nothing removed for a head read before its writer had written any record (seq 0) whose chain is not in the trail', async () => {
    const { path, log } = await written('nothing-yet.jsonl', 3);
    await log.close();
    const { code, report } = await verify(path, '--head', 'gw-not-started=0');
    expect(report.findings).toEqual([]);
    expect(code).toBe(EXIT.ok);
  });

  it('reads heads from a file holding what GET /audit/head answered, and refuses one that is not a head', async () => {
    const { path, log } = await written('head-file.jsonl', 8);
    const head = log.stats().head;
    await log.close();
    await keepLines(path, 3);
    const file = dir.file('heads.json');
    await writeFile(file, JSON.stringify([head]));
    expect(codes((await verify(path, '--head', file)).report)).toContain('truncated');
    await writeFile(file, JSON.stringify({ instanceId: 'x', seq: 'ten' }));
    const err: string[] = [];
    expect(await runAudit(['verify', path, '--head', file], { stdout: () => undefined, stderr: (l) => err.push(l) })).toBe(EXIT.usage);
    expect(err.join('')).toContain(`--head ${file}: a head is {"instanceId": string, "seq": whole number, "hash"?: 64 hex digits}`);
  });

  it('takes, of several heads given for one writer, the furthest, in whatever order they are given', async () => {
    const { path, log } = await written('polled.jsonl', 4);
    const early = log.stats().head;
    for (let i = 5; i <= 8; i++) await log.record(decisionEvent(i));
    const late = log.stats().head;
    await log.close();
    await keepLines(path, early.seq + 1);
    for (const order of [[early, late], [late, early]]) {
      const { code, report } = await verify(path, ...order.flatMap((h) => ['--head', headArg(h)]));
      expect(code).toBe(EXIT.failed);
      expect(report.findings).toEqual([expect.objectContaining({ code: 'truncated', seq: early.seq + 2 })]);
      expect(report.findings[0]!.message).toContain(`through seq ${late.seq} (its published head)`);
    }
    const err: string[] = [];
    expect(await runAudit(['verify', path, '--head', `${late.instanceId}=99999999999999999999`], { stdout: () => undefined, stderr: (l) => err.push(l) })).toBe(EXIT.usage);
    expect(err.join('')).toContain('the seq is not a whole number iamgate can write');
  });

  it('tells a clean stop, a cut tail, a dropped middle file, a torn last line and an unclean stop apart', async () => {
    /** 20 decisions over a rotating file; the head is read before the last two, as a monitor polling it would. */
    const trail = async (name: string, close: boolean): Promise<{ path: string; head: ChainHead }> => {
      const path = dir.file(`${name}.jsonl`);
      const sink = createRotatingFileSink(path, { maxBytes: 3000 });
      const log = createAuditLog({ instanceId: `gw-${name}`, sinks: [sink], signer: key.signer, now: steppingClock(), digestEvery: { records: 5, ms: 0 } });
      for (let i = 1; i <= 18; i++) await log.record(decisionEvent(i));
      const head = log.stats().head;
      for (let i = 19; i <= 20; i++) await log.record(decisionEvent(i));
      if (close) await log.close();
      else await sink.close();
      return { path, head };
    };
    const outcome = async (path: string, head: ChainHead): Promise<[number, string[]]> => {
      const { code, report } = await verify('--rotated', path, '--head', headArg(head));
      return [code, codes(report)];
    };

    const clean = await trail('set-clean', true);
    expect(await outcome(clean.path, clean.head)).toEqual([EXIT.ok, []]);

    const cut = await trail('set-cut', true);
    // The tail goes across the last two files: the current file emptied, the newest rotated one
    // cut to its first line (each holds a few records).
    const files = trailSet(cut.path).files;
    expect(files.length).toBeGreaterThanOrEqual(4);
    await writeFile(cut.path, '');
    await keepLines(files.at(-2)!, 1);
    expect(await outcome(cut.path, cut.head)).toEqual([EXIT.failed, ['truncated']]);

    const dropped = await trail('set-dropped', true);
    await rm(`${dropped.path}.000002`);
    const [droppedCode, droppedCodes] = await outcome(dropped.path, dropped.head);
    // The file held a digest too, so the next one no longer follows it (bad_digest); its end is whole.
    expect([droppedCode, droppedCodes[0]]).toEqual([EXIT.failed, 'missing']);
    expect(droppedCodes.filter((c) => ['truncated', 'unclosed', 'torn'].includes(c))).toEqual([]);

    const torn = await trail('set-torn', false);
    // The last line written, cut mid-line (the current file may be empty, just rotated).
    const sizes = await Promise.all(trailSet(torn.path).files.map(async (f) => [f, (await readFile(f)).length] as const));
    const [last, size] = sizes.filter(([, n]) => n > 0).at(-1)!;
    await truncate(last, size - 30);
    const [tornCode, tornCodes] = await outcome(torn.path, torn.head);
    expect([tornCode, tornCodes.sort()]).toEqual([EXIT_INCOMPLETE, ['torn', 'unclosed']]);

    const unclean = await trail('set-unclean', false);
    expect(await outcome(unclean.path, unclean.head)).toEqual([EXIT_INCOMPLETE, ['unclosed']]);
  });
});
