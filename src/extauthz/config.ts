// The `extAuthz` section of iamgate.yaml: Envoy's gRPC external authorization server (off unless
// `grpc.port` is set) and, optionally, workload identity taken from the mesh peer's SPIFFE ID.
import { ConfigReader, type Doc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';

export interface PeerIdentityConfig {
  /** The `auth.issuers[]` entry (by name) whose `webIdentity` roles map service accounts. */
  readonly issuer: string;
  /** The SPIFFE trust domain whose `ns/NS/sa/SA` IDs are accepted. */
  readonly trustDomain: string;
}

export interface ExtAuthzConfig {
  /** Undefined when the gRPC server is off. */
  readonly grpc: { readonly host: string; readonly port: number; readonly peerIdentity: PeerIdentityConfig | undefined } | undefined;
}

export const EXT_AUTHZ_DEFAULTS = { host: '0.0.0.0', trustDomain: 'cluster.local' } as const;

/** A trust domain as SPIFFE allows it: lower-case letters, digits, `.`, `-`, `_`. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/** Reads the `extAuthz` section (undefined = off); `config` is set only when there is no problem. */
export function readExtAuthzConfig(raw: unknown, options: { path?: string; file?: string } = {}): { config?: ExtAuthzConfig; findings: Finding[] } {
  const r = new ConfigReader(options.file);
  const path = options.path ?? 'extAuthz';
  const root: Doc = r.section({ extAuthz: raw }, 'extAuthz', path, ['grpc']);
  const g = r.section(root, 'grpc', `${path}.grpc`, ['host', 'port', 'peerIdentity']);
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
    grpc = { host, port, peerIdentity };
  }
  const findings = r.problems;
  return findings.length > 0 ? { findings } : { config: { grpc }, findings };
}
