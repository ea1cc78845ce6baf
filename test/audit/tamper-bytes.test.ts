// What an insider with write access to a trail file can do to its bytes, and what `iamgate audit
// verify` answers: the exit code and the finding that names the line. Real trails written through
// the audit log, signed with real Ed25519 keys; two runs of writers sharing one key, as a restarted
// gateway does.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHash } from '../../src/audit/chain.js';
import { createAuditLog } from '../../src/audit/log.js';
import type { AuditRecord } from '../../src/audit/schema.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { EXIT_INCOMPLETE, runAudit } from '../../src/cli/audit.js';
import { EXIT } from '../../src/cli/exit.js';
import { decisionEvent, ed25519, lines, steppingClock, tempDir, writeTrail, type TempDir } from './support.js';

let dir: TempDir;
let publicKey: string;
const key = ed25519();
/** The lines of two runs, one after the other, of writers signing with one key. */
let first: string[];
let second: string[];

beforeAll(async () => {
  dir = await tempDir();
  publicKey = dir.file('public.pem');
  await writeFile(publicKey, key.publicPem);
  await writeTrail(dir.file('first.jsonl'), 20, { signer: key.signer, instanceId: 'gw-run-1' });
  await writeTrail(dir.file('second.jsonl'), 20, { signer: key.signer, instanceId: 'gw-run-2' });
  first = await lines(dir.file('first.jsonl'));
  second = await lines(dir.file('second.jsonl'));
});
afterAll(() => dir.remove());

