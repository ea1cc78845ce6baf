// Policy variables: `${key}` stands for the value of any request context key (`${aws:username}`,
// `${aws:PrincipalTag/team}`), `${key, 'default'}` supplies a value when the key has none, and
// `${*}`, `${?}`, `${$}` write a literal `*`, `?`, `$`. Variables exist only under Version
// 2012-10-17; under 2008-10-17 (or with no Version) the same text is literal.
//
// Substituted values are literal text: a `*` that comes from a context value or from an escape
// never acts as a wildcard. A variable that cannot be given a value makes the pattern match
// nothing. A multivalued context value (an array) cannot stand in a variable, as IAM documents:
// it counts as no value, so the default is used when there is one, else nothing matches.
//
// Key names in variables are case-insensitive, like condition keys; defaults are case-sensitive.
// Whitespace around the key name and around the quoted default is ignored; a quote inside a
// default is written twice (`''`).

import { ARN_COMPONENTS, compileArnComponents, completeComponents, compileArnMatcher, matchComponents } from './arn.js';
import { compilePrefix, hasTextAt } from './prefix.js';
import type { PolicyVersion, RequestContext } from './types.js';
import {
  ANY_ONE,
  ANY_RUN,
  compileUnits,
  literalUnits,
  splitUnitsAtColons,
  wildcardUnits,
  type RangeMatcher,
} from './wildcard.js';

/** A compiled pattern that may read the request context through policy variables. */
export interface CompiledPattern {
  /** Lower-case context keys the pattern's variables read. */
  readonly keys: readonly string[];
  test(value: string, ctx: RequestContext): boolean;
}

/** One `${key}` or `${key, 'default'}` occurrence. */
export interface VariableRef {
  /** Lower-case context key. */
  readonly key: string;
  readonly fallback: string | undefined;
}

/** Pattern units (see wildcard.ts) interleaved with variables. */
type TemplatePart = number | VariableRef;

/** A parsed piece of policy text. */
export interface Template {
  readonly keys: readonly string[];
  /** Units for wildcard use: text `*`/`?` are wildcards, escapes are literal code points. */
  readonly parts: readonly TemplatePart[];
  /** Text pieces (escapes resolved, `*`/`?` as plain characters) and variables, for equality. */
  readonly pieces: readonly (string | VariableRef)[];
  /** Why the text is not valid variable syntax, when it is not. */
  readonly malformed?: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };
const COLON = 0x3a;

type Parsed = { end: number; ref: VariableRef } | { end: number; escape: string } | { error: string };

/** Reads one `${...}` whose body starts at `start`. */
function parseVariable(text: string, start: number): Parsed {
  const escape = ESCAPES[text[start] ?? ''];
  if (escape !== undefined && text[start + 1] === '}') return { end: start + 2, escape };
  let j = start;
  while (j < text.length && text[j] !== ',' && text[j] !== '}') j++;
  if (j >= text.length) return { error: `unterminated policy variable in "${text}"` };
  const name = text.slice(start, j).trim();
  if (!name || /[${}']/.test(name)) return { error: `invalid policy variable name "${name}" in "${text}"` };
  const key = name.toLowerCase();
  if (text[j] === '}') return { end: j + 1, ref: { key, fallback: undefined } };
  j++;
  while (text[j] === ' ') j++;
  if (text[j] !== "'") return { error: `a policy variable default must be in single quotes in "${text}"` };
  let fallback = '';
  for (j++; ; j++) {
    if (j >= text.length) return { error: `unterminated default value in "${text}"` };
    if (text[j] === "'") {
      if (text[j + 1] !== "'") break;
      j++;
    }
    fallback += text[j];
  }
  j++;
  while (text[j] === ' ') j++;
  if (text[j] !== '}') return { error: `expected "}" after the default value in "${text}"` };
  return { end: j + 1, ref: { key, fallback } };
}

/** Parses policy text into units, pieces and variables. Under 2008-10-17 it is all literal text. */
export function parseTemplate(text: string, version: PolicyVersion): Template {
  if (version !== '2012-10-17' || !text.includes('${')) {
    return { keys: [], parts: wildcardUnits(text), pieces: [text] };
  }
  const parts: TemplatePart[] = [];
  const pieces: (string | VariableRef)[] = [];
  const keys = new Set<string>();
  let literal = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === '$' && text[i + 1] === '{') {
      const parsed = parseVariable(text, i + 2);
      if ('error' in parsed) return { keys: [...keys], parts, pieces, malformed: parsed.error };
      if ('escape' in parsed) {
        literal += parsed.escape;
        parts.push(parsed.escape.charCodeAt(0));
      } else {
        if (literal) pieces.push(literal);
        literal = '';
        pieces.push(parsed.ref);
        parts.push(parsed.ref);
        keys.add(parsed.ref.key);
      }
      i = parsed.end;
      continue;
    }
    const cp = text.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(cp);
    literal += char;
    parts.push(cp === 0x2a ? ANY_RUN : cp === 0x3f ? ANY_ONE : cp);
    i += char.length;
  }
  if (literal || pieces.length === 0) pieces.push(literal);
  return { keys: [...keys], parts, pieces };
}

