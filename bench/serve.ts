// `iamgate serve` as the HTTP benchmarks run it: the built CLI (dist/) in its own process, the quick
// start's configuration or a variant of it, a tiny upstream, development tokens from `iamgate token`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/redis.js';

const MAIN = resolve('dist/cli/main.js');
export const QUICK_START = resolve('policies/iamgate.yaml');

export interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  /** Seconds from spawn until /readyz answered 200. */
  readonly readySeconds: number;
  /** The state folder made for it, removed when it is stopped. */
  readonly stateDir: string;
}

/** The quick start's configuration with its files named by absolute path, to be written elsewhere with more keys. */
export async function quickStartYaml(): Promise<string> {
  return (await readFile(QUICK_START, 'utf8'))
    .replace('directory: directory.yaml', `directory: ${resolve('policies/directory.yaml')}`)
    .replace('routes: routes.yaml', `routes: ${resolve('policies/routes.yaml')}`)
    .replaceAll('../.iamgate-state', resolve('.iamgate-state'));
}

/** A development token for `user` of the configuration's directory (the quick start's unless given). */
export function quickStartToken(user: string, opts: { mfa?: boolean; config?: string } = {}): string {
  const args = [MAIN, 'token', user, '--config', opts.config ?? QUICK_START, ...(opts.mfa ? ['--mfa'] : [])];
  const out = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const token = out.stdout.trim();
  if (out.status !== 0 || token === '') throw new Error(`iamgate token ${user} failed: ${out.stderr}`);
  return token;
}

/** Waits until the operations listener's /readyz answers 200 (policies loaded); fails when the child exits first. */
async function ready(child: ChildProcess, ops: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`iamgate serve exited (${child.signalCode ?? child.exitCode}) before it was ready`);
    const status = await fetch(`http://127.0.0.1:${ops}/readyz`).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`iamgate serve was not ready within ${timeoutMs} ms (/readyz: ${status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `iamgate serve --config CONFIG ARGS...` before `upstream`; resolves once it is ready.
 * `main` runs another build's CLI (an earlier commit's dist/cli/main.js) to compare builds in one run.
 */
export async function serve(config: string, upstream: string, args: readonly string[] = [], readyTimeoutMs = 120_000, main = MAIN): Promise<Served> {
  const port = await freePort();
  const ops = await freePort();
  const started = performance.now();
  // Each its own state folder: without Redis one process holds a state folder for its life, and the
  // benchmarks run several from one configuration at once.
  const stateDir = await mkdtemp(join(tmpdir(), 'iamgate-bench-state-'));
  const child = spawn(process.execPath, [main, 'serve', '--config', config, ...args], {
    env: { ...process.env, IAMGATE_PORT: String(port), IAMGATE_OPS_PORT: String(ops), IAMGATE_UPSTREAM: upstream, IAMGATE_LOG_LEVEL: 'warn', IAMGATE_STATE_DIR: stateDir },
    // The audit trail goes to stdout: here /dev/null.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await ready(child, ops, readyTimeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, child, readySeconds: (performance.now() - started) / 1000, stateDir };
}

/** Stops a served gateway and waits for it to exit. */
export async function stopServed(served: Served): Promise<void> {
  if (served.child.exitCode === null && served.child.signalCode === null) {
    const exited = new Promise((r) => served.child.once('exit', r));
    served.child.kill('SIGTERM');
    await exited;
  }
  await rm(served.stateDir, { recursive: true, force: true });
}
