// The identifiers and timestamps the audit log stamps on every record without a random UUID or a
// Date per record: unique, UUID-shaped, and the same text toISOString would give.
import { describe, expect, it } from 'vitest';
import { createIdSource, createIsoClock } from '../../src/audit/ids.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createIdSource', () => {
  it('gives ids that are well-formed UUIDs, all different, and different between sources', () => {
    const a = createIdSource();
    const b = createIdSource();
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(a());
    for (let i = 0; i < 10_000; i++) ids.add(b());
    expect(ids.size).toBe(20_000);
    for (const id of ids) expect(id).toMatch(UUID);
  });

  it('draws its random prefix from the source it is given', () => {
    const next = createIdSource((n) => Buffer.alloc(n, 0xff));
    expect(next()).toBe('ffffffff-ffff-4fff-bfff-000000000001');
    expect(next()).toBe('ffffffff-ffff-4fff-bfff-000000000002');
  });

  it('writes the counter as twelve hex digits, carrying over every 256 ids', () => {
    const next = createIdSource((n) => Buffer.alloc(n, 0));
    const ids = Array.from({ length: 70_000 }, () => next());
    ids.forEach((id, i) => expect(id.slice(-12)).toBe((i + 1).toString(16).padStart(12, '0')));
  });
});

describe('createIsoClock', () => {
  it('formats each millisecond as toISOString does, also when time goes back', () => {
    const iso = createIsoClock();
    for (const ms of [0, 1_740_830_402_000, 1_740_830_402_000, 1_740_830_402_001, 1_740_830_401_999]) {
      expect(iso(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('formats as toISOString does across seconds, days and years, before 1970, beyond 9999 and for fractions of a millisecond', () => {
    const iso = createIsoClock();
    const times = [
      1_767_225_599_998, 1_767_225_599_999, 1_767_225_600_000, 1_767_225_600_001, 999, 1000, 1001, -1, -999, -1000, -1001, -0.5,
      -62_198_755_200_000, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15, 1.5, 1_740_830_402_999.9, 1_740_830_403_000.2,
    ];
    for (let ms = 1_740_830_400_000; ms < 1_740_830_403_000; ms += 7) times.push(ms);
    for (const ms of times) expect(iso(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws for a time a Date cannot hold, as toISOString does', () => {
    const iso = createIsoClock();
    for (const ms of [Number.NaN, Infinity, 8.64e15 + 1, 8.64e15 + 1]) expect(() => iso(ms)).toThrow(RangeError);
  });
});
