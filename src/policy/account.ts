// Whether a request crosses accounts, read from the two ARNs in place: every decision that would
// allow asks it, so it builds no strings, and the principal is read only when the resource names
// an account. Colons are found with indexOf, which beats a character loop on built (cons) strings;
// the short words are compared in place (hasTextAt), which beats the startsWith builtin.
import { hasTextAt } from './prefix.js';

/** Where the account field of an ARN starts (after the fourth colon), or -1 when it is not an ARN. */
function accountStart(arn: string): number {
  if (!hasTextAt(arn, 'arn:', 0)) return -1;
  let at = 4;
  for (let i = 0; i < 3; i++) {
    at = arn.indexOf(':', at) + 1;
    if (at === 0) return -1;
  }
  return at;
}

/** Where the account field that starts at `start` ends (a truncated ARN ends with its account). */
function accountEnd(arn: string, start: number): number {
  const end = arn.indexOf(':', start);
  return end < 0 ? arn.length : end;
}

/**
 * Whether the resource belongs to another account than the principal: the resource's account is
 * its ARN's account field, or the principal's where the ARN has none; AWS-managed resources
 * (account `aws`, e.g. `arn:aws:iam::aws:policy/...`) belong to no other account.
 */
export function isCrossAccount(resource: string, principal: string): boolean {
  const r = accountStart(resource);
  if (r < 0) return false;
  const rEnd = accountEnd(resource, r);
  const length = rEnd - r;
  if (length === 0 || (length === 3 && hasTextAt(resource, 'aws', r))) return false;
  const p = accountStart(principal);
  if (p < 0) return false;
  const pEnd = accountEnd(principal, p);
  if (pEnd === p) return false;
  if (pEnd - p !== length) return true;
  for (let i = 0; i < length; i++) if (resource.charCodeAt(r + i) !== principal.charCodeAt(p + i)) return true;
  return false;
}
