// The access diff against brute force: for generated pairs of policy sets on the example
// directory and route map, every principal, every route, with and without a second factor and
// from several source addresses is decided under both sets through the gateway's own offline
// decision; every request whose decision changes must show in the diff, a change that only some
// contexts see must show as conditional, and a cell whose decisions all agree without conditions
// must not show at all. The seed is printed; IAMGATE_PROPERTY_SEED replays a run.
import fc from 'fast-check';
import { mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decideOffline, diffAccess, loadPolicyWorld, matrixColumns, matrixPrincipals, resolvePrincipal, type PolicyWorld } from '../../src/policy-testing/index.js';
import { EXAMPLE } from './cli.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const SEED = Number(process.env['IAMGATE_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ARN = 'arn:aws:orders:us-east-1:111122223333:';
const SOURCES = ['127.0.0.1', '10.1.2.3', '192.168.7.7'];

type Json = Record<string, unknown>;

const actions = fc.constantFrom('orders:*', 'orders:Get*', 'orders:*Order', 'orders:ListOrders', 'orders:CreateOrder', 'orders:DeleteOrder', 'orders:UpdateOrder', 'orders:?etOrder', '*');
const resources = fc.constantFrom('*', `${ARN}order`, `${ARN}order/*`, `${ARN}order/example`, `${ARN}order/\${aws:username}`, `${ARN}*`, 'arn:aws:other:*');
const conditions = fc.constantFrom<Json | undefined>(
  undefined,
  undefined,
  { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
  { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
  { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
  { NumericLessThan: { 'aws:MultiFactorAuthAge': '300' } },
  { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
  { NotIpAddress: { 'aws:SourceIp': '192.168.0.0/16' } },
  { DateLessThan: { 'aws:CurrentTime': '2100-01-01T00:00:00Z' } },
  { StringEquals: { 'aws:PrincipalTag/team': 'orders' } },
  { StringLike: { 'aws:username': 'c*' } },
  { StringEquals: { 'orders:Status': 'open' } },
  { Null: { 'aws:MultiFactorAuthAge': 'false' } },
);

const statement = fc.record({
  effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
  notAction: fc.boolean(),
  action: fc.array(actions, { minLength: 1, maxLength: 2 }),
  notResource: fc.boolean(),
  resource: fc.array(resources, { minLength: 1, maxLength: 2 }),
  condition: conditions,
});
type Statement = typeof statement extends fc.Arbitrary<infer T> ? T : never;

function document(statements: readonly Statement[]): Json {
  return {
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Effect: s.effect,
      [s.notAction ? 'NotAction' : 'Action']: s.action,
      [s.notResource && s.effect === 'Deny' ? 'NotResource' : 'Resource']: s.resource,
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  };
}

const POLICIES = ['P1', 'P2', 'P3'] as const;
const policyNames = fc.subarray([...POLICIES]);
const boundary = fc.option(fc.constantFrom(...POLICIES), { nil: undefined });

/** One policy version: three managed policies and who they are attached to. */
const version = fc.record({
  policies: fc.tuple(...POLICIES.map(() => fc.array(statement, { minLength: 1, maxLength: 3 }))),
  developers: policyNames,
  auditors: policyNames,
  admins: policyNames,
  carolOwn: policyNames,
  aliceBoundary: boundary,
  adminRole: policyNames,
  adminBoundary: boundary,
  carolGroups: fc.subarray(['developers', 'auditors', 'order-admins']),
});
type Version = typeof version extends fc.Arbitrary<infer T> ? T : never;

/** A pair: unrelated versions, or one version and the same with one policy rewritten. */
const pair = fc.oneof(
  fc.tuple(version, version),
  version.chain((v) => fc.tuple(fc.constant(v), fc.nat({ max: 2 }), fc.array(statement, { minLength: 1, maxLength: 3 })).map(([, i, st]) => {
    const policies = [...v.policies] as Version['policies'];
    policies[i] = st;
    return [v, { ...v, policies }] as [Version, Version];
  })),
);

function directoryOf(v: Version): Json {
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'sts:AssumeRole' }] };
  return {
    version: 1,
    account: '111122223333',
    policies: Object.fromEntries(POLICIES.map((name, i) => [name, { document: document(v.policies[i] as Statement[]) }])),
    groups: { developers: { policies: v.developers }, auditors: { policies: v.auditors }, 'order-admins': { policies: v.admins } },
    users: {
      alice: { path: '/engineering/', groups: ['developers'], tags: { team: 'orders' }, ...(v.aliceBoundary ? { boundary: v.aliceBoundary } : {}) },
      bob: { path: '/audit/', groups: ['auditors'], tags: { team: 'audit' } },
      carol: { groups: v.carolGroups, policies: v.carolOwn, tags: { team: 'orders' } },
    },
    roles: {
      OrdersAdmin: { trustPolicy: trust, policies: v.adminRole, tags: { team: 'orders' }, ...(v.adminBoundary ? { boundary: v.adminBoundary } : {}) },
      OrdersWorker: { trustPolicy: trust, policies: ['P1'] },
    },
  };
}

const root = await mkdtemp(join(tmpdir(), 'iamgate-diff-property-'));
let folders = 0;
afterAll(() => rm(root, { recursive: true, force: true }));

async function world(v: Version): Promise<PolicyWorld> {
  const dir = join(root, String(folders++));
  await cp(join(EXAMPLE, 'routes.yaml'), join(dir, 'routes.yaml'));
  await writeFile(join(dir, 'directory.yaml'), JSON.stringify(directoryOf(v)));
  const loaded = await loadPolicyWorld(dir);
  if (!loaded.ok) throw new Error(`generated folder does not load: ${JSON.stringify(loaded.findings)}`);
  return loaded.world;
}

/** Every probe's decision (Allow or not) for one principal and column, as the gateway decides it. */
function probes(w: PolicyWorld, spec: { user?: string; role?: string }, column: ReturnType<typeof matrixColumns>[number]): boolean[] {
  const out: boolean[] = [];
  for (const mfa of [false, true]) {
    const principal = resolvePrincipal(w, { ...spec, mfa }, NOW);
    for (const ip of SOURCES) {
      out.push(principal !== undefined && decideOffline(w, principal, column.request, { 'aws:SourceIp': ip }, NOW).decision === 'Allow');
    }
  }
  return out;
}

describe('iamgate diff against brute force', () => {
  it('reports every principal and route whose decision changes, conditional changes as conditional, and no unconditional cell that did not change', async () => {
    console.log(`diff property seed ${SEED} (IAMGATE_PROPERTY_SEED=${SEED} replays it)`);
    await fc.assert(
      fc.asyncProperty(pair, async ([a, b]) => {
        const [before, after] = [await world(a), await world(b)];
        const diff = diffAccess(before, after, NOW);
        const reported = new Map(diff.changes.map((c) => [`${c.principal}\u0000${c.column}`, c]));
        for (const p of matrixPrincipals(before)) {
          for (const column of matrixColumns(before).filter((c) => 'method' in c.request)) {
            const [old, neu] = [probes(before, p.spec, column), probes(after, p.spec, column)];
            const change = reported.get(`${p.label}\u0000${column.label}`);
            const where = `${p.label} ${column.label}: before ${old.join()} after ${neu.join()}`;
            const differs = old.some((x, i) => x !== neu[i]);
            if (differs) expect(change, `unreported change, ${where}`).toBeDefined();
            // Changed in some context, not at the default one (no MFA, loopback): shown as conditional.
            if (differs && old[0] === neu[0]) {
              const conditional = change?.before.access === 'conditional' || change?.after.access === 'conditional' || (change?.before.keys.length ?? 0) + (change?.after.keys.length ?? 0) > 0;
              expect(conditional, `a context-dependent change not shown as conditional, ${where}`).toBe(true);
            }
            if (change && change.before.keys.length === 0 && change.after.keys.length === 0 && change.before.access !== 'conditional' && change.after.access !== 'conditional') {
              expect(old[0] !== neu[0], `an unconditional change reported where the decision did not change, ${where}`).toBe(true);
            }
          }
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 120_000);
});
