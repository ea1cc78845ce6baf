// Reading a statement's `Condition` block: `{Operator: {Key: value | [values]}}`, with every
// operator, key and value checked, into the flat list of tests the compiler consumes.
import { checkConditionValue } from '../conditions/values.js';
import { BASE_OPERATOR_NAMES, parseOperator, type OperatorFamily, type ParsedOperator } from '../conditions/operators.js';
import { GLOBAL_CONDITION_KEYS, isGlobalConditionKey } from '../global-keys.js';
import { didYouMean } from '../suggest.js';
import type { ContextScalar, ParsedCondition, PolicyVersion } from '../types.js';
import type { FindingSink } from './findings.js';
import {
  checkNoVariable,
  checkVariableSyntax,
  childPath,
  hasPolicyVariable,
  isConditionKeyName,
  isJsonObject,
  itemPath,
  jsonTypeName,
  type Located,
} from './read.js';

// The operator families whose values take policy variables (IAM User Guide, "IAM JSON policy
// elements: Condition operators": string, Boolean and ARN operators).
const VARIABLE_FAMILIES: readonly OperatorFamily[] = ['String', 'Bool', 'Arn'];

/** Reports why an operator name is not usable; returns the parsed operator when it is. */
function readOperator(name: string, path: string, sink: FindingSink): ParsedOperator | undefined {
  const op = parseOperator(name);
  if (op) return op;
  const null_ = /^(ForAllValues:|ForAnyValue:)?Null(IfExists)?$/.exec(name);
  if (null_?.[2]) {
    sink.add('NULL_WITH_IF_EXISTS', path, `"${name}": Null already tests whether the key exists; drop IfExists`);
  } else if (null_?.[1]) {
    sink.add('NULL_WITH_SET_QUALIFIER', path, `"${name}": Null takes no ${null_[1].slice(0, -1)} qualifier`);
  } else {
    sink.add('UNKNOWN_CONDITION_OPERATOR', path, `"${name}" is not an IAM condition operator${operatorHint(name)}`);
  }
  return undefined;
}

const SET_QUALIFIERS: readonly string[] = ['ForAllValues', 'ForAnyValue'];

/** The nearest known name, saying so when only the case differs (names are case-sensitive). */
function nearestName(word: string, known: readonly string[], what: string): string {
  const sameButCase = known.find((n) => n.toLowerCase() === word.toLowerCase() && n !== word);
  return sameButCase ? `; ${what} names are case-sensitive: did you mean "${sameButCase}"?` : didYouMean(word, known);
}

/**
 * Why an operator name is unknown, where that can be told: a set qualifier with no operator after
 * it, a misspelt qualifier before a known operator, or a misspelt operator.
 */
function operatorHint(name: string): string {
  const colon = name.indexOf(':');
  const qualifier = colon < 0 ? name : name.slice(0, colon);
  const base = name.slice(colon + 1).replace(/IfExists$/, '');
  // `ForAnyValue` or `ForAnyValue:` alone.
  if (SET_QUALIFIERS.includes(qualifier) && (colon < 0 || colon === name.length - 1)) {
    return `: a set qualifier takes an operator after a colon, as in "${qualifier}:StringEquals"`;
  }
  if (colon >= 0 && !SET_QUALIFIERS.includes(qualifier) && BASE_OPERATOR_NAMES.includes(base)) {
    const near = nearestName(qualifier, SET_QUALIFIERS, 'qualifier');
    return `: "${qualifier}" is not a set qualifier${near || '; use ForAllValues or ForAnyValue'}`;
  }
  return nearestName(base, BASE_OPERATOR_NAMES, 'operator');
}

