// Small readers shared by the element validators: JSON type tests, JSON paths, "a string or a
// non-empty array of strings", and element names checked against the grammar.
import type { PolicyVersion } from '../types.js';
import { GLOBAL_CONDITION_KEYS, isGlobalConditionKey, MULTIVALUED_GLOBAL_KEYS } from '../global-keys.js';
import { didYouMean } from '../suggest.js';
import { parseTemplate } from '../variables.js';
import type { FindingSink } from './findings.js';

/** A string value together with the JSON path it was read from. */
export interface Located<T> {
  readonly value: T;
  readonly path: string;
}

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** The JSON type of a value, as a message names it. */
export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

/**
 * Reads "a string or a non-empty array of strings" (Action, Resource, principal values...).
 * Reports wrong types and empty arrays; returns the strings that were well typed.
 */
export function readStringList(
  value: unknown,
  path: string,
  element: string,
  sink: FindingSink,
): Located<string>[] | undefined {
  if (typeof value === 'string') return [{ value, path }];
  if (!Array.isArray(value)) {
    sink.add('DATA_TYPE_MISMATCH', path, `${element} must be a string or an array of strings, not ${jsonTypeName(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    sink.add('EMPTY_ARRAY', path, `${element} must list at least one value`);
    return undefined;
  }
  const out: Located<string>[] = [];
  value.forEach((item: unknown, i) => {
    const at = itemPath(path, i);
    if (typeof item === 'string') out.push({ value: item, path: at });
    else sink.add('DATA_TYPE_MISMATCH', at, `each ${element} value must be a string, not ${jsonTypeName(item)}`);
  });
  return out;
}

/**
 * Reports every key of `obj` that is not in `known`. Names are case-sensitive, as in IAM; a
 * near miss in case, or a misspelling (`Condtion`), gets a hint.
 */
export function checkElementNames(
  obj: Record<string, unknown>,
  known: readonly string[],
  path: string,
  sink: FindingSink,
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const sameButCase = known.find((k) => k.toLowerCase() === key.toLowerCase());
    const hint = sameButCase ? `; element names are case-sensitive: did you mean "${sameButCase}"?` : didYouMean(key, known);
    sink.add('UNKNOWN_KEY', childPath(path, key), `"${key}" is not a policy element here${hint}`);
  }
}

// The prefix may be a service (`aws`, `s3`) or an OIDC provider host with a path
// (`oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub`, `token.actions.githubusercontent.com:aud`).
// The name may hold blanks between its words: a tag key does (`aws:ResourceTag/Cost Center`), as
// IAM's tag rules allow letters, digits and spaces representable in UTF-8, and _ . : / = + - @.
const CONDITION_KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*:\S+(?: +\S+)*$/;

/** Whether a name has the form of a condition key, `prefix:name`: what a request context can carry. */
export function isConditionKeyName(key: string): boolean {
  return CONDITION_KEY.test(key);
}

/** True when the text holds a `${...}` policy variable. */
export function hasPolicyVariable(s: string): boolean {
  return /\$\{[^}]*\}/.test(s);
}

/**
 * Reports a malformed `${...}` in text that takes policy variables (Resource, and String, ARN and
 * Bool condition values) under 2012-10-17, and one that names no condition key. Compiled, such text
 * matches nothing, which would turn a negated operator true and a Deny off, so the document is
 * refused instead of decided on. A variable that can never have a value is warned of.
 */
export function checkVariableSyntax(text: string, path: string, version: PolicyVersion, sink: FindingSink): void {
  if (version !== '2012-10-17' || !text.includes('${')) return;
  const template = parseTemplate(text, version);
  if (template.malformed !== undefined) sink.add('INVALID_POLICY_VARIABLE', path, template.malformed);
  // A variable stands for a key of the request context, and every such key is `prefix:name`: a
  // variable that names no such key, or an `aws:` key AWS does not document (a typo), never has a
  // value in IAM, so it would silently match nothing.
  for (const key of template.keys) {
    if (!isConditionKeyName(key)) {
      sink.add('INVALID_POLICY_VARIABLE', path, `"${text}": "${key}" is not a condition key of the form "prefix:name", so the variable never has a value`);
    } else if (key.startsWith('aws:') && !isGlobalConditionKey(key)) {
      sink.add('UNKNOWN_GLOBAL_CONDITION_KEY', path, `"${text}": "${key}" is not a global condition key AWS documents, so requests never carry it and the variable never has a value${didYouMean(key, GLOBAL_CONDITION_KEYS)}`);
    }
  }
  // "You cannot use a multivalued context key as a policy variable" (IAM User Guide, "Single-valued
  // vs. multivalued context keys"): such a variable never has a value (its default stands in), which
  // the engine decides as IAM does; the warning says so before it silently matches nothing.
  const multivalued = template.keys.find((k) => MULTIVALUED_GLOBAL_KEYS.has(k));
  if (multivalued !== undefined) {
    sink.add('MULTIVALUED_POLICY_VARIABLE', path, `"${text}": ${multivalued} is multivalued, and a multivalued key cannot stand in a policy variable, so it never has a value here: test the key with ForAnyValue or ForAllValues instead`);
  }
}

/**
 * Reports a `${` in an element where IAM substitutes no policy variable (Action, Principal, a
 * condition key): the text would be matched literally, and since no action, principal or key
 * holds those characters, an Allow would grant nothing and a Deny would deny nothing.
 */
export function checkNoVariable(text: string, path: string, element: string, sink: FindingSink): boolean {
  if (!text.includes('${')) return true;
  sink.add('MISPLACED_POLICY_VARIABLE', path, `"${text}": policy variables are not substituted in ${element}; IAM substitutes them only in Resource, NotResource and string, ARN and Bool condition values`);
  return false;
}