/** Says what is wrong with the policy variables in `text` (2012-10-17 syntax), or undefined. */
export function checkPolicyVariables(text: string): string | undefined {
  return parseTemplate(text, '2012-10-17').malformed;
}

/** The value a variable stands for in this request, or undefined when it has none. */
export function resolveVariable(ref: VariableRef, ctx: RequestContext): string | undefined {
  const value = ctx.get(ref.key);
  if (value === undefined || typeof value === 'object') return ref.fallback;
  return typeof value === 'string' ? value : String(value);
}

function renderUnits(parts: readonly TemplatePart[], ctx: RequestContext): number[] | undefined {
  const units: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') units.push(part);
    else {
      const value = resolveVariable(part, ctx);
      if (value === undefined) return undefined;
      literalUnits(value, units);
    }
  }
  return units;
}

/** Policy text for an equality test: a constant, or rendered per request when it holds variables. */
export interface TextTemplate {
  readonly keys: readonly string[];
  /** The text when it holds no variables (escapes resolved); undefined otherwise. */
  readonly constant: string | undefined;
  /** The text with variables substituted, or undefined when a variable has no value. */
  render(ctx: RequestContext): string | undefined;
}

/** Compiles policy text for equality tests (StringEquals, Bool): `*` and `?` are plain characters. */
export function compileTextTemplate(text: string, version: PolicyVersion): TextTemplate {
  const template = parseTemplate(text, version);
  const { keys, pieces } = template;
  if (template.malformed !== undefined) return { keys, constant: undefined, render: () => undefined };
  if (keys.length === 0) {
    const constant = pieces.join('');
    return { keys, constant, render: () => constant };
  }
  return {
    keys,
    constant: undefined,
    render(ctx) {
      let out = '';
      for (const piece of pieces) {
        if (typeof piece === 'string') {
          out += piece;
          continue;
        }
        const value = resolveVariable(piece, ctx);
        if (value === undefined) return undefined;
        out += value;
      }
      return out;
    },
  };
}

/** A run of literal text and variables between two `*`s of a template. */
type Segment = readonly (string | VariableRef)[];

/** Renders a segment, or undefined when a variable has no value. */
function renderSegment(segment: Segment, ctx: RequestContext): string | undefined {
  let out = '';
  for (const piece of segment) {
    if (typeof piece === 'string') out += piece;
    else {
      const value = resolveVariable(piece, ctx);
      if (value === undefined) return undefined;
      out += value;
    }
  }
  return out;
}

/**
 * The common shape of a templated pattern, `*` wildcards only (no `?`), matched case-sensitively
 * without compiling anything per request: each segment between `*`s is rendered to text, the
 * first anchored at the start, the last at the end, the rest found leftmost (greedy leftmost
 * matching is exact when `*` is the only wildcard). Returns undefined for other shapes.
 */
