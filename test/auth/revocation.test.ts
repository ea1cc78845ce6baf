// Revoking sessions, shared through a real redis-server: a revocation made on one replica is
// honoured by another (cached tokens included), tokens issued afterwards work, and when Redis has
// been unreachable for too long tokens are refused rather than risk honouring a revoked one.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, redisReady } from '../../src/auth/index.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { sessionToken, startAuthFixture, type AuthFixture } from './fixture.js';

const DIRECTORY = `
account: "111122223333"
policies:
  Revoker:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "iamgate:RevokeSessions", Resource: ["arn:aws:iam::111122223333:*", "arn:aws:sts::111122223333:assumed-role/*"] }]
  AssumeAnything:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "sts:AssumeRole", Resource: "*" }]
users:
  alice: { policies: [AssumeAnything] }
  bob: {}
  security: { policies: [Revoker] }
roles:
  Worker:
    policies: []
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole }]
`;
const ALICE = 'arn:aws:iam::111122223333:user/alice';

const check = async (f: AuthFixture, token: string): Promise<string> => {
  const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });
  return outcome.ok ? 'ok' : outcome.code;
};

/**
 * A token the people provider dated 25 s ahead (its tolerance is 30 s) and an STS session a replica
 * dated 4 s ahead (the STS's is 5 s), both issued before a revocation made through `a`: both are
 * refused through `a` and `b`, and a sign-in past the tolerance is honoured again.
 */
async function refusesSessionsDatedAhead(a: AuthFixture, b: AuthFixture): Promise<void> {
  const alice = await a.tokenFor('alice');
  const at = a.clock.now();
  a.clock.set(at + 25_000);
  const ahead = await a.tokenFor('alice');
  a.clock.set(at + 4_000);
  const session = sessionToken((await a.post('/AssumeRole', { RoleArn: 'arn:aws:iam::111122223333:role/Worker', RoleSessionName: 'ahead' }, alice)).body);
  a.clock.set(at);
  expect([await check(b, ahead), await check(b, session)]).toEqual(['ok', 'ok']);
  const security = await a.tokenFor('security');
  expect((await a.post('/RevokeSessions', { PrincipalArn: ALICE }, security)).status).toBe(200);
  expect((await a.post('/RevokeSessions', { PrincipalArn: 'arn:aws:sts::111122223333:assumed-role/Worker/ahead' }, security)).status).toBe(200);
  await b.runtime.revocations.refresh();
  expect([await check(a, ahead), await check(b, ahead), await check(a, session), await check(b, session)]).toEqual(['session_revoked', 'session_revoked', 'session_revoked', 'session_revoked']);
  a.clock.advance(31_000);
  await Promise.all([a.runtime.revocations.refresh(), b.runtime.revocations.refresh()]);
  expect(await check(b, await a.tokenFor('alice'))).toBe('ok');
}

