// Shadow evaluation through the real gateway over loopback HTTP: a candidate directory decides
// every request beside the live one. The callers' answers and what reaches the upstream stay the
// live ones; each disagreement leaves a `shadow` member in the request's audit record, counts in
// iamgate_shadow_disagreements_total by direction, and shows on the operations port's /shadow.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticTokenFacts } from '../../src/gateway/index.js';
import { createShadowPolicies } from '../../src/gateway/shadow.js';
import { createPrincipalResolver, loadDirectory, type Directory, type Principal } from '../../src/identity/index.js';
import { createContext, evaluate, type AuthzRequest } from '../../src/policy/index.js';
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

describe('the shadow candidate and groups the token asserts', () => {
  const example = fileURLToPath(new URL('../../policies/directory.yaml', import.meta.url));
  const now = Date.parse('2026-06-01T12:00:00Z');

  async function directories(candidateText: (live: string) => string) {
    const folder = await mkdtemp(join(tmpdir(), 'iamgate-shadow-groups-'));
    try {
      await cp(join(example, '..'), folder, { recursive: true });
      const file = join(folder, 'directory.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, candidateText(text));
      const [live, candidate] = [await loadDirectory(example), await loadDirectory(file)];
      if (!live.directory || !candidate.directory) throw new Error(`a directory does not load: ${JSON.stringify([...live.findings, ...candidate.findings])}`);
      return { live: live.directory, candidate: candidate.directory };
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  function bobAsking(live: Directory, groups: readonly string[], action: string): { bob: Principal; request: AuthzRequest; liveAllowed: boolean } {
    const resolved = createPrincipalResolver(live).user({ ...syntheticTokenFacts('https://idp.example', 'pwd', false, now), userName: 'bob', groups }, now);
    if (!resolved.ok) throw new Error(resolved.reason);
    const bob = resolved.principal;
    const request: AuthzRequest = { principal: bob.arn, action, resource: 'arn:aws:orders:us-east-1:111122223333:order', context: createContext(bob.context) };
    return { bob, request, liveAllowed: evaluate(bob.policySet, request).decision === 'Allow' };
  }

  it('decides a user with the groups its token added, as the candidate served live would: a candidate equal to the live set never disagrees', async () => {
    const { live, candidate } = await directories((text) => text);
    const { bob, request, liveAllowed } = bobAsking(live, ['developers'], 'orders:CreateOrder');
    expect(liveAllowed, 'the developers group the token adds lets bob create orders').toBe(true);
    expect(createShadowPolicies(candidate, live, 'candidate').judge(bob, request, liveAllowed)).toBeUndefined();
  });

  it('tells the groups the live directory lists from those the token added: a group the candidate takes away is gone', async () => {
    const { live, candidate } = await directories((text) => text.replace('groups: [auditors]', 'groups: []'));
    const { bob, request, liveAllowed } = bobAsking(live, [], 'orders:GetOrder');
    expect(liveAllowed).toBe(true);
    expect(createShadowPolicies(candidate, live, 'candidate').judge(bob, request, liveAllowed)).toBe('would_deny');
  });
});
