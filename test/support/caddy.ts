// A private Caddy for end-to-end tests: one site on a free loopback port from a Caddyfile body,
// no admin endpoint, no automatic HTTPS, its state in a temporary folder. Tests skip themselves
// when Caddy is not installed (on PATH, or where `npm test`'s pretest step installed it: Debian
// package `caddy`).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForChild } from './redis.js';
import { findBinary, missingBinary } from './services.js';

/** The caddy binary, when installed. */
export const CADDY_BINARY = findBinary('caddy');

export interface RunningCaddy {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts Caddy serving `site` (the directives inside one site block) on plain HTTP. */
export async function startCaddy(site: string): Promise<RunningCaddy> {
  if (!CADDY_BINARY) throw missingBinary('caddy', 'caddy');
  const prefix = await mkdtemp(join(tmpdir(), 'iamgate-caddy-'));
  const port = await freePort();
  const file = join(prefix, 'Caddyfile');
  await writeFile(file, `{\n  admin off\n  auto_https off\n  storage file_system ${prefix}/data\n}\nhttp://127.0.0.1:${port} {\n${site}\n}\n`);
  let log = '';
  const child = spawn(CADDY_BINARY, ['run', '--config', file, '--adapter', 'caddyfile'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: prefix, XDG_DATA_HOME: prefix, XDG_CONFIG_HOME: prefix } });
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(prefix, { recursive: true, force: true });
  };
  try {
    await waitForChild(child, 'caddy', port, 15_000);
  } catch (err) {
    await close();
    throw new Error(`caddy did not start: ${log}`, { cause: err });
  }
  return { url: `http://127.0.0.1:${port}`, close };
}
