import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  isCalendarDate,
  nextCalendarDay,
  ukCalendarDate,
  ukDayStart,
  ukLocalDateTime,
} from './uk-time.ts';

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

describe('ukDayStart', () => {
  it('is midnight in the UK: 23:00 UTC the day before in summer time, midnight UTC in winter', () => {
    expect(ukDayStart('2026-06-11').toISOString()).toBe('2026-06-10T23:00:00.000Z');
    expect(ukDayStart('2026-01-10').toISOString()).toBe('2026-01-10T00:00:00.000Z');
  });

  it('follows the clock changes', () => {
    // Summer time began at 01:00 UTC on 29 March 2026 and ends at 01:00 UTC on 25 October 2026.
    expect(ukDayStart('2026-03-29').toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(ukDayStart('2026-03-30').toISOString()).toBe('2026-03-29T23:00:00.000Z');
    expect(ukDayStart('2026-10-25').toISOString()).toBe('2026-10-24T23:00:00.000Z');
    expect(ukDayStart('2026-10-26').toISOString()).toBe('2026-10-26T00:00:00.000Z');
  });

  it('refuses what is not a real date', () => {
    expect(() => ukDayStart('2026-02-31')).toThrow(RangeError);
    expect(() => ukDayStart('11/06/2026')).toThrow(RangeError);
    // Years below 100 are years, not 1900 onwards.
    expect(ukDayStart('0050-06-01').toISOString().slice(0, 10)).toBe('0050-06-01');
  });

  it('property: a day starts on that UK date, and a moment earlier is the UK day before', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1990-01-01T00:00:00Z'),
          max: new Date('2100-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (at) => {
          const day = at.toISOString().slice(0, 10);
          const start = ukDayStart(day);
          expect(ukCalendarDate(start)).toBe(day);
          expect(ukCalendarDate(new Date(start.getTime() - 1))).not.toBe(day);
          expect(ukDayStart(nextCalendarDay(day)).getTime()).toBeGreaterThan(start.getTime());
        },
      ),
    );
  });
});

describe('nextCalendarDay and isCalendarDate', () => {
  it('steps over month and year ends, and knows the length of each month', () => {
    expect(nextCalendarDay('2026-02-28')).toBe('2026-03-01');
    expect(nextCalendarDay('2028-02-28')).toBe('2028-02-29');
    expect(nextCalendarDay('2026-12-31')).toBe('2027-01-01');
    expect(isCalendarDate('2026-02-31')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-13-01')).toBe(false);
    expect(isCalendarDate('2026-6-1')).toBe(false);
  });
});

describe('ukLocalDateTime', () => {
  it('writes a moment as UK wall-clock time to the minute, in summer time and out of it', () => {
    expect(ukLocalDateTime(new Date('2026-06-10T12:30:45.000Z'))).toBe('2026-06-10T13:30');
    expect(ukLocalDateTime(new Date('2026-01-10T23:59:59.000Z'))).toBe('2026-01-10T23:59');
    expect(ukLocalDateTime(new Date('2026-06-10T23:30:00.000Z'))).toBe('2026-06-11T00:30');
  });
});
