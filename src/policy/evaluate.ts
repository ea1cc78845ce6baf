// AWS's policy evaluation logic over compiled policies. The combining rule is `combine` below;
// the table in docs/policy-evaluation.md documents it step by step.
import type { CompiledPolicy, CompiledStatement } from './compile.js';
import { isCrossAccount } from './account.js';
import { IMPLICIT_DENY } from './decisions.js';
import { describePrincipal, isFederatedUser, MatchLevel, type PrincipalInfo } from './principal.js';
import type { AuthzRequest, Decision, NearMiss, RequestContext, StatementRef } from './types.js';

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
  /**
   * Resource control policies of the resource's organization levels, outermost first: only their
   * Deny statements decide (an RCP allows only as RCPFullAWSAccess does, which grants nothing).
   */
  readonly rcp?: readonly CompiledPolicy[];
  readonly session?: readonly CompiledPolicy[];
}

/**
 * One decision in progress: the request's facts, derived once and shared by every statement test,
 * and what scanning the policies found so far. One object per decision, of one shape.
 *
 * The fields are `declare`d and assigned in the constructor: ES2022 class fields compile to a
 * separate initializer that defines each property, which Node 20 runs as a call per decision;
 * plain assignments in the constructor build the object inline.
 */
class Evaluation {
  declare readonly action: string;
  declare readonly resource: string;
  declare readonly context: RequestContext;
  declare readonly principalArn: string;
  /** The principal has a permissions boundary: a Deny's NotPrincipal then spares no one. */
  declare readonly bounded: boolean;
  /** Derived on first use: only Principal elements (resource and trust policies) need it. */
  declare principal: PrincipalInfo | undefined;
  /** The first Deny that applied; `denies` lists every one once there is a second. */
  declare deny: CompiledStatement | undefined;
  declare denies: StatementRef[] | undefined;
  /** The first Allow that applied; `allows` lists every one once there is a second. */
  declare allow: CompiledStatement | undefined;
  declare allows: StatementRef[] | undefined;
  declare identityAllows: boolean;
  declare boundaryAllows: boolean;
  declare sessionAllows: boolean;
  declare scpLevelsAllowing: number;
  /** How strongly the resource policy's best matching Allow named the principal. */
  declare resourceLevel: MatchLevel;

  constructor(request: AuthzRequest, bounded: boolean) {
    this.action = request.action;
    this.resource = request.resource;
    this.context = request.context;
    this.principalArn = request.principal;
    this.bounded = bounded;
    this.principal = undefined;
    this.deny = undefined;
    this.denies = undefined;
    this.allow = undefined;
    this.allows = undefined;
    this.identityAllows = false;
    this.boundaryAllows = false;
    this.sessionAllows = false;
    this.scpLevelsAllowing = 0;
    this.resourceLevel = MatchLevel.None;
  }

  principalInfo(): PrincipalInfo {
    return (this.principal ??= describePrincipal(this.principalArn));
  }

  addDeny(s: CompiledStatement): void {
    if (this.deny === undefined) this.deny = s;
    else (this.denies ??= [this.deny.ref]).push(s.ref);
  }

  addAllow(s: CompiledStatement): void {
    if (this.allow === undefined) this.allow = s;
    else (this.allows ??= [this.allow.ref]).push(s.ref);
  }

  /** The explicit deny naming every Deny that applied; undefined when none did. */
  denied(): Decision | undefined {
    if (this.denies) return { decision: 'ExplicitDeny', matched: this.denies };
    return this.deny?.sole;
  }

  /** The allow naming every Allow that applied. Without one nothing granted, so it denies (unreachable). */
  allowed(): Decision {
    if (this.allows) return { decision: 'Allow', matched: this.allows };
    return this.allow?.sole ?? IMPLICIT_DENY.no_identity_allow;
  }
}

/** Whether a statement applies to the request, and through which principal match. */
function statementApplies(s: CompiledStatement, e: Evaluation): MatchLevel {
  if (!s.matchesResource(e.resource, e.context)) return MatchLevel.None;
  let level: MatchLevel = MatchLevel.Direct;
  if (s.principal) {
    level = s.principal(e.principalInfo());
    if (level === MatchLevel.None) return MatchLevel.None;
  } else if (s.excludes && !(s.deny && e.bounded) && s.excludes(e.principalInfo())) {
    // "NotPrincipal with Deny will always deny any IAM principal that has a permissions boundary
    // policy attached, regardless of the values specified" (IAM User Guide, NotPrincipal).
    return MatchLevel.None;
  }
  if (s.conditions && !s.conditions.test(e.context)) return MatchLevel.None;
  return level;
}

