// Turns a decision value into sentences a policy author can act on.
import type { ConditionFailure, Decision, StatementRef } from './types.js';

/** Names a statement the way simulate and the audit trail do: `policy:Sid` or `policy:Statement[i]`. */
export function statementLabel(ref: StatementRef): string {
  return `${ref.policy}:${ref.sid ?? `Statement[${ref.index}]`}`;
}

const FAILURES: Readonly<Record<ConditionFailure['why'], string>> = {
  missing: 'key missing',
  mismatch: 'value does not match',
  unreadable: 'value the operator cannot read',
};

const IMPLICIT_REASONS = {
  no_identity_allow: 'no identity-based policy allows the action on the resource',
  no_resource_allow: 'cross-account request: the resource-based policy does not allow the caller',
  scp_no_allow: 'an organization guardrail (SCP) level does not allow the action',
  boundary_no_allow: 'the permissions boundary does not allow the action',
  session_no_allow: 'the session policy does not allow the action',
  trust_policy_no_allow: "the role's trust policy does not trust the caller",
} as const;

/** Explains a decision: which statements decided it, or why nothing allowed and what came closest. */
export function explainDecision(decision: Decision): string[] {
  switch (decision.decision) {
    case 'Allow':
      return [`Allowed by ${decision.matched.map(statementLabel).join(', ')}`];
    case 'ExplicitDeny':
      return [`Explicitly denied by ${decision.matched.map(statementLabel).join(', ')}`];
    case 'ImplicitDeny': {
      const lines = [
        `Implicitly denied: ${decision.implicitReason ? IMPLICIT_REASONS[decision.implicitReason] : 'nothing allows it'}`,
      ];
      for (const miss of decision.nearMisses ?? []) {
        const why = miss.failed.map((f) => `${f.path} (${FAILURES[f.why]})`);
        lines.push(`Closest: ${statementLabel(miss.statement)} failed on ${why.join('; ')}`);
      }
      return lines;
    }
  }
}
