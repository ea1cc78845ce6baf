// Bearer-token authentication: find the token, answer from the verified-token cache when it can
// (ES256 verification costs ~250 µs; the cache is keyed by the Authorization value as sent, so a
// hit costs one map lookup, no parsing, and answers synchronously), otherwise verify it against the issuer it names and
// build the principal: a user's JWT, an iamgate session token or a service-account token, by issuer. Every request re-checks what can change while a
// token is cached: expiry, the signing key still being trusted, the directory generation, and
// revocation. Never throws for bad input: every failure is a value with a stable code.
import { isAbsolute, resolve } from 'node:path';
import { principalAt, type Principal, type PrincipalResolver } from '../identity/index.js';
import { principalFromToken, type IssuerKind } from './claims.js';
import { STS_CLOCK_TOLERANCE_SECONDS, type AuthConfig, type IssuerConfig } from './config.js';
import { bearerChallenge, bearerToken } from './authenticators/bearer.js';
import type { AuthRejection } from './authenticators/authenticator.js';
import { authFailure, type AuthFailure } from './errors.js';
import { ensureDevKey, loadKeyFile } from './keys/file.js';
import type { KeySource } from './keys/jwk.js';
import { createRemoteKeySet, type FetchLike } from './keys/remote.js';
import type { SigningKeyRing } from './keys/signing.js';
import type { Revocations } from './revocation.js';
import { peek, verifyToken, type Peeked, type VerifyingIssuer } from './verify.js';
import type { JWTPayload } from 'jose';

export type AuthOutcome = { readonly ok: true; readonly principal: Principal } | AuthFailure;

export interface AuthenticatorDeps {
  /** The current directory's resolver (swapped on reload; read on every request). */
  readonly resolver: () => PrincipalResolver;
  /** iamgate's own signing keys: tokens of the STS issuer verify against them. */
  readonly signing?: SigningKeyRing;
  readonly revocations?: Revocations;
  /** Base directory for relative key files (the configuration file's directory). */
  readonly baseDir?: string;
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  /** Told about key-loading failures (JWKS down, unreadable key file), for logs. */
  readonly onKeyError?: (issuer: string, err: unknown) => void;
}

export interface IssuerStatus {
  readonly issuer: string;
  readonly name: string;
  readonly ready: boolean;
  readonly keys: number;
  readonly lastError?: string;
}

export interface TokenAuthenticator {
  /**
   * Verifies the bearer token and resolves its principal in `resolver`'s directory (the policy
   * snapshot the request was given), or in the current one (`deps.resolver()`) when none is given.
   * Synchronous when the token is cached, and when it is refused before any key is needed (no
   * token, not a JWS, no or an untrusted issuer).
   */
  authenticate(headers: { readonly authorization?: string | undefined }, resolver?: PrincipalResolver): AuthOutcome | Promise<AuthOutcome>;
  /** The Bearer challenge for a 401 (RFC 6750). */
  challenge(realm: string, failure: AuthRejection | undefined): string;
  /** Verifies a token of a web-identity issuer (AssumeRoleWithWebIdentity's body) without resolving a principal. */
  verifyWebIdentityToken(token: string): Promise<{ ok: true; issuer: IssuerConfig; payload: JWTPayload } | AuthFailure>;
  /** Loads every issuer's keys once (start-up and readiness). */
  warmUp(): Promise<IssuerStatus[]>;
  status(): IssuerStatus[];
  /** What the verified-token cache holds: entries, and the bytes of their Authorization values. */
  cached(): { readonly entries: number; readonly bytes: number };
}

interface IssuerRuntime {
  readonly name: string;
  readonly verifying: VerifyingIssuer;
  readonly kind: IssuerKind;
  readonly config?: IssuerConfig;
}

/** A token's header read and the issuer it names found: what is left is its key and signature. */
interface Found {
  readonly ok: true;
  readonly issuer: IssuerRuntime;
  readonly head: Peeked;
}

interface CacheEntry {
  readonly issuer: IssuerRuntime;
  /** The key that verified the token (KeySource.has), so a token without kid follows its key too. */
  readonly keyId: string;
  readonly payload: JWTPayload;
  /** Epoch ms after which the token no longer verifies (expiry or maximum age, with tolerance). */
  readonly validUntil: number;
  principal: Principal;
  generation: string;
  /** The answer for `principal` as it stands (no MFA age to bring up to date): one object for every hit. */
  allowed: { readonly ok: true; readonly principal: Principal };
}