/** Reads `value | [values]` under one key of operator `name`; scalars only, at least one. */
function readValues(raw: unknown, name: string, key: string, path: string, sink: FindingSink): Located<ContextScalar>[] {
  const isScalar = (v: unknown): v is ContextScalar =>
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  if (isScalar(raw)) return [{ value: raw, path }];
  if (!Array.isArray(raw)) {
    sink.add('DATA_TYPE_MISMATCH', path, `a condition value must be a string, number, boolean or an array of them, not ${jsonTypeName(raw)}`);
    return [];
  }
  if (raw.length === 0) {
    // IAM stores such a condition (Access Analyzer warns of it as "Empty array condition") but does
    // not document what it decides: with nothing to compare, reading it either way would grant or
    // refuse without a word.
    sink.add(
      'EMPTY_ARRAY',
      path,
      `"${name}" lists no value for "${key}", so it compares the request with nothing: list the values to compare, or use "Null" to test only whether the key is present ("false") or missing ("true")`,
    );
    return [];
  }
  const out: Located<ContextScalar>[] = [];
  raw.forEach((item: unknown, i) => {
    const at = itemPath(path, i);
    if (isScalar(item)) out.push({ value: item, path: at });
    else sink.add('DATA_TYPE_MISMATCH', at, `a condition value must be a string, number or boolean, not ${jsonTypeName(item)}`);
  });
  return out;
}

/** Reads one operator's `{Key: values}` block. */
function readOperatorBlock(
  name: string,
  block: unknown,
  path: string,
  version: PolicyVersion,
  sink: FindingSink,
): ParsedCondition[] {
  const op = readOperator(name, path, sink);
  if (!isJsonObject(block)) {
    sink.add('DATA_TYPE_MISMATCH', path, `"${name}" must map condition keys to values, not be ${jsonTypeName(block)}`);
    return [];
  }
  const keys = Object.keys(block);
  if (keys.length === 0) sink.add('EMPTY_CONDITION', path, `"${name}" lists no condition key, so it tests nothing`);
  const seen = new Map<string, string>();
  const out: ParsedCondition[] = [];
  for (const key of keys) {
    const at = childPath(path, key);
    // A key holding `${` is reported once, as a variable IAM does not substitute there.
    const keyOk = checkNoVariable(key, at, 'a condition key', sink);
    if (keyOk && !isConditionKeyName(key)) sink.add('INVALID_CONDITION_KEY', at, `"${key}" is not a condition key of the form "prefix:name"`);
    else if (keyOk && /^aws:/i.test(key) && !isGlobalConditionKey(key)) {
      sink.add('UNKNOWN_GLOBAL_CONDITION_KEY', at, `"${key}" is not a global condition key AWS documents, so requests never carry it${didYouMean(key, GLOBAL_CONDITION_KEYS)}`);
    }
    const earlier = seen.get(key.toLowerCase());
    if (earlier !== undefined) {
      sink.add('DUPLICATE_CONDITION_KEY', at, `"${key}" repeats "${earlier}": condition key names are case-insensitive`);
    }
    seen.set(key.toLowerCase(), key);
    const values = readValues(block[key], name, key, at, sink);
    for (const v of values) {
      const problem = op ? checkConditionValue(op, key, v.value, version) : undefined;
      if (problem) sink.add('INVALID_CONDITION_VALUE', v.path, problem);
      if (op && typeof v.value === 'string' && VARIABLE_FAMILIES.includes(op.base.family)) {
        checkVariableSyntax(v.value, v.path, version, sink);
      }
      if (version === '2008-10-17' && typeof v.value === 'string' && hasPolicyVariable(v.value)) {
        sink.add('POLICY_VARIABLE_NOT_SUPPORTED', v.path, `"${v.value}" is compared literally: policy variables need Version 2012-10-17`);
      }
    }
    if (op) out.push({ operator: name, key, values: values.map((v) => v.value), path: at });
  }
  return out;
}

/** Reads a statement's Condition element at `path` into its condition tests, in document order. */
export function readConditions(value: unknown, path: string, version: PolicyVersion, sink: FindingSink): ParsedCondition[] {
  if (!isJsonObject(value)) {
    sink.add('DATA_TYPE_MISMATCH', path, `Condition must be an object of operators, not ${jsonTypeName(value)}`);
    return [];
  }
  const operators = Object.keys(value);
  if (operators.length === 0) sink.add('EMPTY_CONDITION', path, 'Condition is empty, so it restricts nothing');
  return operators.flatMap((name) => readOperatorBlock(name, value[name], childPath(path, name), version, sink));
}
