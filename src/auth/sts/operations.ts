// The STS actions as plain functions of a verified caller and a checked input: GetSessionToken,
// AssumeRole, AssumeRoleWithWebIdentity, MFA enrolment, session revocation. They return values
// (never throw for denials) and report each outcome as an event for the audit trail.
import { parsePolicy, type ContextValue, type Finding } from '../../policy/index.js';
import { assumedRoleArn, revocableArn, roleByArn, type Directory, type DirectoryRole, type Principal, type PrincipalResolver } from '../../identity/index.js';
import { webIdentityFacts } from '../claims.js';
import type { AuthConfig } from '../config.js';
import type { SigningKeyRing } from '../keys/signing.js';
import type { Revocations } from '../revocation.js';
import { mintSessionToken, type SessionClaims } from '../session-token.js';
import type { Totp } from '../totp.js';
import { assumeRoleAllowed, assumeRoleContext, canPresentMfa, noSuchRole, timeKeys, webIdentityAllowed } from '../trust.js';
import type { TokenAuthenticator } from '../authenticator.js';
import { type StsErrorCode } from '../../errors/index.js';
import { answeredCode, type StsReason } from './errors.js';
import type { Context } from 'hono';
import { isSourceIdentity, type AssumeRoleInput, type CommonInput, type WebIdentityInput } from './input.js';
import { createContext, evaluate, withFreshMfa, type RequestContext } from '../../policy/index.js';

export type StsAction = 'GetSessionToken' | 'AssumeRole' | 'AssumeRoleWithWebIdentity' | 'EnrollMfa' | 'ConfirmMfa' | 'RevokeSessions';

/** One STS outcome, for the audit trail (never a token, code or secret). */
export interface StsEvent {
  readonly action: StsAction;
  readonly outcome: 'allowed' | 'denied';
  /** Why a call was denied: the precise reason, which the caller's answer may not say (`StsDenialReason`). */
  readonly code?: string;
  /** What the operator's log line adds to a denial's reason (which decision refused it), never anything the caller sent. */
  readonly detail?: string;
  readonly caller?: string;
  readonly target?: string;
  readonly sessionArn?: string;
  readonly mfa?: boolean;
  readonly expiresAt?: number;
  /** `aws:SourceIp` of the call, when it came over the network. */
  readonly sourceIp?: string;
  /** The call's request id, as its answer carries it. */
  readonly requestId?: string;
  /** The source identity the session carries (set by the call or through role chaining), or the one a refused call asked for (the caller's own when it carries one). */
  readonly sourceIdentity?: string;
}

export interface StsDeps {
  readonly config: AuthConfig;
  readonly authenticator: TokenAuthenticator;
  readonly resolver: () => PrincipalResolver;
  /** Whether `resolver` has a directory to give: none until the first policies are loaded. */
  readonly loaded?: () => boolean;
  readonly signing: SigningKeyRing;
  readonly totp: Totp;
  readonly revocations: Revocations;
  readonly now?: () => number;
  readonly onEvent?: (event: StsEvent) => void;
  /**
   * The call's own global condition keys (aws:SourceIp, aws:SecureTransport, aws:UserAgent, ...),
   * read from the request by the front door that received it. Without it a caller's Deny on where
   * or how a call comes would pass over STS calls as over a key that is missing.
   */
  readonly requestKeys?: (c: Context) => Readonly<Record<string, ContextValue>>;
  /** Names each call (default: a fresh id source); the id is in its answer and in each of its records. */
  readonly requestId?: () => string;
  /** The header that carries a call's request id on its answer, as on every answer of the gateway. */
  readonly requestIdHeader?: string;
  /**
   * How many Authorization header lines the call carries, as the front door that received it counts
   * them (a Headers object joins repeated lines into one value); without it, one.
   */
  readonly authorizationLines?: (c: Context) => number;
}

/** A call's own condition keys (`StsDeps.requestKeys`), merged into every evaluation the call makes. */
export type RequestKeys = Readonly<Record<string, ContextValue>>;


export type StsFailure = {
  readonly ok: false;
  readonly code: StsErrorCode;
  readonly detail?: string;
  readonly retryAfterSeconds?: number;
  readonly findings?: readonly Finding[];
  /** For a denied web identity: the authentication reason code. */
  readonly reason?: string;
};
export type StsResult<T> = { readonly ok: true; readonly value: T } | StsFailure;

