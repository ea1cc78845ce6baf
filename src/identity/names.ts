// IAM names, paths, ARNs and unique ids, following AWS's grammar:
// arn:PARTITION:iam::ACCOUNT:user/PATH/NAME, ...:role/..., ...:group/..., ...:policy/...,
// and arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION for role sessions.
import { createHash } from 'node:crypto';

/** User, role and session names: letters, digits and `+=,.@_-`. */
export const USER_NAME = /^[\w+=,.@-]{1,64}$/;
export const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
export const GROUP_NAME = /^[\w+=,.@-]{1,128}$/;
export const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
export const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** `/` or `/segment/.../` */
export const IAM_PATH = /^\/(?:[\w+=,.@-]+\/)*$/;
export const ACCOUNT_ID = /^\d{12}$/;
export const PARTITION = /^[a-z][a-z0-9-]{1,31}$/;
/** Tag keys and values as IAM allows them. */
export const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
export const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

export interface AccountScope {
  readonly partition: string;
  readonly account: string;
}

/** `arn:aws:iam::111122223333:user/engineering/alice` style ARN of a path-scoped IAM entity. */
export function iamArn(scope: AccountScope, kind: 'user' | 'role' | 'group' | 'policy', path: string, name: string): string {
  return `arn:${scope.partition}:iam::${scope.account}:${kind}${path}${name}`;
}

/** The ARN of a role session. Sessions carry the role's name but not its path, as in AWS. */
export function assumedRoleArn(scope: AccountScope, roleName: string, sessionName: string): string {
  return `arn:${scope.partition}:sts::${scope.account}:assumed-role/${roleName}/${sessionName}`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A stable unique id in IAM's shape (`AIDA` + 17 characters for users, `AROA` for roles), derived
 * from the ARN so that it is the same on every replica and across restarts.
 */
export function uniqueId(prefix: 'AIDA' | 'AROA' | 'AGPA', arn: string): string {
  const digest = createHash('sha256').update(arn).digest();
  let out = prefix;
  for (let i = 0; i < 17; i++) out += BASE32[digest[i]! % 32];
  return out;
}

/** Subjects named as they read, `:` written `.`: none holds a `.`, so no two of them get one name. */
const PLAIN_SUBJECT = /^[A-Za-z0-9_@:-]{2,64}$/;

/** Characters of a subject's readable part in a digested name, which leaves room for `=` and the digest. */
const READABLE_LENGTH = 64 - 1 - 16;

/**
 * The session name of a workload subject, different for different subjects, since it names the
 * caller in its ARN, identity headers and audit records. A plain subject (a Kubernetes service
 * account: `system:serviceaccount:NS:SA`) reads as itself with `.` for `:`; any other (too long,
 * too short, holding `.` or a character a session name cannot hold) is its tail, those characters
 * written `.`, then `=` and 16 base32 characters of the SHA-256 of its UTF-16 code units (so
 * lone surrogates stay apart): a plain name never holds `=`.
 */
export function toSessionName(text: string): string {
  if (PLAIN_SUBJECT.test(text)) return text.replaceAll(':', '.');
  const digest = createHash('sha256').update(text, 'utf16le').digest();
  let suffix = '=';
  for (let i = 0; i < 16; i++) suffix += BASE32[digest[i]! % 32];
  return text.replace(/[^\w+,.@-]/g, '.').slice(-READABLE_LENGTH) + suffix;
}
