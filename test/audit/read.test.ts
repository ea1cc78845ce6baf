import { describe, expect, it } from 'vitest';
import { firstReadings } from '../../src/audit/read.js';

describe('firstReadings', () => {
  it('passes each seq of each writer once, in whatever order the records come', () => {
    const firstTime = firstReadings();
    // Files named out of order, a repeat inside a range, one filling the hole between two ranges,
    // and a second writer with the same seqs.
    const order = [5, 6, 7, 1, 2, 6, 9, 8, 3, 4, 1, 10, 7];
    const passed = order.map((seq) => firstTime({ instanceId: 'gw-a', seq }));
    expect(passed).toEqual([true, true, true, true, true, false, true, true, true, true, false, true, false]);
    expect([1, 5, 10, 11].map((seq) => firstTime({ instanceId: 'gw-b', seq }))).toEqual([true, true, true, true]);
    expect([1, 11, 4].map((seq) => firstTime({ instanceId: 'gw-a', seq }))).toEqual([false, true, false]);
  });
});
