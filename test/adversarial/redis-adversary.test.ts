// Redis holding what iamgate did not write: every decision-cache entry overwritten by someone else
// with a value that is not a decision iamgate encodes — a kind code named like a member of every
// JavaScript object (`constructor`, `__proto__`, `toString`), other formats, damaged JSON — and a
// revocation entry that is not a time. Through the gateway as `iamgate serve` assembles it, over a
// real redis-server, every such entry is a miss: alice (allowed) still gets 200 and bob (no policy)
// 403, decided afresh, each answer with one record; an unreadable revocation refuses the subject.
// A Redis frozen (SIGSTOP) or restarted empty changes no answer either.
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { startServedGateway, writePolicyFolder, type ServedGateway } from '../cache/served.js';
import { until } from '../support/until.js';

const PREFIX = 'iamgate:decision:';

let redis: TestRedis;
let client: Redis;
let upstream: TestUpstream;
let keys: TestKeys;
let dir = '';
let gw: ServedGateway;

beforeAll(async () => {
  redis = await startOwnedRedis();
  client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  upstream = await startTestUpstream();
  keys = await createTestKeys();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-redis-adv-'));
  await writePolicyFolder(join(dir, 'policies'), 'Allow');
  gw = await startServedGateway({
    policies: join(dir, 'policies'),
    work: join(dir, 'work'),
    keys,
    upstreamUrl: upstream.url,
    redisUrl: redis.url,
    // Every decision is looked up in Redis: no in-process level, no minimum evaluation cost.
    config: { cache: { l1: { enabled: false }, l2: { minEvalMicros: 0, prefix: PREFIX } } },
  });
  await until('alice gets her order', async () => (await gw.getOrder('alice')) === 200, 10_000);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  client?.disconnect();
  await upstream?.close();
  await redis?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** GET /orders/1 as `user`: the status and the number of decision records its request id has. */
async function call(user: string): Promise<{ status: number; records: number }> {
  const res = await request(`${gw.url}/orders/1`, { headers: { authorization: `Bearer ${await keys.token(user)}` } });
  await res.body.dump();
  const id = res.headers['x-iamgate-request-id'];
  return { status: res.statusCode, records: typeof id === 'string' ? gw.audit.decisionsFor(id).length : -1 };
}

/** Overwrites every decision entry in Redis with `value`; how many there were. */
async function poisonEveryEntry(value: string): Promise<number> {
  const found = await client.keys(`${PREFIX}*`);
  for (const key of found) await client.set(key, value);
  return found.length;
}

const KIND_CODES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf'];
const entryOfKind = (kind: string): string => JSON.stringify([1, kind, 0, [], 0, 0]);

describe('decision-cache entries written by someone else', () => {
  it.each<readonly [string, string]>([
    ...KIND_CODES.map((kind) => [`the kind code ${kind}`, entryOfKind(kind)] as const),
    ['an allow in another format version', JSON.stringify([2, 'A', 0, [], 0, 0])],
    ['an allow with a member too many', JSON.stringify([1, 'A', 0, [], 0, 0, 0])],
    ['an allow whose statement is not a reference', JSON.stringify([1, 'A', 0, [{ __proto__: 'x' }], 0, 0])],
    ['an object instead of an array', JSON.stringify({ 0: 1, 1: 'A', length: 6 })],
    ['damaged JSON', '[1,"A",0,['],
    ['the word allow', 'Allow'],
  ])('are a miss, decided afresh, when they hold %s', async (_name, poison) => {
    for (const user of ['alice', 'bob']) await call(user);
    // The gateway writes an entry after it answers, on its own connection: wait until both are there.
    await until('two decision entries in Redis', async () => (await client.keys(`${PREFIX}*`)).length >= 2, 10_000);
    expect(await poisonEveryEntry(poison)).toBeGreaterThanOrEqual(2);
    expect(await call('alice')).toEqual({ status: 200, records: 1 });
    expect(await call('bob')).toEqual({ status: 403, records: 1 });
  });
});

describe('a Redis that stops answering', () => {
  it('leaves every decision to the evaluator while it is frozen (SIGSTOP): the same answers, one record each, and again once it runs', async () => {
    redis.pause();
    try {
      for (let i = 0; i < 5; i++) {
        expect(await call('alice')).toEqual({ status: 200, records: 1 });
        expect(await call('bob')).toEqual({ status: 403, records: 1 });
      }
    } finally {
      redis.resume();
    }
    expect(await call('alice')).toEqual({ status: 200, records: 1 });
  });

  it('decides afresh while it is down and after a restart that lost every entry, and writes entries again', async () => {
    await redis.stop();
    expect(await call('alice')).toEqual({ status: 200, records: 1 });
    expect(await call('bob')).toEqual({ status: 403, records: 1 });
    await redis.start();
    // Back in use: the entries it lost are written again as requests are decided.
    const entriesAgain = async (): Promise<boolean> => {
      expect(await call('alice')).toEqual({ status: 200, records: 1 });
      return (await client.keys(`${PREFIX}*`).catch(() => [])).length > 0;
    };
    await until('decision entries in Redis again', entriesAgain, 10_000);
    expect(await call('bob')).toEqual({ status: 403, records: 1 });
  });
});

describe('revocation entries written by someone else', () => {
  it('refuse the subject whose entry is not a time, and no one else, whatever fields sit beside it', async () => {
    const fields = ['__proto__', 'constructor', 'toString'].flatMap((name) => [name, 'soon']);
    await client.hset('iamgate:revocations', 'arn:aws:iam::111122223333:user/bob', '1e400', ...fields);
    expect(await gw.iamgate.auth.revocations.refresh()).toBe(true);
    expect(await call('bob')).toEqual({ status: 401, records: 1 });
    expect(await call('alice')).toEqual({ status: 200, records: 1 });
  });
});
