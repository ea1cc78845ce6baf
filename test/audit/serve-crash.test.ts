// A real `iamgate serve` process writing its trail to a durable file, killed with SIGKILL while
// clients keep it busy: every request the clients saw answered 2xx has its decision record in the
// trail, and `iamgate audit verify` finds the trail intact up to its last complete record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/index.js';
import { runAudit, EXIT_INCOMPLETE } from '../../src/cli/audit.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { decisionsFor, loadThenKill, readTrail, tokenFor, writeServedConfig, type ServedFiles } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const CLIENTS = 8;
/** Successful answers to see before the kill. */
const BEFORE_KILL = 300;

let files: ServedFiles;
let upstream: TestUpstream;
let server: ServeProcess | undefined;

beforeAll(async () => {
  upstream = await startTestUpstream();
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, audit: ['digestEvery: { records: 50 }'] });
  server = await startServe(files.config, {});
}, CHILD_PROCESS_TEST_MS);

afterAll(async () => {
  server?.kill();
  await upstream?.close();
  await files?.remove();
});

describe('iamgate serve killed with SIGKILL under load', () => {
  it('keeps a decision record for every 2xx answer, and the trail verifies up to its last complete record', async () => {
    const running = server!;
    const token = await tokenFor(files.config, 'alice');
    const { killed, ok } = await loadThenKill(running, token, CLIENTS, BEFORE_KILL);
    expect(killed).toBe(true);
    expect(ok.length).toBeGreaterThanOrEqual(BEFORE_KILL);

    const trail = await readTrail(files.trail);
    const missing = ok.filter((id) => decisionsFor(trail, id).length !== 1);
    expect(missing).toEqual([]);
    for (const id of ok.slice(-CLIENTS)) expect(decisionsFor(trail, id)[0]).toMatchObject({ decision: 'Allow', reason: 'allowed' });
    expect(trail.filter((r) => r.kind === 'request' && r['reason'] === 'implicit_deny').length).toBeGreaterThan(0);

    const out: string[] = [];
    const code = await runAudit(['verify', files.trail, '--public-key', files.publicKey, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
    const report = JSON.parse(out.join('')) as VerifyReport;
    expect(report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
    expect(report.findings.map((f) => f.code)).toContain('unclosed');
    expect(report.status).toBe('incomplete');
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(report.chains).toHaveLength(1);
    expect(report.chains[0]!.signedThrough).toBeGreaterThan(0);
  }, CHILD_PROCESS_TEST_MS);
});
