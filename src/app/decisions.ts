// The decision cache behind the gateway's cache seam (`DecisionCache` of src/gateway/cache.ts):
// the query's fingerprint, policy digest, principal, action, resource and readable context keys
// become an exact key; an L1 hit is answered synchronously, L2 only when it pays off.
import type { DecisionCache, DecisionKey } from '../cache/index.js';
import type { DecisionCache as CacheSeam, DecisionQuery } from '../gateway/index.js';
import { DecisionKeyMemo } from './decision-keys.js';

/** The gateway's seam (its `set` also takes how long the fresh evaluation took, µs). */
export type GatewayDecisionCache = CacheSeam;

/** Adapts a decision cache to the gateway's seam. */
export function gatewayDecisionCache(cache: DecisionCache): GatewayDecisionCache {
  const memo = new DecisionKeyMemo((q) => {
    const r = q.request;
    return cache.keyOf({ fingerprint: q.fingerprint, generation: q.policyDigest, principal: r.principal, action: r.action, resource: r.resource, context: r.context, keys: q.keys });
  });
  // get and set of one request receive the same query object, one after the other for a miss
  // evaluated at once: the last query's key is kept (a query seen again after another is keyed again).
  let lastQuery: DecisionQuery | undefined;
  let lastKey: DecisionKey | undefined;
  const keyOf = (q: DecisionQuery): DecisionKey | undefined => {
    if (q !== lastQuery) {
      lastKey = memo.keyOf(q);
      lastQuery = q;
    }
    return lastKey;
  };
  return {
    get(query) {
      const key = keyOf(query);
      return key === undefined ? undefined : cache.lookup(key);
    },
    set(query, decision, evalMicros) {
      const key = keyOf(query);
      if (key !== undefined) cache.set(key, { decision }, evalMicros === undefined ? {} : { evalMicros });
    },
  };
}
