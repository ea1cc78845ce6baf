// A record of a real signed trail edited to name a member twice, the forged value first. The
// hash `audit verify` recomputes covers what JSON.parse keeps, the last (genuine) value, so the
// chain and the signatures still hold; but a reader that keeps the first value, or a person
// reading the line, sees an allowed DeleteOrder that was never decided.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { ed25519, tempDir, writeTrail, type TempDir } from '../audit/support.js';

let dir: TempDir;
let genuine: string[];
const key = ed25519();

beforeAll(async () => {
  dir = await tempDir();
  await writeTrail(dir.file('genuine.jsonl'), 12, { signer: key.signer });
  genuine = (await readFile(dir.file('genuine.jsonl'), 'utf8')).split('\n').filter((l) => l !== '');
  await writeFile(dir.file('audit-public.pem'), key.publicPem);
});
afterAll(() => dir.remove());

async function verify(lines: readonly string[]): Promise<{ code: number; out: string }> {
  const trail = dir.file(`edited-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(trail, lines.map((l) => `${l}\n`).join(''));
  const out: string[] = [];
  const code = await runCli(['audit', 'verify', trail, '--public-key', dir.file('audit-public.pem')], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
  return { code, out: out.join('\n') };
}

/** Each edit puts a forged copy of a member before the genuine one, in one record's line. */
const EDITS: readonly [string, (line: string) => string][] = [
  ['the decision and action', (l) => l.replace('{', '{"decision":"Allow","action":"orders:DeleteOrder",')],
  ['the principal’s ARN, inside its object', (l) => l.replace('"principal":{', '"principal":{"arn":"arn:aws:iam::111122223333:user/mallory",')],
  ['the decision, its name spelt with an escape', (l) => l.replace('{', '{"decisio\\u006e":"Allow",')],
  ['the decision, with spaces around the colon', (l) => l.replace('{', '{"decision" : "Allow",')],
];

describe('a record that names a member twice', () => {
  it('is in a trail that verifies intact when left alone, as a baseline', async () => {
    expect(await verify(genuine)).toMatchObject({ code: 0, out: expect.stringContaining('intact') });
  });

  it.each(EDITS)('is reported altered by audit verify, naming the member (%s)', async (_what, edit) => {
    const at = genuine.findIndex((l) => l.includes('"decision":"Deny"'));
    expect(at).toBeGreaterThan(0);
    const lines = genuine.map((l, i) => (i === at ? edit(l) : l));
    expect(JSON.parse(lines[at]!)).toEqual(JSON.parse(genuine[at]!));
    const verified = await verify(lines);
    expect(verified.code).toBe(1);
    expect(verified.out).toMatch(new RegExp(`line ${at + 1}: record seq \\d+ was altered \\(it names member "[\\w.]+" twice`));
  });

  // JSON.parse reads any depth; the strict reader that finds a repeated member stops at 64 levels,
  // so a forged value nested deeper would hide the genuine member named after it.
  it('is reported altered by audit verify when the forged value nests deeper than the strict reader reads', async () => {
    const at = genuine.findIndex((l) => l.includes('"decision":"Deny"'));
    const deep = `${'['.repeat(80)}"Allow"${']'.repeat(80)}`;
    const lines = genuine.map((l, i) => (i === at ? l.replace('{', `{"decision":${deep},`) : l));
    expect(JSON.parse(lines[at]!)).toEqual(JSON.parse(genuine[at]!));
    const verified = await verify(lines);
    expect(verified.code).toBe(1);
    expect(verified.out).toMatch(new RegExp(`line ${at + 1}: record seq \\d+ was altered \\(`));
  });

  it('is reported altered by audit verify when a number is written beyond what JSON.parse reads exactly', async () => {
    const at = genuine.findIndex((l) => l.includes('"decision":"Deny"') && l.includes('"policyGeneration":1,'));
    expect(at).toBeGreaterThan(0);
    const lines = genuine.map((l, i) => (i === at ? l.replace('"policyGeneration":1,', '"policyGeneration":1.00000000000000001,') : l));
    expect(JSON.parse(lines[at]!)).toEqual(JSON.parse(genuine[at]!));
    const verified = await verify(lines);
    expect(verified.code).toBe(1);
    expect(verified.out).toMatch(new RegExp(`line ${at + 1}: record seq \\d+ was altered \\(`));
  });
});
