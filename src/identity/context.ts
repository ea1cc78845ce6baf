// The principal's global condition keys, named as AWS names them. The request context of every
// decision about the principal starts from these.
import type { ContextValue } from '../policy/index.js';
import type { PrincipalType } from './types.js';

export interface ContextFacts {
  readonly type: PrincipalType;
  readonly arn: string;
  /** `aws:PrincipalArn`: the user's ARN, or the role's ARN for a role session. */
  readonly principalArn: string;
  readonly account: string;
  readonly userId: string;
  readonly userName?: string;
  /** The name the caller gave its role session (`RoleSessionName`); users have none. */
  readonly sessionName?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly mfa: boolean;
  readonly mfaAt?: number;
  readonly issuedAt: number;
  readonly sourceIdentity?: string;
  readonly webIdentity?: WebIdentityFacts;
}

/** A web-identity token's facts: its provider and the `<provider>:sub` / `:aud` keys. */
export interface WebIdentityFacts {
  /** The provider as trust policies name it in `Principal: {Federated: ...}`. */
  readonly provider: string;
  /** Prefix of the provider's condition keys: the issuer URL without its scheme. */
  readonly keyPrefix: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
}

/** `2026-01-02T03:04:05Z`: AWS's format for date context values. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Seconds since the second factor was presented, never negative. */
export function mfaAgeSeconds(mfaAt: number, now: number): number {
  return Math.max(0, Math.floor((now - mfaAt) / 1000));
}

/** Builds the principal's context keys at time `now` (which only `aws:MultiFactorAuthAge` reads). */
export function principalContext(f: ContextFacts, now: number): Record<string, ContextValue> {
  const ctx: Record<string, ContextValue> = {
    'aws:PrincipalArn': f.principalArn,
    'aws:PrincipalAccount': f.account,
    'aws:PrincipalType': f.type === 'User' ? 'User' : 'AssumedRole',
    'aws:userid': f.userId,
    'aws:MultiFactorAuthPresent': f.mfa,
    'aws:TokenIssueTime': isoSeconds(f.issuedAt),
  };
  if (f.userName !== undefined) ctx['aws:username'] = f.userName;
  // IAM User Guide, "AWS global condition context keys" (aws:RoleSessionName): present only for
  // a role session, holding the name given when the role was assumed.
  if (f.sessionName !== undefined) ctx['aws:RoleSessionName'] = f.sessionName;
  if (f.mfa && f.mfaAt !== undefined) ctx['aws:MultiFactorAuthAge'] = mfaAgeSeconds(f.mfaAt, now);
  if (f.sourceIdentity !== undefined) ctx['aws:SourceIdentity'] = f.sourceIdentity;
  for (const [k, v] of Object.entries(f.tags)) ctx[`aws:PrincipalTag/${k}`] = v;
  if (f.webIdentity) {
    const w = f.webIdentity;
    ctx['aws:FederatedProvider'] = w.provider;
    ctx[`${w.keyPrefix}:sub`] = w.sub;
    ctx[`${w.keyPrefix}:aud`] = typeof w.aud === 'string' ? w.aud : [...w.aud];
  }
  return ctx;
}
