// Shutdown cannot be held open by a client: SIGTERM the moment a refused upgrade is answered (its
// client still sending, never closing), with an idle keep-alive connection and a half-sent request
// open too, and `iamgate serve` exits 0 within shutdown.graceMs, having written the trail's final
// signed digest (`iamgate audit verify` accepts it, closed).
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { devConfigYaml } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { mintBearer, serve, waitReady, type ServeChild } from '../support/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { refusalKinds, refusedOnce } from './support/refusals.js';
import { exchange, responsesComplete, sleep } from './support/raw.js';

const GRACE_MS = 20_000;

let dir: string;
let upstream: TestUpstream;
let bob = '';
let run = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-shutdown-'));
  upstream = await startTestUpstream();
});

afterAll(async () => {
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Started {
  readonly child: ServeChild;
  readonly port: number;
  readonly file: string;
  readonly trail: string;
  readonly publicKey: string;
}

/** `iamgate serve` with its own trail file (signed, its public key written beside it). */
async function start(): Promise<Started> {
  run += 1;
  const port = await freePort();
  const opsPort = await freePort();
  const file = join(dir, `iamgate-${run}.yaml`);
  const trail = join(dir, `audit-${run}.jsonl`);
  const publicKey = join(dir, `audit-${run}.pem`);
  const audit = ['audit:', '  sink: file', `  file: { path: "${trail}" }`, `  publicKeyFile: "${publicKey}"`];
  await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url, extra: [`shutdown: { graceMs: ${GRACE_MS} }`, ...audit] }));
  const child = serve(['--config', file]);
  await waitReady(opsPort, child);
  return { child, port, file, trail, publicKey };
}

/** A connection that made one allowed request, got its answer, and stays open, idle. */
async function idleKeepAlive(port: number, authorization: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let text = '';
  const answered = responsesComplete(1);
  await new Promise<void>((resolve) => {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (answered(text)) resolve();
    });
    socket.on('connect', () => socket.write(`GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n\r\n`));
  });
  return socket;
}

async function verify(s: Started): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await runCli(['audit', 'verify', s.trail, '--public-key', s.publicKey], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
  return { code, output: lines.join('\n') };
}

describe('SIGTERM while refused, idle and half-sent connections are open', () => {
  it.each(refusalKinds(() => bob))('after $name ($status): exits 0 within the grace, with a closed trail that audit verify accepts', async (kind) => {
    const s = await start();
    try {
      bob = await mintBearer(s.file, 'bob');
      const alice = await mintBearer(s.file, 'alice');
      const idle = await idleKeepAlive(s.port, alice);
      // Headers begun, never finished.
      const halfSent = exchange(s.port, 'GET /public/readme HTTP/1.1\r\nHost: x\r\n', { timeoutMs: GRACE_MS + 10_000 });
      await sleep(50);
      let termSent: () => void = () => undefined;
      const terminated = new Promise<void>((resolve) => (termSent = resolve));
      const refused = refusedOnce(s.port, kind.payload(), {
        patienceMs: GRACE_MS + 10_000,
        onAnswer: () => {
          s.child.process.kill('SIGTERM');
          termSent();
        },
      });
      // The grace is counted from the signal, not from before the refused answer came (slow on a loaded machine).
      const graceOver = Promise.race([terminated, refused]).then(() => sleep(GRACE_MS)).then(() => 'still running after the grace' as const);
      const exited = await Promise.race([s.child.exit, graceOver]);
      expect(exited).toBe(0);
      expect(await refused).toBe(kind.status);
      expect((await halfSent).closedByServer).toBe(true);
      idle.destroy();
      const verified = await verify(s);
      expect(verified.output).not.toContain('unclosed');
      expect(verified.code).toBe(0);
    } finally {
      if (s.child.process.exitCode === null) s.child.process.kill('SIGKILL');
    }
  }, 150_000);
});
