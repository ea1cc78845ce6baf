// Tampering with a real trail (written through the audit log, signed with a real Ed25519 key):
// each kind of change is caught by verification and named by its line.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHash, signedPayload } from '../../src/audit/chain.js';
import type { AuditRecord } from '../../src/audit/schema.js';
import { readPublicKeys, type AuditSigner } from '../../src/audit/signing.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { ed25519, lines, tempDir, verifyFile, writeTrail, type TempDir } from './support.js';

type Mutable = { -readonly [K in keyof AuditRecord]: AuditRecord[K] } & Record<string, unknown>;

let dir: TempDir;
let original: string[];
const key = ed25519();
const trusted = readPublicKeys(key.publicPem);

beforeAll(async () => {
  dir = await tempDir();
  await writeTrail(dir.file('trail.jsonl'), 20, { signer: key.signer });
  original = await lines(dir.file('trail.jsonl'));
});
afterAll(() => dir.remove());

const parse = (line: string): Mutable => JSON.parse(line) as Mutable;
const serialise = (r: Mutable): string => JSON.stringify(r);
/** Recomputes a record's own hash, as a forger who knows the format would. */
function rehash(r: Mutable): Mutable {
  const { hash: _old, ...rest } = r;
  return { ...rest, hash: recordHash(rest as Omit<AuditRecord, 'hash'>) } as Mutable;
}
/** Rewrites every record from `from` on so all hashes and links agree, re-signing digests with `signer`. */
function reseal(records: Mutable[], from: number, signer?: AuditSigner): Mutable[] {
  const out = records.map((r) => ({ ...r }));
  for (let i = from; i < out.length; i++) {
    const r = out[i] as Mutable;
    if (i > 0) r.prev = (out[i - 1] as Mutable).hash;
    if (r.key && signer) r.key = signer.key;
    if (r.digest && signer) {
      const { hash: _h, sig: _s, ...unsigned } = r;
      r.digest = { ...r.digest, kid: signer.key.kid };
      r.sig = signer.sign(signedPayload({ ...unsigned, digest: r.digest } as Omit<AuditRecord, 'hash' | 'sig'>));
    }
    out[i] = rehash(r);
  }
  return out;
}

async function verifyLines(name: string, text: string[], withKeys = true): Promise<VerifyReport> {
  const path = dir.file(name);
  await writeFile(path, text.map((l) => `${l}\n`).join(''));
  return verifyFile(path, withKeys ? { trustedKeys: trusted } : {});
}

const codes = (report: VerifyReport): string[] => report.findings.map((f) => f.code);
/** Index of the first ordinary decision record at or after line index i. */
const decisionAt = (i: number): number => original.findIndex((l, j) => j >= i && parse(l).kind === 'request');

