import { describe, expect, it } from 'vitest';
import { countBelow } from './sorted.ts';

describe('countBelow', () => {
  it('counts the values strictly below, for numbers and for text', () => {
    expect(countBelow([1, 2, 2, 5], 2)).toBe(1);
    expect(countBelow([1, 2, 2, 5], 3)).toBe(3);
    expect(countBelow([1, 2, 2, 5], 0)).toBe(0);
    expect(countBelow([1, 2, 2, 5], 9)).toBe(4);
    expect(countBelow([], 1)).toBe(0);
    expect(countBelow(['A81001', 'B82002', 'C82003'], 'B82002')).toBe(1);
    expect(countBelow(['A81001', 'B82002', 'C82003'], 'B9')).toBe(2);
  });

  it('agrees with a count by hand on a long list', () => {
    const sorted = Array.from({ length: 1000 }, (_, index) => Math.floor(index / 3));
    for (const value of [-1, 0, 1, 150, 332, 333, 334]) {
      expect(countBelow(sorted, value)).toBe(sorted.filter((item) => item < value).length);
    }
  });
});
