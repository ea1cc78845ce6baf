// Decision values built once and shared: most decisions are decided by one statement (the first
// grant, or the one Deny that matched) or by no statement at all, so their values are made when a
// policy is compiled and a decision only picks one. Shared values are frozen: a decision handed to
// the cache or the audit trail can never be changed by the next request.
import type { Decision, ImplicitDenyReason, StatementRef } from './types.js';

/** The decision one statement makes on its own: Allow for an Allow statement, ExplicitDeny for a Deny. */
export function soleDecision(ref: StatementRef): Decision {
  const matched: readonly StatementRef[] = Object.freeze([ref]);
  return Object.freeze({ decision: ref.effect === 'Deny' ? 'ExplicitDeny' : 'Allow', matched });
}

const NONE: readonly StatementRef[] = Object.freeze([]);

function implicit(reason: ImplicitDenyReason): Decision {
  return Object.freeze({ decision: 'ImplicitDeny', matched: NONE, implicitReason: reason });
}

/** The implicit denies, one value per reason. */
export const IMPLICIT_DENY: Readonly<Record<ImplicitDenyReason, Decision>> = Object.freeze({
  no_identity_allow: implicit('no_identity_allow'),
  no_resource_allow: implicit('no_resource_allow'),
  scp_no_allow: implicit('scp_no_allow'),
  boundary_no_allow: implicit('boundary_no_allow'),
  session_no_allow: implicit('session_no_allow'),
  trust_policy_no_allow: implicit('trust_policy_no_allow'),
});