describe('session revocation across replicas', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  let a: AuthFixture;
  let b: AuthFixture;

  async function client(): Promise<Redis> {
    const c = createRedisClient(redis.url, { commandTimeoutMs: 300 });
    clients.push(c);
    await redisReady(c);
    return c;
  }

  beforeAll(async () => {
    redis = await startOwnedRedis();
    a = await startAuthFixture({ directoryYaml: DIRECTORY, redis: await client() });
    b = await startAuthFixture({ directoryYaml: DIRECTORY, redis: await client(), dir: a.dir, clock: a.clock });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const c of clients) c.disconnect();
    await redis?.close();
  });

  /**
   * Moves the replicas' clock past the issuers' clock tolerance (30 s), within which a revocation
   * also refuses sessions issued after its time, and refreshes both: the jump must not read as a
   * store unread for longer than revocation.maxStaleSeconds.
   */
  const pastTolerance = async (): Promise<void> => {
    a.clock.advance(31_000);
    await Promise.all([a.runtime.revocations.refresh(), b.runtime.revocations.refresh()]);
  };

  it('honours on the second replica a revocation made through the first, for cached tokens too', async () => {
    const token = await a.tokenFor('alice');
    const role = await a.post('/AssumeRole', { RoleArn: 'arn:aws:iam::111122223333:role/Worker', RoleSessionName: 'w1' }, token);
    expect(role.status).toBe(200);
    expect(await check(b, token)).toBe('ok');
    expect(await check(b, sessionToken(role.body))).toBe('ok');

    a.clock.advance(1000);
    const res = await a.post('/RevokeSessions', { PrincipalArn: ALICE }, await a.tokenFor('security'));
    expect(res.status).toBe(200);
    await b.runtime.revocations.refresh();
    expect(await check(b, token)).toBe('session_revoked');
    expect(await check(a, token)).toBe('session_revoked');
    // Revoking alice does not revoke the role's sessions she started.
    expect(await check(b, sessionToken(role.body))).toBe('ok');

    await pastTolerance();
    expect(await check(b, await a.tokenFor('alice'))).toBe('ok');
    expect(await check(b, await a.tokenFor('bob'))).toBe('ok');
  });

  it('revokes one role session by its session ARN, on every replica, and leaves the role’s other sessions', async () => {
    const alice = await a.tokenFor('alice');
    const assume = async (name: string): Promise<string> =>
      sessionToken((await a.post('/AssumeRole', { RoleArn: 'arn:aws:iam::111122223333:role/Worker', RoleSessionName: name }, alice)).body);
    const w2 = await assume('w2');
    const w3 = await assume('w3');
    a.clock.advance(1000);
    const res = await a.post('/RevokeSessions', { PrincipalArn: 'arn:aws:sts::111122223333:assumed-role/Worker/w2' }, await a.tokenFor('security'));
    expect(res.status).toBe(200);
    await b.runtime.revocations.refresh();
    expect([await check(a, w2), await check(b, w2)]).toEqual(['session_revoked', 'session_revoked']);
    expect([await check(a, w3), await check(b, w3)]).toEqual(['ok', 'ok']);
    await pastTolerance();
    expect(await check(b, await assume('w2'))).toBe('ok');
  });

  it('refuses, on every replica, sessions issued before a revocation that their issuer dated up to the clock tolerance after it, IdP and STS tokens alike', async () => {
    await refusesSessionsDatedAhead(a, b);
  });

  it.each([
    ['a user the directory does not hold', 'arn:aws:iam::111122223333:user/nobody'],
    ['a role the directory does not hold', 'arn:aws:iam::111122223333:role/Nothing'],
    ['a session of a role the directory does not hold', 'arn:aws:sts::111122223333:assumed-role/Nothing/w1'],
    ['a session name no session can have', 'arn:aws:sts::111122223333:assumed-role/Worker/w'],
    ['a group', 'arn:aws:iam::111122223333:group/admins'],
    ['a wildcard', 'arn:aws:iam::111122223333:user/*'],
  ])('refuses to revoke %s with 400, instead of answering as though sessions were revoked', async (_name, arn) => {
    const res = await a.post('/RevokeSessions', { PrincipalArn: arn }, await a.tokenFor('security'));
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('treats a revocation it cannot read in Redis as revoking every session of its principal, rather than none', async () => {
    const writer = await client();
    const arn = 'arn:aws:iam::111122223333:role/Garbled';
    for (const value of ['not a time', '', 'NaN', '1e999']) {
      await writer.hset('iamgate:revocations', arn, value);
      expect(await b.runtime.revocations.refresh()).toBe(true);
      expect([value, b.runtime.revocations.check(arn, a.clock.now())]).toEqual([value, 'revoked']);
    }
    await writer.hdel('iamgate:revocations', arn);
    expect(await b.runtime.revocations.refresh()).toBe(true);
    expect(b.runtime.revocations.check(arn, a.clock.now())).toBe('ok');
  });

  it('replaces an entry it cannot read with the time of a new revocation, so the principal is not revoked for good', async () => {
    const writer = await client();
    const arn = 'arn:aws:iam::111122223333:role/Repaired';
    await writer.hset('iamgate:revocations', arn, 'not a time');
    expect(await a.runtime.revocations.refresh()).toBe(true);
    const at = a.clock.now();
    await a.runtime.revocations.revoke(arn, at);
    expect(await writer.hget('iamgate:revocations', arn)).toBe(String(at));
    expect(await b.runtime.revocations.refresh()).toBe(true);
    expect([b.runtime.revocations.check(arn, at), b.runtime.revocations.check(arn, at + 31_000)]).toEqual(['revoked', 'ok']);
    await writer.hdel('iamgate:revocations', arn);
  });

  it('refuses a Before later than the time now, so no revocation reaches sessions not issued yet', async () => {
    const security = await a.tokenFor('security');
    const inAnHour = new Date(a.clock.now() + 3600_000).toISOString();
    const res = await a.post('/RevokeSessions', { PrincipalArn: 'arn:aws:iam::111122223333:user/bob', Before: inAnHour }, security);
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    a.clock.advance(2000);
    await Promise.all([a.runtime.revocations.refresh(), b.runtime.revocations.refresh()]);
    expect([await check(a, await a.tokenFor('bob')), await check(b, await a.tokenFor('bob'))]).toEqual(['ok', 'ok']);
    // The time now itself is a Before as good as none.
    const now = new Date(a.clock.now()).toISOString();
    expect((await a.post('/RevokeSessions', { PrincipalArn: 'arn:aws:iam::111122223333:user/bob', Before: now }, security)).status).toBe(200);
    await pastTolerance();
    expect(await check(a, await a.tokenFor('bob'))).toBe('ok');
  });

  it('refuses RevokeSessions to callers without iamgate:RevokeSessions', async () => {
    const res = await a.post('/RevokeSessions', { PrincipalArn: ALICE }, await a.tokenFor('bob'));
    expect(res).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });

  it('refuses tokens with 503 once Redis has been unreachable longer than the staleness bound', async () => {
    const token = await a.tokenFor('bob');
    expect(await check(b, token)).toBe('ok');
    redis.pause();
    try {
      expect(await b.runtime.revocations.refresh()).toBe(false);
      expect(await check(b, token)).toBe('ok');
      a.clock.advance(61_000);
      const outcome = await b.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });
      expect(outcome).toMatchObject({ ok: false, code: 'revocation_unavailable', status: 503 });
    } finally {
      redis.resume();
    }
    await expect.poll(() => b.runtime.revocations.refresh()).toBe(true);
    expect(await check(b, token)).toBe('ok');
  });

  it('keeps every revocation it knew when Redis comes back empty, and writes them back, so a revoked token never works again', async () => {
    const arn = 'arn:aws:iam::111122223333:user/bob';
    expect(await a.runtime.revocations.refresh()).toBe(true);
    const token = await a.tokenFor('bob');
    a.clock.advance(1000);
    expect((await a.post('/RevokeSessions', { PrincipalArn: arn }, await a.tokenFor('security'))).status).toBe(200);
    await b.runtime.revocations.refresh();
    const known = b.runtime.revocations.status().entries;
    expect(await check(b, token)).toBe('session_revoked');
    // Restarted without persistence: every key is gone.
    await redis.stop();
    await redis.start();
    const writer = await client();
    expect(await writer.exists('iamgate:revocations')).toBe(0);
    await expect.poll(() => b.runtime.revocations.refresh(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => a.runtime.revocations.refresh(), { timeout: 10_000 }).toBe(true);
    expect([await check(a, token), await check(b, token)]).toEqual(['session_revoked', 'session_revoked']);
    expect(b.runtime.revocations.status().entries).toBe(known);
    // Written back, so an instance that starts now (or was restarted too) learns it from Redis.
    expect(Number(await writer.hget('iamgate:revocations', arn))).toBeGreaterThan(0);
    await pastTolerance();
    expect(await check(b, await a.tokenFor('bob'))).toBe('ok');
  });
});

describe('session revocation without Redis', () => {
  it('refuses sessions issued before a revocation that their issuer dated up to the clock tolerance after it, IdP and STS tokens alike', async () => {
    const alone = await startAuthFixture({ directoryYaml: DIRECTORY });
    try {
      await refusesSessionsDatedAhead(alone, alone);
    } finally {
      await alone.close();
    }
  });
});
