// Gateways assembled exactly as `iamgate serve` assembles them (createIamgate: Redis,
// the decision cache and its announcements, authentication with revocations), over policy files
// in a folder of the test's own, called with real ES256 tokens that a JWKS file vouches for.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { startIamgate } from '../support/iamgate.js';
import { FIXTURES, recordingAudit, type RecordingAudit } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { until } from '../support/until.js';

const ORDERS = 'arn:aws:orders:us-east-1:111122223333:order/*';

/** alice's one policy (`policies/orders.json`): `effect` on orders:GetOrder. bob has none. */
export function ordersPolicy(effect: 'Allow' | 'Deny'): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Orders', Effect: effect, Action: 'orders:GetOrder', Resource: ORDERS }] }, null, 2);
}

/** Writes directory.yaml, routes.yaml and policies/orders.json into `dir`. */
export async function writePolicyFolder(dir: string, effect: 'Allow' | 'Deny'): Promise<void> {
  await mkdir(join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'policies', 'orders.json'), ordersPolicy(effect));
  await writeFile(
    join(dir, 'directory.yaml'),
    ['version: 1', 'account: "111122223333"', 'partition: aws', 'policies:', '  Orders: { file: policies/orders.json }', 'users:', '  alice: { policies: [Orders] }', '  bob: {}', ''].join('\n'),
  );
  await copyFile(FIXTURES.routes, join(dir, 'routes.yaml'));
}

export interface ServedGateway {
  readonly url: string;
  readonly opsUrl: string;
  readonly iamgate: Iamgate;
  /** Every audit event the gateway recorded. */
  readonly audit: RecordingAudit;
  /** Status of `GET /orders/1` as `user`. */
  getOrder(user: string): Promise<number>;
  /** A counter's value on /metrics (0 when absent). */
  metric(name: string, labels: string): Promise<number>;
  stop(): Promise<void>;
}

export interface ServedOptions {
  /** Folder with directory.yaml and routes.yaml (see writePolicyFolder). */
  readonly policies: string;
  /** Folder for this instance's JWKS file and local state. */
  readonly work: string;
  readonly keys: TestKeys;
  readonly upstreamUrl: string;
  readonly redisUrl?: string;
  /** Configuration keys on top of the defaults here (e.g. `cache`, `policies.watch`). */
  readonly config?: Record<string, unknown>;
  /** `auth` keys on top of the defaults here (e.g. `sts`). */
  readonly auth?: Record<string, unknown>;
  /** The gateway's clock (IamgateDeps.now). Default Date.now. */
  readonly now?: () => number;
}

/**
 * `auth` keys whose one issuer (the test keys' JWKS in `work`, as startServedGateway writes it) reads
 * a second factor from `amr`: tokens made with `mfa` then carry aws:MultiFactorAuthPresent and Age.
 */
export function mfaFromAmr(work: string): Record<string, unknown> {
  return { issuers: [{ ...testIssuer(join(work, 'jwks.json')), claims: { amrMfa: true } }] };
}

/** The issuer of the test keys' tokens, vouched for by the JWKS file `keyFile`. */
function testIssuer(keyFile: string): Record<string, unknown> {
  return { name: 'test', issuer: TEST_ISSUER, audiences: [TEST_AUDIENCE], algorithms: ['ES256'], keyFile };
}

