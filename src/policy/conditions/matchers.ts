// One condition key's policy values, compiled for one operator family into a single test: "does
// this context value match any of the values?" (values within a key are OR'ed). Policy values are
// parsed here, once; a context value is read once per test and compared with every value. A
// context value the family cannot read (text that is not a number, a date, an address, a boolean,
// base64 or an ARN) is UNREADABLE, which the caller resolves against the statement's effect.
//
// Policy variables are honoured where IAM supports them (String, Bool and Arn families, under
// 2012-10-17); elsewhere `${...}` is just text, which the value check already rejects.

import { isArnText } from '../arn.js';
import type { ContextScalar, PolicyVersion, RequestContext } from '../types.js';
import { compileLikePattern, compileResourcePattern, compileTextTemplate, type CompiledPattern, type TextTemplate } from '../variables.js';
import { compileUnits, equalsIgnoreCase, literalUnits, type RangeMatcher } from '../wildcard.js';
import { compareInstants, createInstant, readDate, type Instant } from './dates.js';
import { cidrContains, createIpReader, parseCidr, type Cidr } from './ip.js';
import type { BaseOperator, Comparison } from './operators.js';
import { compareNumber, isDecimalText, isExact, readPolicyNumber, type NumericValue } from './numbers.js';
import { compileBase64Equals, isBase64, parseBool } from './values.js';

/** A context value matches a policy value. */
export const MATCH = 1;
/** A context value matches no policy value. */
export const NO_MATCH = 0;
/** A context value that the operator family cannot read, so it neither matches nor fails to. */
export const UNREADABLE = -1;
export type Verdict = typeof MATCH | typeof NO_MATCH | typeof UNREADABLE;

export interface ValueSet {
  /** Lower-case context keys read by variables in the values. */
  readonly keys: readonly string[];
  /** Whether `value` (one context value) matches at least one policy value, or cannot be read. */
  matches(value: ContextScalar, ctx: RequestContext): Verdict;
}

type Test = (value: ContextScalar, ctx: RequestContext) => boolean;

/** Values every context value can be read as (strings): a match of any test is a match. */
function anyOf(tests: readonly Test[], keys: readonly string[]): ValueSet {
  if (tests.length === 1) {
    const only = tests[0] as Test;
    return { keys, matches: (value, ctx) => (only(value, ctx) ? MATCH : NO_MATCH) };
  }
  return {
    keys,
    matches(value, ctx) {
      for (let i = 0; i < tests.length; i++) if ((tests[i] as Test)(value, ctx)) return MATCH;
      return NO_MATCH;
    },
  };
}

/** Values of a family that reads only some context values: `readable` says which. */
function readableOnly(set: ValueSet, readable: (value: ContextScalar) => boolean): ValueSet {
  return { keys: set.keys, matches: (value, ctx) => (readable(value) ? set.matches(value, ctx) : UNREADABLE) };
}

function asText(value: ContextScalar): string {
  return typeof value === 'string' ? value : String(value);
}

/** Whether an order (negative, zero, positive: the context value against the policy value) satisfies the comparison. */
function holds(comparison: Comparison, order: number): boolean {
  switch (comparison) {
    case 'lt':
      return order < 0;
    case 'lte':
      return order <= 0;
    case 'gt':
      return order > 0;
    case 'gte':
      return order >= 0;
    default:
      return order === 0;
  }
}

/** Numeric values: the context value is read once and compared exactly with each policy number. */
function numbers(comparison: Comparison, values: readonly ContextScalar[]): ValueSet {
  const wants = values.map(readPolicyNumber).filter((n): n is NumericValue => n !== undefined);
  return {
    keys: [],
    matches(value) {
      if (typeof value === 'boolean') return UNREADABLE;
      if (typeof value === 'number' ? !Number.isFinite(value) : !isDecimalText(value)) return UNREADABLE;
      const got = typeof value === 'number' ? value : Number(value);
      const exact = isExact(value, got);
      for (let i = 0; i < wants.length; i++) {
        if (holds(comparison, compareNumber(value, got, exact, wants[i] as NumericValue))) return MATCH;
      }
      return NO_MATCH;
    },
  };
}

/** Date values: the context value is read once as an instant and compared with each policy instant. */
function dates(comparison: Comparison, values: readonly ContextScalar[]): ValueSet {
  const wants = values.flatMap((v) => {
    const instant = createInstant();
    return readDate(v, instant) ? [instant] : [];
  });
  const got = createInstant(); // scratch, owned by this matcher; matching is synchronous
  return {
    keys: [],
    matches(value) {
      if (!readDate(value, got)) return UNREADABLE;
      for (let i = 0; i < wants.length; i++) if (holds(comparison, compareInstants(got, wants[i] as Instant))) return MATCH;
      return NO_MATCH;
    },
  };
}

