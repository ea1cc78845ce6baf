// The decision-cache seam. The pipeline asks before evaluating and offers every fresh decision;
// the cache decides what to keep and for how long. The default keeps nothing.
import type { AuthzRequest, Decision } from '../policy/index.js';

/** Everything a decision depends on, for building an exact cache key. */
export interface DecisionQuery {
  /** The principal's policy-set fingerprint (policies, boundary, session policies, groups). */
  readonly fingerprint: string;
  /** Content digest of the loaded policies; entries made under another digest must never be served. */
  readonly policyDigest: string;
  readonly request: AuthzRequest;
  /** Lower-case context keys the policy set can read: the only context values the decision depends on. */
  readonly keys: ReadonlySet<string>;
  /** Epoch ms when the request arrived (time-varying keys were computed from it). */
  readonly now: number;
}

export type CacheLevel = 'l1' | 'l2';

export interface CachedDecision {
  readonly decision: Decision;
  readonly level: CacheLevel;
}

export interface DecisionCache {
  /** A cached decision for exactly this query, or undefined. Errors must surface as a miss, never as a throw. */
  get(query: DecisionQuery): CachedDecision | undefined | Promise<CachedDecision | undefined>;
  /** Offers a fresh decision and how long evaluating it took (µs); the cache may keep it. Never throws. */
  set(query: DecisionQuery, decision: Decision, evalMicros?: number): void;
}

/** A cache that keeps nothing: every request is evaluated. */
export const NO_DECISION_CACHE: DecisionCache = {
  get: () => undefined,
  set: () => undefined,
};
