// Pruning the session revocation list: a revocation is kept while a credential it names can still
// be honoured (retainMs after its time, from the configuration) and removed after, from the
// instance's list and from the store: the in-process store on an injected clock, and a real
// redis-server, where one that still matters survives a restart and one that no longer does is
// not written back.
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore, createRedisStateStore, createRevocations, REVOCATION_MARGIN_MS, revocationRetainMs, type StateStore } from '../../src/auth/index.js';
import { authConfig, redisForSuite, testClock } from './helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const OLD = 'arn:aws:iam::111122223333:user/old';
const NEW = 'arn:aws:iam::111122223333:user/new';

describe('how long a revocation is kept', () => {
  const issuer = (maxTokenAgeSeconds: number): Record<string, unknown> => ({ name: `idp${maxTokenAgeSeconds}`, issuer: `https://idp${maxTokenAgeSeconds}.test`, audiences: ['iamgate'], algorithms: ['ES256'], keyFile: 'idp.json', clockToleranceSeconds: 30, maxTokenAgeSeconds });

  it('is the longest any trusted credential is honoured after its issue, plus a margin for clock tolerance and drift', () => {
    // The STS's longest session under any configuration (36 h) outlives a day-long issuer token.
    expect(revocationRetainMs(authConfig({ issuers: [issuer(86_400)], sts: { enabled: true, signingKeyFile: 'sts.json' } }))).toBe(129_600_000 + REVOCATION_MARGIN_MS);
    expect(revocationRetainMs(authConfig({ issuers: [issuer(86_400), issuer(31 * 86_400)], sts: { enabled: false } }))).toBe((31 * 86_400 + 30) * 1000 + REVOCATION_MARGIN_MS);
    expect(REVOCATION_MARGIN_MS).toBeGreaterThan(300_000);
  });
});

describe('pruning with the in-process store', () => {
  it('keeps a revocation while a credential it names can be honoured, and prunes it from the list and the store after', async () => {
    const clock = testClock();
    const store = createMemoryStateStore({ now: clock.now });
    const revocations = createRevocations({ store, now: clock.now, retainMs: HOUR });
    const t0 = clock.now();
    await revocations.revoke(OLD, t0);
    clock.advance(HOUR);
    await revocations.revoke(NEW, clock.now());
    // A credential issued at t0 may be honoured until t0 + retainMs: until then it is refused.
    expect([revocations.check(OLD, t0), revocations.status().entries]).toEqual(['revoked', 2]);
    clock.advance(1);
    await revocations.revoke(NEW, clock.now());
    expect(revocations.status().entries).toBe(1);
    expect([...(await store.hashGetAll('revocations')).keys()]).toEqual([NEW]);
  });

  it('holds the revocations of one lifetime, however many are made over time', async () => {
    const clock = testClock();
    const store = createMemoryStateStore({ now: clock.now });
    const revocations = createRevocations({ store, now: clock.now, retainMs: HOUR });
    let most = 0;
    for (let i = 0; i < 600; i++) {
      await revocations.revoke(`arn:aws:iam::111122223333:user/u${i}`, clock.now());
      most = Math.max(most, revocations.status().entries, (await store.hashGetAll('revocations')).size);
      clock.advance(MINUTE);
    }
    // One a minute, each kept for an hour: the 61 of the last hour at most.
    expect(most).toBe(61);
  });
});

describe('pruning while a revocation is made', () => {
  it('never loses from the list a revocation made while a refresh prunes the store', async () => {
    const clock = testClock();
    const memory = createMemoryStateStore({ now: clock.now });
    // The store's prune waits until let go, as a Redis round trip may: the revocation is made meanwhile.
    let letGo = (): void => undefined;
    const pruning = new Promise<void>((resolve) => (letGo = resolve));
    const store: StateStore = { ...memory, shared: true, hashPrune: async (key, before) => (await pruning, memory.hashPrune(key, before)) };
    const revoked: string[] = [];
    const revocations = createRevocations({ store, now: clock.now, retainMs: HOUR, onRevoked: (arn) => void revoked.push(arn) });
    await revocations.revoke(OLD, clock.now());
    clock.advance(HOUR + 1);
    const refreshed = revocations.refresh();
    const made = revocations.revoke(NEW, clock.now());
    const t1 = clock.now();
    letGo();
    expect(await refreshed).toBe(true);
    await made;
    expect([revocations.check(NEW, t1), revocations.check(OLD, 0), revocations.status().entries]).toEqual(['revoked', 'ok', 1]);
    // Told once of each: the refresh does not announce again what this instance has just revoked.
    expect(revoked).toEqual([OLD, NEW]);
  });
});

describe('pruning on Redis', () => {
  const suite = redisForSuite(300);
  let n = 0;

  async function replica(prefix: string, now: () => number): Promise<ReturnType<typeof createRevocations>> {
    return createRevocations({ store: createRedisStateStore(await suite.connect(), { prefix }), now, retainMs: HOUR });
  }

  it('removes from Redis, as a replica refreshes, the revocations no credential can be honoured under any more, and keeps the rest', async () => {
    const clock = testClock();
    const prefix = `prune-${n++}:`;
    const reader = await suite.connect();
    const a = await replica(prefix, clock.now);
    const b = await replica(prefix, clock.now);
    const t0 = clock.now();
    await a.revoke(OLD, t0);
    clock.advance(30 * MINUTE);
    await a.revoke(NEW, clock.now());
    // Not a time iamgate wrote: it revokes every session of its subject, so it is never pruned.
    await reader.hset(`${prefix}revocations`, 'arn:aws:iam::111122223333:user/damaged', 'garbled');
    expect(await b.refresh()).toBe(true);
    expect([b.status().entries, b.check(OLD, t0)]).toEqual([3, 'revoked']);
    clock.advance(30 * MINUTE + 1);
    expect(await b.refresh()).toBe(true);
    expect(b.status().entries).toBe(2);
    expect(Object.keys(await reader.hgetall(`${prefix}revocations`)).sort()).toEqual(['arn:aws:iam::111122223333:user/damaged', NEW]);
    // The replica that made it drops it too, and never writes it back.
    expect(await a.refresh()).toBe(true);
    expect(a.status().entries).toBe(2);
    expect(await reader.hexists(`${prefix}revocations`, OLD)).toBe(0);
  });

  it('writes back after Redis restarts empty a revocation that still matters, and not one that no longer does', async () => {
    const redis = suite.server();
    const clock = testClock();
    const prefix = `prune-${n++}:`;
    const a = await replica(prefix, clock.now);
    const t0 = clock.now();
    await a.revoke(OLD, t0);
    clock.advance(30 * MINUTE);
    const t1 = clock.now();
    await a.revoke(NEW, t1);
    expect(await a.refresh()).toBe(true);
    await redis.stop();
    await redis.start();
    clock.advance(30 * MINUTE + 1);
    await expect.poll(() => a.refresh(), { timeout: 10_000 }).toBe(true);
    const reader = await suite.connect();
    expect(await reader.hgetall(`${prefix}revocations`)).toEqual({ [NEW]: String(t1) });
    expect([a.check(NEW, t1), a.status().entries]).toEqual(['revoked', 1]);
  });
});
