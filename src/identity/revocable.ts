// What a session revocation can name: a user, a role (all its sessions) or one role session, each
// of the directory's account; and which of those names reach a given principal's credential.
import { assumedRoleArn, SESSION_NAME } from './names.js';
import type { Directory, Principal } from './types.js';

/**
 * Whether `arn` names a user or role of the directory, or a session of one of its roles: a
 * revocation of anything else could never match a credential, and saying it succeeded would
 * leave the caller believing sessions were ended that were not.
 */
export function revocableArn(directory: Directory, arn: string): boolean {
  for (const user of directory.users.values()) if (user.arn === arn) return true;
  for (const role of directory.roles.values()) {
    if (role.arn === arn) return true;
    const prefix = assumedRoleArn(directory, role.name, '');
    if (arn.startsWith(prefix) && SESSION_NAME.test(arn.slice(prefix.length))) return true;
  }
  return false;
}

/**
 * The principal's credential is revoked when any of these names is: its own ARN (the user, or the
 * role session) and, for a role session, its role's.
 */
export function revocationSubjects(p: Pick<Principal, 'arn' | 'roleArn'>): readonly string[] {
  return p.roleArn === undefined ? [p.arn] : [p.arn, p.roleArn];
}
