// Reason codes of the STS-style endpoints, with HTTP status and public title.

export type StsErrorCode =
  | 'invalid_request'
  | 'request_too_large'
  | 'invalid_duration'
  | 'invalid_session_name'
  | 'invalid_tags'
  | 'invalid_source_identity'
  | 'source_identity_immutable'
  | 'session_policy_invalid'
  | 'session_policy_too_large'
  | 'caller_not_user'
  | 'access_denied'
  | 'mfa_required'
  | 'mfa_not_enrolled'
  | 'mfa_already_enrolled'
  | 'mfa_code_invalid'
  | 'mfa_code_replayed'
  | 'mfa_locked'
  | 'mfa_unavailable'
  | 'invalid_identity_token'
  | 'identity_key_unavailable'
  | 'state_unavailable'
  | 'not_ready';

export const STS_ERRORS: { readonly [C in StsErrorCode]: { readonly status: 400 | 403 | 404 | 409 | 413 | 429 | 503; readonly title: string } } = {
  invalid_request: { status: 400, title: 'The request body is not valid for this action' },
  request_too_large: { status: 413, title: 'The request body is too large' },
  invalid_duration: { status: 400, title: 'DurationSeconds must be at least 900' },
  invalid_session_name: { status: 400, title: 'RoleSessionName must be 2-64 characters of letters, digits and +=,.@_-' },
  invalid_tags: { status: 400, title: 'Tags must be at most 50 {Key, Value} pairs of allowed characters' },
  invalid_source_identity: { status: 400, title: 'SourceIdentity must be 2-64 characters of letters, digits and _+=,.@-, not beginning with aws:' },
  source_identity_immutable: { status: 403, title: "A session's source identity cannot be changed once set" },
  session_policy_invalid: { status: 400, title: 'The session policy is not a valid policy document' },
  session_policy_too_large: { status: 400, title: 'The session policy is too large' },
  caller_not_user: { status: 403, title: 'Only users can do this, not role sessions' },
  access_denied: { status: 403, title: 'The caller is not allowed to do this' },
  mfa_required: { status: 403, title: 'A second factor is required: send TokenCode' },
  mfa_not_enrolled: { status: 403, title: 'No MFA device is enrolled for the caller' },
  mfa_already_enrolled: { status: 409, title: 'An MFA device is already enrolled for the caller' },
  mfa_code_invalid: { status: 403, title: 'The MFA code is not valid' },
  mfa_code_replayed: { status: 403, title: 'The MFA code was already used' },
  mfa_locked: { status: 429, title: 'Too many failed MFA attempts; try again later' },
  mfa_unavailable: { status: 503, title: 'MFA verification is unavailable' },
  invalid_identity_token: { status: 400, title: 'The web identity token is not valid' },
  identity_key_unavailable: { status: 503, title: "The web identity provider's keys are unavailable" },
  state_unavailable: { status: 503, title: 'Shared state is unavailable' },
  not_ready: { status: 503, title: 'The policies are not loaded yet' },
};

/**
 * Why a call was denied, as its audit record and log line say it; the caller is answered
 * `access_denied` for each alike, as AWS answers each with one AccessDenied, so that no caller can
 * learn which roles exist, or which of them trust it, from the answers it gets.
 */
export type StsDenialReason = (typeof DENIAL_REASONS)[number];

// The type is read from this list, so a reason added to it can never be answered as itself.
// `session_without_mfa`: a role session refused for want of a second factor, which it cannot add.
const DENIAL_REASONS = ['trust_policy_denied', 'caller_not_allowed', 'role_unknown', 'session_without_mfa'] as const;

/** A reason an STS call was refused for: a code of the table above, or a denial answered as `access_denied`. */
export type StsReason = StsErrorCode | StsDenialReason;

function isDenialReason(reason: StsReason): reason is StsDenialReason {
  return (DENIAL_REASONS as readonly StsReason[]).includes(reason);
}

/** The code the caller is answered for a refusal's reason. */
export function answeredCode(reason: StsReason): StsErrorCode {
  return isDenialReason(reason) ? 'access_denied' : reason;
}

/** The JSON body of an STS failure: `error` and `code` carry the code, `message` the title unless a finer one is given. */
export function stsErrorBody(code: StsErrorCode, message: string = STS_ERRORS[code].title, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return { error: code, code, message, ...extra };
}