export interface IssuedCredentials {
  readonly token: string;
  readonly expiresAt: number;
  readonly principalArn: string;
  readonly principalId: string;
  /** The session's source identity, when it has one. */
  readonly sourceIdentity?: string;
}

const ROLE_CHAINING_MAX_SECONDS = 3600;

/** A call's session tags as the trust policy reads them: `aws:RequestTag/KEY` and `aws:TagKeys`. */
function requestTagKeys(tags: Readonly<Record<string, string>>): Record<string, ContextValue> {
  const keys: Record<string, ContextValue> = { 'aws:TagKeys': Object.keys(tags) };
  for (const [k, v] of Object.entries(tags)) keys[`aws:RequestTag/${k}`] = v;
  return keys;
}

/** The claim of a web identity token that sets the session's source identity, as AWS names it. */
const SOURCE_IDENTITY_CLAIM = 'https://aws.amazon.com/source_identity';

/** The actions a call needs on the role: its own, sts:TagSession with tags, sts:SetSourceIdentity with a source identity. */
function assumeRoleActions<A extends string>(action: A, tags: boolean, sourceIdentity: boolean): (A | 'sts:TagSession' | 'sts:SetSourceIdentity')[] {
  const actions: (A | 'sts:TagSession' | 'sts:SetSourceIdentity')[] = [action];
  if (tags) actions.push('sts:TagSession');
  if (sourceIdentity) actions.push('sts:SetSourceIdentity');
  return actions;
}

export interface StsOperations {
  getSessionToken(caller: Principal, input: CommonInput): Promise<StsResult<IssuedCredentials>>;
  assumeRole(caller: Principal, input: AssumeRoleInput, keys?: RequestKeys): Promise<StsResult<IssuedCredentials>>;
  assumeRoleWithWebIdentity(input: WebIdentityInput, keys?: RequestKeys): Promise<StsResult<IssuedCredentials>>;
  enrollMfa(caller: Principal, keys?: RequestKeys): Promise<StsResult<{ secret: string; uri: string }>>;
  confirmMfa(caller: Principal, code: string, keys?: RequestKeys): Promise<StsResult<{ enrolled: true }>>;
  revokeSessions(caller: Principal, subjectArn: string, before: number, keys?: RequestKeys): Promise<StsResult<{ before: number }>>;
}

