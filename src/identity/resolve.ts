// Turns verified facts about a caller into a Principal: a directory user (with groups asserted by
// its identity provider added), a role session (with its session policy and session tags), or a
// workload acting as a role. Policy sets come precompiled from the directory; the few that depend
// on the caller (extra groups, session policies) are compiled once and kept in a bounded map.
import { parsePolicy } from '../policy/index.js';
import { overrideTags, principalContext, type WebIdentityFacts } from './context.js';
import { buildPolicySet, compileRef, sha256 } from './fingerprint.js';
import { assumedRoleArn, SESSION_NAME } from './names.js';
import type { Directory, DirectoryRole, PolicyRef, Principal } from './types.js';

/** How the caller authenticated; common to every kind of principal. */
export interface AuthFacts {
  readonly issuer: string;
  /** Epoch ms. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly mfa: boolean;
  readonly mfaAt?: number;
  readonly authMethods: readonly string[];
  readonly sourceIdentity?: string;
}

export interface UserFacts extends AuthFacts {
  readonly userName: string;
  /** Directory groups the identity provider says the user belongs to (unknown names are ignored). */
  readonly groups?: readonly string[];
  /** Tags asserted by the token; they override the directory's tags of the same key, in any case. */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface RoleSessionFacts extends AuthFacts {
  readonly roleName: string;
  readonly sessionName: string;
  /** `WebIdentity` for a workload mapped to the role per request; `AssumedRole` otherwise. */
  readonly type: 'AssumedRole' | 'WebIdentity';
  /** A session policy document (JSON text): the session can do at most what it allows. */
  readonly sessionPolicy?: string;
  /** Session tags; they override the role's tags of the same key, in any case. */
  readonly sessionTags?: Readonly<Record<string, string>>;
  readonly webIdentity?: WebIdentityFacts;
}

export type ResolveResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'user_unknown' | 'role_unknown' | 'session_name_invalid' | 'session_policy_invalid' };

export interface PrincipalResolver {
  readonly directory: Directory;
  user(facts: UserFacts, now: number): ResolveResult;
  roleSession(facts: RoleSessionFacts, now: number): ResolveResult;
  /** Compiles a session policy (JSON text) once; undefined when it is not a valid identity policy. */
  sessionPolicy(text: string): PolicyRef | undefined;
}

type CompiledSet = Pick<Principal, 'policySet' | 'fingerprint'>;

/** A Map that forgets its oldest entries beyond `max`. */
class Bounded<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly max: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): V {
    if (this.#map.size >= this.max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
    return value;
  }
}

