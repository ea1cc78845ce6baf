// Starts a private redis-server on a free loopback port for one test suite, so the suite can stop,
// pause (SIGSTOP) and restart it to test outages. With REDIS_URL set, startRedis uses that server
// instead, without outage controls; suites that test outages use startOwnedRedis, which starts one
// of their own whatever REDIS_URL says.
import { spawn, type ChildProcess } from 'node:child_process';
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

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  // The kernel may hand the same free port out twice in a row once it is closed again: a port given
  // before in this test process is never given again, so two ports asked in a row (a gateway's and
  // its operations port) always differ.
  for (;;) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

const handedOut = new Set<number>();

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
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
