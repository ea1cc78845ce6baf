// A gateway wired the way `iamgate serve` wires it — the real authenticator (JWKS over HTTP,
// verified-token cache, revocation list) over a loaded directory — in front of the recording
// upstream, with a clock the test may move. Used where the test gateway's simple verifier would
// hide what an attacker is probing (token headers, caching, revocation, tag claims).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuthRuntime } from '../../../src/auth/index.js';
import type { Gateway } from '../../../src/gateway/index.js';
import { FIXTURES, recordingAudit, type RecordingAudit } from '../../support/gateway.js';
import { startIamgate } from '../../support/iamgate.js';
import { rawRequest } from '../../support/net.js';
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
  /** The operational log (default: none). */
  readonly logger?: Logger;
}

export async function startRealGateway(o: RealGatewayOptions): Promise<RealGateway> {
  const upstream = await startTestUpstream();
  const stateDir = await mkdtemp(join(tmpdir(), 'iamgate-adv-'));
  const audit = recordingAudit();
  const { iamgate } = await startIamgate({
    doc: {
      version: 1,
      mode: 'development',
      listen: { host: '127.0.0.1', port: 0 },
      operations: { host: '127.0.0.1', port: 0 },
      upstream: { url: upstream.url, connectTimeoutMs: 1000, headersTimeoutMs: 1000, idleTimeoutMs: 2000 },
      forwardAuth: { enabled: true },
      auth: { stateDir, issuers: o.issuers, sts: { enabled: false }, ...o.auth },
      // The in-process decision cache only where the suite asks for it (as `iamgate serve` has it).
      ...(o.decisionCache ? {} : { cache: { l1: { enabled: false } } }),
      ...o.config,
      policies: { directory: o.files?.directory ?? FIXTURES.directory, routes: o.files?.routes ?? FIXTURES.routes },
    },
    deps: { audit, ...(o.now ? { now: o.now } : {}), ...(o.logger ? { logger: o.logger } : {}) },
  });
  const { gateway, auth: runtime } = iamgate;
  return {
    gateway,
    url: gateway.url,
    port: Number(new URL(gateway.url).port),
    upstream,
    audit,
    runtime,
    async close() {
      await iamgate.stop(1000);
      await upstream.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** What GET /public/readme with this bearer token got: status, error code, its request's decision records, requests the upstream saw. */
export interface BearerAnswer {
  readonly status: number;
  readonly code: unknown;
  readonly records: number;
  readonly forwarded: number;
}

export async function callWithBearer(gw: RealGateway, token: string): Promise<BearerAnswer> {
  const before = gw.upstream.arrivals();
  const res = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: `Bearer ${token}` } });
  const id = res.headers['x-iamgate-request-id'];
  return {
    status: res.status,
    code: (JSON.parse(res.body) as Record<string, unknown>)['code'],
    records: typeof id === 'string' ? gw.audit.decisionsFor(id).length : -1,
    forwarded: gw.upstream.arrivals() - before,
  };
}
