// Starts a real gateway for integration tests (createIamgate, through ./iamgate.ts): loopback
// ports, the real pipeline, proxy and operations listener, a real upstream that records what
// reaches it, real ES256 tokens, and an audit sink that keeps every event so suites can count them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { Iamgate, IamgateConfig, IamgateDeps } from '../../src/app/index.js';
import type { PeerIdentityOptions } from '../../src/auth/index.js';
import type { AuditEventInput, AuditSink, Authenticator, Gateway, PolicyLoader } from '../../src/gateway/index.js';
import type { Logger } from 'pino';
import { startIamgate } from './iamgate.js';
import { useStarted } from './suite.js';
import { createTestKeys, testAuthenticator, type TestKeys } from './tokens.js';
import { startTestUpstream, type TestUpstream } from './upstream.js';

export const FIXTURES = {
  directory: fileURLToPath(new URL('../gateway/fixtures/directory.yaml', import.meta.url)),
  routes: fileURLToPath(new URL('../gateway/fixtures/routes.yaml', import.meta.url)),
};

/** A development configuration document over the test fixtures, on free loopback ports, with `extra` sections. */
export function fixtureDoc(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    version: 1,
    mode: 'development',
    listen: { host: '127.0.0.1', port: 0 },
    operations: { host: '127.0.0.1', port: 0 },
    policies: { directory: FIXTURES.directory, routes: FIXTURES.routes, watch: false },
    ...extra,
  };
}

/**
 * A development configuration (YAML text) over the test fixtures, with a local development issuer
 * whose key (`dev-key.json`, beside the file) `iamgate token` mints with: what `iamgate serve`
 * runs in process-level tests and benchmarks.
 */
export function devConfigYaml(o: { port: number; opsPort: number; upstreamUrl: string; extra?: readonly string[] }): string {
  return [
    'version: 1',
    'mode: development',
    `listen: { host: 127.0.0.1, port: ${o.port} }`,
    `operations: { host: 127.0.0.1, port: ${o.opsPort} }`,
    `upstream: { url: "${o.upstreamUrl}" }`,
    `policies: { directory: "${FIXTURES.directory}", routes: "${FIXTURES.routes}" }`,
    ...(o.extra ?? []),
    'auth:',
    '  sts: { enabled: false }',
    '  issuers:',
    '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
  ].join('\n') + '\n';
}

export interface RecordingAudit extends AuditSink {
  readonly events: AuditEventInput[];
  /** Decision events (not `outcome`) for one request id. */
  decisionsFor(requestId: string): AuditEventInput[];
}

export function recordingAudit(): RecordingAudit {
  const events: AuditEventInput[] = [];
  return {
    events,
    record(event) {
      events.push(event);
    },
    flush: async () => undefined,
    decisionsFor: (requestId) => events.filter((e) => e.requestId === requestId && e.kind !== 'outcome'),
  };
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly opsUrl: string;
  readonly upstream: TestUpstream;
  readonly keys: TestKeys;
  readonly audit: RecordingAudit;
  readonly config: IamgateConfig;
  /** `Authorization` header value for a directory user. */
  bearer(user: string, opts?: { mfa?: boolean }): Promise<string>;
  /** The status of `GET path` through the proxy as `user`, its body read and dropped. */
  statusOfGet(user: string, path: string): Promise<number>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Configuration keys on top of the test defaults (loopback, ephemeral ports, forward-auth on). */
  readonly config?: Record<string, unknown>;
  /** Use this upstream URL instead of starting a recording upstream. */
  readonly upstreamUrl?: string;
  readonly files?: { directory?: string; routes?: string; shadow?: string };
  /** Wraps the loader (to delay or fail loads). */
  readonly wrapLoader?: (load: PolicyLoader) => PolicyLoader;
  /** Do not wait for the first policy load. */
  readonly noWait?: boolean;
  /** Wraps the suites' authenticator (to hold authentication until a test lets it go on). */
  readonly wrapAuthenticator?: (authenticator: Authenticator) => Authenticator;
  /** Workload identity from the mesh peer for the ext_authz server, resolved in the loaded directory. */
  readonly peerIdentity?: Omit<PeerIdentityOptions, 'resolver'>;
  /** The gateway's operational logger (default: silent, or IAMGATE_TEST_LOG's level). */
  readonly logger?: Logger;
  /** The clock of every part (default Date.now): a suite's own, to make reading it fail. */
  readonly now?: () => number;
}

