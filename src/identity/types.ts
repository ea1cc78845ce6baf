// The directory (users, groups, roles, managed policies) after loading and compiling, and the
// principal a verified caller becomes. Plain immutable data: the request path only reads it.
import type { CompiledPolicy, ContextValue, Json, PolicySet } from '../policy/index.js';

/** A compiled policy with the digest of its source (name, kind and canonical document). */
export interface PolicyRef {
  readonly compiled: CompiledPolicy;
  readonly digest: string;
}

export interface ManagedPolicy {
  readonly name: string;
  readonly arn: string;
  readonly document: Json;
  readonly ref: PolicyRef;
  /** The file the document came from, when it came from one. */
  readonly file?: string;
}

export interface DirectoryGroup {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  /** Inline policies first, then attached managed policies. */
  readonly policies: readonly PolicyRef[];
}

export interface DirectoryUser {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  /** The unique id (`aws:userid`), as IAM's `AIDA...`. */
  readonly id: string;
  readonly groups: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly mfaRequired: boolean;
  /** The user's own policies (inline, then attached), without group policies. */
  readonly policies: readonly PolicyRef[];
  readonly boundary?: PolicyRef;
  /** The compiled set with the directory's groups, computed at load. */
  readonly policySet: PolicySet;
  readonly fingerprint: string;
}

export interface DirectoryRole {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  /** The unique id, as IAM's `AROA...`; a session's `aws:userid` is `<id>:<session name>`. */
  readonly id: string;
  readonly trust: PolicyRef;
  readonly maxSessionSeconds: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly policies: readonly PolicyRef[];
  readonly boundary?: PolicyRef;
  readonly policySet: PolicySet;
  readonly fingerprint: string;
}

export interface Directory {
  readonly account: string;
  readonly partition: string;
  /** The file it was loaded from. */
  readonly file?: string;
  readonly users: ReadonlyMap<string, DirectoryUser>;
  readonly groups: ReadonlyMap<string, DirectoryGroup>;
  readonly roles: ReadonlyMap<string, DirectoryRole>;
  readonly policies: ReadonlyMap<string, ManagedPolicy>;
  /** The deny-unless-MFA policy added to users marked `mfaRequired`. */
  readonly mfaRequiredPolicy: PolicyRef;
  /** Digest of everything in the directory: changes whenever any principal's policies could change. */
  readonly generation: string;
}

/** What kind of caller a principal is. `WebIdentity` is a workload acting as a role per request. */
export type PrincipalType = 'User' | 'AssumedRole' | 'WebIdentity';

/** A verified caller with everything a decision about it needs. */
export interface Principal {
  /** `arn:aws:iam::ACCOUNT:user/NAME` or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  readonly arn: string;
  readonly type: PrincipalType;
  readonly accountId: string;
  /** The user's or the role's name. */
  readonly name: string;
  /** A user's groups (the directory's, then any the token adds); none for role sessions. */
  readonly groups?: readonly string[];
  readonly sessionName?: string;
  /** For role sessions, the role's ARN (also `aws:PrincipalArn`). */
  readonly roleArn?: string;
  /** The `aws:userid` value. */
  readonly userId: string;
  readonly sourceIdentity?: string;
  /** Compiled once per user / role / session policy and shared by every principal that has it. */
  readonly policySet: PolicySet;
  /** Hash of everything the policy set depends on (policies, boundary, session policies, groups). */
  readonly fingerprint: string;
  /** Principal context keys (AWS names); merged into each request's context. */
  readonly context: Readonly<Record<string, ContextValue>>;
  readonly mfa: boolean;
  /** When the second factor was presented (epoch ms), when `mfa`. */
  readonly mfaAt?: number;
  /** When the credential was issued (epoch ms), `aws:TokenIssueTime`. */
  readonly issuedAt: number;
  /** When the credential expires (epoch ms). */
  readonly expiresAt: number;
  /** The token issuer that vouched for the caller (`iss`). */
  readonly issuer: string;
  /** How the caller authenticated (`amr`-style: `pwd`, `mfa`, `otp`, `web-identity`, ...). */
  readonly authMethods: readonly string[];
}
