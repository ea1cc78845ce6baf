// The cache is exact through the whole gateway: over generated policies whose conditions read the
// keys iamgate supplies (principal tags, MFA and its age, token issue time, the clock, source
// address, user agent, referer, method, path, route parameters, a header and a query parameter the
// route map feeds), generated requests asked twice in a row, a clock that moves, and directory and
// policy changes, two gateways with the decision cache on (sharing one real Redis, every lookup
// asking it) answer every request exactly as a gateway with the cache off does.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsOf } from '../adversarial/support/generated.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { mfaFromAmr, revocationListRead, startServedGateway, type ServedGateway } from './served.js';

const ROUTES = [
  'version: 1',
  'service: orders',
  'arnPrefix: "arn:aws:orders:us-east-1:111122223333:"',
  'routes:',
  '  - route: GET /orders/:id',
  '    action: orders:GetOrder',
  '    resource: order/${id}',
  '    context:',
  '      orders:Region: { header: x-region }',
  '      orders:Status: { query: status }',
  '  - route: ANY /admin/*rest',
  '    action: orders:Admin',
  '    resource: admin/${rest}',
  '',
].join('\n');

/** A condition, its values given as offsets (seconds) from the run's start where they are times. */
type Cond =
  | { readonly op: string; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'DateLessThan' | 'DateGreaterThan'; readonly key: 'aws:CurrentTime' | 'aws:TokenIssueTime'; readonly at: number }
  | { readonly op: 'NumericLessThan' | 'NumericGreaterThan'; readonly key: 'aws:EpochTime'; readonly at: number };

const plain = (op: string, key: string, ...values: string[]): fc.Arbitrary<Cond> => fc.constant({ op, key, values });

const condition: fc.Arbitrary<Cond> = fc.oneof(
  plain('StringEquals', 'aws:PrincipalTag/team', 'dev'),
  plain('StringEquals', 'aws:username', 'alice'),
  plain('Bool', 'aws:MultiFactorAuthPresent', 'true'),
  plain('BoolIfExists', 'aws:MultiFactorAuthPresent', 'false'),
  fc.constantFrom('5', '20').map((s): Cond => ({ op: 'NumericLessThan', key: 'aws:MultiFactorAuthAge', values: [s] })),
  fc.tuple(fc.constantFrom('DateLessThan', 'DateGreaterThan'), fc.constantFrom('aws:CurrentTime', 'aws:TokenIssueTime'), fc.integer({ min: -5, max: 40 })).map(
    ([op, key, at]) => ({ op, key, at }) as Cond,
  ),
  fc.tuple(fc.constantFrom('NumericLessThan', 'NumericGreaterThan'), fc.integer({ min: -5, max: 40 })).map(([op, at]) => ({ op, key: 'aws:EpochTime', at }) as Cond),
  plain('IpAddress', 'aws:SourceIp', '10.0.0.0/8'),
  plain('Bool', 'aws:SecureTransport', 'false'),
  plain('StringLike', 'aws:UserAgent', 'probe-a*'),
  plain('StringNotEqualsIfExists', 'aws:Referer', 'https://r.example/'),
  plain('StringEquals', 'iamgate:Method', 'GET'),
  plain('StringLike', 'iamgate:Path', '/orders/1*'),
  plain('StringEquals', 'iamgate:RouteParam/id', '2'),
  plain('StringEquals', 'orders:Region', 'eu'),
  plain('StringEqualsIfExists', 'orders:Region', 'us'),
  plain('Null', 'orders:Region', 'true'),
  plain('StringEquals', 'orders:Status', 'open'),
);

const statement = fc.record({
  Effect: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny'),
  Action: fc.constantFrom('orders:GetOrder', 'orders:*', 'orders:*', 'orders:Admin'),
  Resource: fc.constantFrom('*', '*', 'arn:aws:orders:us-east-1:111122223333:order/1', 'arn:aws:orders:us-east-1:111122223333:order/${aws:PrincipalTag/team}', 'arn:aws:orders:us-east-1:111122223333:admin/*'),
  conditions: fc.oneof(fc.array(condition, { minLength: 1, maxLength: 1 }), fc.array(condition, { maxLength: 2 })),
});

