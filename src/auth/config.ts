// The `auth:` section of iamgate's configuration: trusted token issuers, the STS endpoints, TOTP,
// revocation. Read once at start, with every problem reported (file, key path, reason) and
// defaults filled in; the request path only ever sees the resulting immutable value.
import type { Finding } from '../policy/index.js';
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
  readonly issuers: readonly IssuerConfig[];
  readonly sts: StsConfig;
  readonly mfa: MfaConfig;
  readonly revocation: RevocationConfig;
}

type Obj = Record<string, unknown>;

/** Collects findings while reading one section; each getter reports and falls back to its default. */
class ConfigReader {
  readonly findings: Finding[] = [];
  constructor(readonly file: string | undefined) {}

  problem(code: string, path: string, message: string): void {
    this.findings.push({ severity: 'error', code, path, message, ...(this.file !== undefined ? { file: this.file } : {}) });
  }

  section(parent: Obj, key: string, path: string, known: readonly string[]): Obj {
    const v = parent[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.problem('CONFIG_TYPE', path, `${path} must be a mapping`);
      return {};
    }
    const obj = v as Obj;
    for (const k of Object.keys(obj)) {
      if (!known.includes(k)) this.problem('CONFIG_UNKNOWN_KEY', `${path}.${k}`, `unknown key; expected one of: ${known.join(', ')}`);
    }
    return obj;
  }

  text(obj: Obj, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && v !== '') return v;
    this.problem('CONFIG_TYPE', `${path}.${key}`, `${path}.${key} must be a non-empty string`);
    return undefined;
  }

  count(obj: Obj, key: string, path: string, fallback: number, min: number, max: number): number {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.problem('CONFIG_RANGE', `${path}.${key}`, `${path}.${key} must be a whole number from ${min} to ${max}`);
    return fallback;
  }

  flag(obj: Obj, key: string, path: string, fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    this.problem('CONFIG_TYPE', `${path}.${key}`, `${path}.${key} must be true or false`);
    return fallback;
  }

  texts(obj: Obj, key: string, path: string): string[] | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && s !== '')) return list as string[];
    this.problem('CONFIG_TYPE', `${path}.${key}`, `${path}.${key} must be a non-empty list of strings`);
    return undefined;
  }
}

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

