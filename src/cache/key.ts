// Exact decision-cache keys. A key names everything a decision depends on: the evaluator (by the
// release it belongs to), the policy set (by its fingerprint), the loaded policies (by their
// generation's content hash), the principal's ARN, the
// action, the resource, and the values of exactly those context keys the set can read — and
// nothing else, so requests that differ only in keys no policy reads share an entry.
//
// Keys are texts built by length-prefixing every part (no escaping to do, and two different
// inputs can never give the same text). Building one costs less than evaluating a small policy
// set, where JSON quoting or a SHA-256 would cost more, so:
// - the in-process level keys by a short local text: a number standing for (fingerprint,
//   generation, key plan), never reused, then the request's part;
// - the shared level keys by the SHA-256 of the full, portable text (`decisionKey`), so Redis holds
//   neither principal names nor context values, and replicas that loaded the same policies agree.
import { createHash } from 'node:crypto';
import { createPolicySetKeysMemo, TIME_VARYING_KEYS, type ContextScalar, type ContextValue, type PolicySet, type RequestContext } from '../policy/index.js';

/** Version of the key layout; changing what a key covers or how it is written bumps it. */
const KEY_FORMAT = 'iamgate.decision.3';

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

/** What a key covers for one key set: the readable context keys in canonical order, or nothing when it must not be cached. */
interface KeyPlan {
  readonly names: readonly string[];
  /** The names as they appear in the portable text. */
  readonly namesText: string;
  /** False when the set reads a time-varying key: its decisions are never cached. */
  readonly cacheable: boolean;
}

function planFor(keys: ReadonlySet<string>): KeyPlan {
  const names = [...keys].sort();
  return { names, namesText: `${names.length}#${names.map(part).join('')}`, cacheable: !names.some((k) => TIME_VARYING_KEYS.has(k)) };
}

/** A string as `length:text`: self-delimiting, so concatenations of parts are unambiguous. */
function part(s: string): string {
  return `${s.length}:${s}`;
}

/**
 * One context value, self-delimiting and with every type apart: `s` + a length-prefixed string,
 * `n` + a number + `;` (-0 kept apart from 0), `t`/`f`, `a` + a count + that many scalars for a set
 * (in order), and `-` for a missing key — distinct from an empty set `a0:` and an empty string `s0:`.
 */
function scalar(v: ContextScalar): string {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return Object.is(v, -0) ? 'n-0;' : `n${v};`;
    default:
      return v ? 't' : 'f';
  }
}

function value(v: ContextValue | undefined): string {
  if (v === undefined) return '-';
  if (typeof v !== 'object') return scalar(v);
  let out = `a${v.length}:`;
  for (let i = 0; i < v.length; i++) out += scalar(v[i] as ContextScalar);
  return out;
}

/** The request's part of a key: principal, action, resource, and the plan's context values. */
function requestText(input: DecisionKeyInput, plan: KeyPlan): string {
  let text = `${input.principal.length}:${input.principal}${input.action.length}:${input.action}${input.resource.length}:${input.resource}`;
  const names = plan.names;
  for (let i = 0; i < names.length; i++) text += value(input.context.get(names[i] as string));
  return text;
}

/**
 * The portable text's leading part. `release` names the evaluator: two releases may decide the same
 * policy files differently (a rolling upgrade runs both on one Redis), so their entries never meet.
 */
function scopeText(release: string, fingerprint: string, generation: string, plan: KeyPlan): string {
  return KEY_FORMAT + part(release) + part(fingerprint) + part(generation) + plan.namesText;
}

/**
 * The exact, portable key of a decision, or undefined when the decision must not be cached because
 * the policy set reads a time-varying key (aws:CurrentTime, aws:EpochTime, aws:MultiFactorAuthAge,
 * aws:TokenIssueTime). Equal on every replica of one `release` for equal inputs.
 */
