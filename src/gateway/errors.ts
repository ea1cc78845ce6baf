// Every answer iamgate gives instead of the upstream's: a stable code, its HTTP status, the JSON
// `error` name and a public title. Details (which statement, which token check) go to the audit log.
// Nothing else builds an error answer: the pipeline, the adapters (malformed HTTP, refused upgrades,
// forward-auth, ext_authz) and the operations port all answer from this table (a test greps src/).
import { AuditError } from '../audit/index.js';
import { RequestBodyError, type ProxyFailure } from '../proxy/index.js';

export const GATEWAY_ERRORS = {
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
} as const satisfies Record<string, { status: number; error: string; title: string }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

/**
 * A failure that is answered with a code of the table. Thrown where a part cannot go on (and
 * caught where the answer is written); `switch (err.code)` narrows, no message is ever compared.
 */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;

  constructor(code: GatewayErrorCode, message: string = GATEWAY_ERRORS[code].title, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
  }

  get status(): number {
    return GATEWAY_ERRORS[this.code].status;
  }
}

/**
 * The code an unexpected throw is answered with: a GatewayError's own, a request body's failure
 * (read by an endpoint when it could never arrive whole), `audit_unavailable` for an audit trail
 * that could not keep a record, and `internal_error` for anything else (a bug).
 */
export function errorCodeOf(err: unknown): GatewayErrorCode {
  if (err instanceof GatewayError) return err.code;
  if (err instanceof RequestBodyError) return err.failure;
  if (err instanceof AuditError) return 'audit_unavailable';
  return 'internal_error';
}

const CLIENT_CLOSED_STATUS = 499;

/**
 * The status a forwarding failure is recorded with: the table's for every failure a caller is
 * answered, and nginx's 499 for a caller that left before any answer (it is never sent).
 */
export function failureStatus(failure: ProxyFailure): number {
  return failure === 'client_closed' ? CLIENT_CLOSED_STATUS : GATEWAY_ERRORS[failure].status;
}

/** A table answer: the code's status and its JSON body (see errorBody). */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The answer for `code`: its status from the table and its body. */
export function errorAnswer(code: GatewayErrorCode, requestId: string, reason: string = code, message: string = GATEWAY_ERRORS[code].title): ErrorAnswer {
  return { status: GATEWAY_ERRORS[code].status, body: errorBody(code, requestId, reason, message) };
}

/** The JSON body of an answer: the table's error name and title, the code (or a finer reason code) and the request id. */
export function errorBody(code: GatewayErrorCode, requestId: string, reason: string = code, message: string = GATEWAY_ERRORS[code].title): Record<string, unknown> {
  return { error: GATEWAY_ERRORS[code].error, code: reason, message, requestId };
}

/**
 * The body of an operator endpoint's answer (operations port): as errorBody, without a request id
 * (operator calls are not requests through the gateway and leave no audit record).
 */
export function operatorErrorBody(code: GatewayErrorCode, message: string = GATEWAY_ERRORS[code].title, reason: string = code): Record<string, unknown> {
  return { error: GATEWAY_ERRORS[code].error, code: reason, message };
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