function readIssuer(r: ConfigReader, raw: unknown, path: string, development: boolean | undefined): IssuerConfig | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    r.problem('CONFIG_TYPE', path, `${path} must be a mapping`);
    return undefined;
  }
  const holder = { i: raw };
  const o = r.section(holder, 'i', path, ISSUER_KEYS);
  const issuer = r.text(o, 'issuer', path);
  if (issuer === undefined) r.problem('CONFIG_MISSING', `${path}.issuer`, 'issuer (the exact iss value) is required');
  const audiences = r.texts(o, 'audiences', path);
  if (!audiences) r.problem('CONFIG_MISSING', `${path}.audiences`, 'audiences is required: tokens must be meant for iamgate');
  const algorithms = r.texts(o, 'algorithms', path) ?? ['RS256', 'ES256'];
  for (const alg of algorithms) {
    if (!isAsymmetricAlgorithm(alg)) {
      r.problem('CONFIG_ALGORITHM', `${path}.algorithms`, `"${alg}" is not allowed: use asymmetric algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')}); never none or HMAC`);
    }
  }
  const jwksUrl = r.text(o, 'jwksUrl', path);
  const keyFile = r.text(o, 'keyFile', path);
  if ((jwksUrl === undefined) === (keyFile === undefined)) {
    r.problem('CONFIG_KEYS', path, 'give exactly one of jwksUrl or keyFile');
  }
  if (jwksUrl !== undefined && !/^https?:\/\//.test(jwksUrl)) r.problem('CONFIG_URL', `${path}.jwksUrl`, 'jwksUrl must be an http(s) URL');
  const developmentKey = r.flag(o, 'developmentKey', path, false);
  if (developmentKey && development === false) {
    r.problem('CONFIG_DEVELOPMENT_ONLY', `${path}.developmentKey`, 'generated development keys are refused unless the configuration is marked development: true');
  }
  const jwks = r.section(o, 'jwks', `${path}.jwks`, ['cooldownSeconds', 'refreshSeconds', 'timeoutMs']);
  const claims = r.section(o, 'claims', `${path}.claims`, ['user', 'groups', 'tags', 'amrMfa']);
  const tagsRaw = claims['tags'] ?? {};
  const tags: Record<string, string> = {};
  if (typeof tagsRaw !== 'object' || tagsRaw === null || Array.isArray(tagsRaw)) {
    r.problem('CONFIG_TYPE', `${path}.claims.tags`, 'claims.tags maps tag names to claim names');
  }
  for (const [tag, claim] of Object.entries(tagsRaw as Obj)) {
    if (typeof claim === 'string' && claim !== '') tags[tag] = claim;
    else r.problem('CONFIG_TYPE', `${path}.claims.tags.${tag}`, 'a tag maps to the name of a claim');
  }
  const groups = r.text(claims, 'groups', `${path}.claims`);
  const maxAge = o['maxTokenAgeSeconds'] === undefined ? undefined : r.count(o, 'maxTokenAgeSeconds', path, 86_400, 1, 31 * 86_400);
  let webIdentity: WebIdentityMapping | undefined;
  if (o['webIdentity'] !== undefined) {
    const w = r.section(o, 'webIdentity', `${path}.webIdentity`, ['roles', 'provider']);
    const provider = r.text(w, 'provider', `${path}.webIdentity`);
    webIdentity = {
      ...(provider !== undefined ? { provider } : {}),
      keyPrefix: issuerKeyPrefix(issuer ?? ''),
      roles: r.texts(w, 'roles', `${path}.webIdentity`) ?? [],
    };
    if (webIdentity.roles.length === 0) r.problem('CONFIG_MISSING', `${path}.webIdentity.roles`, 'list the roles these workloads may act as');
  }
  if (issuer === undefined || !audiences) return undefined;
  return {
    name: r.text(o, 'name', path) ?? issuer,
    issuer,
    audiences,
    algorithms: algorithms.filter(isAsymmetricAlgorithm),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    developmentKey,
    jwks: {
      cooldownSeconds: r.count(jwks, 'cooldownSeconds', `${path}.jwks`, 30, 1, 3600),
      refreshSeconds: r.count(jwks, 'refreshSeconds', `${path}.jwks`, 600, 10, 86_400),
      timeoutMs: r.count(jwks, 'timeoutMs', `${path}.jwks`, 2000, 100, 30_000),
    },
    clockToleranceSeconds: r.count(o, 'clockToleranceSeconds', path, 30, 0, 300),
    ...(maxAge !== undefined ? { maxTokenAgeSeconds: maxAge } : {}),
    claims: {
      user: r.text(claims, 'user', `${path}.claims`) ?? 'sub',
      ...(groups !== undefined ? { groups } : {}),
      tags,
      amrMfa: r.flag(claims, 'amrMfa', `${path}.claims`, false),
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
  const r = new ConfigReader(options.file);
  const path = options.path ?? 'auth';
  const development = options.development;
  const root = r.section({ auth: raw }, 'auth', path, ['stateDir', 'maxTokenBytes', 'tokenCacheEntries', 'issuers', 'sts', 'mfa', 'revocation']);
  const stateDir = (r.text(root, 'stateDir', path) ?? '.iamgate-state').replace(/\/+$/, '');

  const issuersRaw = root['issuers'] ?? [];
  const issuers: IssuerConfig[] = [];
  if (!Array.isArray(issuersRaw)) r.problem('CONFIG_TYPE', `${path}.issuers`, 'issuers must be a list');
  else {
    issuersRaw.forEach((raw, i) => {
      const issuer = readIssuer(r, raw, `${path}.issuers[${i}]`, development);
      if (!issuer) return;
      if (issuers.some((x) => x.issuer === issuer.issuer)) {
        r.problem('CONFIG_DUPLICATE', `${path}.issuers[${i}].issuer`, `issuer ${issuer.issuer} is configured twice`);
      }
      issuers.push(issuer);
    });
  }

  const s = r.section(root, 'sts', `${path}.sts`, [
    'enabled', 'issuer', 'audience', 'signingKeyFile', 'signingAlgorithm', 'keyReloadSeconds',
    'defaultDurationSeconds', 'maxSessionTokenSeconds', 'maxSessionPolicyChars',
  ]);
  const alg = s['signingAlgorithm'] ?? 'ES256';
  if (alg !== 'ES256' && alg !== 'EdDSA') r.problem('CONFIG_ALGORITHM', `${path}.sts.signingAlgorithm`, 'signingAlgorithm must be ES256 or EdDSA');
  const sts: StsConfig = {
    enabled: r.flag(s, 'enabled', `${path}.sts`, true),
    issuer: r.text(s, 'issuer', `${path}.sts`) ?? 'iamgate',
    audience: r.text(s, 'audience', `${path}.sts`) ?? 'iamgate',
    signingKeyFile: r.text(s, 'signingKeyFile', `${path}.sts`) ?? `${stateDir}/sts-signing.json`,
    signingAlgorithm: alg === 'EdDSA' ? 'EdDSA' : 'ES256',
    keyReloadSeconds: r.count(s, 'keyReloadSeconds', `${path}.sts`, 30, 1, 3600),
    defaultDurationSeconds: r.count(s, 'defaultDurationSeconds', `${path}.sts`, 3600, 900, 43_200),
    maxSessionTokenSeconds: r.count(s, 'maxSessionTokenSeconds', `${path}.sts`, 43_200, 900, 129_600),
    maxSessionPolicyChars: r.count(s, 'maxSessionPolicyChars', `${path}.sts`, 2048, 64, 10_240),
  };
  if (issuers.some((i) => i.issuer === sts.issuer)) {
    r.problem('CONFIG_DUPLICATE', `${path}.sts.issuer`, `${sts.issuer} is iamgate's own issuer and cannot also be an external one`);
  }

  const m = r.section(root, 'mfa', `${path}.mfa`, [
    'issuerLabel', 'encryptionKey', 'encryptionKeyFile', 'secretsFile', 'maxFailures', 'failureWindowSeconds', 'lockoutSeconds',
  ]);
  const encryptionKey = r.text(m, 'encryptionKey', `${path}.mfa`);
  const encryptionKeyFile = r.text(m, 'encryptionKeyFile', `${path}.mfa`);
  if (encryptionKey !== undefined && encryptionKeyFile !== undefined) {
    r.problem('CONFIG_KEYS', `${path}.mfa`, 'give one of encryptionKey or encryptionKeyFile, not both');
  }
  const mfa: MfaConfig = {
    issuerLabel: r.text(m, 'issuerLabel', `${path}.mfa`) ?? 'iamgate',
    ...(encryptionKey !== undefined ? { encryptionKey } : {}),
    ...(encryptionKeyFile !== undefined ? { encryptionKeyFile } : {}),
    secretsFile: r.text(m, 'secretsFile', `${path}.mfa`) ?? `${stateDir}/mfa-secrets.json`,
    maxFailures: r.count(m, 'maxFailures', `${path}.mfa`, 5, 1, 100),
    failureWindowSeconds: r.count(m, 'failureWindowSeconds', `${path}.mfa`, 900, 30, 86_400),
    lockoutSeconds: r.count(m, 'lockoutSeconds', `${path}.mfa`, 900, 30, 86_400),
  };

  const v = r.section(root, 'revocation', `${path}.revocation`, ['refreshSeconds', 'maxStaleSeconds']);
  const revocation: RevocationConfig = {
    refreshSeconds: r.count(v, 'refreshSeconds', `${path}.revocation`, 1, 1, 300),
    maxStaleSeconds: r.count(v, 'maxStaleSeconds', `${path}.revocation`, 60, 5, 3600),
  };

  const config: AuthConfig = {
    development: development ?? false,
    stateDir,
    maxTokenBytes: r.count(root, 'maxTokenBytes', path, 8192, 512, 65_536),
    tokenCacheEntries: r.count(root, 'tokenCacheEntries', path, 10_000, 0, 1_000_000),
    issuers,
    sts,
    mfa,
    revocation,
  };
  return r.findings.length > 0 ? { findings: r.findings } : { config, findings: [] };
}