/**
 * Scans the statements of one policy that match the action; returns whether any Allow applied.
 * Every Deny is checked; once an Allow of this policy kind is known (`allowKnown`), further Allow
 * statements cannot change the decision and are skipped, so `matched` names the first grant.
 */
function scan(policy: CompiledPolicy, e: Evaluation, allowKnown = false): boolean {
  const list = policy.lookup(e.action);
  const resourcePolicy = policy.kind === 'resource';
  let allowed = allowKnown;
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as CompiledStatement;
    if (allowed && !s.deny && !resourcePolicy) continue;
    const level = statementApplies(s, e);
    if (level === MatchLevel.None) continue;
    if (s.deny) e.addDeny(s);
    else {
      e.addAllow(s);
      allowed = true;
      if (resourcePolicy && level > e.resourceLevel) e.resourceLevel = level;
    }
  }
  return allowed;
}

/**
 * Scans a resource control policy for the Deny statements that apply. Its Allow statements pass
 * everything through and grant nothing ("This AWS managed policy does not grant access"), so they
 * are neither allows nor near misses.
 */
function scanDenies(policy: CompiledPolicy, e: Evaluation): void {
  const list = policy.lookup(e.action);
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as CompiledStatement;
    if (s.deny && statementApplies(s, e) !== MatchLevel.None) e.addDeny(s);
  }
}

/**
 * The combining rule, as AWS documents it:
 * 1. an explicit Deny in any policy denies, resource control policies included (they only deny);
 * 2. every organization level must allow;
 * 3. for sts:AssumeRole*, and sts:TagSession, sts:SetSourceIdentity and sts:SetContext on a role,
 *    the trust policy must allow;
 * 4. same account: a resource policy naming the principal itself allows on its own; one naming the
 *    role (for a role session) stands in for the identity policy but boundary and session policies
 *    still limit it; one naming only the account delegates to identity policies;
 *    cross-account: both the identity side and the resource policy must allow;
 * 5. the identity side: some identity policy allows, the boundary (if any) allows, the session
 *    policies (if any) allow.
 */
function combine(set: PolicySet, e: Evaluation): Decision {
  const denied = e.denied();
  if (denied) return denied;
  if (set.scp && e.scpLevelsAllowing < set.scp.length) return IMPLICIT_DENY.scp_no_allow;
  const level = e.resourceLevel;
  const trustGoverned = governedByTrust(e.action, e.resource);
  if (trustGoverned && level === MatchLevel.None) return IMPLICIT_DENY.trust_policy_no_allow;
  // Nothing on the identity side and no resource policy naming the role or the principal: no
  // account question can turn this into an allow, so it is not asked.
  if (!e.identityAllows && level < MatchLevel.Role) return IMPLICIT_DENY.no_identity_allow;
  // Whatever allowed matched the resource, so its Resource element may already say the account.
  const crossAccount = isCrossAccount(e.resource, e.principalArn, e.allow?.resourceAccount);
  // A trust policy naming the caller stands in for the identity policy, but the caller's
  // permissions boundary still has to allow sts:AssumeRole.
  if (!crossAccount && !trustGoverned && level === MatchLevel.Direct) return e.allowed();
  const resourceGrants = !crossAccount && level >= MatchLevel.Role;
  if (!e.identityAllows && !resourceGrants) return IMPLICIT_DENY.no_identity_allow;
  if (set.boundary && !e.boundaryAllows) return IMPLICIT_DENY.boundary_no_allow;
  // A federated user session (GetFederationToken) without session policies has no permissions.
  const sessions = set.session?.length ?? 0;
  if ((sessions > 0 || isFederatedUser(e.principalArn)) && !e.sessionAllows) return IMPLICIT_DENY.session_no_allow;
  if (crossAccount && level === MatchLevel.None) return IMPLICIT_DENY.no_resource_allow;
  return e.allowed();
}

