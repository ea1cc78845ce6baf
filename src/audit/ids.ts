// Cheap unique identifiers for events and requests: a random prefix drawn once per source and a
// counter, laid out as a UUID (8-4-4-4-12 hex) so that consumers expecting one keep working. Unique
// within the process by the counter and across processes by the 80 random bits of the prefix; a
// request costs a string concatenation instead of a random UUID.
import { randomBytes } from 'node:crypto';

/** The counter's last two hex digits, each value written once: an id is then one table lookup and one concatenation. */
const LOW_DIGITS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Returns a function giving a new id at each call (2^48 ids per source before the counter wraps). */
export function createIdSource(random: (n: number) => Buffer = randomBytes): () => string {
  const r = random(10).toString('hex');
  // Version 4 and the RFC 9562 variant, so the id reads as a well-formed UUID.
  const prefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(13, 16)}-${((parseInt(r[16] ?? '0', 16) & 0x3) | 0x8).toString(16)}${r.slice(17, 20)}-`;
  let counter = 0;
  /** The prefix and the counter's first ten hex digits, written again every 256 ids. */
  let head = '';
  return () => {
    counter++;
    const low = counter % 256;
    if (low === 0 || head === '') {
      const high = Math.floor(counter / 256).toString(16);
      head = prefix + (high.length >= 10 ? high.slice(-10) : '0000000000'.slice(high.length) + high);
    }
    return head + (LOW_DIGITS[low] as string);
  };
}

/** "000Z" to "999Z": the milliseconds and zone of an ISO 8601 time, each written once. */
const MILLIS_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => `${i.toString().padStart(3, '0')}Z`);

/** The largest time a Date holds, either side of 1970 (ECMA-262 TimeClip). */
const MAX_DATE_MS = 8.64e15;

/**
 * Returns a function formatting epoch milliseconds as ISO 8601 (as `toISOString` does), reusing the
 * last answer within the same millisecond and the date and time up to the second within the same second.
 */
export function createIsoClock(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  let lastSecond = Number.NaN;
  /** `YYYY-MM-DDTHH:MM:SS.` of `lastSecond`. */
  let secondText = '';
  return (ms) => {
    if (ms !== lastMs) {
      // A Date drops a fraction of a millisecond toward zero, and holds ±8.64e15 ms at most.
      const whole = Math.trunc(ms);
      if (!(Math.abs(whole) <= MAX_DATE_MS)) throw new RangeError('Invalid time value');
      const second = Math.floor(whole / 1000);
      if (second !== lastSecond) {
        secondText = new Date(second * 1000).toISOString().slice(0, -4);
        lastSecond = second;
      }
      lastIso = secondText + (MILLIS_DIGITS[whole - second * 1000] as string);
      lastMs = ms;
    }
    return lastIso;
  };
}
