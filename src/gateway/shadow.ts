// Shadow evaluation: a candidate directory (users, groups, roles and their policies) loaded beside
// the live one. Each decided request is decided once more by the candidate's policies for the same
// principal, on the same action, resource and context; only the live decision counts. The
// candidate never calls the upstream and never touches the decision cache.
import { createPrincipalResolver, type Directory, type Principal, type PrincipalResolver } from '../identity/index.js';
import { evaluate, type AuthzRequest, type PolicySet } from '../policy/index.js';
import { withoutBearerToken } from '../audit/index.js';

/** Which way the candidate disagrees: it would allow what the live policies deny, or the reverse. */
export type ShadowDirection = 'would_allow' | 'would_deny';

export interface ShadowPolicies {
  /** The folder the candidate was loaded from. */
  readonly source: string;
  /** How the candidate decides differently, or undefined when it agrees. */
  judge(principal: Principal, request: AuthzRequest, liveAllowed: boolean): ShadowDirection | undefined;
}

/**
 * The candidate's policies for a principal: the candidate directory's user or role by name, with
 * what came with the caller's token rather than from the directory (a user's groups that its
 * identity provider asserted, a role session's session policies). A principal the candidate does
 * not have gets no policies, so it is denied.
 */
function candidateSet(resolver: PrincipalResolver, live: Directory, principal: Principal): PolicySet | undefined {
  const { directory } = resolver;
  if (principal.type === 'User') {
    const user = directory.users.get(principal.name);
    if (!user) return undefined;
    const listed = live.users.get(principal.name)?.groups ?? [];
    const asserted = (principal.groups ?? []).filter((g) => !listed.includes(g));
    if (asserted.length === 0) return user.policySet;
    // The candidate's resolver adds them as a serve on the candidate would: known groups only, compiled once.
    const resolved = resolver.user({ ...principal, userName: user.name, groups: asserted }, principal.issuedAt);
    return resolved.ok ? resolved.principal.policySet : undefined;
  }
  const role = directory.roles.get(principal.name);
  if (!role) return undefined;
  const session = principal.policySet.session;
  return session ? { ...role.policySet, session } : role.policySet;
}

/** Builds the shadow judge over a loaded candidate directory, beside the live directory its callers are resolved in. */
export function createShadowPolicies(directory: Directory, live: Directory, source: string): ShadowPolicies {
  const resolver = createPrincipalResolver(directory);
  return {
    source,
    judge(principal, request, liveAllowed) {
      const set = candidateSet(resolver, live, principal);
      const allowed = set !== undefined && evaluate(set, request).decision === 'Allow';
      if (allowed === liveAllowed) return undefined;
      return allowed ? 'would_allow' : 'would_deny';
    },
  };
}

export interface ShadowDisagreement {
  readonly time: string;
  readonly direction: ShadowDirection;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
}

export interface ShadowSummary {
  readonly enabled: boolean;
  readonly source?: string;
  readonly evaluated: number;
  readonly disagreements: Readonly<Record<ShadowDirection, number>>;
  /** The latest disagreements, newest last. */
  readonly recent: readonly ShadowDisagreement[];
}

export interface ShadowLog {
  record(direction: ShadowDirection | undefined, request: AuthzRequest, now: number): void;
  summary(source: string | undefined): ShadowSummary;
}

const RECENT = 50;

/** Counts shadow evaluations and keeps the latest disagreements for the operations port. */
export function createShadowLog(onDisagreement: (direction: ShadowDirection) => void): ShadowLog {
  let evaluated = 0;
  const counts: Record<ShadowDirection, number> = { would_allow: 0, would_deny: 0 };
  const recent: ShadowDisagreement[] = [];
  return {
    record(direction, request, now) {
      evaluated++;
      if (direction === undefined) return;
      counts[direction]++;
      onDisagreement(direction);
      // The resource is built from the caller's path, which may hold a token: kept as the audit record keeps it.
      recent.push({ time: new Date(now).toISOString(), direction, principal: request.principal, action: request.action, resource: withoutBearerToken(request.resource) });
      if (recent.length > RECENT) recent.shift();
    },
    summary(source) {
      return { enabled: source !== undefined, ...(source !== undefined ? { source } : {}), evaluated, disagreements: { ...counts }, recent: [...recent] };
    },
  };
}
