// A real `iamgate serve` process with its durable trail on standard output (a regular file here,
// as the quick start runs) and then in a file of its own (the rotating file sink), called one
// request at a time over one kept-alive connection (where each decision record goes alone, written
// at once rather than at the end of its turn) and then by several callers at once (records
// grouped): every forwarded request finds its decision record in the trail when it reaches the
// upstream.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.js';
import { tokenFor, writeServedConfig, type ServedFiles } from './served.js';
import { CHILD_PROCESS_MS, CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** For each request that reached the upstream: its request id, and whether its decision was then in the trail. */
interface Arrival {
  readonly requestId: string;
  readonly recorded: boolean;
}

/** Starts `iamgate serve` with standard output on the file `stdout`; resolves with it and its port once /readyz answers 200. */
async function serve(config: string, stdout: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const opsPort = await freePort();
  const out = openSync(stdout, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', config], {
    env: { ...process.env, IAMGATE_PORT: String(port), IAMGATE_OPS_PORT: String(opsPort), IAMGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  const deadline = Date.now() + CHILD_PROCESS_MS;
  while ((await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('iamgate serve did not become ready');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, port };
}

/** Sends `count` GETs as alice to `port` over `connections` kept-alive connections, `connections` at a time; their answers' request ids. */
async function send(port: number, token: string, count: number, connections: number): Promise<string[]> {
  const agent = new Agent({ connections });
  const ids: string[] = [];
  const one = async (i: number): Promise<void> => {
    const res = await request(`http://127.0.0.1:${port}/orders/${i}`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    ids.push(String(res.headers['x-iamgate-request-id']));
  };
  try {
    for (let i = 0; i < count; i += connections) await Promise.all(Array.from({ length: Math.min(connections, count - i) }, (_, j) => one(i + j)));
  } finally {
    await agent.destroy();
  }
  return ids;
}

for (const sink of ['stdout', 'file'] as const) {
  describe(`iamgate serve with its durable trail ${sink === 'stdout' ? 'on standard output' : 'in a file'}`, () => {
    let files: ServedFiles | undefined;
    let upstream: http.Server | undefined;
    let gateway: { child: ChildProcess; port: number } | undefined;
    const arrivals: Arrival[] = [];

    beforeAll(async () => {
      let trail = '';
      upstream = http.createServer((req, res) => {
        const requestId = String(req.headers['x-iamgate-request-id']);
        // Read as the request arrives, before answering: what the trail holds when the upstream acts on it.
        arrivals.push({ requestId, recorded: readFileSync(trail, 'utf8').includes(`"requestId":"${requestId}"`) });
        res.end('ok');
      });
      upstream.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
      const upstreamPort = (upstream.address() as AddressInfo).port;
      files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, sink });
      const stdout = join(files.dir, 'stdout.jsonl');
      trail = sink === 'stdout' ? stdout : files.trail;
      gateway = await serve(files.config, stdout);
    }, CHILD_PROCESS_TEST_MS);

    afterAll(async () => {
      gateway?.child.kill('SIGKILL');
      await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
      await files?.remove();
    });

    it('forwards a request only once its decision record is in the trail, one request at a time and several at once', async () => {
      const token = await tokenFor(files!.config, 'alice');
      const alone = await send(gateway!.port, token, 40, 1);
      const together = await send(gateway!.port, token, 80, 8);
      expect(arrivals.map((a) => a.requestId).sort()).toEqual([...alone, ...together].sort());
      expect(arrivals.filter((a) => !a.recorded)).toEqual([]);
    });
  });
}
