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

/**
 * `base` tags with `over` laid on them, keys compared without case: tag keys are not case
 * sensitive, though their case is kept (STS API reference, AssumeRole `Tags`: a role's `Department`
 * tag and a session's `department` tag are one tag, and the session's wins). A plain spread kept
 * both, so a reader of the principal's tags by exact key (the identity assertion) found the base
 * value beside the one that replaced it.
 */
export function overrideTags(base: Readonly<Record<string, string>>, over: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (over === undefined) return base;
  const replaced = new Set(Object.keys(over).map((k) => k.toLowerCase()));
  // Entries made an object by Object.fromEntries: an assignment would drop a tag named __proto__.
  return Object.fromEntries([...Object.entries(base).filter(([k]) => !replaced.has(k.toLowerCase())), ...Object.entries(over)]);
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
