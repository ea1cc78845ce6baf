// Lines forged into a real signed trail without the chain's fields (seq, prev, hash, instanceId,
// schemaVersion): `audit verify` passes over such lines as other programs' log output on a shared
// stdout, so no reader of the trail (report, suggest-policy, replay) may take them for records.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519, tempDir, writeTrail, type TempDir } from '../audit/support.js';
import { cliPrinting as cli } from './support/cli.js';

const BOB = 'arn:aws:iam::111122223333:user/audit/bob';
const POLICIES = new URL('../../policies/iamgate.yaml', import.meta.url).pathname.replace(/iamgate\.yaml$/, '');
/** An allowed DeleteOrder by bob that never happened, in the records' own shape. */
const FORGED = JSON.stringify({
  kind: 'request',
  time: '2025-03-01T12:00:05.500Z',
  requestId: 'forged-1',
  principal: { arn: BOB, type: 'user' },
  authn: { issuer: 'https://idp.example', methods: ['jwt'], mfa: false },
  action: 'orders:DeleteOrder',
  resource: 'arn:aws:orders:us-east-1:111122223333:order/9',
  decision: 'Allow',
  reason: 'allowed',
  method: 'DELETE',
  path: '/orders/9',
  status: 204,
});

let dir: TempDir;
let trail: string;
/** The records the audit log wrote (decisions, chain start, digests). */
let written: number;
const key = ed25519();

beforeAll(async () => {
  dir = await tempDir();
  trail = dir.file('trail.jsonl');
  await writeTrail(trail, 12, { signer: key.signer });
  const lines = (await readFile(trail, 'utf8')).split('\n').filter((l) => l !== '');
  written = lines.length;
  await writeFile(trail, [...lines.slice(0, 6), FORGED, ...lines.slice(6), FORGED].map((l) => `${l}\n`).join(''));
  await writeFile(dir.file('audit-public.pem'), key.publicPem);
});
afterAll(() => dir.remove());

describe('lines without the chain fields in a signed trail', () => {
  it('are passed over by audit verify, which still proves the records', async () => {
    const verified = await cli('audit', 'verify', trail, '--public-key', dir.file('audit-public.pem'));
    expect(verified).toMatchObject({ code: 0, out: expect.stringContaining('2 other lines: intact') });
  });

  it('never reach audit report as an allowed access', async () => {
    const report = await cli('audit', 'report', trail, '--json');
    expect(report.code).toBe(0);
    const uses = (JSON.parse(report.out) as { lastAccessed: { principal: string; action: string }[] }).lastAccessed;
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((u) => u.principal === BOB)).toEqual([]);
  });

  it('never reach audit suggest-policy as an action to grant', async () => {
    const suggested = await cli('audit', 'suggest-policy', trail, '--principal', BOB);
    expect(suggested.out).not.toContain('orders:DeleteOrder');
  });

  it('never reach replay as requests to decide again', async () => {
    const replayed = await cli('replay', trail, '--policies', POLICIES, '--json');
    expect(replayed.out).toContain('"records"');
    expect(replayed.out).not.toContain('forged-1');
    expect((JSON.parse(replayed.out) as { records: number }).records).toBe(written);
  });
});