/** Starts a recording upstream (unless given one) and a gateway in front of it. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const upstream = await startTestUpstream();
  const keys = await createTestKeys();
  const audit = recordingAudit();
  // State of its own (revocations are kept in a file there): none carries over to another gateway or run.
  const stateDir = await mkdtemp(join(tmpdir(), 'iamgate-test-state-'));
  const doc = {
    version: 1,
    mode: 'development',
    listen: { host: '127.0.0.1', port: 0 },
    operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true },
    upstream: { url: options.upstreamUrl ?? upstream.url, connectTimeoutMs: 1000, headersTimeoutMs: 1000, idleTimeoutMs: 2000 },
    forwardAuth: { enabled: true },
    shutdown: { graceMs: 5000 },
    // The suites' own verifier stands in for the issuers; every request is evaluated afresh.
    auth: { stateDir, sts: { enabled: false } },
    cache: { l1: { enabled: false } },
    ...options.config,
    policies: {
      ...(options.config?.['policies'] as Record<string, unknown> | undefined),
      directory: options.files?.directory ?? FIXTURES.directory,
      routes: options.files?.routes ?? FIXTURES.routes,
      ...(options.files?.shadow !== undefined ? { shadow: options.files.shadow } : {}),
    },
  };
  const peer = options.peerIdentity;
  const { iamgate, config } = await startIamgate({
    doc,
    noWait: options.noWait ?? false,
    // The mesh peer's issuer is a typed issuer of the suite's own (no document spells it).
    ...(peer ? { adjust: (c: IamgateConfig) => ({ ...c, peerIssuer: peer.issuer, ...(c.extAuthz ? { extAuthz: { ...c.extAuthz, peerIdentity: { issuer: peer.issuer.name, trustDomain: peer.trustDomain } } } : {}) }) } : {}),
    deps: { audit, authenticator: (resolver) => (options.wrapAuthenticator ?? ((a: Authenticator) => a))(testAuthenticator(keys, resolver)), ...(options.wrapLoader ? { loader: options.wrapLoader } : {}), ...(options.logger ? { logger: options.logger } : {}), ...(options.now ? { now: options.now } : {}) },
  });
  const { gateway } = iamgate;
  return {
    gateway,
    url: gateway.url,
    opsUrl: gateway.opsUrl,
    upstream,
    keys,
    audit,
    config,
    bearer: async (user, opts) => `Bearer ${await keys.token(user, opts)}`,
    async statusOfGet(user, path) {
      const res = await request(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${await keys.token(user)}` } });
      await res.body.dump();
      return res.statusCode;
    },
    async close() {
      await iamgate.stop(1000);
      await upstream.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a test gateway before the suite's tests and closes it after them. The result stands for
 * the started gateway (its properties read through to it once `beforeAll` has run: useStarted).
 */
export function useTestGateway(options: TestGatewayOptions = {}): TestGateway {
  return useStarted('the test gateway', () => startTestGateway(options), (gw) => gw.close());
}

/**
 * iamgate with the STS on, on the fixture policies, whose first policy load waits until `release`
 * is called: the gateway of the moments before it has a directory.
 */
export async function startWithHeldLoad(o: { readonly issuers: readonly Record<string, unknown>[]; readonly stateDir: string; readonly deps?: IamgateDeps }): Promise<{ iamgate: Iamgate; release: () => void }> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { iamgate } = await startIamgate({
    noWait: true,
    doc: {
      version: 1,
      mode: 'development',
      listen: { host: '127.0.0.1', port: 0 },
      operations: { host: '127.0.0.1', port: 0 },
      upstream: { url: 'http://127.0.0.1:9' },
      auth: { stateDir: o.stateDir, issuers: o.issuers, sts: { enabled: true } },
      policies: { directory: FIXTURES.directory, routes: FIXTURES.routes, watch: false },
    },
    deps: {
      ...o.deps,
      loader: (load) => async () => {
        await held;
        return load();
      },
    },
  });
  return { iamgate, release };
}
