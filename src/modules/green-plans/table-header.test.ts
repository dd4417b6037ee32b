import { describe, expect, it } from 'vitest';
import { findColumns } from './table-header.ts';

const columns = ['reference', 'date', 'note'] as const;
const header = (...cells: string[]) => ({ row: 1, cells });

describe('finding a file’s columns by name', () => {
  it('finds columns in any order and case, ignoring others, and marks an absent optional one', () => {
    expect(
      findColumns(header(' Date', 'Extra', 'REFERENCE'), columns, ['reference', 'date']),
    ).toEqual({
      index: { reference: 2, date: 0, note: -1 },
      problems: [],
    });
  });

  it('names every missing required column and what was found instead', () => {
    expect(findColumns(header('ref', '', 'day'), columns, ['reference', 'date'])).toEqual({
      index: null,
      problems: [
        {
          row: 1,
          message:
            'The header row must name the columns "reference" and "date" (found "ref", "day")',
        },
      ],
    });
    expect(findColumns(header(), columns, ['date']).problems[0]!.message).toBe(
      'The header row must name the column "date" (found nothing)',
    );
  });

  it('refuses a column named twice, by column', () => {
    expect(findColumns(header('date', 'Date', 'reference'), columns, ['date']).problems).toEqual([
      {
        row: 1,
        column: 'date',
        message: 'The header row names "date" more than once: keep one column of each name',
      },
    ]);
  });

  it('normalises header cells as the caller asks', () => {
    const found = findColumns(
      header('Baseline value'),
      ['baseline_value'],
      ['baseline_value'],
      (cell) => cell.trim().toLowerCase().replace(/\s+/g, '_'),
    );
    expect(found.index).toEqual({ baseline_value: 0 });
  });
});
