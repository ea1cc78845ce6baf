// Checking `extAuthz.grpc.peerIdentity` against the `auth` section it names, at start: the issuer
// must exist and map workloads to roles (`webIdentity`), or nothing is started.
import type { AuthConfig, IssuerConfig, WebIdentityMapping } from '../auth/index.js';
import type { PeerIdentityConfig } from './config.js';

export type PeerIssuer = IssuerConfig & { readonly webIdentity: WebIdentityMapping };

/** The workload issuer peer identities map through, or the problem (with its key path). */
export function peerIssuer(peer: PeerIdentityConfig, auth: AuthConfig): { ok: true; issuer: PeerIssuer } | { ok: false; problem: string } {
  const issuer = auth.issuers.find((i) => i.name === peer.issuer);
  if (!issuer) return { ok: false, problem: `extAuthz.grpc.peerIdentity.issuer: no auth.issuers[] entry is named ${JSON.stringify(peer.issuer)}` };
  const { webIdentity } = issuer;
  if (!webIdentity) return { ok: false, problem: `extAuthz.grpc.peerIdentity.issuer: auth issuer ${JSON.stringify(peer.issuer)} has no webIdentity (the roles service accounts act as)` };
  return { ok: true, issuer: { ...issuer, webIdentity } };
}
