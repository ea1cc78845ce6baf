// The authentication seam: the gateway offers each request's credential facts to a chain of
// authenticators (src/auth/authenticators/); each may answer, or say the credential is not its own.
export type { Authenticator, AuthOutcome, AuthResult, CredentialFacts } from '../auth/authenticators/index.js';
