// Signals that reach `iamgate serve` while it starts: logrotate's or a ConfigMap update's SIGHUP may
// come as soon as the listeners answer, before the start has finished. It is held and carried out
// once started, as a SIGTERM is: not dropped, and never the end of the process (Node's default).
// serve runs in this process so that the signal lands, every run, at the same point of the start.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { devConfigYaml } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { metricValue, useTempDir } from '../support/serve-process.js';
import { startTestUpstream } from '../support/upstream.js';

const dir = useTempDir('iamgate-serve-signals-');

/** Delivers `signal` to this process's listeners only, as a real one reaches serve's (the test runner's own are set aside meanwhile). */
function deliver(signal: NodeJS.Signals): void {
  const others = process.listeners(signal).filter((l) => !serveListeners.has(l));
  for (const l of others) process.off(signal, l);
  try {
    process.emit(signal, signal);
  } finally {
    for (const l of others) process.on(signal, l);
  }
}
const serveListeners = new Set<NodeJS.SignalsListener>();

/** Policy loads the operations port counts, by result. */
async function policyLoads(opsPort: number): Promise<number> {
  const page = await (await request(`http://127.0.0.1:${opsPort}/metrics`, { reset: true })).body.text();
  return metricValue(page, 'iamgate_policy_reloads_total', { result: 'success' });
}

describe('iamgate serve receiving a signal while it starts', () => {
  it('reloads the policies once started for a SIGHUP that came during the start, and keeps serving', async () => {
    const upstream = await startTestUpstream();
    const [port, opsPort] = [await freePort(), await freePort()];
    const file = join(dir(), 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url }));
    const before = { SIGHUP: new Set(process.listeners('SIGHUP')), SIGTERM: new Set(process.listeners('SIGTERM')) };
    const lines: string[] = [];
    const running = runServe(['--config', file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    try {
      // runServe has run up to its first await: the start has begun, and has not finished.
      for (const signal of ['SIGHUP', 'SIGTERM'] as const) for (const l of process.listeners(signal)) if (!before[signal].has(l)) serveListeners.add(l);
      deliver('SIGHUP');
      // The first load, then the reload the held SIGHUP asked for.
      await expect.poll(() => policyLoads(opsPort).catch(() => 0), { timeout: 30_000, interval: 50 }).toBe(2);
      const health = await request(`http://127.0.0.1:${opsPort}/readyz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
    } finally {
      for (const l of process.listeners('SIGTERM')) if (!before.SIGTERM.has(l)) serveListeners.add(l);
      deliver('SIGTERM');
      expect(await running).toBe(0);
      await upstream.close();
    }
    expect(lines.join('\n')).not.toContain('stop did not finish');
  }, 60_000);
});
