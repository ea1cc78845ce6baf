// The `auth:` section of iamgate's configuration: trusted token issuers, the STS endpoints, TOTP,
// revocation. Read once at start, with every problem reported (file, key path, reason) and
// defaults filled in; the request path only ever sees the resulting immutable value.
import { FileReader } from '../config/reader.js';
import type { Finding } from '../config/findings.js';
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm, type AsymmetricAlgorithm } from './keys/algorithms.js';

export interface ClaimMapping {
  /** Claim naming the directory user (default `sub`). */
  readonly user: string;
  /** Claim listing directory groups (a string array or a space-separated string); memberships add to the directory's. */
  readonly groups?: string;
  /** Principal tag → claim carrying its value (`aws:PrincipalTag/<tag>`). */
  readonly tags: Readonly<Record<string, string>>;
  /** Whether `mfa` (or `otp`, `hwk`) in the `amr` claim counts as a second factor. */
  readonly amrMfa: boolean;
}

export interface WebIdentityMapping {
  /**
   * How trust policies name the provider in `Principal: {Federated: ...}`. Default: the issuer
   * without its scheme when that is a plain host name, else the directory account's
   * `oidc-provider/...` ARN (see webIdentityProvider).
   */
  readonly provider?: string;
  /** Prefix of the `<prefix>:sub` / `<prefix>:aud` condition keys: the issuer without its scheme. */
  readonly keyPrefix: string;
  /** Roles a token may act as per request, tried in order; the first whose trust policy allows wins. */
  readonly roles: readonly string[];
}

export interface JwksOptions {
  readonly cooldownSeconds: number;
  readonly refreshSeconds: number;
  readonly timeoutMs: number;
  /** Longest keys are trusted after the last successful fetch: a key the provider retired meanwhile is refused after that. */
  readonly maxStaleSeconds: number;
}

export interface IssuerConfig {
  /** A short name for logs and metrics. */
  readonly name: string;
  /** The exact `iss` value. */
  readonly issuer: string;
  /** Accepted `aud` values (one must match). */
  readonly audiences: readonly string[];
  readonly algorithms: readonly AsymmetricAlgorithm[];
  readonly jwksUrl?: string;
  readonly keyFile?: string;
  /** Generate `keyFile` on first use (development configurations only). */
  readonly developmentKey: boolean;
  readonly jwks: JwksOptions;
  readonly clockToleranceSeconds: number;
  /** Longest a token is honoured after its `iat`, whatever its `exp` (default a day). */
  readonly maxTokenAgeSeconds?: number;
  readonly claims: ClaimMapping;
  /** Present for workload issuers: their tokens act as roles, not as users. */
  readonly webIdentity?: WebIdentityMapping;
}

export interface StsConfig {
  readonly enabled: boolean;
  /** `iss` of the tokens iamgate issues. */
  readonly issuer: string;
  readonly audience: string;
  readonly signingKeyFile: string;
  readonly signingAlgorithm: 'ES256' | 'EdDSA';
  readonly keyReloadSeconds: number;
  readonly defaultDurationSeconds: number;
  /** Upper bound of GetSessionToken durations. */
  readonly maxSessionTokenSeconds: number;
  /** Upper bound of a session policy, in characters of compact JSON (AWS: 2048). */
  readonly maxSessionPolicyChars: number;
}

export interface MfaConfig {
  /** Shown in authenticator apps. */
  readonly issuerLabel: string;
  /** The 32-byte secret encryption key, base64 (e.g. from an environment variable). */
  readonly encryptionKey?: string;
  /** A file holding that key (a mounted secret). */
  readonly encryptionKeyFile?: string;
  /** Where secrets live when no Redis is configured. */
  readonly secretsFile: string;
  readonly maxFailures: number;
  readonly failureWindowSeconds: number;
  readonly lockoutSeconds: number;
}

export interface RevocationConfig {
  readonly refreshSeconds: number;
  /** With Redis unreachable for longer than this, tokens are refused (503) rather than risk honouring a revoked one. */
  readonly maxStaleSeconds: number;
}

export interface AuthConfig {
  /** Marks a development configuration: generated keys allowed, `iamgate token` works. */
  readonly development: boolean;
  /**
   * Folder of iamgate's local state (generated development keys, the MFA secrets file): the base
   * of the default paths below. Relative to the configuration file; never inside policies/.
   */
  readonly stateDir: string;
  readonly maxTokenBytes: number;
  readonly tokenCacheEntries: number;
  /** Bytes of Authorization values the verified-token cache keeps at most (besides its entry count). */
  readonly tokenCacheBytes: number;
  readonly issuers: readonly IssuerConfig[];
  readonly sts: StsConfig;
  readonly mfa: MfaConfig;
  readonly revocation: RevocationConfig;
}

