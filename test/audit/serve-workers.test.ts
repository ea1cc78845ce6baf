// `iamgate serve --workers 2` (IAMGATE_WORKERS=2): two gateway processes share the port; each keeps
// its own audit chain in the one trail file, both chains verify, and SIGTERM stops both cleanly;
// on standard output, among the log lines, the two chains verify as well (standard error, a pipe
// of its own, is no part of that trail).
import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../../src/audit/index.js';
import { runAudit } from '../../src/cli/audit.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { FIXTURES } from '../support/gateway.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { readTrail, tokenFor, writeServedConfig, type ServedFiles } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

let files: ServedFiles;
let upstream: TestUpstream;
beforeAll(async () => {
  upstream = await startTestUpstream();
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url });
});
afterAll(async () => {
  await upstream?.close();
  await files?.remove();
});

/** One GET on a connection of its own (so the primary hands each to the next worker); its status and request id. */
function get(port: number, path: string, token: string): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-iamgate-request-id'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Calls until both workers have answered, and returns the statuses: a worker takes connections once
 * it listens, and the two need not be ready at the same moment (a request id's first 24 characters
 * name the process that drew it).
 */
async function untilBothAnswered(server: ServeProcess, token: string): Promise<number[]> {
  const statuses: number[] = [];
  const answeredBy = new Set<string>();
  while (answeredBy.size < 2 && statuses.length < 400) {
    const answer = await get(server.gatewayPort, `/orders/${statuses.length}`, token);
    statuses.push(answer.status);
    answeredBy.add(answer.requestId.slice(0, 24));
  }
  return statuses;
}

describe('iamgate serve with two workers', () => {
  it('answers from both workers, each with its own audit chain, and stops both on SIGTERM', async () => {
    // Three processes start (the primary and two workers), each compiling TypeScript on the fly.
    const server = await startServe(files.config, { IAMGATE_WORKERS: '2' });
    const token = await tokenFor(files.config, 'alice');
    const statuses = await untilBothAnswered(server, token);
    for (let i = 0; i < 40; i++) statuses.push((await get(server.gatewayPort, `/orders/${i}`, token)).status);
    server.signal('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const trail = await readTrail(files.trail);
    const requests = trail.filter((r) => r.kind === 'request');
    expect(requests).toHaveLength(statuses.length);
    const chains = new Set(requests.map((r) => r['instanceId']));
    expect(chains.size).toBe(2);
    expect(trail.filter((r) => r.kind === 'audit.digest' && r['reason'] === 'chain_end')).toHaveLength(2);

    const out: string[] = [];
    const code = await runAudit(['verify', files.trail, '--public-key', files.publicKey, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
    const report = JSON.parse(out.join('')) as VerifyReport;
    expect(report.status).toBe('ok');
    expect(report.chains).toHaveLength(2);
    expect(code).toBe(0);
  }, CHILD_PROCESS_TEST_MS + 60_000);

  it('writes a trail on standard output that verifies, log lines and all, after a reload one worker announced to the other, whatever the processes print on standard error', async () => {
    const out = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, sink: 'stdout' });
    try {
      // A route map of its own, not watched: only the reload asked below sees it change.
      const routes = join(out.dir, 'policies', 'routes.yaml');
      await mkdir(dirname(routes));
      await copyFile(FIXTURES.routes, routes);
      const config = await readFile(out.config, 'utf8');
      await writeFile(out.config, config.replace(`routes: "${FIXTURES.routes}"`, 'routes: policies/routes.yaml, watch: false'));
      // NODE_DEBUG: every process also writes lines of its own on standard error all along (as the
      // primary does when a worker falls behind), which belong to no trail.
      const server = await startServe(out.config, { IAMGATE_WORKERS: '2', IAMGATE_LOG_LEVEL: 'info', NODE_DEBUG: 'net' });
      const statuses = await untilBothAnswered(server, await tokenFor(out.config, 'alice'));
      await appendFile(routes, '# a change the reload reads\n');
      const reload = await fetch(`http://127.0.0.1:${server.opsPort}/v1/policies/reload`, { method: 'POST' });
      expect(reload.status).toBe(200);
      // The worker that did not reload loads the new policies when the other's announcement reaches it, and logs it.
      while (!server.log().includes('announced by another replica')) await new Promise((resolve) => setTimeout(resolve, 50));
      server.signal('SIGTERM');
      expect(await server.exit).toBe(0);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);

      const trail = join(out.dir, 'stdout.log');
      await writeFile(trail, server.stdout());
      const lines: string[] = [];
      const code = await runAudit(['verify', trail, '--public-key', out.publicKey, '--json'], { stdout: (l) => lines.push(l), stderr: () => undefined });
      const report = JSON.parse(lines.join('')) as VerifyReport;
      expect(report.findings).toEqual([]);
      expect(report.chains).toHaveLength(2);
      expect(code).toBe(0);
    } finally {
      await out.remove();
    }
  }, CHILD_PROCESS_TEST_MS + 60_000);
});