type Statement = typeof statement extends fc.Arbitrary<infer T> ? T : never;

/** The policy document at the run's start time `start` (epoch ms). */
function documentAt(statements: readonly Statement[], start: number): string {
  const iso = (at: number): string => new Date(Math.floor(start / 1000) * 1000 + at * 1000).toISOString().replace('.000Z', 'Z');
  const Statement = statements.map(({ conditions, ...s }) => {
    const block: Record<string, Record<string, string[]>> = {};
    for (const c of conditions) {
      const values = 'values' in c ? [...c.values] : c.key === 'aws:EpochTime' ? [String(Math.floor(start / 1000) + c.at)] : [iso(c.at)];
      block[c.op] = { ...block[c.op], [c.key]: values };
    }
    return { ...s, ...(conditions.length > 0 ? { Condition: block } : {}) };
  });
  return JSON.stringify({ Version: '2012-10-17', Statement });
}

const fields = {
  user: fc.constantFrom('alice', 'alice', 'alice', 'bob'),
  mfa: fc.boolean(),
  /** The token was issued at the run's start, or just now. */
  issuedNow: fc.boolean(),
  path: fc.constantFrom('/orders/1', '/orders/1', '/orders/2', '/orders/dev', '/admin/x'),
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST'),
  status: fc.constantFrom(undefined, 'open', 'closed'),
  region: fc.constantFrom(undefined, 'eu', 'us'),
  forwardedFor: fc.constantFrom(undefined, '10.1.2.3', '192.168.7.7'),
  userAgent: fc.constantFrom('probe-a/1', 'probe-b/1'),
  referer: fc.constantFrom(undefined, 'https://r.example/', 'https://s.example/'),
};

const ask = fc.record(fields);

/** One field of a request changed: requests that differ in a single fact are the ones a key could confuse. */
const change = fc.oneof(...Object.entries(fields).map(([name, values]) => (values as fc.Arbitrary<unknown>).map((v) => ({ [name]: v }))));

type Ask = typeof ask extends fc.Arbitrary<infer T> ? T : never;

/**
 * What happens next in a run: one of the run's few requests (so that they repeat, and the cache has
 * something to answer), the clock moving on, or alice's tags changing in the directory.
 */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.nat(3).map((index) => ({ kind: 'ask' as const, index })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 15 }).map((seconds) => ({ kind: 'tick' as const, seconds })) },
  { weight: 1, arbitrary: fc.constantFrom('dev', 'ops', '').map((team) => ({ kind: 'tags' as const, team })) },
);

const run = fc.record({
  statements: fc.array(statement, { minLength: 1, maxLength: 3 }),
  team: fc.constantFrom('dev', 'ops'),
  asks: fc.tuple(ask, fc.array(change, { minLength: 1, maxLength: 3 })).map(([base, changes]) => [base, ...changes.map((c) => ({ ...base, ...c }) as Ask)]),
  steps: fc.array(step, { minLength: 6, maxLength: 16 }),
});

type Run = typeof run extends fc.Arbitrary<infer T> ? T : never;

const ALICE: Ask = { user: 'alice', mfa: false, issuedNow: false, path: '/orders/1', method: 'GET', status: undefined, region: undefined, forwardedFor: '10.1.2.3', userAgent: 'probe-a/1', referer: undefined };
const allowIf = (cond: Cond): Statement => ({ Effect: 'Allow', Action: 'orders:*', Resource: '*', conditions: [cond] });

