// `iamgate serve` as a real process: a bad configuration lists every problem and starts nothing;
// SIGTERM under load lets every in-flight request complete, then exits 0.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devConfigYaml } from '../support/gateway.js';
import { canConnect } from '../support/net.js';
import { freePort } from '../support/redis.js';
import { mintBearer, serve, waitReady } from '../support/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-serve-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('iamgate serve with a bad configuration', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  it('lists every problem, exits non-zero, and never listens', async () => {
    const port = await freePort();
    const opsPort = await freePort();
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      `version: 1\nlisten: { port: ${port}, colour: red }\noperations: { port: ${opsPort} }\nupstream: { url: "not a url" }\ntrustedProxies: [nonsense]\npolicies: { routes: nowhere.yaml }\n`,
    );
    const child = serve(['--config', file]);
    let listened = false;
    while (child.process.exitCode === null) {
      if ((await canConnect(port)) || (await canConnect(opsPort))) listened = true;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await child.exit).toBe(1);
    expect(listened).toBe(false);
    const out = child.output();
    expect(out).toContain('nothing was started');
    for (const key of ['listen.colour', 'upstream.url', 'trustedProxies[0]', 'policies.routes', 'policies.directory']) expect(out).toContain(`${file}: ${key}: `);
  });

  it('exits with a usage error without a configuration', async () => {
    const child = serve([], { env: { IAMGATE_CONFIG: '' } });
    expect(await child.exit).toBe(2);
    expect(child.output()).toContain('no configuration');
  });
});

describe('iamgate serve under SIGTERM', () => {
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await startTestUpstream();
  });
  afterAll(async () => {
    await upstream.close();
  });

  it('stops accepting, completes every in-flight request, and exits 0', async () => {
    const port = await freePort();
    const opsPort = await freePort();
    const file = join(dir, 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url, extra: ['shutdown: { graceMs: 15000 }'] }));
    const child = serve(['--config', file]);
    try {
      await waitReady(opsPort, child);
      const authorization = await mintBearer(file, 'alice');

      const before = upstream.arrivals();
      const inFlight = Array.from({ length: 20 }, () =>
        request(`http://127.0.0.1:${port}/slow?held`, { headers: { authorization } }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() })),
      );
      while (upstream.arrivals() < before + 20) await new Promise((r) => setTimeout(r, 10));
      child.process.kill('SIGTERM');
      // New connections are refused while the in-flight ones are still held by the upstream.
      let refused = false;
      for (let i = 0; i < 1000 && !refused; i++) {
        refused = !(await canConnect(port));
        if (!refused) await new Promise((r) => setTimeout(r, 10));
      }
      expect(refused).toBe(true);
      upstream.release();
      const results = await Promise.all(inFlight);
      expect(results).toEqual(Array.from({ length: 20 }, () => ({ status: 200, body: 'slow' })));
      expect(await child.exit).toBe(0);
      expect(await canConnect(opsPort)).toBe(false);
    } finally {
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    }
  }, 120_000);
});