/** A key source that loads a key file on first use (generating a development key if configured). */
function lazyFileKeys(path: string, generate: boolean, now: () => number, onError: (err: unknown) => void): KeySource {
  let source: KeySource | undefined;
  let lastError: string | undefined;
  let loading: Promise<KeySource | undefined> | undefined;
  const load = (): Promise<KeySource | undefined> =>
    (loading ??= (async () => {
      try {
        if (generate) await ensureDevKey(path);
        source = await loadKeyFile(path, now);
        lastError = undefined;
        return source;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        onError(err);
        return undefined;
      } finally {
        loading = undefined;
      }
    })());
  return {
    async getKey(kid, alg) {
      const s = source ?? (await load());
      return s ? s.getKey(kid, alg) : { ok: false, code: 'key_unavailable', detail: lastError ?? 'key file not loaded' };
    },
    has: (id) => source?.has(id) ?? false,
    status: () => source?.status() ?? { ready: false, keys: 0, ...(lastError !== undefined ? { lastError } : {}) },
  };
}

/** Always reads the ring's current keys, so a reloaded ring takes effect at once. */
function ringKeys(ring: SigningKeyRing): KeySource {
  return {
    getKey: (kid, alg) => ring.verification().getKey(kid, alg),
    has: (id) => ring.verification().has(id),
    status: () => ring.verification().status(),
  };
}

