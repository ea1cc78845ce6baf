// The cache is exact: over random policies, principals, requests, contexts and policy updates,
// with two instances sharing one real Redis (one of them reloading late), every cached answer —
// from L1 or from L2 — equals a fresh evaluation by the real engine against the policies the
// answering instance has loaded.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheRedis, createDecisionCache, type DecisionCache } from '../../src/cache/index.js';
import { createContext, evaluate, type ContextValue, type PolicySet } from '../../src/policy/index.js';
import { compileSet } from '../policy/harness.js';
import type { ReferencePolicies } from '../policy/reference.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const A = '111122223333';
const B = '444455556666';
const PRINCIPALS = [`arn:aws:iam::${A}:user/alice`, `arn:aws:iam::${A}:user/bob`, `arn:aws:sts::${A}:assumed-role/Dev/alice`, `arn:aws:iam::${B}:user/carol`];
const ACTIONS = ['s3:GetObject', 's3:PutObject', 'sqs:SendMessage'];
const ACTION_PATTERNS = ['*', 's3:*', 's3:Get*', 's3:PutObject', 'sqs:SendMessage'];
const RESOURCES = ['arn:aws:s3:::bucket/alice/1', 'arn:aws:s3:::bucket/bob/1', `arn:aws:sqs:us-east-1:${A}:q`, `arn:aws:sqs:us-east-1:${B}:q`];
const RESOURCE_PATTERNS = ['*', 'arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/${aws:username}/*', 'arn:aws:sqs:*:*:q', `arn:aws:sqs:us-east-1:${A}:*`];
const PRINCIPAL_ENTRIES = ['*', A, B, ...PRINCIPALS];

type Doc = Readonly<Record<string, unknown>>;
type Condition = readonly [operator: string, key: string, values: readonly string[]];

const condition: fc.Arbitrary<Condition> = fc.oneof(
  fc.tuple(fc.constantFrom('StringEquals', 'StringLike', 'StringNotEqualsIfExists'), fc.constantFrom('aws:PrincipalTag/team'), fc.constantFrom(['dev'], ['ops', 'd*'])),
  fc.tuple(fc.constant('Bool'), fc.constant('aws:MultiFactorAuthPresent'), fc.constantFrom(['true'], ['false'])),
  fc.tuple(fc.constant('NumericLessThan'), fc.constant('s3:max-keys'), fc.constantFrom(['10'], ['50'])),
  fc.tuple(fc.constant('Null'), fc.constantFrom('aws:PrincipalTag/team', 's3:max-keys', 'aws:TagKeys'), fc.constantFrom(['true'], ['false'])),
  fc.tuple(fc.constantFrom('ForAnyValue:StringEquals', 'ForAllValues:StringLike'), fc.constant('aws:TagKeys'), fc.constantFrom(['team'], ['env', 't*'])),
);

/** A statement reading a time-varying key: a set holding one must never be cached. */
const timed: fc.Arbitrary<Doc> = fc
  .tuple(
    fc.constantFrom('Allow', 'Deny'),
    fc.oneof(
      fc.tuple(fc.constant('NumericLessThan'), fc.constantFrom('aws:EpochTime', 'aws:MultiFactorAuthAge'), fc.constantFrom('1000', '2000000000')),
      fc.tuple(fc.constant('DateLessThan'), fc.constantFrom('aws:CurrentTime', 'aws:TokenIssueTime'), fc.constant('2030-01-01T00:00:00Z')),
    ),
  )
  .map(([effect, [op, key, value]]) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: effect, Action: 's3:*', Resource: '*', Condition: { [op]: { [key]: value } } }],
  }));

function statement(resourceBased: boolean): fc.Arbitrary<Doc> {
  return fc
    .record({
      effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
      actions: fc.subarray(ACTION_PATTERNS, { minLength: 1, maxLength: 2 }),
      resources: fc.subarray(RESOURCE_PATTERNS, { minLength: 1, maxLength: 2 }),
      conditions: fc.array(condition, { maxLength: 2 }),
      principal: fc.subarray(PRINCIPAL_ENTRIES, { minLength: 1, maxLength: 2 }),
    })
    .map((r) => {
      const block: Record<string, Record<string, readonly string[]>> = {};
      for (const [op, key, values] of r.conditions) if (!block[op]?.[key]) block[op] = { ...block[op], [key]: values };
      return {
        Effect: r.effect,
        Action: r.actions,
        Resource: r.resources,
        ...(resourceBased ? { Principal: { AWS: r.principal } } : {}),
        ...(r.conditions.length > 0 ? { Condition: block } : {}),
      };
    });
}

const doc = (resourceBased: boolean): fc.Arbitrary<Doc> =>
  fc.array(statement(resourceBased), { minLength: 1, maxLength: 3 }).map((Statement) => ({ Version: '2012-10-17', Statement }));