function strings(base: BaseOperator, values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  if (base.comparison === 'like') {
    const patterns = values.map((v) => compileLikePattern(asText(v), version, base.ignoreCase));
    return patternSet(patterns);
  }
  const templates = values.map((v) => compileTextTemplate(asText(v), version));
  const keys = templates.flatMap((t) => t.keys);
  const tests: Test[] = [];
  const constants = templates.flatMap((t) => (t.constant === undefined ? [] : [t.constant]));
  if (constants.length > 0) {
    if (base.ignoreCase) {
      const folded = constants.map((c) => compileUnits(literalUnits(c), true));
      tests.push((value) => {
        const text = asText(value);
        for (let i = 0; i < folded.length; i++) if ((folded[i] as RangeMatcher)(text, 0, text.length)) return true;
        return false;
      });
    } else {
      const set = new Set(constants);
      tests.push((value) => set.has(asText(value)));
    }
  }
  for (const template of templates) {
    if (template.constant !== undefined) continue;
    tests.push((value, ctx) => {
      const want = template.render(ctx);
      if (want === undefined) return false;
      const text = asText(value);
      return base.ignoreCase ? equalsIgnoreCase(text, want) : text === want;
    });
  }
  return anyOf(tests, keys);
}

function patternSet(patterns: readonly CompiledPattern[]): ValueSet {
  const keys = patterns.flatMap((p) => p.keys);
  return anyOf(
    patterns.map((p) => (value, ctx) => p.test(asText(value), ctx)),
    keys,
  );
}

/**
 * Bool values. A variable that renders to text that is neither true nor false is a value that does
 * not fit the operator, which fails closed as one written in the policy would (the validator refuses
 * those at load): the verdict is UNREADABLE unless another value matches. A variable with no value
 * matches nothing.
 */
function bools(values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  const templates = values.map((v) => compileTextTemplate(asText(v), version));
  const constants = new Set(templates.flatMap((t) => (t.constant === undefined ? [] : [parseBool(t.constant)])));
  const rendered = templates.filter((t) => t.constant === undefined);
  return {
    keys: templates.flatMap((t) => t.keys),
    matches(value, ctx) {
      const got = parseBool(value);
      if (got === undefined) return UNREADABLE;
      if (constants.has(got)) return MATCH;
      let unfit = false;
      for (let i = 0; i < rendered.length; i++) {
        const text = (rendered[i] as TextTemplate).render(ctx);
        if (text === undefined) continue;
        const want = parseBool(text);
        if (want === got) return MATCH;
        if (want === undefined) unfit = true;
      }
      return unfit ? UNREADABLE : NO_MATCH;
    },
  };
}

function addresses(values: readonly ContextScalar[]): ValueSet {
  const blocks = values.map((v) => (typeof v === 'string' ? parseCidr(v) : undefined)).filter((c): c is Cidr => !!c);
  const reader = createIpReader();
  return {
    keys: [],
    matches(value) {
      if (typeof value !== 'string') return UNREADABLE;
      const family = reader.read(value);
      if (family === 0) return UNREADABLE;
      for (let i = 0; i < blocks.length; i++) if (cidrContains(blocks[i] as Cidr, family, reader.words)) return MATCH;
      return NO_MATCH;
    },
  };
}

function arns(values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  const patterns = values.map((v) => compileResourcePattern(asText(v), version));
  return readableOnly(patternSet(patterns), (value) => typeof value === 'string' && isArnText(value));
}

function binaries(values: readonly ContextScalar[]): ValueSet {
  const tests = values.map((v) => compileBase64Equals(asText(v)));
  return {
    keys: [],
    matches(value) {
      if (typeof value !== 'string' || !isBase64(value)) return UNREADABLE;
      for (let i = 0; i < tests.length; i++) if ((tests[i] as (value: string) => boolean)(value)) return MATCH;
      return NO_MATCH;
    },
  };
}

/**
 * Compiles the policy values of one condition key for a base operator (ignoring negation, set
 * qualifiers and IfExists, which the caller applies). Values must already fit the operator.
 */
export function compileValueSet(base: BaseOperator, values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  switch (base.family) {
    case 'String':
      return strings(base, values, version);
    case 'Numeric':
      return numbers(base.comparison, values);
    case 'Date':
      return dates(base.comparison, values);
    case 'Bool':
      return bools(values, version);
    case 'Binary':
      return binaries(values);
    case 'IpAddress':
      return addresses(values);
    case 'Arn':
      return arns(values, version);
    case 'Null':
      return { keys: [], matches: () => NO_MATCH };
  }
}
