// Audit events for decisions made outside the request pipeline: the STS-style endpoints (token
// issuing, MFA enrolment, session revocation) and policy loads. Built from named fields only.
import type { StsAction, StsEvent } from '../auth/sts/operations.js';
import type { AuditEventInput, DecisionKind } from './schema.js';

const STS_KINDS: Readonly<Record<StsAction, { kind: DecisionKind; action: string }>> = {
  GetSessionToken: { kind: 'sts', action: 'sts:GetSessionToken' },
  AssumeRole: { kind: 'sts', action: 'sts:AssumeRole' },
  AssumeRoleWithWebIdentity: { kind: 'sts', action: 'sts:AssumeRoleWithWebIdentity' },
  EnrollMfa: { kind: 'mfa', action: 'iamgate:EnrollMfa' },
  ConfirmMfa: { kind: 'mfa', action: 'iamgate:ConfirmMfa' },
  RevokeSessions: { kind: 'revocation', action: 'iamgate:RevokeSessions' },
};

/** The principal type an ARN names (`user`, `assumed-role`, `role`), as the gateway records it. */
function principalType(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  const type = resource.split('/')[0] ?? '';
  return type === '' ? 'unknown' : type;
}

/** The audit event for one STS outcome: the caller, the action, the role or subject it concerned. */
export function stsAuditEvent(e: StsEvent): AuditEventInput {
  const { kind, action } = STS_KINDS[e.action];
  const resource = e.target ?? e.sessionArn;
  return {
    kind,
    action,
    decision: e.outcome === 'allowed' ? 'Allow' : 'Deny',
    reason: e.outcome === 'allowed' ? 'allowed' : e.code ?? 'denied',
    ...(e.caller !== undefined ? { principal: { arn: e.caller, type: principalType(e.caller) } } : {}),
    ...(e.mfa !== undefined ? { authn: { mfa: e.mfa } } : {}),
    ...(resource !== undefined ? { resource } : {}),
  };
}

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
