// The mesh peer as the caller: when the asking proxy (Envoy under Istio) reports the SPIFFE ID of
// the workload that called it and the request carries no credential of its own, that workload is
// the caller (its service account, mapped to a role through the workload issuer's trust policies).
import type { PeerAuthenticator } from '../peer-identity.js';
import { NOT_MINE, type Authenticator } from './authenticator.js';

/** Claims a request with a peer principal and no Authorization header; has no challenge (the mesh authenticated the peer). */
export function createSpiffePeerAuthenticator(peer: PeerAuthenticator): Authenticator {
  return {
    authenticate(facts) {
      const spiffeId = facts.peerPrincipal;
      if (facts.authorization !== undefined || spiffeId === undefined || spiffeId === '') return NOT_MINE;
      return peer(spiffeId, facts.now);
    },
  };
}