/** Creates the resolver for one directory (replace both together on reload). */
export function createPrincipalResolver(directory: Directory, options: { maxCachedSets?: number } = {}): PrincipalResolver {
  const max = options.maxCachedSets ?? 2000;
  const sets = new Bounded<CompiledSet>(max);
  const sessionPolicies = new Bounded<PolicyRef | null>(max);

  const sessionPolicy = (text: string): PolicyRef | undefined => {
    const key = sha256(text);
    const cached = sessionPolicies.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const { policy } = parsePolicy(text, { kind: 'session' });
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      document = undefined;
    }
    const ref = policy ? compileRef(policy, document, 'session', 'session') : undefined;
    sessionPolicies.set(key, ref ?? null);
    return ref;
  };

  const roleSet = (role: DirectoryRole, session: PolicyRef | undefined): CompiledSet => {
    if (!session) return role;
    const key = `r\u0000${role.name}\u0000${session.digest}`;
    return (
      sets.get(key) ?? sets.set(key, buildPolicySet({ identity: role.policies, boundary: role.boundary, session: [session] }))
    );
  };

  return {
    directory,
    sessionPolicy,

    user(facts, now) {
      const user = directory.users.get(facts.userName);
      if (!user) return { ok: false, reason: 'user_unknown' };
      const extra = [...new Set(facts.groups ?? [])].filter((g) => directory.groups.has(g) && !user.groups.includes(g)).sort();
      let compiled: CompiledSet = user;
      if (extra.length > 0) {
        const key = `u\u0000${user.name}\u0000${extra.join('\u0000')}`;
        compiled =
          sets.get(key) ??
          sets.set(
            key,
            buildPolicySet({
              identity: [
                ...user.policies,
                ...[...user.groups, ...extra].flatMap((g) => directory.groups.get(g)!.policies),
                ...(user.mfaRequired ? [directory.mfaRequiredPolicy] : []),
              ],
              boundary: user.boundary,
            }),
          );
      }
      const tags = overrideTags(user.tags, facts.tags);
      const principal: Principal = {
        arn: user.arn,
        type: 'User',
        accountId: directory.account,
        name: user.name,
        groups: extra.length > 0 ? [...user.groups, ...extra] : user.groups,
        userId: user.id,
        ...(facts.sourceIdentity !== undefined ? { sourceIdentity: facts.sourceIdentity } : {}),
        policySet: compiled.policySet,
        fingerprint: compiled.fingerprint,
        context: principalContext(
          {
            type: 'User',
            arn: user.arn,
            principalArn: user.arn,
            account: directory.account,
            userId: user.id,
            userName: user.name,
            tags,
            mfa: facts.mfa,
            ...(facts.mfaAt !== undefined ? { mfaAt: facts.mfaAt } : {}),
            issuedAt: facts.issuedAt,
            ...(facts.sourceIdentity !== undefined ? { sourceIdentity: facts.sourceIdentity } : {}),
          },
          now,
        ),
        ...authPart(facts),
      };
      return { ok: true, principal };
    },

    roleSession(facts, now) {
      const role = directory.roles.get(facts.roleName);
      if (!role) return { ok: false, reason: 'role_unknown' };
      if (!SESSION_NAME.test(facts.sessionName)) return { ok: false, reason: 'session_name_invalid' };
      let session: PolicyRef | undefined;
      if (facts.sessionPolicy !== undefined) {
        session = sessionPolicy(facts.sessionPolicy);
        if (!session) return { ok: false, reason: 'session_policy_invalid' };
      }
      const compiled = roleSet(role, session);
      const arn = assumedRoleArn(directory, role.name, facts.sessionName);
      const userId = `${role.id}:${facts.sessionName}`;
      const principal: Principal = {
        arn,
        type: facts.type,
        accountId: directory.account,
        name: role.name,
        sessionName: facts.sessionName,
        roleArn: role.arn,
        userId,
        ...(facts.sourceIdentity !== undefined ? { sourceIdentity: facts.sourceIdentity } : {}),
        policySet: compiled.policySet,
        fingerprint: compiled.fingerprint,
        context: principalContext(
          {
            type: facts.type,
            arn,
            principalArn: role.arn,
            account: directory.account,
            userId,
            sessionName: facts.sessionName,
            tags: overrideTags(role.tags, facts.sessionTags),
            mfa: facts.mfa,
            ...(facts.mfaAt !== undefined ? { mfaAt: facts.mfaAt } : {}),
            issuedAt: facts.issuedAt,
            ...(facts.sourceIdentity !== undefined ? { sourceIdentity: facts.sourceIdentity } : {}),
            ...(facts.webIdentity ? { webIdentity: facts.webIdentity } : {}),
          },
          now,
        ),
        ...authPart(facts),
      };
      return { ok: true, principal };
    },
  };
}

function authPart(f: AuthFacts): Pick<Principal, 'mfa' | 'mfaAt' | 'issuedAt' | 'expiresAt' | 'issuer' | 'authMethods'> {
  return {
    mfa: f.mfa,
    ...(f.mfa && f.mfaAt !== undefined ? { mfaAt: f.mfaAt } : {}),
    issuedAt: f.issuedAt,
    expiresAt: f.expiresAt,
    issuer: f.issuer,
    authMethods: f.authMethods,
  };
}

/** The principal as of `now`: only `aws:MultiFactorAuthAge` moves with time. */
export function principalAt(principal: Principal, now: number): Principal {
  if (!principal.mfa || principal.mfaAt === undefined) return principal;
  const age = Math.max(0, Math.floor((now - principal.mfaAt) / 1000));
  if (principal.context['aws:MultiFactorAuthAge'] === age) return principal;
  return { ...principal, context: { ...principal.context, 'aws:MultiFactorAuthAge': age } };
}
