// The decision cache behind the gateway's cache seam (`DecisionCache` of src/gateway/cache.ts):
// the query's fingerprint, policy digest, principal, action, resource and readable context keys
// become an exact key; an L1 hit is answered synchronously, L2 only when it pays off.
import type { DecisionCache as CacheSeam, DecisionQuery } from '../gateway/cache.js';
import type { Decision } from '../policy/index.js';
import type { DecisionCache } from './cache.js';
import { createDecisionKeys, type DecisionKeys } from './key.js';

/** The gateway's seam, whose `set` also takes how long the fresh evaluation took (µs). */
export interface GatewayDecisionCache extends CacheSeam {
  set(query: DecisionQuery, decision: Decision, evalMicros?: number): void;
}

/** Adapts a decision cache to the gateway's seam; keys are built once per query and memoised per policy set. */
export function gatewayDecisionCache(cache: DecisionCache, keys: DecisionKeys = createDecisionKeys()): GatewayDecisionCache {
  // get and set of one request receive the same query object: build its key once.
  const built = new WeakMap<DecisionQuery, string | null>();
  const keyOf = (q: DecisionQuery): string | undefined => {
    let key = built.get(q);
    if (key === undefined) {
      const r = q.request;
      key =
        keys.key({ fingerprint: q.fingerprint, generation: q.policyDigest, principal: r.principal, action: r.action, resource: r.resource, context: r.context, keys: q.keys }) ??
        null;
      built.set(q, key);
    }
    return key ?? undefined;
  };
  return {
    get(query) {
      const key = keyOf(query);
      return key === undefined ? undefined : cache.lookup(key, { scope: query.fingerprint });
    },
    set(query, decision, evalMicros) {
      const key = keyOf(query);
      if (key === undefined) return;
      cache.set(key, { decision }, evalMicros === undefined ? { scope: query.fingerprint } : { scope: query.fingerprint, evalMicros });
    },
  };
}
