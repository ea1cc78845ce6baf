// `iamgate serve` under concurrent load with each fd sink and durability: while the destination
// keeps up, every request is answered 200 (never 503 audit_unavailable) and the trail holds one
// decision and one outcome record for each, with no gap and no sequence number missing, and
// `audit verify` finds it intact against the published key. Bounded by a request count, not by
// time: the assertions are counts only.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublicKeys, readTrailFile, splitTrailText, verifyTrail } from '../../src/audit/index.js';
import { startServe } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { readTrail, tokenFor, writeServedConfig, type TrailRecord } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const CLIENTS = 32;
const REQUESTS = 1500;

let upstream: TestUpstream;
beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterAll(() => upstream?.close());

/** Sends REQUESTS allowed requests over CLIENTS connections; counts answers by status, keeps the request ids. */
async function load(port: number, token: string): Promise<{ statuses: Map<number, number>; ids: string[] }> {
  const agent = new Agent({ connections: CLIENTS });
  const statuses = new Map<number, number>();
  const ids: string[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < REQUESTS) {
      const n = next++;
      const res = await request(`http://127.0.0.1:${port}/orders/${n}`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
      await res.body.dump();
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const id = res.headers['x-iamgate-request-id'];
      if (typeof id === 'string') ids.push(id);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  await agent.destroy();
  return { statuses, ids };
}

/** The trail records of one chain from standard output (log lines and other text left out). */
function stdoutRecords(text: string): TrailRecord[] {
  const records: TrailRecord[] = [];
  for (const entry of splitTrailText(text)) {
    if (!entry.text.startsWith('{"')) continue;
    const parsed = JSON.parse(entry.text) as TrailRecord;
    if (typeof parsed.seq === 'number') records.push(parsed);
  }
  return records;
}

const CASES = [
  { sink: 'file', durability: 'durable' },
  { sink: 'file', durability: 'batched' },
  { sink: 'stdout', durability: 'durable' },
  { sink: 'stdout', durability: 'batched' },
] as const;

describe('audit sinks under concurrent load', () => {
  for (const { sink, durability } of CASES) {
    it(`with the ${durability} ${sink} sink, answers every request 200 and records each one, with nothing dropped, in a trail that verifies`, async () => {
      const files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, sink, audit: [`durability: ${durability}`, 'outcomes: all'] });
      try {
        const server = await startServe(files.config, {});
        const token = await tokenFor(files.config, 'alice');
        const { statuses, ids } = await load(server.gatewayPort, token);
        server.signal('SIGTERM');
        expect(await server.exit).toBe(0);

        expect([...statuses]).toEqual([[200, REQUESTS]]);
        expect(new Set(ids).size).toBe(REQUESTS);
        const trail = sink === 'file' ? await readTrail(files.trail) : stdoutRecords(server.stdout());
        const decisions = new Map<string, number>();
        let outcomes = 0;
        for (const r of trail) {
          if (r.kind === 'request') decisions.set(String(r['requestId']), (decisions.get(String(r['requestId'])) ?? 0) + 1);
          if (r.kind === 'outcome') outcomes++;
        }
        expect(ids.filter((id) => decisions.get(id) !== 1)).toEqual([]);
        expect(outcomes).toBe(REQUESTS);
        expect(trail.filter((r) => r.kind === 'audit.gap')).toEqual([]);
        expect(trail.map((r) => r.seq)).toEqual(Array.from({ length: trail.length }, (_, i) => i + 1));
        expect(trail.at(-1)).toMatchObject({ kind: 'audit.digest', reason: 'chain_end' });
        const trustedKeys = readPublicKeys(await readFile(files.publicKey, 'utf8'));
        const report = await verifyTrail(sink === 'file' ? readTrailFile(files.trail) : splitTrailText(server.stdout()), { trustedKeys });
        expect(report.findings).toEqual([]);
        expect(report).toMatchObject({ status: 'ok', records: trail.length });
      } finally {
        await files.remove();
      }
    }, CHILD_PROCESS_TEST_MS + 60_000);
  }
});
