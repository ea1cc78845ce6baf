// A real `iamgate serve` process whose trail file rotates: killed with SIGKILL while it rotates
// every few records under load, its rotated set keeps a record of every 2xx answer and verifies
// up to its last record; and after logrotate-style renaming, SIGHUP makes it write a new file.
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/index.js';
import { trailSet } from '../../src/audit/rotated-set.js';
import { EXIT_INCOMPLETE, runAudit } from '../../src/cli/audit.js';
import { EXIT } from '../../src/cli/exit.js';
import { decisionsFor, loadThenKill, readTrail, servedSuite, tokenFor, type TrailRecord } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { until } from '../support/until.js';

const CLIENTS = 8;
const BEFORE_KILL = 300;

const { serveWith } = servedSuite();

async function verify(args: readonly string[]): Promise<{ code: number; report: VerifyReport }> {
  const out: string[] = [];
  const code = await runAudit(['verify', ...args, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
  return { code, report: JSON.parse(out.join('')) as VerifyReport };
}

async function readAll(files: readonly string[]): Promise<TrailRecord[]> {
  const records: TrailRecord[] = [];
  for (const file of files) records.push(...(await readTrail(file)));
  return records;
}

describe('iamgate serve killed with SIGKILL while its trail rotates every few records', () => {
  it('keeps one decision record for every 2xx answer across the rotated set, which verifies up to its last record', async () => {
    const { files, server } = await serveWith('rotate: { maxBytes: 4096 }');
    const token = await tokenFor(files.config, 'alice');
    const { killed, ok } = await loadThenKill(server, token, CLIENTS, BEFORE_KILL);
    expect(killed).toBe(true);

    const set = trailSet(files.trail);
    expect(set.missing).toEqual([]);
    // Each file holds a few records: the kill found the sink in the middle of its rotations.
    expect(set.files.length).toBeGreaterThan(20);
    const trail = await readAll(set.files);
    expect(ok.filter((id) => decisionsFor(trail, id).length !== 1)).toEqual([]);

    const { code, report } = await verify([files.trail, '--rotated', '--public-key', files.publicKey]);
    expect(report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
    expect(report.findings.map((f) => f.code)).toEqual(['unclosed']);
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(report.chains).toHaveLength(1);
    expect(report.chains[0]).toMatchObject({ firstSeq: 1, closed: false });
    expect(report.chains[0]!.records).toBe(report.chains[0]!.lastSeq);
  }, CHILD_PROCESS_TEST_MS + 60_000);
});

describe('iamgate serve and logrotate (create style)', () => {
  it('after its file was renamed, writes a new one on SIGHUP, and the two verify as one closed trail', async () => {
    const { files, server } = await serveWith();
    const token = await tokenFor(files.config, 'alice');
    const before = await server.call('GET', '/orders/before', token);
    expect(before.status).toBe(200);
    await rename(files.trail, `${files.trail}.1`);
    server.signal('SIGHUP');
    await until('the trail file exists', async () => existsSync(files.trail), 10_000);
    const after = await server.call('GET', '/orders/after', token);
    expect(after.status).toBe(200);
    server.signal('SIGTERM');
    expect(await server.exit).toBe(0);

    const paths = (records: readonly TrailRecord[]) => records.filter((r) => r.kind === 'request').map((r) => r['path']);
    expect(paths(await readTrail(`${files.trail}.1`))).toEqual(['/orders/before']);
    expect(paths(await readTrail(files.trail))).toEqual(['/orders/after']);
    const { code, report } = await verify([`${files.trail}.1`, files.trail, '--public-key', files.publicKey]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(EXIT.ok);
  }, CHILD_PROCESS_TEST_MS + 60_000);
});