const policies: fc.Arbitrary<ReferencePolicies> = fc
  .record({
    identity: fc.array(doc(false), { maxLength: 2 }),
    timed: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: timed }),
    boundary: fc.option(doc(false), { freq: 3 }),
    resource: fc.option(doc(true), { freq: 3 }),
    scp: fc.option(fc.array(doc(false), { minLength: 1, maxLength: 2 }), { freq: 4 }),
    session: fc.option(doc(false), { freq: 4 }),
  })
  .map((p) => ({
    identity: p.timed ? [...p.identity, p.timed] : p.identity,
    ...(p.boundary ? { boundary: p.boundary } : {}),
    ...(p.resource ? { resource: p.resource } : {}),
    ...(p.scp ? { scp: p.scp } : {}),
    ...(p.session ? { session: [p.session] } : {}),
  }));

/** Small value pools, so that requests repeat and the cache answers often; unread keys vary freely. */
const context: fc.Arbitrary<Record<string, ContextValue>> = fc
  .record(
    {
      'aws:PrincipalTag/team': fc.constantFrom('dev', 'ops', ''),
      'aws:username': fc.constantFrom('alice', 'bob'),
      'aws:MultiFactorAuthPresent': fc.boolean(),
      's3:max-keys': fc.constantFrom(5, 20, '5'),
      'aws:TagKeys': fc.constantFrom([], ['team'], ['env', 'team']),
      'aws:SourceIp': fc.constantFrom('10.0.0.1', '10.0.0.2', '192.168.0.9'),
      'aws:EpochTime': fc.integer({ min: 0, max: 3_000_000_000 }),
      'aws:MultiFactorAuthAge': fc.integer({ min: 0, max: 5000 }),
      'aws:CurrentTime': fc.constantFrom('2020-01-01T00:00:00Z', '2040-01-01T00:00:00Z'),
      'aws:TokenIssueTime': fc.constantFrom('2020-01-01T00:00:00Z', '2040-01-01T00:00:00Z'),
    },
    { requiredKeys: [] },
  )
  .map((r) => r as Record<string, ContextValue>);

const SCOPES = 3;

interface Drawn {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, ContextValue>;
}

type Op =
  /** A request from the run's small pool, so that requests repeat and the cache has something to answer. */
  | { readonly kind: 'request'; readonly instance: 0 | 1; readonly scope: number; readonly pick: number }
  | { readonly kind: 'update'; readonly scope: number; readonly policies: ReferencePolicies }
  /** The late instance loads what the early one has. */
  | { readonly kind: 'sync' }
  /** An instance loses its L1 (as after a restart), so that L2 answers. */
  | { readonly kind: 'drop-l1'; readonly instance: 0 | 1 };

const POOL = 6;
const drawn: fc.Arbitrary<Drawn> = fc.record({
  principal: fc.constantFrom(...PRINCIPALS),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  context,
});
const CONTEXT_KEYS = ['aws:PrincipalTag/team', 'aws:username', 'aws:MultiFactorAuthPresent', 's3:max-keys', 'aws:TagKeys', 'aws:SourceIp'];

/** One change to a request: near neighbours are what an under-covering key would confuse. */
type Change = (r: Drawn) => Drawn;
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.constantFrom(...PRINCIPALS).map((principal): Change => (r) => ({ ...r, principal })),
  fc.constantFrom(...ACTIONS).map((action): Change => (r) => ({ ...r, action })),
  fc.constantFrom(...RESOURCES).map((resource): Change => (r) => ({ ...r, resource })),
  fc.constantFrom(...CONTEXT_KEYS).map((key): Change => (r) => ({ ...r, context: Object.fromEntries(Object.entries(r.context).filter(([k]) => k !== key)) })),
  // Present but empty, or missing: the two must never share an entry.
  fc.constantFrom<[string, ContextValue]>(['aws:TagKeys', []], ['aws:PrincipalTag/team', '']).map(
    ([key, empty]): Change => (r) => (key in r.context ? { ...r, context: Object.fromEntries(Object.entries(r.context).filter(([k]) => k !== key)) } : { ...r, context: { ...r.context, [key]: empty } }),
  ),
  fc.tuple(fc.constantFrom(...CONTEXT_KEYS), fc.constantFrom<ContextValue>('', [], 'dev', 5, '5', true, 'true', ['team'])).map(
    ([key, value]): Change => (r) => ({ ...r, context: { ...r.context, [key]: value } }),
  ),
);
/** A chain of requests, each one change away from the one before. */
const pool: fc.Arbitrary<Drawn[]> = fc.tuple(drawn, fc.array(change, { minLength: POOL - 1, maxLength: POOL - 1 })).map(([base, changes]) => {
  const out = [base];
  for (const c of changes) out.push(c(out[out.length - 1] as Drawn));
  return out;
});
const request: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('request' as const),
  instance: fc.constantFrom(0 as const, 1 as const),
  scope: fc.integer({ min: 0, max: SCOPES - 1 }),
  pick: fc.integer({ min: 0, max: POOL - 1 }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: request },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('update' as const), scope: fc.integer({ min: 0, max: SCOPES - 1 }), policies }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop-l1' as const), instance: fc.constantFrom(0 as const, 1 as const) }) },
);