/** Starts a gateway as serve does and waits for its first policy load. */
export async function startServedGateway(o: ServedOptions): Promise<ServedGateway> {
  await mkdir(o.work, { recursive: true });
  const jwks = join(o.work, 'jwks.json');
  await writeFile(jwks, JSON.stringify({ keys: [{ ...o.keys.publicJwk, kid: 'test-1', alg: 'ES256' }] }));
  const { policies: extraPolicies, ...extra } = (o.config ?? {}) as { policies?: Record<string, unknown> };
  const doc = {
    version: 1,
    mode: 'development',
    listen: { host: '127.0.0.1', port: 0 },
    operations: { host: '127.0.0.1', port: 0 },
    upstream: { url: o.upstreamUrl },
    shutdown: { graceMs: 1000 },
    policies: { directory: join(o.policies, 'directory.yaml'), routes: join(o.policies, 'routes.yaml'), ...extraPolicies },
    auth: {
      stateDir: join(o.work, 'state'),
      sts: { enabled: false },
      issuers: [testIssuer(jwks)],
      ...o.auth,
    },
    ...extra,
  };
  const audit = recordingAudit();
  const { iamgate } = await startIamgate({ doc, ...(o.redisUrl ? { env: { REDIS_URL: o.redisUrl } } : {}), deps: { audit, ...(o.now ? { now: o.now } : {}) } });
  const { gateway } = iamgate;
  return {
    url: gateway.url,
    opsUrl: gateway.opsUrl,
    iamgate,
    audit,
    async getOrder(user) {
      const res = await request(`${gateway.url}/orders/1`, { headers: { authorization: `Bearer ${await o.keys.token(user)}` } });
      await res.body.dump();
      return res.statusCode;
    },
    async metric(name, labels) {
      const text = await (await request(`${gateway.opsUrl}/metrics`)).body.text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    stop: () => iamgate.stop(1000),
  };
}

/**
 * Resolves once `gateway` has read the revocation list, at or after `since` by its clock: until it
 * has, every token is refused (503 revocation_unavailable); a read that a loaded machine timed out
 * is retried every second.
 */
export function revocationListRead(gateway: ServedGateway, since = -Infinity): Promise<void> {
  return until(`${gateway.url} reads the revocation list`, () => {
    const at = gateway.iamgate.auth.status().revocation.lastRefreshAt;
    return at !== undefined && at >= since;
  }, 10_000);
}

/** Two replicas sharing one real redis-server, one recording upstream, one key and one policy folder. */
export interface ServedPair {
  readonly redis: TestRedis;
  readonly upstream: TestUpstream;
  readonly keys: TestKeys;
  /** The suite's folder; the policies are in `dir/policies`. */
  readonly dir: string;
  readonly a: ServedGateway;
  readonly b: ServedGateway;
}

/** What differs between the replicas of a pair: their configuration and `auth` keys. */
export type ReplicaOptions = Pick<ServedOptions, 'config' | 'auth'>;

/**
 * Starts a pair before the suite's tests (the policy folder written by `writePolicies`) and stops
 * it after them. The result is filled in by `beforeAll`: read it inside tests and hooks only.
 */
export function useServedPair(o: { readonly prefix: string; readonly writePolicies: (folder: string) => Promise<void>; readonly a?: ReplicaOptions; readonly b?: ReplicaOptions }): ServedPair {
  const pair = {} as { -readonly [K in keyof ServedPair]: ServedPair[K] };
  beforeAll(async () => {
    pair.redis = await startRedis();
    pair.upstream = await startTestUpstream();
    pair.keys = await createTestKeys();
    pair.dir = await mkdtemp(join(tmpdir(), o.prefix));
    await o.writePolicies(join(pair.dir, 'policies'));
    const common = { policies: join(pair.dir, 'policies'), keys: pair.keys, upstreamUrl: pair.upstream.url, redisUrl: pair.redis.url };
    pair.a = await startServedGateway({ ...common, ...o.a, work: join(pair.dir, 'a') });
    pair.b = await startServedGateway({ ...common, ...o.b, work: join(pair.dir, 'b') });
    for (const replica of [pair.a, pair.b]) await revocationListRead(replica);
  }, 30_000);
  afterAll(async () => {
    await pair.a?.stop();
    await pair.b?.stop();
    await pair.upstream?.close();
    await pair.redis?.close();
    if (pair.dir) await rm(pair.dir, { recursive: true, force: true });
  });
  return pair;
}
