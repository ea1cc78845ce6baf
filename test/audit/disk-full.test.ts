// A real `iamgate serve` whose durable trail file sits on a 64 KiB tmpfs that fills up under
// requests: from the first record the disk cannot take, requests are refused 503 audit_unavailable
// (never answered unrecorded), /readyz and the sink's health metric say why; once space returns
// the gateway answers again, and the trail verifies intact, holding one decision record for every
// 2xx answer. Mounting a tmpfs needs root: the suite is skipped elsewhere.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/index.js';
import { runAudit } from '../../src/cli/audit.js';
import { eventually, startServe, type ServeProcess } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { decisionsFor, readTrail, tokenFor, writeServedConfig, type ServedFiles } from './served.js';

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
  }, 60_000);
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

  it('refuses with 503 audit_unavailable while the disk is full, says so on /readyz and /metrics, and answers again once space returns, the trail intact', async () => {
    const allowed: string[] = [];
    let refused: { status: number; body: string } | undefined;
    for (let i = 0; i < 5000 && !refused; i++) {
      const answer = await get(`/orders/${i}`);
      if (answer.status === 200) allowed.push(answer.id);
      else refused = answer;
    }
    expect(allowed.length).toBeGreaterThan(0);
    expect(refused?.status).toBe(503);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ code: 'audit_unavailable' });

    const ready = await ops('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, reasons: [expect.stringContaining('audit sink file cannot write')] });
    expect((await ops('/metrics')).body).toMatch(/^iamgate_audit_sink_healthy\{sink="file"\} 0$/m);
    // Still full: still refused.
    expect((await get('/orders/full')).status).toBe(503);

    execFileSync('mount', ['-o', 'remount,size=4m', disk]);
    // The sink retries its failed write on its own schedule; the first 200 follows it.
    let back: { status: number; id: string } | undefined;
    expect(await eventually(async () => (back = await get('/orders/back')).status === 200, 20_000)).toBe(true);
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
  }, 120_000);
});