/** What one instance has loaded: the documents, their compiled sets, and the generation's content hash. */
interface Loaded {
  readonly docs: readonly ReferencePolicies[];
  readonly sets: readonly PolicySet[];
  readonly hash: string;
}

function load(docs: readonly ReferencePolicies[]): Loaded {
  return { docs, sets: docs.map(compileSet), hash: createHash('sha256').update(JSON.stringify(docs)).digest('hex') };
}

describe('a cached decision', () => {
  let redis: TestRedis;
  let clients: Redis[] = [];
  let caches: DecisionCache[] = [];
  const tally = { l1: 0, l2: 0, uncacheable: 0, stored: 0 };

  beforeAll(async () => {
    redis = await startRedis();
    clients = [createCacheRedis(redis.url, { commandTimeoutMs: 1000 }), createCacheRedis(redis.url, { commandTimeoutMs: 1000 })];
    await Promise.all(clients.map((c) => new Promise((resolve) => (c.status === 'ready' ? resolve(undefined) : c.once('ready', resolve)))));
    // L2 for every lookup, and a generous deadline: this suite is about exactness, not outages.
    caches = clients.map((client, i) =>
      createDecisionCache({ now: Date.now, redis: client, l1: { maxEntries: 64, ttlMs: 60_000 }, l2: { ttlMs: 60_000, prefix: 'prop:', minEvalMicros: 0, timeoutMs: 1000 } }),
    );
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    for (const c of clients) c.disconnect();
    await redis?.close();
  });

  it('always equals a fresh evaluation, from L1 and from L2, across policy updates and a lagging replica', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(policies, { minLength: SCOPES, maxLength: SCOPES }), pool, fc.array(op, { minLength: 5, maxLength: 60 }), async (initial, requests, ops) => {
        // Instance 0 always has the newest policies; instance 1 loads them only on `sync`.
        const loaded: Loaded[] = [load(initial), load(initial)];
        for (const [i, c] of caches.entries()) c.setGeneration(loaded[i]!.hash);
        for (const o of ops) {
          if (o.kind === 'update') {
            loaded[0] = load(loaded[0]!.docs.map((d, i) => (i === o.scope ? o.policies : d)));
            caches[0]!.setGeneration(loaded[0].hash);
            continue;
          }
          if (o.kind === 'sync') {
            loaded[1] = loaded[0]!;
            caches[1]!.setGeneration(loaded[1].hash);
            continue;
          }
          if (o.kind === 'drop-l1') {
            caches[o.instance]!.clear();
            // Let background L2 writes land (each connection runs its commands in order).
            await Promise.all(clients.map((c) => c.ping()));
            continue;
          }
          const set = loaded[o.instance]!.sets[o.scope]!;
          const cache = caches[o.instance]!;
          const r = requests[o.pick]!;
          const req = { principal: r.principal, action: r.action, resource: r.resource, context: createContext(r.context) };
          const fresh = evaluate(set, req);
          // The fingerprint names the scope, not its content: only the generation tells versions apart.
          const key = cache.keyOf({ fingerprint: `scope${o.scope}`, generation: loaded[o.instance]!.hash, ...req, keys: cache.keysOf(set) });
          const readsTime = [...cache.keysOf(set)].some((k) => ['aws:epochtime', 'aws:currenttime', 'aws:multifactorauthage', 'aws:tokenissuetime'].includes(k));
          expect(key === undefined).toBe(readsTime);
          if (key === undefined) {
            tally.uncacheable++;
            continue;
          }
          const cached = await cache.get(key);
          if (cached) {
            tally[cached.level]++;
            expect(cached.decision).toStrictEqual(fresh);
          } else {
            cache.set(key, { decision: fresh });
            tally.stored++;
          }
        }
      }),
      { numRuns: 300 },
    );
    console.info(`cache property: ${JSON.stringify(tally)}`);
    // The property must have exercised both levels and the uncacheable path.
    expect(tally.l1).toBeGreaterThan(50);
    expect(tally.l2).toBeGreaterThan(30);
    expect(tally.uncacheable).toBeGreaterThan(10);
  }, 120_000);
});
