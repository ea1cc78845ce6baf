// The audit event for an STS outcome (token issuing, MFA enrolment, session revocation): the STS
// endpoints know their outcomes and write them in the trail's record shape; the trail itself knows
// nothing of who produces its events. Built from named fields only, so no token, code or secret
// can reach the record.
import type { AuditEventInput, DecisionKind } from '../../audit/index.js';
import type { StsAction, StsEvent } from './operations.js';

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
    ...(e.caller !== undefined
      ? { principal: { arn: e.caller, type: principalType(e.caller), ...(e.sourceIdentity !== undefined ? { sourceIdentity: e.sourceIdentity } : {}) } }
      : {}),
    ...(e.mfa !== undefined ? { authn: { mfa: e.mfa } } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(e.sourceIp !== undefined ? { sourceIp: e.sourceIp } : {}),
    ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
  };
}
