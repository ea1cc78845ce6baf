// From a verified token's claims to a principal, by issuer kind: iamgate's own session tokens
// (user or role session, as recorded at issue), workload tokens (web identity: a role whose trust
// policy admits the token's sub/aud), and user tokens from an identity provider (claim mapping).
import type { JWTPayload } from 'jose';
import { toSessionName, type PrincipalResolver, type WebIdentityFacts } from '../identity/index.js';
import { webIdentityProvider, type ClaimMapping, type WebIdentityMapping } from './config.js';
import { authFailure, type AuthFailure } from './errors.js';
import { readSessionClaims } from './session-token.js';
import { webIdentityAllowed } from './trust.js';
import type { Principal } from '../identity/index.js';

/** How an issuer's tokens become principals. */
export type IssuerKind =
  | { readonly kind: 'session' }
  | { readonly kind: 'user'; readonly claims: ClaimMapping }
  | { readonly kind: 'workload'; readonly webIdentity: WebIdentityMapping };

export type PrincipalOutcome = { readonly ok: true; readonly principal: Principal } | AuthFailure;

const MFA_METHODS = new Set(['mfa', 'otp', 'hwk']);

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.split(/\s+/).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return undefined;
}

/**
 * Text a claim may hold where iamgate carries it on (into a principal, a session it issues, an audit
 * record, a log line or a refusal's detail): no control character (C0, DEL, C1), no Unicode line or
 * paragraph separator, at most 1024 UTF-16 units. An identity provider is trusted for who a caller
 * is, not for how its claims are written: a claim outside this is refused with its token, where the
 * token is verified (once per token), so no reader of a record or log line ever sees it split. Other
 * text (accents, other scripts, a lone surrogate) is kept: records are JSON, and identity headers
 * carry a session name written in the characters a session name holds (toSessionName), never a claim.
 */
const CLAIM_TEXT = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,1024}$/;

/** Whether `v` is a string a claim may hold where iamgate carries it on (see CLAIM_TEXT). */
const isClaimText = (v: unknown): v is string => typeof v === 'string' && CLAIM_TEXT.test(v);

const CLAIM_TEXT_RULE = 'holds a control character or line separator, or more than 1024 characters';

function times(payload: JWTPayload): { issuedAt: number; expiresAt: number } {
  // Both are required and numeric by the time a token is verified.
  return { issuedAt: (payload.iat ?? 0) * 1000, expiresAt: (payload.exp ?? 0) * 1000 };
}

/** The facts of a web-identity token, as trust policies see them. */
export function webIdentityFacts(
  payload: JWTPayload,
  mapping: WebIdentityMapping,
  scope: { partition: string; account: string },
): WebIdentityFacts | AuthFailure {
  if (typeof payload.sub !== 'string' || payload.sub === '') return authFailure('token_claim_missing', 'no sub');
  if (!isClaimText(payload.sub)) return authFailure('token_claim_invalid', `sub ${CLAIM_TEXT_RULE}`);
  const aud = payload.aud;
  if (aud === undefined) return authFailure('token_claim_missing', 'no aud');
  if (!(Array.isArray(aud) ? aud.every(isClaimText) : isClaimText(aud))) return authFailure('token_claim_invalid', `aud ${CLAIM_TEXT_RULE}`);
  return { provider: webIdentityProvider(mapping, scope), keyPrefix: mapping.keyPrefix, sub: payload.sub, aud };
}

/** How a workload proved who it is: the issuer that vouched, when, and by what means. */
export interface WorkloadProof {
  readonly issuer: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly authMethods: readonly string[];
}

/**
 * A workload as the first of its issuer's roles whose trust policy admits it, as a web-identity
 * session: the one mapping from a workload (a service-account token or a mesh peer) to a role.
 */
export function workloadPrincipal(mapping: WebIdentityMapping, wi: WebIdentityFacts, resolver: PrincipalResolver, proof: WorkloadProof, now: number): PrincipalOutcome {
  for (const roleName of mapping.roles) {
    const role = resolver.directory.roles.get(roleName);
    if (!role || !webIdentityAllowed(role, wi, now).ok) continue;
    const result = resolver.roleSession(
      { ...proof, authMethods: [...proof.authMethods], mfa: false, type: 'WebIdentity', roleName, sessionName: toSessionName(wi.sub), webIdentity: wi },
      now,
    );
    return result.ok ? result : authFailure('principal_unknown', result.reason);
  }
  return authFailure('principal_unknown', `no role of [${mapping.roles.join(', ')}] trusts ${wi.sub}`);
}

