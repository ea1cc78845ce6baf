// Properties of the policy engine, checked on random policy sets drawn from a small vocabulary so
// that actions, resources, principals and conditions match often: it agrees with the slow
// reference model, explicit denies are monotone, order never matters, and removing an Allow
// never grants.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContextValue, DecisionKind } from '../../src/policy/types.js';
import { engineDecide } from './harness.js';
import { referenceDecision, Unsupported, type ReferencePolicies, type ReferenceRequest } from './reference.js';

// ------------------------------------------------------------------ vocabulary

const A = '111122223333';
const B = '444455556666';
const ALICE = `arn:aws:iam::${A}:user/alice`;
const BOB = `arn:aws:iam::${A}:user/bob`;
const ROLE = `arn:aws:iam::${A}:role/Dev`;
const SESSION = `arn:aws:sts::${A}:assumed-role/Dev/alice`;
const CAROL = `arn:aws:iam::${B}:user/carol`;

const PRINCIPALS = [ALICE, BOB, SESSION, CAROL] as const;
const ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 'ec2:RunInstances', 'sqs:SendMessage'] as const;
const ACTION_PATTERNS = ['*', 's3:*', 's3:Get*', 's3:GetObject', 'S3:GETOBJECT', 's3:?utObject', 's3:List*', 'ec2:*', 'sqs:SendMessage'] as const;
const RESOURCES = [
  'arn:aws:s3:::bucket',
  'arn:aws:s3:::bucket/a',
  'arn:aws:s3:::bucket/abc',
  'arn:aws:s3:::other/x',
  `arn:aws:ec2:us-east-1:${A}:instance/i-1`,
  `arn:aws:sqs:us-east-1:${A}:queue1`,
  `arn:aws:sqs:us-east-1:${B}:queue1`,
] as const;
const RESOURCE_PATTERNS = [
  '*',
  'arn:aws:s3:::bucket',
  'arn:aws:s3:::bucket/*',
  'arn:aws:s3:::bucket*',
  'arn:aws:s3:::bucket/a?c',
  'arn:aws:s3:::*',
  'arn:aws:s3:::Bucket/*',
  `arn:aws:ec2:*:${A}:instance/*`,
  'arn:aws:sqs:us-east-1:*:queue1',
  `arn:aws:sqs:us-east-1:${B}:queue?`,
  'arn:aws:sqs:*',
  'arn:aws:sqs:us-east-1:*',
  `arn:aws:sqs:us-east-1:${B}*`,
  'arn:aws:s3:*',
] as const;
const PRINCIPAL_ENTRIES = ['*', A, B, `arn:aws:iam::${A}:root`, ALICE, BOB, ROLE, SESSION, CAROL] as const;

const TEAM = 'aws:PrincipalTag/team';
const USER = 'aws:username';
const MAX_KEYS = 's3:max-keys';
const MFA = 'aws:MultiFactorAuthPresent';
const TAG_KEYS = 'aws:TagKeys';

// ------------------------------------------------------------------ generators

type Doc = { readonly Version: string; readonly Statement: readonly Stmt[] };
type Stmt = Readonly<Record<string, unknown>>;
type Condition = readonly [operator: string, key: string, values: readonly (string | number)[]];

interface Scenario {
  readonly policies: {
    readonly identity: readonly Doc[];
    readonly boundary?: Doc;
    readonly resource?: Doc;
    readonly scp?: readonly Doc[];
    readonly session?: readonly Doc[];
  };
  readonly request: ReferenceRequest;
}

