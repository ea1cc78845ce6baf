// The redaction every log line passes through (src/app/log-redaction.ts), as properties over
// generated lines: a JSON line is redacted exactly as each of its string values would be as plain
// text, whatever escapes JSON writes into it, and numbers outside strings are never touched; in
// plain text a code is a run of exactly six digits that no letter, digit, `-` or `_` touches.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineRedactor, createTextRedactor } from '../../src/app/log-redaction.js';
import { REDACTED } from '../../src/audit/index.js';
import { runsOf } from '../adversarial/support/generated.js';

const SECRET = 'hunter2-redis-password';
const pieces = fc.constantFrom('123456', '1234567', '12345', '918273', '0', '7', 'a', 'Z', '-', '_', ' ', ':', '/', '=', '"', '\\', '\n', '\t', '\u0001', '\u001f', '\ud800', '\u00e9', '\u2028', 'eyJhbGci', '.', 'eyJzdWIi', SECRET, 'hunter');
const text = fc.array(pieces, { maxLength: 16 }).map((parts) => parts.join(''));
const value = fc.oneof(text, fc.integer({ min: 0, max: 10_000_000 }), fc.constant(918273));

/** The reference for plain text without backslashes: six digits no identifier character touches. */
const CODE = /(?<![A-Za-z0-9_-])[0-9]{6}(?![A-Za-z0-9_-])/g;

describe('the log line redactor', () => {
  const line = createLineRedactor([SECRET]);
  const plain = createTextRedactor([SECRET]);

  it('redacts a JSON line exactly as it redacts each of its string values as text, and keeps its numbers', () => {
    fc.assert(
      fc.property(fc.record({ a: value, b: value, c: fc.array(value, { maxLength: 3 }) }), (fields) => {
        const redacted = JSON.parse(line(`${JSON.stringify({ level: 30, time: 1796630454992, ...fields })}\n`)) as Record<string, unknown>;
        const each = (v: unknown): unknown => (typeof v === 'string' ? plain(v) : v);
        expect(redacted).toEqual({ level: 30, time: 1796630454992, a: each(fields.a), b: each(fields.b), c: fields.c.map(each) });
      }),
      runsOf(2000),
    );
  });

  it('redacts in plain text every run of exactly six digits that no letter, digit, - or _ touches', () => {
    const noSecrets = createTextRedactor([]);
    const withoutBackslash = fc.array(pieces.filter((p) => p !== '\\' && !p.startsWith('eyJ') && p !== SECRET), { maxLength: 16 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(withoutBackslash, (t) => noSecrets(t) === t.replace(CODE, REDACTED)),
      runsOf(2000),
    );
  });

  it('redacts a code a control character or a lone surrogate comes before, which JSON writes as a \\u escape of hex digits', () => {
    for (const before of ['\u0001', '\u001f', '\u0000\u0000', '\ud800', 'x\udc00']) {
      const value = `${before}123456`;
      expect(JSON.stringify(value)).toMatch(/\\u[0-9a-f]{4}123456"$/);
      const redacted = JSON.parse(line(`${JSON.stringify({ level: 30, msg: value })}\n`)) as { msg: string };
      expect([before, redacted.msg]).toEqual([before, `${before}${REDACTED}`]);
      expect(plain(value)).toBe(`${before}${REDACTED}`);
    }
  });

  it('redacts a 4 MB line holding a code every eight characters in one pass over the line', () => {
    const codes = '"123456" '.repeat(Math.ceil((4 * 1024 * 1024) / 9));
    const redacted = line(`${JSON.stringify({ level: 30, msg: codes })}\n`);
    expect((JSON.parse(redacted) as { msg: string }).msg).toBe(codes.replaceAll('123456', REDACTED));
  });
});
