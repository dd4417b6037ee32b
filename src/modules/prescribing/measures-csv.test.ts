import { describe, expect, it } from 'vitest';
import { formatMeasuresCsv } from './prescribing.cli.ts';

describe('measures as CSV', () => {
  it('writes one unrounded line per row, a missing denominator or value left empty', () => {
    expect(
      formatMeasuresCsv([
        {
          month: '2024-01',
          level: 'practice',
          code: 'C82001',
          numerator: 12,
          denominator: 40,
          value: 0.3,
        },
        {
          month: '2024-01',
          level: 'practice',
          code: 'C82002',
          numerator: 1.25,
          denominator: null,
          value: null,
        },
      ]),
    ).toBe(
      'month,level,code,numerator,denominator,value\n2024-01,practice,C82001,12,40,0.3\n2024-01,practice,C82002,1.25,,\n',
    );
  });

  it('quotes a code from a file that holds a comma, and guards one a spreadsheet would run', () => {
    const csv = formatMeasuresCsv([
      { month: '2024-01', level: 'region', code: 'Y60,X', numerator: 1, denominator: 1, value: 1 },
      {
        month: '2024-01',
        level: 'region',
        code: '=HYPERLINK("x")',
        numerator: 1,
        denominator: 1,
        value: 1,
      },
    ]);
    expect(csv.split('\n').slice(1, 3)).toEqual([
      '2024-01,region,"Y60,X",1,1,1',
      `2024-01,region,"'=HYPERLINK(""x"")",1,1,1`,
    ]);
  });
});
