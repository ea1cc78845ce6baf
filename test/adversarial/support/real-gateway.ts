// A gateway wired the way `iamgate serve` wires it — the real authenticator (JWKS over HTTP,
// verified-token cache, revocation list) over a loaded directory — in front of the recording
// upstream, with a clock the test may move. Used where the test gateway's simple verifier would
// hide what an attacker is probing (token headers, caching, revocation, tag claims).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthRuntime, readAuthConfig, type AuthRuntime } from '../../../src/auth/index.js';
import { createDecisionCache, gatewayDecisionCache } from '../../../src/cache/index.js';
import { readConfig, type GatewayConfig } from '../../../src/config/index.js';
import { createPolicyLoader, startGateway, type Gateway } from '../../../src/gateway/index.js';
import type { PrincipalResolver } from '../../../src/identity/index.js';
import { FIXTURES, recordingAudit, type RecordingAudit } from '../../support/gateway.js';
import { startTestUpstream, type TestUpstream } from '../../support/upstream.js';

export interface RealGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly port: number;
  readonly upstream: TestUpstream;
  readonly audit: RecordingAudit;
  readonly runtime: AuthRuntime;
  close(): Promise<void>;
}

export interface RealGatewayOptions {
  /** `auth.issuers` entries. */
  readonly issuers: readonly Record<string, unknown>[];
  /** Other `auth` keys. */
  readonly auth?: Record<string, unknown>;
  /** Gateway configuration keys on top of loopback defaults. */
  readonly config?: Record<string, unknown>;
  readonly files?: { readonly directory?: string; readonly routes?: string };
  readonly now?: () => number;
  /** Put the in-process decision cache in front of the evaluator, as `iamgate serve` does. */
  readonly decisionCache?: boolean;
}

export async function startRealGateway(o: RealGatewayOptions): Promise<RealGateway> {
  const upstream = await startTestUpstream();
  const stateDir = await mkdtemp(join(tmpdir(), 'iamgate-adv-'));
  const read = readConfig(
    {
      version: 1,
      mode: 'development',
      listen: { host: '127.0.0.1', port: 0 },
      operations: { host: '127.0.0.1', port: 0 },
      upstream: { url: upstream.url, connectTimeoutMs: 1000, headersTimeoutMs: 1000, idleTimeoutMs: 2000 },
      forwardAuth: { enabled: true },
      ...o.config,
    },
    {},
    undefined,
  );
  if (!read.ok) throw new Error(`adversarial config invalid: ${JSON.stringify(read.problems)}`);
  const files = { directory: o.files?.directory ?? FIXTURES.directory, routes: o.files?.routes ?? FIXTURES.routes };
  const config: GatewayConfig = { ...read.config, policies: { ...read.config.policies, ...files } };
  const auth = readAuthConfig({ stateDir, issuers: o.issuers, sts: { enabled: false }, ...o.auth }, { development: true });
  if (!auth.config) throw new Error(`adversarial auth config invalid: ${JSON.stringify(auth.findings)}`);
  let resolver: PrincipalResolver | undefined;
  const runtime = await createAuthRuntime({
    config: auth.config,
    baseDir: stateDir,
    resolver: () => {
      if (!resolver) throw new Error('no directory loaded');
      return resolver;
    },
    ...(o.now ? { now: o.now } : {}),
  });
  const audit = recordingAudit();
  const load = createPolicyLoader(files, (_directory, next) => {
    resolver = next;
    return runtime.authenticator;
  });
  const cache = o.decisionCache ? gatewayDecisionCache(createDecisionCache({ now: o.now ?? Date.now })) : undefined;
  const gateway = await startGateway({ config, load, logger: pino({ level: 'silent' }), audit, ...(cache ? { cache } : {}), ...(o.now ? { now: o.now } : {}) });
  const first = await gateway.initialLoad;
  if (!first.ok) throw new Error(`adversarial policies failed to load: ${first.problems.join('; ')}`);
  return {
    gateway,
    url: gateway.url,
    port: Number(new URL(gateway.url).port),
    upstream,
    audit,
    runtime,
    async close() {
      await gateway.close(1000);
      runtime.close();
      await upstream.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