/** Runs always tried first: requests that differ in one fact a condition reads, and a tag changed in the directory between two asks. */
const PINNED: readonly Run[] = [
  { statements: [allowIf({ op: 'IpAddress', key: 'aws:SourceIp', values: ['10.0.0.0/8'] })], team: 'dev', asks: [ALICE, { ...ALICE, forwardedFor: '192.168.7.7' }], steps: [{ kind: 'ask', index: 0 }, { kind: 'ask', index: 1 }] },
  { statements: [allowIf({ op: 'StringEquals', key: 'orders:Region', values: ['eu'] })], team: 'dev', asks: [{ ...ALICE, region: 'eu' }, { ...ALICE, region: 'us' }], steps: [{ kind: 'ask', index: 0 }, { kind: 'ask', index: 1 }] },
  { statements: [allowIf({ op: 'StringEquals', key: 'aws:PrincipalTag/team', values: ['dev'] })], team: 'dev', asks: [ALICE], steps: [{ kind: 'ask', index: 0 }, { kind: 'tags', team: 'ops' }, { kind: 'ask', index: 0 }] },
  { statements: [allowIf({ op: 'DateLessThan', key: 'aws:CurrentTime', at: 5 })], team: 'dev', asks: [ALICE], steps: [{ kind: 'ask', index: 0 }, { kind: 'tick', seconds: 6 }, { kind: 'ask', index: 0 }] },
  { statements: [allowIf({ op: 'NumericLessThan', key: 'aws:MultiFactorAuthAge', values: ['5'] })], team: 'dev', asks: [{ ...ALICE, mfa: true }], steps: [{ kind: 'ask', index: 0 }, { kind: 'tick', seconds: 6 }, { kind: 'ask', index: 0 }] },
  { statements: [allowIf({ op: 'Bool', key: 'aws:MultiFactorAuthPresent', values: ['true'] })], team: 'dev', asks: [{ ...ALICE, mfa: true }, ALICE], steps: [{ kind: 'ask', index: 0 }, { kind: 'ask', index: 1 }] },
];

async function writeDirectory(folder: string, team: string): Promise<void> {
  const tags = team === '' ? '{}' : `{ team: ${team} }`;
  await writeFile(
    join(folder, 'directory.yaml'),
    ['version: 1', 'account: "111122223333"', 'partition: aws', 'policies:', '  Generated: { file: policies/generated.json }', 'users:', `  alice: { policies: [Generated], tags: ${tags} }`, '  bob: { policies: [Generated] }', ''].join('\n'),
  );
}