function compileStarTemplate(
  parts: readonly TemplatePart[],
): ((s: string, from: number, to: number, ctx: RequestContext) => boolean) | undefined {
  const segments: (string | VariableRef)[][] = [[]];
  for (const part of parts) {
    if (part === ANY_ONE) return undefined;
    const current = segments[segments.length - 1] as (string | VariableRef)[];
    if (part === ANY_RUN) segments.push([]);
    else if (typeof part === 'number') {
      const char = String.fromCodePoint(part);
      const last = current[current.length - 1];
      if (typeof last === 'string') current[current.length - 1] = last + char;
      else current.push(char);
    } else current.push(part);
  }
  const first = segments[0] as Segment;
  if (segments.length === 1) return (s, from, to, ctx) => matchAt(first, s, from, ctx) === to;
  const last = segments[segments.length - 1] as Segment;
  const middle = segments.slice(1, -1);
  return (s, from, to, ctx) => {
    let pos = matchAt(first, s, from, ctx);
    if (pos < 0 || pos > to) return false;
    const limit = matchBefore(last, s, to, ctx);
    if (limit < pos) return false;
    for (const segment of middle) {
      const text = renderSegment(segment, ctx);
      if (text === undefined) return false;
      const at = s.indexOf(text, pos);
      if (at < 0 || at + text.length > limit) return false;
      pos = at + text.length;
    }
    return true;
  };
}

/** Matches a segment's pieces at `from` without concatenating them; returns where it ends, or -1. */
function matchAt(segment: Segment, s: string, from: number, ctx: RequestContext): number {
  let pos = from;
  for (const piece of segment) {
    const text = typeof piece === 'string' ? piece : resolveVariable(piece, ctx);
    if (text === undefined || !hasTextAt(s, text, pos)) return -1;
    pos += text.length;
  }
  return pos;
}

/** Matches a segment's pieces so that they end at `to`; returns where the segment starts, or -1. */
function matchBefore(segment: Segment, s: string, to: number, ctx: RequestContext): number {
  let pos = to;
  for (let i = segment.length - 1; i >= 0; i--) {
    const piece = segment[i] as string | VariableRef;
    const text = typeof piece === 'string' ? piece : resolveVariable(piece, ctx);
    if (text === undefined || !hasTextAt(s, text, pos - text.length)) return -1;
    pos -= text.length;
  }
  return pos;
}

/** Compiles a StringLike value: wildcards from the policy text, literal text from variables and escapes. */
export function compileLikePattern(pattern: string, version: PolicyVersion, ignoreCase: boolean): CompiledPattern {
  const template = parseTemplate(pattern, version);
  const { keys, parts } = template;
  if (template.malformed !== undefined) return { keys, test: () => false };
  if (keys.length === 0) {
    const match = compileUnits(parts as readonly number[], ignoreCase);
    return { keys, test: (value) => match(value, 0, value.length) };
  }
  const star = ignoreCase ? undefined : compileStarTemplate(parts);
  if (star) return { keys, test: (value, ctx) => star(value, 0, value.length, ctx) };
  return {
    keys,
    test(value, ctx) {
      const units = renderUnits(parts, ctx);
      return units !== undefined && compileUnits(units, ignoreCase)(value, 0, value.length);
    },
  };
}

/**
 * Compiles a Resource / NotResource / ArnLike pattern with policy variables. The pattern is split
 * into its six ARN components at the colons of the policy text before substitution, so a value
 * holding colons stays inside its component (where, outside the resource part, it cannot match).
 */
