// Replay rebuilds each recorded decision's context from what the record keeps (caller, second
// factor, method, path, source address, time). A candidate whose policies read what the token
// asserted and the record does not keep (a user's token tags; a web identity's provider, sub and
// aud) is replayed as an approximation and says which fact is missing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/audit/schema.js';
import { loadPolicyWorld, replayTrail, type PolicyWorld } from '../../src/policy-testing/index.js';

const ACCOUNT = '111122223333';
const allowOrders = (condition: string): string =>
  `{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "orders:*", Resource: "*", Condition: ${condition} }] }`;

const DIRECTORY = `
version: 1
account: "${ACCOUNT}"
partition: aws
users:
  alice:
    tags: { team: orders }
    inlinePolicies: { P: ${allowOrders('{ StringEquals: { "aws:PrincipalTag/team": orders } }')} }
  bob:
    inlinePolicies: { P: ${allowOrders('{ Bool: { "aws:MultiFactorAuthPresent": "true" } }')} }
  carol:
    inlinePolicies: { P: ${allowOrders('{ "Null": { "aws:SourceIp": "true" } }')} }
roles:
  Worker:
    inlinePolicies: { P: ${allowOrders('{ StringEquals: { "kubernetes.default.svc:sub": "system:serviceaccount:orders:worker" } }')} }
    trustPolicy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { Federated: kubernetes.default.svc }, Action: sts:AssumeRoleWithWebIdentity }] }
  Operator:
    inlinePolicies: { P: ${allowOrders('{ StringEquals: { "aws:SourceIdentity": alice } }')} }
    trustPolicy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"] }] }
`;
const ROUTES = `
version: 1
service: orders
arnPrefix: "arn:aws:orders:us-east-1:${ACCOUNT}:"
unmatched: deny
routes:
  - route: GET /orders/:id
    action: orders:GetOrder
    resource: order/\${id}
`;

/** One request record as the gateway writes it, with the fields replay reads. */
function record(seq: number, arn: string, decision: 'Allow' | 'Deny', mfa = false, reason = decision === 'Allow' ? 'allowed' : 'implicit_deny'): { ref: string; text: string; complete: boolean } {
  const fields = {
    schemaVersion: SCHEMA_VERSION, instanceId: 'replay-test', seq, kind: 'request', prev: '0'.repeat(64), hash: String(seq).padStart(64, '0'),
    time: '2026-01-15T12:00:00.000Z', requestId: `r${seq}`, method: 'GET', path: '/orders/7', sourceIp: '10.0.0.5',
    principal: { arn, type: arn.includes(':assumed-role/') ? 'web-identity' : 'user' }, authn: { mfa }, decision, reason,
  };
  return { ref: `line ${seq}`, text: JSON.stringify(fields), complete: true };
}

/** The record with the source identity its role session carried, as the gateway writes it. */
function withSourceIdentity(entry: { ref: string; text: string; complete: boolean }, sourceIdentity: string): { ref: string; text: string; complete: boolean } {
  const fields = JSON.parse(entry.text) as { principal: Record<string, unknown> };
  fields.principal['sourceIdentity'] = sourceIdentity;
  return { ...entry, text: JSON.stringify(fields) };
}

/** The record with the source address the gateway wrote in it. */
function withSourceIp(entry: { ref: string; text: string; complete: boolean }, sourceIp: string): { ref: string; text: string; complete: boolean } {
  return { ...entry, text: JSON.stringify({ ...(JSON.parse(entry.text) as object), sourceIp }) };
}

describe('replay of decisions whose context the trail does not fully keep', () => {
  let dir: string;
  let world: PolicyWorld;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-replay-ctx-'));
    await writeFile(join(dir, 'directory.yaml'), DIRECTORY);
    await writeFile(join(dir, 'routes.yaml'), ROUTES);
    const load = await loadPolicyWorld(dir, { directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml') });
    if (!load.ok) throw new Error(JSON.stringify(load.findings));
    world = load.world;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('marks a user’s decision on aws:PrincipalTag approximate, since the token may have asserted other tags', async () => {
    const report = await replayTrail([record(1, `arn:aws:iam::${ACCOUNT}:user/alice`, 'Deny')], world);
    expect(report).toMatchObject({ replayed: 1, approximate: 1 });
    expect(report.changes.map((c) => c.missing)).toEqual([['the tags the token asserted']]);
  });

  it('marks a web-identity session’s decision on its sub approximate, naming the web identity', async () => {
    const report = await replayTrail([record(1, `arn:aws:sts::${ACCOUNT}:assumed-role/Worker/system.serviceaccount.orders.worker`, 'Allow')], world);
    expect(report).toMatchObject({ replayed: 1, approximate: 1 });
    expect(report.changes.map((c) => c.missing)).toEqual([["the session's session policy and tags", "the web identity's provider, sub and aud"]]);
  });

  it('replays a role session’s decision with the source identity the record keeps, as aws:SourceIdentity', async () => {
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/Operator/ops`;
    const report = await replayTrail([withSourceIdentity(record(1, session, 'Allow'), 'alice'), withSourceIdentity(record(2, session, 'Allow'), 'mallory'), record(3, session, 'Allow')], world);
    expect(report).toMatchObject({ replayed: 3 });
    expect(report.changes.map((c) => c.ref)).toEqual(['line 2', 'line 3']);
  });

  it('replays an address the gateway could not read as unknown, also where an older build wrote it empty, so Null "true" grants it nothing', async () => {
    const carol = `arn:aws:iam::${ACCOUNT}:user/carol`;
    const report = await replayTrail([withSourceIp(record(1, carol, 'Deny'), 'unknown'), withSourceIp(record(2, carol, 'Deny'), '')], world);
    expect(report).toMatchObject({ replayed: 2, changes: [] });
  });

  it('replays a decision on a key the record keeps (the second factor) exactly', async () => {
    const report = await replayTrail([record(1, `arn:aws:iam::${ACCOUNT}:user/bob`, 'Allow', true), record(2, `arn:aws:iam::${ACCOUNT}:user/bob`, 'Deny', false, 'mfa_required')], world);
    expect(report).toMatchObject({ replayed: 2, approximate: 0, changes: [] });
  });
});
