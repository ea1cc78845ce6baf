// Dates for the Date* condition operators: ISO 8601 text or epoch seconds, both turned into an
// instant (milliseconds since 1970-01-01T00:00:00Z) so that comparisons are between instants,
// whatever the notation or time zone. A parser by hand: no RegExp match objects, no Date objects.
//
// Accepted ISO 8601 forms: the W3C profile the IAM User Guide names ("W3C implementations of the
// ISO 8601 date formats"): `YYYY` and `YYYY-MM` (the first instant of that year or month), and
// `YYYY-MM-DD`, then optionally `Thh:mm`, `:ss`, `.fraction`, then an optional zone `Z`, `±hh:mm`,
// `±hhmm` or `±hh`. A date or time without a zone is taken as UTC. Numbers, and other strings of
// digits (with an optional sign and decimals), are epoch seconds: four digits alone are a year, as
// the W3C profile reads them, since no policy means the first hour of 1970.

import type { ContextScalar } from '../types.js';

const EPOCH_SECONDS = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

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

/** Parses an ISO 8601 date or date-time into epoch milliseconds, or undefined. */
export function parseIsoDate(s: string): number | undefined {
  const year = digits(s, 0, 4);
  if (year >= 0 && s.length === 4) return daysFromCivil(year, 1, 1) * 86_400_000;
  const month = s[4] === '-' ? digits(s, 5, 2) : -1;
  if (year >= 0 && month >= 1 && month <= 12 && s.length === 7) return daysFromCivil(year, month, 1) * 86_400_000;
  const day = s[7] === '-' ? digits(s, 8, 2) : -1;
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  let ms = daysFromCivil(year, month, day) * 86_400_000;
  let i = 10;
  if (i === s.length) return ms;
  if (s[i] !== 'T' && s[i] !== 't') return undefined;
  const hour = digits(s, i + 1, 2);
  const minute = s[i + 3] === ':' ? digits(s, i + 4, 2) : -1;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  ms += hour * 3_600_000 + minute * 60_000;
  i += 6;
  if (s[i] === ':') {
    const second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return undefined;
    ms += second * 1000;
    i += 3;
    if (s[i] === '.' || s[i] === ',') {
      let scale = 100;
      let j = i + 1;
      for (; j < s.length; j++) {
        const d = s.charCodeAt(j) - 0x30;
        if (d < 0 || d > 9) break;
        ms += d * scale;
        scale /= 10;
      }
      if (j === i + 1) return undefined;
      ms = Math.floor(ms);
      i = j;
    }
  }
  if (i === s.length) return ms;
  if ((s[i] === 'Z' || s[i] === 'z') && i + 1 === s.length) return ms;
  const sign = s[i] === '+' ? 1 : s[i] === '-' ? -1 : 0;
  if (sign === 0) return undefined;
  const offsetHours = digits(s, i + 1, 2);
  let offsetMinutes = 0;
  let end = i + 3;
  if (end < s.length) {
    const at = s[end] === ':' ? end + 1 : end;
    offsetMinutes = digits(s, at, 2);
    end = at + 2;
  }
  if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59 || end !== s.length) {
    return undefined;
  }
  return ms - sign * (offsetHours * 3_600_000 + offsetMinutes * 60_000);
}

/** Turns a policy or context value into an instant: ISO 8601 text, or epoch seconds (number or digits). */
export function parseDateValue(value: ContextScalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  return parseIsoDate(value) ?? (EPOCH_SECONDS.test(value) ? Math.floor(Number(value) * 1000) : undefined);
}
