// Whether a caller may assume a role, decided by the policy engine with the role's trust policy as
// the resource policy, in one evaluation, as the IAM User Guide describes it for the same account:
// a trust policy naming the caller itself grants without an identity Allow, one naming only the
// account delegates to the caller's identity policies; the caller's Deny, boundary and session
// policies apply either way. MFA conditions read the caller's context, or the fact that a valid
// TOTP code came with the request.
import { compilePolicy, createContext, evaluate, REQUEST_KEYS, type AuthzRequest, type ContextValue, type Decision, type PolicySet, type RequestContext } from '../policy/index.js';
import { isoSeconds, type DirectoryRole, type Principal, type WebIdentityFacts } from '../identity/index.js';

export type TrustDenial = 'trust_policy_denied' | 'caller_not_allowed';

export type TrustOutcome = { readonly ok: true } | { readonly ok: false; readonly code: TrustDenial; readonly decision: Decision };

/**
 * `aws:CurrentTime` and `aws:EpochTime` at `now`, for a decision made without a request; a call's
 * own keys (`extra` below), written from the request, come after these and so replace them.
 */
export function timeKeys(now: number): Record<string, ContextValue> {
  return { [REQUEST_KEYS.currentTime]: isoSeconds(now), [REQUEST_KEYS.epochTime]: Math.floor(now / 1000) };
}

/**
 * What decides an `sts:` action on a directory role: the caller's policy set with the role's trust
 * policy as its resource policy. The one place the STS endpoint and offline decisions (`iamgate
 * test`, replay) build it, so they cannot disagree.
 */
export function onRole(set: PolicySet, role: TrustingRole): PolicySet {
  return { ...set, resource: role.trust.compiled };
}

/** What deciding an `sts:` action on a role reads of it: its ARN and its compiled trust policy. */
export type TrustingRole = Pick<DirectoryRole, 'arn'> & { readonly trust: Pick<DirectoryRole['trust'], 'compiled'> };

/** The trust policy of a role that does not exist: it trusts no one. */
const TRUSTS_NO_ONE = compilePolicy({ version: '2012-10-17', statements: [] }, 'no such role', 'resource');

/**
 * A role for `arn`, which names no role of the directory, that trusts no one: an STS call on it is
 * decided through the decisions a call on a role that does not trust the caller takes, so that its
 * answer, and the time it takes, cannot tell the two apart.
 */
export function noSuchRole(arn: string): TrustingRole {
  return { arn, trust: { compiled: TRUSTS_NO_ONE } };
}

/** The decision on an `sts:` action on a directory role (`onRole`). */
function decideOnRole(set: PolicySet, role: TrustingRole, request: AuthzRequest): Decision {
  return evaluate(onRole(set, role), request);
}

/**
 * Whether `caller` can present a second factor with an STS call (`TokenCode`): only a user, whose
 * device it is. A role session's MFA is the one its session started with, for its whole life, so
 * telling it `mfa_required` would ask for what it cannot give.
 */
export function canPresentMfa(caller: Pick<Principal, 'type'>): boolean {
  return caller.type === 'User';
}

/**
 * The context an AssumeRole call is decided in: the caller's keys, the time keys at `now`, then the
 * call's own (`extra`: where it came from, its MFA, tags and source identity).
 */
export function assumeRoleContext(caller: Principal, extra: Readonly<Record<string, ContextValue>>, now: number): RequestContext {
  return createContext({ ...caller.context, ...timeKeys(now), ...extra });
}

/**
 * AssumeRole (and sts:TagSession, sts:SetSourceIdentity alongside it), in the call's `context`
 * (`assumeRoleContext`): the trust policy must allow the caller. When it
 * names the caller itself (user ARN, session ARN, or the role of a calling session) that is enough
 * on the identity side, as the AssumeRole API reference says ("When a resource-based policy grants
 * access to a principal in the same account, no additional identity-based policy is required");
 * when it names only the account, the caller's own policies must allow too.
 */
export function assumeRoleAllowed(
  caller: Principal,
  role: TrustingRole,
  context: RequestContext,
  action: 'sts:AssumeRole' | 'sts:TagSession' | 'sts:SetSourceIdentity' = 'sts:AssumeRole',
): TrustOutcome {
  const request = { principal: caller.arn, action, resource: role.arn, context };
  const decision = decideOnRole(caller.policySet, role, request);
  if (decision.decision === 'Allow') return { ok: true };
  const byTrust = decision.implicitReason === 'trust_policy_no_allow' || decision.matched.some((m) => m.kind === 'resource');
  return { ok: false, code: byTrust ? 'trust_policy_denied' : 'caller_not_allowed', decision };
}

/**
 * AssumeRoleWithWebIdentity (and sts:TagSession, sts:SetSourceIdentity alongside it): the trust policy alone decides, for
 * the provider and the token's sub/aud; `extra` are the call's own keys (aws:SourceIp, the request
 * tags, ...) when there is a call.
 */
export function webIdentityAllowed(
  role: TrustingRole,
  wi: WebIdentityFacts,
  now: number,
  extra: Readonly<Record<string, ContextValue>> = {},
  action: 'sts:AssumeRoleWithWebIdentity' | 'sts:TagSession' | 'sts:SetSourceIdentity' = 'sts:AssumeRoleWithWebIdentity',
): TrustOutcome {
  const decision = decideOnRole(
    { identity: [] },
    role,
    {
      principal: wi.provider,
      action,
      resource: role.arn,
      context: createContext({
        ...timeKeys(now),
        ...extra,
        'aws:FederatedProvider': wi.provider,
        [`${wi.keyPrefix}:sub`]: wi.sub,
        [`${wi.keyPrefix}:aud`]: typeof wi.aud === 'string' ? wi.aud : [...wi.aud],
      }),
    },
  );
  return decision.decision === 'Allow' ? { ok: true } : { ok: false, code: 'trust_policy_denied', decision };
}
