import { csvField } from '../../lib/csv.ts';
import { isIsoDate } from './progress.calculations.ts';
import { findColumns } from './table-header.ts';

/**
 * A KPI's recorded values as a file: one row per date, columns `date`, `value` and (optional)
 * `note`. Teams keep readings in spreadsheets (meter readings, mileage, waste weights); this reads
 * such a sheet, row-checked like the "Record a value" form, and writes the same layout back out.
 */

export const kpiValueColumns = ['date', 'value', 'note'] as const;
export type KpiValueColumn = (typeof kpiValueColumns)[number];

/** The most rows one file may hold: ten years of daily readings, with room to spare. */
export const MAX_KPI_VALUE_ROWS = 5000;
/** The longest note a value may carry, from the form or a file. */
export const MAX_KPI_NOTE = 500;

export interface KpiValueRow {
  /** The row's number as a spreadsheet program shows it (the header is row 1). */
  row: number;
  observedOn: string;
  value: number;
  note: string | null;
}

export interface KpiValueProblem {
  /** Undefined for a problem with the whole file. */
  row?: number;
  column?: KpiValueColumn;
  message: string;
}

/**
 * Checks every row of a table (header first) and returns the values, or every problem found so the
 * person can correct the file in one go. Columns are found by name in any order and case; other
 * columns are ignored. Blank rows are skipped. `today` (YYYY-MM-DD) bounds the dates.
 */
export function readKpiValueTable(
  rows: readonly { row: number; cells: readonly string[] }[],
  today: string,
): { values: KpiValueRow[]; problems: KpiValueProblem[] } {
  const [header, ...body] = rows;
  if (!header) {
    return {
      values: [],
      problems: [{ message: 'The file is empty: it needs a header row, then a row for each date' }],
    };
  }
  const found = findColumns(header, kpiValueColumns, ['date', 'value']);
  if (!found.index) return { values: [], problems: found.problems };
  const { index } = found;
  const cell = (cells: readonly string[], column: KpiValueColumn) =>
    index[column] < 0 ? '' : (cells[index[column]] ?? '').trim();

  const values: KpiValueRow[] = [];
  const problems: KpiValueProblem[] = [];
  const rowOfDate = new Map<string, number>();
  const filled = body.filter((entry) => entry.cells.some((text) => text.trim() !== ''));
  if (filled.length === 0) {
    return { values, problems: [{ message: 'The file has a header row but no values' }] };
  }
  if (filled.length > MAX_KPI_VALUE_ROWS) {
    return {
      values,
      problems: [
        {
          message: `The file has ${filled.length.toLocaleString('en-GB')} rows of values; one file may hold up to ${MAX_KPI_VALUE_ROWS.toLocaleString('en-GB')}`,
        },
      ],
    };
  }
  for (const { row, cells } of filled) {
    const date = cell(cells, 'date');
    const valueText = cell(cells, 'value');
    const note = cell(cells, 'note');
    const before = problems.length;
    if (!isIsoDate(date)) {
      problems.push({
        row,
        column: 'date',
        message: date
          ? `"${date}" is not a real date written YYYY-MM-DD`
          : 'Enter the date of the value, YYYY-MM-DD',
      });
    } else if (date > today) {
      problems.push({ row, column: 'date', message: `${date} is in the future` });
    } else if (rowOfDate.has(date)) {
      problems.push({
        row,
        column: 'date',
        message: `${date} is also on row ${rowOfDate.get(date)}: give each date once`,
      });
    }
    const value = parseDecimal(valueText);
    if (value === null) {
      problems.push({
        row,
        column: 'value',
        message: !valueText
          ? 'Enter the value as a number'
          : /^[-+]?\d+,\d+$/.test(valueText)
            ? `"${valueText}" is not a number: write decimals with a point (${valueText.replace(',', '.')})`
            : /^[-+]?[\d.,]+%$/.test(valueText)
              ? `"${valueText}" is not a number: write the value in the KPI's unit without the percent sign (${valueText.slice(0, -1)})`
              : `"${valueText}" is not a number`,
      });
    }
    if (note.length > MAX_KPI_NOTE) {
      problems.push({
        row,
        column: 'note',
        message: `The note must be ${MAX_KPI_NOTE} characters or fewer (it has ${note.length})`,
      });
    }
    if (isIsoDate(date) && !rowOfDate.has(date)) rowOfDate.set(date, row);
    if (problems.length === before) {
      values.push({ row, observedOn: date, value: value!, note: note || null });
    }
  }
  return { values: problems.length > 0 ? [] : values, problems };
}

/**
 * A number as people write one in a spreadsheet: digits, a decimal point, a sign, commas only
 * between groups of three ("1,250.5"). Not "1,5" (a decimal comma would silently read as 15),
 * nor the hexadecimal and exponent forms JavaScript's Number() would take.
 */
export function parseDecimal(text: string): number | null {
  if (!/^[-+]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$/.test(text)) return null;
  return Number(text.replace(/,/g, ''));
}

/**
 * The values as UTF-8 CSV (with a byte-order mark, for Excel) that reads back unchanged; with
 * their notes, or without that column.
 */
export function kpiValuesCsv(
  points: readonly { observedOn: string; value: number; note: string | null }[],
  options: { withNotes: boolean },
): string {
  const columns = options.withNotes ? kpiValueColumns : kpiValueColumns.slice(0, 2);
  const lines = [columns.join(',')];
  for (const point of points) {
    const cells = [point.observedOn, String(point.value)];
    if (options.withNotes) cells.push(csvField(point.note ?? ''));
    lines.push(cells.join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
