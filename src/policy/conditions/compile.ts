// A statement's Condition block compiled into closures. Every test must pass (keys and operators
// are AND'ed); within a key, the values are OR'ed (see matchers.ts). The rules, as the IAM User
// Guide documents them:
//
// | context key           | positive operator  | negated (StringNotEquals, NotIpAddress, ...) |
// | --------------------- | ------------------ | -------------------------------------------- |
// | missing               | false              | true                                         |
// | missing, ...IfExists  | true               | true                                         |
// | one value             | it matches a value | it matches no value                          |
// | array, no qualifier   | some item matches  | no item matches                              |
// | empty array           | false              | true                                         |
//
// (but not under `ForAnyValue`, where IfExists leaves a missing key false: see below)
//
// With a set qualifier, "m(v)" below is "v matches a policy value" for a positive operator and
// "v matches no policy value" for a negated one; a single value counts as a one-item set:
// - `ForAllValues:` every context value satisfies m: true for an empty set and a missing key.
// - `ForAnyValue:` some context value satisfies m: false for an empty set and for a missing key,
//   with IfExists too. The guide says `ForAnyValue` "returns false if there are no context keys in
//   the request", and IAM answers so for `ForAnyValue:StringEqualsIfExists` on a request without
//   `aws:TagKeys` (AWS re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly"): the
//   suffix qualifies each value of the set, and a missing key has none. Under `ForAllValues` the
//   suffix changes nothing either, as a missing key already passes.
// - A value that resolves to a null dataset (an empty string, an empty array, or an array of empty
//   strings only) is an empty set under a set qualifier: the multivalued key examples say
//   `ForAllValues` is true for it "such as an empty string", and `ForAnyValue` false.
// - `Null`: `true` holds when the key is missing or resolves to a null dataset, `false` when it has
//   a value that is not one. The guide defines `false` as "the key exists and its value is not
//   null", and the multivalued key examples use `Null: false` precisely so that a key "with an
//   empty value" cannot make a `ForAllValues` condition true: so an empty value is null, and
//   `true` ("it is null") holds for it, in an Allow as in a Deny.
//   Operators without a qualifier treat an empty array as a present, empty set, and "" as text.
// A policy variable with no value makes its value match nothing, so a negated operator then holds.
// An unknown operator, or a value that does not fit its operator, fails closed: in an Allow
// statement the condition never holds, in a Deny statement it always holds. So does a context value
// the operator cannot read (text that is not a number under Numeric*, not a date, an address, a
// boolean, base64 or an ARN), whether alone or as one member of a set, whatever the operator's
// negation, qualifier or IfExists: IAM does not document what such a value does.

import type { ConditionFailure, ContextScalar, ContextValue, Effect, ParsedCondition, PolicyVersion, RequestContext } from '../types.js';
import { compileValueSet, MATCH, UNREADABLE } from './matchers.js';
import { parseOperator, type ParsedOperator } from './operators.js';
import { checkConditionValue, parseBool } from './values.js';

export interface CompiledConditions {
  /** Lower-case context keys the conditions can read, variables in their values included. */
  readonly keys: readonly string[];
  /** Whether every condition holds for this request. */
  test(ctx: RequestContext): boolean;
  /** The conditions that do not hold, in document order (empty when `test` is true). */
  explain(ctx: RequestContext): ConditionFailure[];
}

const PASS = 0;
const MISSING = 1;
const MISMATCH = 2;
/** A context value the operator cannot read failed the test (it only fails in an Allow). */
const UNREADABLE_VALUE = 3;
type Outcome = typeof PASS | typeof MISSING | typeof MISMATCH | typeof UNREADABLE_VALUE;

const WHY: Readonly<Record<Exclude<Outcome, typeof PASS>, ConditionFailure['why']>> = {
  [MISSING]: 'missing',
  [MISMATCH]: 'mismatch',
  [UNREADABLE_VALUE]: 'unreadable',
};

interface Check {
  readonly condition: ParsedCondition;
  readonly keys: readonly string[];
  readonly run: (ctx: RequestContext) => Outcome;
}

function failClosed(condition: ParsedCondition, effect: Effect): Check {
  const outcome: Outcome = effect === 'Deny' ? PASS : MISMATCH;
  return { condition, keys: [], run: () => outcome };
}

