// Decision keys made once for the requests that need no context value in their key: when the
// deciding policies read no context key, a key depends only on the policies loaded, the policy
// set, the principal, the action and the resource. Those parts are the same string objects request
// after request (the snapshot's digest, the principal's fingerprint and ARN, the route's action),
// so looking them up costs little, and the key found is one string whose hash V8 has kept: the L1
// lookup then hashes no fresh text. Requests whose policies read context keys are keyed each time.
import type { DecisionKey } from '../cache/index.js';
import type { DecisionQuery } from '../gateway/index.js';

/** Most keys remembered at once; when full the memo starts again empty (a flood of resources cannot grow it). */
const MAX_REMEMBERED = 10_000;

type ByResource = Map<string, DecisionKey | null>;
type ByAction = Map<string, ByResource>;
type ByPrincipal = Map<string, ByAction>;

/** Remembers `make(query)` for queries whose policy set reads no context key (`null`: not cacheable). */
export class DecisionKeyMemo {
  private digest: string | undefined;
  private byFingerprint = new Map<string, ByPrincipal>();
  private count = 0;

  constructor(private readonly make: (query: DecisionQuery) => DecisionKey | undefined) {}

  /** The query's key: remembered when its policies read no context key, made afresh otherwise. */
  keyOf(q: DecisionQuery): DecisionKey | undefined {
    if (q.keys.size > 0) return this.make(q);
    // Keys made under other policies are never asked for again: a new load starts an empty memo.
    if (q.policyDigest !== this.digest || this.count >= MAX_REMEMBERED) this.reset(q.policyDigest);
    const r = q.request;
    let byPrincipal = this.byFingerprint.get(q.fingerprint);
    if (!byPrincipal) this.byFingerprint.set(q.fingerprint, (byPrincipal = new Map()));
    let byAction = byPrincipal.get(r.principal);
    if (!byAction) byPrincipal.set(r.principal, (byAction = new Map()));
    let byResource = byAction.get(r.action);
    if (!byResource) byAction.set(r.action, (byResource = new Map()));
    let key = byResource.get(r.resource);
    if (key === undefined) {
      key = this.make(q) ?? null;
      byResource.set(r.resource, key);
      this.count++;
    }
    return key ?? undefined;
  }

  private reset(digest: string): void {
    this.digest = digest;
    this.byFingerprint = new Map();
    this.count = 0;
  }
}
