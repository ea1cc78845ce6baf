// Records and log lines never keep a bearer token: `holdsBearerToken` finds a JWT anywhere in a
// value a caller chose. It is checked against the pattern it replaces (a regex, kept here as the
// reference) over generated text made of a JWT's own characters, and it reads a value of any length
// in one pass, where the regex backtracked quadratically on `eyJeyJeyJ...`.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holdsBearerToken, withBearerTokensRedacted, withoutBearerToken, REDACTED } from '../../src/audit/build.js';
import { runsOf } from '../adversarial/support/generated.js';

/** The reference: a JWT (`eyJ`, four or more base64url characters, a dot, four or more, a dot) anywhere. */
const REFERENCE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\./;

const pieces = fc.constantFrom('eyJ', 'e', 'y', 'J', 'a', 'Z', '0', '-', '_', '.', '..', ' ', '=', '/', 'eyJhbGci', '\u00e9');
const values = fc.array(pieces, { maxLength: 24 }).map((parts) => parts.join(''));
/** Runs of base64url characters of every length around the pattern's minimums (four after `eyJ`, four after the dot). */
const run = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '_', 'e', 'y', 'J'), maxLength: 7 });
const separator = fc.constantFrom('.', '', ' ', '=', '..');
/** A value shaped like a token, one part at a time near its edges, inside generated text. */
const tokenLike = fc.tuple(values, fc.constantFrom('eyJ', 'ey', ''), run, separator, run, separator, values).map((parts) => parts.join(''));

describe('finding a bearer token in a recorded value', () => {
  it('agrees with the JWT pattern on every generated value', () => {
    fc.assert(
      fc.property(fc.oneof(values, tokenLike), (value) => holdsBearerToken(value) === REFERENCE.test(value)),
      runsOf(2000),
    );
  });

  it('finds a token made by an issuer at the start, the middle and the end of a value, and nothing in plain text', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    for (const value of [token, `Bearer ${token}`, `/orders/${token}/x`, `a=${token}`]) expect(withoutBearerToken(value)).toBe(REDACTED);
    for (const value of ['/orders/1', 'eyJ', 'eyJabcd.efgh', 'eyJab.cdef.', 'eyJabcd..efgh.']) expect(withoutBearerToken(value)).toBe(value);
  });

  it('in a log line, replaces every token and every token cut short after its header, and keeps the rest of the text as it was', () => {
    /** The reference for text: a JWT's start (`eyJ`, four or more, a dot, four or more) with every dot-separated run after it. */
    const TOKEN_OR_CUT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)*/g;
    fc.assert(
      fc.property(fc.oneof(values, tokenLike), (value) => withBearerTokensRedacted(value) === value.replace(TOKEN_OR_CUT, REDACTED)),
      runsOf(2000),
    );
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    expect(withBearerTokensRedacted(`issuer ${token} and ${token.slice(0, 30)}… quoted`)).toBe(`issuer ${REDACTED} and ${REDACTED}… quoted`);
  });

  it('reads a 4 MB value of repeated eyJ, with and without dots, in one pass (the regex would take hours)', () => {
    for (const unit of ['eyJ', 'eyJa.', 'eyJabcd.e.']) {
      const value = unit.repeat(Math.ceil((4 * 1024 * 1024) / unit.length));
      expect(holdsBearerToken(value)).toBe(false);
      expect(withBearerTokensRedacted(value) === value).toBe(true);
    }
  });
});
