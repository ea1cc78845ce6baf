// The one typed configuration value iamgate runs from. config/ reads the file and the keys every
// part shares; each feature module reads its own section; this module composes them, so every
// section is validated once, with the whole configuration as context, and every problem of every
// section is listed together. What comes out needs no further checking by anyone.
import { readAssertionConfig, type AssertionConfig } from '../assertion/index.js';
import { readAuditConfig, type AuditConfig } from '../audit/index.js';
import { readAuthConfig, type AuthConfig } from '../auth/index.js';
import { readCacheConfig, type CacheConfig } from '../cache/index.js';
import { loadConfig as loadBase, readConfig as readBase, type GatewayConfig } from '../config/index.js';
import { readExtAuthzConfig, type ExtAuthzConfig } from '../extauthz/config.js';
import { peerIssuer, type PeerIssuer } from '../extauthz/peer-config.js';
import type { Finding } from '../policy/index.js';
import { readTracingConfig, type TracingConfig } from '../trace/index.js';

/** Everything iamgate is configured with, each section read and checked once. */
export interface IamgateConfig extends Omit<GatewayConfig, 'sections'> {
  readonly auth: AuthConfig;
  readonly cache: CacheConfig;
  readonly audit: AuditConfig;
  /** Absent when the `assertion` section is. */
  readonly assertion: AssertionConfig | undefined;
  /** Absent when the `tracing` section is. */
  readonly tracing: TracingConfig | undefined;
  /** The gRPC ext_authz server (`extAuthz.grpc`), absent when off. */
  readonly extAuthz: ExtAuthzConfig['grpc'];
  /** The workload issuer mesh peers map through (`extAuthz.grpc.peerIdentity`), checked against `auth`. */
  readonly peerIssuer: PeerIssuer | undefined;
}

export type IamgateConfigLoad = { readonly ok: true; readonly config: IamgateConfig } | { readonly ok: false; readonly problems: readonly Finding[] };

/** A reader's result: its value, or nothing when it found a problem (its findings then say which). */
type Read<T> = { readonly config?: T; readonly findings: readonly Finding[] };

const PEER_ISSUER_KEY = 'extAuthz.grpc.peerIdentity.issuer';

/** Reads every section of a validated base configuration into the typed value, or lists every problem. */
export function typedConfig(base: GatewayConfig): IamgateConfigLoad {
  const { sections, ...shared } = base;
  const file = base.file !== undefined ? { file: base.file } : {};
  const development = base.mode === 'development';
  const problems: Finding[] = [];
  const take = <T>(read: Read<T>): T | undefined => {
    problems.push(...read.findings.filter((f) => f.severity === 'error'));
    return read.config;
  };
  const auth = take(readAuthConfig(sections['auth'], { development, ...file }));
  const cache = take(readCacheConfig(sections['cache'], file));
  // Production needs a signing key even when the section is absent: read whatever is written.
  const audit = take(readAuditConfig(sections['audit'], { development, redisConfigured: base.redis.url !== undefined || base.redis.sentinel !== undefined, ...file }));
  const assertion = sections['assertion'] === undefined ? undefined : take(readAssertionConfig(sections['assertion'], { development, ...file }));
  const tracing = sections['tracing'] === undefined ? undefined : take(readTracingConfig(sections['tracing'], file));
  const extAuthz = take(readExtAuthzConfig(sections['extAuthz'], file))?.grpc;
  let peer: PeerIssuer | undefined;
  if (extAuthz?.peerIdentity && auth) {
    const found = peerIssuer(extAuthz.peerIdentity, auth);
    if (found.ok) peer = found.issuer;
    else problems.push({ severity: 'error', code: 'CONFIG_INVALID', path: PEER_ISSUER_KEY, message: found.problem.replace(`${PEER_ISSUER_KEY}: `, ''), ...file });
  }
  if (problems.length > 0 || !auth || !cache || !audit) return { ok: false, problems };
  return { ok: true, config: { ...shared, auth, cache, audit, assertion, tracing, extAuthz, peerIssuer: peer } };
}

/** Loads the configuration file (see config/loadConfig) and reads it into the typed value; never throws for bad input. */
export async function loadConfig(options: { file?: string; env?: Readonly<Record<string, string | undefined>> } = {}): Promise<IamgateConfigLoad> {
  const base = await loadBase(options);
  return base.ok ? typedConfig(base.config) : base;
}

/** Reads a parsed configuration document with environment overrides into the typed value (tests, tools). */
export function readConfig(doc: unknown, env: Readonly<Record<string, string | undefined>>, file: string | undefined): IamgateConfigLoad {
  const base = readBase(doc, env, file);
  return base.ok ? typedConfig(base.config) : base;
}
