// The closed set of reasons authentication can fail: reasons of the one error table's
// `unauthenticated` answer (401) and of its sibling `auth_unavailable` (503), each naming the answer
// it is given under, with a public title and the RFC 6750 `error` attribute of the
// `WWW-Authenticate: Bearer` challenge. Details of a failure go to the audit log; callers only ever
// see the reason and the title.
import { GATEWAY_ERRORS, stsReasonBody } from '../errors/index.js';

/** Stable reason codes of a failed authentication. */
export type AuthErrorCode =
  | 'token_missing'
  | 'token_malformed'
  | 'token_too_large'
  | 'token_type_invalid'
  | 'token_algorithm_not_allowed'
  | 'token_issuer_unknown'
  | 'token_key_unknown'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_audience_invalid'
  | 'token_claim_missing'
  | 'token_claim_invalid'
  | 'token_too_old'
  | 'principal_unknown'
  | 'session_revoked'
  | 'key_unavailable'
  | 'revocation_unavailable';

/** The answers of the error table a failed authentication is given: `rate_limited` for an embedder's authenticator that limits attempts. */
export type AuthAnswerCode = 'unauthenticated' | 'rate_limited' | 'auth_unavailable';

export type AuthStatus = (typeof GATEWAY_ERRORS)[AuthAnswerCode]['status'];

export interface AuthErrorInfo {
  /** The answer this reason is given under (its status is that answer's). */
  readonly answer: Exclude<AuthAnswerCode, 'rate_limited'>;
  readonly title: string;
  /** RFC 6750 error attribute; absent when the request carried no credentials at all. */
  readonly bearerError?: 'invalid_request' | 'invalid_token';
}

/** Reason → the answer it is given under, public title and bearer challenge error. */
export const AUTH_ERRORS: { readonly [C in AuthErrorCode]: AuthErrorInfo } = {
  token_missing: { answer: 'unauthenticated', title: 'A bearer token is required' },
  token_malformed: { answer: 'unauthenticated', title: 'The token is malformed', bearerError: 'invalid_request' },
  token_too_large: { answer: 'unauthenticated', title: 'The token is too large', bearerError: 'invalid_request' },
  token_type_invalid: { answer: 'unauthenticated', title: 'The token is not an access token', bearerError: 'invalid_token' },
  token_algorithm_not_allowed: {
    answer: 'unauthenticated',
    title: 'The token is signed with an algorithm that is not allowed',
    bearerError: 'invalid_token',
  },
  token_issuer_unknown: { answer: 'unauthenticated', title: 'The token issuer is not trusted', bearerError: 'invalid_token' },
  token_key_unknown: { answer: 'unauthenticated', title: 'The token signing key is not known', bearerError: 'invalid_token' },
  token_signature_invalid: { answer: 'unauthenticated', title: 'The token signature is invalid', bearerError: 'invalid_token' },
  token_expired: { answer: 'unauthenticated', title: 'The token has expired', bearerError: 'invalid_token' },
  token_not_yet_valid: { answer: 'unauthenticated', title: 'The token is not valid yet', bearerError: 'invalid_token' },
  token_audience_invalid: { answer: 'unauthenticated', title: 'The token is not meant for this audience', bearerError: 'invalid_token' },
  token_claim_missing: { answer: 'unauthenticated', title: 'The token lacks a required claim', bearerError: 'invalid_token' },
  token_claim_invalid: { answer: 'unauthenticated', title: 'The token carries an invalid claim', bearerError: 'invalid_token' },
  token_too_old: { answer: 'unauthenticated', title: 'The token was issued too long ago', bearerError: 'invalid_token' },
  principal_unknown: { answer: 'unauthenticated', title: 'The caller is not a known principal', bearerError: 'invalid_token' },
  session_revoked: { answer: 'unauthenticated', title: 'The session has been revoked', bearerError: 'invalid_token' },
  key_unavailable: { answer: 'auth_unavailable', title: 'Signing keys of the token issuer are unavailable' },
  revocation_unavailable: { answer: 'auth_unavailable', title: 'Session revocation state is unavailable' },
};

/** The JSON body of a failed authentication on iamgate's own endpoints (STS): the reason and its public title. */
export function authErrorBody(code: AuthErrorCode, requestId: string): Record<string, unknown> {
  return stsReasonBody(code, AUTH_ERRORS[code].title, requestId);
}

/** The status of a reason: that of the answer it is given under. */
export function authStatus(code: AuthErrorCode): AuthStatus {
  return GATEWAY_ERRORS[AUTH_ERRORS[code].answer].status;
}

/** A failed authentication as a value. */
export interface AuthFailure {
  readonly ok: false;
  readonly code: AuthErrorCode;
  readonly status: AuthStatus;
  /** The public title (never token contents or key material). */
  readonly message: string;
  /** Detail for the audit log only; never sent to the caller. */
  readonly detail?: string;
}

/** Builds the failure value for a code, with an optional audit-only detail. */
export function authFailure(code: AuthErrorCode, detail?: string): AuthFailure {
  const { title } = AUTH_ERRORS[code];
  const status = authStatus(code);
  return detail === undefined ? { ok: false, code, status, message: title } : { ok: false, code, status, message: title, detail };
}