let files = 0;
async function verifyPath(path: string, ...args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const out: string[] = [];
  const code = await runAudit(['verify', path, '--public-key', publicKey, ...args, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
  return { code, report: JSON.parse(out.join('')) as VerifyReport };
}
async function verifyBytes(bytes: Buffer | string): Promise<{ code: number; report: VerifyReport }> {
  const path = dir.file(`tampered-${++files}.jsonl`);
  await writeFile(path, bytes);
  return verifyPath(path);
}
const joined = (text: readonly string[], end = '\n'): string => text.map((l) => `${l}${end}`).join('');
const found = (report: VerifyReport): string[][] => report.findings.map((f) => [f.code, f.ref ?? '']);
const parse = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;
/** Index of the first digest (a signed record) and of a decision in the middle of the first run. */
const digestAt = (): number => first.findIndex((l) => parse(l)['kind'] === 'audit.digest');
const middle = (): number => first.findIndex((l, i) => i >= 8 && parse(l)['kind'] === 'request');

describe('audit verify on the bytes of a trail an insider changed', () => {
  it('names a digest whose signature had one character changed', async () => {
    const i = digestAt();
    const line = first[i] as string;
    const at = line.indexOf('"sig":"') + 12;
    const edited = [...first];
    edited[i] = `${line.slice(0, at)}${line[at] === 'A' ? 'B' : 'A'}${line.slice(at + 1)}`;
    const { code, report } = await verifyBytes(joined(edited));
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toContainEqual(['bad_signature', `line ${i + 1}`]);
  });

  it('names the chain start removed from the head of a trail as missing', async () => {
    const { code, report } = await verifyBytes(joined(first.slice(1)));
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toEqual([['missing', 'line 1']]);
  });

  it('takes a second run of a writer appended to the file, as after a restart, for what it is', async () => {
    const { code, report } = await verifyBytes(joined([...first, ...second]));
    expect(code).toBe(EXIT.ok);
    expect(report.chains.map((c) => [c.instanceId, c.closed])).toEqual([['gw-run-1', true], ['gw-run-2', true]]);
  });

  it('takes a trail with the whole chain of one run taken out for intact, and names it removed only given the head of that run', async () => {
    const path = dir.file('one-run-removed.jsonl');
    await writeFile(path, joined(second));
    const last = parse(first.at(-1) as string);
    const head = `gw-run-1=${String(last['seq'])}:${String(last['hash'])}`;
    expect((await verifyPath(path)).code).toBe(EXIT.ok);
    const withHead = await verifyPath(path, '--head', head);
    expect(withHead.code).toBe(EXIT.failed);
    expect(withHead.report.findings).toEqual([expect.objectContaining({ code: 'truncated', instanceId: 'gw-run-1' })]);
  });

  it('names a trail spliced from two runs signed with the same key where the second run starts mid-chain', async () => {
    const cut = middle();
    const { code, report } = await verifyBytes(joined([...first.slice(0, cut), ...second.slice(cut)]));
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toContainEqual(['missing', `line ${cut + 1}`]);
  });

  it('names an old tail replayed after a later run', async () => {
    const from = middle();
    const { code, report } = await verifyBytes(joined([...second, ...first.slice(from)]));
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toContainEqual(['missing', `line ${second.length + 1}`]);
  });

  it('names the records after the last digest as covered by no signature when the seal was cut and a forged record hashed on', async () => {
    const sealed = first.slice(0, -1);
    const last = parse(sealed.at(-1) as string);
    const { hash: _hash, ...copied } = parse(first[middle()] as string);
    const forged = { ...copied, seq: (last['seq'] as number) + 1, prev: last['hash'], path: '/orders/forged' };
    const line = JSON.stringify({ ...forged, hash: recordHash(forged as unknown as Omit<AuditRecord, 'hash'>) });
    const { code, report } = await verifyBytes(joined([...sealed, line]));
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(found(report)).toEqual([['unclosed', `line ${first.length}`]]);
    expect(report.findings[0]?.message).toMatch(new RegExp(`seq \\d+\\.\\.${first.length} not covered by a signed digest`));
  });

  it('says of a chain no signature reaches, as one forged whole with the published key copied into its start, that nothing of it is proven', async () => {
    const start = parse(first[0] as string);
    const decision = parse(first[middle()] as string);
    let prev = start['prev'];
    const forged = [start, { ...decision, action: 'orders:DeleteOrder' }].map((r: Record<string, unknown>, i) => {
      const { hash: _hash, ...copied } = r;
      const rest = { ...copied, instanceId: 'gw-forged', seq: i + 1, prev };
      const hash = recordHash(rest as unknown as Omit<AuditRecord, 'hash'>);
      prev = hash;
      return JSON.stringify({ ...rest, hash });
    });
    const { code, report } = await verifyBytes(joined([...first, ...forged]));
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(found(report)).toEqual([['unclosed', `line ${first.length + 2}`]]);
    expect(report.findings[0]?.message).toContain('nothing of chain gw-forged is proven to be written by iamgate');
  });

  it('proves records whose lines were written another way that reads the same: member order, spaces, escapes, CRLF, empty lines', async () => {
    const i = middle();
    const record = parse(first[i] as string);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(record).reverse()));
    const spaced = JSON.stringify(parse(first[i + 1] as string), null, 1).replaceAll('\n', ' ');
    const escaped = (first[i + 2] as string).replace(/"seq":(\d+)/, '"\\u0073eq":$1.0').replace('"path":"/', '"path":"\\/');
    const rewritten = [...first.slice(0, i), reordered, spaced, '', escaped, ...first.slice(i + 3)];
    const { code, report } = await verifyBytes(joined(rewritten, '\r\n'));
    expect(found(report)).toEqual([]);
    expect(code).toBe(EXIT.ok);
  });

  it('names a line made unreadable by a byte-order mark, a NUL or a 3 MB line put in', async () => {
    const bom = await verifyBytes(`\uFEFF${joined(first)}`);
    expect(bom.code).toBe(EXIT.failed);
    expect(found(bom.report)).toEqual([['garbled', 'line 1'], ['missing', 'line 2']]);
    const i = middle();
    const nul = await verifyBytes(joined([...first.slice(0, i), `${first[i] as string}\u0000`, ...first.slice(i + 1)]));
    expect(found(nul.report)).toEqual([['garbled', `line ${i + 1}`], ['missing', `line ${i + 2}`]]);
    const long = await verifyBytes(joined([...first.slice(0, i), `{"hash":"${'0'.repeat(3_000_000)}"}`, ...first.slice(i)]));
    expect(long.code).toBe(EXIT.failed);
    expect(found(long.report)).toEqual([['garbled', `line ${i + 1}`]]);
  });

  it('names a value given a byte that is not UTF-8 as altered', async () => {
    const i = middle();
    const bytes = Buffer.from(joined(first));
    const at = bytes.indexOf('/orders/', bytes.indexOf(first[i] as string)) + 1;
    bytes[at] = 0xff;
    const { code, report } = await verifyBytes(bytes);
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toEqual([['altered', `line ${i + 1}`]]);
  });

  it('names a record whose U+FFFD was written as a byte that is not UTF-8, which lossy readers take for the same text', async () => {
    // A caller's path or token may carry U+FFFD, and the trail keeps it as it came: the chain covers it.
    const path = dir.file('replacement-character.jsonl');
    const log = createAuditLog({ instanceId: 'gw-run-3', sinks: [createFileSink(path)], now: steppingClock(), signer: key.signer });
    await log.record(decisionEvent(1, { path: '/orders/\uFFFD' }));
    await log.close();
    expect((await verifyPath(path)).code).toBe(EXIT.ok);
    const bytes = await readFile(path);
    const at = bytes.indexOf('\uFFFD');
    const { code, report } = await verifyBytes(Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]));
    expect(code).toBe(EXIT.failed);
    expect(found(report)).toEqual([['altered', 'line 2']]);
    expect(report.findings[0]?.message).toContain('not UTF-8');
  });

  it('names text added after a closed chain: a whole line as garbled, an unended one as torn', async () => {
    const whole = await verifyBytes(`${joined(first)}{"note":"added"\n`);
    expect(whole.code).toBe(EXIT.failed);
    expect(found(whole.report)).toEqual([['garbled', `line ${first.length + 1}`]]);
    const unended = await verifyBytes(`${joined(first)}{"kind":"req`);
    expect(unended.code).toBe(EXIT_INCOMPLETE);
    expect(found(unended.report)).toEqual([['torn', `line ${first.length + 1}`]]);
  });
});
