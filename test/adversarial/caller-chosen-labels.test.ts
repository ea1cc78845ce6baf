// What a caller chooses freely — the path, the method, the user a token names, its trace context and
// request headers — never becomes a metrics label: /metrics keeps the same series however many
// distinct values arrive, so a flood of made-up values cannot grow its label sets without bound.
// The unmatched fallback maps every request to an action and a resource built from the caller's
// method and path, so each one reaches the decision and its caches.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startTestGateway, type TestGateway } from '../support/gateway.js';

/** Methods node:http reads (others are refused while parsing), each to be tried. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'LOCK', 'REPORT', 'SEARCH', 'PURGE', 'QUERY'];

/** The label sets /metrics serves for iamgate's own series, without their values; Node's process series vary on their own. */
async function series(gw: TestGateway): Promise<Set<string>> {
  const text = await (await fetch(`${gw.opsUrl}/metrics`)).text();
  const names = text.split('\n').filter((l) => l.startsWith('iamgate_') && !l.startsWith('iamgate_nodejs_') && !l.startsWith('iamgate_process_'));
  return new Set(names.map((l) => l.slice(0, l.lastIndexOf(' '))));
}

describe('a flood of caller-chosen values', () => {
  let dir: string;
  let gw: TestGateway;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-labels-'));
    const routes = join(dir, 'routes.yaml');
    const fixture = await readFile(FIXTURES.routes, 'utf8');
    await writeFile(routes, fixture.replace(/^routes:/m, 'unmatched: { mode: map, resource: "path${path}" }\nroutes:'));
    gw = await startTestGateway({ files: { routes }, config: { audit: { outcomes: 'all' }, cache: { l1: { enabled: true, maxEntries: 64 } } } });
  });
  afterAll(async () => {
    agent.destroy();
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const send = (method: string, path: string, headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${gw.url}${path}`, { method, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });

  /** `count` requests, every one with values no earlier request had; the statuses seen. */
  async function flood(from: number, count: number): Promise<Set<number>> {
    const alice = await gw.bearer('alice');
    const statuses = new Set<number>();
    for (let i = from; i < from + count; i += 8) {
      const batch = Array.from({ length: 8 }, async (_, j) => {
        const n = i + j;
        const hex = n.toString(16).padStart(16, '0');
        const trace = { traceparent: `00-${hex}${hex}-${hex}-01`, tracestate: `k${n}=v${n}`, 'x-request-id': `req-${n}`, 'user-agent': `agent-${n}` };
        const method = METHODS[n % METHODS.length]!;
        // An allowed caller on a made-up path, a user the directory lacks, and no credential at all.
        const who = [alice, `Bearer ${await gw.keys.token(`stranger${n}`)}`, undefined][n % 3];
        return send(method, `/made-up/${n}/p${n}`, { ...trace, ...(who !== undefined ? { authorization: who } : {}) });
      });
      for (const status of await Promise.all(batch)) statuses.add(status);
    }
    return statuses;
  }

  it('leaves /metrics with the same series after 1,500 more requests, each with a new path, method, user and trace', async () => {
    // The same values twice first, so that every kind of answer has been counted, cache hits too.
    const first = await flood(0, 90);
    expect(await flood(0, 90)).toEqual(first);
    expect([...first].sort()).toEqual([401, 403]);
    const after = await series(gw);
    expect([...after].filter((s) => s.includes('hit_l1'))).not.toEqual([]);
    expect(await flood(90, 1500)).toEqual(first);
    const now = await series(gw);
    expect(now).toEqual(after);
    expect([...now].filter((s) => /made-up|stranger|req-|agent-|PROPFIND|k\d+=/.test(s))).toEqual([]);
  }, 120_000);
});