const ASSUME_ROLE_PREFIX = 'sts:assumerole';
const STS_PREFIX = 'sts:';
/** The other actions a role's trust policy governs (IAM User Guide, "Passing session tags in AWS STS", "Monitor and control actions taken with assumed roles"). */
const TRUST_ACTIONS: ReadonlySet<string> = new Set(['sts:tagsession', 'sts:setsourceidentity', 'sts:setcontext']);

/**
 * Whether the trust policy must allow the action: every `sts:AssumeRole*`, and the actions that
 * come with assuming a role (session tags, source identity, context) when the resource is a role.
 * Only `sts:` actions pay for more than one prefix test.
 */
function governedByTrust(action: string, resource: string): boolean {
  if (!startsWithIgnoreCase(action, STS_PREFIX)) return false;
  return startsWithIgnoreCase(action, ASSUME_ROLE_PREFIX) || (TRUST_ACTIONS.has(action.toLowerCase()) && isRoleArn(resource));
}

/** `arn:PARTITION:iam::ACCOUNT:role/...`: a role, whose resource policy is its trust policy. */
function isRoleArn(arn: string): boolean {
  const parts = arn.split(':', 6);
  return parts.length === 6 && parts[0] === 'arn' && parts[2] === 'iam' && parts[3] === '' && parts[5]!.startsWith('role/');
}

/** ASCII case-insensitive prefix test without building a lower-cased copy. */
function startsWithIgnoreCase(s: string, lowerPrefix: string): boolean {
  if (s.length < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

/** Adds a policy's near misses to `out`: Allow statements that matched all but their conditions. */
function missesOf(policy: CompiledPolicy | undefined, e: Evaluation, out: NearMiss[] | undefined): NearMiss[] | undefined {
  if (!policy?.conditionalAllows) return out;
  for (const s of policy.lookup(e.action)) {
    if (s.deny || !s.conditions || !s.matchesResource(e.resource, e.context)) continue;
    if (s.principal && s.principal(e.principalInfo()) === MatchLevel.None) continue;
    if (s.excludes && s.excludes(e.principalInfo())) continue;
    const failed = s.conditions.explain(e.context);
    if (failed.length > 0) (out ??= []).push({ statement: s.ref, failed });
  }
  return out;
}

/** Allow statements that matched action, resource and principal but failed on conditions: what came closest. */
function nearMisses(set: PolicySet, e: Evaluation): NearMiss[] | undefined {
  let out: NearMiss[] | undefined;
  for (const p of set.identity) out = missesOf(p, e, out);
  out = missesOf(set.boundary, e, out);
  out = missesOf(set.resource, e, out);
  if (set.scp) for (const p of set.scp) out = missesOf(p, e, out);
  if (set.session) for (const p of set.session) out = missesOf(p, e, out);
  return out;
}

/** Decides a request against a policy set the way AWS IAM does; never throws for a well-formed set. */
export function evaluate(set: PolicySet, request: AuthzRequest): Decision {
  const e = new Evaluation(request, set.boundary !== undefined);
  if (set.identityIndex) {
    if (scan(set.identityIndex, e)) e.identityAllows = true;
  } else {
    for (let i = 0; i < set.identity.length; i++) {
      if (scan(set.identity[i] as CompiledPolicy, e, e.identityAllows)) e.identityAllows = true;
    }
  }
  if (set.boundary && scan(set.boundary, e)) e.boundaryAllows = true;
  if (set.resource) scan(set.resource, e);
  if (set.scp) for (const p of set.scp) if (scan(p, e)) e.scpLevelsAllowing++;
  if (set.rcp) for (const p of set.rcp) scanDenies(p, e);
  if (set.session) {
    for (const p of set.session) if (scan(p, e, e.sessionAllows)) e.sessionAllows = true;
  }

  const decision = combine(set, e);
  if (decision.decision !== 'ImplicitDeny') return decision;
  const misses = nearMisses(set, e);
  return misses ? { ...decision, nearMisses: misses } : decision;
}

/** Lower-case context keys that any policy of the set can read: what a decision cache key must cover. */
export function policySetKeys(set: PolicySet): ReadonlySet<string> {
  const keys = new Set<string>();
  const policies = [...set.identity, set.boundary, set.resource, ...(set.scp ?? []), ...(set.rcp ?? []), ...(set.session ?? [])];
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
