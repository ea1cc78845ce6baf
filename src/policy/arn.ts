// Amazon Resource Names: `arn:partition:service:region:account:resource`, where the resource part
// may itself hold colons and slashes. Patterns are matched the way IAM matches Resource elements
// and ArnLike/ArnEquals values: the six colon-delimited components are compared one by one,
// case-sensitively, each with its own `*`/`?` wildcards (a wildcard never spans a component
// boundary, except inside the resource part, which runs to the end). `*` alone matches anything.
// A pattern cut short (`arn:aws:sqs:*`, `arn:aws:sqs:us-east-1:*`) is valid when its last
// component ends with `*`: the IAM User Guide's Resource page says a `*` that is the last
// character of a segment can expand beyond the colons, so that component runs to the end.
// A `*` ending a middle segment of a six-part pattern stays within its segment here: that is the
// narrower reading, which an Allow's Resource takes; a Deny's Resource reads the pattern as text
// instead (compile.ts), so that any doubt denies.

import { compilePrefix } from './prefix.js';
import { ANY_RUN, compileUnits, splitUnitsAtColons, wildcardUnits, type PatternUnits, type RangeMatcher } from './wildcard.js';

export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** Number of colon-delimited components in an ARN. */
export const ARN_COMPONENTS = 6;

/** Fewest components of a cut-short pattern: `arn`, a partition and a service, the last ending with `*`. */
export const MIN_SHORT_COMPONENTS = 3;

/**
 * Whether components split at colons make a pattern that can match: all six, or fewer (at least
 * `arn:partition:service`) whose last one ends with `*` and so takes the rest of the ARN.
 */
export function completeComponents<T>(components: readonly (readonly T[])[]): boolean {
  if (components.length >= ARN_COMPONENTS) return true;
  return components.length >= MIN_SHORT_COMPONENTS && components[components.length - 1]?.at(-1) === ANY_RUN;
}

/** Parses an ARN, or returns undefined when `s` is not one (partition, service and resource are required). */
export function parseArn(s: string): Arn | undefined {
  if (!s.startsWith('arn:')) return undefined;
  const parts = s.split(':');
  if (parts.length < ARN_COMPONENTS) return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!partition || !service || !resource) return undefined;
  return { partition, service, region, account, resource };
}

/**
 * Whether `s` is an ARN as `parseArn` reads one (`arn:`, a partition, a service, a region and an
 * account that may be empty, and a resource), without allocating: what ARN condition operators
 * can compare component by component.
 */
export function isArnText(s: string): boolean {
  if (!s.startsWith('arn:')) return false;
  const partitionEnd = s.indexOf(':', 4);
  const serviceEnd = partitionEnd < 0 ? -1 : s.indexOf(':', partitionEnd + 1);
  if (partitionEnd <= 4 || serviceEnd <= partitionEnd + 1) return false;
  const regionEnd = s.indexOf(':', serviceEnd + 1);
  const accountEnd = regionEnd < 0 ? -1 : s.indexOf(':', regionEnd + 1);
  return accountEnd > 0 && accountEnd < s.length - 1;
}

/**
 * Says what is wrong with a Resource / ArnLike pattern, or undefined when it is fine. `*` is fine;
 * anything else needs the six components with a non-empty partition, service and resource.
 * Colons inside policy variables (`${aws:username}`) do not count as separators.
 */
export function checkArnPattern(s: string): string | undefined {
  if (s === '*') return undefined;
  if (!s.startsWith('arn:')) return `"${s}" must be "*" or an ARN starting with "arn:"`;
  const parts = splitOutsideVariables(s);
  const shortStar = parts.length >= MIN_SHORT_COMPONENTS && s.endsWith('*');
  if (parts.length < ARN_COMPONENTS && !shortStar) {
    return `"${s}" must have six colon-separated parts (arn:partition:service:region:account:resource), or end a shorter one with "*"`;
  }
  const [, partition, service] = parts;
  if (!partition) return `"${s}" has an empty partition`;
  if (!service) return `"${s}" has an empty service`;
  if (parts.length >= ARN_COMPONENTS && !parts.slice(5).join(':')) return `"${s}" has an empty resource part`;
  return undefined;
}

/**
 * Says why a Resource / NotResource pattern is not usable, or undefined when it is fine: an ARN
 * pattern as `checkArnPattern` reads it, whose service has no wildcard. The IAM User Guide's
 * Resource page says a wildcard cannot stand in the service segment that identifies the product
 * (ArnLike condition values may have one: each of their six components takes wildcards).
 */
