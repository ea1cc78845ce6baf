// The one typed configuration value iamgate runs from. config/ reads the file and the keys every
// part shares; each feature module reads its own section; this module composes them, so every
// section is validated once, with the whole configuration as context, and every problem of every
// section is listed together. What comes out needs no further checking by anyone.
import { resolve } from 'node:path';
import { readAssertionConfig, type AssertionConfig } from '../assertion/index.js';
import { readAuditConfig, type AuditConfig } from '../audit/index.js';
import { readAuthConfig, type AuthConfig } from '../auth/index.js';
import { readCacheConfig, type CacheConfig } from '../cache/index.js';
import { ENV, finding, loadConfigParts, readConfigParts, type ConfigParts, type GatewayConfig } from '../config/index.js';
import { readExtAuthzConfig, type ExtAuthzConfig } from '../extauthz/config.js';
import { peerIssuer, type PeerIssuer } from '../extauthz/peer-config.js';
import type { Finding } from '../policy/index.js';
import { readHeadersConfig, type HeadersConfig } from '../proxy/index.js';
import { readTracingConfig, type TracingConfig } from '../trace/index.js';
import { redisConfigured } from './redis.js';

/** Everything iamgate is configured with, each section read and checked once. */
export interface IamgateConfig extends Omit<GatewayConfig, 'sections'> {
  readonly headers: HeadersConfig;
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

type Env = Readonly<Record<string, string | undefined>>;

/** A reader's result: its value, or nothing when it found a problem (its findings then say which). */
type Read<T> = { readonly config?: T; readonly findings: readonly Finding[] };

const PEER_ISSUER_KEY = 'extAuthz.grpc.peerIdentity.issuer';

/**
 * Reads every section of a configuration (read as far as it could be) into the typed value. Each
 * problem is reported as one of the configuration file's (its code, key and reason). An absent
 * section is read too, since it still has requirements (a production audit trail needs its
 * signing key): `iamgate validate` must refuse what `serve` would refuse.
 */
function readSections(base: GatewayConfig): { config?: IamgateConfig; problems: Finding[] } {
  const { sections, ...shared } = base;
  const file = base.file !== undefined ? { file: base.file } : {};
  const development = base.mode === 'development';
  const problems: Finding[] = [];
  const problem = (path: string, message: string): void => void problems.push(finding('INVALID_VALUE', path, message, base.file));
  const take = <T>(read: Read<T>): T | undefined => {
    for (const f of read.findings) problems.push({ ...f, ...file });
    return read.config;
  };
  const section = <T>(name: string, reader: (raw: unknown) => Read<T>): T | undefined => take(reader(sections[name]));
  const headers = take(readHeadersConfig(sections['headers']));
  const auth = section('auth', (raw) => readAuthConfig(raw, { development }));
  const cache = section('cache', (raw) => readCacheConfig(raw));
  const audit = section('audit', (raw) => readAuditConfig(raw, { development, redisConfigured: redisConfigured(base.redis) }));
  const assertion = sections['assertion'] === undefined ? undefined : take(readAssertionConfig(sections['assertion'], { development }));
  const tracing = sections['tracing'] === undefined ? undefined : take(readTracingConfig(sections['tracing']));
  const extAuthz = take(readExtAuthzConfig(sections['extAuthz']))?.grpc;
  let peer: PeerIssuer | undefined;
  if (extAuthz?.peerIdentity && auth) {
    const found = peerIssuer(extAuthz.peerIdentity, auth);
    if (found.ok) peer = found.issuer;
    else problem(PEER_ISSUER_KEY, found.problem.replace(`${PEER_ISSUER_KEY}: `, ''));
  }
  if (!headers || !auth || !cache || !audit) return { problems };
  return { config: { ...shared, headers, auth, cache, audit, assertion, tracing, extAuthz, peerIssuer: peer }, problems };
}

/**
 * The state folder the environment names instead of `auth.stateDir`, read from the current folder:
 * two instances started from one configuration (a second `serve --demo`, a benchmark's variants)
 * each need their own, since one instance holds a state folder for its life.
 */
function withStateDir(config: IamgateConfig, env: Env): IamgateConfig {
  const named = env[ENV.stateDir];
  return named === undefined || named === '' ? config : { ...config, auth: { ...config.auth, stateDir: resolve(named) } };
}

/** Every problem of the shared keys and of the sections together, or the typed value. */
function compose(parts: ConfigParts, env: Env): IamgateConfigLoad {
  if (!parts.config) return { ok: false, problems: parts.problems };
  const read = readSections(parts.config);
  const problems = [...parts.problems, ...read.problems];
  return problems.length > 0 || !read.config ? { ok: false, problems } : { ok: true, config: withStateDir(read.config, env) };
}

/** The problems of a configuration file, every one `serve` would refuse it for (`iamgate validate`). */
export function checkConfig(doc: unknown, env: Env, file: string | undefined): readonly Finding[] {
  const parts = readConfigParts(doc, env, file);
  return [...parts.problems, ...readSections(parts.config).problems];
}

/** Loads the configuration file (see config/loadConfigParts) into the typed value; never throws for bad input. */
export async function loadConfig(options: { file?: string; env?: Env } = {}): Promise<IamgateConfigLoad> {
  return compose(await loadConfigParts(options), options.env ?? process.env);
}

/** Reads a parsed configuration document with environment overrides into the typed value (validate, tests, tools). */
export function readConfig(doc: unknown, env: Env, file: string | undefined): IamgateConfigLoad {
  return compose(readConfigParts(doc, env, file), env);
}
