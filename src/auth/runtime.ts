// Wires the authentication parts from a configuration: state store (Redis when given, else in
// memory with the revocations in a file), TOTP with encrypted secrets (Redis, or a local file), iamgate's signing key ring, the
// revocation list, the authenticator, and the STS sub-app with its JWKS handler. The gateway
// builds one of these at start and closes it on shutdown.
import type { Handler } from 'hono';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { makeFolder, writeNewFile } from '../config/index.js';
import type { PrincipalResolver } from '../identity/index.js';
import { createAuthenticator, type TokenAuthenticator } from './authenticator.js';
import type { AuthConfig } from './config.js';
import type { FetchLike } from './keys/remote.js';
import { ensureSigningKeyFile, watchSigningKeyRing, type ReloadingKeyRing } from './keys/signing.js';
import { fileSecretStore, stateSecretStore } from './mfa-secrets.js';
import { createRevocations, revocationRetainMs, revocationToleranceMs, type Revocations } from './revocation.js';
import { createSecretBox, decodeKey, readKeyFile } from './secret-box.js';
import { openDurableStateStore, type DurableStateFiles } from './state/durable-state.js';
import { createRedisStateStore } from './state/redis.js';
import type { StateStore } from './state/store.js';
import { createJwksHandler, createStsApp, type StsApp } from './sts/app.js';
import type { StsDeps, StsEvent } from './sts/operations.js';
import { createTotp, type Totp } from './totp.js';

export interface AuthRuntimeOptions {
  readonly config: AuthConfig;
  /** Relative paths in the configuration are resolved against this (the config file's directory). */
  readonly baseDir: string;
  /** The current directory's resolver (read on every request, swapped on reload). */
  readonly resolver: () => PrincipalResolver;
  /** Whether `resolver` has a directory to give (the STS answers not_ready until it has). */
  readonly loaded?: () => boolean;
  /** A fail-fast ioredis client (see createRedisClient): shared state across replicas when given. */
  readonly redis?: Redis;
  /** The state of every worker of `serve --workers`, held by the primary (see createRelayedStateStore); used without Redis. */
  readonly state?: StateStore;
  readonly now?: () => number;
  readonly fetch?: FetchLike;
  /** Told about background failures (JWKS, Redis, key files), for logs and metrics. */
  readonly onError?: (source: string, err: unknown) => void;
  readonly onStsEvent?: (event: StsEvent) => void;
  /** The global condition keys of an STS call, from the request (see StsDeps.requestKeys). */
  readonly stsRequestKeys?: StsDeps['requestKeys'];
  /** How many Authorization lines an STS call carries, from the request (see StsDeps.authorizationLines). */
  readonly stsAuthorizationLines?: StsDeps['authorizationLines'];
  /** The header carrying an STS call's request id on its answer (see StsDeps.requestIdHeader). */
  readonly requestIdHeader?: string;
  /** Names each STS call (see StsDeps.requestId): the gateway's own source, so the two never collide. */
  readonly requestId?: () => string;
  /** Told of every session revocation learnt (see RevocationOptions.onRevoked). */
  readonly onRevoked?: (subjectArn: string, before: number) => void;
}

export interface AuthRuntime {
  readonly authenticator: TokenAuthenticator;
  /** Undefined when `auth.sts.enabled` is false. */
  readonly stsApp?: StsApp;
  readonly jwksHandler?: Handler;
  readonly revocations: Revocations;
  readonly totp?: Totp;
  readonly state: StateStore;
  /** Issuers' key status and revocation freshness, for /readyz. */
  status(): { issuers: ReturnType<TokenAuthenticator['status']>; revocation: ReturnType<Revocations['status']> };
  close(): void;
}

async function encryptionKey(config: AuthConfig, path: (p: string) => string): Promise<Uint8Array> {
  const { mfa } = config;
  if (mfa.encryptionKey !== undefined) {
    const key = decodeKey(mfa.encryptionKey);
    if (!key) throw new TypeError('auth.mfa.encryptionKey must be 32 bytes as base64 or hex');
    return key;
  }
  if (mfa.encryptionKeyFile !== undefined) return readKeyFile(path(mfa.encryptionKeyFile));
  if (!config.development) {
    throw new TypeError('auth.mfa.encryptionKey or auth.mfa.encryptionKeyFile is required (TOTP secrets are stored encrypted)');
  }
  // Development: a key generated on first use beside the other local state.
  const file = path(`${config.stateDir}/mfa.key`);
  await makeFolder(dirname(file), 0o700);
  await writeNewFile(file, randomBytes(32).toString('base64') + '\n', 0o600);
  return readKeyFile(file);
}

