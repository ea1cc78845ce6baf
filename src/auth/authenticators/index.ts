// Authenticators as a chain: each offered the request's credential facts in turn, each able to say "not mine".
export { NOT_MINE, type Authenticator, type AuthOutcome, type AuthRejection, type AuthResult, type CredentialFacts } from './authenticator.js';
export { createAuthenticatorChain, type AuthenticatorChain, type ChainOutcome } from './chain.js';
export { bearerChallenge, bearerToken, repeatedAuthorization } from './bearer.js';
export { createSpiffePeerAuthenticator } from './spiffe-peer.js';
export { authenticatorsOf, type AuthenticatorParts } from './members.js';
