// `iamgate serve` with the chart's and the image's default configuration, which trusts no issuer:
// iamgate still starts (the pods become ready), but it says at start-up and on /readyz that no
// caller can authenticate. Its start-up log and its metrics say which version runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { iamgateVersion } from '../../src/app/version.js';
import { repoRoot } from './chart.js';
import { startServe, type ServeProcess } from './serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

let dir = '';
let served: ServeProcess | undefined;
let upstream: TestUpstream | undefined;
afterAll(async () => {
  served?.kill();
  await upstream?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const config = (policies: string, state: string): string =>
  `version: 1\nmode: production\npolicies:\n  directory: ${policies}/directory.yaml\n  routes: ${policies}/routes.yaml\nauth:\n  stateDir: ${state}\n  sts:\n    enabled: false\naudit:\n  sign: false\n`;

describe('a configuration that trusts no issuer', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  it('starts, and says on /readyz and in its log that no caller can authenticate', async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-no-issuer-'));
    upstream = await startTestUpstream();
    const file = join(dir, 'iamgate.yaml');
    await writeFile(file, config(join(repoRoot, 'policies'), join(dir, 'state')));
    served = await startServe(file, { IAMGATE_UPSTREAM: upstream.url, IAMGATE_LOG_LEVEL: 'info' });
    const ready = await fetch(`http://127.0.0.1:${served.opsPort}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { warnings?: string[] };
    expect(body.warnings).toEqual([expect.stringMatching(/^no caller can authenticate: auth\.issuers is empty/)]);
    expect(served.log()).toContain('no caller can authenticate');
    expect((await served.call('GET', '/orders/1')).status).toBe(401);
  });

  it('logs its version when it starts listening and publishes it as iamgate_build_info', async () => {
    expect(served).toBeDefined();
    const listening = served?.log().split('\n').find((l) => l.includes('"iamgate listening"'));
    expect(JSON.parse(listening ?? '{}')).toMatchObject({ version: iamgateVersion() });
    const metrics = await (await fetch(`http://127.0.0.1:${served?.opsPort}/metrics`)).text();
    expect(metrics).toContain(`iamgate_build_info{version="${iamgateVersion()}",node="${process.versions.node}"} 1`);
  });
});