/**
 * The files an instance without Redis keeps its security state in: session revocations in
 * `<stateDir>/revocations.json`, TOTP replay marks, failed-attempt counters and lockouts in
 * `<stateDir>/mfa-attempts.json`.
 */
export function stateFiles(config: AuthConfig, path: (p: string) => string = (p) => p): DurableStateFiles {
  return { hashes: path(`${config.stateDir}/revocations.json`), values: path(`${config.stateDir}/mfa-attempts.json`) };
}

/** Builds the authentication runtime; throws (at start) on missing keys or unreadable key files. */
export async function createAuthRuntime(o: AuthRuntimeOptions): Promise<AuthRuntime> {
  const { config } = o;
  const now = o.now ?? Date.now;
  const onError = o.onError ?? (() => undefined);
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(o.baseDir, p));
  // Without Redis the revocations and TOTP marks are kept in the state folder, so a restart does not forget them.
  const state = o.redis ? createRedisStateStore(o.redis) : (o.state ?? (await openDurableStateStore(stateFiles(config, path), { now })));

  const revocations = createRevocations({
    store: state,
    now,
    refreshMs: config.revocation.refreshSeconds * 1000,
    maxStaleMs: config.revocation.maxStaleSeconds * 1000,
    retainMs: revocationRetainMs(config),
    issuedAheadMs: revocationToleranceMs(config),
    onError: (err) => onError('revocation', err),
    ...(o.onRevoked ? { onRevoked: o.onRevoked } : {}),
  });
  await revocations.refresh();
  revocations.start();

  let signing: ReloadingKeyRing | undefined;
  if (config.sts.enabled) {
    const file = path(config.sts.signingKeyFile);
    if (config.development) await ensureSigningKeyFile(file, config.sts.signingAlgorithm);
    signing = await watchSigningKeyRing(file, {
      now,
      intervalMs: config.sts.keyReloadSeconds * 1000,
      onError: (err) => onError('signing-keys', err),
    });
  }

  const authenticator = createAuthenticator(config, {
    resolver: o.resolver,
    ...(signing ? { signing } : {}),
    revocations,
    baseDir: o.baseDir,
    now,
    ...(o.fetch ? { fetch: o.fetch } : {}),
    onKeyError: (issuer, err) => onError(`issuer:${issuer}`, err),
  });

  let totp: Totp | undefined;
  let stsApp: StsApp | undefined;
  if (signing) {
    totp = createTotp({
      state,
      secrets: o.redis ? stateSecretStore(state) : fileSecretStore(path(config.mfa.secretsFile)),
      box: createSecretBox(await encryptionKey(config, path)),
      issuer: config.mfa.issuerLabel,
      lockout: {
        maxFailures: config.mfa.maxFailures,
        failureWindowMs: config.mfa.failureWindowSeconds * 1000,
        lockoutMs: config.mfa.lockoutSeconds * 1000,
      },
      now,
      onError: (err) => onError('mfa', err),
    });
    stsApp = createStsApp({
      config,
      authenticator,
      resolver: o.resolver,
      ...(o.loaded ? { loaded: o.loaded } : {}),
      signing,
      totp,
      revocations,
      now,
      ...(o.onStsEvent ? { onEvent: o.onStsEvent } : {}),
      ...(o.stsRequestKeys ? { requestKeys: o.stsRequestKeys } : {}),
      ...(o.stsAuthorizationLines ? { authorizationLines: o.stsAuthorizationLines } : {}),
      ...(o.requestIdHeader !== undefined ? { requestIdHeader: o.requestIdHeader } : {}),
      ...(o.requestId ? { requestId: o.requestId } : {}),
    });
  }

  return {
    authenticator,
    ...(stsApp ? { stsApp } : {}),
    ...(signing ? { jwksHandler: createJwksHandler(signing) } : {}),
    revocations,
    ...(totp ? { totp } : {}),
    state,
    status: () => ({ issuers: authenticator.status(), revocation: revocations.status() }),
    close() {
      revocations.close();
      signing?.close();
    },
  };
}
