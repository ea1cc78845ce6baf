// The engine's own mechanics beyond the conformance cases: merged identity indexes, the memoised
// action lookup, explanations and the keys a policy set reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  createContext,
  evaluate,
  explainDecision,
  mergePolicies,
  parsePolicy,
  policySetKeys,
  type PolicySet,
} from '../../src/policy/index.js';
import { compileSet } from './harness.js';
import type { ReferencePolicies, ReferenceRequest } from './reference.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const ORDER = 'arn:aws:orders:us-east-1:111122223333:order/1';

function policy(statements: unknown[], name = 'p') {
  const { policy: parsed, findings } = parsePolicy({ Version: '2012-10-17', Statement: statements });
  if (!parsed) throw new Error(JSON.stringify(findings));
  return compilePolicy(parsed, name, 'identity');
}

interface Case {
  name: string;
  policies: ReferencePolicies;
  request: ReferenceRequest;
}

const casesDir = new URL('./cases/', import.meta.url).pathname;
const cases: Case[] = readdirSync(casesDir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(readFileSync(join(casesDir, f), 'utf8')) as Case[]);

describe('merged identity policies', () => {
  it('decide every conformance case exactly as the separate policies do', () => {
    let compared = 0;
    for (const c of cases) {
      const set = compileSet(c.policies);
      if (set.identity.length === 0) continue;
      // Each policy twice: merging must neither lose statements nor let duplicates change anything.
      const merged: PolicySet = { ...set, identity: [mergePolicies([...set.identity, ...set.identity], 'identity')] };
      const request = { ...c.request, context: createContext(c.request.context) };
      expect(evaluate(merged, request).decision, c.name).toBe(evaluate(set, request).decision);
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
  });

  it('keep each statement labelled with the policy it came from', () => {
    const merged = mergePolicies(
      [policy([{ Sid: 'A', Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }], 'first'),
        policy([{ Sid: 'B', Effect: 'Deny', Action: 'orders:Get*', Resource: '*' }], 'second')],
      'identity',
    );
    const d = evaluate({ identity: [merged] }, { principal: ALICE, action: 'orders:GetOrder', resource: ORDER, context: createContext({}) });
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.matched.map((m) => `${m.policy}:${m.sid}`)).toEqual(['second:B']);
  });
});

describe('a set carrying an identity index', () => {
  it('is decided on the index, which names the identity policies merged (the identity list only names them)', () => {
    const allow = policy([{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }], 'allow');
    const deny = policy([{ Effect: 'Deny', Action: 'orders:GetOrder', Resource: '*' }], 'deny');
    const request = { principal: ALICE, action: 'orders:GetOrder', resource: ORDER, context: createContext({}) };
    expect(evaluate({ identity: [allow], identityIndex: deny }, request).decision).toBe('ExplicitDeny');
    expect(evaluate({ identity: [deny], identityIndex: allow }, request).decision).toBe('Allow');
  });
});

describe('the statements a decision names', () => {
  const request = { principal: ALICE, action: 'orders:GetOrder', resource: ORDER, context: createContext({}) };
  const label = (d: ReturnType<typeof evaluate>) => d.matched.map((m) => `${m.policy}:${m.sid}`);

  it('are every Deny that applied, in policy order, for an explicit deny', () => {
    const one = policy([{ Sid: 'A', Effect: 'Allow', Action: '*', Resource: '*' }, { Sid: 'D1', Effect: 'Deny', Action: 'orders:Get*', Resource: '*' }], 'one');
    const two = policy([{ Sid: 'D2', Effect: 'Deny', Action: 'orders:GetOrder', Resource: ORDER }], 'two');
    const d = evaluate({ identity: [one, two] }, request);
    expect(d.decision).toBe('ExplicitDeny');
    expect(label(d)).toEqual(['one:D1', 'two:D2']);
    expect(label(evaluate({ identity: [two] }, request))).toEqual(['two:D2']);
  });

  it('are the first grant of each policy type that had to allow, for an allow', () => {
    const grants = policy([{ Sid: 'G1', Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }, { Sid: 'G2', Effect: 'Allow', Action: ['orders:GetOrder', 'orders:ListOrders'], Resource: '*' }], 'id');
    const { policy: parsed } = parsePolicy({ Version: '2012-10-17', Statement: [{ Sid: 'B', Effect: 'Allow', Action: 'orders:*', Resource: '*' }] });
    const boundary = compilePolicy(parsed!, 'boundary', 'boundary');
    expect(label(evaluate({ identity: [grants] }, request))).toEqual(['id:G1']);
    expect(label(evaluate({ identity: [grants], boundary }, request))).toEqual(['id:G1', 'boundary:B']);
  });

  it('cannot be changed by whoever holds the decision, so the next decision is unchanged', () => {
    const set: PolicySet = { identity: [policy([{ Sid: 'G', Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }], 'id')] };
    const first = evaluate(set, request);
    expect(() => (first.matched as unknown[]).push({})).toThrow(TypeError);
    expect(() => Object.assign(first, { decision: 'ExplicitDeny' })).toThrow(TypeError);
    const denied = evaluate(set, { ...request, action: 'orders:DeleteOrder' });
    expect(() => (denied.matched as unknown[]).push({})).toThrow(TypeError);
    expect(evaluate(set, request)).toEqual({ decision: 'Allow', matched: [{ policy: 'id', kind: 'identity', index: 0, sid: 'G', effect: 'Allow' }] });
    expect(evaluate(set, { ...request, action: 'orders:DeleteOrder' })).toEqual({ decision: 'ImplicitDeny', matched: [], implicitReason: 'no_identity_allow' });
  });
});

