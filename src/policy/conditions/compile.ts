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
// With a set qualifier, "m(v)" below is "v matches a policy value" for a positive operator and
// "v matches no policy value" for a negated one; a single value counts as a one-item set:
// - `ForAllValues:` every context value satisfies m: true for an empty set and a missing key.
// - `ForAnyValue:` some context value satisfies m: false for an empty set and a missing key
//   (unless IfExists).
// - `Null`: `true` holds when the key is missing or has no value, `false` when it has a value. An
//   empty array counts as no value here: the multivalued key examples use `Null: false` precisely
//   so that a key "with an empty value" cannot make a `ForAllValues` condition true.
//   Every other operator treats an empty array as a present, empty set.
// A policy variable with no value makes its value match nothing, so a negated operator then holds.
// An unknown operator, or a value that does not fit its operator, fails closed: in an Allow
// statement the condition never holds, in a Deny statement it always holds.

import type { ConditionFailure, ContextScalar, Effect, ParsedCondition, PolicyVersion, RequestContext } from '../types.js';
import { compileValueSet } from './matchers.js';
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
type Outcome = typeof PASS | typeof MISSING | typeof MISMATCH;

interface Check {
  readonly condition: ParsedCondition;
  readonly keys: readonly string[];
  readonly run: (ctx: RequestContext) => Outcome;
}

function failClosed(condition: ParsedCondition, effect: Effect): Check {
  const outcome: Outcome = effect === 'Deny' ? PASS : MISMATCH;
  return { condition, keys: [], run: () => outcome };
}

function compileNull(condition: ParsedCondition, key: string): Check {
  const wantsMissing = condition.values.some((v) => parseBool(v) === true);
  const wantsPresent = condition.values.some((v) => parseBool(v) === false);
  return {
    condition,
    keys: [key],
    run(ctx) {
      const value = ctx.get(key);
      const missing = value === undefined || (typeof value === 'object' && value.length === 0);
      if (missing) return wantsMissing ? PASS : MISSING;
      return wantsPresent ? PASS : MISMATCH;
    },
  };
}

function compileCheck(condition: ParsedCondition, op: ParsedOperator, version: PolicyVersion): Check {
  const key = condition.key.toLowerCase();
  if (op.base.family === 'Null') return compileNull(condition, key);
  const values = compileValueSet(op.base, condition.values, version);
  const negated = op.base.negated;
  const passWhenMissing = op.ifExists || op.qualifier === 'ForAllValues' || (negated && op.qualifier !== 'ForAnyValue');
  // Over a set, either some item must satisfy m (ForAnyValue, and a positive operator without a
  // qualifier) or every item must (ForAllValues, and a negated operator without a qualifier).
  const some = op.qualifier === 'ForAnyValue' || (op.qualifier === undefined && !negated);
  const satisfies = (value: ContextScalar, ctx: RequestContext): boolean => values.matches(value, ctx) !== negated;
  return {
    condition,
    keys: [key, ...values.keys],
    run(ctx) {
      const value = ctx.get(key);
      if (value === undefined) return passWhenMissing ? PASS : MISSING;
      if (typeof value !== 'object') return satisfies(value, ctx) ? PASS : MISMATCH;
      if (some) {
        for (let i = 0; i < value.length; i++) if (satisfies(value[i] as ContextScalar, ctx)) return PASS;
        return MISMATCH;
      }
      for (let i = 0; i < value.length; i++) if (!satisfies(value[i] as ContextScalar, ctx)) return MISMATCH;
      return PASS;
    },
  };
}

function compileOne(condition: ParsedCondition, version: PolicyVersion, effect: Effect): Check {
  const op = parseOperator(condition.operator);
  if (!op) return failClosed(condition, effect);
  if (condition.values.some((v) => checkConditionValue(op, condition.key, v, version) !== undefined)) {
    return failClosed(condition, effect);
  }
  return compileCheck(condition, op, version);
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
          why: outcome === MISSING ? 'missing' : 'mismatch',
        });
      }
      return failures;
    },
  };
}
