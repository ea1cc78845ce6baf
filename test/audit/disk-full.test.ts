// A real `iamgate serve` whose durable trail file sits on a 64 KiB tmpfs that fills up under
// requests: from the first record the disk cannot take, requests are refused 503 audit_unavailable
// (never answered unrecorded), /readyz and the sink's health metric say why; once space returns
// the gateway answers again, and the trail verifies intact, holding one decision record for every
// 2xx answer; a refused request whose decision record was sealed before the write failed (and is
// written once space returns) has an `outcome` audit_unavailable after it, so the trail never
// reads as if it had been answered as decided. Mounting a tmpfs needs root: the suite is skipped elsewhere.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/index.js';
import { runAudit } from '../../src/cli/audit.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { decisionsFor, readTrail, tokenFor, writeServedConfig, type ServedFiles, type TrailRecord } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { until } from '../support/until.js';

/** Whether this process may mount a tmpfs (root, and a kernel that lets it). */
function canMount(): boolean {
  return process.getuid?.() === 0;
}

describe.skipIf(!canMount())('a durable audit file on a disk that fills up', () => {
  let upstream: TestUpstream;
  let disk = '';
  let files: ServedFiles;
  let server: ServeProcess;
  let token = '';

  beforeAll(async () => {
    upstream = await startTestUpstream();
    disk = await mkdtemp(join(tmpdir(), 'iamgate-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
    files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, trailPath: join(disk, 'trail.jsonl'), audit: ['digestEvery: { records: 50 }'] });
    server = await startServe(files.config, {});
    token = await tokenFor(files.config, 'alice');
  }, CHILD_PROCESS_TEST_MS);
  afterAll(async () => {
    server?.kill();
    await server?.exit;
    if (disk !== '') {
      try {
        execFileSync('umount', [disk]);
      } catch {
        // not mounted (the suite failed before): the folder goes below
      }
      await rm(disk, { recursive: true, force: true });
    }
    await files?.remove();
    await upstream?.close();
  });

  const get = async (path: string): Promise<{ status: number; id: string; body: string }> => {
    const res = await request(`http://127.0.0.1:${server.gatewayPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.body.text();
    const id = res.headers['x-iamgate-request-id'];
    return { status: res.statusCode, id: typeof id === 'string' ? id : '', body };
  };
  const ops = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await request(`http://127.0.0.1:${server.opsPort}${path}`);
    return { status: res.statusCode, body: await res.body.text() };
  };

  /** Every answer of the test, by request id: its status. */
  const answered = new Map<string, number>();
  const getting = async (path: string): Promise<{ status: number; id: string; body: string }> => {
    const answer = await get(path);
    answered.set(answer.id, answer.status);
    return answer;
  };
  /** The trail's `outcome` records for one request id. */
  const outcomesFor = (records: readonly TrailRecord[], id: string): TrailRecord[] => records.filter((r) => r.kind === 'outcome' && r['requestId'] === id);

  it('refuses with 503 audit_unavailable while the disk is full, says so on /readyz and /metrics, and answers again once space returns, the trail intact, with an outcome audit_unavailable after each decision record whose write failed', async () => {
    const allowed: string[] = [];
    let refused: { status: number; body: string } | undefined;
    // Four callers at a time, so that the write that fails holds several decision records.
    for (let i = 0; i < 5000 && !refused; i += 4) {
      const answers = await Promise.all([0, 1, 2, 3].map((k) => getting(`/orders/${i + k}`)));
      for (const answer of answers) {
        if (answer.status === 200) allowed.push(answer.id);
        else refused ??= answer;
      }
    }
    expect(allowed.length).toBeGreaterThan(0);
    expect(refused?.status).toBe(503);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ code: 'audit_unavailable' });

    const ready = await ops('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, reasons: [expect.stringContaining('audit sink file cannot write')] });
    expect((await ops('/metrics')).body).toMatch(/^iamgate_audit_sink_healthy\{sink="file"\} 0$/m);
    // Still full: still refused.
    expect((await getting('/orders/full')).status).toBe(503);

    execFileSync('mount', ['-o', 'remount,size=4m', disk]);
    // The sink retries its failed write on its own schedule; the first 200 follows it.
    let back: { status: number; id: string } | undefined;
    await until('GET /orders/back answered 200', async () => (back = await getting('/orders/back')).status === 200, 20_000);
    allowed.push(back!.id);
    expect((await ops('/readyz')).status).toBe(200);
    expect((await ops('/metrics')).body).toMatch(/^iamgate_audit_sink_healthy\{sink="file"\} 1$/m);

    server.signal('SIGTERM');
    expect(await server.exit).toBe(0);
    const out: string[] = [];
    const code = await runAudit(['verify', files.trail, '--public-key', files.publicKey, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
    const report = JSON.parse(out.join('')) as VerifyReport;
    expect([code, report.status, report.findings]).toEqual([0, 'ok', []]);
    const records = await readTrail(files.trail);
    const seqs = records.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const id of allowed) expect([id, decisionsFor(records, id).length]).toEqual([id, 1]);

    // The decision records of the write that failed reached the trail once space returned: each is
    // followed by one outcome saying its request was refused; no answered request has one.
    const refusedInTrail = [...answered].filter(([id, status]) => status === 503 && decisionsFor(records, id).length > 0).map(([id]) => id);
    expect(refusedInTrail.length).toBeGreaterThan(0);
    for (const id of refusedInTrail) {
      const [decision] = decisionsFor(records, id);
      const outcomes = outcomesFor(records, id);
      expect([id, outcomes.map((o) => ({ reason: o['reason'], status: o['status'] }))]).toEqual([id, [{ reason: 'audit_unavailable', status: 503 }]]);
      expect(outcomes[0]!.seq).toBeGreaterThan(decision!.seq);
      expect(outcomes[0]!['instanceId']).toBe(decision!['instanceId']);
    }
    for (const [id, status] of answered) if (status === 200) expect([id, outcomesFor(records, id)]).toEqual([id, []]);
    // Every outcome in the trail follows one of those refusals.
    const followed = new Set(refusedInTrail);
    for (const outcome of records.filter((r) => r.kind === 'outcome')) expect(followed.has(outcome['requestId'] as string)).toBe(true);
  }, 120_000);
});
