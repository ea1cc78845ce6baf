import { describe, expect, it } from 'vitest';
import { NameMemo } from '../../src/proxy/name-memo.js';

/** A memo whose classifier counts its calls per lower-case name. */
function counting(): { memo: NameMemo<boolean>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const memo = new NameMemo((lower) => {
    calls.set(lower, (calls.get(lower) ?? 0) + 1);
    return lower.startsWith('x-drop');
  });
  return { memo, calls };
}

describe('header name memo', () => {
  it('classifies the lower-case name and asks once per spelling', () => {
    const { memo, calls } = counting();
    expect([memo.of('X-Drop-Me'), memo.of('X-Drop-Me'), memo.of('x-drop-me'), memo.of('Accept')]).toEqual([true, true, true, false]);
    expect(calls.get('x-drop-me')).toBe(2);
    expect(calls.get('accept')).toBe(1);
  });

  it('stops remembering after 1,024 names and never remembers long ones, yet classifies them all', () => {
    const { memo, calls } = counting();
    for (let i = 0; i < 1024; i++) memo.of(`x-f${i}`);
    expect([memo.of('x-drop-late'), memo.of('x-drop-late')]).toEqual([true, true]);
    expect(calls.get('x-drop-late')).toBe(2);
    expect(memo.of('x-f7')).toBe(false);
    expect(calls.get('x-f7')).toBe(1);

    const fresh = counting();
    const long = `x-drop-${'a'.repeat(64)}`;
    expect([fresh.memo.of(long), fresh.memo.of(long)]).toEqual([true, true]);
    expect(fresh.calls.get(long)).toBe(2);
  });
});
