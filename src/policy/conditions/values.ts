// What a condition value means under each operator family, read once at compile time (policy
// values) or per request without allocation (context values), and the check the validator uses to
// report a value that does not fit its operator.

import { checkArnPattern } from '../arn.js';
import type { ContextScalar, Json, PolicyVersion } from '../types.js';
import { parseDateValue } from './dates.js';
import { parseCidr } from './ip.js';
import { readPolicyNumber } from './numbers.js';
import type { ParsedOperator } from './operators.js';

const TRUE = /^true$/i;
const FALSE = /^false$/i;

/** A boolean from `true`/`false` or their text in any case, or undefined. */
export function parseBool(value: ContextScalar): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  return TRUE.test(value) ? true : FALSE.test(value) ? false : undefined;
}

/** The 6-bit value of a base64 character (standard alphabet), or -1. */
function sextet(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x47;
  if (c >= 0x30 && c <= 0x39) return c + 4;
  if (c === 0x2b) return 62;
  if (c === 0x2f) return 63;
  return -1;
}

/** Length of `s` without its trailing `=` padding. */
function unpaddedLength(s: string): number {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d) end--;
  return end;
}

/** Whether `s` is non-empty standard base64, padded or not. */
export function isBase64(s: string): boolean {
  const end = unpaddedLength(s);
  if (end === 0 || end % 4 === 1 || s.length - end > 2) return false;
  if (s.length !== end && s.length % 4 !== 0) return false;
  for (let i = 0; i < end; i++) if (sextet(s.charCodeAt(i)) < 0) return false;
  return true;
}

/**
 * Compiles a BinaryEquals value: the request's base64 text matches when it encodes the same bytes
 * (padding optional; the unused low bits of the last character are ignored).
 */
export function compileBase64Equals(policy: string): (value: string) => boolean {
  const length = unpaddedLength(policy);
  const want = Uint8Array.from({ length }, (_, i) => sextet(policy.charCodeAt(i)));
  const lastMask = length % 4 === 2 ? 0x30 : length % 4 === 3 ? 0x3c : 0x3f;
  return (value) => {
    if (unpaddedLength(value) !== length) return false;
    for (let i = 0; i < length; i++) {
      const got = sextet(value.charCodeAt(i));
      const mask = i === length - 1 ? lastMask : 0x3f;
      if (got < 0 || (got & mask) !== ((want[i] as number) & mask)) return false;
    }
    return true;
  };
}

/**
 * Says why `value` cannot be a value of operator `op` (a non-number under Numeric*, a bad date, a
 * bad CIDR, a non-boolean under Bool or Null, bad base64, a malformed ARN), or undefined when it fits.
 * `version` is the policy's: only 2012-10-17 has policy variables.
 */
export function checkConditionValue(
  op: ParsedOperator,
  key: string,
  value: Json,
  version: PolicyVersion = '2012-10-17',
): string | undefined {
  if (value === null || typeof value === 'object') {
    return `${op.raw} ${key}: a condition value must be a string, number or boolean`;
  }
  const shown = JSON.stringify(value);
  switch (op.base.family) {
    case 'String':
      return undefined;
    case 'Numeric':
      return readPolicyNumber(value) === undefined ? `${op.raw} ${key}: ${shown} is not a number` : undefined;
    case 'Date':
      return parseDateValue(value) === undefined
        ? `${op.raw} ${key}: ${shown} is not a date (use ISO 8601 with a zone, such as 2026-01-31T12:00:00Z, or epoch seconds)`
        : undefined;
    case 'Bool':
      // Bool values may be policy variables, which only the request can resolve; they exist only
      // under 2012-10-17, and elsewhere the same text is a literal that is neither true nor false.
      if (version === '2012-10-17' && typeof value === 'string' && value.includes('${')) return undefined;
      return parseBool(value) === undefined ? `${op.raw} ${key}: ${shown} is not true or false` : undefined;
    case 'Null':
      return parseBool(value) === undefined ? `${op.raw} ${key}: ${shown} must be true or false` : undefined;
    case 'Binary':
      return typeof value === 'string' && isBase64(value) ? undefined : `${op.raw} ${key}: ${shown} is not base64`;
    case 'IpAddress':
      return typeof value === 'string' && parseCidr(value) !== undefined
        ? undefined
        : `${op.raw} ${key}: ${shown} is not an IPv4 or IPv6 address or CIDR block`;
    case 'Arn': {
      if (typeof value !== 'string') return `${op.raw} ${key}: ${shown} is not an ARN`;
      const problem = checkArnPattern(value);
      return problem === undefined ? undefined : `${op.raw} ${key}: ${problem}`;
    }
  }
}
