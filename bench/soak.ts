// Soak: `iamgate serve` (compiled, a child process) under mixed load for SOAK_SECONDS (default 600):
// allowed, denied and unauthenticated requests, refused upgrades from clients that send one more
// byte and never close, WebSocket tunnels opened, used and closed, and policy reloads. Records the
// gateway's open descriptors, resident memory and event-loop delay near the start and at the end,
// then stops it with SIGTERM and verifies its audit trail. Figures: docs/security.md, "Soak".
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { runCli } from '../src/cli/cli.js';
import { refusalKinds, refusedOnce } from '../test/adversarial/support/refusals.js';
import { devConfigYaml } from '../test/support/gateway.js';
import { freePort } from '../test/support/redis.js';
import { metricsPage, metricValue, mintBearer, openDescriptors, residentBytes, waitReady, type ServeChild } from '../test/support/serve-process.js';
import { startTestUpstream } from '../test/support/upstream.js';

const SECONDS = Number(process.env['SOAK_SECONDS'] ?? '600');
/** Length of the windows over which event-loop delay is measured at the start and at the end, s. */
const WINDOW_SECONDS = Math.min(60, Math.max(5, Math.floor(SECONDS / 4)));
const RELOAD_EVERY_MS = 10_000;
/** Wait after the load before the last sample: past the listener's and the upstream pool's keep-alive (5 s and 4 s by default). */
const SETTLE_MS = 6_000;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Sample {
  readonly descriptors: number;
  readonly rssMiB: number;
}

interface LoopDelay {
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Event-loop delay since the previous scrape (prom-client resets its histogram on each). */
function loopDelay(page: string): LoopDelay {
  const ms = (name: string): number => Math.round(metricValue(page, `iamgate_nodejs_eventloop_lag_${name}_seconds`) * 1e5) / 100;
  return { meanMs: ms('mean'), p99Ms: ms('p99'), maxMs: ms('max') };
}

async function sample(pid: number): Promise<Sample> {
  return { descriptors: await openDescriptors(pid), rssMiB: Math.round((await residentBytes(pid)) / 1024 / 102.4) / 10 };
}

/** What the test upstream answers to the frame a tunnel sends. */
const ECHO = 'echo:soak';

/** One WebSocket tunnel: handshake, one echoed text frame, a close frame; resolves true when all of it came back. */
function tunnel(port: number, authorization: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const mask = Buffer.from([1, 2, 3, 4]);
    const text = Buffer.from('soak');
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, Buffer.from(text.map((b, i) => b ^ mask[i % 4]!))]);
    let received = Buffer.alloc(0);
    let stage: 'handshake' | 'echo' | 'closing' = 'handshake';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 10_000);
    socket.on('error', () => done(false));
    socket.on('close', () => done(stage === 'closing'));
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (stage === 'handshake') {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!received.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) return done(false);
        received = received.subarray(end + 4);
        stage = 'echo';
        socket.write(frame);
      }
      if (stage === 'echo' && received.length >= 2 + ECHO.length) {
        if (received.subarray(2, 2 + ECHO.length).toString() !== ECHO) return done(false);
        stage = 'closing';
        socket.write(Buffer.concat([Buffer.from([0x88, 0x80]), mask]));
      }
    });
    socket.on('connect', () =>
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ),
    );
  });
}

