// Authentication: bearer tokens, TOTP MFA, STS-style sessions, revocation.
export { createAuthRuntime, type AuthRuntime, type AuthRuntimeOptions } from './runtime.js';
export { createAuthenticator, type AuthenticatorDeps, type AuthOutcome, type IssuerStatus, type TokenAuthenticator } from './authenticator.js';
export { readAuthConfig, validateAuthSection, issuerKeyPrefix, webIdentityProvider, type AuthConfig, type IssuerConfig, type ReadAuthOptions } from './config.js';
export { AUTH_ERRORS, authFailure, type AuthErrorCode, type AuthFailure, type AuthStatus } from './errors.js';
export { createStsApp, createJwksHandler } from './sts/app.js';
export { createStsOperations, type StsDeps, type StsEvent, type StsAction } from './sts/operations.js';
export { STS_ERRORS, type StsErrorCode } from './sts/errors.js';
export { createTotp, DEFAULT_LOCKOUT, type Totp, type MfaErrorCode, type LockoutPolicy } from './totp.js';
export { createRevocations, type Revocations, type RevocationCheck } from './revocation.js';
export { createSecretBox, decodeKey, type SecretBox } from './secret-box.js';
export { fileSecretStore, stateSecretStore, type MfaSecretStore } from './mfa-secrets.js';
export { createMemoryStateStore } from './state/memory.js';
export { createRedisClient, createRedisStateStore, redisReady } from './state/redis.js';
export { StateUnavailableError, type StateStore } from './state/store.js';
export { createRemoteKeySet, type FetchLike } from './keys/remote.js';
export { ensureDevKey, loadKeyFile, generatePrivateJwk, type PrivateJwk } from './keys/file.js';
export { createSigningKeyRing, ensureSigningKeyFile, loadSigningKeyRing, rotateSigningKeyFile, watchSigningKeyRing, type SigningKeyRing } from './keys/signing.js';
export { mintSessionToken, SESSION_CLAIM, type SessionClaims } from './session-token.js';
