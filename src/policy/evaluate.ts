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
  readonly boundary?: CompiledPolicy;
  /** The resource-based policy; for `sts:AssumeRole*`, the role's trust policy. */
  readonly resource?: CompiledPolicy;
  /** Organization guardrail levels, outermost first; each level must allow. */
  readonly scp?: readonly CompiledPolicy[];
  readonly session?: readonly CompiledPolicy[];
}

/** The outcome of scanning one policy: matching Deny and Allow statements. */
interface Hits {
  denies: StatementRef[] | undefined;
  allows: StatementRef[] | undefined;
  /** For a resource policy, how strongly the best matching Allow named the principal. */
  level: MatchLevel;
}

/** Per-request values derived once and shared by every statement test. */
interface Probe {
  readonly actionLower: string;
  readonly service: string;
  readonly resource: string;
  readonly context: RequestContext;
  readonly principal: PrincipalInfo;
}

function statementApplies(s: CompiledStatement, probe: Probe, checkAction: boolean): MatchLevel {
  if (checkAction && !s.matchesAction(probe.actionLower)) return MatchLevel.None;
  if (!s.matchesResource(probe.resource, probe.context)) return MatchLevel.None;
  let level: MatchLevel = MatchLevel.Direct;
  if (s.principal) {
    const m = s.principal(probe.principal);
    if (s.notPrincipal) {
      // NotPrincipal exempts only the principals it names exactly: naming the account or the role
      // does not exempt the account's users or the role's other sessions, as AWS documents.
      if (m === MatchLevel.Direct) return MatchLevel.None;
    } else {
      if (m === MatchLevel.None) return MatchLevel.None;
      level = m;
    }
  }
  if (s.conditions && !s.conditions.test(probe.context)) return MatchLevel.None;
  return level;
}

function record(hits: Hits, s: CompiledStatement, level: MatchLevel): void {
  if (s.deny) {
    (hits.denies ??= []).push(s.ref);
  } else {
    (hits.allows ??= []).push(s.ref);
    if (level > hits.level) hits.level = level;
  }
}

function visit(list: readonly CompiledStatement[], probe: Probe, hits: Hits, checkAction: boolean): void {
  for (const s of list) {
    const level = statementApplies(s, probe, checkAction);
    if (level !== MatchLevel.None) record(hits, s, level);
  }
}

/** Scans one policy, visiting only statements indexed under the request's action. */
function scan(policy: CompiledPolicy, probe: Probe): Hits {
  const hits: Hits = { denies: undefined, allows: undefined, level: MatchLevel.None };
  const bucket = policy.byService.get(probe.service);
  if (bucket) {
    const exact = bucket.exact.get(probe.actionLower);
    if (exact) visit(exact, probe, hits, false);
    visit(bucket.wild, probe, hits, true);
  }
  visit(policy.anyService, probe, hits, true);
  return hits;
}

function allowed(hits: Hits): boolean {
  return hits.allows !== undefined;
}

function implicit(reason: ImplicitDenyReason): Decision {
  return { decision: 'ImplicitDeny', matched: [], implicitReason: reason };
}

/** What is known after scanning every policy, ready for the combining rule. */
interface Scanned {
  readonly identity: Hits[];
  readonly boundary: Hits | undefined;
  readonly resource: Hits | undefined;
  readonly scp: Hits[];
  readonly session: Hits[];
}

