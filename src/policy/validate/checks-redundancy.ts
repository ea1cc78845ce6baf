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

interface ListRules {
  readonly ignoreCase: boolean;
  /** Compiles a wildcard pattern of this list into a matcher of literal entries. */
  readonly compile: (pattern: string) => (s: string) => boolean;
  /** How many colons a `prefix*` pattern's prefix needs for its `*` to reach the end of any entry. */
  readonly minColons: number;
}

interface Pattern {
  readonly norm: string;
  readonly text: string;
  /** Whether the pattern is `prefix*`, which covers any pattern that starts with its prefix. */
  readonly prefixStar: boolean;
  test(s: string): boolean;
}

function toPattern(text: string, norm: string, rules: ListRules): Pattern {
  const prefix = literalPrefix(norm);
  const prefixStar = norm === `${prefix}*` && (prefix === '' || prefix.split(':').length - 1 >= rules.minColons);
  let matcher: ((s: string) => boolean) | undefined;
  return {
    norm,
    text,
    prefixStar,
    test(s) {
      matcher ??= rules.compile(text);
      return matcher(s);
    },
  };
}

/**
 * Reports entries of a list that repeat an earlier entry or that another entry covers. A literal
 * entry is covered when a wildcard entry matches it; a wildcard entry only when a `prefix*` entry
 * holds its literal prefix (sound, not complete). Wildcard entries are indexed by their literal
 * prefix, so an entry is only tested against the patterns that can match it.
 */
function reportCovered(values: readonly string[], path: string, code: PolicyFindingCode, rules: ListRules, sink: FindingSink): void {
  if (values.length < 2) return;
  const norms = values.map((v) => (rules.ignoreCase ? v.toLowerCase() : v));
  const first = new Map<string, number>();
  const byPrefix = new Map<string, Pattern[]>();
  norms.forEach((norm, j) => {
    if (first.has(norm)) return;
    first.set(norm, j);
    const text = values[j] ?? norm;
    if (!hasWildcard(norm)) return;
    const key = literalPrefix(norm);
    const list = byPrefix.get(key) ?? [];
    list.push(toPattern(text, norm, rules));
    byPrefix.set(key, list);
  });
  const prefixLengths = [...new Set([...byPrefix.keys()].map((k) => k.length))];
  const coveredBy = (value: string, norm: string): Pattern | undefined => {
    const wild = hasWildcard(norm);
    const own = wild ? literalPrefix(norm) : norm;
    for (const k of prefixLengths) {
      if (k > own.length) continue;
      for (const p of byPrefix.get(own.slice(0, k)) ?? []) {
        if (p.norm !== norm && (wild ? p.prefixStar : p.test(value))) return p;
      }
    }
    return undefined;
  };
  values.forEach((value, j) => {
    const norm = norms[j] ?? value;
    const earlier = first.get(norm) ?? j;
    if (earlier !== j) {
      sink.add(code, itemPath(path, j), `"${value}" repeats ${itemPath(path, earlier)}`);
      return;
    }
    const by = coveredBy(value, norm);
    if (by) sink.add(code, itemPath(path, j), `"${value}" is already covered by "${by.text}"`);
  });
}

const ACTION_RULES: ListRules = { ignoreCase: true, compile: (p) => compileWildcard(p, true), minColons: 0 };
// A wildcard in a resource ARN stays within its component, except in the resource part (after 5
// colons) and where it ends a pattern cut short after at least its service (`arn:aws:sqs:*`).
const RESOURCE_RULES: ListRules = { ignoreCase: false, compile: compileArnMatcher, minColons: 2 };

function checkLists(s: ParsedStatement, path: string, sink: FindingSink): void {
  const actions = s.action ?? s.notAction ?? [];
  reportCovered(actions, childPath(path, s.action ? 'Action' : 'NotAction'), 'REDUNDANT_ACTION', ACTION_RULES, sink);
  const resources = s.resource ?? s.notResource ?? [];
  if (resources.some(hasPolicyVariable)) return;
  reportCovered(resources, childPath(path, s.resource ? 'Resource' : 'NotResource'), 'REDUNDANT_RESOURCE', RESOURCE_RULES, sink);
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
