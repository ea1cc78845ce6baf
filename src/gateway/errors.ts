// Every answer iamgate gives instead of the upstream's: a stable code, its HTTP status, the JSON
// `error` name and a public title. Details (which statement, which token check) go to the audit log.

export const GATEWAY_ERRORS = {
  malformed_request: { status: 400, error: 'BadRequest', title: 'The request is not well-formed HTTP' },
  bad_path: { status: 400, error: 'BadRequest', title: 'The request target cannot be normalised safely' },
  unicode_lookalike: { status: 400, error: 'BadRequest', title: 'The request path holds characters that Unicode normalisation would turn into others' },
  ambiguous_parameter: { status: 400, error: 'BadRequest', title: 'A parameter used for authorisation appears more than once' },
  bad_header: { status: 400, error: 'BadRequest', title: 'A request header cannot be used safely' },
  forward_auth_ambiguous: { status: 400, error: 'BadRequest', title: 'The forward-auth request describes the original request in conflicting ways' },
  forward_auth_incomplete: { status: 400, error: 'BadRequest', title: 'The forward-auth request lacks the original method or URI' },
  ext_authz_incomplete: { status: 400, error: 'BadRequest', title: 'The check request lacks the HTTP request attributes' },
  unauthenticated: { status: 401, error: 'Unauthorized', title: 'Authentication failed' },
  access_denied: { status: 403, error: 'AccessDenied', title: 'Access denied' },
  reserved_path: { status: 404, error: 'NotFound', title: 'No such iamgate endpoint' },
  request_timeout: { status: 408, error: 'RequestTimeout', title: 'The request did not arrive in time' },
  body_too_large: { status: 413, error: 'PayloadTooLarge', title: 'The request body is larger than allowed' },
  rate_limited: { status: 429, error: 'TooManyRequests', title: 'Too many attempts' },
  too_many_headers: { status: 431, error: 'RequestHeaderFieldsTooLarge', title: 'The request has more header lines than allowed' },
  headers_too_large: { status: 431, error: 'RequestHeaderFieldsTooLarge', title: 'The request headers are larger than allowed' },
  internal_error: { status: 500, error: 'InternalError', title: 'iamgate failed to handle the request' },
  upstream_unavailable: { status: 502, error: 'BadGateway', title: 'The upstream service could not be reached' },
  upgrade_refused: { status: 502, error: 'BadGateway', title: 'The upstream service refused the protocol upgrade' },
  not_ready: { status: 503, error: 'ServiceUnavailable', title: 'iamgate is not ready: policies are not loaded' },
  auth_unavailable: { status: 503, error: 'ServiceUnavailable', title: 'Authentication is temporarily unavailable' },
  audit_unavailable: { status: 503, error: 'ServiceUnavailable', title: 'The decision could not be recorded in the audit trail' },
  upstream_timeout: { status: 504, error: 'GatewayTimeout', title: 'The upstream service did not answer in time' },
} as const satisfies Record<string, { status: number; error: string; title: string }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/** The JSON body of an answer: the table's error name and title, the code (or a finer reason code) and the request id. */
export function errorBody(code: GatewayErrorCode, requestId: string, reason: string = code, message: string = GATEWAY_ERRORS[code].title): Record<string, unknown> {
  return { error: GATEWAY_ERRORS[code].error, code: reason, message, requestId };
}

/** Why a request was denied, as the 403 body says (and clients may act on: `mfa_required` means step up). */
export type DenyReason = 'explicit_deny' | 'implicit_deny' | 'mfa_required';

/**
 * The 403 body. `code` is the machine-readable code, as on every other error answer; `reason`
 * carries the same value for clients written before `code` was there.
 */
export function denyBody(reason: DenyReason, action: string | null, resource: string | null, requestId: string): Record<string, unknown> {
  return { error: GATEWAY_ERRORS.access_denied.error, code: reason, reason, action, resource, requestId };
}
