// AWS's policy evaluation logic over compiled policies. The combining rule is `combine` below;
// the table in docs/policy-evaluation.md documents it step by step.
import type { CompiledPolicy, CompiledStatement } from './compile.js';
import { describePrincipal, MatchLevel, type PrincipalInfo } from './principal.js';
import type {
  AuthzRequest,
  Decision,
  ImplicitDenyReason,
  NearMiss,
  RequestContext,
  StatementRef,
} from './types.js';

/** Every policy that applies to one request, by where it sits in the evaluation logic. */
export interface PolicySet {
  readonly identity: readonly CompiledPolicy[];
  /**
   * The identity policies merged into one index (`mergePolicies`), decided on instead of scanning
   * `identity` one by one when present; `identity` still names each policy for reports.
   */
  readonly identityIndex?: CompiledPolicy;
  readonly boundary?: CompiledPolicy;
  /** The resource-based policy; for `sts:AssumeRole*`, the role's trust policy. */
  readonly resource?: CompiledPolicy;
  /** Organization guardrail levels, outermost first; each level must allow. */
  readonly scp?: readonly CompiledPolicy[];
  readonly session?: readonly CompiledPolicy[];
}

/**
 * What scanning the policies found, accumulated in one object per decision: the statements that
 * matched, and which required policy types allowed.
 */
interface Tally {
  denies: StatementRef[] | undefined;
  allows: StatementRef[] | undefined;
  identityAllows: boolean;
  boundaryAllows: boolean;
  sessionAllows: boolean;
  scpLevelsAllowing: number;
  /** How strongly the resource policy's best matching Allow named the principal. */
  resourceLevel: MatchLevel;
}

/** Per-request values derived once and shared by every statement test. */
interface Probe {
  readonly action: string;
  readonly resource: string;
  readonly context: RequestContext;
  readonly principalArn: string;
  /** Derived on first use: only Principal elements (resource and trust policies) need it. */
  principal: PrincipalInfo | undefined;
}

function principalOf(probe: Probe): PrincipalInfo {
  return (probe.principal ??= describePrincipal(probe.principalArn));
}

/** Whether a statement applies to the request, and through which principal match. */
function statementApplies(s: CompiledStatement, probe: Probe): MatchLevel {
  if (!s.matchesResource(probe.resource, probe.context)) return MatchLevel.None;
  let level: MatchLevel = MatchLevel.Direct;
  if (s.principal) {
    level = s.principal(principalOf(probe));
    if (level === MatchLevel.None) return MatchLevel.None;
  } else if (s.excludes && s.excludes(principalOf(probe))) {
    return MatchLevel.None;
  }
  if (s.conditions && !s.conditions.test(probe.context)) return MatchLevel.None;
  return level;
}

/**
 * Scans the statements of one policy that match the action; returns whether any Allow applied.
 * Every Deny is checked; once an Allow of this policy kind is known (`allowKnown`), further Allow
 * statements cannot change the decision and are skipped, so `matched` names the first grant.
 */
function scan(policy: CompiledPolicy, probe: Probe, tally: Tally, allowKnown = false): boolean {
  const list = policy.lookup(probe.action);
  let allowed = allowKnown;
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as CompiledStatement;
    if (allowed && !s.deny && policy.kind !== 'resource') continue;
    const level = statementApplies(s, probe);
    if (level === MatchLevel.None) continue;
    if (s.deny) {
      (tally.denies ??= []).push(s.ref);
    } else {
      (tally.allows ??= []).push(s.ref);
      allowed = true;
      if (s.ref.kind === 'resource' && level > tally.resourceLevel) tally.resourceLevel = level;
    }
  }
  return allowed;
}

function implicit(reason: ImplicitDenyReason): Decision {
  return { decision: 'ImplicitDeny', matched: [], implicitReason: reason };
}

/**
 * The combining rule, as AWS documents it:
 * 1. an explicit Deny in any policy denies;
 * 2. every organization level must allow;
 * 3. for sts:AssumeRole*, the trust policy must allow;
 * 4. same account: a resource policy naming the principal itself allows on its own; one naming the
 *    role (for a role session) stands in for the identity policy but boundary and session policies
 *    still limit it; one naming only the account delegates to identity policies;
 *    cross-account: both the identity side and the resource policy must allow;
 * 5. the identity side: some identity policy allows, the boundary (if any) allows, the session
 *    policies (if any) allow.
 */
function combine(set: PolicySet, t: Tally, probe: Probe, crossAccount: boolean, assumeRole: boolean): Decision {
  if (t.denies) return { decision: 'ExplicitDeny', matched: t.denies };
  if (set.scp && t.scpLevelsAllowing < set.scp.length) return implicit('scp_no_allow');
  const level = t.resourceLevel;
  if (assumeRole && level === MatchLevel.None) return implicit('trust_policy_no_allow');
  // A trust policy naming the caller stands in for the identity policy, but the caller's
  // permissions boundary still has to allow sts:AssumeRole.
  if (!crossAccount && !assumeRole && level === MatchLevel.Direct) {
    return { decision: 'Allow', matched: t.allows ?? [] };
  }
  const resourceGrants = !crossAccount && level >= MatchLevel.Role;
  if (!t.identityAllows && !resourceGrants) return implicit('no_identity_allow');
  if (set.boundary && !t.boundaryAllows) return implicit('boundary_no_allow');
  // A federated user session (GetFederationToken) without session policies has no permissions.
  const sessions = set.session?.length ?? 0;
  if ((sessions > 0 || principalOf(probe).federatedUser) && !t.sessionAllows) return implicit('session_no_allow');
  if (crossAccount && level === MatchLevel.None) return implicit('no_resource_allow');
  return { decision: 'Allow', matched: t.allows ?? [] };
}