describe('the gateway with the decision cache on, against the gateway with it off', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let keys: TestKeys;
  let dir: string;
  let folder: string;
  /** The one clock of all three gateways and of the tokens. */
  let clock = Date.now();
  let cachedA: ServedGateway;
  let cachedB: ServedGateway;
  let fresh: ServedGateway;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startTestUpstream();
    keys = await createTestKeys();
    dir = await mkdtemp(join(tmpdir(), 'iamgate-cache-exact-'));
    folder = join(dir, 'policies');
    await mkdir(join(folder, 'policies'), { recursive: true });
    await writeFile(join(folder, 'policies', 'generated.json'), documentAt([{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', conditions: [] }], clock));
    await writeDirectory(folder, 'dev');
    await writeFile(join(folder, 'routes.yaml'), ROUTES);
    const now = (): number => clock;
    const common = { policies: folder, keys, upstreamUrl: upstream.url, now };
    const config = (cache: Record<string, unknown>) => ({ cache, trustedProxies: ['127.0.0.1'], policies: { watch: false } });
    const work = (name: string) => ({ work: join(dir, name), auth: mfaFromAmr(join(dir, name)) });
    // Every lookup asks Redis too (no minimum evaluation cost), so L2 answers are compared as well.
    cachedA = await startServedGateway({ ...common, ...work('a'), redisUrl: redis.url, config: config({ l2: { minEvalMicros: 0 } }) });
    cachedB = await startServedGateway({ ...common, ...work('b'), redisUrl: redis.url, config: config({ l2: { minEvalMicros: 0 } }) });
    fresh = await startServedGateway({ ...common, ...work('fresh'), config: config({ l1: { enabled: false } }) });
    for (const g of [cachedA, cachedB, fresh]) await revocationListRead(g);
  }, 60_000);

  afterAll(async () => {
    for (const g of [cachedA, cachedB, fresh]) await g?.stop();
    await upstream?.close();
    await redis?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every gateway loads the files as they are now; each must have taken them. */
  async function reloadAll(): Promise<void> {
    for (const g of [cachedA, cachedB, fresh]) {
      const report = await g.iamgate.gateway.reload();
      if (!report.ok) throw new Error(`reload failed: ${JSON.stringify(report)}`);
    }
  }

  /**
   * The Redis-backed gateways refuse every token once their revocation list is older than a minute
   * by their clock: after the clock moves, wait until each has read it again (every second).
   */
  async function revocationsCaughtUp(): Promise<void> {
    for (const g of [cachedA, cachedB]) await revocationListRead(g, clock);
  }

  /** Status and deny code of one request to one gateway. */
  async function answer(g: ServedGateway, a: Ask, token: string): Promise<string> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': a.userAgent };
    if (a.region !== undefined) headers['x-region'] = a.region;
    if (a.forwardedFor !== undefined) headers['x-forwarded-for'] = a.forwardedFor;
    if (a.referer !== undefined) headers['referer'] = a.referer;
    const target = a.status === undefined ? a.path : `${a.path}?status=${a.status}`;
    const res = await request(`${g.url}${target}`, { method: a.method, headers });
    const text = await res.body.text();
    if (res.statusCode === 200) return '200';
    return `${res.statusCode} ${(JSON.parse(text) as { code?: string }).code}`;
  }

  it('answers every generated request as a fresh evaluation does, asked twice, as the clock moves and after changes', async () => {
    await fc.assert(
      fc.asyncProperty(run, async (r) => {
        const start = clock;
        await writeFile(join(folder, 'policies', 'generated.json'), documentAt(r.statements, start));
        await writeDirectory(folder, r.team);
        await reloadAll();
        const tokens = new Map<string, string>();
        const tokenFor = async (a: Ask): Promise<string> => {
          const at = a.issuedNow ? clock : start;
          const name = `${a.user}/${a.mfa}/${at}`;
          let token = tokens.get(name);
          if (token === undefined) tokens.set(name, (token = await keys.token(a.user, { mfa: a.mfa, now: at, ttlSeconds: 3600 })));
          return token;
        };
        for (const s of r.steps) {
          if (s.kind === 'tick') {
            clock += s.seconds * 1000;
            await revocationsCaughtUp();
          }
          else if (s.kind === 'tags') {
            await writeDirectory(folder, s.team);
            await reloadAll();
          } else {
            const a = r.asks[s.index % r.asks.length]!;
            const token = await tokenFor(a);
            for (let i = 0; i < 2; i++) {
              const expected = await answer(fresh, a, token);
              const seen = { ...a, clock: clock - start, i };
              expect({ ...seen, gateway: 'a', answer: await answer(cachedA, a, token) }).toEqual({ ...seen, gateway: 'a', answer: expected });
              expect({ ...seen, gateway: 'b', answer: await answer(cachedB, a, token) }).toEqual({ ...seen, gateway: 'b', answer: expected });
            }
          }
        }
      }),
      { ...runsOf(25), examples: PINNED.map((r) => [r] as [Run]) },
    );
    // The comparison meant something: the cached gateways did answer from their caches, both levels.
    const hits = async (g: ServedGateway, level: string): Promise<number> => g.metric('iamgate_decision_cache_lookups_total', `result="hit_${level}"`);
    expect(await hits(cachedA, 'l1')).toBeGreaterThan(0);
    expect((await hits(cachedA, 'l2')) + (await hits(cachedB, 'l2'))).toBeGreaterThan(0);
  }, 240_000);
});
