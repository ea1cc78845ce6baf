// Exact decision-cache keys. A key names everything a decision depends on: the policy set (by its
// fingerprint), the loaded policies (by their generation's content hash), the principal's ARN, the
// action, the resource, and the values of exactly those context keys the set can read — and
// nothing else, so requests that differ only in keys no policy reads share an entry.
//
// The in-process level keys by the canonical text itself: it is exact by construction (no hash,
// so no collision can ever turn a deny into an allow) and cheaper to build than a SHA-256, which
// costs more than evaluating a small policy set. The shared level keys by the SHA-256 of that text
// (`sharedKey`), so Redis holds neither context values nor principal names.
import { createHash } from 'node:crypto';
import { policySetKeys, TIME_VARYING_KEYS, type ContextValue, type PolicySet, type RequestContext } from '../policy/index.js';

/** Version of the key layout; changing what a key covers or how it is written bumps it. */
const KEY_FORMAT = 'iamgate.decision.1';

export interface DecisionKeyInput {
  /** The principal's policy-set fingerprint: changes whenever any policy of the set changes. */
  readonly fingerprint: string;
  /** Content hash of the loaded policy files (the policy generation). */
  readonly generation: string;
  /** The calling principal's ARN: the account and session it names take part in the decision. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: RequestContext;
  /** `policySetKeys(set)`: the lower-case context keys the policy set can read. */
  readonly keys: ReadonlySet<string>;
}

/** What a key covers for one policy set: its readable context keys in canonical order, or nothing when it must not be cached. */
interface KeyPlan {
  /** Sorted key names, each with its JSON-quoted form for the canonical text. */
  readonly names: readonly (readonly [name: string, quoted: string])[];
  /** False when the set reads a time-varying key: its decisions are never cached. */
  readonly cacheable: boolean;
}

function planFor(keys: ReadonlySet<string>): KeyPlan {
  const sorted = [...keys].sort();
  return {
    names: sorted.map((name) => [name, JSON.stringify(name)] as const),
    cacheable: !sorted.some((k) => TIME_VARYING_KEYS.has(k)),
  };
}

/**
 * One context value, written so that different values never give the same text: strings are
 * JSON-quoted (lone surrogates escaped), numbers tagged `n` (with -0 kept apart from 0), booleans
 * `t`/`f`, sets in order between brackets, and a missing key `-` — distinct from an empty set `[]`
 * and from an empty string `""`.
 */
function encodeScalar(v: string | number | boolean): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    default:
      return v ? 't' : 'f';
  }
}

function encodeValue(v: ContextValue | undefined): string {
  if (v === undefined) return '-';
  if (typeof v !== 'object') return encodeScalar(v);
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + encodeScalar(v[i] as string | number | boolean);
  return out + ']';
}

function canonicalText(input: DecisionKeyInput, plan: KeyPlan): string {
  let text =
    KEY_FORMAT +
    JSON.stringify(input.fingerprint) +
    JSON.stringify(input.generation) +
    JSON.stringify(input.principal) +
    JSON.stringify(input.action) +
    JSON.stringify(input.resource);
  for (const [name, quoted] of plan.names) text += `${quoted}=${encodeValue(input.context.get(name))};`;
  return text;
}

/**
 * The exact cache key of a decision, or undefined when the decision must not be cached because the
 * policy set reads a time-varying key (aws:CurrentTime, aws:EpochTime, aws:MultiFactorAuthAge,
 * aws:TokenIssueTime). Computes the key plan every call; hot paths use `createDecisionKeys`.
 */
export function decisionKey(input: DecisionKeyInput): string | undefined {
  const plan = planFor(input.keys);
  return plan.cacheable ? canonicalText(input, plan) : undefined;
}

/** The shared-level (Redis) key of a decision key: SHA-256, base64url, after the prefix. */
export function sharedKey(prefix: string, key: string): string {
  return prefix + createHash('sha256').update(key).digest('base64url');
}

export interface DecisionKeys {
  /** `policySetKeys(set)`, computed once per policy set. */
  keysOf(set: PolicySet): ReadonlySet<string>;
  /** As `decisionKey`, with the key plan computed once per key set. */
  key(input: DecisionKeyInput): string | undefined;
  /** Whether decisions of a policy set may be cached at all (no time-varying key). */
  cacheable(set: PolicySet): boolean;
}

/** Creates a key builder that memoises, per policy set and per key set, what `decisionKey` recomputes. */
export function createDecisionKeys(): DecisionKeys {
  const keysBySet = new WeakMap<PolicySet, ReadonlySet<string>>();
  const plans = new WeakMap<ReadonlySet<string>, KeyPlan>();
  const keysOf = (set: PolicySet): ReadonlySet<string> => {
    let keys = keysBySet.get(set);
    if (!keys) {
      keys = policySetKeys(set);
      keysBySet.set(set, keys);
    }
    return keys;
  };
  const planOf = (keys: ReadonlySet<string>): KeyPlan => {
    let plan = plans.get(keys);
    if (!plan) {
      plan = planFor(keys);
      plans.set(keys, plan);
    }
    return plan;
  };
  return {
    keysOf,
    key(input) {
      const plan = planOf(input.keys);
      return plan.cacheable ? canonicalText(input, plan) : undefined;
    },
    cacheable: (set) => planOf(keysOf(set)).cacheable,
  };
}
