// Saturation is visible: at listen.maxConnections, or when accepting fails for lack of file
// descriptors, /readyz answers not-ready with the reason (so Kubernetes stops sending traffic to a
// replica that cannot serve) and the metrics show it; both clear once connections are free again.
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devConfigYaml, useTestGateway } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { metricsPage, metricValue, serve, waitReady, type ServeChild } from '../support/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { DESCRIPTOR_HEADROOM } from '../../src/gateway/sockets.js';

interface Readiness {
  readonly status: number;
  readonly reasons: readonly string[];
}

async function readiness(opsPort: number): Promise<Readiness> {
  const res = await request(`http://127.0.0.1:${opsPort}/readyz`, { reset: true });
  const body = (await res.body.json()) as { reasons: string[] };
  return { status: res.statusCode, reasons: body.reasons };
}

/** Opens a connection and resolves once the gateway has accepted it (its answer to a first request came back). */
function openConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => resolve(socket));
  });
}

/** Polls `probe` until it holds; fails the test with the last value after a generous deadline. */
async function until<T>(probe: () => Promise<T>, holds: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (holds(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('at listen.maxConnections', () => {
  const gw = useTestGateway({ config: { listen: { host: '127.0.0.1', port: 0, maxConnections: 3 } } });
  const held: net.Socket[] = [];
  afterAll(() => {
    for (const s of held) s.destroy();
  });

  it('answers /readyz not-ready with the reason, shows the count and the limit, and is ready again once a connection closes', async () => {
    const opsPort = Number(new URL(gw.opsUrl).port);
    const port = Number(new URL(gw.url).port);
    expect((await readiness(opsPort)).status).toBe(200);
    for (let i = 0; i < 3; i++) held.push(await openConnection(port));
    const full = await until(() => readiness(opsPort), (r) => r.status === 503);
    expect(full.status).toBe(503);
    expect(full.reasons).toContain('gateway listener at listen.maxConnections (3 connections open)');
    const page = await (await request(`${gw.opsUrl}/metrics`, { reset: true })).body.text();
    expect(metricValue(page, 'iamgate_connections_open', { listener: 'gateway' })).toBe(3);
    expect(metricValue(page, 'iamgate_connections_limit', { listener: 'gateway' })).toBe(3);

    // One more is dropped as it arrives, and counted.
    const extra = await openConnection(port);
    await new Promise<void>((resolve) => extra.once('close', () => resolve()));
    const dropped = await until(
      async () => metricValue(await (await request(`${gw.opsUrl}/metrics`, { reset: true })).body.text(), 'iamgate_refused_connections_total', { listener: 'gateway', reason: 'max_connections' }),
      (n) => n === 1,
    );
    expect(dropped).toBe(1);

    held.pop()!.destroy();
    const again = await until(() => readiness(opsPort), (r) => r.status === 200);
    expect(again).toEqual({ status: 200, reasons: [] });
  });
});

describe('out of file descriptors', () => {
  let dir: string;
  let upstream: TestUpstream;
  let child: ServeChild;
  let port: number;
  let opsPort: number;
  const held: net.Socket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-emfile-'));
    upstream = await startTestUpstream();
    port = await freePort();
    opsPort = await freePort();
    const file = join(dir, 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url }));
    // Few descriptors: enough to start, soon exhausted by idle connections.
    child = serve(['--config', file], { maxFiles: 128 });
    await waitReady(opsPort, child);
  }, 120_000);

  afterAll(async () => {
    for (const s of held) s.destroy();
    if (child?.process.exitCode === null) {
      child.process.kill('SIGTERM');
      await child.exit;
    }
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers /readyz not-ready while descriptors are nearly exhausted, keeps answering probes, and is ready again once they are free', async () => {
    // Idle connections, one at a time, until readiness says the descriptors are nearly gone.
    let state = await readiness(opsPort);
    for (let i = 0; i < 128 && state.status === 200; i++) {
      const s = await openConnection(port);
      s.on('error', () => undefined);
      held.push(s);
      // Counted by the gateway once accepted.
      await until(async () => metricValue(await metricsPage(opsPort), 'iamgate_connections_open', { listener: 'gateway' }), (n) => n === held.length);
      state = await readiness(opsPort);
    }
    expect(state.status).toBe(503);
    expect(state.reasons.some((r) => /^file descriptors nearly exhausted \(\d+ of 128 open\)$/.test(r))).toBe(true);
    const page = await metricsPage(opsPort);
    expect(metricValue(page, 'iamgate_process_max_fds')).toBe(128);
    // The held connections, and what the process needs besides (its log, the listeners, the runtime).
    expect(metricValue(page, 'iamgate_process_open_fds')).toBeGreaterThan(held.length);
    expect(held.length).toBeLessThanOrEqual(128 - DESCRIPTOR_HEADROOM);

    for (const s of held.splice(0)) s.destroy();
    const back = await until(() => readiness(opsPort), (r) => r.status === 200);
    expect(back).toEqual({ status: 200, reasons: [] });
  }, 60_000);
});
