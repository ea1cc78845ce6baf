// `iamgate serve`'s assembly keys its shared decisions by its own release: an entry that another
// release stored in the same Redis for the same files, principal and request is never its answer,
// while one stored under its own release is (the control that shows the planted key is the one the
// gateway reads).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iamgateVersion } from '../../src/app/version.js';
import { DEFAULT_L2, decisionKey, encodeEntry, sharedKey } from '../../src/cache/index.js';
import { createContext, policySetKeys } from '../../src/policy/index.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { revocationListRead, startServedGateway, writePolicyFolder, type ServedGateway } from './served.js';
import { until } from '../support/until.js';

describe('a served gateway sharing Redis with another release', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let dir: string;
  let gateway: ServedGateway;
  let admin: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startTestUpstream();
    dir = await mkdtemp(join(tmpdir(), 'iamgate-release-'));
    await writePolicyFolder(join(dir, 'policies'), 'Allow');
    // L1 off and no minimum evaluation cost: every request asks Redis first.
    const config = { cache: { l1: { enabled: false }, l2: { minEvalMicros: 0 } }, policies: { watch: false } };
    gateway = await startServedGateway({ policies: join(dir, 'policies'), work: join(dir, 'a'), keys: await createTestKeys(), upstreamUrl: upstream.url, redisUrl: redis.url, config });
    await revocationListRead(gateway);
    admin = new Redis(redis.url);
  }, 30_000);

  afterAll(async () => {
    admin?.disconnect();
    await gateway?.stop();
    await upstream?.close();
    await redis?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Where a gateway of `release` keeps its decision on alice's `GET /orders/1`. */
  function keyOf(release: string): string {
    const snapshot = gateway.iamgate.gateway.snapshot();
    const alice = snapshot?.resolver?.directory.users.get('alice');
    if (!snapshot || !alice) throw new Error('the policies are not loaded');
    const input = {
      fingerprint: alice.fingerprint,
      generation: snapshot.digest,
      principal: alice.arn,
      action: 'orders:GetOrder',
      resource: 'arn:aws:orders:us-east-1:111122223333:order/1',
      context: createContext({}),
      keys: policySetKeys(alice.policySet),
    };
    return sharedKey(DEFAULT_L2.prefix, decisionKey(input, release) as string);
  }

  const deny = encodeEntry({ decision: { decision: 'ExplicitDeny', matched: [{ policy: 'Planted', kind: 'identity', index: 0, effect: 'Deny' }] } });

  it('never answers from an entry another release stored, and does from one its own release stored', async () => {
    await admin.set(keyOf(`${iamgateVersion()}-other`), deny);
    expect(await gateway.getOrder('alice')).toBe(200);
    // The gateway stores its own allow in the background: planted over it once it has landed.
    const own = keyOf(iamgateVersion());
    await until('an entry of its own release in Redis', async () => (await admin.exists(own)) === 1);
    await admin.set(own, deny);
    expect(await gateway.getOrder('alice')).toBe(403);
  });
});