/**
 * The longest session the STS can issue under any configuration (`sts.maxSessionTokenSeconds` at
 * most; a role's `maxSessionDuration` is at most 43 200): its tokens are honoured until their `exp`.
 */
export const STS_MAX_SESSION_SECONDS = 129_600;

/** Seconds an STS session token's times may lie ahead of this instance's clock (another replica's drift). */
export const STS_CLOCK_TOLERANCE_SECONDS = 5;

const ISSUER_KEYS = [
  'name', 'issuer', 'audiences', 'algorithms', 'jwksUrl', 'keyFile', 'developmentKey', 'jwks',
  'clockToleranceSeconds', 'maxTokenAgeSeconds', 'claims', 'webIdentity',
];

/** `https://host/path` → `host/path`: how AWS prefixes an OIDC provider's condition keys. */
export function issuerKeyPrefix(issuer: string): string {
  return issuer.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

/** The Federated principal a web-identity issuer's tokens present to trust policies. */
export function webIdentityProvider(mapping: WebIdentityMapping, scope: { partition: string; account: string }): string {
  if (mapping.provider !== undefined) return mapping.provider;
  return mapping.keyPrefix.includes('/') ? `arn:${scope.partition}:iam::${scope.account}:oidc-provider/${mapping.keyPrefix}` : mapping.keyPrefix;
}

function readIssuer(r: FileReader, raw: unknown, path: string, development: boolean | undefined): IssuerConfig | undefined {
  const o = r.mapping(raw, path, true);
  if (!o) return undefined;
  r.unknownKeys(o, path, ISSUER_KEYS);
  const issuer = r.text(o, 'issuer', `${path}.issuer`);
  if (issuer === undefined) r.add('MISSING_KEY', `${path}.issuer`, 'issuer (the exact iss value) is required');
  const audiences = r.texts(o, 'audiences', `${path}.audiences`);
  if (!audiences) r.add('MISSING_KEY', `${path}.audiences`, 'audiences is required: tokens must be meant for iamgate');
  const algorithms = r.texts(o, 'algorithms', `${path}.algorithms`) ?? ['RS256', 'ES256'];
  for (const alg of algorithms) {
    if (!isAsymmetricAlgorithm(alg)) {
      r.add('CONFIG_ALGORITHM', `${path}.algorithms`, `"${alg}" is not allowed: use asymmetric algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')}); never none or HMAC`);
    }
  }
  const jwksUrl = r.text(o, 'jwksUrl', `${path}.jwksUrl`);
  const keyFile = r.text(o, 'keyFile', `${path}.keyFile`);
  if ((jwksUrl === undefined) === (keyFile === undefined)) {
    r.add('EXCLUSIVE_KEYS', path, 'give exactly one of jwksUrl or keyFile');
  }
  if (jwksUrl !== undefined && !/^https?:\/\//.test(jwksUrl)) r.add('INVALID_VALUE', `${path}.jwksUrl`, 'jwksUrl must be an http(s) URL');
  const developmentKey = r.bool(o, 'developmentKey', `${path}.developmentKey`, false);
  if (developmentKey && development === false) {
    r.add('CONFIG_DEVELOPMENT_ONLY', `${path}.developmentKey`, 'generated development keys are refused unless the configuration says mode: development');
  }
  const jwks = r.section(o, 'jwks', `${path}.jwks`, ['cooldownSeconds', 'refreshSeconds', 'timeoutMs', 'maxStaleSeconds']);
  const refreshSeconds = r.int(jwks, 'refreshSeconds', `${path}.jwks.refreshSeconds`, 600, 10, 86_400);
  // By default a day, or two refreshes when they are a day apart: a configuration that refreshed
  // daily before maxStaleSeconds existed stays valid, its keys surviving one failed refresh.
  const maxStaleSeconds = r.int(jwks, 'maxStaleSeconds', `${path}.jwks.maxStaleSeconds`, Math.max(86_400, 2 * refreshSeconds), 60, 604_800);
  if (maxStaleSeconds <= refreshSeconds) {
    r.add('INVALID_VALUE', `${path}.jwks.maxStaleSeconds`, 'maxStaleSeconds must be longer than refreshSeconds, or keys would lapse before they are refreshed');
  }
  const claims = r.section(o, 'claims', `${path}.claims`, ['user', 'groups', 'tags', 'amrMfa']);
  const tagsRaw = r.mapping(claims['tags'], `${path}.claims.tags`, false, 'claims.tags maps tag names to claim names') ?? {};
  // Entries, made an object by Object.fromEntries: an assignment would drop a tag named __proto__.
  const tagClaims: [string, string][] = [];
  for (const [tag, claim] of Object.entries(tagsRaw)) {
    if (typeof claim === 'string' && claim !== '') tagClaims.push([tag, claim]);
    else r.add('DATA_TYPE_MISMATCH', `${path}.claims.tags.${tag}`, 'a tag maps to the name of a claim');
  }
  const tags = Object.fromEntries(tagClaims);
  const groups = r.text(claims, 'groups', `${path}.claims.groups`);
  // A token is honoured for a day after its iat unless the issuer says otherwise, however far off
  // its exp: a leaked long-lived token stops working, and an iat in the future is refused.
  const maxAge = r.int(o, 'maxTokenAgeSeconds', `${path}.maxTokenAgeSeconds`, 86_400, 1, 31 * 86_400);
  let webIdentity: WebIdentityMapping | undefined;
  if (o['webIdentity'] !== undefined) {
    const w = r.section(o, 'webIdentity', `${path}.webIdentity`, ['roles', 'provider']);
    const provider = r.text(w, 'provider', `${path}.webIdentity.provider`);
    webIdentity = {
      ...(provider !== undefined ? { provider } : {}),
      keyPrefix: issuerKeyPrefix(issuer ?? ''),
      roles: r.texts(w, 'roles', `${path}.webIdentity.roles`) ?? [],
    };
    if (webIdentity.roles.length === 0) r.add('MISSING_KEY', `${path}.webIdentity.roles`, 'list the roles these workloads may act as');
  }
  if (issuer === undefined || !audiences) return undefined;
  return {
    name: r.text(o, 'name', `${path}.name`) ?? issuer,
    issuer,
    audiences,
    algorithms: algorithms.filter(isAsymmetricAlgorithm),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    developmentKey,
    jwks: {
      cooldownSeconds: r.int(jwks, 'cooldownSeconds', `${path}.jwks.cooldownSeconds`, 30, 1, 3600),
      refreshSeconds,
      timeoutMs: r.int(jwks, 'timeoutMs', `${path}.jwks.timeoutMs`, 2000, 100, 30_000),
      maxStaleSeconds,
    },
    clockToleranceSeconds: r.int(o, 'clockToleranceSeconds', `${path}.clockToleranceSeconds`, 30, 0, 300),
    maxTokenAgeSeconds: maxAge,
    claims: {
      user: r.text(claims, 'user', `${path}.claims.user`) ?? 'sub',
      ...(groups !== undefined ? { groups } : {}),
      tags,
      amrMfa: r.bool(claims, 'amrMfa', `${path}.claims.amrMfa`, false),
    },
    ...(webIdentity ? { webIdentity } : {}),
  };
}

export interface ReadAuthOptions {
  /** `mode: development`; when unknown (a section check alone), development-only checks are skipped. */
  readonly development?: boolean;
  /** The file the section came from, recorded on findings. */
  readonly file?: string;
  /** Key path of the section in that file (default `auth`). */
  readonly path?: string;
}

/**
 * What makes a valid auth section useless: with no trusted issuer no token can be verified (STS
 * tokens are obtained with one), so every call gets 401. Said at start-up and on /readyz.
 */
export function authenticationWarnings(config: AuthConfig): string[] {
  if (config.issuers.length > 0) return [];
  return ['no caller can authenticate: auth.issuers is empty, so every request gets 401 (docs/identity.md: trusted issuers)'];
}

/** Reads the `auth` section (undefined = all defaults); `config` is set only when there is no error. */
export function readAuthConfig(raw: unknown, options: ReadAuthOptions = {}): { config?: AuthConfig; findings: Finding[] } {
  const r = new FileReader(options.file);
  const path = options.path ?? 'auth';
  const development = options.development;
  const root = r.section({ auth: raw }, 'auth', path, ['stateDir', 'maxTokenBytes', 'tokenCacheEntries', 'tokenCacheBytes', 'issuers', 'sts', 'mfa', 'revocation']);
  const stateDir = (r.text(root, 'stateDir', `${path}.stateDir`) ?? '.iamgate-state').replace(/\/+$/, '');

  const issuersRaw = root['issuers'] ?? [];
  const issuers: IssuerConfig[] = [];
  if (!Array.isArray(issuersRaw)) r.add('DATA_TYPE_MISMATCH', `${path}.issuers`, 'issuers must be a list');
  else {
    issuersRaw.forEach((raw, i) => {
      const issuer = readIssuer(r, raw, `${path}.issuers[${i}]`, development);
      if (!issuer) return;
      if (issuers.some((x) => x.issuer === issuer.issuer)) {
        r.add('DUPLICATE_ENTRY', `${path}.issuers[${i}].issuer`, `issuer ${issuer.issuer} is configured twice`);
      }
      issuers.push(issuer);
    });
  }

  const s = r.section(root, 'sts', `${path}.sts`, [
    'enabled', 'issuer', 'audience', 'signingKeyFile', 'signingAlgorithm', 'keyReloadSeconds',
    'defaultDurationSeconds', 'maxSessionTokenSeconds', 'maxSessionPolicyChars',
  ]);
  const alg = s['signingAlgorithm'] ?? 'ES256';
  if (alg !== 'ES256' && alg !== 'EdDSA') r.add('CONFIG_ALGORITHM', `${path}.sts.signingAlgorithm`, 'signingAlgorithm must be ES256 or EdDSA');
  const sts: StsConfig = {
    enabled: r.bool(s, 'enabled', `${path}.sts.enabled`, true),
    issuer: r.text(s, 'issuer', `${path}.sts.issuer`) ?? 'iamgate',
    audience: r.text(s, 'audience', `${path}.sts.audience`) ?? 'iamgate',
    signingKeyFile: r.text(s, 'signingKeyFile', `${path}.sts.signingKeyFile`) ?? `${stateDir}/sts-signing.json`,
    signingAlgorithm: alg === 'EdDSA' ? 'EdDSA' : 'ES256',
    keyReloadSeconds: r.int(s, 'keyReloadSeconds', `${path}.sts.keyReloadSeconds`, 30, 1, 3600),
    defaultDurationSeconds: r.int(s, 'defaultDurationSeconds', `${path}.sts.defaultDurationSeconds`, 3600, 900, 43_200),
    maxSessionTokenSeconds: r.int(s, 'maxSessionTokenSeconds', `${path}.sts.maxSessionTokenSeconds`, 43_200, 900, STS_MAX_SESSION_SECONDS),
    maxSessionPolicyChars: r.int(s, 'maxSessionPolicyChars', `${path}.sts.maxSessionPolicyChars`, 2048, 64, 10_240),
  };
  if (issuers.some((i) => i.issuer === sts.issuer)) {
    r.add('DUPLICATE_ENTRY', `${path}.sts.issuer`, `${sts.issuer} is iamgate's own issuer and cannot also be an external one`);
  }

  const m = r.section(root, 'mfa', `${path}.mfa`, [
    'issuerLabel', 'encryptionKey', 'encryptionKeyFile', 'secretsFile', 'maxFailures', 'failureWindowSeconds', 'lockoutSeconds',
  ]);
  const encryptionKey = r.text(m, 'encryptionKey', `${path}.mfa.encryptionKey`);
  const encryptionKeyFile = r.text(m, 'encryptionKeyFile', `${path}.mfa.encryptionKeyFile`);
  if (encryptionKey !== undefined && encryptionKeyFile !== undefined) {
    r.add('EXCLUSIVE_KEYS', `${path}.mfa`, 'give one of encryptionKey or encryptionKeyFile, not both');
  }
  const mfa: MfaConfig = {
    issuerLabel: r.text(m, 'issuerLabel', `${path}.mfa.issuerLabel`) ?? 'iamgate',
    ...(encryptionKey !== undefined ? { encryptionKey } : {}),
    ...(encryptionKeyFile !== undefined ? { encryptionKeyFile } : {}),
    secretsFile: r.text(m, 'secretsFile', `${path}.mfa.secretsFile`) ?? `${stateDir}/mfa-secrets.json`,
    maxFailures: r.int(m, 'maxFailures', `${path}.mfa.maxFailures`, 5, 1, 100),
    failureWindowSeconds: r.int(m, 'failureWindowSeconds', `${path}.mfa.failureWindowSeconds`, 900, 30, 86_400),
    lockoutSeconds: r.int(m, 'lockoutSeconds', `${path}.mfa.lockoutSeconds`, 900, 30, 86_400),
  };

  const v = r.section(root, 'revocation', `${path}.revocation`, ['refreshSeconds', 'maxStaleSeconds']);
  const revocation: RevocationConfig = {
    refreshSeconds: r.int(v, 'refreshSeconds', `${path}.revocation.refreshSeconds`, 1, 1, 300),
    maxStaleSeconds: r.int(v, 'maxStaleSeconds', `${path}.revocation.maxStaleSeconds`, 60, 5, 3600),
  };

  const config: AuthConfig = {
    development: development ?? false,
    stateDir,
    maxTokenBytes: r.int(root, 'maxTokenBytes', `${path}.maxTokenBytes`, 8192, 512, 65_536),
    tokenCacheEntries: r.int(root, 'tokenCacheEntries', `${path}.tokenCacheEntries`, 10_000, 0, 1_000_000),
    tokenCacheBytes: r.int(root, 'tokenCacheBytes', `${path}.tokenCacheBytes`, 16 * 1024 * 1024, 65_536, 1024 * 1024 * 1024),
    issuers,
    sts,
    mfa,
    revocation,
  };
  return r.findings.length > 0 ? { findings: r.findings } : { config, findings: [] };
}