export function decisionKey(input: DecisionKeyInput, release = ''): string | undefined {
  const plan = planFor(input.keys);
  return plan.cacheable ? scopeText(release, input.fingerprint, input.generation, plan) + requestText(input, plan) : undefined;
}

/**
 * The shared-level (Redis) key for a portable key: SHA-256 over its UTF-16 code units (so texts
 * that differ only in unpaired surrogates stay apart), base64url, after the prefix.
 */
export function sharedKey(prefix: string, portable: string): string {
  return prefix + createHash('sha256').update(portable, 'utf16le').digest('base64url');
}

/** (fingerprint, generation, key plan) as one number, for short in-process keys. */
interface Scope {
  readonly id: number;
  readonly plan: KeyPlan;
  /** The portable text's leading part. */
  readonly text: string;
}

/** A key made by a `KeyBuilder`; only the cache that owns the builder can use it. */
export interface DecisionKey {
  /** The in-process key: the scope's number, `:`, then the request part. */
  readonly local: string;
  /** The request part (principal, action, resource, context values). */
  readonly request: string;
  /** @internal */
  readonly scope: Scope;
  /** @internal the builder that made it */
  readonly owner: object;
}

/** The portable text of a built key (what `decisionKey` gives for the same input). */
export function portableText(key: DecisionKey): string {
  return key.scope.text + key.request;
}

export interface KeyBuilder {
  /** `policySetKeys(set)`, computed once per policy set. */
  keysOf(set: PolicySet): ReadonlySet<string>;
  /** The key of a decision, or undefined when it must not be cached (see `decisionKey`). */
  key(input: DecisionKeyInput): DecisionKey | undefined;
  /** Whether decisions of a policy set may be cached at all (no time-varying key). */
  cacheable(set: PolicySet): boolean;
  /** Whether this builder made the key (keys of another builder may reuse its numbers). */
  owns(key: DecisionKey): boolean;
  /** Forgets the scopes seen so far (after a generation change); their numbers are never reused. */
  reset(): void;
}

/** Bound on remembered scopes; beyond it they are forgotten whole (and get new numbers). */
const MAX_SCOPES = 100_000;

/** Creates a key builder for one release's evaluator that memoises key sets per policy set, plans per key set, and scopes per (fingerprint, generation). */
export function createKeyBuilder(release = ''): KeyBuilder {
  const owner = {};
  const keysOf = createPolicySetKeysMemo();
  const plans = new WeakMap<ReadonlySet<string>, KeyPlan>();
  let scopes = new Map<string, Map<string, Scope>>();
  let scopeCount = 0;
  let nextId = 0;

  const planOf = (keys: ReadonlySet<string>): KeyPlan => {
    let plan = plans.get(keys);
    if (!plan) {
      plan = planFor(keys);
      plans.set(keys, plan);
    }
    return plan;
  };
  const scopeOf = (fingerprint: string, generation: string, plan: KeyPlan): Scope => {
    let byGeneration = scopes.get(fingerprint);
    let scope = byGeneration?.get(generation);
    if (scope && (scope.plan === plan || scope.plan.namesText === plan.namesText)) return scope;
    if (scopeCount >= MAX_SCOPES) {
      scopes = new Map();
      scopeCount = 0;
      byGeneration = undefined;
    }
    if (!byGeneration) scopes.set(fingerprint, (byGeneration = new Map()));
    scope = { id: nextId++, plan, text: scopeText(release, fingerprint, generation, plan) };
    byGeneration.set(generation, scope);
    scopeCount++;
    return scope;
  };

  return {
    keysOf,
    key(input) {
      const plan = planOf(input.keys);
      if (!plan.cacheable) return undefined;
      const scope = scopeOf(input.fingerprint, input.generation, plan);
      const request = requestText(input, plan);
      return { local: `${scope.id}:${request}`, request, scope, owner };
    },
    cacheable: (set) => planOf(keysOf(set)).cacheable,
    owns: (key) => key.owner === owner,
    reset() {
      scopes = new Map();
      scopeCount = 0;
    },
  };
}
