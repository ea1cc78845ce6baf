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
});

describe('createIsoClock', () => {
  it('formats each millisecond as toISOString does, also when time goes back', () => {
    const iso = createIsoClock();
    for (const ms of [0, 1_740_830_402_000, 1_740_830_402_000, 1_740_830_402_001, 1_740_830_401_999]) {
      expect(iso(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
