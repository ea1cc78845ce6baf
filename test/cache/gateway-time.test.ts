// Decisions on the clock, through `iamgate serve`'s assembly with the decision cache on at both
// levels and the real clock: an allow that holds only while the second factor is fresh, or only
// until a moment just ahead, turns into a deny when that moment passes, and once a request has been
// denied no cached allow ever answers again.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { mfaFromAmr, revocationListRead, startServedGateway, type ServedGateway } from './served.js';

/** How long an allow holds: long enough for the first request on a loaded machine, short enough to wait out. */
const WINDOW_SECONDS = 3;

const allowIf = (condition: Record<string, Record<string, string>>): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', Condition: condition }] });

describe('decisions that depend on the clock, with the cache on', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let keys: TestKeys;
  let dir: string;
  let gateway: ServedGateway;
  let soonFile: string;

  /** bob's allow, closing a little after now: written when his test begins, so that the tests before it cannot use up his window. */
  async function writeBobsWindow(): Promise<void> {
    const closes = new Date(Date.now() + (WINDOW_SECONDS + 2) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await writeFile(soonFile, allowIf({ DateLessThan: { 'aws:CurrentTime': closes } }));
  }

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startTestUpstream();
    keys = await createTestKeys();
    dir = await mkdtemp(join(tmpdir(), 'iamgate-cache-time-'));
    const folder = join(dir, 'policies');
    await mkdir(join(folder, 'policies'), { recursive: true });
    await writeFile(join(folder, 'policies', 'fresh-mfa.json'), allowIf({ NumericLessThan: { 'aws:MultiFactorAuthAge': String(WINDOW_SECONDS) } }));
    await writeFile(
      join(folder, 'directory.yaml'),
      ['version: 1', 'account: "111122223333"', 'partition: aws', 'policies:', '  FreshMfa: { file: policies/fresh-mfa.json }', '  Soon: { file: policies/soon.json }', 'users:', '  alice: { policies: [FreshMfa] }', '  bob: { policies: [Soon] }', ''].join('\n'),
    );
    soonFile = join(folder, 'policies', 'soon.json');
    await writeBobsWindow();
    await copyFile(FIXTURES.routes, join(folder, 'routes.yaml'));
    const work = join(dir, 'a');
    const config = { cache: { l2: { minEvalMicros: 0 } }, policies: { watch: false } };
    gateway = await startServedGateway({ policies: folder, work, keys, upstreamUrl: upstream.url, redisUrl: redis.url, config, auth: mfaFromAmr(work) });
    await revocationListRead(gateway);
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await redis?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Status and deny code of `GET /orders/1` with `token`. */
  async function getOrder(token: string): Promise<string> {
    const res = await request(`${gateway.url}/orders/1`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.body.text();
    return res.statusCode === 200 ? '200' : `${res.statusCode} ${(JSON.parse(text) as { code?: string }).code}`;
  }

  /**
   * Asks until the first deny (within a deadline), then for another second: every answer before the
   * first deny is the allow, every answer after it the deny.
   */
  async function answersAcrossTheFlip(token: string): Promise<{ before: string[]; after: string[] }> {
    const before: string[] = [];
    const after: string[] = [];
    const deadline = Date.now() + (WINDOW_SECONDS + 10) * 1000;
    let deniedAt: number | undefined;
    while (Date.now() < deadline && (deniedAt === undefined || Date.now() - deniedAt < 1000)) {
      const answer = await getOrder(token);
      if (deniedAt === undefined && answer !== '200') deniedAt = Date.now();
      (deniedAt === undefined ? before : after).push(answer);
    }
    return { before, after };
  }

  it('denies once the second factor is older than the policy allows, and never allows again', async () => {
    const { before, after } = await answersAcrossTheFlip(await keys.token('alice', { mfa: true }));
    expect(before.length).toBeGreaterThan(1);
    expect(new Set(before)).toEqual(new Set(['200']));
    expect(after.length).toBeGreaterThan(1);
    expect(new Set(after)).toEqual(new Set(['403 mfa_required']));
  });

  it('denies once the time a condition names has passed, and never allows again', async () => {
    await writeBobsWindow();
    const reloaded = await gateway.iamgate.gateway.reload();
    expect(reloaded.ok).toBe(true);
    const { before, after } = await answersAcrossTheFlip(await keys.token('bob'));
    expect(before.length).toBeGreaterThan(1);
    expect(new Set(before)).toEqual(new Set(['200']));
    expect(after.length).toBeGreaterThan(1);
    expect(new Set(after)).toEqual(new Set(['403 implicit_deny']));
  });
});
