// Log lines bounded to one atomic pipe write (PIPE_BUF), so that writers sharing a pipe never split one another's lines.
import { describe, expect, it } from 'vitest';
import { fitLine } from '../../src/app/log-line.js';
import { PIPE_BUF } from '../../src/audit/index.js';

const line = (fields: Record<string, unknown>): string => `${JSON.stringify({ level: 30, time: 1, service: 'iamgate', ...fields })}\n`;

describe('fitLine', () => {
  it('leaves a line that fits one pipe write exactly as it is, up to PIPE_BUF bytes', () => {
    const short = line({ msg: 'iamgate listening' });
    expect(fitLine(short)).toBe(short);
    const whole = line({ msg: 'x' });
    const full = line({ msg: 'x'.repeat(PIPE_BUF - Buffer.byteLength(whole) + 1) });
    expect(Buffer.byteLength(full)).toBe(PIPE_BUF);
    expect(fitLine(full)).toBe(full);
  });

  it('shortens a longer line to one JSON line within PIPE_BUF that keeps its level, time and message and says how long it was', () => {
    const long = line({ msg: 'policies loaded', problems: Array.from({ length: 40 }, (_, i) => `problem ${i}: ${'é'.repeat(300)}`) });
    const fitted = fitLine(long);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(PIPE_BUF);
    expect(fitted.endsWith('}\n')).toBe(true);
    expect(fitted.indexOf('\n')).toBe(fitted.length - 1);
    const parsed = JSON.parse(fitted) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 30, time: 1, service: 'iamgate', msg: 'policies loaded', truncated: Buffer.byteLength(long) });
    expect((parsed['problems'] as string[])[0]?.startsWith('problem 0: é')).toBe(true);
  });

  it('keeps only level, time and a cut message of a line with more fields than any cut of its strings can fit', () => {
    const fields: Record<string, unknown> = { msg: 'm'.repeat(10_000) };
    for (let i = 0; i < 2000; i++) fields[`field${i}`] = i;
    const long = line(fields);
    const parsed = JSON.parse(fitLine(long)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['level', 'time', 'msg', 'truncated']);
    expect(parsed['msg']).toBe(`${'m'.repeat(256)}…`);
    expect(Buffer.byteLength(fitLine(long))).toBeLessThanOrEqual(PIPE_BUF);
  });

  it('shortens a line longer than PIPE_BUF that is not JSON into a JSON line carrying its start', () => {
    const parsed = JSON.parse(fitLine(`${'z'.repeat(5000)}\n`)) as Record<string, unknown>;
    expect(parsed['msg']).toBe(`${'z'.repeat(1024)}…`);
    expect(parsed['truncated']).toBe(5001);
  });

  it('writes NEL, U+2028 and U+2029 as escapes, in a line that fits and in a shortened one, within PIPE_BUF', () => {
    for (const fields of [{ detail: 'a\u2028b\u2029c\u0085d' }, { detail: 'a\u2028b'.repeat(2000) }]) {
      const fitted = fitLine(line(fields));
      expect(/[\u0085\u2028\u2029]/.test(fitted)).toBe(false);
      expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(PIPE_BUF);
      expect(String((JSON.parse(fitted) as Record<string, unknown>)['detail']).startsWith('a\u2028b')).toBe(true);
    }
  });
});
