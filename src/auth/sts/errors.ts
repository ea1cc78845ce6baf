// Why an STS call is refused: a code of the one error table (STS_ERRORS in src/errors/), or a
// denial that is answered as its `access_denied`.
import type { StsErrorCode } from '../../errors/index.js';

/**
 * Why a call was denied, as its audit record and log line say it; the caller is answered
 * `access_denied` for each alike, as AWS answers each with one AccessDenied, so that no caller can
 * learn which roles exist, or which of them trust it, from the answers it gets.
 */
export type StsDenialReason = (typeof DENIAL_REASONS)[number];

// The type is read from this list, so a reason added to it can never be answered as itself.
// `session_without_mfa`: a role session refused for want of a second factor, which it cannot add.
const DENIAL_REASONS = ['trust_policy_denied', 'caller_not_allowed', 'role_unknown', 'session_without_mfa'] as const;

/** A reason an STS call was refused for: a code of the table, or a denial answered as `access_denied`. */
export type StsReason = StsErrorCode | StsDenialReason;

function isDenialReason(reason: StsReason): reason is StsDenialReason {
  return (DENIAL_REASONS as readonly StsReason[]).includes(reason);
}

/** The code the caller is answered for a refusal's reason. */
export function answeredCode(reason: StsReason): StsErrorCode {
  return isDenialReason(reason) ? 'access_denied' : reason;
}