/** Creates the bearer-token authenticator for a configuration. Options are checked here, once. */
export function createAuthenticator(config: AuthConfig, deps: AuthenticatorDeps): TokenAuthenticator {
  const now = deps.now ?? Date.now;
  const baseDir = deps.baseDir ?? process.cwd();
  const onKeyError = deps.onKeyError ?? (() => undefined);
  const issuers = new Map<string, IssuerRuntime>();

  for (const c of config.issuers) {
    const keys: KeySource = c.jwksUrl
      ? createRemoteKeySet({
          url: c.jwksUrl,
          cooldownMs: c.jwks.cooldownSeconds * 1000,
          refreshMs: c.jwks.refreshSeconds * 1000,
          maxStaleMs: c.jwks.maxStaleSeconds * 1000,
          timeoutMs: c.jwks.timeoutMs,
          now,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
          onError: (err) => onKeyError(c.name, err),
        })
      : lazyFileKeys(resolvePath(baseDir, c.keyFile ?? ''), c.developmentKey && config.development, now, (err) => onKeyError(c.name, err));
    issuers.set(c.issuer, {
      name: c.name,
      config: c,
      kind: c.webIdentity ? { kind: 'workload', webIdentity: c.webIdentity } : { kind: 'user', claims: c.claims },
      verifying: {
        issuer: c.issuer,
        audiences: c.audiences,
        algorithms: c.algorithms,
        clockToleranceSeconds: c.clockToleranceSeconds,
        ...(c.maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds: c.maxTokenAgeSeconds } : {}),
        keys,
      },
    });
  }
  if (deps.signing && config.sts.enabled) {
    issuers.set(config.sts.issuer, {
      name: 'iamgate',
      kind: { kind: 'session' },
      verifying: {
        issuer: config.sts.issuer,
        audiences: [config.sts.audience],
        algorithms: ['ES256', 'EdDSA'],
        clockToleranceSeconds: STS_CLOCK_TOLERANCE_SECONDS,
        keys: ringKeys(deps.signing),
      },
    });
  }

  // Keyed by the Authorization value as the next request sends it. Bounded by count and by the
  // bytes of those values: a caller who mints large tokens (long session policies) fills the byte
  // budget long before the count, so the memory it can pin stays a small multiple of the budget.
  const cache = new Map<string, CacheEntry>();
  let cachedBytes = 0;
  const forget = (key: string): void => {
    if (cache.delete(key)) cachedBytes -= key.length;
  };
  const remember = (key: string, entry: CacheEntry): void => {
    if (config.tokenCacheEntries <= 0 || key.length > config.tokenCacheBytes) return;
    forget(key);
    for (const oldest of cache.keys()) {
      if (cache.size < config.tokenCacheEntries && cachedBytes + key.length <= config.tokenCacheBytes) break;
      forget(oldest);
    }
    cache.set(key, entry);
    cachedBytes += key.length;
  };

  /** Revocation and the time-varying keys, checked on every request. */
  const finish = (entry: CacheEntry, t: number): AuthOutcome => {
    const principal = entry.principal;
    const verdict = deps.revocations?.checkPrincipal(principal) ?? 'ok';
    if (verdict === 'revoked') return authFailure('session_revoked', principal.arn);
    if (verdict === 'unavailable') return authFailure('revocation_unavailable');
    const current = principalAt(principal, t);
    return current === principal ? entry.allowed : { ok: true, principal: current };
  };

  const fromCache = (entry: CacheEntry, t: number, resolver: PrincipalResolver): AuthOutcome | undefined => {
    if (t >= entry.validUntil || !entry.issuer.verifying.keys.has(entry.keyId)) return undefined;
    if (entry.generation !== resolver.directory.generation) {
      const outcome = principalFromToken(entry.issuer.verifying.issuer, entry.issuer.kind, entry.payload, resolver, t, entry.issuer.verifying.clockToleranceSeconds);
      if (!outcome.ok) return outcome;
      entry.principal = outcome.principal;
      entry.allowed = { ok: true, principal: outcome.principal };
      entry.generation = resolver.directory.generation;
    }
    return finish(entry, t);
  };

  /**
   * The token's header and the issuer it names, read without a key: a token that is not a JWS, names
   * no issuer or one not trusted is refused here, synchronously, before anything waits.
   */
  const issuerOf = (token: string): Found | AuthFailure => {
    const head = peek(token);
    if (!head.ok) return head;
    const issuer = issuers.get(head.iss);
    if (!issuer) return authFailure('token_issuer_unknown', head.iss);
    return { ok: true, issuer, head };
  };

  const verifyWith = async (token: string, { issuer, head }: Found): Promise<{ ok: true; issuer: IssuerRuntime; payload: JWTPayload; keyId: string } | AuthFailure> => {
    const verified = await verifyToken(token, head, issuer.verifying, now());
    return verified.ok ? { ok: true, issuer, payload: verified.payload, keyId: verified.keyId } : verified;
  };

  /** Verifies `token` (read from the Authorization value `header`, its issuer found) and caches the result under `header`. */
  const verifyFresh = async (token: string, found: Found, header: string, t: number, given: PrincipalResolver | undefined): Promise<AuthOutcome> => {
    const verified = await verifyWith(token, found);
    if (!verified.ok) return verified;
    const { issuer, payload, keyId } = verified;
    // A given directory (the request's policy snapshot) stays the one used across the awaits.
    const resolver = given ?? deps.resolver();
    const outcome = principalFromToken(issuer.verifying.issuer, issuer.kind, payload, resolver, t, issuer.verifying.clockToleranceSeconds);
    if (!outcome.ok) return outcome;
    const tolerance = issuer.verifying.clockToleranceSeconds;
    const maxAge = issuer.verifying.maxTokenAgeSeconds;
    const validUntil = Math.min(
      ((payload.exp ?? 0) + tolerance) * 1000,
      maxAge === undefined ? Infinity : ((payload.iat ?? 0) + maxAge + tolerance) * 1000,
    );
    const principal = outcome.principal;
    const entry: CacheEntry = { issuer, keyId, payload, validUntil, principal, generation: resolver.directory.generation, allowed: { ok: true, principal } };
    // Keyed by the Authorization value (at most maxTokenBytes + 16 each): what the next request sends as it is.
    remember(header, entry);
    return finish(entry, t);
  };

  return {
    authenticate(headers, given) {
      // No header reads as an empty one: `token_missing` either way, and never cached.
      const header = headers.authorization ?? '';
      const t = now();
      const cached = cache.get(header);
      if (cached) {
        const outcome = fromCache(cached, t, given ?? deps.resolver());
        if (outcome) return outcome;
        forget(header);
      }
      const bearer = bearerToken(header, config.maxTokenBytes);
      if (!bearer.ok) return bearer;
      const found = issuerOf(bearer.token);
      if (!found.ok) return found;
      return verifyFresh(bearer.token, found, header, t, given);
    },

    challenge: bearerChallenge,

    async verifyWebIdentityToken(token) {
      if (token.length > config.maxTokenBytes) return authFailure('token_too_large', `${token.length} bytes`);
      const found = issuerOf(token);
      if (!found.ok) return found;
      const verified = await verifyWith(token, found);
      if (!verified.ok) return verified;
      const issuerConfig = verified.issuer.config;
      if (!issuerConfig?.webIdentity) return authFailure('token_issuer_unknown', `${verified.issuer.name} is not a web-identity issuer`);
      return { ok: true, issuer: issuerConfig, payload: verified.payload };
    },

    async warmUp() {
      await Promise.all(
        [...issuers.values()].map(async (i) => {
          if (!i.verifying.keys.status().ready) await i.verifying.keys.getKey('\u0000warm-up', i.verifying.algorithms[0] ?? 'ES256');
        }),
      );
      return this.status();
    },

    cached: () => ({ entries: cache.size, bytes: cachedBytes }),

    status() {
      return [...issuers.entries()].map(([iss, i]) => {
        const s = i.verifying.keys.status();
        return { issuer: iss, name: i.name, ready: s.ready, keys: s.keys, ...(s.lastError !== undefined ? { lastError: s.lastError } : {}) };
      });
    },
  };
}

function resolvePath(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}
