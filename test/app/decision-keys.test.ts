// The decision keys remembered for requests whose policies read no context key are the keys the
// decision cache makes for them, whatever the mix of policies loaded, policy sets, principals,
// actions and resources, and whatever the context holds; a set that reads context keys is keyed
// from its values every time.
import { describe, expect, it } from 'vitest';
import { DecisionKeyMemo } from '../../src/app/decision-keys.js';
import { createDecisionCache, portableText, type DecisionCache } from '../../src/cache/index.js';
import type { DecisionQuery } from '../../src/gateway/index.js';
import { createContext } from '../../src/policy/index.js';

const NONE: ReadonlySet<string> = new Set();
const READS: ReadonlySet<string> = new Set(['aws:sourceip']);

function keyOf(cache: DecisionCache, q: DecisionQuery) {
  const r = q.request;
  return cache.keyOf({ fingerprint: q.fingerprint, generation: q.policyDigest, principal: r.principal, action: r.action, resource: r.resource, context: r.context, keys: q.keys });
}

/** A deterministic mix of queries, so a failure names the query it failed on. */
function queries(count: number): DecisionQuery[] {
  let seed = 11;
  const pick = <T>(list: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return list[(seed >>> 16) % list.length]!;
  };
  return Array.from({ length: count }, (_, i) => {
    // A fingerprint names one policy set, so it always reads the same keys: fp3's reads aws:SourceIp.
    const fingerprint = pick(['fp1', 'fp2', 'fp3']);
    return {
      fingerprint,
      // The policies are loaded again half-way through.
      policyDigest: i < count / 2 ? 'd1' : 'd2',
      keys: fingerprint === 'fp3' ? READS : NONE,
      now: 0,
      request: {
        principal: pick(['arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/bob']),
        action: pick(['orders:GetOrder', 'orders:DeleteOrder']),
        resource: pick(['arn:aws:orders:::order/1', 'arn:aws:orders:::order/2', 'arn:aws:orders:::order/10']),
        context: createContext({ 'aws:SourceIp': pick(['10.0.0.1', '10.0.0.2']) }),
      },
    };
  });
}

describe('remembered decision keys', () => {
  it('are the keys the cache makes, for every mix of policies, principals, actions, resources and context', () => {
    const cache = createDecisionCache({ now: Date.now });
    let made = 0;
    const memo = new DecisionKeyMemo((q) => {
      made++;
      return keyOf(cache, q);
    });
    const all = queries(3000);
    for (const q of all) {
      const remembered = memo.keyOf(q);
      const fresh = keyOf(cache, q);
      expect(remembered?.local, JSON.stringify(q)).toBe(fresh?.local);
      expect(remembered && portableText(remembered)).toBe(fresh && portableText(fresh));
    }
    // Every query that reads context was keyed afresh; the others once per combination and load
    // (2 fingerprints × 2 principals × 2 actions × 3 resources, under each of the two loads).
    const reading = all.filter((q) => q.keys.size > 0).length;
    expect(made).toBe(reading + 2 * 24);
  });
});
