// Starts a private redis-server on a free loopback port for one test suite, so the suite can stop,
// pause (SIGSTOP) and restart it to test outages. With REDIS_URL set, startRedis uses that server
// instead, without outage controls; suites that test outages use startOwnedRedis, which starts one
// of their own whatever REDIS_URL says.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect } from './net.js';
import { findBinary, missingBinary } from './services.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * A loopback port nothing listens on, kept for the caller until this test process ends: for a child
 * process (redis-server, nginx, `iamgate serve`) to listen on, or for a refused connection.
 *
 * A port that is only free when asked may be taken before the child binds it, which can be seconds
 * later (a cold tsx start): by an outgoing connection, whose local port the kernel picks from its
 * ephemeral range (net.ipv4.ip_local_port_range), or by another test process asking at the same time.
 * So ports come from below the ephemeral range, where the kernel never picks one by itself, and each
 * is claimed with a file no other test process on the machine can create while this one lives.
 */
export async function freePort(): Promise<number> {
  const [low, high] = claimableRange();
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (claim(port) && (await bindable(port))) return port;
  }
  throw new Error(`no free loopback port between ${low} and ${high}`);
}

/** Where each test process claims its ports, one file per port holding the claimer's pid. */
const CLAIMS = join(tmpdir(), 'iamgate-test-ports');
const claimed: string[] = [];

/** The ports below the kernel's ephemeral range that tests may claim. */
function claimableRange(): [number, number] {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: the IANA dynamic range starts at 49152, above the default kept here
  }
  const high = Math.min(ephemeralLow, 32_768) - 1;
  return [Math.min(20_000, high - 2000), high];
}

/** Takes `port` for this process unless a live process holds its claim; a dead claimer's claim is taken over. */
function claim(port: number): boolean {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o777 });
  const file = join(CLAIMS, String(port));
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o666 });
      if (claimed.push(file) === 1) process.once('exit', () => claimed.forEach((f) => rmSync(f, { force: true })));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (holderAlive(file)) return false;
    rmSync(file, { force: true });
  }
  return false;
}

/** Whether the process named in a claim file still runs (an unreadable or half-written claim counts as held). */
function holderAlive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Whether nothing (of ours or not) listens on the loopback port now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The redis-server binary (on PATH, or where `npm test`'s pretest step installed it). */
export const REDIS_SERVER = findBinary('redis-server');

/**
 * Waits until the child listens on `port`; fails at once when it cannot be spawned or exits first,
 * so a suite reports one clear error instead of waiting out the deadline.
 */
export async function waitForChild(child: ChildProcess, name: string, port: number, timeoutMs = 10_000): Promise<void> {
  let failure: Error | undefined;
  child.once('error', (err) => (failure ??= new Error(`${name} could not start: ${err.message}`)));
  child.once('exit', (code, signal) => (failure ??= new Error(`${name} exited (${signal ?? `code ${code}`}) before listening on ${port}`)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failure) throw failure;
    if (await canConnect(port)) return;
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a redis-server for this suite (or wraps REDIS_URL when set). */
export async function startRedis(): Promise<TestRedis> {
  const external = process.env['REDIS_URL'];
  if (external) {
    const port = Number(new URL(external).port || 6379);
    const unsupported = async (): Promise<void> => {
      throw new Error('outage controls need a suite-owned redis-server (unset REDIS_URL)');
    };
    return {
      url: external,
      port,
      stop: unsupported,
      start: unsupported,
      pause: () => {
        throw new Error('outage controls need a suite-owned redis-server');
      },
      resume: () => undefined,
      close: async () => undefined,
    };
  }
  return startOwnedRedis();
}

/**
 * Starts a redis-server of this suite's own even when REDIS_URL is set: for suites that stop, pause
 * or restart it to test outages, which a shared server cannot take. `npm test`'s pretest step
 * provides the binary; without it this fails with the command to install it, never skips.
 */
export async function startOwnedRedis(): Promise<TestRedis> {
  const binary = REDIS_SERVER;
  if (!binary) throw missingBinary('redis-server', 'redis-server');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-redis-'));
  let child: ChildProcess | undefined;
  let paused = false;

  const start = async (): Promise<void> => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    await waitForChild(child, 'redis-server', port);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
    if (paused) c.kill('SIGCONT');
    paused = false;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  try {
    await start();
  } catch (err) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    pause: () => {
      paused = true;
      child?.kill('SIGSTOP');
    },
    resume: () => {
      paused = false;
      child?.kill('SIGCONT');
    },
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
