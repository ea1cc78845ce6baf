// `iamgate serve` as a real child process, for tests that need what only a process shows: its exit
// code after a signal, its open descriptors (/proc/PID/fd) and its resident memory; or that check
// the command as it ships (the compiled `dist/`, not the sources).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { runCli } from '../../src/cli/cli.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BUILT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const BUILD_IF_STALE = fileURLToPath(new URL('../../scripts/build-if-stale.mjs', import.meta.url));

export interface ServeChild {
  readonly process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
  /** Everything written on stdout and stderr so far. */
  output(): string;
}

export interface ServeOptions {
  readonly env?: Record<string, string>;
  /** Runs under `ulimit -n` this low (to exhaust descriptors on purpose). */
  readonly maxFiles?: number;
  /** Runs the compiled command (`dist/cli/main.js`, see builtCommand) instead of the sources through tsx. */
  readonly built?: boolean;
}

let building: Promise<void> | undefined;

/**
 * Brings `dist/` up to date with the sources (the `npm start` step: no compile when it is current),
 * once per test process; a suite that sets `built` awaits it before serving.
 */
export function builtCommand(): Promise<void> {
  building ??= new Promise((resolve, reject) => {
    execFile(process.execPath, [BUILD_IF_STALE], (err, _stdout, stderr) => (err ? reject(new Error(`building dist/ failed:\n${stderr}`)) : resolve()));
  });
  return building;
}

/** Starts `iamgate serve ARGS` (through tsx, from the sources; or compiled, with `built` once builtCommand has resolved). */
export function serve(args: readonly string[], options: ServeOptions = {}): ServeChild {
  const command = options.built ? [process.execPath, BUILT_MAIN, 'serve', ...args] : [process.execPath, '--import', 'tsx', MAIN, 'serve', ...args];
  const env = { ...process.env, IAMGATE_LOG_LEVEL: 'warn', ...options.env };
  const child =
    options.maxFiles === undefined
      ? spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `ulimit -n ${options.maxFiles} && exec "$@"`, 'sh', ...command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, exit, output: () => text };
}

/** Stops a child still running (SIGTERM) and waits for its exit; nothing when it never started or has exited. */
export async function stopServe(child: ServeChild | undefined): Promise<void> {
  if (child?.process.exitCode !== null) return;
  child.process.kill('SIGTERM');
  await child.exit;
}

/**
 * Waits until `/readyz` answers 200 (or the child exits, or the deadline passes: both throw with its output).
 * The deadline only bounds a start that hangs: compiling the sources through tsx on a loaded machine
 * has taken over 30 s, so callers give their hook or test at least 120 s.
 */
export async function waitReady(opsPort: number, child: ServeChild, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Not kept alive: an idle connection left behind would count against operations.maxConnections.
      const res = await request(`http://127.0.0.1:${opsPort}/readyz`, { reset: true });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (child.process.exitCode !== null) throw new Error(`serve exited early:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`serve not ready:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `Authorization` value for a directory user, minted by `iamgate token` from the configuration's development issuer. */
export async function mintBearer(configFile: string, user: string): Promise<string> {
  const lines: string[] = [];
  const code = await runCli(['token', user, '--config', configFile], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
  if (code !== 0) throw new Error(`iamgate token ${user} failed: ${lines.join('\n')}`);
  return `Bearer ${lines.join('').trim()}`;
}

/** Open descriptors of a process. */
export async function openDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Resident set size of a process, bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) * 1024;
}

/** A counter's or gauge's value on a Prometheus text page (0 when the series is absent). */
export function metricValue(page: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  for (const line of page.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** The operations port's `/metrics` page, on a connection closed after it (no descriptor left open in the gateway). */
export async function metricsPage(opsPort: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${opsPort}/metrics`, { reset: true });
  return res.body.text();
}

/** A temporary folder made before the suite's tests and removed after them; the result reads its path. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the temporary folder is made in beforeAll');
    return dir;
  };
}

/**
 * Writes `<dir>/<name>.yaml`: a production configuration on loopback over the example policies,
 * its state in `stateDir` (default `<dir>/<name>-state`), the STS off, and `extra` lines (default: an unsigned audit trail).
 */
export async function exampleProductionConfig(dir: string, name: string, extra: readonly string[] = [], stateDir = join(dir, `${name}-state`)): Promise<string> {
  const policies = fileURLToPath(new URL('../../policies/', import.meta.url));
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'version: 1',
      'mode: production',
      'listen: { host: 127.0.0.1 }',
      'operations: { host: 127.0.0.1 }',
      `policies: { directory: ${join(policies, 'directory.yaml')}, routes: ${join(policies, 'routes.yaml')}, watch: false }`,
      `auth: { stateDir: ${stateDir}, sts: { enabled: false } }`,
      ...(extra.length > 0 ? extra : ['audit: { sign: false }']),
    ].join('\n'),
  );
  return file;
}
