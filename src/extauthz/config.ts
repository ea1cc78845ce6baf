// The `extAuthz` section of iamgate.yaml: Envoy's gRPC external authorization server (off unless
// `grpc.port` is set) and, optionally, workload identity taken from the mesh peer's SPIFFE ID.
import { FileReader, type Doc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';

export interface PeerIdentityConfig {
  /** The `auth.issuers[]` entry (by name) whose `webIdentity` roles map service accounts. */
  readonly issuer: string;
  /** The SPIFFE trust domain whose `ns/NS/sa/SA` IDs are accepted. */
  readonly trustDomain: string;
}

/** What one client may hold of the gRPC server: connections, calls, decoded bytes, connections' time. */
export interface ExtAuthzLimits {
  /** Most connections open at once, over all clients; more are closed as they arrive. */
  readonly maxConnections: number;
  /** Most calls open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Most checks being decided at once, over all connections; more are denied at once (503). */
  readonly maxChecksInFlight: number;
  /** Most bytes of decoded checks being decided at once; a check past it is denied at once (503) unless none is in flight. */
  readonly maxCheckBytesInFlight: number;
  /** How often iamgate pings each connection (a dead peer never answers). */
  readonly keepaliveTimeMs: number;
  /** How long a ping may go unanswered before the connection is closed. */
  readonly keepaliveTimeoutMs: number;
  /** How long a connection with no call open is kept. */
  readonly maxConnectionIdleMs: number;
  /** How long a connection is kept at most; its calls then have `shutdown.graceMs` to finish. */
  readonly maxConnectionAgeMs: number;
}

export interface ExtAuthzConfig {
  /** Undefined when the gRPC server is off. */
  readonly grpc: { readonly host: string; readonly port: number; readonly peerIdentity: PeerIdentityConfig | undefined; readonly limits: ExtAuthzLimits } | undefined;
}

const MIB = 1024 * 1024;
const MINUTE = 60_000;

export const EXT_AUTHZ_DEFAULTS = {
  host: '0.0.0.0',
  trustDomain: 'cluster.local',
  limits: {
    maxConnections: 10_000,
    maxConcurrentStreams: 100,
    maxChecksInFlight: 1024,
    maxCheckBytesInFlight: 64 * MIB,
    keepaliveTimeMs: MINUTE,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 5 * MINUTE,
    maxConnectionAgeMs: 60 * MINUTE,
  },
} as const;

/** The range each limit may take: every one bounded, so none can be turned off. */
const LIMIT_RANGES: Readonly<Record<keyof ExtAuthzLimits, readonly [number, number]>> = {
  maxConnections: [1, 1_000_000],
  maxConcurrentStreams: [1, 2 ** 31 - 1],
  maxChecksInFlight: [1, 1_000_000],
  maxCheckBytesInFlight: [MIB, 64 * 1024 * MIB],
  keepaliveTimeMs: [1_000, 24 * 60 * MINUTE],
  keepaliveTimeoutMs: [1_000, 10 * MINUTE],
  maxConnectionIdleMs: [1_000, 24 * 60 * MINUTE],
  maxConnectionAgeMs: [1_000, 7 * 24 * 60 * MINUTE],
};

const LIMIT_KEYS = Object.keys(LIMIT_RANGES);

/** A trust domain as SPIFFE allows it: lower-case letters, digits, `.`, `-`, `_`. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/** Reads the `extAuthz` section (undefined = off); `config` is set only when there is no problem. */
export function readExtAuthzConfig(raw: unknown, options: { path?: string; file?: string } = {}): { config?: ExtAuthzConfig; findings: Finding[] } {
  const r = new FileReader(options.file);
  const path = options.path ?? 'extAuthz';
  const root: Doc = r.section({ extAuthz: raw }, 'extAuthz', path, ['grpc']);
  const g = r.section(root, 'grpc', `${path}.grpc`, ['host', 'port', 'peerIdentity', ...LIMIT_KEYS]);
  let grpc: ExtAuthzConfig['grpc'];
  if (g['port'] !== undefined) {
    const host = r.string(g, 'host', `${path}.grpc.host`, EXT_AUTHZ_DEFAULTS.host);
    const port = r.int(g, 'port', `${path}.grpc.port`, 0, 0, 65535);
    const p = r.section(g, 'peerIdentity', `${path}.grpc.peerIdentity`, ['enabled', 'issuer', 'trustDomain']);
    let peerIdentity: PeerIdentityConfig | undefined;
    if (r.bool(p, 'enabled', `${path}.grpc.peerIdentity.enabled`, false)) {
      const issuer = r.string(p, 'issuer', `${path}.grpc.peerIdentity.issuer`, '');
      if (issuer === '') r.problem(`${path}.grpc.peerIdentity.issuer`, 'name the auth.issuers[] entry (with webIdentity) whose roles map service accounts');
      const trustDomain = r.string(p, 'trustDomain', `${path}.grpc.peerIdentity.trustDomain`, EXT_AUTHZ_DEFAULTS.trustDomain);
      if (!TRUST_DOMAIN.test(trustDomain)) r.problem(`${path}.grpc.peerIdentity.trustDomain`, `must be a SPIFFE trust domain such as cluster.local (got ${JSON.stringify(trustDomain)})`);
      peerIdentity = { issuer, trustDomain };
    }
    const limit = (key: keyof ExtAuthzLimits): number => r.int(g, key, `${path}.grpc.${key}`, EXT_AUTHZ_DEFAULTS.limits[key], ...LIMIT_RANGES[key]);
    const limits: ExtAuthzLimits = {
      maxConnections: limit('maxConnections'),
      maxConcurrentStreams: limit('maxConcurrentStreams'),
      maxChecksInFlight: limit('maxChecksInFlight'),
      maxCheckBytesInFlight: limit('maxCheckBytesInFlight'),
      keepaliveTimeMs: limit('keepaliveTimeMs'),
      keepaliveTimeoutMs: limit('keepaliveTimeoutMs'),
      maxConnectionIdleMs: limit('maxConnectionIdleMs'),
      maxConnectionAgeMs: limit('maxConnectionAgeMs'),
    };
    grpc = { host, port, peerIdentity, limits };
  }
  const findings = r.findings;
  return findings.length > 0 ? { findings } : { config: { grpc }, findings };
}
