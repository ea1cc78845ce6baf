// The one error table: every answer iamgate gives instead of the upstream's, at every front door,
// with its stable code, HTTP status, JSON `error` name and public title, and the one body every
// such answer has: `{ error, code, message, requestId }` (no request id from the operations port,
// whose calls are not audited), a finer field or two after them where an answer needs them.
// Details (which statement, which token check) go to the audit log, never to the caller. Nothing
// else builds an error answer (a test greps src/). The reasons an answer is given for (a token
// check, a deny) are listed where they are found (src/auth/errors.ts, DenyReason below), each
// naming the code of this table it is answered under.

/** One answer of the table. */
export interface ErrorInfo {
  readonly status: number;
  /** The JSON body's `error` name. */
  readonly error: string;
  /** The public title, the body's `message` unless a finer one is given. */
  readonly title: string;
}

/**
 * Every answer, by the door that gives it: `gateway` for the proxy, forward-auth, ext_authz and the
 * operations port, which share one pipeline; `sts` for the STS and MFA endpoints
 * (`/.iamgate/sts/...`). A code is unique within its door; `access_denied` is both doors' with
 * each its own title and `error` name. The STS names its `error` after the code itself, as its
 * clients have always read it.
 */
const ERRORS = {
  gateway: {
    malformed_request: { status: 400, error: 'BadRequest', title: 'The request is not well-formed HTTP' },
    bad_request: { status: 400, error: 'BadRequest', title: 'The request body is not valid for this operator endpoint' },
    bad_path: { status: 400, error: 'BadRequest', title: 'The request target cannot be normalised safely' },
    unicode_lookalike: { status: 400, error: 'BadRequest', title: 'The request path holds characters that Unicode normalisation would turn into others' },
    ambiguous_parameter: { status: 400, error: 'BadRequest', title: 'A parameter used for authorisation appears more than once' },
    bad_header: { status: 400, error: 'BadRequest', title: 'A request header cannot be used safely' },
    forward_auth_ambiguous: { status: 400, error: 'BadRequest', title: 'The forward-auth request describes the original request in conflicting ways' },
    forward_auth_incomplete: { status: 400, error: 'BadRequest', title: 'The forward-auth request lacks the original method or URI' },
    ext_authz_incomplete: { status: 400, error: 'BadRequest', title: 'The check request lacks the HTTP request attributes' },
    ext_authz_ambiguous: { status: 400, error: 'BadRequest', title: 'The check request describes the HTTP request in conflicting ways' },
    unauthenticated: { status: 401, error: 'Unauthorized', title: 'Authentication failed' },
    access_denied: { status: 403, error: 'AccessDenied', title: 'Access denied' },
    web_page_refused: { status: 403, error: 'Forbidden', title: 'The operations listener answers no request but a read that a web page sends' },
    reserved_path: { status: 404, error: 'NotFound', title: 'No such iamgate endpoint' },
    request_timeout: { status: 408, error: 'RequestTimeout', title: 'The request did not arrive in time' },
    body_too_large: { status: 413, error: 'PayloadTooLarge', title: 'The request body is larger than allowed' },
    expectation_failed: { status: 417, error: 'ExpectationFailed', title: 'The request has an expectation other than 100-continue' },
    misdirected_host: { status: 421, error: 'MisdirectedRequest', title: 'The operations listener does not answer to this Host' },
    policies_invalid: { status: 422, error: 'UnprocessableEntity', title: 'The policies failed to load; the ones loaded before stay in force' },
    rate_limited: { status: 429, error: 'TooManyRequests', title: 'Too many attempts' },
    too_many_headers: { status: 431, error: 'RequestHeaderFieldsTooLarge', title: 'The request has more header lines than allowed' },
    headers_too_large: { status: 431, error: 'RequestHeaderFieldsTooLarge', title: 'The request headers are larger than allowed' },
    internal_error: { status: 500, error: 'InternalError', title: 'iamgate failed to handle the request' },
    upstream_unavailable: { status: 502, error: 'BadGateway', title: 'The upstream service could not be reached' },
    upgrade_refused: { status: 502, error: 'BadGateway', title: 'The upstream service refused the protocol upgrade' },
    not_ready: { status: 503, error: 'ServiceUnavailable', title: 'iamgate is not ready: policies are not loaded' },
    ext_authz_overloaded: { status: 503, error: 'ServiceUnavailable', title: 'iamgate is deciding as many checks as it allows at once' },
    auth_unavailable: { status: 503, error: 'ServiceUnavailable', title: 'Authentication is temporarily unavailable' },
    audit_unavailable: { status: 503, error: 'ServiceUnavailable', title: 'The decision could not be recorded in the audit trail' },
    upstream_timeout: { status: 504, error: 'GatewayTimeout', title: 'The upstream service did not answer in time' },
  },
  sts: {
    invalid_request: { status: 400, error: 'invalid_request', title: 'The request body is not valid for this action' },
    request_too_large: { status: 413, error: 'request_too_large', title: 'The request body is too large' },
    invalid_duration: { status: 400, error: 'invalid_duration', title: 'DurationSeconds must be at least 900' },
    invalid_session_name: { status: 400, error: 'invalid_session_name', title: 'RoleSessionName must be 2-64 characters of letters, digits and +=,.@_-' },
    invalid_tags: { status: 400, error: 'invalid_tags', title: 'Tags must be at most 50 {Key, Value} pairs of allowed characters' },
    invalid_source_identity: { status: 400, error: 'invalid_source_identity', title: 'SourceIdentity must be 2-64 characters of letters, digits and _+=,.@-, not beginning with aws:' },
    source_identity_immutable: { status: 403, error: 'source_identity_immutable', title: "A session's source identity cannot be changed once set" },
    session_policy_invalid: { status: 400, error: 'session_policy_invalid', title: 'The session policy is not a valid policy document' },
    session_policy_too_large: { status: 400, error: 'session_policy_too_large', title: 'The session policy is too large' },
    caller_not_user: { status: 403, error: 'caller_not_user', title: 'Only users can do this, not role sessions' },
    access_denied: { status: 403, error: 'access_denied', title: 'The caller is not allowed to do this' },
    mfa_required: { status: 403, error: 'mfa_required', title: 'A second factor is required: send TokenCode' },
    mfa_not_enrolled: { status: 403, error: 'mfa_not_enrolled', title: 'No MFA device is enrolled for the caller' },
    mfa_already_enrolled: { status: 409, error: 'mfa_already_enrolled', title: 'An MFA device is already enrolled for the caller' },
    mfa_code_invalid: { status: 403, error: 'mfa_code_invalid', title: 'The MFA code is not valid' },
    mfa_code_replayed: { status: 403, error: 'mfa_code_replayed', title: 'The MFA code was already used' },
    mfa_locked: { status: 429, error: 'mfa_locked', title: 'Too many failed MFA attempts; try again later' },
    mfa_unavailable: { status: 503, error: 'mfa_unavailable', title: 'MFA verification is unavailable' },
    invalid_identity_token: { status: 400, error: 'invalid_identity_token', title: 'The web identity token is not valid' },
    identity_key_unavailable: { status: 503, error: 'identity_key_unavailable', title: "The web identity provider's keys are unavailable" },
    state_unavailable: { status: 503, error: 'state_unavailable', title: 'Shared state is unavailable' },
    not_ready: { status: 503, error: 'not_ready', title: 'The policies are not loaded yet' },
  },
} as const satisfies { readonly [door: string]: Readonly<Record<string, ErrorInfo>> };

