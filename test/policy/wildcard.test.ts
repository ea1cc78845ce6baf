import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileUnits, compileWildcard, equalsIgnoreCase, foldCodePoint, wildcardUnits } from '../../src/policy/wildcard.js';

/** Slow, obviously correct reference: recursion over code points, exponential in the worst case. */
function naive(pattern: string, s: string, ignoreCase: boolean): boolean {
  const fold = (c: string): string => (ignoreCase ? c.toLowerCase() : c);
  const p = [...pattern].map((c) => (c === '*' || c === '?' ? c : fold(c)));
  const t = [...s].map(fold);
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === t.length;
    if (p[i] === '*') return go(i + 1, j) || (j < t.length && go(i, j + 1));
    if (j === t.length) return false;
    return (p[i] === '?' || p[i] === t[j]) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

// Rules from the IAM User Guide: "*" matches any combination of characters (the empty one
// included) and "?" any single character, in Action elements (case-insensitive) and in
// StringLike / ARN patterns (case-sensitive).
const cases: readonly [rule: string, pattern: string, input: string, ignoreCase: boolean, expected: boolean][] = [
  ['"*" alone matches everything, the empty string included', '*', '', false, true],
  ['"*" alone matches everything', '*', 'anything:at/all', false, true],
  ['"*" matches an empty run', 's3:Get*', 's3:Get', false, true],
  ['"*" matches a run of characters', 's3:Get*', 's3:GetObjectAcl', false, true],
  ['a literal prefix must match', 's3:Get*', 's3:PutObject', false, false],
  ['"?" matches exactly one character', 'a?c', 'abc', false, true],
  ['"?" does not match zero characters', 'a?c', 'ac', false, false],
  ['"?" does not match two characters', 'a?c', 'abbc', false, false],
  ['a pattern without wildcards is an exact match', 'iam:PassRole', 'iam:PassRole', false, true],
  ['exact matching is case-sensitive by default', 'iam:PassRole', 'iam:passrole', false, false],
  ['action names match case-insensitively', 'IAM:passrole', 'iam:PassRole', true, true],
  ['case-insensitive matching keeps wildcards', 'S3:get*', 's3:GetObject', true, true],
  ['a star in the middle', 'ec2:*Instances', 'ec2:DescribeInstances', false, true],
  ['a star in the middle needs the suffix', 'ec2:*Instances', 'ec2:DescribeInstance', false, false],
  ['stars on both sides find an infix', '*Object*', 's3:GetObjectTagging', false, true],
  ['several infixes must appear in order', '*ab*cd*', 'xxcdxxab', false, false],
  ['several infixes in order', '*ab*cd*', 'xxabxxcdxx', false, true],
  ['prefix and suffix may not overlap', 'ab*ba', 'aba', false, false],
  ['prefix and suffix may touch', 'ab*ba', 'abba', false, true],
  ['consecutive stars act as one', 'a**b', 'ab', false, true],
  ['"?" counts a character outside the Basic Multilingual Plane as one', 'a?b', 'a😀b', false, true],
  ['a trailing literal must end the input', '*.json', 'file.json.bak', false, false],
  ['"?" in an infix', '*a?c*', 'zzabczz', false, true],
];

describe('compileWildcard', () => {
  it.each(cases)('%s (%j vs %j)', (_rule, pattern, input, ignoreCase, expected) => {
    expect(compileWildcard(pattern, ignoreCase)(input)).toBe(expected);
    expect(naive(pattern, input, ignoreCase)).toBe(expected);
  });

  it('agrees with a naive recursive matcher on random patterns and strings', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'A', 'B', ':', '😀', '*', '?'), { maxLength: 16 }).map((a) => a.join(''));
    const random = fc.tuple(fc.array(fc.constantFrom('a', 'b', 'A', '*', '?', ':', '😀'), { maxLength: 12 }).map((a) => a.join('')), text);
    // Patterns derived from the input (characters kept, turned into "?" or "*", stars inserted,
    // one character changed) so that many cases match and the rest are near misses.
    const derived = text.chain((input) =>
      fc
        .tuple(
          fc.array(fc.constantFrom('keep', 'keep', 'one', 'run', 'insert', 'upper'), {
            minLength: [...input].length,
            maxLength: [...input].length,
          }),
          fc.option(fc.nat({ max: 15 }), { freq: 2 }),
        )
        .map(([edits, changeAt]) => {
          const pattern = [...input]
            .map((c, i) => {
              if (i === changeAt) return c === 'a' ? 'b' : 'a';
              const edit = edits[i];
              if (edit === 'one') return '?';
              if (edit === 'run') return '*';
              if (edit === 'insert') return `*${c}`;
              return edit === 'upper' ? c.toUpperCase() : c;
            })
            .join('');
          return [pattern, input] as const;
        }),
    );
    let matched = 0;
    fc.assert(
      fc.property(fc.oneof(random, derived), fc.boolean(), ([pattern, input], ignoreCase) => {
        const result = compileWildcard(pattern, ignoreCase)(input);
        if (result) matched++;
        return result === naive(pattern, input, ignoreCase);
      }),
      { numRuns: 4000 },
    );
    expect(matched).toBeGreaterThan(800);
  });

  it('agrees with the naive matcher on long infixes that need several machine words', () => {
    const input = fc.array(fc.constantFrom('a', 'b'), { minLength: 40, maxLength: 200 }).map((a) => a.join(''));
    const cases = input.chain((text) =>
      fc
        .tuple(
          fc.nat({ max: text.length - 33 }),
          fc.integer({ min: 33, max: 80 }),
          fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
          fc.option(fc.nat({ max: 79 }), { freq: 2 }),
        )
        .map(([start, length, wild, changeAt]) => {
          const infix = [...text.slice(start, start + length)]
            .map((c, i) => (i === changeAt ? (c === 'a' ? 'b' : 'a') : wild[i] && i % 3 === 0 ? '?' : c))
            .join('');
          return [`*${infix}*`, text] as const;
        }),
    );
    let matched = 0;
    fc.assert(
      fc.property(cases, ([pattern, text]) => {
        const result = compileWildcard(pattern, false)(text);
        if (result) matched++;
        // One infix between two stars keeps the naive matcher polynomial here.
        return result === naive(pattern, text, false);
      }),
      { numRuns: 300 },
    );
    expect(matched).toBeGreaterThan(60);
  });

  it('finds a long infix that occurs in the input', () => {
    const infix = 'ab'.repeat(40);
    expect(compileWildcard(`*${infix}*`, false)(`zz${infix}zz`)).toBe(true);
    expect(compileWildcard(`*${infix}?*`, false)(`zz${infix}`)).toBe(false);
  });

  it('fails a pathological pattern (50 stars) against 20,000 characters without backtracking', () => {
    // Exponential or quadratic behaviour would run into the test timeout; there is no timing assertion.
    const pattern = `${'a*'.repeat(50)}b`;
    const input = 'a'.repeat(20_000);
    const match = compileWildcard(pattern, false);
    for (let i = 0; i < 20; i++) expect(match(input)).toBe(false);
    expect(match(`${input}b`)).toBe(true);
  });

  it('matches a pathological case-insensitive pattern with "?" against a long input', () => {
    const pattern = `${'*a?'.repeat(50)}*c`;
    const input = 'A'.repeat(20_000);
    expect(compileWildcard(pattern, true)(input)).toBe(false);
    expect(compileWildcard(pattern, true)(`${input}C`)).toBe(true);
  });
});

