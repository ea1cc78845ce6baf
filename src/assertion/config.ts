// The `assertion` section of iamgate.yaml: whether the upstream is sent a signed identity assertion
// (a short-lived JWT naming the verified caller), in which header, for which audience, signed with
// which key. docs/identity-assertion.md and docs/configuration.md document every key.
import { FileReader } from '../config/reader.js';
import type { Finding } from '../policy/index.js';

export const ASSERTION_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];

export interface AssertionConfig {
  /** Lower-case header name the assertion is sent in (any copy from the caller is removed). */
  readonly header: string;
  /** The `aud` claim: the upstream service the assertion is for. */
  readonly audience: string;
  /** The `iss` claim. */
  readonly issuer: string;
  /** Lifetime of each assertion (`exp - iat`), in seconds. */
  readonly ttlSeconds: number;
  readonly algorithm: AssertionAlgorithm;
  /** Key ring file (private JWKs, as the STS's); undefined = generated in the state folder (development only). */
  readonly signingKeyFile: string | undefined;
  /** How often the key ring file is checked for rotated keys, in seconds. */
  readonly keyReloadSeconds: number;
}

export const ASSERTION_DEFAULTS = { header: 'x-iamgate-assertion', issuer: 'iamgate', ttlSeconds: 60, algorithm: 'EdDSA', keyReloadSeconds: 30 } as const;

/** Name of the key ring generated in the state folder in development. */
export const GENERATED_ASSERTION_KEYS = 'assertion-signing.json';

const KEYS = ['header', 'audience', 'issuer', 'ttlSeconds', 'algorithm', 'signingKeyFile', 'keyReloadSeconds'];
const TOKEN = /^[a-z0-9-]+$/;
/** Names the proxy owns or drops: an assertion under one of them would be lost or ambiguous. */
const RESERVED = new Set(['authorization', 'host', 'connection', 'upgrade', 'te', 'trailer', 'transfer-encoding', 'content-length', 'cookie', 'forwarded']);

/** Reads the `assertion` section (undefined: no assertion is sent). `config` is set only when there is no problem. */
export function readAssertionConfig(raw: unknown, options: { path?: string; development: boolean; file?: string }): { config?: AssertionConfig; findings: Finding[] } {
  if (raw === undefined || raw === null) return { findings: [] };
  const r = new FileReader(options.file);
  const path = options.path ?? 'assertion';
  const root = r.section({ assertion: raw }, 'assertion', path, KEYS);
  const header = r.string(root, 'header', `${path}.header`, ASSERTION_DEFAULTS.header).toLowerCase();
  if (!TOKEN.test(header) || RESERVED.has(header) || header.startsWith('x-forwarded-')) {
    r.problem(`${path}.header`, `"${header}" cannot carry the assertion: use letters, digits and - only (no _), and not a header the proxy sets or removes`);
  }
  if (root['audience'] === undefined) r.problem(`${path}.audience`, 'required: the upstream service the assertion is for (its aud claim)');
  const audience = r.string(root, 'audience', `${path}.audience`, '');
  const signingKeyFile = root['signingKeyFile'] === undefined ? undefined : r.string(root, 'signingKeyFile', `${path}.signingKeyFile`, '');
  if (signingKeyFile === undefined && !options.development) {
    r.problem(`${path}.signingKeyFile`, 'required in production: a key ring file of private JWKs (as auth.sts.signingKeyFile)');
  }
  const config: AssertionConfig = {
    header,
    audience,
    issuer: r.string(root, 'issuer', `${path}.issuer`, ASSERTION_DEFAULTS.issuer),
    ttlSeconds: r.int(root, 'ttlSeconds', `${path}.ttlSeconds`, ASSERTION_DEFAULTS.ttlSeconds, 5, 900),
    algorithm: r.oneOf<AssertionAlgorithm>(root, 'algorithm', `${path}.algorithm`, ASSERTION_DEFAULTS.algorithm, ASSERTION_ALGORITHMS),
    signingKeyFile,
    keyReloadSeconds: r.int(root, 'keyReloadSeconds', `${path}.keyReloadSeconds`, ASSERTION_DEFAULTS.keyReloadSeconds, 1, 86_400),
  };
  return r.findings.length > 0 ? { findings: r.findings } : { config, findings: [] };
}
