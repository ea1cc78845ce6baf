// The tokens iamgate issues (STS sessions): JWTs signed with the ring's active key, carrying in an
// `iamgate` claim everything needed to rebuild the principal on any replica without shared state:
// user or role, session name, MFA, session tags and session policy.
import { SignJWT, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import type { WebIdentityFacts } from '../identity/index.js';
import type { SigningKeyRing } from './keys/signing.js';

export const SESSION_CLAIM = 'iamgate';

export interface SessionClaims {
  readonly kind: 'user' | 'role';
  /** The directory user (kind `user`) or the role (kind `role`). */
  readonly name: string;
  readonly session?: string;
  readonly mfa: boolean;
  /** When the second factor was presented, epoch seconds. */
  readonly mfaAt?: number;
  readonly amr: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
  /** Session policy, compact JSON. */
  readonly policy?: string;
  readonly sourceIdentity?: string;
  readonly webIdentity?: WebIdentityFacts;
}

export interface MintOptions {
  readonly ring: SigningKeyRing;
  readonly issuer: string;
  readonly audience: string;
  /** The principal's ARN (`sub`). */
  readonly subject: string;
  readonly claims: SessionClaims;
  readonly now: number;
  readonly ttlSeconds: number;
}

/** Signs a session token; returns it with its expiry (epoch ms). */
export async function mintSessionToken(o: MintOptions): Promise<{ token: string; expiresAt: number }> {
  const signer = o.ring.signer();
  const iat = Math.floor(o.now / 1000);
  const exp = iat + o.ttlSeconds;
  const token = await new SignJWT({ [SESSION_CLAIM]: o.claims as unknown as JWTPayload[string] })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setSubject(o.subject)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(signer.key);
  return { token, expiresAt: exp * 1000 };
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function isWebIdentity(v: unknown): v is WebIdentityFacts {
  if (typeof v !== 'object' || v === null) return false;
  const w = v as Record<string, unknown>;
  const aud = w['aud'];
  return (
    typeof w['provider'] === 'string' &&
    typeof w['keyPrefix'] === 'string' &&
    typeof w['sub'] === 'string' &&
    (typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string')))
  );
}

/** Reads and checks the `iamgate` claim of a verified token; undefined when it is not well-formed. */
export function readSessionClaims(payload: JWTPayload): SessionClaims | undefined {
  const raw = payload[SESSION_CLAIM];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const c = raw as Record<string, unknown>;
  const ok =
    (c['kind'] === 'user' || c['kind'] === 'role') &&
    typeof c['name'] === 'string' &&
    (c['session'] === undefined || typeof c['session'] === 'string') &&
    typeof c['mfa'] === 'boolean' &&
    (c['mfaAt'] === undefined || typeof c['mfaAt'] === 'number') &&
    Array.isArray(c['amr']) &&
    c['amr'].every((a) => typeof a === 'string') &&
    (c['tags'] === undefined || isStringRecord(c['tags'])) &&
    (c['policy'] === undefined || typeof c['policy'] === 'string') &&
    (c['sourceIdentity'] === undefined || typeof c['sourceIdentity'] === 'string') &&
    (c['webIdentity'] === undefined || isWebIdentity(c['webIdentity']));
  if (!ok) return undefined;
  if (c['kind'] === 'role' && typeof c['session'] !== 'string') return undefined;
  return c as unknown as SessionClaims;
}
