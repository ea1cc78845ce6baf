// Whether a caller may assume a role, decided by the policy engine: the role's trust policy as the
// resource policy, and (for AssumeRole) the caller's own policies, which must allow sts:AssumeRole
// on the role by themselves as well. MFA conditions read the caller's context, or the fact that a
// valid TOTP code came with the request.
import { compilePolicy, createContext, evaluate, parsePolicy, REQUEST_KEYS, type CompiledPolicy, type ContextValue, type Decision } from '../policy/index.js';
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
 * A stand-in trust policy that trusts the whole account, so that an evaluation with it decides by
 * the caller's own policies alone (identity, boundary, session), as AWS does when a trust policy
 * names only the account.
 */
export function accountTrust(partition: string, account: string): CompiledPolicy {
  const doc = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'sts:*' }],
  };
  const { policy } = parsePolicy(doc, { kind: 'resource' });
  if (!policy) throw new TypeError('the account trust stand-in does not parse');
  return compilePolicy(policy, 'iamgate/CallerPolicies', 'resource');
}

/**
 * AssumeRole (and sts:TagSession alongside it): the trust policy must trust the caller, and the
 * caller's policies must allow the action on the role by themselves, even when the trust policy
 * names the caller directly. `callerSide` is accountTrust() for the directory's account.
 */
export function assumeRoleAllowed(
  caller: Principal,
  role: DirectoryRole,
  extra: Readonly<Record<string, ContextValue>>,
  now: number,
  callerSide: CompiledPolicy,
  action: 'sts:AssumeRole' | 'sts:TagSession' = 'sts:AssumeRole',
): TrustOutcome {
  const request = {
    principal: caller.arn,
    action,
    resource: role.arn,
    context: createContext({ ...caller.context, ...timeKeys(now), ...extra }),
  };
  const withTrust = evaluate({ ...caller.policySet, resource: role.trust.compiled }, request);
  if (withTrust.decision !== 'Allow') {
    const byTrust =
      withTrust.implicitReason === 'trust_policy_no_allow' || withTrust.matched.some((m) => m.kind === 'resource');
    return { ok: false, code: byTrust ? 'trust_policy_denied' : 'caller_not_allowed', decision: withTrust };
  }
  const own = evaluate({ ...caller.policySet, resource: callerSide }, request);
  if (own.decision !== 'Allow') return { ok: false, code: 'caller_not_allowed', decision: own };
  return { ok: true };
}

/**
 * AssumeRoleWithWebIdentity (and sts:TagSession alongside it): the trust policy alone decides, for
 * the provider and the token's sub/aud; `extra` are the call's own keys (aws:SourceIp, the request
 * tags, ...) when there is a call.
 */
export function webIdentityAllowed(
  role: DirectoryRole,
  wi: WebIdentityFacts,
  now: number,
  extra: Readonly<Record<string, ContextValue>> = {},
  action: 'sts:AssumeRoleWithWebIdentity' | 'sts:TagSession' = 'sts:AssumeRoleWithWebIdentity',
): TrustOutcome {
  const decision = evaluate(
    { identity: [], resource: role.trust.compiled },
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
