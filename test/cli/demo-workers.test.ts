// `iamgate serve --demo --workers 2`: the demo orders service keeps its orders in memory, so the
// gateway must start it once, not once per worker, or each caller would see the orders of
// whichever worker its connection reached.
import { request as httpRequest } from 'node:http';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { freePort } from '../support/redis.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';
let server: ServeProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-demo-workers-'));
  await cp(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
});
afterAll(async () => {
  server?.kill();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** One request on a connection of its own, so the primary hands each to the next worker: status, body and the worker that answered. */
function send(port: number, method: string, path: string, token: string, body?: string): Promise<{ status: number; body: string; worker: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      // A request id's first 24 characters name the process that drew it.
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, worker: String(res.headers['x-iamgate-request-id'] ?? '').slice(0, 24) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('iamgate serve --demo --workers 2', () => {
  it('serves every caller from one demo orders service: each new order gets its own id, and the list holds them all', async () => {
    const config = join(dir, 'policies', 'iamgate.yaml');
    const out: string[] = [];
    expect(await runCli(['token', 'alice', '--config', config], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) })).toBe(0);
    const token = out.join('');
    const upstream = `http://127.0.0.1:${await freePort()}`;
    server = await startServe(config, { IAMGATE_WORKERS: '2', IAMGATE_UPSTREAM: upstream, IAMGATE_LOG_LEVEL: 'info' }, undefined, ['--demo']);
    // Once both workers have answered, both have started: only one demo service may have.
    const workers = new Set<string>();
    for (let i = 0; workers.size < 2 && i < 400; i++) workers.add((await send(server.gatewayPort, 'GET', '/orders/1', token)).worker);
    expect(workers.size).toBe(2);
    expect(server.log().match(/demo orders service listening/g)).toHaveLength(1);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await send(server.gatewayPort, 'POST', '/orders', token, JSON.stringify({ item: `pen ${i}` }));
      expect(created.status).toBe(201);
      ids.push((JSON.parse(created.body) as { id: string }).id);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 0; i < 4; i++) {
      const listed = await send(server.gatewayPort, 'GET', '/orders', token);
      const listedIds = (JSON.parse(listed.body) as { orders: { id: string }[] }).orders.map((o) => o.id);
      expect(listedIds).toEqual(expect.arrayContaining(ids));
    }
  }, CHILD_PROCESS_TEST_MS + 60_000);
});
