// Elements that are valid but do nothing, as IAM Access Analyzer's policy checks flag them: a
// NotAction or NotResource holding "*" (the statement applies to nothing: "Wildcard with not
// action", "Wildcard with not resource"), a Bool or Null condition listing both true and false
// (it no longer tests the value: "Invalid condition multiple Boolean"), an empty Sid ("Empty
// Sid value"), and IfExists under a set operator, which does not make a missing key pass.
import { parseOperator } from '../conditions/operators.js';
import { parseBool } from '../conditions/values.js';
import type { ParsedCondition } from '../types.js';
import type { ReadDocument } from './document.js';
import type { FindingSink } from './findings.js';
import { childPath } from './read.js';

/** `*`, `*:*` and the like: a pattern every action matches. */
export const matchesEveryAction = (pattern: string): boolean => /^\*+(?::\*+)?$/.test(pattern);

function checkBothBooleans(c: ParsedCondition, sink: FindingSink): void {
  if (c.operator !== 'Bool' && c.operator !== 'BoolIfExists' && c.operator !== 'Null') return;
  const booleans = c.values.map(parseBool);
  if (!booleans.includes(true) || !booleans.includes(false)) return;
  const reading = c.operator === 'Null' ? 'holds whether the key is present or not' : 'holds for any boolean the key has, so it tests only that the key is there';
  sink.add('BOOLEAN_BOTH_VALUES', c.path, `${c.operator} lists both true and false for ${c.key}, so it ${reading}: give one value`);
}

/**
 * IfExists under ForAllValues or ForAnyValue qualifies each value of the set, so a missing key
 * (no values) still makes ForAllValues true and ForAnyValue false: the suffix reads as "or the key
 * is missing" and does not do that under ForAnyValue.
 */
function checkIfExistsUnderSetOperator(c: ParsedCondition, sink: FindingSink): void {
  const op = parseOperator(c.operator);
  if (!op?.ifExists || op.qualifier === undefined) return;
  const missing = op.qualifier === 'ForAnyValue' ? 'fails, IfExists or not' : 'already holds';
  sink.add(
    'IF_EXISTS_UNDER_SET_OPERATOR',
    c.path,
    `${c.operator} on ${c.key}: under ${op.qualifier} a missing key ${missing}; drop IfExists, and test a missing key with Null in a statement of its own`,
  );
}

/** Reports elements of clean statements that are valid but change nothing, or match nothing. */
export function checkIneffective(doc: ReadDocument, sink: FindingSink): void {
  for (const { statement: s, path, clean } of doc.statements) {
    if (!clean) continue;
    if (s.sid === '') sink.add('EMPTY_SID', childPath(path, 'Sid'), 'the Sid is empty: give the statement a name or leave Sid out');
    if (s.notAction?.some(matchesEveryAction)) {
      sink.add('NOT_ACTION_WILDCARD', childPath(path, 'NotAction'), `NotAction holds "*", which leaves out every action, so this ${s.effect} applies to none: name the actions in Action`);
    }
    if (s.notResource?.includes('*')) {
      sink.add('NOT_RESOURCE_WILDCARD', childPath(path, 'NotResource'), `NotResource holds "*", which leaves out every resource, so this ${s.effect} applies to none: name the resources in Resource`);
    }
    for (const c of s.conditions) {
      checkBothBooleans(c, sink);
      checkIfExistsUnderSetOperator(c, sink);
    }
  }
}
