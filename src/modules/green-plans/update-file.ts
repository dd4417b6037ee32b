import { csvField } from '../../lib/csv.ts';
import { findColumns } from './table-header.ts';

/**
 * Progress updates as a file: one row per update, so that a plan team can gather a quarter's
 * updates from every action lead in one spreadsheet and post them at once. The layout is also what
 * "Download a sheet to fill in" writes: every action the person may update, with its status and
 * progress as they stand, ready for a date and a narrative.
 */

export const updateFileColumns = [
  'reference',
  'title',
  'date',
  'status',
  'progress_percent',
  'narrative',
  'links',
] as const;
export type UpdateFileColumn = (typeof updateFileColumns)[number];

/** Columns a file must have; `title` is there to read by and is not imported. */
const requiredColumns: readonly UpdateFileColumn[] = [
  'reference',
  'status',
  'progress_percent',
  'narrative',
];

/** The most rows one file may hold. */
export const MAX_UPDATE_ROWS = 2000;

export interface UpdateFileRow {
  /** The row's number as a spreadsheet program shows it (the header is row 1). */
  row: number;
  reference: string;
  date: string;
  status: string;
  progressPercent: string;
  narrative: string;
  links: string;
}

export interface UpdateFileProblem {
  /** Undefined for a problem with the whole file. */
  row?: number;
  column?: UpdateFileColumn;
  message: string;
}

/**
 * Finds the columns by name (any order and case; others ignored) and returns each filled row's
 * cells, or the problems with the header. What each cell must hold is the update form's rules,
 * which the service applies, knowing the actions.
 */
export function readUpdateTable(rows: readonly { row: number; cells: readonly string[] }[]): {
  rows: UpdateFileRow[];
  problems: UpdateFileProblem[];
} {
  const [header, ...body] = rows;
  if (!header) {
    return {
      rows: [],
      problems: [{ message: 'The file is empty: it needs a header row, then a row per update' }],
    };
  }
  const found = findColumns(header, updateFileColumns, requiredColumns);
  if (!found.index) return { rows: [], problems: found.problems };
  const { index } = found;
  const cell = (cells: readonly string[], column: UpdateFileColumn) =>
    index[column] < 0 ? '' : (cells[index[column]] ?? '').trim();
  const filled = body.filter((entry) => entry.cells.some((text) => text.trim() !== ''));
  if (filled.length === 0) {
    return { rows: [], problems: [{ message: 'The file has a header row but no updates' }] };
  }
  if (filled.length > MAX_UPDATE_ROWS) {
    return {
      rows: [],
      problems: [
        {
          message: `The file has ${filled.length.toLocaleString('en-GB')} rows; one file may hold up to ${MAX_UPDATE_ROWS.toLocaleString('en-GB')}`,
        },
      ],
    };
  }
  return {
    rows: filled.map(({ row, cells }) => ({
      row,
      reference: cell(cells, 'reference'),
      date: cell(cells, 'date'),
      status: cell(cells, 'status'),
      progressPercent: cell(cells, 'progress_percent'),
      narrative: cell(cells, 'narrative'),
      links: cell(cells, 'links'),
    })),
    problems: [],
  };
}

/**
 * The sheet to fill in: one row per action, its status (as its label, "On track", as the page
 * lists them) and progress as they stand.
 */
export function updatesSheetCsv(
  actions: readonly { reference: string; title: string; status: string; progressPercent: number }[],
): string {
  const lines = [updateFileColumns.join(',')];
  for (const action of actions) {
    lines.push(
      [
        csvField(action.reference),
        csvField(action.title),
        '',
        csvField(action.status),
        String(action.progressPercent),
        '',
        '',
      ].join(','),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