/** Creates the STS operations over the directory, keys, TOTP and revocation list. */
export function createStsOperations(deps: StsDeps): StsOperations {
  const now = deps.now ?? Date.now;
  const { sts } = deps.config;
  const emit = deps.onEvent ?? (() => undefined);

  const deny = <T>(
    action: StsAction,
    reason: StsReason,
    extra: Omit<StsFailure, 'ok' | 'code'> & { caller?: string; target?: string; sourceIdentity?: string | undefined } = {},
  ): StsResult<T> => {
    const { caller, target, sourceIdentity, ...rest } = extra;
    emit({
      action,
      outcome: 'denied',
      code: reason,
      ...(caller !== undefined ? { caller } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
      ...(rest.detail !== undefined ? { detail: rest.detail } : {}),
    });
    return { ok: false, code: answeredCode(reason), ...rest };
  };

  const mint = async (subject: string, claims: SessionClaims, ttlSeconds: number, t: number) =>
    mintSessionToken({ ring: deps.signing, issuer: sts.issuer, audience: sts.audience, subject, claims, now: t, ttlSeconds });

  /** Verifies a TOTP code for a user; maps TOTP failures to STS codes. */
  const checkCode = async (action: StsAction, caller: Principal, code: string): Promise<StsResult<{ at: number }>> => {
    const result = await deps.totp.verify(caller.arn, code);
    if (result.ok) return { ok: true, value: { at: result.at } };
    return deny(action, result.code, { caller: caller.arn, ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}) });
  };

  /**
   * Whether the caller's own policies (identity, boundary, session) allow `action` on `resource`,
   * read with the call's keys: the calls that act on the caller's account rather than assume a role.
   */
  const callerAllowed = (caller: Principal, action: string, resource: string, keys: RequestKeys): boolean =>
    evaluate(caller.policySet, {
      principal: caller.arn,
      action,
      resource,
      context: createContext({ ...caller.context, ...timeKeys(now()), ...keys }),
    }).decision === 'Allow';

  const findRole = (arn: string): DirectoryRole | undefined => roleByArn(deps.resolver().directory, arn);

  const sessionPolicy = (action: StsAction, policy: string | undefined, caller?: string): StsResult<undefined> => {
    if (policy === undefined) return { ok: true, value: undefined };
    if (policy.length > sts.maxSessionPolicyChars) return deny(action, 'session_policy_too_large', { ...(caller !== undefined ? { caller } : {}), detail: `${policy.length} > ${sts.maxSessionPolicyChars}` });
    const { policy: parsed, findings } = parsePolicy(policy, { kind: 'session' });
    if (!parsed) return deny(action, 'session_policy_invalid', { ...(caller !== undefined ? { caller } : {}), findings: findings.filter((f) => f.severity === 'error') });
    return { ok: true, value: undefined };
  };

  const issued = (
    action: StsAction,
    caller: string | undefined,
    principalArn: string,
    principalId: string,
    minted: { token: string; expiresAt: number },
    mfa: boolean,
    sourceIdentity?: string,
  ): StsResult<IssuedCredentials> => {
    const source = sourceIdentity !== undefined ? { sourceIdentity } : {};
    emit({ action, outcome: 'allowed', ...(caller !== undefined ? { caller } : {}), sessionArn: principalArn, mfa, expiresAt: minted.expiresAt, ...source });
    return { ok: true, value: { token: minted.token, expiresAt: minted.expiresAt, principalArn, principalId, ...source } };
  };

  return {
    async getSessionToken(caller, input) {
      if (caller.type !== 'User') return deny('GetSessionToken', 'caller_not_user', { caller: caller.arn });
      if (input.tokenCode === undefined) return deny('GetSessionToken', 'mfa_required', { caller: caller.arn });
      const mfa = await checkCode('GetSessionToken', caller, input.tokenCode);
      if (!mfa.ok) return mfa;
      const ttl = Math.min(input.durationSeconds ?? sts.defaultDurationSeconds, sts.maxSessionTokenSeconds);
      const t = now();
      const minted = await mint(caller.arn, { kind: 'user', name: caller.name, mfa: true, mfaAt: Math.floor(mfa.value.at / 1000), amr: ['otp', 'mfa'] }, ttl, t);
      return issued('GetSessionToken', caller.arn, caller.arn, caller.userId, minted, true);
    },

    async assumeRole(caller, input, keys = {}) {
      // Everything the call itself gets wrong (its session policy, its code) is answered before the
      // role is looked up, so that no answer differs between a role that exists and one that does not.
      const policyCheck = sessionPolicy('AssumeRole', input.policy, caller.arn);
      if (!policyCheck.ok) return policyCheck;
      // A source identity, once set, holds for the session and every session chained from it: a
      // call may repeat it but never name another ("The value that is set cannot be changed"). The
      // refusal's record names the one the caller carries: the value asked for is the caller's
      // word, and recording it would attribute the attempt to someone else.
      const carried = caller.sourceIdentity;
      if (carried !== undefined && input.sourceIdentity !== undefined && input.sourceIdentity !== carried) {
        return deny('AssumeRole', 'source_identity_immutable', { caller: caller.arn, target: input.roleArn, sourceIdentity: carried });
      }
      const sourceIdentity = carried ?? input.sourceIdentity;

      let mfa = caller.mfa;
      let mfaAt = caller.mfaAt;
      if (input.tokenCode !== undefined) {
        if (!canPresentMfa(caller)) return deny('AssumeRole', 'caller_not_user', { caller: caller.arn, detail: 'only users have MFA devices' });
        const checked = await checkCode('AssumeRole', caller, input.tokenCode);
        if (!checked.ok) return checked;
        mfa = true;
        mfaAt = checked.value.at;
      }
      // An unknown role is decided as a role that trusts no one, through the same decisions, so that
      // roles cannot be enumerated by the answer or by its time; its record says why.
      const role = findRole(input.roleArn);
      const decided = role ?? noSuchRole(input.roleArn);
      const t = now();
      const extra: Record<string, ContextValue> = { ...keys, 'aws:MultiFactorAuthPresent': mfa };
      if (mfa && mfaAt !== undefined) extra['aws:MultiFactorAuthAge'] = Math.max(0, Math.floor((t - mfaAt) / 1000));
      if (input.tags) Object.assign(extra, requestTagKeys(input.tags));
      // The source identity the session will carry is `sts:SourceIdentity` in every decision of the
      // call, and needs sts:SetSourceIdentity, a carried one as well as a new one: the trust policy
      // of each role in a chain decides whether a session with that source identity may enter.
      if (sourceIdentity !== undefined) extra['sts:SourceIdentity'] = sourceIdentity;
      const actions = assumeRoleActions('sts:AssumeRole', input.tags !== undefined, sourceIdentity !== undefined);
      /** The first of the call's actions refused with these keys, and why; undefined when all are allowed. */
      const refused = (context: RequestContext) => {
        for (const action of actions) {
          const trust = assumeRoleAllowed(caller, decided, context, action);
          if (!trust.ok) return { action, code: trust.code, decision: trust.decision.decision };
        }
        return undefined;
      };
      const context = assumeRoleContext(caller, extra, t);
      const refusal = refused(context);
      if (refusal || !role) {
        // mfa_required only where a code sent now (MFA present, age 0) would let the whole call
        // through, as a proxied request's 403 says it: an MFA condition the refusal merely met on
        // its way (the caller's own policy asking for MFA on every role) would tell the caller that
        // a role exists whose trust policy will never admit it, where no role is access_denied.
        // And only to a caller that can send a code: a role session cannot add a second factor
        // (its MFA is the one its session started with), so it is refused as for any other want.
        const codeWouldDo = !mfa && refused(withFreshMfa(context)) === undefined;
        const reason = !role || !refusal ? 'role_unknown' : !codeWouldDo ? refusal.code : canPresentMfa(caller) ? 'mfa_required' : 'session_without_mfa';
        const detail = refusal ? { detail: `${refusal.action}: ${refusal.decision}` } : {};
        return deny('AssumeRole', reason, { caller: caller.arn, target: decided.arn, ...detail, sourceIdentity });
      }

      const chained = caller.type !== 'User';
      const cap = chained ? Math.min(role.maxSessionSeconds, ROLE_CHAINING_MAX_SECONDS) : role.maxSessionSeconds;
      const ttl = Math.min(input.durationSeconds ?? sts.defaultDurationSeconds, cap);
      const claims: SessionClaims = {
        kind: 'role',
        name: role.name,
        session: input.sessionName,
        mfa,
        ...(mfa && mfaAt !== undefined ? { mfaAt: Math.floor(mfaAt / 1000) } : {}),
        amr: mfa ? ['mfa'] : [],
        ...(input.tags ? { tags: input.tags } : {}),
        ...(input.policy !== undefined ? { policy: input.policy } : {}),
        ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
      };
      const arn = assumedRoleArn(deps.resolver().directory, role.name, input.sessionName);
      const minted = await mint(arn, claims, ttl, t);
      return issued('AssumeRole', caller.arn, arn, `${role.id}:${input.sessionName}`, minted, mfa, sourceIdentity);
    },

    async assumeRoleWithWebIdentity(input, keys = {}) {
      const verified = await deps.authenticator.verifyWebIdentityToken(input.webIdentityToken);
      if (!verified.ok) {
        const code = verified.status === 503 ? 'identity_key_unavailable' : 'invalid_identity_token';
        return deny('AssumeRoleWithWebIdentity', code, { target: input.roleArn, reason: verified.code });
      }
      const mapping = verified.issuer.webIdentity!;
      const wi = webIdentityFacts(verified.payload, mapping, deps.resolver().directory);
      if ('ok' in wi) return deny('AssumeRoleWithWebIdentity', 'invalid_identity_token', { target: input.roleArn, reason: wi.code });
      const caller = `${wi.provider}:${wi.sub}`;
      // The session policy is read before the role is looked up, as for AssumeRole.
      const policyCheck = sessionPolicy('AssumeRoleWithWebIdentity', input.policy, caller);
      if (!policyCheck.ok) return policyCheck;
      const claimed = verified.payload[SOURCE_IDENTITY_CLAIM];
      if (claimed !== undefined && !isSourceIdentity(claimed)) {
        return deny('AssumeRoleWithWebIdentity', 'invalid_identity_token', { caller, target: input.roleArn, reason: 'source_identity_invalid' });
      }
      const sourceIdentity = claimed;
      // An unknown role is decided as a role that trusts no one, as for AssumeRole.
      const role = findRole(input.roleArn);
      const decided = role ?? noSuchRole(input.roleArn);
      const t = now();
      // Session tags become principal tags over the role's: the trust policy must allow them too.
      // A source identity claimed by the token needs sts:SetSourceIdentity for the provider too.
      const extra: Record<string, ContextValue> = { ...keys, ...(input.tags ? requestTagKeys(input.tags) : {}) };
      if (sourceIdentity !== undefined) extra['sts:SourceIdentity'] = sourceIdentity;
      const actions = assumeRoleActions('sts:AssumeRoleWithWebIdentity', input.tags !== undefined, sourceIdentity !== undefined);
      const refusedAction = actions.find((action) => !webIdentityAllowed(decided, wi, t, extra, action).ok);
      if (refusedAction !== undefined || !role) {
        const detail = refusedAction !== undefined ? { detail: `${refusedAction} not allowed` } : {};
        return deny('AssumeRoleWithWebIdentity', role ? 'trust_policy_denied' : 'role_unknown', { caller, target: decided.arn, ...detail, sourceIdentity });
      }
      const ttl = Math.min(input.durationSeconds ?? sts.defaultDurationSeconds, role.maxSessionSeconds);
      const arn = assumedRoleArn(deps.resolver().directory, role.name, input.sessionName);
      const minted = await mint(
        arn,
        {
          kind: 'role',
          name: role.name,
          session: input.sessionName,
          mfa: false,
          amr: ['web-identity'],
          ...(input.tags ? { tags: input.tags } : {}),
          ...(input.policy !== undefined ? { policy: input.policy } : {}),
          ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
          webIdentity: wi,
        },
        ttl,
        t,
      );
      return issued('AssumeRoleWithWebIdentity', caller, arn, `${role.id}:${input.sessionName}`, minted, false, sourceIdentity);
    },

    // Enrolling a device is what turns a first factor into two: a stolen first-factor token must
    // not be enough. Both steps are IAM actions on the caller's own user ARN, decided by its own
    // policies (as iam:CreateVirtualMFADevice and iam:EnableMFADevice are in AWS), so an operator
    // says who may enrol, from where and when; no policy allowing them, no one enrols.
    async enrollMfa(caller, keys = {}) {
      if (caller.type !== 'User') return deny('EnrollMfa', 'caller_not_user', { caller: caller.arn });
      if (!callerAllowed(caller, 'iamgate:EnrollMfa', caller.arn, keys)) return deny('EnrollMfa', 'caller_not_allowed', { caller: caller.arn });
      const result = await deps.totp.enroll(caller.arn, caller.name);
      if (!result.ok) return deny('EnrollMfa', result.code, { caller: caller.arn });
      emit({ action: 'EnrollMfa', outcome: 'allowed', caller: caller.arn });
      return { ok: true, value: { secret: result.secret, uri: result.uri } };
    },

    async confirmMfa(caller, code, keys = {}) {
      if (caller.type !== 'User') return deny('ConfirmMfa', 'caller_not_user', { caller: caller.arn });
      if (!callerAllowed(caller, 'iamgate:ConfirmMfa', caller.arn, keys)) return deny('ConfirmMfa', 'caller_not_allowed', { caller: caller.arn });
      const result = await deps.totp.confirm(caller.arn, code);
      if (!result.ok) {
        return deny('ConfirmMfa', result.code, { caller: caller.arn, ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}) });
      }
      emit({ action: 'ConfirmMfa', outcome: 'allowed', caller: caller.arn, mfa: true });
      return { ok: true, value: { enrolled: true } };
    },

    async revokeSessions(caller, subjectArn, before, keys = {}) {
      if (!callerAllowed(caller, 'iamgate:RevokeSessions', subjectArn, keys)) return deny('RevokeSessions', 'caller_not_allowed', { caller: caller.arn, target: subjectArn });
      if (!revocableArn(deps.resolver().directory, subjectArn)) {
        return deny('RevokeSessions', 'invalid_request', { caller: caller.arn, target: subjectArn, detail: 'PrincipalArn names no user, role or role session of the directory' });
      }
      try {
        await deps.revocations.revoke(subjectArn, before);
      } catch {
        return deny('RevokeSessions', 'state_unavailable', { caller: caller.arn, target: subjectArn });
      }
      emit({ action: 'RevokeSessions', outcome: 'allowed', caller: caller.arn, target: subjectArn });
      return { ok: true, value: { before } };
    },
  };
}
