// Generated policy versions on the example directory and route map, for properties that compare
// the offline tools with brute force and with the gateway: statements with wildcards, NotAction
// and NotResource, policy variables and conditions on keys the gateway sets (MFA and its age,
// source address, time, principal tags, user name, a route's query key), in policies attached to
// groups, users and roles and as permission boundaries.
import fc from 'fast-check';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLE } from './cli.js';

const ARN = 'arn:aws:orders:us-east-1:111122223333:';

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
export const version = fc.record({
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
export type Version = typeof version extends fc.Arbitrary<infer T> ? T : never;

/** A pair: unrelated versions, or one version and the same with one policy rewritten. */
export const pair = fc.oneof(
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

/** Writes a version as a policy folder at `dir`: its directory, and the example's route map. */
export async function writePolicyFolder(dir: string, v: Version): Promise<void> {
  await mkdir(dir, { recursive: true });
  await cp(join(EXAMPLE, 'routes.yaml'), join(dir, 'routes.yaml'));
  await writeFile(join(dir, 'directory.yaml'), JSON.stringify(directoryOf(v)));
}
