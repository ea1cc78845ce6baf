import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH_RULES, normalizeTarget, type PathRejection } from '../../src/gateway/path.js';
import { codePointName, placements, SPELLINGS, spell, UNICODE_CLASSES } from '../support/unicode.js';

function path(raw: string): string {
  const r = normalizeTarget(raw);
  if (!r.ok) throw new Error(`${raw} rejected: ${r.reason}`);
  return r.target.path;
}

function rejection(raw: string): PathRejection | undefined {
  const r = normalizeTarget(raw);
  return r.ok ? undefined : r.reason;
}

describe('normalizeTarget', () => {
  it.each([
    ['/', '/'],
    ['/orders', '/orders'],
    ['/orders/', '/orders/'],
    ['//orders///12', '/orders/12'],
    ['/public/../admin', '/admin'],
    ['/public/./x', '/public/x'],
    ['/a/b/..', '/a/'],
    ['/%61dmin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/.%2E/admin', '/admin'],
    ['/x%7ey', '/x~y'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%3ab', '/a%3Ab'],
    ['/a:b@c', '/a:b@c'],
    ['/a b', '/a%20b'],
    ['/a{b}', '/a%7Bb%7D'],
    ['/a%25b', '/a%25b'],
    ['/100%25', '/100%25'],
    ['/%f0%9f%98%80', '/%F0%9F%98%80'],
  ])('normalises %s to %s', (raw, expected) => {
    expect(path(raw)).toBe(expected);
  });

  it.each<[string, PathRejection]>([
    ['orders', 'not_origin_form'],
    ['http://evil/admin', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['/a%2Fb', 'encoded_separator'],
    ['/a%2fb', 'encoded_separator'],
    ['/a%5cb', 'encoded_separator'],
    ['/a\\b', 'backslash'],
    ['/a%00b', 'nul'],
    ['/a%0d%0aX-Injected:1', 'control_character'],
    ['/a%zz', 'invalid_percent_encoding'],
    ['/a%2', 'invalid_percent_encoding'],
    ['/a%', 'invalid_percent_encoding'],
    ['/%c0%af', 'invalid_utf8'],
    ['/%c0%ae%c0%ae/admin', 'invalid_utf8'],
    ['/%e0%80%af', 'invalid_utf8'],
    ['/%f0%80%80%af', 'invalid_utf8'],
    ['/%ed%a0%80', 'invalid_utf8'],
    ['/%80', 'invalid_utf8'],
    ['/%c3', 'invalid_utf8'],
    ['/%c3x', 'invalid_utf8'],
    ['/%f5%80%80%80', 'invalid_utf8'],
    ['/%252e%252e/admin', 'double_encoding'],
    ['/a%252Fb', 'double_encoding'],
    ['/%25%32%65', 'double_encoding'],
    ['/%25%41a', 'double_encoding'],
    ['/..', 'escapes_root'],
    ['/a/../../admin', 'escapes_root'],
    ['/public/..;/admin', 'semicolon'],
    ['/admin;jsessionid=1', 'semicolon'],
    ['/admin.', 'trailing_dot'],
    ['/admin%2e', 'trailing_dot'],
    ['/admin..', 'trailing_dot'],
    ['/a?b=%zz', 'invalid_percent_encoding'],
    ['/a?b=%0', 'invalid_percent_encoding'],
    ['/a?b#frag', 'fragment'],
  ])('rejects %s (%s)', (raw, reason) => {
    expect(rejection(raw)).toBe(reason);
  });

  it('keeps the query string byte for byte and splits segments', () => {
    const r = normalizeTarget('/orders//12/?b=2&a=%41&a=1');
    expect(r).toEqual({ ok: true, target: { path: '/orders/12/', segments: ['orders', '12', ''], query: 'b=2&a=%41&a=1' } });
    expect(normalizeTarget('/x?')).toEqual({ ok: true, target: { path: '/x', segments: ['x'], query: '' } });
  });

  it('accepts semicolons, trailing dots and double encoding when the rules allow them', () => {
    const rules = { ...DEFAULT_PATH_RULES, allowSemicolon: true, allowTrailingDot: true, allowDoubleEncoding: true };
    expect(normalizeTarget('/a;b/c.%252e', rules)).toMatchObject({ ok: true, target: { path: '/a;b/c.%252e' } });
  });

  it('refuses targets longer than the limit', () => {
    expect(normalizeTarget('/' + 'a'.repeat(100), { ...DEFAULT_PATH_RULES, maxLength: 50 })).toEqual({ ok: false, reason: 'too_long' });
  });

  it('is idempotent, and its result is left unchanged by a standard URL parser', () => {
    const chars = fc.constantFrom('a', 'B', '.', '/', '%2e', '%41', '%20', '~', ':', '%c3%a9', '%25', '-', '@', '%', '2', 'e', '%32', '%65', ';', '%3b', '%c0', '%af');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 30 }), (parts) => {
        const first = normalizeTarget('/' + parts.join(''));
        if (!first.ok) return;
        const again = normalizeTarget(first.target.path);
        expect(again.ok && again.target.path).toBe(first.target.path);
        expect(new URL(first.target.path, 'http://upstream').pathname).toBe(first.target.path);
      }),
      { numRuns: 500 },
    );
  });

  it('never produces dot segments, empty inner segments, or encoded unreserved characters', () => {
    const chars = fc.constantFrom('a', '.', '/', '%2e', '%2E', '%61', '%7e', '//', '..');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 30 }), (parts) => {
        const r = normalizeTarget('/' + parts.join(''));
        if (!r.ok) return;
        const inner = r.target.segments.slice(0, -1);
        expect(inner.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        expect(r.target.path).not.toMatch(/%(2[eE]|6[1-9a-fA-F]|7[eE])/);
      }),
    );
  });
});

