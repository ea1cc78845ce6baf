// Audit events for decisions made outside the request pipeline that the trail itself makes: policy
// loads. (Other producers, such as the STS endpoints in src/auth/, build their events themselves.)
import type { AuditEventInput } from './schema.js';

/** The audit event for a policy load: `Allow` when the new policies were taken (with their generation), `Deny` when refused. */
export function policyLoadEvent(ok: boolean, generation: number | undefined): AuditEventInput {
  return {
    kind: 'policy_reload',
    action: 'iamgate:LoadPolicies',
    decision: ok ? 'Allow' : 'Deny',
    reason: ok ? 'policies_loaded' : 'policies_invalid',
    ...(generation !== undefined ? { policyGeneration: generation } : {}),
  };
}
