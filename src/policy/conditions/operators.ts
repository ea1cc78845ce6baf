// The closed set of IAM condition operators and how an operator name decomposes:
// `ForAnyValue:StringLikeIfExists` = set qualifier + base operator + IfExists.

export type OperatorFamily = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'IpAddress' | 'Arn' | 'Null';

/** How a base operator compares: equality, pattern, ordering, or CIDR membership. */
export type Comparison = 'equals' | 'like' | 'lt' | 'lte' | 'gt' | 'gte' | 'cidr' | 'null';

export interface BaseOperator {
  readonly name: string;
  readonly family: OperatorFamily;
  readonly comparison: Comparison;
  /** A negated operator (StringNotEquals, NotIpAddress, ...) matches when no value matches. */
  readonly negated: boolean;
  readonly ignoreCase: boolean;
}

export type SetQualifier = 'ForAllValues' | 'ForAnyValue';

export interface ParsedOperator {
  /** The operator as written in the policy. */
  readonly raw: string;
  readonly base: BaseOperator;
  readonly ifExists: boolean;
  readonly qualifier?: SetQualifier;
}

function op(
  name: string,
  family: OperatorFamily,
  comparison: Comparison,
  negated = false,
  ignoreCase = false,
): BaseOperator {
  return { name, family, comparison, negated, ignoreCase };
}

const BASE_OPERATORS: readonly BaseOperator[] = [
  op('StringEquals', 'String', 'equals'),
  op('StringNotEquals', 'String', 'equals', true),
  op('StringEqualsIgnoreCase', 'String', 'equals', false, true),
  op('StringNotEqualsIgnoreCase', 'String', 'equals', true, true),
  op('StringLike', 'String', 'like'),
  op('StringNotLike', 'String', 'like', true),
  op('NumericEquals', 'Numeric', 'equals'),
  op('NumericNotEquals', 'Numeric', 'equals', true),
  op('NumericLessThan', 'Numeric', 'lt'),
  op('NumericLessThanEquals', 'Numeric', 'lte'),
  op('NumericGreaterThan', 'Numeric', 'gt'),
  op('NumericGreaterThanEquals', 'Numeric', 'gte'),
  op('DateEquals', 'Date', 'equals'),
  op('DateNotEquals', 'Date', 'equals', true),
  op('DateLessThan', 'Date', 'lt'),
  op('DateLessThanEquals', 'Date', 'lte'),
  op('DateGreaterThan', 'Date', 'gt'),
  op('DateGreaterThanEquals', 'Date', 'gte'),
  op('Bool', 'Bool', 'equals'),
  op('BinaryEquals', 'Binary', 'equals'),
  op('IpAddress', 'IpAddress', 'cidr'),
  op('NotIpAddress', 'IpAddress', 'cidr', true),
  op('ArnEquals', 'Arn', 'equals'),
  op('ArnNotEquals', 'Arn', 'equals', true),
  op('ArnLike', 'Arn', 'like'),
  op('ArnNotLike', 'Arn', 'like', true),
  op('Null', 'Null', 'null'),
];

// Operator names are matched case-sensitively, as IAM does: `stringequals` is rejected.
const BY_NAME: ReadonlyMap<string, BaseOperator> = new Map(BASE_OPERATORS.map((o) => [o.name, o]));

/** Every base operator name, for messages and generators. */
export const BASE_OPERATOR_NAMES: readonly string[] = BASE_OPERATORS.map((o) => o.name);

/**
 * Splits an operator name into qualifier, base operator and IfExists, or returns undefined for an
 * unknown operator (which the validator reports and the compiler turns into a never-matching Allow
 * and an always-matching Deny: any doubt denies).
 */
export function parseOperator(raw: string): ParsedOperator | undefined {
  let rest = raw;
  let qualifier: SetQualifier | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const prefix = rest.slice(0, colon);
    if (prefix !== 'ForAllValues' && prefix !== 'ForAnyValue') return undefined;
    qualifier = prefix;
    rest = rest.slice(colon + 1);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const base = BY_NAME.get(rest);
  if (!base) return undefined;
  // Null takes neither IfExists nor a set qualifier.
  if (base.family === 'Null' && (ifExists || qualifier)) return undefined;
  return qualifier ? { raw, base, ifExists, qualifier } : { raw, base, ifExists };
}
