// The rules AWS Organizations sets for resource control policies ("RCP syntax") beyond a
// resource-based policy's: every RCP is Version 2012-10-17, names every principal ("*") and narrows
// with conditions, has no NotAction or NotPrincipal, and allows only as RCPFullAWSAccess does,
// which lets everything pass and grants nothing.
import type { Effect, PolicyVersion } from '../types.js';
import type { FindingSink } from './findings.js';
import { childPath } from './read.js';

/** Reports an RCP whose Version is not 2012-10-17 ("Every RCP must include a Version element"). */
export function checkRcpVersion(version: PolicyVersion, given: boolean, sink: FindingSink): void {
  if (given && version === '2012-10-17') return;
  sink.add('RCP_VERSION', 'Version', 'a resource control policy must say "Version": "2012-10-17"');
}

const isStar = (value: unknown): boolean => value === '*' || (Array.isArray(value) && value.length === 1 && value[0] === '*');

/** Reports what one RCP statement says that AWS Organizations refuses in an RCP. */
export function checkRcpStatement(stmt: Record<string, unknown>, path: string, effect: Effect | undefined, sink: FindingSink): void {
  if (Object.hasOwn(stmt, 'NotAction')) {
    sink.add('RCP_UNSUPPORTED_ELEMENT', childPath(path, 'NotAction'), 'a resource control policy takes no NotAction: list the actions to deny in Action');
  }
  if (Object.hasOwn(stmt, 'Principal') && stmt.Principal !== '*') {
    sink.add('RCP_PRINCIPAL', childPath(path, 'Principal'), 'a resource control policy names every principal, "Principal": "*", and narrows with a Condition (aws:PrincipalOrgID, aws:PrincipalAccount...)');
  }
  const fullAccess = isStar(stmt.Action) && isStar(stmt.Resource) && !Object.hasOwn(stmt, 'Condition');
  if (effect === 'Allow' && !fullAccess) {
    sink.add('RCP_ALLOW', childPath(path, 'Effect'), 'a resource control policy allows only as RCPFullAWSAccess does (every action on every resource, no condition), which grants nothing: write the restriction as a Deny');
  }
}
