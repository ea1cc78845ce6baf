// Redundancy checks: statements that repeat an earlier one, and actions or resources already
// covered by another entry of the same list. Sound but not complete: only reports what is sure.
import { compileArnMatcher } from '../arn.js';
import { compileWildcard } from '../wildcard.js';
import type { ParsedStatement, PrincipalSpec } from '../types.js';
import type { ReadDocument } from './document.js';
import type { FindingSink, PolicyFindingCode } from './findings.js';
import { childPath, hasPolicyVariable, itemPath } from './read.js';

const hasWildcard = (s: string): boolean => /[*?]/.test(s);
const literalPrefix = (s: string): string => s.slice(0, s.search(/[*?]|$/));

interface Pattern {
  readonly text: string;
  /** Whether the pattern matches a literal (wildcard-free) string. */
  readonly test: (s: string) => boolean;
}

/**
 * Whether every string `specific` matches is also matched by `general`. For a `specific` with
 * wildcards this is only claimed when `general` is a literal prefix plus one trailing `*`
 * (`minColons`: how many colons the prefix must already hold for that `*` to reach the end).
 */
function covers(general: Pattern, specific: string, ignoreCase: boolean, minColons: number): boolean {
  if (!hasWildcard(specific)) return general.test(specific);
  const norm = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (norm(general.text) === norm(specific)) return true;
  const m = /^([^*?]*)\*$/.exec(general.text);
  if (!m?.[1] && general.text !== '*') return false;
  const prefix = m?.[1] ?? '';
  if (general.text !== '*' && prefix.split(':').length - 1 < minColons) return false;
  return norm(literalPrefix(specific)).startsWith(norm(prefix));
}

function reportCovered(
  values: readonly string[],
  path: string,
  code: PolicyFindingCode,
  patterns: readonly Pattern[],
  opts: { ignoreCase: boolean; minColons: number },
  sink: FindingSink,
): void {
  if (values.length < 2) return;
  const norm = (s: string): string => (opts.ignoreCase ? s.toLowerCase() : s);
  values.forEach((value, j) => {
    // Equal entries: only the later one is redundant.
    const equal = values.findIndex((other) => norm(other) === norm(value));
    if (equal !== j) {
      sink.add(code, itemPath(path, j), `"${value}" repeats ${itemPath(path, equal)}`);
      return;
    }
    const by = patterns.find((p) => norm(p.text) !== norm(value) && covers(p, value, opts.ignoreCase, opts.minColons));
    if (by) sink.add(code, itemPath(path, j), `"${value}" is already covered by "${by.text}"`);
  });
}

function checkLists(s: ParsedStatement, path: string, sink: FindingSink): void {
  const actions = s.action ?? s.notAction ?? [];
  const actionPatterns = actions.filter(hasWildcard).map((text) => ({ text, test: compileWildcard(text, true) }));
  const actionPath = childPath(path, s.action ? 'Action' : 'NotAction');
  reportCovered(actions, actionPath, 'REDUNDANT_ACTION', actionPatterns, { ignoreCase: true, minColons: 0 }, sink);

  const resources = (s.resource ?? s.notResource ?? []);
  if (resources.some(hasPolicyVariable)) return;
  const resourcePatterns = resources
    .filter(hasWildcard)
    .map((text) => ({ text, test: text === '*' ? () => true : compileArnMatcher(text) }));
  const resourcePath = childPath(path, s.resource ? 'Resource' : 'NotResource');
  reportCovered(resources, resourcePath, 'REDUNDANT_RESOURCE', resourcePatterns, { ignoreCase: false, minColons: 5 }, sink);
}

function principalKey(p: PrincipalSpec | undefined): unknown {
  if (p === undefined || p === '*') return p ?? null;
  return Object.entries(p)
    .map(([type, values]: [string, readonly string[]]) => [type, [...values].sort()])
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
}

/** What a statement means, as a comparable string: everything but its index and Sid. */
function statementKey(s: ParsedStatement): string {
  const sorted = (xs: readonly string[] | undefined, lower: boolean): string[] | null =>
    xs ? [...new Set(xs.map((x) => (lower ? x.toLowerCase() : x)))].sort() : null;
  return JSON.stringify([
    s.effect,
    sorted(s.action, true),
    sorted(s.notAction, true),
    sorted(s.resource, false),
    sorted(s.notResource, false),
    principalKey(s.principal),
    principalKey(s.notPrincipal),
    s.conditions.map((c) => [c.operator, c.key.toLowerCase(), [...c.values].map(String).sort()]).sort(),
  ]);
}

/** Reports redundant statements and list entries among the statements that read cleanly. */
export function checkRedundancy(doc: ReadDocument, sink: FindingSink): void {
  const seen = new Map<string, string>();
  for (const { statement, path, clean } of doc.statements) {
    if (!clean) continue;
    checkLists(statement, path, sink);
    const key = statementKey(statement);
    const first = seen.get(key);
    if (first !== undefined) sink.add('REDUNDANT_STATEMENT', path, `this statement repeats ${first}`);
    else seen.set(key, path);
  }
}