const some = <T>(arb: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> => fc.array(arb, { minLength: 1, maxLength: max });
const ifExists = fc.constantFrom('', 'IfExists');

const stringCondition: fc.Arbitrary<Condition> = fc
  .tuple(
    fc.constantFrom('StringEquals', 'StringNotEquals', 'StringLike'),
    ifExists,
    fc.constantFrom(TEAM, USER, 'AWS:UserName'),
    some(fc.constantFrom('dev', 'ops', 'd*', '?ev', 'alice', '*'), 2),
  )
  .map(([op, ie, key, values]) => [op + ie, key, values]);
const numericCondition: fc.Arbitrary<Condition> = fc
  .tuple(ifExists, some(fc.constantFrom('5', '10', '50'), 2))
  .map(([ie, values]) => ['NumericLessThan' + ie, MAX_KEYS, values]);
const boolCondition: fc.Arbitrary<Condition> = fc
  .tuple(ifExists, fc.constantFrom('true', 'false'))
  .map(([ie, v]) => ['Bool' + ie, MFA, [v]]);
const nullCondition: fc.Arbitrary<Condition> = fc
  .tuple(fc.constantFrom(TEAM, USER, MAX_KEYS, MFA), fc.constantFrom('true', 'false'))
  .map(([key, v]) => ['Null', key, [v]]);
const setCondition: fc.Arbitrary<Condition> = fc
  .tuple(
    fc.constantFrom('ForAllValues:', 'ForAnyValue:'),
    fc.constantFrom('StringEquals', 'StringNotEquals', 'StringLike'),
    ifExists,
    some(fc.constantFrom('team', 'env', 't*'), 2),
  )
  .map(([q, op, ie, values]) => [q + op + ie, TAG_KEYS, values]);
const condition = fc.oneof(stringCondition, numericCondition, boolCondition, nullCondition, setCondition);

function conditionBlock(conds: readonly Condition[]): Record<string, Record<string, readonly (string | number)[]>> {
  const block: Record<string, Record<string, readonly (string | number)[]>> = {};
  for (const [op, key, values] of conds) {
    // Key names are case-insensitive, so a block may not hold a key twice in two spellings.
    const keys = Object.keys(block[op] ?? {});
    if (!keys.some((k) => k.toLowerCase() === key.toLowerCase())) block[op] = { ...block[op], [key]: values };
  }
  return block;
}

/** One statement; resource-based statements carry a Principal. */
function statement(resourceBased: boolean): fc.Arbitrary<Stmt> {
  return fc
    .record({
      effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
      actions: some(fc.constantFrom(...ACTION_PATTERNS), 2),
      useNotAction: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      resources: some(fc.constantFrom(...RESOURCE_PATTERNS), 2),
      useNotResource: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      conditions: fc.array(condition, { maxLength: 2 }),
      withConditions: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
      useNotPrincipal: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      principal: fc.oneof(
        fc.constant<unknown>('*'),
        some(fc.constantFrom(...PRINCIPAL_ENTRIES), 2).map((entries) => ({ AWS: entries.length === 1 ? entries[0] : entries })),
      ),
    })
    .map((r) => {
      const s: Record<string, unknown> = { Effect: r.effect };
      // NotPrincipal only with Deny: IAM does not support it with Allow, and refuses it.
      if (resourceBased) s[r.useNotPrincipal && r.effect === 'Deny' ? 'NotPrincipal' : 'Principal'] = r.principal;
      s[r.useNotAction ? 'NotAction' : 'Action'] = r.actions;
      s[r.useNotResource ? 'NotResource' : 'Resource'] = r.resources;
      if (r.withConditions && r.conditions.length > 0) s['Condition'] = conditionBlock(r.conditions);
      return s;
    });
}

const docOf = (resourceBased: boolean): fc.Arbitrary<Doc> =>
  some(statement(resourceBased), 3).map((Statement) => ({ Version: '2012-10-17', Statement }));

const context: fc.Arbitrary<Record<string, ContextValue>> = fc
  .record(
    {
      [TEAM]: fc.constantFrom('dev', 'ops', 'Dev', 'devops'),
      [USER]: fc.constantFrom('alice', 'bob'),
      [MAX_KEYS]: fc.constantFrom(1, 10, 100),
      [MFA]: fc.boolean(),
      [TAG_KEYS]: fc.subarray(['team', 'env', 'owner']),
    },
    { requiredKeys: [] },
  )
  .map((r) => r as Record<string, ContextValue>);

interface Drawn {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, ContextValue>;
  readonly identity: readonly Doc[];
  readonly boundary: Doc | null;
  readonly resourcePolicy: Doc | null;
  readonly scp: readonly Doc[] | null;
  readonly session: Doc | null;
}

/** A scenario from drawn parts; session policies exist only for sessions. */
function assemble(r: Drawn): Scenario {
  return {
    request: { principal: r.principal, action: r.action, resource: r.resource, context: r.context },
    policies: {
      identity: r.identity,
      ...(r.boundary ? { boundary: r.boundary } : {}),
      ...(r.resourcePolicy ? { resource: r.resourcePolicy } : {}),
      ...(r.scp ? { scp: r.scp } : {}),
      ...(r.session && r.principal === SESSION ? { session: [r.session] } : {}),
    },
  };
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    principal: fc.constantFrom(...PRINCIPALS),
    action: fc.constantFrom(...ACTIONS),
    resource: fc.constantFrom(...RESOURCES),
    context,
    identity: fc.array(docOf(false), { maxLength: 3 }),
    boundary: fc.option(docOf(false), { freq: 3 }),
    resourcePolicy: fc.option(docOf(true), { freq: 2 }),
    scp: fc.option(fc.array(docOf(false), { minLength: 1, maxLength: 2 }), { freq: 3 }),
    session: fc.option(docOf(false), { freq: 2 }),
  })
  .map(assemble);

/**
 * Scenarios for the combining logic alone: every statement applies or not by its action only
 * ("*" or "ec2:*"), every policy type is present often, and the resource policy names the caller
 * in every way there is, so that each branch of the evaluation logic is reached many times.
 */
