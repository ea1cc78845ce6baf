// Numbers for the Numeric* operators, compared by their exact decimal value: "9007199254740993" is
// not 9007199254740992, and "0.10000000000000001" is not 0.1, though both pairs are one double.
//
// Text is decimal notation: an optional sign, digits with an optional fraction, an optional
// exponent (`-1.5e3`); no hex, no blanks, no `Infinity`. A JSON number stands for its shortest
// decimal form (`String(n)`), the text it was most likely written as.
//
// Comparing doubles is exact when both sides are decimals of at most 15 significant digits in the
// normal range of doubles (such decimals map to distinct doubles, in order), and when one side is
// such a decimal and the other a double read as its shortest form. That covers nearly every value;
// the rest is compared digit by digit, allocating only then.

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Significant digits a double keeps for every decimal of that length (DBL_DIG). */
const EXACT_DIGITS = 15;
/** Magnitudes well inside the normal range of doubles. */
const SMALLEST = 1e-290;
const LARGEST = 1e290;

/** A decimal as sign, significant digits (no leading or trailing zeros) and exponent: ±0.DIGITS × 10^exponent. */
export interface Decimal {
  readonly negative: boolean;
  /** Empty for zero. */
  readonly digits: string;
  readonly exponent: number;
}

/** A policy number ready for comparison: its double, whether the double compares exactly, and its decimal. */
export interface NumericValue {
  readonly double: number;
  /** Whether comparing `double` with another exact double gives the decimal order. */
  readonly exact: boolean;
  /** The decimal it stands for, for the comparisons its double cannot make. */
  readonly decimal: Decimal;
}

/** Whether `text` is decimal notation (see the top of this file). */
export function isDecimalText(text: string): boolean {
  return DECIMAL.test(text);
}

/** Significant digits of decimal text that `isDecimalText` accepts, without allocating. */
function significantDigits(text: string): number {
  let first = -1;
  let last = -1;
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x65 || c === 0x45) break;
    if (c < 0x30 || c > 0x39) continue;
    if (c !== 0x30) {
      if (first < 0) first = k;
      last = k;
    }
    k++;
  }
  return first < 0 ? 0 : last - first + 1;
}

/**
 * Whether a value's double compares exactly with other exact doubles: a JSON number always (it
 * stands for its shortest form, whose order its double keeps), text when it is zero or has at most
 * 15 significant digits and lies well inside the normal range.
 */
export function isExact(value: string | number, n: number): boolean {
  if (typeof value === 'number') return true;
  const digits = significantDigits(value);
  const abs = Math.abs(n);
  return digits === 0 || (digits <= EXACT_DIGITS && abs > SMALLEST && abs < LARGEST);
}

/** Reads a policy value (decimal text or a JSON number) once, at compile time; undefined when it is not a number. */
export function readPolicyNumber(value: string | number | boolean): NumericValue | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { double: value, exact: true, decimal: toDecimal(String(value)) } : undefined;
  }
  if (typeof value !== 'string' || !isDecimalText(value)) return undefined;
  const double = Number(value);
  return { double, exact: isExact(value, double), decimal: toDecimal(value) };
}

/**
 * Compares a request value (a finite JSON number, or text `isDecimalText` accepts) whose double is
 * `got` and whose exactness is `exact` (`isExact`) with a policy number: negative, zero or positive
 * as the request value is less than, equal to or greater than it. Allocates nothing unless one side
 * has too many digits for its double.
 */
export function compareNumber(value: string | number, got: number, exact: boolean, want: NumericValue): number {
  if (exact && want.exact) return got < want.double ? -1 : got > want.double ? 1 : 0;
  return compareDecimals(toDecimal(typeof value === 'number' ? String(value) : value), want.decimal);
}

/** Parses decimal text (as `isDecimalText` accepts, or `String(n)` writes) into sign, digits and exponent. */
export function toDecimal(text: string): Decimal {
  let i = 0;
  const negative = text[0] === '-';
  if (text[0] === '-' || text[0] === '+') i = 1;
  let mantissa = '';
  let pointAt = -1;
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '.') pointAt = mantissa.length;
    else if (c === 'e' || c === 'E') break;
    else mantissa += c;
  }
  const power = i < text.length ? Number(text.slice(i + 1)) : 0;
  if (pointAt < 0) pointAt = mantissa.length;
  const lead = mantissa.search(/[1-9]/);
  if (lead < 0) return { negative: false, digits: '', exponent: 0 };
  const digits = mantissa.slice(lead, endOfSignificant(mantissa));
  return { negative, digits, exponent: pointAt - lead + power };
}

/**
 * Where `digits` ends once its trailing zeros are left off. A loop, not `/0+$/`: that pattern
 * backtracks from every zero of a long run that does not end the text (quadratic time on a number a
 * request may carry).
 */
function endOfSignificant(digits: string): number {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 0x30) end--;
  return end;
}

/** Orders two decimals: negative, zero or positive as `a` is less than, equal to or greater than `b`. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const signA = a.digits === '' ? 0 : a.negative ? -1 : 1;
  const signB = b.digits === '' ? 0 : b.negative ? -1 : 1;
  if (signA !== signB) return signA - signB;
  if (signA === 0) return 0;
  let magnitude: number;
  if (a.exponent !== b.exponent) magnitude = a.exponent < b.exponent ? -1 : 1;
  else magnitude = a.digits < b.digits ? -1 : a.digits > b.digits ? 1 : 0;
  return signA * magnitude;
}
