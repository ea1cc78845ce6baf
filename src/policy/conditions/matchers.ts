// One condition key's policy values, compiled for one operator family into a single test: "does
// this context value match any of the values?" (values within a key are OR'ed). Policy values are
// parsed here, once; a context value is read once per test and compared with every value.
//
// Policy variables are honoured where IAM supports them (String, Bool and Arn families, under
// 2012-10-17); elsewhere `${...}` is just text, which the value check already rejects.

import type { ContextScalar, PolicyVersion, RequestContext } from '../types.js';
import { compileLikePattern, compileResourcePattern, compileTextTemplate, type CompiledPattern } from '../variables.js';
import { compileUnits, equalsIgnoreCase, literalUnits, type RangeMatcher } from '../wildcard.js';
import { parseDateValue } from './dates.js';
import { cidrContains, createIpReader, parseCidr, type Cidr } from './ip.js';
import type { BaseOperator, Comparison } from './operators.js';
import { compileBase64Equals, parseBool, parseNumber } from './values.js';

export interface ValueSet {
  /** Lower-case context keys read by variables in the values. */
  readonly keys: readonly string[];
  /** Whether `value` (one context value) matches at least one policy value. */
  matches(value: ContextScalar, ctx: RequestContext): boolean;
}

type Test = (value: ContextScalar, ctx: RequestContext) => boolean;

function anyOf(tests: readonly Test[], keys: readonly string[]): ValueSet {
  if (tests.length === 1) return { keys, matches: tests[0] as Test };
  return {
    keys,
    matches(value, ctx) {
      for (let i = 0; i < tests.length; i++) if ((tests[i] as Test)(value, ctx)) return true;
      return false;
    },
  };
}

function asText(value: ContextScalar): string {
  return typeof value === 'string' ? value : String(value);
}

function compare(comparison: Comparison, got: number, want: number): boolean {
  switch (comparison) {
    case 'lt':
      return got < want;
    case 'lte':
      return got <= want;
    case 'gt':
      return got > want;
    case 'gte':
      return got >= want;
    default:
      return got === want;
  }
}

/** Ordered values (Numeric, Date): read the context value once, compare with each policy value. */
function ordered(comparison: Comparison, wants: readonly number[], read: (v: ContextScalar) => number | undefined): ValueSet {
  return {
    keys: [],
    matches(value) {
      const got = read(value);
      if (got === undefined) return false;
      for (let i = 0; i < wants.length; i++) if (compare(comparison, got, wants[i] as number)) return true;
      return false;
    },
  };
}

function strings(base: BaseOperator, values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  if (base.comparison === 'like') {
    const patterns = values.map((v) => compileLikePattern(asText(v), version, base.ignoreCase));
    return patternSet(patterns, (value) => asText(value));
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

function patternSet(patterns: readonly CompiledPattern[], read: (v: ContextScalar) => string | undefined): ValueSet {
  const keys = patterns.flatMap((p) => p.keys);
  return anyOf(
    patterns.map((p) => (value, ctx) => {
      const text = read(value);
      return text !== undefined && p.test(text, ctx);
    }),
    keys,
  );
}

function bools(values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  const templates = values.map((v) => compileTextTemplate(asText(v), version));
  const tests: Test[] = templates.map((template) => {
    if (template.constant !== undefined) {
      const want = parseBool(template.constant);
      return (value) => parseBool(value) === want && want !== undefined;
    }
    return (value, ctx) => {
      const rendered = template.render(ctx);
      const want = rendered === undefined ? undefined : parseBool(rendered);
      return want !== undefined && parseBool(value) === want;
    };
  });
  return anyOf(tests, templates.flatMap((t) => t.keys));
}

function addresses(values: readonly ContextScalar[]): ValueSet {
  const blocks = values.map((v) => (typeof v === 'string' ? parseCidr(v) : undefined)).filter((c): c is Cidr => !!c);
  const reader = createIpReader();
  return {
    keys: [],
    matches(value) {
      if (typeof value !== 'string') return false;
      const family = reader.read(value);
      if (family === 0) return false;
      for (let i = 0; i < blocks.length; i++) if (cidrContains(blocks[i] as Cidr, family, reader.words)) return true;
      return false;
    },
  };
}

function arns(values: readonly ContextScalar[], version: PolicyVersion): ValueSet {
  const patterns = values.map((v) => compileResourcePattern(asText(v), version));
  return patternSet(patterns, (value) => (typeof value === 'string' ? value : undefined));
}

function binaries(values: readonly ContextScalar[]): ValueSet {
  const tests = values.map((v) => compileBase64Equals(asText(v)));
  return {
    keys: [],
    matches(value) {
      if (typeof value !== 'string') return false;
      for (let i = 0; i < tests.length; i++) if ((tests[i] as (value: string) => boolean)(value)) return true;
      return false;
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
      return ordered(base.comparison, values.map((v) => parseNumber(v) ?? Number.NaN), parseNumber);
    case 'Date':
      return ordered(base.comparison, values.map((v) => parseDateValue(v) ?? Number.NaN), parseDateValue);
    case 'Bool':
      return bools(values, version);
    case 'Binary':
      return binaries(values);
    case 'IpAddress':
      return addresses(values);
    case 'Arn':
      return arns(values, version);
    case 'Null':
      return { keys: [], matches: () => false };
  }
}
