// The compact form of a cached decision in the shared level: a short JSON array holding the
// decision kind, the implicit-deny reason, the deciding statements, the near misses that explain
// an implicit deny, and the caller's own reason code. Reading is strict: anything that is not
// exactly this shape is a miss, never a decision.
import type {
  ConditionFailure,
  Decision,
  DecisionKind,
  ImplicitDenyReason,
  NearMiss,
  PolicyKind,
  StatementRef,
} from '../policy/index.js';

/** What the cache keeps per key: the decision and, optionally, the caller's reason code for it. */
export interface CacheEntry {
  readonly decision: Decision;
  /** A short reason code the caller derived from the decision alone (e.g. `mfa_required`). */
  readonly reason?: string;
}

const FORMAT = 1;

const KINDS = { Allow: 'A', ExplicitDeny: 'E', ImplicitDeny: 'I' } as const satisfies Record<DecisionKind, string>;
/** A Map, not an object: a code read from Redis such as `constructor` must find nothing, not a member every object has. */
const KIND_OF: ReadonlyMap<string, DecisionKind> = new Map(Object.entries(KINDS).map(([kind, code]) => [code, kind as DecisionKind]));
const POLICY_KINDS: ReadonlySet<string> = new Set<PolicyKind>(['identity', 'resource', 'boundary', 'scp', 'rcp', 'session']);
const IMPLICIT: ReadonlySet<string> = new Set<ImplicitDenyReason>([
  'no_identity_allow',
  'no_resource_allow',
  'scp_no_allow',
  'boundary_no_allow',
  'session_no_allow',
  'trust_policy_no_allow',
]);

type RefTuple = [policy: string, kind: PolicyKind, index: number, effect: 'A' | 'D', sid?: string];
/** How a condition failure's `why` is written: one letter each (`u`, a value the operator cannot read). */
const WHY_CODES = { missing: 'm', mismatch: 'x', unreadable: 'u' } as const satisfies Record<ConditionFailure['why'], string>;
const WHY_NAMES: ReadonlyMap<string, ConditionFailure['why']> = new Map(
  Object.entries(WHY_CODES).map(([name, code]) => [code, name as ConditionFailure['why']]),
);
type FailureTuple = [path: string, operator: string, key: string, why: (typeof WHY_CODES)[ConditionFailure['why']]];

function refTuple(r: StatementRef): RefTuple {
  const t: RefTuple = [r.policy, r.kind, r.index, r.effect === 'Allow' ? 'A' : 'D'];
  if (r.sid !== undefined) t.push(r.sid);
  return t;
}

/** Writes an entry as compact JSON. */
export function encodeEntry(entry: CacheEntry): string {
  const d = entry.decision;
  return JSON.stringify([
    FORMAT,
    KINDS[d.decision],
    d.implicitReason ?? 0,
    d.matched.map(refTuple),
    d.nearMisses
      ? d.nearMisses.map((m) => [refTuple(m.statement), m.failed.map((f): FailureTuple => [f.path, f.operator, f.key, WHY_CODES[f.why]])])
      : 0,
    entry.reason ?? 0,
  ]);
}

const isString = (v: unknown): v is string => typeof v === 'string';

function readRef(v: unknown): StatementRef | undefined {
  if (!Array.isArray(v) || (v.length !== 4 && v.length !== 5)) return undefined;
  const [policy, kind, index, effect, sid] = v as unknown[];
  if (!isString(policy) || !isString(kind) || !POLICY_KINDS.has(kind)) return undefined;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) return undefined;
  if (effect !== 'A' && effect !== 'D') return undefined;
  const base = { policy, kind: kind as PolicyKind, index };
  const eff = effect === 'A' ? 'Allow' : 'Deny';
  if (v.length === 4) return { ...base, effect: eff };
  return isString(sid) ? { ...base, sid, effect: eff } : undefined;
}

function readFailure(v: unknown): ConditionFailure | undefined {
  if (!Array.isArray(v) || v.length !== 4) return undefined;
  const [path, operator, key, why] = v as unknown[];
  if (!isString(path) || !isString(operator) || !isString(key) || !isString(why)) return undefined;
  const reason = WHY_NAMES.get(why);
  return reason === undefined ? undefined : { path, operator, key, why: reason };
}

function readAll<T>(v: unknown, read: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: T[] = [];
  for (const item of v) {
    const r = read(item);
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

function readNearMiss(v: unknown): NearMiss | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const statement = readRef(v[0]);
  const failed = readAll(v[1], readFailure);
  return statement && failed ? { statement, failed } : undefined;
}

/** Reads an entry written by `encodeEntry`; undefined for anything else (a miss). */
export function decodeEntry(text: string): CacheEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined; // not ours, or damaged: a miss
  }
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== FORMAT) return undefined;
  const [, kindCode, implicit, matchedRaw, missesRaw, reason] = v as unknown[];
  const kind = isString(kindCode) ? KIND_OF.get(kindCode) : undefined;
  if (!kind) return undefined;
  const matched = readAll(matchedRaw, readRef);
  if (!matched) return undefined;
  if (implicit !== 0 && !(isString(implicit) && IMPLICIT.has(implicit) && kind === 'ImplicitDeny')) return undefined;
  if (missesRaw !== 0 && kind !== 'ImplicitDeny') return undefined;
  const nearMisses = missesRaw === 0 ? undefined : readAll(missesRaw, readNearMiss);
  if (missesRaw !== 0 && !nearMisses) return undefined;
  if (reason !== 0 && !isString(reason)) return undefined;
  const decision: Decision = {
    decision: kind,
    matched,
    ...(implicit !== 0 ? { implicitReason: implicit as ImplicitDenyReason } : {}),
    ...(nearMisses ? { nearMisses } : {}),
  };
  return reason === 0 ? { decision } : { decision, reason: reason as string };
}