const simpleDoc = (resourceBased: boolean): fc.Arbitrary<Doc> =>
  some(
    fc
      .record({
        effect: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny'),
        action: fc.constantFrom('*', 'ec2:*'),
        principal: fc.constantFrom(...PRINCIPAL_ENTRIES),
      })
      .map((r): Stmt => ({
        Effect: r.effect,
        ...(resourceBased ? { Principal: { AWS: r.principal } } : {}),
        Action: r.action,
        Resource: '*',
      })),
    2,
  ).map((Statement) => ({ Version: '2012-10-17', Statement }));

const combining: fc.Arbitrary<Scenario> = fc
  .record({
    principal: fc.constantFrom(...PRINCIPALS, SESSION),
    target: fc.constantFrom(
      ['s3:GetObject', 'arn:aws:s3:::bucket/a'] as const,
      ['sqs:SendMessage', `arn:aws:sqs:us-east-1:${A}:queue1`] as const,
      ['sqs:SendMessage', `arn:aws:sqs:us-east-1:${B}:queue1`] as const,
    ),
    identity: fc.array(simpleDoc(false), { maxLength: 2 }),
    boundary: fc.option(simpleDoc(false), { freq: 2 }),
    resourcePolicy: fc.option(simpleDoc(true), { freq: 2 }),
    scp: fc.option(fc.array(simpleDoc(false), { minLength: 1, maxLength: 2 }), { freq: 2 }),
    session: fc.option(simpleDoc(false), { freq: 2 }),
  })
  .map((r) => assemble({ ...r, action: r.target[0], resource: r.target[1], context: {} }));

// ------------------------------------------------------------------ the engine

function engineDecision(policies: ReferencePolicies, request: ReferenceRequest): DecisionKind {
  return engineDecide(policies, request).decision;
}

// ------------------------------------------------------------------ edits on scenarios

type Slot = 'identity' | 'boundary' | 'resource' | 'scp' | 'session';

/** The documents of a scenario with their slot and position, for edits. */
function docsOf(p: Scenario['policies']): { slot: Slot; index: number; doc: Doc }[] {
  return [
    ...p.identity.map((doc, index) => ({ slot: 'identity' as const, index, doc })),
    ...(p.boundary ? [{ slot: 'boundary' as const, index: 0, doc: p.boundary }] : []),
    ...(p.resource ? [{ slot: 'resource' as const, index: 0, doc: p.resource }] : []),
    ...(p.scp ?? []).map((doc, index) => ({ slot: 'scp' as const, index, doc })),
    ...(p.session ?? []).map((doc, index) => ({ slot: 'session' as const, index, doc })),
  ];
}

function replaceDoc(p: Scenario['policies'], slot: Slot, index: number, doc: Doc): Scenario['policies'] {
  switch (slot) {
    case 'identity':
      return { ...p, identity: p.identity.map((d, i) => (i === index ? doc : d)) };
    case 'boundary':
      return { ...p, boundary: doc };
    case 'resource':
      return { ...p, resource: doc };
    case 'scp':
      return { ...p, scp: (p.scp ?? []).map((d, i) => (i === index ? doc : d)) };
    case 'session':
      return { ...p, session: (p.session ?? []).map((d, i) => (i === index ? doc : d)) };
  }
}

/** A deterministic permutation from a seed (Fisher–Yates over a small LCG). */
function permute<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const RUNS = { numRuns: 150 };

// ------------------------------------------------------------------ properties