function collect(hits: readonly (Hits | undefined)[], pick: (h: Hits) => StatementRef[] | undefined): StatementRef[] {
  const out: StatementRef[] = [];
  for (const h of hits) {
    const refs = h && pick(h);
    if (refs) out.push(...refs);
  }
  return out;
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
function combine(s: Scanned, crossAccount: boolean, assumeRole: boolean, federatedUser: boolean): Decision {
  const all = [...s.identity, s.boundary, s.resource, ...s.scp, ...s.session];
  const denies = collect(all, (h) => h.denies);
  if (denies.length > 0) return { decision: 'ExplicitDeny', matched: denies };

  if (!s.scp.every(allowed)) return implicit('scp_no_allow');
  const scpRefs = collect(s.scp, (h) => h.allows);

  const resourceLevel = s.resource?.level ?? MatchLevel.None;
  if (assumeRole && resourceLevel === MatchLevel.None) return implicit('trust_policy_no_allow');
  const resourceRefs = s.resource?.allows ?? [];

  // A trust policy naming the caller stands in for the identity policy, but the caller's
  // permissions boundary still has to allow sts:AssumeRole.
  if (!crossAccount && !assumeRole && resourceLevel === MatchLevel.Direct) {
    return { decision: 'Allow', matched: [...resourceRefs, ...scpRefs] };
  }

  const identityAllows = s.identity.some(allowed);
  const resourceGrantsRole = !crossAccount && resourceLevel >= MatchLevel.Role;
  if (!identityAllows && !resourceGrantsRole) {
    return implicit('no_identity_allow');
  }
  if (s.boundary && !allowed(s.boundary)) return implicit('boundary_no_allow');
  // A federated user session (GetFederationToken) without session policies has no permissions.
  if ((s.session.length > 0 || federatedUser) && !s.session.some(allowed)) return implicit('session_no_allow');
  if (crossAccount && resourceLevel === MatchLevel.None) return implicit('no_resource_allow');

  const matched = [
    ...collect(s.identity, (h) => h.allows),
    ...resourceRefs,
    ...(s.boundary?.allows ?? []),
    ...collect(s.session, (h) => h.allows),
    ...scpRefs,
  ];
  return { decision: 'Allow', matched };
}

const ASSUME_ROLE_PREFIX = 'sts:assumerole';

/** The account that owns a resource: its ARN's account field, else the principal's. */
function resourceAccount(resource: string, principal: PrincipalInfo): string {
  // arn:partition:service:region:account:resource
  let at = 0;
  for (let i = 0; i < 4; i++) {
    at = resource.indexOf(':', at) + 1;
    if (at === 0) return principal.account;
  }
  const end = resource.indexOf(':', at);
  if (end < 0 || !resource.startsWith('arn:')) return principal.account;
  const account = resource.slice(at, end);
  return account === '' ? principal.account : account;
}

function probeFor(request: AuthzRequest): Probe {
  const actionLower = request.action.toLowerCase();
  const colon = actionLower.indexOf(':');
  return {
    actionLower,
    service: colon < 0 ? actionLower : actionLower.slice(0, colon),
    resource: request.resource,
    context: request.context,
    principal: describePrincipal(request.principal),
  };
}

/** Statements that matched action, resource and principal but failed on conditions: what came closest. */
function nearMisses(set: PolicySet, probe: Probe): NearMiss[] {
  const policies = [...set.identity, set.boundary, set.resource, ...(set.scp ?? []), ...(set.session ?? [])];
  const out: NearMiss[] = [];
  for (const policy of policies) {
    if (!policy) continue;
    for (const s of policy.statements) {
      if (s.deny || !s.conditions || !s.matchesAction(probe.actionLower)) continue;
      if (!s.matchesResource(probe.resource, probe.context)) continue;
      if (s.principal) {
        const m = s.principal(probe.principal);
        if (s.notPrincipal ? m === MatchLevel.Direct : m === MatchLevel.None) continue;
      }
      const failed = s.conditions.explain(probe.context);
      if (failed.length > 0) out.push({ statement: s.ref, failed });
    }
  }
  return out;
}

/** Decides a request against a policy set the way AWS IAM does; never throws for a well-formed set. */
export function evaluate(set: PolicySet, request: AuthzRequest): Decision {
  const probe = probeFor(request);
  const scanned: Scanned = {
    identity: set.identity.map((p) => scan(p, probe)),
    boundary: set.boundary && scan(set.boundary, probe),
    resource: set.resource && scan(set.resource, probe),
    scp: (set.scp ?? []).map((p) => scan(p, probe)),
    session: (set.session ?? []).map((p) => scan(p, probe)),
  };
  const crossAccount =
    probe.principal.account !== '' && resourceAccount(request.resource, probe.principal) !== probe.principal.account;
  const assumeRole = probe.actionLower.startsWith(ASSUME_ROLE_PREFIX);
  const decision = combine(scanned, crossAccount, assumeRole, probe.principal.federatedUser);
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