export function compileResourcePattern(pattern: string, version: PolicyVersion): CompiledPattern {
  if (version !== '2012-10-17' || !pattern.includes('${')) {
    return { keys: [], test: compileArnMatcher(pattern) };
  }
  const template = parseTemplate(pattern, version);
  const { keys, parts } = template;
  if (template.malformed !== undefined) return { keys, test: () => false };
  const components = splitUnitsAtColons(parts, ARN_COMPONENTS);
  if (keys.length === 0) {
    return { keys, test: compileArnComponents(components as number[][]) };
  }
  if (!completeComponents(components)) return { keys, test: () => false };
  const fixed = components.map((c) =>
    c.every((part) => typeof part === 'number') ? compileUnits(c as number[], false) : undefined,
  );
  const stars = components.map((c) => compileStarTemplate(c));
  // The fast path walks all six components; a cut-short pattern takes the general one below.
  if (components.length === ARN_COMPONENTS && stars.every((m, i) => m !== undefined || fixed[i] !== undefined)) {
    // Leading components of plain text (`arn:aws:orders:us-east-1:111122223333:`) compare as one prefix.
    let literal = 0;
    while (
      literal < ARN_COMPONENTS - 1 &&
      (components[literal] as TemplatePart[]).every((part) => typeof part === 'number' && part >= 0)
    ) {
      literal++;
    }
    const prefix = components
      .slice(0, literal)
      .map((units) => `${String.fromCodePoint(...(units as number[]))}:`)
      .join('');
    const startsWithPrefix = compilePrefix(prefix);
    return {
      keys,
      test: (value, ctx) =>
        startsWithPrefix(value) && matchTemplatedComponents(fixed, stars, value, ctx, literal, prefix.length),
    };
  }
  return {
    keys,
    test(value, ctx) {
      const matchers: RangeMatcher[] = [];
      for (const [i, component] of components.entries()) {
        const known = fixed[i];
        if (known) {
          matchers.push(known);
          continue;
        }
        const units = renderUnits(component, ctx);
        if (units === undefined) return false;
        matchers.push(compileUnits(units, false));
      }
      return matchComponents(matchers, value);
    },
  };
}

/** Whether `s` holds more than `count` colons. */
function hasMoreColons(s: string, count: number): boolean {
  let at = -1;
  for (let i = 0; i <= count; i++) {
    at = s.indexOf(':', at + 1);
    if (at < 0) return false;
  }
  return true;
}

/**
 * Compiles a Resource / NotResource pattern read the way that matches the most: besides what
 * `compileResourcePattern` matches, every `*` may run across colons, as in StringLike. The two
 * readings differ only when a wildcard or a variable stands before the last component and the
 * ARN holds more colons than the pattern's text, so that is tested before the text reading runs.
 */
export function compileSpanningResourcePattern(pattern: string, version: PolicyVersion): CompiledPattern {
  const components = compileResourcePattern(pattern, version);
  const template = parseTemplate(pattern, version);
  if (template.malformed !== undefined) return components;
  const leading = splitUnitsAtColons(template.parts, ARN_COMPONENTS).slice(0, -1);
  if (leading.every((c) => c.every((part) => typeof part === 'number' && part >= 0))) return components;
  const colons = template.parts.filter((part) => part === COLON).length;
  const text = compileLikePattern(pattern, version, false);
  return {
    keys: components.keys,
    test: (value, ctx) => components.test(value, ctx) || (hasMoreColons(value, colons) && text.test(value, ctx)),
  };
}

type StarMatcher = (s: string, from: number, to: number, ctx: RequestContext) => boolean;

/** Splits an ARN at its first five colons and matches each component, without allocating. */
function matchTemplatedComponents(
  fixed: readonly (RangeMatcher | undefined)[],
  stars: readonly (StarMatcher | undefined)[],
  value: string,
  ctx: RequestContext,
  first: number,
  start: number,
): boolean {
  let from = start;
  for (let i = first; i < ARN_COMPONENTS; i++) {
    const to = i === ARN_COMPONENTS - 1 ? value.length : value.indexOf(':', from);
    if (to < 0) return false;
    const known = fixed[i];
    const ok = known ? known(value, from, to) : (stars[i] as StarMatcher)(value, from, to, ctx);
    if (!ok) return false;
    from = to + 1;
  }
  return true;
}
