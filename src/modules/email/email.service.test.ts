import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { retryDelaySeconds } from './email.service.ts';

const SIX_HOURS = 6 * 60 * 60;

describe('retryDelaySeconds', () => {
  it.each([
    [1, 30],
    [2, 60],
    [3, 120],
    [4, 240],
    [5, 480],
    [6, 960],
    [7, 1920],
    [8, 3840],
    [9, 7680],
    [10, 15360],
    [11, SIX_HOURS],
    [12, SIX_HOURS],
    [100, SIX_HOURS],
    [5000, SIX_HOURS],
  ])('waits %i failed attempt(s) → %i s', (failedAttempts, seconds) => {
    expect(retryDelaySeconds(failedAttempts)).toBe(seconds);
  });

  it('waits the first delay, not less, for zero or a negative count', () => {
    expect(retryDelaySeconds(0)).toBe(30);
    expect(retryDelaySeconds(-3)).toBe(30);
  });

  it('property: stays between 30 s and 6 hours', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 100_000 }), (failedAttempts) => {
        const delay = retryDelaySeconds(failedAttempts);
        expect(delay).toBeGreaterThanOrEqual(30);
        expect(delay).toBeLessThanOrEqual(SIX_HOURS);
        expect(Number.isInteger(delay)).toBe(true);
      }),
    );
  });

  it('property: never shrinks as failures grow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.nat({ max: 10_000 }), (a, extra) => {
        expect(retryDelaySeconds(a + extra)).toBeGreaterThanOrEqual(retryDelaySeconds(a));
      }),
    );
  });

  it('property: each delay doubles the one before until it reaches the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), (failedAttempts) => {
        expect(retryDelaySeconds(failedAttempts + 1)).toBe(
          Math.min(SIX_HOURS, 2 * retryDelaySeconds(failedAttempts)),
        );
      }),
    );
  });
});
