// Condition values that will not do what they look like, as IAM Access Analyzer's policy checks
// flag them: a wildcard given to an equality operator (matched as the character itself), an IP
// block with bits set after its prefix (ignored, so the block is wider than its address reads), and
// limits of a Numeric less-than or greater-than test that the widest limit already covers; and an
// operator of another type than the global key it tests ("Type mismatch").
import { parseCidr } from '../conditions/ip.js';
import { compareDecimals, readPolicyNumber, type NumericValue } from '../conditions/numbers.js';
import { parseOperator, type OperatorFamily } from '../conditions/operators.js';
import { globalKeyFamilies } from '../global-keys.js';
import type { ContextScalar, ParsedCondition, PolicyVersion } from '../types.js';
import type { ReadDocument } from './document.js';
import type { FindingSink } from './findings.js';

/** `*` or `?` outside any `${...}` (under 2012-10-17 `${*}` and `${?}` write the characters on purpose). */
function hasBareWildcard(value: ContextScalar, version: PolicyVersion): boolean {
  if (typeof value !== 'string') return false;
  const text = version === '2012-10-17' ? value.replace(/\$\{[^}]*\}/g, '') : value;
  return /[*?]/.test(text);
}

/** The block's network address when the written address has bits set after the prefix, else undefined. */
function hostBitsSet(value: ContextScalar): string | undefined {
  if (typeof value !== 'string') return undefined;
  const slash = value.indexOf('/');
  if (slash < 0) return undefined;
  const block = parseCidr(value);
  const address = parseCidr(value.slice(0, slash));
  if (!block || !address || block.family !== address.family || block.network.length !== address.network.length) return undefined;
  if (block.network.every((word, i) => word === address.network[i])) return undefined;
  const network = block.network.length === 1 ? ipv4(block.network[0] as number) : ipv6(block.network);
  return `${network}/${block.prefix}`;
}

function ipv4(word: number): string {
  return [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff].join('.');
}

/** An IPv6 address in its short form: hex groups, the longest run of two or more zero groups as `::`. */
function ipv6(words: Uint32Array): string {
  const groups = [...words].flatMap((w) => [w >>> 16, w & 0xffff]);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/**
 * The limits of a Numeric less-than / greater-than condition that another of its limits covers:
 * values are ORed, so `NumericLessThan ["5", "10"]` holds wherever `"10"` alone does.
 */
function coveredLimits(values: readonly ContextScalar[], upper: boolean): ContextScalar[] {
  const read: { value: ContextScalar; n: NumericValue }[] = [];
  for (const value of values) {
    const n = typeof value === 'boolean' ? undefined : readPolicyNumber(value);
    if (!n) return [];
    read.push({ value, n });
  }
  const widest = read.reduce((a, b) => (compareDecimals(b.n.decimal, a.n.decimal) * (upper ? 1 : -1) > 0 ? b : a));
  return read.filter((r) => r !== widest).map((r) => r.value);
}

function checkCondition(c: ParsedCondition, version: PolicyVersion, sink: FindingSink): void {
  const op = parseOperator(c.operator);
  if (!op) return;
  checkKeyType(c, op.base.family, sink);
  if (op.base.family === 'String' && op.base.comparison === 'equals' && c.values.some((v) => hasBareWildcard(v, version))) {
    const like = op.base.negated ? 'StringNotLike' : 'StringLike';
    sink.add('EQUALS_WITH_WILDCARD', c.path, `${op.base.name} compares * and ? as the characters themselves, not as wildcards: use ${like} to match a pattern`);
  }
  const { comparison } = op.base;
  // Only for a document that loads: a limit the JSON reader cannot hold exactly is already an error.
  if (op.base.family === 'Numeric' && comparison !== 'equals' && c.values.length > 1 && sink.errorCount() === 0) {
    const covered = coveredLimits(c.values, comparison === 'lt' || comparison === 'lte');
    if (covered.length > 0) {
      sink.add('REDUNDANT_CONDITION_VALUE', c.path, `${op.base.name} holds when any one limit does, so ${covered.map((v) => JSON.stringify(v)).join(', ')} add${covered.length === 1 ? 's' : ''} nothing beside the widest: keep one limit`);
    }
  }
  if (op.base.family === 'IpAddress') {
    for (const v of c.values) {
      const network = hostBitsSet(v);
      if (network !== undefined) sink.add('IP_RANGE_HOST_BITS', c.path, `${JSON.stringify(v)} has bits set after its prefix, which are ignored: write ${network}`);
    }
  }
}

/** How a message names the values of each type, and the operators that read them. */
const TYPE_WORDS: Readonly<Record<OperatorFamily, { readonly values: string; readonly use: string }>> = {
  String: { values: 'text', use: 'a String operator such as StringEquals' },
  Numeric: { values: 'numbers', use: 'a Numeric operator such as NumericLessThan' },
  Date: { values: 'dates', use: 'a Date operator such as DateLessThan' },
  Bool: { values: 'booleans', use: 'Bool' },
  Binary: { values: 'binary values', use: 'BinaryEquals' },
  IpAddress: { values: 'IP addresses', use: 'IpAddress or NotIpAddress' },
  Arn: { values: 'ARNs', use: 'an Arn operator such as ArnLike' },
  Null: { values: 'presence', use: 'Null' },
};

/**
 * An operator that reads another type than the documented type of the global key it tests (Access
 * Analyzer's "Type mismatch"): a Date operator never finds a date in aws:SourceIp, so its Allow
 * never applies. String operators read any value as text, and Null any key, so they pass.
 */
function checkKeyType(c: ParsedCondition, family: OperatorFamily, sink: FindingSink): void {
  if (family === 'String' || family === 'Null') return;
  const families = globalKeyFamilies(c.key);
  if (!families || families.includes(family)) return;
  const holds = families.map((f) => TYPE_WORDS[f].values).join(' or ');
  const use = families.map((f) => TYPE_WORDS[f].use).join(' or ');
  sink.add('CONDITION_TYPE_MISMATCH', c.path, `${c.operator} compares ${TYPE_WORDS[family].values}, but ${c.key} holds ${holds}: use ${use}`);
}

/** Reports condition values that read as something other than what they do, for every clean statement. */
export function checkConditionValues(doc: ReadDocument, sink: FindingSink): void {
  for (const { statement, clean } of doc.statements) {
    if (!clean) continue;
    for (const c of statement.conditions) checkCondition(c, doc.policy.version, sink);
  }
}
