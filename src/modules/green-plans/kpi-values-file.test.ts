import { describe, expect, it } from 'vitest';
import {
  kpiValuesCsv,
  MAX_KPI_VALUE_ROWS,
  parseDecimal,
  readKpiValueTable,
} from './kpi-values-file.ts';

/** Rows as a spreadsheet reader gives them: numbered from 1, the header first. */
const table = (...rows: string[][]) => rows.map((cells, index) => ({ row: index + 1, cells }));
const today = '2025-06-30';

describe('reading a file of KPI values', () => {
  it('finds the columns by name in any order and case, skips blank rows and ignores others', () => {
    const result = readKpiValueTable(
      table(
        ['Note', 'Site', ' VALUE ', 'Date'],
        ['Meter readings', 'Leicester Royal', '1,250.5', '2024-03-31'],
        ['', '', '', ''],
        ['', 'Glenfield', '-3', '2025-06-30'],
      ),
      today,
    );
    expect(result.problems).toEqual([]);
    expect(result.values).toEqual([
      { row: 2, observedOn: '2024-03-31', value: 1250.5, note: 'Meter readings' },
      { row: 4, observedOn: '2025-06-30', value: -3, note: null },
    ]);
  });

  it('lists every bad row with its column, and returns no values when any row is bad', () => {
    const result = readKpiValueTable(
      table(
        ['date', 'value', 'note'],
        ['2024-02-30', '10', ''],
        ['2024-04-01', 'lots', ''],
        ['2025-07-01', '5', ''],
        ['2024-04-01', '7', 'x'.repeat(501)],
        ['', '', 'only a note'],
        ['2024-05-01', '8', ''],
      ),
      today,
    );
    expect(result.values).toEqual([]);
    expect(result.problems).toEqual([
      { row: 2, column: 'date', message: '"2024-02-30" is not a real date written YYYY-MM-DD' },
      { row: 3, column: 'value', message: '"lots" is not a number' },
      { row: 4, column: 'date', message: '2025-07-01 is in the future' },
      { row: 5, column: 'date', message: '2024-04-01 is also on row 3: give each date once' },
      { row: 5, column: 'note', message: 'The note must be 500 characters or fewer (it has 501)' },
      { row: 6, column: 'date', message: 'Enter the date of the value, YYYY-MM-DD' },
      { row: 6, column: 'value', message: 'Enter the value as a number' },
    ]);
  });

  it('reads numbers as spreadsheets write them, and not the forms that would mislead', () => {
    expect(['1,250.5', '-3', '+0.25', '1250', '1,000,000'].map(parseDecimal)).toEqual([
      1250.5, -3, 0.25, 1250, 1000000,
    ]);
    expect(
      ['1,5', '12,50', '0x10', '1e3', '1.', '.5', '1 000', 'NaN', ''].map(parseDecimal),
    ).toEqual([null, null, null, null, null, null, null, null, null]);
    const result = readKpiValueTable(table(['date', 'value'], ['2024-03-31', '1,5']), today);
    expect(result.problems).toEqual([
      {
        row: 2,
        column: 'value',
        message: '"1,5" is not a number: write decimals with a point (1.5)',
      },
    ]);
    // A workbook's percentage cell arrives as shown ("5%"): refused, not read as 0.05 or 5.
    expect(
      readKpiValueTable(table(['date', 'value'], ['2024-03-31', '12.5%']), today).problems,
    ).toEqual([
      {
        row: 2,
        column: 'value',
        message:
          '"12.5%" is not a number: write the value in the KPI\'s unit without the percent sign (12.5)',
      },
    ]);
  });

  it('refuses a header that names a column twice', () => {
    expect(
      readKpiValueTable(table(['date', 'value', 'Value'], ['2024-03-31', '1', '2']), today)
        .problems,
    ).toEqual([
      {
        row: 1,
        column: 'value',
        message: 'The header row names "value" more than once: keep one column of each name',
      },
    ]);
  });

  it('refuses a file without the columns it needs, without values, or too long', () => {
    expect(readKpiValueTable([], today).problems).toEqual([
      { message: 'The file is empty: it needs a header row, then a row for each date' },
    ]);
    expect(readKpiValueTable(table(['Day', 'value']), today).problems).toEqual([
      { row: 1, message: 'The header row must name the column "date" (found "day", "value")' },
    ]);
    expect(readKpiValueTable(table(['', '']), today).problems).toEqual([
      {
        row: 1,
        message: 'The header row must name the columns "date" and "value" (found nothing)',
      },
    ]);
    expect(readKpiValueTable(table(['date', 'value'], ['', '']), today).problems).toEqual([
      { message: 'The file has a header row but no values' },
    ]);
    const tooMany = table(
      ['date', 'value'],
      ...Array.from({ length: MAX_KPI_VALUE_ROWS + 1 }, () => ['2024-01-01', '1']),
    );
    expect(readKpiValueTable(tooMany, today).problems).toEqual([
      { message: 'The file has 5,001 rows of values; one file may hold up to 5,000' },
    ]);
  });
});

describe('writing KPI values as CSV', () => {
  it('writes the columns the reader wants, guarding notes a spreadsheet would run as formulas', () => {
    const points = [
      { observedOn: '2024-03-31', value: 1250.5, note: 'Meter readings, main site' },
      { observedOn: '2024-06-30', value: -3, note: '=SUM(A1:A9)' },
      { observedOn: '2024-09-30', value: 0.1 + 0.2, note: null },
    ];
    const csv = kpiValuesCsv(points, { withNotes: true });
    expect(csv).toBe(
      '\uFEFFdate,value,note\r\n' +
        '2024-03-31,1250.5,"Meter readings, main site"\r\n' +
        "2024-06-30,-3,'=SUM(A1:A9)\r\n" +
        '2024-09-30,0.30000000000000004,\r\n',
    );
    expect(kpiValuesCsv(points, { withNotes: false })).toBe(
      '\uFEFFdate,value\r\n2024-03-31,1250.5\r\n2024-06-30,-3\r\n2024-09-30,0.30000000000000004\r\n',
    );
  });
});
