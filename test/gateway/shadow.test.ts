// Shadow evaluation through the real gateway over loopback HTTP: a candidate directory decides
// every request beside the live one. The callers' answers and what reaches the upstream stay the
// live ones; each disagreement leaves a `shadow` member in the request's audit record, counts in
// iamgate_shadow_disagreements_total by direction, and shows on the operations port's /shadow.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startTestGateway, type TestGateway } from '../support/gateway.js';
import { openTunnel } from '../support/websocket.js';

let shadowDir: string;
let gw: TestGateway;

beforeAll(async () => {
  shadowDir = await mkdtemp(join(tmpdir(), 'iamgate-shadow-'));
  const live = await readFile(FIXTURES.directory, 'utf8');
  // The candidate gives bob creating orders (would allow) and takes listing orders from alice (would deny).
  const candidate = live
    .replace('Action: [orders:GetOrder, orders:ListOrders]\n', 'Action: [orders:GetOrder, orders:ListOrders, orders:CreateOrder]\n')
    .replace('Resource: "arn:aws:orders:us-east-1:111122223333:order/*"\n          - Sid: NoSecrets', 'Resource: ["arn:aws:orders:us-east-1:111122223333:order/*", "arn:aws:orders:us-east-1:111122223333:order"]\n          - Sid: NoSecrets')
    .replace('Action: [orders:GetOrder, orders:ListOrders, orders:CreateOrder, orders:UpdateOrder,', 'Action: [orders:GetOrder, orders:CreateOrder, orders:UpdateOrder,');
  expect(candidate).not.toBe(live);
  await writeFile(join(shadowDir, 'directory.yaml'), candidate);
  gw = await startTestGateway({ files: { shadow: shadowDir } });
});

afterAll(async () => {
  await gw?.close();
  await rm(shadowDir, { recursive: true, force: true });
});

async function call(method: string, path: string, user: string): Promise<{ status: number; requestId: string }> {
  const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: await gw.bearer(user) }, ...(method === 'POST' ? { body: '{}' } : {}) });
  await res.arrayBuffer();
  return { status: res.status, requestId: res.headers.get('x-iamgate-request-id') ?? '' };
}

describe('shadow evaluation (policies.shadow)', () => {
  it('keeps the live answers, records each disagreement by direction, and summarises them on /shadow', async () => {
    const before = gw.upstream.received.length;
    const agree = await call('GET', '/orders/1', 'alice');
    const wouldDeny = await call('GET', '/orders', 'alice');
    const wouldAllow = await call('POST', '/orders', 'bob');
    const deniedBoth = await call('DELETE', '/orders/1', 'bob');

    // The live policies decide: alice lists (200) and bob may not create (403).
    expect([agree.status, wouldDeny.status, wouldAllow.status, deniedBoth.status]).toEqual([200, 200, 403, 403]);
    // Only the two requests the live policies allowed reached the upstream.
    expect(gw.upstream.received.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual(['GET /orders/1', 'GET /orders']);

    const shadowOf = (requestId: string): unknown => {
      const records = gw.audit.decisionsFor(requestId);
      expect(records).toHaveLength(1);
      return records[0]?.shadow;
    };
    expect(shadowOf(agree.requestId)).toBeUndefined();
    expect(shadowOf(wouldDeny.requestId)).toBe('would_deny');
    expect(shadowOf(wouldAllow.requestId)).toBe('would_allow');
    expect(shadowOf(deniedBoth.requestId)).toBeUndefined();

    const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
    expect(metrics).toContain('iamgate_shadow_disagreements_total{direction="would_deny"} 1');
    expect(metrics).toContain('iamgate_shadow_disagreements_total{direction="would_allow"} 1');

    const summary = (await (await fetch(`${gw.opsUrl}/shadow`)).json()) as {
      enabled: boolean;
      source: string;
      evaluated: number;
      disagreements: Record<string, number>;
      recent: { direction: string; principal: string; action: string }[];
    };
    expect(summary).toMatchObject({ enabled: true, source: shadowDir, evaluated: 4, disagreements: { would_allow: 1, would_deny: 1 } });
    expect(summary.recent.map((d) => [d.direction, d.principal, d.action])).toEqual([
      ['would_deny', 'arn:aws:iam::111122223333:user/alice', 'orders:ListOrders'],
      ['would_allow', 'arn:aws:iam::111122223333:user/bob', 'orders:CreateOrder'],
    ]);
  });
});

describe('shadow evaluation of a WebSocket tunnel decided again after a reload', () => {
  let candidateDir: string;
  let tunnelGw: TestGateway;

  beforeAll(async () => {
    candidateDir = await mkdtemp(join(tmpdir(), 'iamgate-shadow-tunnel-'));
    const live = await readFile(FIXTURES.directory, 'utf8');
    // The candidate takes opening streams from alice: her tunnel is one would_deny.
    const candidate = live.replace('orders:Download, orders:Stream]', 'orders:Download]');
    expect(candidate).not.toBe(live);
    await writeFile(join(candidateDir, 'directory.yaml'), candidate);
    // Reloads only when the test asks.
    tunnelGw = await startTestGateway({ files: { shadow: candidateDir }, config: { websocket: { maxLifetimeMs: 0 }, policies: { watch: false } } });
  });

  afterAll(async () => {
    await tunnelGw?.close();
    await rm(candidateDir, { recursive: true, force: true });
  });

  it('records the one request that opened it once, as its one audit record does, however often the tunnel is decided again', async () => {
    const tunnel = await openTunnel(`${tunnelGw.url}/ws`, await tunnelGw.bearer('alice'));
    expect(await tunnel.echo('before')).toBe('echo:before');
    for (let i = 0; i < 2; i++) expect((await tunnelGw.gateway.reload()).ok).toBe(true);
    expect(await tunnel.echo('after'), 'the live policies still allow the tunnel').toBe('echo:after');

    const opened = tunnelGw.audit.events.filter((e) => e.kind !== 'outcome' && e.action === 'orders:Stream');
    expect(opened.map((e) => e.shadow)).toEqual(['would_deny']);
    const summary = (await (await fetch(`${tunnelGw.opsUrl}/shadow`)).json()) as { evaluated: number; disagreements: Record<string, number>; recent: unknown[] };
    expect(summary).toMatchObject({ evaluated: 1, disagreements: { would_allow: 0, would_deny: 1 } });
    expect(summary.recent).toHaveLength(1);
    const metrics = await (await fetch(`${tunnelGw.opsUrl}/metrics`)).text();
    expect(metrics).toContain('iamgate_shadow_disagreements_total{direction="would_deny"} 1');
    tunnel.close();
  });
});