/** Whether a present value resolves to a null dataset: "", [] or only empty strings. */
function isNullDataset(value: ContextValue): boolean {
  if (typeof value !== 'object') return value === '';
  for (let i = 0; i < value.length; i++) if (value[i] !== '') return false;
  return true;
}

function compileNull(condition: ParsedCondition, key: string): Check {
  const wantsMissing = condition.values.some((v) => parseBool(v) === true);
  const wantsPresent = condition.values.some((v) => parseBool(v) === false);
  // A key present with only empty values is null: `true` holds for it, `false` (the guide's
  // guard) does not.
  const emptyValue: Outcome = wantsMissing ? PASS : MISMATCH;
  return {
    condition,
    keys: [key],
    run(ctx) {
      const value = ctx.get(key);
      if (value === undefined || (typeof value === 'object' && value.length === 0)) return wantsMissing ? PASS : MISSING;
      if (isNullDataset(value)) return emptyValue;
      return wantsPresent ? PASS : MISMATCH;
    },
  };
}

function compileCheck(condition: ParsedCondition, op: ParsedOperator, version: PolicyVersion, effect: Effect): Check {
  const key = condition.key.toLowerCase();
  if (op.base.family === 'Null') return compileNull(condition, key);
  const values = compileValueSet(op.base, condition.values, version);
  const negated = op.base.negated;
  const passWhenMissing =
    op.qualifier === 'ForAnyValue' ? false : op.qualifier === 'ForAllValues' || op.ifExists || negated;
  // Over a set, either some item must satisfy m (ForAnyValue, and a positive operator without a
  // qualifier) or every item must (ForAllValues, and a negated operator without a qualifier).
  const some = op.qualifier === 'ForAnyValue' || (op.qualifier === undefined && !negated);
  const qualified = op.qualifier !== undefined;
  // A context value the operator cannot read decides the whole test the way that denies.
  const unreadable: Outcome = effect === 'Deny' ? PASS : UNREADABLE_VALUE;
  return {
    condition,
    keys: [key, ...values.keys],
    run(ctx) {
      const value = ctx.get(key);
      if (value === undefined) return passWhenMissing ? PASS : MISSING;
      // Under a set qualifier a null dataset is the empty set: every member (none) satisfies m,
      // and no member does.
      if (qualified && isNullDataset(value)) return some ? MISMATCH : PASS;
      if (typeof value !== 'object') {
        const verdict = values.matches(value, ctx);
        if (verdict === UNREADABLE) return unreadable;
        return (verdict === MATCH) !== negated ? PASS : MISMATCH;
      }
      // Every member is read, so that one the operator cannot read is never skipped.
      let satisfied = 0;
      for (let i = 0; i < value.length; i++) {
        const verdict = values.matches(value[i] as ContextScalar, ctx);
        if (verdict === UNREADABLE) return unreadable;
        if ((verdict === MATCH) !== negated) satisfied++;
      }
      return (some ? satisfied > 0 : satisfied === value.length) ? PASS : MISMATCH;
    },
  };
}

function compileOne(condition: ParsedCondition, version: PolicyVersion, effect: Effect): Check {
  const op = parseOperator(condition.operator);
  if (!op) return failClosed(condition, effect);
  if (condition.values.some((v) => checkConditionValue(op, condition.key, v, version) !== undefined)) {
    return failClosed(condition, effect);
  }
  return compileCheck(condition, op, version, effect);
}

/** Compiles a statement's conditions once; `test` then allocates nothing beyond rendering variables. */
export function compileConditions(
  conds: readonly ParsedCondition[],
  version: PolicyVersion,
  effect: Effect,
): CompiledConditions {
  const checks = conds.map((c) => compileOne(c, version, effect));
  const runs = checks.map((c) => c.run);
  return {
    keys: [...new Set(checks.flatMap((c) => c.keys))],
    test(ctx) {
      for (let i = 0; i < runs.length; i++) if ((runs[i] as Check['run'])(ctx) !== PASS) return false;
      return true;
    },
    explain(ctx) {
      const failures: ConditionFailure[] = [];
      for (const { condition, run } of checks) {
        const outcome = run(ctx);
        if (outcome === PASS) continue;
        failures.push({
          path: condition.path,
          operator: condition.operator,
          key: condition.key,
          why: WHY[outcome],
        });
      }
      return failures;
    },
  };
}