const ASSUME_ROLE_PREFIX = 'sts:assumerole';

/** ASCII case-insensitive prefix test without building a lower-cased copy. */
function startsWithIgnoreCase(s: string, lowerPrefix: string): boolean {
  if (s.length < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

/** Where the account field of an ARN starts (after the fourth colon), or -1 when it is not an ARN. */
function accountStart(arn: string): number {
  if (!arn.startsWith('arn:')) return -1;
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
 * (account `aws`, e.g. `arn:aws:iam::aws:policy/...`) belong to no other account. Compared in place.
 */
function isCrossAccount(resource: string, principal: string): boolean {
  const p = accountStart(principal);
  if (p < 0) return false;
  const pEnd = accountEnd(principal, p);
  if (pEnd === p) return false;
  const r = accountStart(resource);
  if (r < 0) return false;
  const rEnd = accountEnd(resource, r);
  if (rEnd === r) return false;
  if (rEnd - r === 3 && resource.startsWith('aws', r)) return false;
  if (rEnd - r !== pEnd - p) return true;
  for (let i = 0; i < pEnd - p; i++) if (resource.charCodeAt(r + i) !== principal.charCodeAt(p + i)) return true;
  return false;
}

function probeFor(request: AuthzRequest): Probe {
  return {
    action: request.action,
    resource: request.resource,
    context: request.context,
    principalArn: request.principal,
    principal: undefined,
  };
}

/** Allow statements that matched action, resource and principal but failed on conditions: what came closest. */
function nearMisses(set: PolicySet, probe: Probe): NearMiss[] {
  const policies = [...set.identity, set.boundary, set.resource, ...(set.scp ?? []), ...(set.session ?? [])];
  const out: NearMiss[] = [];
  for (const policy of policies) {
    if (!policy) continue;
    for (const s of policy.lookup(probe.action)) {
      if (s.deny || !s.conditions || !s.matchesResource(probe.resource, probe.context)) continue;
      if (s.principal && s.principal(principalOf(probe)) === MatchLevel.None) continue;
      if (s.excludes && s.excludes(principalOf(probe))) continue;
      const failed = s.conditions.explain(probe.context);
      if (failed.length > 0) out.push({ statement: s.ref, failed });
    }
  }
  return out;
}

/** Decides a request against a policy set the way AWS IAM does; never throws for a well-formed set. */
export function evaluate(set: PolicySet, request: AuthzRequest): Decision {
  const probe = probeFor(request);
  const tally: Tally = {
    denies: undefined,
    allows: undefined,
    identityAllows: false,
    boundaryAllows: false,
    sessionAllows: false,
    scpLevelsAllowing: 0,
    resourceLevel: MatchLevel.None,
  };
  if (set.identityIndex) {
    if (scan(set.identityIndex, probe, tally)) tally.identityAllows = true;
  } else {
    for (let i = 0; i < set.identity.length; i++) {
      if (scan(set.identity[i] as CompiledPolicy, probe, tally, tally.identityAllows)) tally.identityAllows = true;
    }
  }
  if (set.boundary && scan(set.boundary, probe, tally)) tally.boundaryAllows = true;
  if (set.resource) scan(set.resource, probe, tally);
  if (set.scp) for (const p of set.scp) if (scan(p, probe, tally)) tally.scpLevelsAllowing++;
  if (set.session) {
    for (const p of set.session) if (scan(p, probe, tally, tally.sessionAllows)) tally.sessionAllows = true;
  }

  const crossAccount = isCrossAccount(request.resource, request.principal);
  const assumeRole = startsWithIgnoreCase(request.action, ASSUME_ROLE_PREFIX);
  const decision = combine(set, tally, probe, crossAccount, assumeRole);
  if (decision.decision !== 'ImplicitDeny') return decision;
  const misses = nearMisses(set, probe);
  return misses.length > 0 ? { ...decision, nearMisses: misses } : decision;
}

/** Lower-case context keys that any policy of the set can read: what a decision cache key must cover. */
export function policySetKeys(set: PolicySet): ReadonlySet<string> {
  const keys = new Set<string>();
  const policies = [...set.identity, set.boundary, set.resource, ...(set.scp ?? []), ...(set.session ?? [])];
  for (const p of policies) if (p) for (const k of p.keys) keys.add(k);
  return keys;
}

/**
 * Returns `policySetKeys` memoised per policy set object: policy sets are immutable and reused for
 * every request of a principal, so their keys are computed once. One memo per caller (no module state).
 */
export function createPolicySetKeysMemo(): (set: PolicySet) => ReadonlySet<string> {
  const bySet = new WeakMap<PolicySet, ReadonlySet<string>>();
  return (set) => {
    let keys = bySet.get(set);
    if (!keys) {
      keys = policySetKeys(set);
      bySet.set(set, keys);
    }
    return keys;
  };
}
