// The closed set of reasons authentication can fail, each with its HTTP status, a public title and
// the RFC 6750 `error` attribute of the `WWW-Authenticate: Bearer` challenge. Details of a failure
// go to the audit log; callers only ever see the code and the title.

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

export type AuthStatus = 401 | 429 | 503;

export interface AuthErrorInfo {
  readonly status: AuthStatus;
  readonly title: string;
  /** RFC 6750 error attribute; absent when the request carried no credentials at all. */
  readonly bearerError?: 'invalid_request' | 'invalid_token';
}

/** Code → status, public title and bearer challenge error. */
export const AUTH_ERRORS: { readonly [C in AuthErrorCode]: AuthErrorInfo } = {
  token_missing: { status: 401, title: 'A bearer token is required' },
  token_malformed: { status: 401, title: 'The token is malformed', bearerError: 'invalid_request' },
  token_too_large: { status: 401, title: 'The token is too large', bearerError: 'invalid_request' },
  token_type_invalid: { status: 401, title: 'The token is not an access token', bearerError: 'invalid_token' },
  token_algorithm_not_allowed: {
    status: 401,
    title: 'The token is signed with an algorithm that is not allowed',
    bearerError: 'invalid_token',
  },
  token_issuer_unknown: { status: 401, title: 'The token issuer is not trusted', bearerError: 'invalid_token' },
  token_key_unknown: { status: 401, title: 'The token signing key is not known', bearerError: 'invalid_token' },
  token_signature_invalid: { status: 401, title: 'The token signature is invalid', bearerError: 'invalid_token' },
  token_expired: { status: 401, title: 'The token has expired', bearerError: 'invalid_token' },
  token_not_yet_valid: { status: 401, title: 'The token is not valid yet', bearerError: 'invalid_token' },
  token_audience_invalid: { status: 401, title: 'The token is not meant for this audience', bearerError: 'invalid_token' },
  token_claim_missing: { status: 401, title: 'The token lacks a required claim', bearerError: 'invalid_token' },
  token_claim_invalid: { status: 401, title: 'The token carries an invalid claim', bearerError: 'invalid_token' },
  token_too_old: { status: 401, title: 'The token was issued too long ago', bearerError: 'invalid_token' },
  principal_unknown: { status: 401, title: 'The caller is not a known principal', bearerError: 'invalid_token' },
  session_revoked: { status: 401, title: 'The session has been revoked', bearerError: 'invalid_token' },
  key_unavailable: { status: 503, title: 'Signing keys of the token issuer are unavailable' },
  revocation_unavailable: { status: 503, title: 'Session revocation state is unavailable' },
};

/** The JSON body of a failed authentication on iamgate's own endpoints (STS): the code and its public title. */
export function authErrorBody(code: AuthErrorCode): Record<string, unknown> {
  return { error: code, code, message: AUTH_ERRORS[code].title };
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
  const info = AUTH_ERRORS[code];
  return detail === undefined
    ? { ok: false, code, status: info.status, message: info.title }
    : { ok: false, code, status: info.status, message: info.title, detail };
}
