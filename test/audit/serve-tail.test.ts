// The end of a real `iamgate serve` trail, proven with the chain head its operations port
// published: a SIGKILL under load leaves a trail that holds every head read before it (unclosed,
// never truncated), a tail cut afterwards is caught as truncated, and a SIGTERM seals the trail.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChainHead, VerifyReport } from '../../src/audit/index.js';
import { EXIT_INCOMPLETE, runAudit } from '../../src/cli/audit.js';
import { EXIT } from '../../src/cli/exit.js';
import type { ServeProcess } from '../deploy/serve-process.js';
import { load, loadThenKill, readTrail, servedSuite, tokenFor, type ServedFiles } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const CLIENTS = 8;
const BEFORE_KILL = 300;
const { serveWith } = servedSuite();

/** Reads GET /audit/head until the process is gone; every head it answered, in order. */
async function pollHeads(server: ServeProcess, gone: Promise<unknown>): Promise<ChainHead[]> {
  let over = false;
  void gone.then(() => (over = true));
  const heads: ChainHead[] = [];
  while (!over) {
    try {
      heads.push((await (await fetch(`http://127.0.0.1:${server.opsPort}/audit/head`)).json()) as ChainHead);
    } catch {
      break; // the process is gone
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return heads;
}

async function verify(files: ServedFiles, trail: string, head: ChainHead): Promise<{ code: number; report: VerifyReport }> {
  const headFile = join(files.dir, `head-${head.seq}.json`);
  await writeFile(headFile, JSON.stringify(head));
  const out: string[] = [];
  const code = await runAudit(['verify', trail, '--public-key', files.publicKey, '--head', headFile, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
  return { code, report: JSON.parse(out.join('')) as VerifyReport };
}

describe('the end of a served trail, against the head its operations port published', () => {
  it('holds every head read before a SIGKILL under load, and reports the tail cut afterwards as truncated', async () => {
    const { files, server } = await serveWith();
    const token = await tokenFor(files.config, 'alice');
    const [heads, { killed }] = await Promise.all([pollHeads(server, server.exit), loadThenKill(server, token, CLIENTS, BEFORE_KILL)]);
    expect(killed).toBe(true);
    expect(heads.length).toBeGreaterThan(0);
    const head = heads.reduce((a, b) => (b.seq > a.seq ? b : a));

    const crashed = await verify(files, files.trail, head);
    expect(crashed.report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
    expect(crashed.report.findings.map((f) => f.code)).toEqual(['unclosed']);
    expect(crashed.report.findings[0]!.message).toContain(`holds its published head, seq ${head.seq}`);
    expect(crashed.code).toBe(EXIT_INCOMPLETE);

    const trail = await readTrail(files.trail);
    const cutAt = trail.findIndex((r) => r.seq === head.seq);
    expect(cutAt).toBeGreaterThan(0);
    const cut = join(files.dir, 'cut.jsonl');
    await writeFile(cut, trail.slice(0, cutAt).map((r) => `${JSON.stringify(r)}\n`).join(''));
    const truncated = await verify(files, cut, head);
    expect(truncated.report.findings.map((f) => [f.code, f.seq])).toEqual([['truncated', head.seq]]);
    expect(truncated.code).toBe(EXIT.failed);
  }, CHILD_PROCESS_TEST_MS + 60_000);

  it('seals the trail on SIGTERM: closed, holding the head read while it served', async () => {
    const { files, server } = await serveWith();
    const token = await tokenFor(files.config, 'alice');
    let sent = 0;
    await load(server.gatewayPort, token, 2, () => sent >= 40, () => (sent += 1));
    const head = (await (await fetch(`http://127.0.0.1:${server.opsPort}/audit/head`)).json()) as ChainHead;
    server.signal('SIGTERM');
    expect(await server.exit).toBe(0);
    const { code, report } = await verify(files, files.trail, head);
    expect(report.findings).toEqual([]);
    expect(report.chains).toEqual([expect.objectContaining({ instanceId: head.instanceId, closed: true })]);
    expect(code).toBe(EXIT.ok);
  }, CHILD_PROCESS_TEST_MS + 60_000);
});