describe('the action lookup', () => {
  const set: PolicySet = { identity: [policy([{ Effect: 'Allow', Action: 'orders:get*', Resource: '*' }])] };
  const ask = (action: string) =>
    evaluate(set, { principal: ALICE, action, resource: ORDER, context: createContext({}) }).decision;

  it('matches actions case-insensitively however the request spells them', () => {
    expect(ask('orders:GetOrder')).toBe('Allow');
    expect(ask('ORDERS:GETORDER')).toBe('Allow');
    expect(ask('orders:getorder')).toBe('Allow');
    expect(ask('orders:ListOrders')).toBe('ImplicitDeny');
  });

  it('stays correct past its memo bound', () => {
    for (let i = 0; i < 5000; i++) expect(ask(`orders:Other${i}`)).toBe('ImplicitDeny');
    expect(ask('orders:GetAfterTheBound')).toBe('Allow');
    expect(ask('orders:PutAfterTheBound')).toBe('ImplicitDeny');
  });
});

describe('a NotPrincipal with Allow, which the validator refuses', () => {
  it('grants nothing should a parsed policy hold one, with or without a permissions boundary', () => {
    const resource = compilePolicy(
      {
        version: '2012-10-17',
        statements: [{ index: 0, effect: 'Allow', action: ['orders:GetOrder'], resource: ['*'], notPrincipal: { AWS: ['444455556666'] }, conditions: [] }],
      },
      'resource',
      'resource',
    );
    const boundary = policy([{ Effect: 'Allow', Action: 'orders:*', Resource: '*' }], 'boundary');
    const request = { principal: ALICE, action: 'orders:GetOrder', resource: ORDER, context: createContext({}) };
    expect(evaluate({ identity: [], resource }, request).decision).toBe('ImplicitDeny');
    expect(evaluate({ identity: [], resource, boundary }, request).decision).toBe('ImplicitDeny');
  });
});

describe('explanations', () => {
  const set: PolicySet = {
    identity: [
      policy([
        {
          Sid: 'AdminWithMfa',
          Effect: 'Allow',
          Action: 'orders:DeleteOrder',
          Resource: '*',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
        },
      ], 'admin'),
    ],
  };

  it('name the condition that failed and whether its key was missing', () => {
    const d = evaluate(set, { principal: ALICE, action: 'orders:DeleteOrder', resource: ORDER, context: createContext({}) });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.implicitReason).toBe('no_identity_allow');
    expect(d.nearMisses?.[0]?.failed).toEqual([
      { path: 'Statement[0].Condition.Bool.aws:MultiFactorAuthPresent', operator: 'Bool', key: 'aws:MultiFactorAuthPresent', why: 'missing' },
    ]);
    expect(explainDecision(d)).toEqual([
      'Implicitly denied: no identity-based policy allows the action on the resource',
      'Closest: admin:AdminWithMfa failed on Statement[0].Condition.Bool.aws:MultiFactorAuthPresent (key missing)',
    ]);
  });

  it('say mismatch when the key is present with another value', () => {
    const d = evaluate(set, {
      principal: ALICE,
      action: 'orders:DeleteOrder',
      resource: ORDER,
      context: createContext({ 'aws:MultiFactorAuthPresent': false }),
    });
    expect(d.nearMisses?.[0]?.failed[0]?.why).toBe('mismatch');
  });

  it('say unreadable, in the decision and its explanation, when the value is not one the operator reads', () => {
    const d = evaluate(set, {
      principal: ALICE,
      action: 'orders:DeleteOrder',
      resource: ORDER,
      context: createContext({ 'aws:MultiFactorAuthPresent': 'yes' }),
    });
    expect(d.nearMisses?.[0]?.failed[0]?.why).toBe('unreadable');
    expect(explainDecision(d)).toEqual([
      'Implicitly denied: no identity-based policy allows the action on the resource',
      'Closest: admin:AdminWithMfa failed on Statement[0].Condition.Bool.aws:MultiFactorAuthPresent (value the operator cannot read)',
    ]);
  });

  it('list no near misses when nothing matched the action', () => {
    const d = evaluate(set, { principal: ALICE, action: 'orders:GetOrder', resource: ORDER, context: createContext({}) });
    expect(d.nearMisses).toBeUndefined();
  });
});

describe('policySetKeys', () => {
  it('lists, lower-cased, every context key that conditions and resource variables read', () => {
    const set: PolicySet = {
      identity: [
        policy([
          {
            Effect: 'Allow',
            Action: 'orders:*',
            Resource: 'arn:aws:orders:us-east-1:111122223333:order/${aws:username}/*',
            Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' }, StringEquals: { 'aws:PrincipalTag/Team': 'a' } },
          },
        ]),
      ],
    };
    expect([...policySetKeys(set)].sort()).toEqual(['aws:principaltag/team', 'aws:sourceip', 'aws:username']);
  });
});
