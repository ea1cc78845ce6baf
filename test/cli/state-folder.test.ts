// Without Redis, `iamgate serve` keeps revocations and TOTP marks in files of auth.stateDir that it
// rewrites whole: a second process on the same folder would overwrite them. Real serve processes
// show that the second refuses to start with one line, that a folder left by a killed process is
// taken over, that `serve --workers` holds it in its primary, and that with Redis nothing is held.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTANCE_LOCK } from '../../src/auth/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedis, type TestRedis } from '../support/redis.js';
import { exampleProductionConfig, serve, useTempDir, waitReady, type ServeChild } from '../support/serve-process.js';

const dir = useTempDir('iamgate-state-folder-');
const running: ServeChild[] = [];
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) continue;
    child.process.kill('SIGKILL');
    await child.exit;
  }
});

/** A production configuration over the example policies with its state in `<suite>/<name>-state`. */
const configFile = (name: string): Promise<string> => exampleProductionConfig(dir(), name);

/** Starts `iamgate serve` on `file` with free ports; `ready` waits for /readyz. */
async function start(file: string, env: Record<string, string> = {}, args: readonly string[] = []): Promise<{ child: ServeChild; opsPort: number }> {
  const opsPort = await freePort();
  const child = serve(['--config', file, ...args], { env: { IAMGATE_PORT: String(await freePort()), IAMGATE_OPS_PORT: String(opsPort), ...env } });
  running.push(child);
  return { child, opsPort };
}

const refusal = (file: string, pid: number): string => `iamgate serve: auth.stateDir ${join(dir(), `${file}-state`)} is in use by another iamgate process (pid ${pid}`;

describe('one process per auth.stateDir without Redis', () => {
  it('refuses a second serve on the folder with one line naming auth.stateDir and the holder, and the first keeps serving', async () => {
    const file = await configFile('second');
    const first = await start(file);
    await waitReady(first.opsPort, first.child);
    const second = await start(file);
    expect(await second.child.exit).toBe(1);
    const lines = second.child.output().trim().split('\n');
    expect(lines).toEqual([expect.stringContaining(refusal('second', first.child.process.pid!))]);
    expect(lines[0]).toContain('redis.url');
    await waitReady(first.opsPort, first.child, 5_000);
  }, 180_000);

  it('takes over the folder of a process that was killed, and leaves it free after a graceful stop', async () => {
    const file = await configFile('killed');
    const first = await start(file);
    await waitReady(first.opsPort, first.child);
    first.child.process.kill('SIGKILL');
    await first.child.exit;
    const second = await start(file);
    await waitReady(second.opsPort, second.child);
    second.child.process.kill('SIGTERM');
    expect(await second.child.exit).toBe(0);
    expect(existsSync(join(dir(), 'killed-state', INSTANCE_LOCK))).toBe(false);
    const third = await start(file);
    await waitReady(third.opsPort, third.child);
  }, 240_000);

  it('holds the folder in the primary of serve --workers 2, whose workers start, and refuses a lone serve beside them', async () => {
    const file = await configFile('workers');
    const primary = await start(file, { IAMGATE_WORKERS: '2' });
    await waitReady(primary.opsPort, primary.child);
    const lone = await start(file);
    expect(await lone.child.exit).toBe(1);
    expect(lone.child.output()).toContain(refusal('workers', primary.child.process.pid!));
  }, 180_000);

  it('exits 1 with one line naming auth.stateDir when its folder cannot be made (under /proc)', async () => {
    const state = `/proc/iamgate-no-such-${process.pid}/state`;
    const file = await exampleProductionConfig(dir(), 'proc', [], state);
    const { child } = await start(file);
    expect(await child.exit).toBe(1);
    expect(child.output().trim().split('\n')).toEqual([
      `iamgate serve: auth.stateDir ${state}: cannot be used: folder /proc/iamgate-no-such-${process.pid} cannot be created (ENOENT: its parent refuses new entries)`,
    ]);
  }, 120_000);

  it('exits 1 with one line naming auth.stateDir when its lock cannot be read or written (a folder where the lock file goes)', async () => {
    const state = join(dir(), 'unreadable-state');
    await mkdir(join(state, INSTANCE_LOCK), { recursive: true });
    const file = await exampleProductionConfig(dir(), 'unreadable', [], state);
    const { child } = await start(file);
    expect(await child.exit).toBe(1);
    expect(child.output().trim().split('\n')).toEqual([`iamgate serve: auth.stateDir ${state}: cannot be used: ${join(state, INSTANCE_LOCK)}: a folder, not a file`]);
  }, 120_000);

  it('starts a second serve on the same configuration when IAMGATE_STATE_DIR gives it a folder of its own, which it holds', async () => {
    const file = await configFile('own');
    const first = await start(file);
    await waitReady(first.opsPort, first.child);
    const own = join(dir(), 'own-second-state');
    const second = await start(file, { IAMGATE_STATE_DIR: own });
    await waitReady(second.opsPort, second.child);
    expect(existsSync(join(own, INSTANCE_LOCK))).toBe(true);
    const third = await start(file, { IAMGATE_STATE_DIR: own });
    expect(await third.child.exit).toBe(1);
    expect(third.child.output()).toContain(`auth.stateDir ${own} is in use by another iamgate process (pid ${second.child.process.pid!}`);
  }, 240_000);

  it('holds nothing when the state is shared through Redis: two serves on one folder both start', async () => {
    const file = await configFile('redis');
    const env = { REDIS_URL: redis.url };
    const first = await start(file, env);
    const second = await start(file, env);
    await waitReady(first.opsPort, first.child);
    await waitReady(second.opsPort, second.child);
  }, 180_000);
});
