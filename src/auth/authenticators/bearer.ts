// The Bearer scheme (RFC 6750): reading the token from an Authorization header, and the challenge
// a 401 carries. Used by iamgate's token authenticator and by any other that takes bearer tokens.
import { AUTH_ERRORS, authFailure, type AuthFailure } from '../errors.js';
import type { AuthRejection } from './authenticator.js';

const BEARER = /^Bearer +(\S+) *$/i;

/** The token of an Authorization header, or why there is none; `maxTokenBytes` bounds the token. */
export function bearerToken(header: string | undefined, maxTokenBytes: number): { readonly ok: true; readonly token: string } | AuthFailure {
  if (header === undefined || header.trim() === '') return authFailure('token_missing');
  if (header.length > maxTokenBytes + 16) return authFailure('token_too_large', `${header.length} bytes`);
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) return authFailure('token_malformed', 'not a Bearer credential');
  if (token.length > maxTokenBytes) return authFailure('token_too_large', `${token.length} bytes`);
  return { ok: true, token };
}

/**
 * The failure of a request that carries the Authorization header more than once, or undefined: one
 * malformed credential (401 `token_malformed`, challenged `error="invalid_request"`, RFC 6750's
 * error for a repeated parameter), as a token naming a member twice is, never a guess at which
 * line counts (Node keeps the first, a Headers object joins them, another proxy keeps the last).
 * The one rule of every front door and of the STS endpoints.
 */
export function repeatedAuthorization(lines: number): AuthFailure | undefined {
  return lines > 1 ? authFailure('token_malformed', `${lines} Authorization headers`) : undefined;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

/** The `WWW-Authenticate: Bearer` challenge (RFC 6750 §3) for a failure, or for a request without credentials. */
export function bearerChallenge(realm: string, failure: AuthRejection | undefined): string {
  if (failure === undefined) return `Bearer realm=${quote(realm)}`;
  const known = (AUTH_ERRORS as Readonly<Record<string, { bearerError?: string }>>)[failure.code];
  const error = known ? known.bearerError : 'invalid_token';
  return error === undefined ? `Bearer realm=${quote(realm)}` : `Bearer realm=${quote(realm)}, error=${quote(error)}, error_description=${quote(failure.message)}`;
}
