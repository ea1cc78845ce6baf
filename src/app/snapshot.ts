// What each policy snapshot decides with, built whole before it is installed: the directory's
// resolver, the route map, the digest, and an authenticator that resolves callers in that
// directory and no other. The token verifier behind it (its key sets and verified-token cache) is
// shared by every snapshot: verifying a token does not depend on the policies, resolving it does.
import type { TokenAuthenticator } from '../auth/index.js';
import { createPolicyLoader, type Authenticator, type PolicyFiles, type PolicyLoader } from '../gateway/index.js';
import type { PrincipalResolver } from '../identity/index.js';

/** Builds a snapshot's authenticator over its directory. */
export type SnapshotAuthenticator = (resolver: PrincipalResolver) => Authenticator;

/** The configured token verifier, resolving principals in one snapshot's directory. */
export function tokenAuthenticatorFor(tokens: TokenAuthenticator): SnapshotAuthenticator {
  return (resolver) => ({ authenticate: (request) => tokens.authenticate(request, resolver), challenge: tokens.challenge });
}

/** The loader of whole snapshots: nothing is assigned anywhere until the gateway installs one. */
export function createSnapshotLoader(files: PolicyFiles, authenticator: SnapshotAuthenticator): PolicyLoader {
  return createPolicyLoader(files, (_directory, resolver) => authenticator(resolver));
}
