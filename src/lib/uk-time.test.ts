import { describe, expect, it } from 'vitest';
import { ukCalendarDate } from './uk-time.ts';

describe('ukCalendarDate', () => {
  it('dates a moment by the UK calendar, in summer time and out of it', () => {
    expect(ukCalendarDate('2026-06-10T23:30:00.000Z')).toBe('2026-06-11');
    expect(ukCalendarDate(new Date('2026-06-10T22:59:00.000Z'))).toBe('2026-06-10');
    expect(ukCalendarDate('2026-01-10T23:30:00.000Z')).toBe('2026-01-10');
  });

  it('turns at the clock changes, not at midnight UTC', () => {
    // Summer time began at 01:00 UTC on 29 March 2026 and ends at 01:00 UTC on 25 October 2026.
    expect(ukCalendarDate('2026-03-28T23:30:00.000Z')).toBe('2026-03-28');
    expect(ukCalendarDate('2026-03-29T23:30:00.000Z')).toBe('2026-03-30');
    expect(ukCalendarDate('2026-10-24T23:30:00.000Z')).toBe('2026-10-25');
    expect(ukCalendarDate('2026-10-25T23:30:00.000Z')).toBe('2026-10-25');
  });
});
