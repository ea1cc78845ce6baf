// A complete authentication runtime for the STS suites: a directory (the example one or YAML given
// by the test), a development issuer for people, a web-identity issuer served by a real JWKS
// server, generated signing and encryption keys in a temporary folder, and a test clock.
import type { Redis } from 'ioredis';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthRuntime, mintDevelopmentToken, type AuthRuntime, type StsEvent } from '../../src/auth/index.js';
import { createPrincipalResolver, loadDirectory, type PrincipalResolver } from '../../src/identity/index.js';
import { useStarted } from '../support/suite.js';
import { authConfig, EXAMPLE_DIRECTORY, makeKey, sign, startJwksServer, testClock, type JwksServer, type TestKey } from './helpers.js';

export const PEOPLE = 'https://people.test';
export const CLUSTER = 'https://kubernetes.default.svc';

export interface AuthFixture {
  readonly runtime: AuthRuntime;
  readonly clock: ReturnType<typeof testClock>;
  /** The directory in force (the one `useDirectory` last loaded). */
  readonly resolver: PrincipalResolver;
  readonly events: StsEvent[];
  readonly clusterKey: TestKey;
  readonly dir: string;
  /** A people token for a directory user. */
  tokenFor(user: string, options?: { mfa?: boolean; ttl?: number }): Promise<string>;
  /** A Kubernetes-style service-account token. */
  /** A service-account token for `sub`, with any further claims (`https://aws.amazon.com/source_identity`). */
  serviceAccountToken(sub: string, aud?: string, claims?: Readonly<Record<string, unknown>>): Promise<string>;
  /** Replaces the directory with one read from YAML, as a reload does: later calls and tokens see it. */
  useDirectory(yaml: string): Promise<void>;
  /** POSTs JSON to the STS app. */
  post(path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Directory YAML; the example directory when absent. */
  readonly directoryYaml?: string;
  readonly redis?: Redis;
  /** Share keys and state folder with another fixture (a second replica). */
  readonly dir?: string;
  readonly clock?: ReturnType<typeof testClock>;
  readonly jwks?: JwksServer;
  readonly clusterKey?: TestKey;
  readonly webIdentityRoles?: readonly string[];
}

export async function startAuthFixture(o: FixtureOptions = {}): Promise<AuthFixture> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'iamgate-auth-')));
  const clock = o.clock ?? testClock(Date.now());
  let directoryPath = EXAMPLE_DIRECTORY;
  if (o.directoryYaml !== undefined) {
    directoryPath = join(dir, 'directory.yaml');
    await writeFile(directoryPath, o.directoryYaml);
  }
  const load = async (path: string): Promise<PrincipalResolver> => {
    const { directory, findings } = await loadDirectory(path);
    if (!directory) throw new Error(`test directory does not load: ${JSON.stringify(findings)}`);
    return createPrincipalResolver(directory);
  };
  let resolver = await load(directoryPath);
  const clusterKey = o.clusterKey ?? (await makeKey('cluster-1'));
  const ownJwks = o.jwks === undefined;
  const jwks = o.jwks ?? (await startJwksServer([clusterKey.publicJwk]));
  const config = authConfig(
    {
      issuers: [
        {
          name: 'people',
          issuer: PEOPLE,
          audiences: ['iamgate'],
          algorithms: ['ES256'],
          keyFile: 'people.jwk',
          developmentKey: true,
          claims: { user: 'sub', amrMfa: true },
        },
        {
          name: 'cluster',
          issuer: CLUSTER,
          audiences: ['iamgate', 'other-aud'],
          algorithms: ['ES256'],
          jwksUrl: jwks.url,
          webIdentity: { roles: o.webIdentityRoles ?? ['OrdersWorker'] },
        },
      ],
      mfa: { maxFailures: 3, lockoutSeconds: 300 },
    },
    true,
  );
  const events: StsEvent[] = [];
  const runtime = await createAuthRuntime({
    config,
    baseDir: dir,
    resolver: () => resolver,
    now: clock.now,
    ...(o.redis ? { redis: o.redis } : {}),
    onStsEvent: (e) => events.push(e),
  });
  const people = config.issuers[0]!;
  return {
    runtime,
    clock,
    get resolver() {
      return resolver;
    },
    events,
    clusterKey,
    dir,
    tokenFor: (user, options = {}) =>
      mintDevelopmentToken({ issuer: people, keyFile: join(dir, 'people.jwk'), user, mfa: options.mfa ?? false, ttlSeconds: options.ttl ?? 3600, now: clock.now() }),
    serviceAccountToken: (sub, aud = 'iamgate', claims = {}) => sign(clusterKey, { ...claims, sub }, { iss: CLUSTER, aud, now: clock.now() }),
    async useDirectory(yaml) {
      const path = join(dir, 'directory-next.yaml');
      await writeFile(path, yaml);
      resolver = await load(path);
    },
    async post(path, body, token) {
      const res = await runtime.stsApp!.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
    },
    async close() {
      runtime.close();
      if (ownJwks) await jwks.close();
      if (o.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fixture started before the suite's tests (those of the enclosing `describe`) and closed after
 * them. What it returns reads the started fixture: use it inside tests and hooks only.
 */
export function useAuthFixture(o: FixtureOptions = {}): AuthFixture {
  return useStarted('the auth fixture', () => startAuthFixture(o), (f) => f.close());
}

/** The session token of a successful STS answer. */
export function sessionToken(body: Record<string, unknown>): string {
  const token = (body['Credentials'] as { SessionToken?: unknown } | undefined)?.SessionToken;
  if (typeof token !== 'string') throw new Error(`no session token in ${JSON.stringify(body)}`);
  return token;
}