/**
 * Reference glob over code points, remembering each (pattern, text) position pair so that long
 * patterns with many stars stay cheap: a star takes nothing or one more character, `?` one, a
 * literal its own code point (folded as the matcher folds when ignoring case).
 */
function reference(pattern: string, text: string, ignoreCase: boolean): boolean {
  const fold = (c: string): number => (ignoreCase ? foldCodePoint(c.codePointAt(0)!) : c.codePointAt(0)!);
  const p = [...pattern];
  const t = [...text];
  const known = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const at = i * (t.length + 1) + j;
    let result = known.get(at);
    if (result !== undefined) return result;
    if (i === p.length) result = j === t.length;
    else if (p[i] === '*') result = go(i + 1, j) || (j < t.length && go(i, j + 1));
    else result = j < t.length && (p[i] === '?' || fold(p[i]!) === fold(t[j]!)) && go(i + 1, j + 1);
    known.set(at, result);
    return result;
  };
  return go(0, 0);
}

describe('compileUnits on a range of a longer text', () => {
  // Characters of one and two UTF-16 units, letters that fold alike (Kelvin sign and k, long s and s),
  // colons and a lone surrogate, so that a pattern's least length in code points and a range's
  // length in units part ways.
  const CHARS = ['a', 'b', 'k', 'K', '\u212a', 's', '\u017f', ':', 'é', '中', '😀', '𝔸', '\ud800'];
  // Texts in every character above, or in characters of one unit only (where a segment just as long
  // as its range is most often met), or of two units only.
  const alphabet = fc.constantFrom(CHARS, CHARS.filter((c) => c.length === 1), CHARS.filter((c) => c.length === 2));
  const text = alphabet.chain((chars) => fc.array(fc.constantFrom(...chars), { maxLength: 120, size: 'max' }).map((a) => a.join('')));
  // A range of the text (its ends may cut a surrogate pair) and a pattern made from that range:
  // characters kept, made `?` or `*`, stars inserted, a character dropped, doubled or changed, so
  // that the pattern's fixed part is often just as long as the range, one longer or one shorter.
  // Edits are dense or sparse, so that some segments between stars run past 32 characters (a
  // finder of several machine words), and a star may open or close the pattern.
  const EDITS = ['keep', 'one', 'run', 'runs', 'insert', 'drop', 'double', 'change'] as const;
  const sparseEdit = fc.oneof({ weight: 40, arbitrary: fc.constant('keep' as const) }, fc.constantFrom(...EDITS));
  const cases = text.chain((s) =>
    // Any range, or one that spans nearly all the text, for long segments.
    fc.oneof(fc.tuple(fc.nat({ max: s.length }), fc.nat({ max: s.length })), fc.tuple(fc.nat({ max: Math.min(4, s.length) }), fc.nat({ max: Math.min(4, s.length) }).map((n) => s.length - n))).chain(([x, y]) => {
      const [from, to] = x <= y ? [x, y] : [y, x];
      const chars = [...s.slice(from, to)];
      const edits = fc.boolean().chain((sparse) => fc.array(sparse ? sparseEdit : fc.constantFrom(...EDITS), { minLength: chars.length, maxLength: chars.length }));
      return fc.tuple(edits, fc.constantFrom(...CHARS), fc.boolean(), fc.boolean()).map(([edits, other, open, close]) => {
        const body = chars
          .map((c, i) => {
            const e = edits[i];
            if (e === 'one') return '?';
            if (e === 'run') return '*';
            if (e === 'runs') return '***';
            if (e === 'insert') return `*${c}`;
            if (e === 'drop') return '';
            if (e === 'double') return c + c;
            return e === 'change' ? other : c;
          })
          .join('');
        return { s, from, to, pattern: `${open ? '*' : ''}${body}${close ? '*' : ''}` };
      });
    }),
  );

  it('decides every range as the reference glob does, early refusals of short ranges included', () => {
    let matched = 0;
    let refused = 0;
    fc.assert(
      fc.property(cases, fc.boolean(), ({ s, from, to, pattern }, ignoreCase) => {
        const expected = reference(pattern, s.slice(from, to), ignoreCase);
        expect(compileUnits(wildcardUnits(pattern), ignoreCase)(s, from, to)).toBe(expected);
        if (expected) matched++;
        else refused++;
      }),
      { seed: 20261207, numRuns: 5000 },
    );
    expect(matched).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });

  it('decides a pattern whose segments are just as long as the range, in characters of two units, as the reference does', () => {
    const emoji = '😀'.repeat(40);
    for (const pattern of [`*${emoji}*`, `${emoji}*`, `*${emoji}`, `😀*${'😀'.repeat(38)}*😀`, `*${'?'.repeat(40)}*`]) {
      for (const ignoreCase of [false, true]) {
        expect(compileUnits(wildcardUnits(pattern), ignoreCase)(`x${emoji}x`, 1, 81)).toBe(true);
        expect(compileUnits(wildcardUnits(pattern), ignoreCase)(`x${emoji}x`, 3, 81)).toBe(false);
        expect(reference(pattern, emoji, ignoreCase)).toBe(true);
      }
    }
  });
});

describe('equalsIgnoreCase', () => {
  it('compares strings without regard to case', () => {
    expect(equalsIgnoreCase('Alice', 'aLICE')).toBe(true);
    expect(equalsIgnoreCase('Alice', 'Alic')).toBe(false);
    expect(equalsIgnoreCase('ÉTÉ', 'été')).toBe(true);
  });

  it.each([
    ['ΟΔΟΣ', 'οδος', true],
    ['οδος', 'οδοσ', true],
    ['\u212Aelvin', 'kelvin', true],
    ['STRAẞE', 'straße', true],
    ['ǅ', 'ǆ', true],
    ['straße', 'strasse', false],
    ['ı', 'i', false],
    ['ı', 'I', false],
    ['İ', 'i', false],
    ['İ', 'I', false],
  ])('folds case by Unicode simple case folding without the Turkic I mappings: %j and %j equal: %s', (a, b, expected) => {
    expect(equalsIgnoreCase(a, b)).toBe(expected);
    expect(compileWildcard(b, true)(a)).toBe(expected);
  });
});
