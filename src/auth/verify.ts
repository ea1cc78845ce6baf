// Verifying one bearer JWT against the issuer it names: structure, size, algorithm allow-list
// (checked before any key is touched, so `alg: none` and HMAC-with-a-public-key never get near a
// key), key by `kid`, signature, and the registered claims (`iss`, `aud`, `exp`, `nbf`, `iat` and
// the maximum age). Every failure maps to one stable code; nothing here throws for bad input.
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { readCompactJws } from './compact-jws.js';
import { authFailure, type AuthFailure } from './errors.js';
import type { KeySource } from './keys/jwk.js';

/** An issuer ready to verify: what to require, and where its keys come from. */
export interface VerifyingIssuer {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly maxTokenAgeSeconds?: number;
  readonly keys: KeySource;
}

/** A verified token's claims, and the id of the key that verified it (KeySource.has). */
export type Verified = { readonly ok: true; readonly payload: JWTPayload; readonly keyId: string };

/** A compact JWT's algorithm, key id and (unverified) issuer. */
export interface Peeked {
  readonly ok: true;
  readonly alg: string;
  readonly kid: string | undefined;
  readonly iss: string;
}

/** The JSON object `text` holds, or undefined when it holds anything else. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `typ` values of a token iamgate takes as a bearer credential (RFC 7515 §4.1.9: a media type,
 * compared without case, its `application/` prefix optional): a JWT (`JWT`, `JOSE` as JWT-SVIDs
 * may write) or an OAuth access token (`at+jwt`, RFC 9068). Another kind of JWT the same provider
 * signs, such as an OpenID back-channel logout token (`logout+jwt`) or a security event token
 * (`secevent+jwt`), names its kind so that it is not taken for one of these (RFC 8725 §3.11).
 */
const BEARER_TYPES = new Set(['jwt', 'jose', 'at+jwt']);

function isBearerType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return BEARER_TYPES.has(lower.startsWith('application/') ? lower.slice('application/'.length) : lower);
}

/** Reads the header and the (unverified) issuer of a compact JWT, to choose how to verify it. */
export function peek(token: string): Peeked | AuthFailure {
  const jws = readCompactJws(token);
  if (!jws.ok) return authFailure('token_malformed', jws.problem);
  // The texts the spelling check decoded, parsed here rather than decoded again by jose.
  const header = jsonObject(jws.header);
  const payload = jsonObject(jws.payload);
  if (header === undefined || payload === undefined) return authFailure('token_malformed', 'header or payload is not base64url JSON');
  const { alg, kid } = header;
  const iss = payload['iss'];
  if (typeof alg !== 'string') return authFailure('token_malformed', 'no alg');
  if (kid !== undefined && typeof kid !== 'string') return authFailure('token_malformed', 'kid is not a string');
  if (!isBearerType(header['typ'])) return authFailure('token_type_invalid', 'typ names a kind of JWT other than an access token');
  if (typeof iss !== 'string') return authFailure('token_claim_missing', 'no iss');
  return { ok: true, alg, kid, iss };
}

/** Maps jose's errors to iamgate's codes. */
function mapJoseError(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) {
    return err.claim === 'iat' ? authFailure('token_too_old', err.message) : authFailure('token_expired', err.message);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return authFailure('token_claim_missing', err.message);
    switch (err.claim) {
      case 'aud':
        return authFailure('token_audience_invalid', err.message);
      case 'iss':
        return authFailure('token_issuer_unknown', err.message);
      case 'nbf':
      case 'iat':
        return authFailure('token_not_yet_valid', err.message);
      default:
        return authFailure('token_claim_invalid', err.message);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return authFailure('token_signature_invalid', err.message);
  if (err instanceof errors.JOSEAlgNotAllowed) return authFailure('token_algorithm_not_allowed', err.message);
  if (err instanceof errors.JOSEError) return authFailure('token_malformed', `${err.code}: ${err.message}`);
  return authFailure('token_malformed', err instanceof Error ? err.message : String(err));
}

/** Verifies a token (already peeked: `alg`, `kid`) for an issuer at time `now` (ms). */
export async function verifyToken(
  token: string,
  head: { alg: string; kid: string | undefined },
  issuer: VerifyingIssuer,
  now: number,
): Promise<Verified | AuthFailure> {
  if (!issuer.algorithms.includes(head.alg)) return authFailure('token_algorithm_not_allowed', `alg ${head.alg}`);
  const lookup = await issuer.keys.getKey(head.kid, head.alg);
  if (!lookup.ok) return authFailure(lookup.code, lookup.detail);
  try {
    const { payload } = await jwtVerify(token, lookup.key, {
      algorithms: [head.alg],
      issuer: issuer.issuer,
      audience: [...issuer.audiences],
      clockTolerance: issuer.clockToleranceSeconds,
      ...(issuer.maxTokenAgeSeconds !== undefined ? { maxTokenAge: issuer.maxTokenAgeSeconds } : {}),
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(now),
    });
    return { ok: true, payload, keyId: lookup.id };
  } catch (err) {
    return mapJoseError(err);
  }
}