export async function runSoak(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-soak-'));
  const upstream = await startTestUpstream();
  const port = await freePort();
  const opsPort = await freePort();
  const config = join(dir, 'iamgate.yaml');
  const trail = join(dir, 'audit.jsonl');
  const audit = ['audit:', '  sink: file', `  file: { path: "${trail}" }`, '  durability: batched', `  publicKeyFile: "${join(dir, 'audit.pem')}"`];
  await writeFile(config, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url, extra: audit }));
  const proc = spawn(process.execPath, [MAIN, 'serve', '--config', config], { env: { ...process.env, IAMGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  proc.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const child: ServeChild = { process: proc, exit: new Promise((r) => proc.once('exit', (code) => r(code))), output: () => output };
  const counts = new Map<string, number>();
  const count = (what: string): void => void counts.set(what, (counts.get(what) ?? 0) + 1);
  try {
    await waitReady(opsPort, child);
    const alice = await mintBearer(config, 'alice');
    const bob = await mintBearer(config, 'bob');
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
    let running = true;
    const get = async (kind: string, path: string, authorization?: string): Promise<void> => {
      try {
        const res = await pool.request({ method: 'GET', path, headers: authorization ? { authorization } : {} });
        await res.body.dump();
        count(`${kind} ${res.statusCode}`);
      } catch {
        count(`${kind} error`);
      }
    };
    const loop = (work: () => Promise<void>) => async (): Promise<void> => {
      while (running) await work();
    };
    const kinds = refusalKinds(() => bob);
    let refusal = 0;
    const workers = [
      ...Array.from({ length: 4 }, () => loop(() => get('allow', '/orders/1', alice))),
      loop(() => get('deny', '/orders/secret-1', bob)),
      loop(() => get('unauthenticated', '/orders/1')),
      ...Array.from({ length: 6 }, () =>
        loop(async () => {
          const kind = kinds[refusal++ % kinds.length]!;
          count(`refused upgrade ${await refusedOnce(port, kind.payload(), { patienceMs: 10_000 })}`);
        }),
      ),
      loop(async () => count(`tunnel ${(await tunnel(port, alice)) ? 'ok' : 'failed'}`)),
      loop(async () => {
        await sleep(RELOAD_EVERY_MS);
        const res = await request(`http://127.0.0.1:${opsPort}/v1/policies/reload`, { method: 'POST', reset: true });
        await res.body.dump();
        count(`reload ${res.statusCode}`);
      }),
    ];
    const pid = proc.pid!;
    const load = Promise.all(workers.map((w) => w()));
    await sleep(5_000);
    const start = await sample(pid);
    loopDelay(await metricsPage(opsPort));
    await sleep(WINDOW_SECONDS * 1000);
    const startDelay = loopDelay(await metricsPage(opsPort));
    await sleep(Math.max(0, (SECONDS - 5 - 2 * WINDOW_SECONDS) * 1000));
    loopDelay(await metricsPage(opsPort));
    await sleep(WINDOW_SECONDS * 1000);
    const endDelay = loopDelay(await metricsPage(opsPort));
    const endLoaded = await sample(pid);
    running = false;
    await load;
    await pool.close();
    // What the load held open is released; what is left is what the gateway keeps.
    await sleep(SETTLE_MS);
    const end = await sample(pid);
    proc.kill('SIGTERM');
    const exitCode = await child.exit;
    const verifyLines: string[] = [];
    const verified = await runCli(['audit', 'verify', trail, '--public-key', join(dir, 'audit.pem')], { stdout: (l) => verifyLines.push(l), stderr: (l) => verifyLines.push(l) });

    console.log(`\n## soak (${SECONDS} s of mixed load; event-loop delay over the first and last ${WINDOW_SECONDS} s)\n`);
    console.log('| | descriptors | RSS MiB | event-loop delay mean / p99 / max ms |');
    console.log('| --- | ---: | ---: | --- |');
    console.log(`| start (5 s in, under load) | ${start.descriptors} | ${start.rssMiB} | ${startDelay.meanMs} / ${startDelay.p99Ms} / ${startDelay.maxMs} |`);
    console.log(`| end (under load) | ${endLoaded.descriptors} | ${endLoaded.rssMiB} | ${endDelay.meanMs} / ${endDelay.p99Ms} / ${endDelay.maxMs} |`);
    console.log(`| end (${SETTLE_MS / 1000} s after the load stopped) | ${end.descriptors} | ${end.rssMiB} | |`);
    console.log('\n| what | answers |');
    console.log('| --- | ---: |');
    for (const [what, n] of [...counts].sort()) console.log(`| ${what} | ${n.toLocaleString('en-US')} |`);
    console.log(`\nSIGTERM: exit ${exitCode}; audit verify: exit ${verified} (${verifyLines.at(-1) ?? ''})`);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
}
