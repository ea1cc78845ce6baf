// Refused connections cannot hold descriptors: 10,000 refused upgrades of each kind from one
// client that writes one more byte after the answer and never closes its side leave the gateway
// process's open descriptors and resident memory flat, each counted by reason, and the next
// allowed request is served. The gateway runs as `iamgate serve` in a child process so that its
// /proc/PID/fd can be read.
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devConfigYaml } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { metricsPage, metricValue, mintBearer, openDescriptors, residentBytes, serve, waitReady, type ServeChild } from '../support/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

const REFUSALS = 10_000;
/** Connections the client keeps open at once. */
const WINDOW = 200;
/** Resident memory a run may add once warm: a leak of 10,000 sockets costs far more. */
const RSS_ALLOWANCE = 48 * 1024 * 1024;

const WEBSOCKET = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/**
 * Sends `payload`, writes one more byte once the answer has begun to arrive, and never ends or
 * closes its side. Resolves with the answer's status once the server has closed the connection,
 * or -1 if it has not within `patienceMs` (the descriptor is then held: what the test must catch).
 */
function refusedOnce(port: number, payload: string, patienceMs = 15_000): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = '';
    let status = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(-1);
    }, patienceMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      if (status !== 0) return;
      head += d;
      if (head.length < 12) return;
      status = Number(head.slice(9, 12));
      socket.write('x');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(status);
    });
    socket.on('connect', () => socket.write(payload));
  });
}

/** `count` refusals, `WINDOW` at a time; the statuses seen, with how often. */
async function flood(port: number, payload: string, count: number): Promise<Record<number, number>> {
  const seen: Record<number, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const status = await refusedOnce(port, payload);
      seen[status] = (seen[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return seen;
}

let dir: string;
let upstream: TestUpstream;
let child: ServeChild;
let port: number;
let opsPort: number;
let alice: string;
let bob: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-refused-'));
  upstream = await startTestUpstream();
  port = await freePort();
  opsPort = await freePort();
  const file = join(dir, 'iamgate.yaml');
  const audit = ['audit:', `  sink: file`, `  file: { path: "${join(dir, 'audit.jsonl')}" }`, '  durability: batched'];
  await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url, extra: audit }));
  child = serve(['--config', file]);
  await waitReady(opsPort, child);
  alice = await mintBearer(file, 'alice');
  bob = await mintBearer(file, 'bob');
}, 60_000);

afterAll(async () => {
  if (child?.process.exitCode === null) {
    child.process.kill('SIGTERM');
    await child.exit;
  }
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const filler = (n: number): string => Array.from({ length: n }, (_, i) => `x-f${i}: ${i}\r\n`).join('');

const KINDS: readonly { name: string; status: number; reason: string; payload: () => string }[] = [
  { name: 'a WebSocket upgrade without a token', status: 401, reason: 'unauthenticated', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}\r\n` },
  { name: 'a WebSocket upgrade the policies deny', status: 403, reason: 'access_denied', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${bob}\r\n${WEBSOCKET}\r\n` },
  {
    name: 'an h2c upgrade',
    status: 400,
    reason: 'unsupported_upgrade',
    payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
  },
  { name: 'an upgrade with too many header lines', status: 431, reason: 'too_many_headers', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}${filler(250)}\r\n` },
  { name: 'an upgrade whose header block is too large', status: 431, reason: 'headers_too_large', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}X-Pad: ${'a'.repeat(20_000)}\r\n\r\n` },
];

describe('refused upgrades from a client that sends one more byte and never closes', () => {
  it.each(KINDS)('$name ($status) ×10,000 leaves descriptors and memory flat, and the next allowed request succeeds', async (kind) => {
    const pid = child.process.pid!;
    // Warm: the first refusals of a kind allocate what every later one reuses.
    expect(await flood(port, kind.payload(), 200)).toEqual({ [kind.status]: 200 });
    const fdsBefore = await openDescriptors(pid);
    const rssBefore = await residentBytes(pid);
    const refusedBefore = metricValue(await metricsPage(opsPort), 'iamgate_refused_connections_total', { listener: 'gateway', reason: kind.reason });

    expect(await flood(port, kind.payload(), REFUSALS)).toEqual({ [kind.status]: REFUSALS });

    // Every connection was closed by the gateway (the client never closes): nothing is left open.
    const page = await metricsPage(opsPort);
    expect(metricValue(page, 'iamgate_refused_connections_total', { listener: 'gateway', reason: kind.reason }) - refusedBefore).toBe(REFUSALS);
    expect(metricValue(page, 'iamgate_connections_open', { listener: 'gateway' })).toBe(0);
    expect(await openDescriptors(pid)).toBeLessThanOrEqual(fdsBefore);
    expect(await residentBytes(pid)).toBeLessThan(rssBefore + RSS_ALLOWANCE);

    const res = await request(`http://127.0.0.1:${port}/public/readme`, { headers: { authorization: alice } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  }, 300_000);
});
