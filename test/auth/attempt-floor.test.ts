// The failed-attempt floor a TOTP service keeps beside the shared store (src/auth/attempt-floor.ts):
// bounded in memory, forgotten when its window and lockout are over, and lifted only by a clearing
// mark other than the one it started under.
import { describe, expect, it } from 'vitest';
import { createAttemptFloor } from '../../src/auth/attempt-floor.js';
import { testClock } from './helpers.js';

describe('the attempt floor', () => {
  it('holds at most maxOwners owners, forgetting the one updated longest ago', () => {
    const clock = testClock();
    const floor = createAttemptFloor({ now: clock.now, windowMs: 60_000, maxOwners: 3 });
    for (const owner of ['a', 'b', 'c']) floor.count(owner, undefined);
    floor.count('a', undefined);
    floor.count('d', undefined);
    expect(floor.size()).toBe(3);
    // b was updated longest ago: forgotten, so its count starts again; a kept its two.
    expect(floor.count('b', undefined)).toBe(1);
    expect(floor.count('a', undefined)).toBe(3);
    expect(floor.size()).toBe(3);
  });

  it('forgets an owner once both its window and its lockout are over', () => {
    const clock = testClock();
    const floor = createAttemptFloor({ now: clock.now, windowMs: 60_000 });
    floor.count('a', undefined);
    floor.lock('b', clock.now() + 120_000, undefined);
    clock.advance(60_000);
    floor.count('c', undefined);
    expect(floor.size()).toBe(2);
    expect(floor.lockedUntil('b')).toBe(clock.now() + 60_000);
    clock.advance(60_000);
    floor.count('c', undefined);
    expect([floor.lockedUntil('b'), floor.size()]).toEqual([0, 1]);
  });

  it('is lifted by a clearing mark other than the one it started under, and kept when the mark is missing', () => {
    const clock = testClock();
    const floor = createAttemptFloor({ now: clock.now, windowMs: 60_000 });
    floor.count('a', 'm1');
    floor.sync('a', undefined);
    floor.sync('a', 'm1');
    expect(floor.count('a', 'm1')).toBe(2);
    floor.sync('a', 'm2');
    expect(floor.count('a', 'm2')).toBe(1);
  });
});
