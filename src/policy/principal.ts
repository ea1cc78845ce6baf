// Matching a request's principal against a resource policy's `Principal` / `NotPrincipal` element.
// The match level matters: AWS lets a same-account resource policy that names the principal itself
// grant access on its own, while one that names the account only delegates to identity policies.
import { parseArn } from './arn.js';
import { hasTextAt } from './prefix.js';
import type { PrincipalSpec } from './types.js';

/** How a Principal element matched: not at all, through the account, through the role, or directly. */
export const MatchLevel = { None: 0, Account: 1, Role: 2, Direct: 3 } as const;
export type MatchLevel = (typeof MatchLevel)[keyof typeof MatchLevel];

/** What a principal ARN says about the caller, derived once per request where needed. */
export interface PrincipalInfo {
  readonly arn: string;
  /** Account id from the ARN ('' when the principal is not an ARN, e.g. a federated provider URL). */
  readonly account: string;
  /** For `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, the role's name. */
  readonly roleName?: string;
  /** A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`). */
  readonly federatedUser: boolean;
}

/** Reads account and (for role sessions) the role name out of a principal ARN, without splitting it. */
export function describePrincipal(arn: string): PrincipalInfo {
  // arn:partition:service:region:account:resource
  if (!arn.startsWith('arn:')) return { arn, account: '', federatedUser: false };
  const c1 = arn.indexOf(':', 4);
  const c2 = c1 < 0 ? -1 : arn.indexOf(':', c1 + 1);
  const c3 = c2 < 0 ? -1 : arn.indexOf(':', c2 + 1);
  const c4 = c3 < 0 ? -1 : arn.indexOf(':', c3 + 1);
  if (c4 < 0) return { arn, account: '', federatedUser: false };
  const account = arn.slice(c3 + 1, c4);
  const sts = arn.startsWith('sts', c1 + 1) && c2 === c1 + 4;
  const SESSION = 'assumed-role/';
  if (sts && arn.startsWith(SESSION, c4 + 1)) {
    const start = c4 + 1 + SESSION.length;
    const slash = arn.indexOf('/', start);
    if (slash > start) return { arn, account, roleName: arn.slice(start, slash), federatedUser: false };
  }
  return { arn, account, federatedUser: sts && arn.startsWith('federated-user/', c4 + 1) };
}

/**
 * Whether a principal ARN is a federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`),
 * as `describePrincipal` reads it but without building anything: every allow asks it.
 */
export function isFederatedUser(arn: string): boolean {
  if (!hasTextAt(arn, 'arn:', 0)) return false;
  const c1 = arn.indexOf(':', 4);
  if (c1 < 0 || !hasTextAt(arn, 'sts:', c1 + 1)) return false;
  const c3 = arn.indexOf(':', c1 + 5);
  const c4 = c3 < 0 ? -1 : arn.indexOf(':', c3 + 1);
  return c4 >= 0 && hasTextAt(arn, 'federated-user/', c4 + 1);
}

/** A compiled Principal element: answers how strongly a principal matches it. */
export type PrincipalMatcher = (p: PrincipalInfo) => MatchLevel;

const ACCOUNT_ID = /^\d{12}$/;

/** The identities a Principal / NotPrincipal element names, sorted for the checks below. */
interface NamedPrincipals {
  readonly anyone: boolean;
  readonly direct: ReadonlySet<string>;
  readonly accounts: ReadonlySet<string>;
  /** Role ARNs keyed by `account/roleName`: a session ARN carries no role path, so match by name. */
  readonly roles: ReadonlySet<string>;
}

function readNames(spec: PrincipalSpec): NamedPrincipals {
  if (spec === '*') return { anyone: true, direct: new Set(), accounts: new Set(), roles: new Set() };
  const direct = new Set<string>();
  const accounts = new Set<string>();
  const roles = new Set<string>();
  let anyone = false;
  for (const value of spec.AWS ?? []) {
    if (value === '*') {
      anyone = true;
      continue;
    }
    if (ACCOUNT_ID.test(value)) {
      accounts.add(value);
      continue;
    }
    const arn = parseArn(value);
    if (arn && arn.service === 'iam' && arn.resource === 'root') {
      accounts.add(arn.account);
      continue;
    }
    if (arn && arn.service === 'iam' && arn.resource.startsWith('role/')) {
      const name = arn.resource.slice(arn.resource.lastIndexOf('/') + 1);
      roles.add(`${arn.account}/${name}`);
    }
    direct.add(value);
  }
  for (const value of [...(spec.Federated ?? []), ...(spec.Service ?? []), ...(spec.CanonicalUser ?? [])]) {
    direct.add(value);
  }
  return { anyone, direct, accounts, roles };
}

function roleListed(names: NamedPrincipals, p: PrincipalInfo): boolean {
  return p.roleName !== undefined && names.roles.has(`${p.account}/${p.roleName}`);
}

/** Compiles a Principal element. Wildcards other than a lone `*` are not supported, as in AWS. */
export function compilePrincipal(spec: PrincipalSpec): PrincipalMatcher {
  const names = readNames(spec);
  return (p) => {
    if (names.anyone || names.direct.has(p.arn)) return MatchLevel.Direct;
    if (roleListed(names, p)) return MatchLevel.Role;
    if (p.account !== '' && names.accounts.has(p.account)) return MatchLevel.Account;
    return MatchLevel.None;
  };
}

/**
 * Compiles the NotPrincipal element of a Deny into "is the caller left out of the statement".
 * AWS evaluates the caller's account, its role (for a role session) and the caller itself, so the
 * caller is spared only when every one of those is listed: naming a user without its account, or
 * a session without its role, still denies it, which denies where the documentation leaves room
 * for doubt. IAM supports NotPrincipal only with Deny; the validator refuses it with Allow.
 */
export function compileNotPrincipal(spec: PrincipalSpec): (p: PrincipalInfo) => boolean {
  const names = readNames(spec);
  return (p) => {
    if (names.anyone) return true;
    const self = names.direct.has(p.arn);
    const account = p.account !== '' && names.accounts.has(p.account);
    return self && account && (p.roleName === undefined || roleListed(names, p));
  };
}