describe('the engine against the reference model', () => {
  it('agrees with the reference evaluator on random policy sets, requests and contexts', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(engineDecision(s.policies, s.request)).toBe(referenceDecision(s.policies, s.request));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the reference evaluator on how identity, resource, boundary, SCP and session policies combine', () => {
    fc.assert(
      fc.property(combining, (s) => {
        expect(engineDecision(s.policies, s.request)).toBe(referenceDecision(s.policies, s.request));
      }),
      { numRuns: 1000 },
    );
  });

  it('the reference model gives the documented decision on every conformance case it can evaluate', () => {
    const dir = fileURLToPath(new URL('./cases', import.meta.url));
    let evaluated = 0;
    const disagreements: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const cases = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        name: string;
        policies: ReferencePolicies;
        request: ReferenceRequest;
        expect: DecisionKind;
      }[];
      for (const c of cases) {
        let got: DecisionKind;
        try {
          got = referenceDecision(c.policies, c.request);
        } catch (err) {
          if (err instanceof Unsupported) continue;
          throw err;
        }
        evaluated++;
        if (got !== c.expect) disagreements.push(`${file}: ${c.name}: ${got}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(evaluated).toBeGreaterThan(200);
  });
});

describe('explicit deny', () => {
  const denyStatement = (resourceBased: boolean): fc.Arbitrary<Stmt> =>
    statement(resourceBased).map((s) => ({ ...s, Effect: 'Deny' }));

  /** Adds a statement to one existing document, or a new identity policy holding it. */
  const withAddedDeny = fc
    .tuple(scenario, fc.nat(), denyStatement(false), denyStatement(true))
    .map(([s, pick, plain, resourceBased]) => {
      const docs = docsOf(s.policies);
      const target = docs[pick % (docs.length + 1)];
      if (!target) return { before: s, after: { ...s, policies: { ...s.policies, identity: [...s.policies.identity, { Version: '2012-10-17', Statement: [plain] }] } } };
      const stmt = target.slot === 'resource' ? resourceBased : plain;
      const doc = { ...target.doc, Statement: [...target.doc.Statement, stmt] };
      return { before: s, after: { ...s, policies: replaceDoc(s.policies, target.slot, target.index, doc) } };
    });

  it('adding a Deny statement anywhere never turns a denied request into Allow, and keeps an explicit deny', () => {
    fc.assert(
      fc.property(withAddedDeny, ({ before, after }) => {
        const d0 = engineDecision(before.policies, before.request);
        const d1 = engineDecision(after.policies, after.request);
        if (d0 !== 'Allow') expect(d1).not.toBe('Allow');
        if (d0 === 'ExplicitDeny') expect(d1).toBe('ExplicitDeny');
      }),
      RUNS,
    );
  });

  it('adding a Deny statement that matches the request always yields an explicit deny', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (s, pick) => {
        const docs = docsOf(s.policies);
        const target = docs[pick % (docs.length + 1)];
        const plain: Stmt = { Effect: 'Deny', Action: s.request.action, Resource: s.request.resource };
        const policies = target
          ? replaceDoc(s.policies, target.slot, target.index, {
              ...target.doc,
              Statement: [...target.doc.Statement, target.slot === 'resource' ? { ...plain, Principal: '*' } : plain],
            })
          : { ...s.policies, identity: [...s.policies.identity, { Version: '2012-10-17', Statement: [plain] }] };
        expect(engineDecision(policies, s.request)).toBe('ExplicitDeny');
      }),
      RUNS,
    );
  });
});

describe('order', () => {
  it('the order of statements within policies and of policies within each type never changes the decision', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (s, seed) => {
        const shuffleDoc = (d: Doc, k: number): Doc => ({ ...d, Statement: permute(d.Statement, seed + k) });
        const p = s.policies;
        const shuffled: Scenario['policies'] = {
          identity: permute(p.identity.map((d, i) => shuffleDoc(d, i)), seed),
          ...(p.boundary ? { boundary: shuffleDoc(p.boundary, 11) } : {}),
          ...(p.resource ? { resource: shuffleDoc(p.resource, 13) } : {}),
          ...(p.scp ? { scp: permute(p.scp.map((d, i) => shuffleDoc(d, 17 + i)), seed + 1) } : {}),
          ...(p.session ? { session: permute(p.session.map((d, i) => shuffleDoc(d, 23 + i)), seed + 2) } : {}),
        };
        expect(engineDecision(shuffled, s.request)).toBe(engineDecision(p, s.request));
      }),
      RUNS,
    );
  });
});

describe('removing an Allow', () => {
  it('removing an Allow statement, or an identity policy of Allow statements, never turns a denied request into Allow', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), fc.boolean(), (s, pick, wholePolicy) => {
        const before = engineDecision(s.policies, s.request);
        let policies: Scenario['policies'];
        // Only a policy of Allow statements may go whole: dropping a Deny with it proves nothing.
        const allowOnly = s.policies.identity.flatMap((d, i) => (d.Statement.every((st) => st['Effect'] === 'Allow') ? [i] : []));
        if (wholePolicy && allowOnly.length > 0) {
          const drop = allowOnly[pick % allowOnly.length];
          policies = { ...s.policies, identity: s.policies.identity.filter((_, i) => i !== drop) };
        } else {
          // Remove one Allow statement from a document that keeps at least one statement.
          const candidates = docsOf(s.policies).flatMap((t) =>
            t.doc.Statement.length > 1 ? t.doc.Statement.flatMap((st, si) => (st['Effect'] === 'Allow' ? [{ ...t, si }] : [])) : [],
          );
          const c = candidates[pick % Math.max(candidates.length, 1)];
          if (!c) return;
          policies = replaceDoc(s.policies, c.slot, c.index, { ...c.doc, Statement: c.doc.Statement.filter((_, i) => i !== c.si) });
        }
        if (before !== 'Allow') expect(engineDecision(policies, s.request)).not.toBe('Allow');
      }),
      RUNS,
    );
  });
});
