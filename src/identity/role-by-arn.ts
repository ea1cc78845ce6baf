// A directory's roles by ARN. Calls name a role by its ARN; the directory keys roles by name. The
// map is made once per directory (a directory never changes once built): a scan would find a role
// that exists sooner than it gives up on one that does not, by microseconds a few hundred STS
// calls measure, and would cost every assume-role decision a pass over every role.
import type { Directory, DirectoryRole } from './types.js';

const byDirectory = new WeakMap<Directory, ReadonlyMap<string, DirectoryRole>>();

/** The directory's role whose ARN is `arn`, or undefined. */
export function roleByArn(directory: Directory, arn: string): DirectoryRole | undefined {
  let roles = byDirectory.get(directory);
  if (!roles) byDirectory.set(directory, (roles = new Map([...directory.roles.values()].map((role) => [role.arn, role]))));
  return roles.get(arn);
}