export function checkResourcePattern(s: string): string | undefined {
  const problem = checkArnPattern(s);
  if (problem !== undefined || s === '*') return problem;
  const service = splitOutsideVariables(s)[2] ?? '';
  return /[*?]/.test(service) ? `"${s}" has a wildcard in its service ("${service}"): name the service, as in arn:aws:s3:::bucket/*` : undefined;
}

/** The ARN components before the account, by position, where IAM substitutes no policy variable. */
const COMPONENTS_BEFORE_ACCOUNT = ['partition', 'service', 'region'] as const;

/**
 * Names the component of a Resource / NotResource pattern before its account (partition, service
 * or region) that holds a `${...}`, or undefined. IAM substitutes variables only "in the resource
 * portion of the ARN" (IAM User Guide, "IAM policy elements: Variables and tags"); AWS managed
 * policies also write one in the account, which is kept, but never in the parts before it.
 */
export function variableBeforeAccount(s: string): string | undefined {
  const parts = splitOutsideVariables(s);
  return COMPONENTS_BEFORE_ACCOUNT.find((_, i) => parts[i + 1]?.includes('${'));
}

/** Splits at colons that are not inside `${...}`. */
function splitOutsideVariables(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (c === '}' && depth > 0) depth--;
    else if (c === ':' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * Matches an ARN component by component from `start`, one range matcher per component; the last
 * matcher takes the rest of the string, colons included.
 */
export function matchComponents(matchers: readonly RangeMatcher[], arn: string, start = 0): boolean {
  const last = matchers.length - 1;
  let from = start;
  for (let i = 0; i < last; i++) {
    const colon = arn.indexOf(':', from);
    if (colon < 0) return false;
    if (!(matchers[i] as RangeMatcher)(arn, from, colon)) return false;
    from = colon + 1;
  }
  return (matchers[last] as RangeMatcher)(arn, from, arn.length);
}

/**
 * The text of units that are plain code points followed by one `*`, or undefined for any other
 * shape. Surrogate code points are left out: native string comparison would pair them where the
 * matchers compare whole code points.
 */
function textBeforeClosingStar(units: PatternUnits): string | undefined {
  if (units.at(-1) !== ANY_RUN) return undefined;
  const text = units.slice(0, -1);
  if (!text.every((u) => u >= 0 && (u < 0xd800 || u > 0xdfff))) return undefined;
  return String.fromCodePoint(...text);
}

/**
 * Compiles ARN pattern units (already split into components) into a matcher. Fewer than six
 * components without a closing `*` is a malformed pattern (the validator reports it) and matches
 * nothing; with one, the last component takes the rest of the ARN (matchComponents). Leading
 * components without wildcards (`arn:aws:s3:::` in most patterns) are compared as one prefix.
 */
export function compileArnComponents(components: readonly PatternUnits[]): (arn: string) => boolean {
  if (!completeComponents(components)) return () => false;
  let literal = 0;
  while (literal < components.length - 1 && (components[literal] as PatternUnits).every((u) => u >= 0)) literal++;
  const prefix = components
    .slice(0, literal)
    .map((units) => `${String.fromCodePoint(...units)}:`)
    .join('');
  // The most common shape, `arn:aws:orders:::order/*`: the last component runs to the end, so
  // text then one closing `*` there is a prefix of the whole ARN.
  const lastText = literal === components.length - 1 ? textBeforeClosingStar(components[literal] as PatternUnits) : undefined;
  if (lastText !== undefined) {
    return compilePrefix(prefix + lastText);
  }
  const matchers = components.slice(literal).map((units) => compileUnits(units, false));
  const startsWithPrefix = compilePrefix(prefix);
  return (arn) => startsWithPrefix(arn) && matchComponents(matchers, arn, prefix.length);
}

/** Compiles a Resource / ArnLike / ArnEquals pattern into a case-sensitive, component-wise matcher. */
export function compileArnMatcher(pattern: string): (arn: string) => boolean {
  if (pattern === '*') return () => true;
  // Without wildcards, comparing component by component is comparing the whole string.
  if (!pattern.includes('*') && !pattern.includes('?')) {
    return pattern.split(':').length >= ARN_COMPONENTS ? (arn) => arn === pattern : () => false;
  }
  return compileArnComponents(splitUnitsAtColons(wildcardUnits(pattern), ARN_COMPONENTS));
}
