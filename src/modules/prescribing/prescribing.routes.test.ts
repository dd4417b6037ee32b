import { describe, expect, it } from 'vitest';
import type { EpdMeasureRollupsTable } from '../../db/schema.ts';
import { describeMonths, fillCalendarMonths, formatComparisonCsv } from './prescribing.routes.ts';

describe('what the prescribing pages print', () => {
  it('names the months held as runs, so that gaps show', () => {
    expect(describeMonths(['2024-01', '2024-02', '2024-03'])).toBe('January 2024 to March 2024');
    expect(describeMonths(['2017-12', '2018-11'])).toBe('December 2017 and November 2018');
    expect(describeMonths(['2023-11', '2023-12', '2024-01', '2024-03', '2024-05'])).toBe(
      'November 2023 to January 2024, March 2024 and May 2024',
    );
    expect(describeMonths(['2024-02'])).toBe('February 2024');
    expect(describeMonths([])).toBe('no month');
  });

  it('places a trend on every calendar month, with no value where none is held', () => {
    expect(
      fillCalendarMonths([
        { month: '2023-11', value: 1 },
        { month: '2024-02', value: 4 },
        { month: '2024-03', value: null },
      ]),
    ).toEqual({
      months: ['2023-11', '2023-12', '2024-01', '2024-02', '2024-03'],
      values: [1, null, null, 4, null],
    });
    expect(fillCalendarMonths([])).toEqual({ months: [], values: [] });
  });

  it('writes the comparison table as CSV with its rows, order and columns', () => {
    const row = (code: string, name: string, value: number | null): EpdMeasureRollupsTable => ({
      month: '2024-02',
      level: 'pcn',
      measure_id: 'mdi-share-non-salbutamol',
      code,
      name,
      numerator: 3,
      denominator: 4,
      value,
      practices: 2,
    });
    expect(
      formatComparisonCsv([
        row('U2', 'Blaby, and Lutterworth PCN', 75),
        row('U1', '=HYPERLINK()', null),
      ]),
    ).toBe(
      'month,level,code,name,value,numerator,denominator,practices\n' +
        '2024-02,pcn,U2,"Blaby, and Lutterworth PCN",75,3,4,2\n' +
        "2024-02,pcn,U1,'=HYPERLINK(),,3,4,2\n",
    );
  });
});
