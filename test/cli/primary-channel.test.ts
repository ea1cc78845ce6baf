// A `serve --workers` worker's channel to the primary, in a real node:cluster worker: once the
// channel is closed, a state call fails closed at once, and the worker goes on (a send on a closed
// channel would otherwise be an 'error' event that ends it with code 1).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../support/serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const source = (path: string): string => JSON.stringify(pathToFileURL(resolve(path)).href);

/** The primary forks one worker and prints how it exited; the worker prints what its state call did. */
const SCRIPT = `
import cluster from 'node:cluster';
import { primaryChannel } from ${source('src/cli/serve-workers.ts')};
import { createRelayedStateStore } from ${source('src/auth/index.ts')};
if (cluster.isPrimary) {
  cluster.fork().on('exit', (code, signal) => console.log(JSON.stringify({ exit: code, signal })));
} else {
  const store = createRelayedStateStore(primaryChannel(), 60000);
  cluster.worker.disconnect();
  cluster.worker.process.once('disconnect', async () => {
    const began = Date.now();
    const outcome = await store.setIfAbsent('totp:used:alice:1', '1', 60000).then((v) => 'answered ' + v, (e) => e.name);
    console.log(JSON.stringify({ outcome, waitedMs: Date.now() - began }));
    setTimeout(() => process.exit(0), 50);
  });
}
`;

describe('a worker whose channel to the primary is closed', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  const dir = useTempDir('iamgate-channel-');

  it('fails a state call closed without waiting for its deadline, and is not ended by it', async () => {
    const script = join(dir(), 'cluster.mts');
    await writeFile(script, SCRIPT);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await once(child, 'exit');
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ outcome: 'StateUnavailableError', waitedMs: expect.any(Number) }, { exit: 0, signal: null }]);
    // Below the 60 s deadline: the call was refused, not timed out.
    expect(lines[0]!['waitedMs']).toBeLessThan(60_000);
  });
});
