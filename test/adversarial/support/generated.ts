// The gateway the generated suites attack: assembled as `iamgate serve` assembles it from a
// development configuration (the real authenticator over a development issuer's key, tokens from
// `iamgate token`), over the adversarial directory and route map, with forward-auth, the gRPC
// ext_authz server, 127.0.0.1 as a trusted proxy, and its audit trail in a durable, signed file;
// in front of the recording upstream. Beside it: the same policy folder loaded offline, so a suite
// can decide again, with the engine, what the upstream received; and the trail read back as it grows
// (durable: each decision is written before it is answered).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Iamgate } from '../../../src/app/index.js';
import { readPublicKeys, readTrailFile, verifyTrail, type VerifyReport } from '../../../src/audit/index.js';
import { loadPolicyWorld, type PolicyWorld } from '../../../src/policy-testing/index.js';
import { tokenFor, type TrailRecord } from '../../audit/served.js';
import { extAuthzClient, type ExtAuthzClient } from '../../support/grpc.js';
import { useStarted } from '../../support/suite.js';
import { startTestUpstream, type TestUpstream } from '../../support/upstream.js';
import { ADVERSARIAL_FIXTURES } from './fixtures.js';
import { serveConfigFile } from './served.js';

export type User = 'alice' | 'bob';

export interface GeneratedGateway {
  readonly served: Iamgate;
  readonly upstream: TestUpstream;
  /** The gateway listener's port. */
  readonly port: number;
  /** `host:port` of the gRPC ext_authz server. */
  readonly grpcAddress: string;
  /** The policy folder the gateway serves, loaded offline. */
  readonly world: PolicyWorld;
  /** Each user's `Authorization` value (`Bearer ...`), minted by `iamgate token`. */
  readonly bearer: Readonly<Record<User, string>>;
  /** The audit trail's file. */
  readonly trailFile: string;
  /** Decision records (not outcomes or chain records) appended since the last call: sent one at a time, those of the last request. */
  fresh(): Promise<TrailRecord[]>;
  /** Stops the gateway (its chain ends with a signed digest) and verifies the whole trail with its published key. */
  stopAndVerify(): Promise<VerifyReport>;
  close(): Promise<void>;
}

export async function startGeneratedGateway(): Promise<GeneratedGateway> {
  const upstream = await startTestUpstream();
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-generated-'));
  const config = join(dir, 'iamgate.yaml');
  const trail = join(dir, 'trail.jsonl');
  const text = [
    'version: 1',
    'mode: development',
    'listen: { host: 127.0.0.1, port: 0 }',
    'operations: { host: 127.0.0.1, port: 0 }',
    `upstream: { url: "${upstream.url}", connectTimeoutMs: 1000, headersTimeoutMs: 2000 }`,
    `policies: { directory: "${ADVERSARIAL_FIXTURES.directory}", routes: "${ADVERSARIAL_FIXTURES.routes}", watch: false }`,
    'trustedProxies: ["127.0.0.1"]',
    'forwardAuth: { enabled: true }',
    'extAuthz: { grpc: { host: 127.0.0.1, port: 0 } }',
    'audit:',
    '  sink: file',
    '  file: { path: trail.jsonl }',
    '  publicKeyFile: audit-public.pem',
    'auth:',
    '  sts: { enabled: false }',
    '  issuers:',
    '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
  ].join('\n');
  await writeFile(config, `${text}\n`);
  const served = await serveConfigFile(config);
  const world = await loadPolicyWorld(dir, ADVERSARIAL_FIXTURES);
  if (!world.ok) throw new Error(JSON.stringify(world.findings));
  const bearer = { alice: `Bearer ${await tokenFor(config, 'alice')}`, bob: `Bearer ${await tokenFor(config, 'bob')}` };
  let stopped = false;
  let readTo = 0;
  const fresh = async (): Promise<TrailRecord[]> => {
    const bytes = await readFile(trail);
    const end = bytes.lastIndexOf(0x0a) + 1;
    const text = bytes.subarray(readTo, end).toString('utf8');
    readTo = Math.max(readTo, end);
    const records = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TrailRecord);
    return records.filter((r) => typeof r['requestId'] === 'string' && r.kind !== 'outcome' && !r.kind.startsWith('audit.'));
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await served.stop(1000);
  };
  return {
    served,
    upstream,
    port: Number(new URL(served.gateway.url).port),
    grpcAddress: served.gateway.extAuthzAddress!,
    world: world.world,
    bearer,
    trailFile: trail,
    fresh,
    async stopAndVerify() {
      await stop();
      const trustedKeys = readPublicKeys(await readFile(join(dir, 'audit-public.pem'), 'utf8'));
      return verifyTrail(readTrailFile(trail), { trustedKeys });
    },
    async close() {
      await stop();
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The generated gateway of a suite, with a gRPC ext_authz client to it. */
export interface GeneratedSuiteGateway extends GeneratedGateway {
  readonly grpc: ExtAuthzClient;
}

/**
 * Starts the generated gateway and a gRPC ext_authz client to it before the suite's tests, and
 * closes both after them, once the suite's own `afterAll` hooks have read or verified the trail
 * (useStarted).
 */
export function useGeneratedGateway(): GeneratedSuiteGateway {
  return useStarted(
    'the generated gateway',
    async () => {
      const gw = await startGeneratedGateway();
      return { ...gw, grpc: extAuthzClient(gw.grpcAddress) };
    },
    async (gw) => {
      gw.grpc.close();
      await gw.close();
    },
    30_000,
  );
}

/**
 * fast-check's run settings for a suite against a real gateway: a fixed seed (fast-check prints it,
 * with the shrunk counterexample, on failure; FC_SEED replays another) and a bounded number of runs.
 */
export function runsOf(numRuns: number): { seed: number; numRuns: number } {
  const seed = Number(process.env['FC_SEED'] ?? 20261207);
  return { seed, numRuns };
}
