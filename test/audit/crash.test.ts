// A writer killed with SIGKILL in the middle of writing: every record it acknowledged is in the
// file, and the trail verifies up to its last complete record (no tampering reported).
import { spawn } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublicKeys } from '../../src/audit/signing.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { ed25519, tempDir, verifyFile, writeTrail, type TempDir } from './support.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged `acks` records, then kills it with SIGKILL. */
async function runAndKill(path: string, acks: number, instanceId: string): Promise<{ acked: Set<string>; publicKey: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, path, instanceId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Set<string>();
  let publicKey = '';
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) publicKey = (JSON.parse(line) as { publicKey: string }).publicKey;
        else if (line.startsWith('ack ')) acked.add(line.slice(4));
      }
      if (acked.size >= acks && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
  });
  return { acked, publicKey };
}

async function requestIdsIn(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    try {
      const id = (JSON.parse(line) as { requestId?: string }).requestId;
      if (id) ids.add(id);
    } catch {
      // a torn line
    }
  }
  return ids;
}

const tampered = (report: VerifyReport) => report.findings.filter((f) => f.severity === 'tampered');

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

describe('a writer killed mid-write', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  it('loses no acknowledged record, and the trail verifies up to its last complete record', async () => {
    const path = dir.file('crash.jsonl');
    const { acked, publicKey } = await runAndKill(path, 400, 'gw-crash-1');
    const written = await requestIdsIn(path);
    for (const id of acked) expect(written.has(id), `${id} was acknowledged but is not in the trail`).toBe(true);

    const report = await verifyFile(path, { trustedKeys: readPublicKeys(publicKey) });
    expect(tampered(report)).toEqual([]);
    expect(report.status).toBe('incomplete');
    const chain = report.chains[0];
    expect(chain).toMatchObject({ instanceId: 'gw-crash-1', firstSeq: 1, closed: false });
    expect(chain?.records).toBe(chain?.lastSeq);
    expect(chain?.lastSeq).toBeGreaterThanOrEqual(acked.size);
    expect(chain?.signedThrough).toBeGreaterThan(0);
    expect(report.findings.find((f) => f.code === 'unclosed')?.seq).toBe(chain?.lastSeq);
  });

  it('reports a torn last line as torn, not as tampering, and a restarted writer carries on after it', async () => {
    const path = dir.file('torn.jsonl');
    const { publicKey } = await runAndKill(path, 100, 'gw-crash-2');
    // What a write cut short leaves: the first half of a record, without its newline. The kill may
    // already have left one (it can land inside a write); otherwise one is appended.
    const text = await readFile(path, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    if (text.endsWith('\n')) {
      const half = (lines[3] as string).slice(0, 120);
      await appendFile(path, half);
      lines.push(half);
    }

    const torn = await verifyFile(path, { trustedKeys: readPublicKeys(publicKey) });
    expect(tampered(torn)).toEqual([]);
    expect(torn.findings).toContainEqual(expect.objectContaining({ code: 'torn', ref: `line ${lines.length}` }));

    const key = ed25519();
    await writeTrail(path, 10, { instanceId: 'gw-crash-2b', signer: key.signer });
    const after = await verifyFile(path);
    expect(tampered(after)).toEqual([]);
    expect(after.findings.map((f) => f.code).sort()).toEqual(['torn', 'unclosed']);
    expect(after.chains.map((c) => [c.instanceId, c.closed])).toEqual([
      ['gw-crash-2', false],
      ['gw-crash-2b', true],
    ]);
  });

  it('names a line that is not JSON at all, such as npm\'s banner before the chain, as text another program wrote, not as a crash', async () => {
    const path = dir.file('banner.jsonl');
    await writeFile(path, '\n> iamgate@1.0.0 start\n> node dist/cli/main.js serve\n\n');
    await writeTrail(path, 3, { instanceId: 'gw-banner', signer: ed25519().signer });
    const report = await verifyFile(path);
    expect(tampered(report)).toEqual([]);
    const torn = report.findings.filter((f) => f.code === 'torn');
    expect(torn.map((f) => f.ref)).toEqual(['line 2', 'line 3']);
    for (const f of torn) expect(f.message).toMatch(/text another program wrote/);
    for (const f of torn) expect(f.message).not.toMatch(/crash/);
  });
});
