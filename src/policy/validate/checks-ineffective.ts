// Elements that are valid but do nothing, as IAM Access Analyzer's policy checks flag them: a
// NotAction or NotResource holding "*" (the statement applies to nothing: "Wildcard with not
// action", "Wildcard with not resource"), a Bool or Null condition listing both true and false
// (it no longer tests the value: "Invalid condition multiple Boolean"), and an empty Sid ("Empty
// Sid value").
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
    for (const c of s.conditions) checkBothBooleans(c, sink);
  }
}
