// The decide stage: cache lookup, evaluation on a miss, and the deny reason a caller is told —
// including `mfa_required`, found by asking whether the same request with a fresh second factor
// would be allowed (exact for both MFA patterns: an Allow conditioned on MFA, and a Deny unless MFA).
import type { Principal } from '../identity/index.js';
import { createPolicySetKeysMemo, evaluate, MFA_KEYS, withFreshMfa, type AuthzRequest, type Decision, type PolicySet } from '../policy/index.js';
import type { CachedDecision, CacheLevel, DecisionCache, DecisionQuery } from './cache.js';
import type { DenyReason } from '../errors/index.js';

export interface Verdict {
  readonly decision: Decision;
  readonly reason: 'allowed' | DenyReason;
  readonly cache: CacheLevel | 'miss';
}

/**
 * Why a deny happened, for the caller: `mfa_required` when a fresh second factor would turn it into
 * an allow. `keys` are the context keys the set reads: a set that reads neither MFA key cannot
 * decide differently with one, so the second evaluation is skipped.
 */
export function denyReason(set: PolicySet, request: AuthzRequest, decision: Decision, keys: ReadonlySet<string>): DenyReason {
  if (keys.has(MFA_KEYS.present) || keys.has(MFA_KEYS.age)) {
    const stepped = evaluate(set, { ...request, context: withFreshMfa(request.context) });
    if (stepped.decision === 'Allow') return 'mfa_required';
  }
  return decision.decision === 'ExplicitDeny' ? 'explicit_deny' : 'implicit_deny';
}

export interface Decider {
  /** Synchronous when the cache answers synchronously (an L1 hit, or no cache): no Promise on the fast path. */
  decide(principal: Principal, request: AuthzRequest, policyDigest: string, now: number): Verdict | Promise<Verdict>;
}

/** Creates the decide stage over a cache; the context keys each policy set can read are computed once per set. */
export function createDecider(cache: DecisionCache): Decider {
  const keysOf = createPolicySetKeysMemo();
  // An L1 entry is one object for every request it answers, and its verdict (the deny reason too:
  // the entry's key covers every input of the decision) is the same each time: built once.
  const verdicts = new WeakMap<CachedDecision, Verdict>();

  /** The verdict from a cached decision, or from a fresh evaluation offered to the cache. */
  const settle = (query: DecisionQuery, set: PolicySet, cached: CachedDecision | undefined): Verdict => {
    if (cached?.level === 'l1') {
      let verdict = verdicts.get(cached);
      if (!verdict) {
        verdict = verdictOf(query, set, cached);
        verdicts.set(cached, verdict);
      }
      return verdict;
    }
    return verdictOf(query, set, cached);
  };

  const verdictOf = (query: DecisionQuery, set: PolicySet, cached: CachedDecision | undefined): Verdict => {
    const { request, keys } = query;
    let decision: Decision;
    if (cached) decision = cached.decision;
    else {
      // Timed so the cache can tell whether a shared-level round trip would cost more than it saves.
      const started = performance.now();
      decision = evaluate(set, request);
      const evalMicros = (performance.now() - started) * 1000;
      try {
        cache.set(query, decision, evalMicros);
      } catch {
        // a failing cache only loses the entry
      }
    }
    const reason = decision.decision === 'Allow' ? 'allowed' : denyReason(set, request, decision, keys);
    return { decision, reason, cache: cached?.level ?? 'miss' };
  };

  return {
    decide(principal, request, policyDigest, now) {
      const set = principal.policySet;
      const query: DecisionQuery = { fingerprint: principal.fingerprint, policyDigest, request, keys: keysOf(set), now };
      let cached: ReturnType<DecisionCache['get']>;
      try {
        cached = cache.get(query);
      } catch {
        cached = undefined; // a failing cache is a miss
      }
      if (cached instanceof Promise) return cached.then((c) => settle(query, set, c), () => settle(query, set, undefined));
      return settle(query, set, cached);
    },
  };
}