/** The answers of the proxy, forward-auth, ext_authz and the operations port. */
export const GATEWAY_ERRORS = ERRORS.gateway;
/** The answers of the STS and MFA endpoints. */
export const STS_ERRORS = ERRORS.sts;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;
export type StsErrorCode = keyof typeof STS_ERRORS;

/**
 * The one body of every error answer: the `error` name, the code (or a finer reason code the
 * answer is given for), the message, the request id of an audited answer, then any finer fields.
 */
function bodyOf(error: string, code: string, message: string, requestId: string | undefined, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return requestId === undefined ? { error, code, message, ...extra } : { error, code, message, requestId, ...extra };
}

/** A table answer: the code's status and its JSON body (see errorBody). */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The gateway's answer for `code`: its status from the table and its body. */
export function errorAnswer(code: GatewayErrorCode, requestId: string, reason: string = code, message: string = GATEWAY_ERRORS[code].title): ErrorAnswer {
  return { status: GATEWAY_ERRORS[code].status, body: errorBody(code, requestId, reason, message) };
}

/** The body of the gateway's answer for `code`: the table's error name and title, the code (or a finer reason code) and the request id. */
export function errorBody(code: GatewayErrorCode, requestId: string, reason: string = code, message: string = GATEWAY_ERRORS[code].title): Record<string, unknown> {
  return bodyOf(GATEWAY_ERRORS[code].error, reason, message, requestId);
}

/**
 * The body of an operator endpoint's answer (operations port): as errorBody, without a request id
 * (operator calls are not requests through the gateway and leave no audit record).
 */
export function operatorErrorBody(code: GatewayErrorCode, message: string = GATEWAY_ERRORS[code].title, reason: string = code): Record<string, unknown> {
  return bodyOf(GATEWAY_ERRORS[code].error, reason, message, undefined);
}

/** The reasons of an `access_denied` answer, as the 403 body says (and clients may act on: `mfa_required` means step up). */
export type DenyReason = 'explicit_deny' | 'implicit_deny' | 'mfa_required';

/**
 * The 403 body. `code` is the reason, as on every other error answer; `reason` carries the same
 * value for clients written before `code` was there; `action` and `resource` say what was refused.
 */
export function denyBody(reason: DenyReason, action: string | null, resource: string | null, requestId: string): Record<string, unknown> {
  const denied = GATEWAY_ERRORS.access_denied;
  return bodyOf(denied.error, reason, denied.title, requestId, { reason, action, resource });
}

/** The body of an STS answer for `code`: `error` and `code` carry the code, `message` the title unless a finer one is given. */
export function stsErrorBody(code: StsErrorCode, requestId: string, message: string = STS_ERRORS[code].title, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return bodyOf(STS_ERRORS[code].error, code, message, requestId, extra);
}

/**
 * The body of an STS call refused for a failed authentication (the gateway's `unauthenticated` or
 * `auth_unavailable`): as every STS answer names its `error` after its code, `error` and `code`
 * carry the authentication reason, `message` its title.
 */
export function stsReasonBody(reason: string, title: string, requestId: string): Record<string, unknown> {
  return bodyOf(reason, reason, title, requestId);
}
