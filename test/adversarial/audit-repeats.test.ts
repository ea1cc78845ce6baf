// Records of a real signed trail written into it again, exactly: a Redis write retried after a
// timeout or a log collector that delivers a line twice does this, and so can anyone able to write
// the file. A repeat carries no claim of its own, so `audit verify` notes it; but no reader of the
// trail (report, suggest-policy, replay) may count the access it repeats a second time.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519, tempDir, writeTrail, type TempDir } from '../audit/support.js';
import { cliPrinting as cli } from './support/cli.js';

const POLICIES = new URL('../../policies/iamgate.yaml', import.meta.url).pathname.replace(/iamgate\.yaml$/, '');

let dir: TempDir;
let trail: string;
let repeated: string;
/** The line numbers (from 1) of the repeats in `repeated`. */
let repeatLines: number[];
/** The records the audit log wrote (decisions, chain start, digests). */
let written: number;
const key = ed25519();

beforeAll(async () => {
  dir = await tempDir();
  trail = dir.file('trail.jsonl');
  repeated = dir.file('repeated.jsonl');
  await writeTrail(trail, 12, { signer: key.signer });
  const lines = (await readFile(trail, 'utf8')).split('\n').filter((l) => l !== '');
  written = lines.length;
  // One decision twice in a row, then the whole trail once more after its final digest.
  const withRepeats = [...lines.slice(0, 4), lines[3] as string, ...lines.slice(4), ...lines];
  repeatLines = [5, ...lines.map((_, i) => written + 2 + i)];
  await writeFile(repeated, withRepeats.map((l) => `${l}\n`).join(''));
  await writeFile(dir.file('audit-public.pem'), key.publicPem);
});
afterAll(() => dir.remove());

describe('records repeated exactly in a signed trail', () => {
  it('are each named by audit verify as a repeat of the line they copy, which the reports count once', async () => {
    const verified = await cli('audit', 'verify', repeated, '--public-key', dir.file('audit-public.pem'), '--json');
    expect(verified.code).toBe(0);
    const report = JSON.parse(verified.out) as { findings: { code: string; ref: string; message: string }[] };
    expect(report.findings.map((f) => [f.code, f.ref])).toEqual(repeatLines.map((n) => ['duplicate', `line ${n}`]));
    expect(report.findings[0]?.message).toContain('repeats line 4 exactly');
    expect(report.findings[0]?.message).toContain('the reports and replay count it once');
  });

  it('are counted once by audit report', async () => {
    const once = JSON.parse((await cli('audit', 'report', trail, '--json')).out) as unknown;
    const twice = await cli('audit', 'report', repeated, '--json');
    expect(twice.code).toBe(0);
    expect(JSON.parse(twice.out)).toEqual(once);
  });

  it('are counted once by audit suggest-policy', async () => {
    const principal = 'arn:aws:iam::111122223333:user/alice';
    const once = await cli('audit', 'suggest-policy', trail, '--principal', principal, '--max-resources', '2');
    const twice = await cli('audit', 'suggest-policy', repeated, '--principal', principal, '--max-resources', '2');
    expect(twice).toEqual(once);
  });

  it('are decided again once by replay, and said to be repeats', async () => {
    const once = JSON.parse((await cli('replay', trail, '--policies', POLICIES, '--json')).out) as { records: number; replayed: number; skipped: Record<string, number> };
    const twice = JSON.parse((await cli('replay', repeated, '--policies', POLICIES, '--json')).out) as typeof once;
    expect(once.records).toBe(written);
    expect(twice).toMatchObject({ records: written, replayed: once.replayed });
    expect(twice.skipped).toEqual({ ...once.skipped, 'repeats a record already read': repeatLines.length });
  });
});