/** Builds the principal a verified token stands for, at time `now`. */
export function principalFromToken(
  issuer: string,
  kind: IssuerKind,
  payload: JWTPayload,
  resolver: PrincipalResolver,
  now: number,
  clockToleranceSeconds: number,
): PrincipalOutcome {
  const { issuedAt, expiresAt } = times(payload);
  switch (kind.kind) {
    case 'session': {
      const c = readSessionClaims(payload);
      if (!c) return authFailure('token_claim_invalid', 'the iamgate claim is malformed');
      const common = {
        issuer,
        issuedAt,
        expiresAt,
        mfa: c.mfa,
        ...(c.mfaAt !== undefined ? { mfaAt: c.mfaAt * 1000 } : {}),
        authMethods: c.amr,
        ...(c.sourceIdentity !== undefined ? { sourceIdentity: c.sourceIdentity } : {}),
      };
      const result =
        c.kind === 'user'
          ? resolver.user({ ...common, userName: c.name }, now)
          : resolver.roleSession(
              {
                ...common,
                type: 'AssumedRole',
                roleName: c.name,
                sessionName: c.session ?? '',
                ...(c.policy !== undefined ? { sessionPolicy: c.policy } : {}),
                ...(c.tags !== undefined ? { sessionTags: c.tags } : {}),
                ...(c.webIdentity !== undefined ? { webIdentity: c.webIdentity } : {}),
              },
              now,
            );
      return result.ok ? result : authFailure('principal_unknown', result.reason);
    }
    case 'workload': {
      const wi = webIdentityFacts(payload, kind.webIdentity, resolver.directory);
      if ('ok' in wi) return wi;
      return workloadPrincipal(kind.webIdentity, wi, resolver, { issuer, issuedAt, expiresAt, authMethods: ['web-identity'] }, now);
    }
    case 'user': {
      const m = kind.claims;
      const userName = payload[m.user];
      if (typeof userName !== 'string' || userName === '') return authFailure('token_claim_missing', `no ${m.user} claim`);
      if (!isClaimText(userName)) return authFailure('token_claim_invalid', `${m.user} ${CLAIM_TEXT_RULE}`);
      const groups = m.groups === undefined ? undefined : stringList(payload[m.groups]);
      // Entries, made an object by Object.fromEntries: an assignment would drop a tag named __proto__.
      const asserted: [string, string][] = [];
      for (const [tag, claim] of Object.entries(m.tags)) {
        const v = Object.hasOwn(payload, claim) ? payload[claim] : undefined;
        if (typeof v === 'number' || typeof v === 'boolean') asserted.push([tag, String(v)]);
        else if (typeof v === 'string') {
          if (!isClaimText(v) && v !== '') return authFailure('token_claim_invalid', `${claim} ${CLAIM_TEXT_RULE}`);
          asserted.push([tag, v]);
        }
      }
      const tags = Object.fromEntries(asserted);
      const amr = stringList(payload['amr']) ?? [];
      const mfa = m.amrMfa && amr.some((a) => MFA_METHODS.has(a));
      // When the second factor was presented: auth_time (OpenID Connect), else the issue time. The
      // provider authenticates before it issues, so an auth_time after iat (or not a number) is no
      // time to count an MFA age from: read as written, it held the age at 0 while the token lived.
      // A provider whose servers' clocks differ may write one a little after iat: within the issuer's
      // clock tolerance it is taken as iat, the older of the two, so the age is never understated.
      const rawAuthTime = payload['auth_time'];
      const writtenAuthTime = rawAuthTime === undefined ? issuedAt : typeof rawAuthTime === 'number' ? rawAuthTime * 1000 : NaN;
      if (mfa && !(writtenAuthTime <= issuedAt + clockToleranceSeconds * 1000)) {
        return authFailure('token_claim_invalid', 'auth_time is not a time at or before iat');
      }
      const authTime = Math.min(writtenAuthTime, issuedAt);
      const result = resolver.user(
        {
          issuer,
          issuedAt,
          expiresAt,
          mfa,
          ...(mfa ? { mfaAt: authTime } : {}),
          authMethods: amr,
          userName,
          ...(groups ? { groups } : {}),
          tags,
        },
        now,
      );
      return result.ok ? result : authFailure('principal_unknown', `${result.reason}: ${userName}`);
    }
  }
}
