// The authenticators a request is offered to, in precedence order: the one place a new kind of
// credential is added (a module beside this one, and a line here).
import type { PeerAuthenticator } from '../peer-identity.js';
import type { Authenticator } from './authenticator.js';
import { createSpiffePeerAuthenticator } from './spiffe-peer.js';

export interface AuthenticatorParts {
  /**
   * Bearer tokens in the Authorization header, told apart by issuer: users' JWTs from trusted
   * issuers, iamgate's own session tokens (STS), and service-account tokens (web-identity issuers).
   * Built per policy load over its directory. It claims every request it is asked about, so it
   * comes last: a request without credentials gets its 401 and challenge.
   */
  readonly tokens: Authenticator;
  /** The mesh peer's SPIFFE ID (extAuthz.grpc.peerIdentity), when configured. */
  readonly peer?: PeerAuthenticator | undefined;
}

/** The chain's members for one policy load. */
export function authenticatorsOf(parts: AuthenticatorParts): readonly Authenticator[] {
  return [
    // A check that carries no Authorization header of its own is the peer's (only ext_authz reports one).
    ...(parts.peer ? [createSpiffePeerAuthenticator(parts.peer)] : []),
    parts.tokens,
  ];
}
