// A Redis that may evict keys under memory pressure would forget iamgate's security state (TOTP
// replay marks, lockouts; with allkeys-* revocations and MFA secrets too): iamgate says so in its
// log on connecting, naming the policy and what it would lose. A Redis that never evicts gets no
// warning (evictionWarning, the check the gateway runs on every connection, answers nothing).
// Against a real redis-server whose policy is set with CONFIG SET.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evictionWarning } from '../../src/app/redis.js';
import { fixtureDoc } from '../support/gateway.js';
import { startIamgate } from '../support/iamgate.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let admin: Redis;
beforeAll(async () => {
  redis = await startOwnedRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin?.config('SET', 'maxmemory', '0');
  admin?.disconnect();
  await redis?.close();
});

/** Starts iamgate on the suite's Redis and returns the eviction warning it logs once connected. */
async function warningOnConnect(): Promise<string | undefined> {
  const lines: string[] = [];
  const logged = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const { iamgate } = await startIamgate({
    doc: fixtureDoc({ audit: { sink: 'stdout', sign: false } }),
    env: { REDIS_URL: redis.url },
    deps: { logger: pino({ level: 'warn' }, logged) },
  });
  try {
    const warning = (): string | undefined =>
      lines.map((l) => JSON.parse(l) as { msg: string; warning?: string }).find((l) => l.msg === 'redis may evict security state')?.warning;
    await expect.poll(warning, { timeout: 10_000 }).toBeDefined();
    return warning();
  } finally {
    await iamgate.stop(0);
  }
}

describe('a Redis that may evict keys', () => {
  it('is named in a warning with its policy and what it would lose (allkeys-lru: revocations and MFA secrets too)', async () => {
    await admin.config('SET', 'maxmemory', '64mb');
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    expect(await warningOnConnect()).toBe(
      'redis evicts any key, revocations and MFA secrets included under memory pressure (maxmemory-policy allkeys-lru): set maxmemory-policy noeviction for the Redis iamgate keeps its security state in',
    );
  });

  it('is named for volatile-ttl, which drops the keys that expire, and not for noeviction nor without a memory limit', async () => {
    await admin.config('SET', 'maxmemory-policy', 'volatile-ttl');
    expect(await evictionWarning(admin)).toContain('keys that expire: TOTP replay marks, failed-attempt counts and lockouts');
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    expect(await evictionWarning(admin)).toBeUndefined();
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await admin.config('SET', 'maxmemory', '0');
    expect(await evictionWarning(admin)).toBeUndefined();
  });
});
