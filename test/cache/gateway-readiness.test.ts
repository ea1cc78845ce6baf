// Readiness with REDIS_URL set, through serve's assembly: /readyz says ready only once the
// revocation list has been read from Redis — before that every token would be refused with 503
// revocation_unavailable — so a gateway that says it is ready answers authenticated calls.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { startServedGateway, writePolicyFolder, type ServedGateway } from './served.js';
import { until } from '../support/until.js';

let redis: TestRedis;
let upstream: TestUpstream;
let keys: TestKeys;
let dir = '';
const started: ServedGateway[] = [];

beforeAll(async () => {
  redis = await startOwnedRedis();
  upstream = await startTestUpstream();
  keys = await createTestKeys();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-readiness-'));
  await writePolicyFolder(join(dir, 'policies'), 'Allow');
});

afterAll(async () => {
  for (const gw of started) await gw.stop();
  await upstream?.close();
  await redis?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function start(name: string): Promise<ServedGateway> {
  const gw = await startServedGateway({ policies: join(dir, 'policies'), work: join(dir, name), keys, upstreamUrl: upstream.url, redisUrl: redis.url });
  started.push(gw);
  return gw;
}

async function readyz(gw: ServedGateway): Promise<{ status: number; reasons: string[] }> {
  const res = await request(`${gw.opsUrl}/readyz`);
  const body = (await res.body.json()) as { reasons: string[] };
  return { status: res.statusCode, reasons: body.reasons };
}

describe('/readyz with Redis configured', () => {
  it('answers 200 only once authenticated calls are answered too', async () => {
    const gw = await start('fresh');
    await until('the gateway is ready', async () => (await readyz(gw)).status === 200, 10_000);
    expect(await gw.getOrder('alice')).toBe(200);
    expect(await gw.getOrder('bob')).toBe(403);
  });

  it('stays not ready, saying why, while Redis cannot be reached at start, and becomes ready when it can', async () => {
    await redis.stop();
    let gw: ServedGateway;
    try {
      gw = await start('without-redis');
      for (let i = 0; i < 5; i++) {
        const r = await readyz(gw);
        expect(r.status).toBe(503);
        expect(r.reasons.join('\n')).toContain('revocation');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await redis.start();
    }
    await until('the gateway is ready', async () => (await readyz(gw)).status === 200, 10_000);
    expect(await readyz(gw)).toEqual({ status: 200, reasons: [] });
    expect(await gw.getOrder('alice')).toBe(200);
  });
});
