// The directory and the principals callers become.
export type * from './types.js';
export { loadDirectory, readDirectoryUsers, validateDirectoryFile } from './load.js';
export { validateDirectoryDocument, readDirectoryDocument, type DirectoryModel } from './document.js';
export { buildDirectory, MFA_REQUIRED_POLICY, MFA_REQUIRED_POLICY_NAME } from './build.js';
export { buildPolicySet, canonicalJson, compileRef } from './fingerprint.js';
export { createPrincipalResolver, principalAt, type AuthFacts, type PrincipalResolver, type ResolveResult, type RoleSessionFacts, type UserFacts } from './resolve.js';
export { principalContext, isoSeconds, type WebIdentityFacts } from './context.js';
export { assumedRoleArn, iamArn, toSessionName, uniqueId, SESSION_NAME } from './names.js';
export { revocableArn, revocationSubjects } from './revocable.js';
export { roleByArn } from './role-by-arn.js';
