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
 * (account `aws`, e.g. `arn:aws:iam::aws:policy/...`) belong to no other account. `known` is the
 * resource's account when a statement that matched it already says it (`patternAccount`), so the
 * resource is not read again.
 */
export function isCrossAccount(resource: string, principal: string, known?: string): boolean {
  if (known !== undefined) return ownedElsewhere(known, 0, known.length, principal);
  const r = accountStart(resource);
  if (r < 0) return false;
  return ownedElsewhere(resource, r, accountEnd(resource, r) - r, principal);
}

/** Whether the account `text.slice(at, at + length)` names another account than the principal's. */
function ownedElsewhere(text: string, at: number, length: number, principal: string): boolean {
  if (length === 0 || (length === 3 && hasTextAt(text, 'aws', at))) return false;
  const p = accountStart(principal);
  if (p < 0) return false;
  const pEnd = accountEnd(principal, p);
  if (pEnd === p) return false;
  if (pEnd - p !== length) return true;
  for (let i = 0; i < length; i++) if (text.charCodeAt(at + i) !== principal.charCodeAt(p + i)) return true;
  return false;
}

/**
 * The account field of every ARN that Resource patterns can match, when the patterns fix it: each
 * is an ARN pattern of six parts whose first five hold no wildcard and no policy variable, and all
 * name the same account. Undefined otherwise (`*`, a wildcard or variable there, a pattern cut
 * short, patterns that disagree): the account is then read from the request's resource.
 */
export function patternAccount(patterns: readonly string[]): string | undefined {
  let account: string | undefined;
  for (const pattern of patterns) {
    const parts = pattern.split(':');
    if (parts.length < 6 || parts[0] !== 'arn') return undefined;
    const head = parts.slice(0, 5);
    if (head.some((part) => /[*?$]/.test(part))) return undefined;
    const own = head[4] as string;
    if (account !== undefined && own !== account) return undefined;
    account = own;
  }
  return account;
}
