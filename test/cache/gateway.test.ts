// The cache behind the gateway's decide stage (src/gateway/decide.ts) through its cache seam:
// misses evaluate, repeats hit L1 without a promise, another instance hits L2, sets that read a
// time-varying key are never cached, and a new policy digest is never answered from old entries.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayDecisionCache } from '../../src/app/decisions.js';
import { createCacheRedis, createDecisionCache, type DecisionCache } from '../../src/cache/index.js';
import { createDecider } from '../../src/gateway/decide.js';
import type { Principal } from '../../src/identity/index.js';
import { createContext, type AuthzRequest, type PolicySet } from '../../src/policy/index.js';
import { compileSet } from '../policy/harness.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const ARN = 'arn:aws:iam::111122223333:user/alice';

function principal(policySet: PolicySet, fingerprint: string): Principal {
  return {
    arn: ARN,
    type: 'User',
    accountId: '111122223333',
    name: 'alice',
    userId: 'AIDAALICE',
    policySet,
    fingerprint,
    context: {},
    mfa: false,
    issuedAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    issuer: 'test',
    authMethods: ['pwd'],
  };
}

const allowGet = compileSet({
  identity: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }] }],
});
const timed = compileSet({
  identity: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '300' } } }] }],
});

const request = (secure: boolean): AuthzRequest => ({
  principal: ARN,
  action: 'orders:GetOrder',
  resource: 'arn:aws:orders:::order/1',
  context: createContext({ 'aws:SecureTransport': secure, 'aws:MultiFactorAuthAge': 10, 'aws:CurrentTime': new Date().toISOString() }),
});

describe('the decision cache behind the gateway', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const caches: DecisionCache[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    for (const c of clients) c.disconnect();
    await redis?.close();
  });

  function instance(): DecisionCache {
    const client = createCacheRedis(redis.url, { commandTimeoutMs: 500 });
    clients.push(client);
    const cache = createDecisionCache({ now: Date.now, redis: client, l2: { ttlMs: 60_000, prefix: 'gw:', minEvalMicros: 0 } });
    caches.push(cache);
    return cache;
  }

  it('answers repeats from L1 synchronously, other instances from L2, and never mixes contexts or digests', async () => {
    const first = instance();
    const second = instance();
    // Both connected (waited on, not slept on: a loaded machine connects late).
    await Promise.all(clients.map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))));
    const seam = gatewayDecisionCache(first);
    const decider = createDecider(seam);
    const alice = principal(allowGet, 'fp-alice');

    expect(await decider.decide(alice, request(true), 'digest1', Date.now())).toMatchObject({ reason: 'allowed', cache: 'miss' });
    expect(await decider.decide(alice, request(false), 'digest1', Date.now())).toMatchObject({ reason: 'implicit_deny', cache: 'miss' });
    expect(await decider.decide(alice, request(true), 'digest1', Date.now())).toMatchObject({ reason: 'allowed', cache: 'l1' });
    expect(await decider.decide(alice, request(false), 'digest1', Date.now())).toMatchObject({ reason: 'implicit_deny', cache: 'l1' });
    // An L1 hit through the seam is a plain value, not a promise.
    const query = { fingerprint: 'fp-alice', policyDigest: 'digest1', request: request(true), keys: new Set(['aws:securetransport']), now: Date.now() };
    expect(seam.get(query)).toMatchObject({ level: 'l1', decision: { decision: 'Allow' } });

    // Another instance finds the entries in Redis once the background writes have landed.
    await Promise.all(clients.map((c) => c.ping()));
    const other = createDecider(gatewayDecisionCache(second));
    expect(await other.decide(alice, request(true), 'digest1', Date.now())).toMatchObject({ reason: 'allowed', cache: 'l2' });
    // A new policy digest is never answered from entries of the old one.
    expect(await other.decide(alice, request(true), 'digest2', Date.now())).toMatchObject({ cache: 'miss' });
  });

  it('never caches decisions of a policy set that reads a time-varying key', async () => {
    const decider = createDecider(gatewayDecisionCache(instance()));
    const bob = principal(timed, 'fp-timed');
    for (let i = 0; i < 3; i++) {
      expect(await decider.decide(bob, request(true), 'digest1', Date.now())).toMatchObject({ reason: 'allowed', cache: 'miss' });
    }
  });

  it('asks L2 only for policy sets whose evaluation was measured slower than the threshold', async () => {
    const client = createCacheRedis(redis.url, { commandTimeoutMs: 500 });
    clients.push(client);
    const cache = createDecisionCache({ now: Date.now, redis: client, l2: { ttlMs: 60_000, prefix: 'gw2:', minEvalMicros: 100 } });
    caches.push(cache);
    await new Promise((r) => client.once('ready', r));
    const keyFor = (fingerprint: string) => cache.keyOf({ fingerprint, generation: 'g', ...request(true), keys: cache.keysOf(allowGet) })!;
    const [cheap, costly] = [keyFor('cheap'), keyFor('costly')];
    expect(cache.usesL2(cheap)).toBe(false);
    cache.set(cheap, { decision: { decision: 'ImplicitDeny', matched: [] } }, { evalMicros: 3 });
    cache.set(costly, { decision: { decision: 'ImplicitDeny', matched: [] } }, { evalMicros: 900 });
    expect(cache.usesL2(cheap)).toBe(false);
    expect(cache.usesL2(costly)).toBe(true);
    await client.ping();
    expect(await client.keys('gw2:*')).toHaveLength(1);
  });
});