describe('audit verify on a tampered trail', () => {
  it('verifies an untouched trail clean, with and without the trusted key', async () => {
    const withKey = await verifyLines('clean.jsonl', original);
    expect(withKey).toMatchObject({ status: 'ok', findings: [] });
    expect(withKey.chains).toEqual([
      expect.objectContaining({ instanceId: 'gw-test-1', firstSeq: 1, closed: true, signedThrough: original.length }),
    ]);
    expect((await verifyLines('clean2.jsonl', original, false)).status).toBe('ok');
  });

  it('names the record whose field was edited', async () => {
    const i = decisionAt(6);
    const edited = [...original];
    edited[i] = serialise({ ...parse(original[i] as string), decision: 'Deny' });
    const report = await verifyLines('edited.jsonl', edited);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'altered', ref: `line ${i + 1}` })]);
  });

  it('names the record edited even when the forger recomputed its hash', async () => {
    const i = decisionAt(6);
    const edited = [...original];
    edited[i] = serialise(rehash({ ...parse(original[i] as string), principal: { arn: 'arn:aws:iam::111122223333:user/mallory', type: 'user' } }));
    const report = await verifyLines('rehashed.jsonl', edited);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'chain_broken', ref: `line ${i + 1}` })]);
  });

  it('names the place of a deleted record', async () => {
    const i = decisionAt(8);
    const deleted = original.filter((_, j) => j !== i);
    const report = await verifyLines('deleted.jsonl', deleted);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'missing', seq: i + 1, ref: `line ${i + 1}` })]);
    expect(report.findings[0]?.message).toContain(`seq ${i + 1} missing`);
  });

  it('does not accept a deleted record passed off as dropped by a forged gap note', async () => {
    const i = decisionAt(8);
    const seq = i + 1;
    const note = JSON.stringify({ kind: 'audit.gap', schemaVersion: 1, time: '2025-03-01T12:00:00.000Z', instanceId: 'gw-test-1', sink: 'file', fromSeq: seq, toSeq: seq, count: 1 });
    const forged = [...original.slice(0, i), note, ...original.slice(i + 1)];
    const report = await verifyLines('gap-note.jsonl', forged);
    expect(report.status).toBe('tampered');
    expect(report.findings.map((f) => f.code)).toEqual(['dropped', 'gap_unbacked']);
    expect(report.findings[1]?.message).toContain('gap notes claim 1 records dropped by sink file, but digest seq');
  });

  it('names two swapped records', async () => {
    const i = decisionAt(3);
    const swapped = [...original];
    [swapped[i], swapped[i + 1]] = [original[i + 1] as string, original[i] as string];
    const report = await verifyLines('swapped.jsonl', swapped);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'reordered', seq: i + 1, ref: `line ${i + 2}` })]);
    expect(report.findings[0]?.message).toContain(`after seq ${i + 2} (line ${i + 1})`);
  });

  it('names an inserted record that copies a sequence number', async () => {
    const i = decisionAt(10);
    const fake = rehash({ ...parse(original[i] as string), eventId: 'forged', requestId: 'req-forged' });
    const inserted = [...original.slice(0, i + 1), serialise(fake), ...original.slice(i + 1)];
    const report = await verifyLines('inserted.jsonl', inserted);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'inserted', ref: `line ${i + 2}` })]);
  });

  it('names an inserted record even when it comes before the genuine one', async () => {
    const i = decisionAt(10);
    const fake = rehash({ ...parse(original[i] as string), action: 'orders:DeleteOrder' });
    const inserted = [...original.slice(0, i), serialise(fake), ...original.slice(i)];
    const report = await verifyLines('inserted-before.jsonl', inserted);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'inserted', ref: `line ${i + 1}` })]);
  });

  it('catches records appended after the final digest', async () => {
    const last = parse(original.at(-1) as string);
    const extra = rehash({ ...parse(original[decisionAt(2)] as string), seq: last.seq + 1, prev: last.hash });
    const report = await verifyLines('appended.jsonl', [...original, serialise(extra)]);
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'inserted', ref: `line ${original.length + 1}` })]);
  });

  it('reports a truncated tail as a chain without its final digest, naming where it now ends', async () => {
    const cut = original.slice(0, original.length - 3);
    const report = await verifyLines('truncated.jsonl', cut);
    expect(report.status).not.toBe('ok');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'unclosed', ref: `line ${cut.length}` })]);
    expect(report.chains[0]).toMatchObject({ closed: false, lastSeq: cut.length });
  });

  it('catches a digest whose signed fields were changed', async () => {
    const i = original.findIndex((l) => parse(l).kind === 'audit.digest');
    const forged = [...original];
    const digest = parse(original[i] as string);
    forged[i] = serialise(rehash({ ...digest, digest: { ...digest.digest!, dropped: { file: 0, redis: 0 } } }));
    const report = await verifyLines('forged-digest.jsonl', forged);
    expect(report.status).toBe('tampered');
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'bad_signature', ref: `line ${i + 1}` }));
    // Rehashing the forged digest also breaks the next record's link to it: both name the digest.
    expect(new Set(report.findings.map((f) => f.ref))).toEqual(new Set([`line ${i + 1}`]));
  });

  it('catches a trail rewritten after an edit and re-signed with a key that is not trusted', async () => {
    const i = decisionAt(6);
    const records = original.map(parse);
    records[i] = { ...(records[i] as Mutable), decision: 'Allow', reason: 'allowed' };
    const mallory = ed25519();
    const rewritten = reseal(records, 0, mallory.signer).map(serialise);
    const report = await verifyLines('resigned.jsonl', rewritten);
    expect(report.status).toBe('tampered');
    expect(report.findings[0]).toMatchObject({ code: 'unknown_key', ref: 'line 1' });
    expect(codes(report).filter((c) => c === 'unknown_key')).toHaveLength(1 + records.filter((r) => r.kind === 'audit.digest').length);
  });

  /** The trail with its key and digests taken out and its records renumbered and relinked, under `instanceId` when given. */
  function strippedOfSignatures(instanceId?: string): string[] {
    const records = original
      .map(parse)
      .filter((r) => r.kind !== 'audit.digest')
      .map((r, i) => {
        const { key: _key, ...rest } = r;
        return { ...rest, seq: i + 1, ...(instanceId !== undefined ? { instanceId } : {}) } as Mutable;
      });
    return reseal(records, 0).map(serialise);
  }

  it('catches a trail rewritten whole without its key and digests, when a trusted key is given', async () => {
    const report = await verifyLines('stripped.jsonl', strippedOfSignatures());
    expect(report.status).toBe('tampered');
    expect(report.findings[0]).toMatchObject({ code: 'unknown_key', ref: 'line 1' });
    // Without a trusted key nothing says which keys must sign: it is reported unsigned, not tampered.
    expect((await verifyLines('stripped-untrusted.jsonl', strippedOfSignatures(), false)).status).toBe('incomplete');
  });

  it('catches an unsigned chain of another instance spliced into a signed trail, when a trusted key is given', async () => {
    const spliced = [...original, ...strippedOfSignatures('gw-forged')];
    const report = await verifyLines('spliced.jsonl', spliced);
    expect(report.status).toBe('tampered');
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'unknown_key', instanceId: 'gw-forged', ref: `line ${original.length + 1}` }));
    expect(report.chains.find((c) => c.instanceId !== 'gw-forged')).toMatchObject({ closed: true });
  });

  it('catches a rewrite that kept the genuine digests: their signatures no longer match', async () => {
    const i = decisionAt(6);
    const records = original.map(parse);
    records[i] = { ...(records[i] as Mutable), resource: 'arn:aws:orders:::order/secret' };
    const rewritten = reseal(records, i).map(serialise);
    const report = await verifyLines('rewritten.jsonl', rewritten);
    const firstDigestAfter = records.findIndex((r, j) => j > i && r.kind === 'audit.digest');
    expect(report.status).toBe('tampered');
    expect(report.findings[0]).toMatchObject({ code: 'bad_signature', ref: `line ${firstDigestAfter + 1}` });
  });
});
