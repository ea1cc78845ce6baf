// Redis through Sentinel, as the Helm chart configures it (`redis.sentinel: {masterName, nodes}`,
// no URL): a real redis-server as the primary and a real sentinel monitoring it. The gateway, as
// `iamgate serve` assembles it, asks the sentinel for the primary, reads its revocation state
// there (so it becomes ready) and announces its policy generation there.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openGatewayAudit } from '../../src/app/audit.js';
import { readConfig } from '../../src/app/index.js';
import { freePort, REDIS_SERVER, startOwnedRedis, type TestRedis } from '../support/redis.js';
import { waitForPort } from '../support/net.js';
import { createTestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { startServedGateway, writePolicyFolder, type ServedGateway } from './served.js';
import { until } from '../support/until.js';

let redis: TestRedis;
let sentinel: ChildProcess | undefined;
let upstream: TestUpstream;
let dir = '';
let sentinelPort = 0;
let gw: ServedGateway;

beforeAll(async () => {
  redis = await startOwnedRedis();
  upstream = await startTestUpstream();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-sentinel-'));
  const port = await freePort();
  sentinelPort = port;
  const conf = join(dir, 'sentinel.conf');
  await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor primary-one 127.0.0.1 ${redis.port} 1\n`);
  sentinel = spawn(REDIS_SERVER ?? 'redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await waitForPort(port);
  await writePolicyFolder(join(dir, 'policies'), 'Allow');
  gw = await startServedGateway({
    policies: join(dir, 'policies'),
    work: join(dir, 'work'),
    keys: await createTestKeys(),
    upstreamUrl: upstream.url,
    config: { redis: { sentinel: { masterName: 'primary-one', nodes: [`127.0.0.1:${port}`] } } },
  });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  sentinel?.kill('SIGKILL');
  await upstream?.close();
  await redis?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('Redis through Sentinel', () => {
  it('finds the primary through the sentinel: ready, deciding, and announcing its generation there', async () => {
    const served = gw;
    await until('the gateway is ready', async () => (await request(`${served.opsUrl}/readyz`)).statusCode === 200, 10_000);
    expect(await served.getOrder('alice')).toBe(200);
    expect(await served.getOrder('bob')).toBe(403);
    const primary = new Redis(redis.url, { lazyConnect: true });
    try {
      await primary.connect();
      await until('a generation announced in Redis', async () => (await primary.get('iamgate:generation:latest')) !== null);
    } finally {
      primary.disconnect();
    }
  });
});

describe('the audit trail through Sentinel', () => {
  it('writes its Redis Stream on the primary the sentinel names', async () => {
    const read = readConfig(
      {
        version: 1,
        mode: 'development',
        upstream: { url: upstream.url },
        policies: { directory: join(dir, 'policies', 'directory.yaml'), routes: join(dir, 'policies', 'routes.yaml') },
        auth: { stateDir: join(dir, 'audit-state'), issuers: [] },
        redis: { sentinel: { masterName: 'primary-one', nodes: [`127.0.0.1:${sentinelPort}`] } },
        audit: { sink: 'redis', redis: { stream: 'audit-through-sentinel' } },
      },
      {},
      undefined,
    );
    if (!read.ok) throw new Error(JSON.stringify(read.problems));
    const audit = await openGatewayAudit(read.config, pino({ level: 'silent' }));
    await audit.sink.record({ kind: 'request', reason: 'allowed', decision: 'Allow', requestId: 'through-sentinel' });
    await audit.sink.flush();
    const primary = new Redis(redis.url, { lazyConnect: true });
    try {
      await primary.connect();
      await until('the record on the primary', async () => {
        const entries = await primary.xrange('audit-through-sentinel', '-', '+');
        return entries.some(([, fields]) => fields.join(' ').includes('through-sentinel'));
      });
    } finally {
      primary.disconnect();
      await audit.close();
    }
  });
});