describe('normalizeTarget and Unicode look-alikes', () => {
  const { lookalikes, otherChanged } = UNICODE_CLASSES;

  it('computes the look-alike class over all of Unicode, holding every known look-alike of . / \\ %', () => {
    // Written out independently of the computation: if it ever misses these, it is broken.
    const known = ['\u2024', '\u2025', '\u2026', '\uFE52', '\uFF0E', '\uFE30', '\u2488', '\u33C2', '\uFF0F', '\u2100', '\u2105', '\uFF3C', '\uFE68', '\uFF05', '\uFE6A', '\uFF1F', '\uFF03', '\u037E'];
    expect(lookalikes).toEqual(expect.arrayContaining(known));
    expect(lookalikes.length).toBeGreaterThanOrEqual(known.length);
  });

  it.each(SPELLINGS)('refuses every look-alike of a separator or dot, written %s, wherever it stands in the path', (how) => {
    const accepted: string[] = [];
    for (const ch of lookalikes) {
      for (const { where, target } of placements(spell(ch, how))) {
        const r = normalizeTarget(target);
        if (r.ok || r.reason !== 'nfkc_separator') accepted.push(`${codePointName(ch)} in ${where}: ${r.ok ? 'accepted' : r.reason}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a look-alike even in a segment that a later dot segment removes', () => {
    expect(rejection('/public/%EF%BC%8E%EF%BC%8E/../readme')).toBe('nfkc_separator');
  });

  it('refuses look-alikes with the same reason when refuseNonNfkc is on', () => {
    const rules = { ...DEFAULT_PATH_RULES, refuseNonNfkc: true };
    expect(lookalikes.filter((ch) => normalizeTarget(`/public/${spell(ch, 'upper')}`, rules).ok !== false).map(codePointName)).toEqual([]);
    expect(normalizeTarget('/public/%EF%BC%8E', rules)).toEqual({ ok: false, reason: 'nfkc_separator' });
  });

  it('accepts every other character NFKC changes by default, and refuses each one with refuseNonNfkc', () => {
    const strict = { ...DEFAULT_PATH_RULES, refuseNonNfkc: true };
    const wrong: string[] = [];
    for (const ch of otherChanged) {
      const target = `/public/x${spell(ch, 'upper')}`;
      const loose = normalizeTarget(target);
      const refused = normalizeTarget(target, strict);
      if (!loose.ok) wrong.push(`${codePointName(ch)} refused by default: ${loose.reason}`);
      if (refused.ok || refused.reason !== 'nfkc_changed') wrong.push(`${codePointName(ch)} not refused by refuseNonNfkc`);
    }
    expect(wrong).toEqual([]);
    expect(otherChanged.length).toBeGreaterThan(4000);
  });

  it('accepts every Basic Multilingual Plane character NFKC leaves alone but the line and paragraph separators, even with refuseNonNfkc', () => {
    const strict = { ...DEFAULT_PATH_RULES, refuseNonNfkc: true };
    const refused: string[] = [];
    for (let cp = 0xa0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      // U+2028 and U+2029 break log lines: refused as control characters (test/adversarial/audit-hostile-strings.test.ts).
      if (cp === 0x2028 || cp === 0x2029) continue;
      const ch = String.fromCodePoint(cp);
      if (('x' + ch).normalize('NFKC') !== 'x' + ch) continue;
      const r = normalizeTarget(`/public/x${spell(ch, 'upper')}`, strict);
      if (!r.ok) refused.push(`${codePointName(ch)}: ${r.reason}`);
    }
    expect(refused).toEqual([]);
  });

  it('leaves pure-ASCII paths to the byte rules alone', () => {
    expect(normalizeTarget('/public/a.b/%25/c', { ...DEFAULT_PATH_RULES, refuseNonNfkc: true })).toMatchObject({ ok: true, target: { path: '/public/a.b/%25/c' } });
  });
});
