// Dates for the Date* condition operators: ISO 8601 text or epoch seconds, both turned into an
// instant (whole milliseconds since 1970-01-01T00:00:00Z, and nanoseconds within the millisecond)
// so that comparisons are between instants, to the nanosecond, whatever the notation or time zone
// (digits of a fraction beyond the ninth are not read). A parser by hand: no RegExp match objects,
// no Date objects.
//
// Accepted ISO 8601 forms: the W3C profile the IAM User Guide names ("W3C implementations of the
// ISO 8601 date formats"): `YYYY` and `YYYY-MM` (the first instant of that year or month), and
// `YYYY-MM-DD` (midnight UTC), optionally followed by a time `Thh:mm`, `:ss`, `.fraction` and its
// zone `Z`, `±hh:mm`, `±hhmm` or `±hh`. A time without a zone is no date (refused in a policy,
// unreadable in a request): the profile writes every time with a zone designator, and a local
// time would be read hours off in any zone but UTC. Numbers, and other strings of digits (with an
// optional sign and decimals), are epoch seconds: four digits alone are a year, as the W3C
// profile reads them, since no policy means the first hour of 1970.

import type { ContextScalar } from '../types.js';

const EPOCH_SECONDS = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;

/** An instant: whole milliseconds since the epoch, and nanoseconds (0 to 999999) after them. */
export interface Instant {
  ms: number;
  ns: number;
}

/** A fresh instant to read into (compile one per condition and reuse it: reading is synchronous). */
export function createInstant(): Instant {
  return { ms: 0, ns: 0 };
}

/** Orders two instants: negative, zero or positive as `a` is before, at or after `b`. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.ns - b.ns;
}

/** Reads up to nine digits of a fraction at `i` as nanoseconds into `out.ns`; returns where the digits end. */
function readFraction(s: string, i: number, out: Instant): number {
  let nanos = 0;
  let scale = NS_PER_S / 10;
  let j = i;
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j) - 0x30;
    if (d < 0 || d > 9) break;
    nanos += d * scale;
    scale = Math.floor(scale / 10);
  }
  out.ns = nanos;
  return j;
}

/** Days from 1970-01-01 to the given proleptic Gregorian date (any year, no Date object). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Reads `count` decimal digits at `i`, or returns -1. */
function digits(s: string, i: number, count: number): number {
  if (i + count > s.length) return -1;
  let n = 0;
  for (let k = i; k < i + count; k++) {
    const d = s.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Reads an ISO 8601 date or date-time into `out`; returns false when it is not one. */
function readIsoDate(s: string, out: Instant): boolean {
  out.ns = 0;
  const year = digits(s, 0, 4);
  if (year >= 0 && s.length === 4) {
    out.ms = daysFromCivil(year, 1, 1) * 86_400_000;
    return true;
  }
  const month = s[4] === '-' ? digits(s, 5, 2) : -1;
  if (year >= 0 && month >= 1 && month <= 12 && s.length === 7) {
    out.ms = daysFromCivil(year, month, 1) * 86_400_000;
    return true;
  }
  const day = s[7] === '-' ? digits(s, 8, 2) : -1;
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  let ms = daysFromCivil(year, month, day) * 86_400_000;
  let i = 10;
  out.ms = ms;
  if (i === s.length) return true;
  if (s[i] !== 'T' && s[i] !== 't') return false;
  const hour = digits(s, i + 1, 2);
  const minute = s[i + 3] === ':' ? digits(s, i + 4, 2) : -1;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
  ms += hour * 3_600_000 + minute * 60_000;
  i += 6;
  if (s[i] === ':') {
    const second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return false;
    ms += second * 1000;
    i += 3;
    if (s[i] === '.' || s[i] === ',') {
      const j = readFraction(s, i + 1, out);
      if (j === i + 1) return false;
      ms += Math.floor(out.ns / NS_PER_MS);
      out.ns %= NS_PER_MS;
      i = j;
    }
  }
  out.ms = ms;
  // A time ends with its zone: one that ends here names no instant.
  if ((s[i] === 'Z' || s[i] === 'z') && i + 1 === s.length) return true;
  const sign = s[i] === '+' ? 1 : s[i] === '-' ? -1 : 0;
  if (sign === 0) return false;
  const offsetHours = digits(s, i + 1, 2);
  let offsetMinutes = 0;
  let end = i + 3;
  if (end < s.length) {
    const at = s[end] === ':' ? end + 1 : end;
    offsetMinutes = digits(s, at, 2);
    end = at + 2;
  }
  if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59 || end !== s.length) {
    return false;
  }
  out.ms = ms - sign * (offsetHours * 3_600_000 + offsetMinutes * 60_000);
  return true;
}

/** Reads epoch seconds text (`EPOCH_SECONDS`) exactly, fraction included, into `out`. */
function readEpochSeconds(s: string, out: Instant): void {
  const negative = s[0] === '-';
  let i = negative || s[0] === '+' ? 1 : 0;
  let seconds = 0;
  for (; i < s.length && s[i] !== '.'; i++) seconds = seconds * 10 + (s.charCodeAt(i) - 0x30);
  out.ns = 0;
  if (i < s.length) readFraction(s, i + 1, out);
  let nanos = out.ns;
  if (negative) {
    seconds = -seconds - (nanos > 0 ? 1 : 0);
    nanos = nanos > 0 ? NS_PER_S - nanos : 0;
  }
  out.ms = seconds * 1000 + Math.floor(nanos / NS_PER_MS);
  out.ns = nanos % NS_PER_MS;
}

/**
 * Reads a policy or context value into `out` as an instant: ISO 8601 text, or epoch seconds (a
 * number, or digits with an optional sign and fraction); returns false when it is neither.
 */
export function readDate(value: ContextScalar, out: Instant): boolean {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return false;
    if (Number.isSafeInteger(value)) {
      // Whole seconds, as aws:EpochTime carries them: no text to read.
      out.ms = value * 1000;
      out.ns = 0;
      return true;
    }
    const text = String(value);
    if (EPOCH_SECONDS.test(text)) readEpochSeconds(text, out);
    else {
      // Exponent notation: beyond 1e21 seconds, or under a microsecond.
      out.ms = Math.floor(value * 1000);
      out.ns = 0;
    }
    return true;
  }
  if (typeof value !== 'string') return false;
  if (readIsoDate(value, out)) return true;
  if (!EPOCH_SECONDS.test(value)) return false;
  readEpochSeconds(value, out);
  return true;
}

/** Parses an ISO 8601 date or date-time into epoch milliseconds (a fraction of one cut off), or undefined. */
export function parseIsoDate(s: string): number | undefined {
  const out = createInstant();
  return readIsoDate(s, out) ? out.ms : undefined;
}

/** Turns a policy or context value into epoch milliseconds (a fraction of one cut off), or undefined. */
export function parseDateValue(value: ContextScalar): number | undefined {
  const out = createInstant();
  return readDate(value, out) ? out.ms : undefined;
}
