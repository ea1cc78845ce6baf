// Cheap unique identifiers for events and requests: a random prefix drawn once per source and a
// counter, laid out as a UUID (8-4-4-4-12 hex) so that consumers expecting one keep working. Unique
// within the process by the counter and across processes by the 80 random bits of the prefix; a
// request costs a string concatenation instead of a random UUID.
import { randomBytes } from 'node:crypto';

/** Returns a function giving a new id at each call (2^48 ids per source before the counter wraps). */
export function createIdSource(random: (n: number) => Buffer = randomBytes): () => string {
  const r = random(10).toString('hex');
  // Version 4 and the RFC 9562 variant, so the id reads as a well-formed UUID.
  const prefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(13, 16)}-${((parseInt(r[16] ?? '0', 16) & 0x3) | 0x8).toString(16)}${r.slice(17, 20)}-`;
  let counter = 0;
  return () => {
    counter++;
    const hex = counter.toString(16);
    return prefix + (hex.length >= 12 ? hex.slice(-12) : '000000000000'.slice(hex.length) + hex);
  };
}

/** Returns a function formatting epoch milliseconds as ISO 8601, reusing the last answer within the same millisecond. */
export function createIsoClock(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}
