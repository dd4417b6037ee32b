import { csvField } from '../../lib/csv.ts';
import { findColumns } from './table-header.ts';

/**
 * A plan's KPIs as a file: one row per KPI with its reference, what it measures, unit, which way is
 * better, baseline and targets, and the actions that move it. Plans are drafted in spreadsheets, so
 * this reads such a sheet (each row then checked by the same rules as the KPI form) and writes the
 * same layout back out.
 */

export const kpiDefinitionColumns = [
  'reference',
  'name',
  'description',
  'unit',
  'direction',
  'baseline_value',
  'baseline_date',
  'targets',
  'actions',
] as const;
export type KpiDefinitionColumn = (typeof kpiDefinitionColumns)[number];

const requiredColumns = [
  'reference',
  'name',
  'unit',
  'direction',
  'baseline_value',
  'baseline_date',
  'targets',
] as const satisfies readonly KpiDefinitionColumn[];

/** A plan has a handful of KPIs; a file this long is not a KPI list. */
export const MAX_KPI_DEFINITION_ROWS = 500;

export interface KpiDefinitionRow {
  /** The row's number as a spreadsheet program shows it (the header is row 1). */
  row: number;
  /** As the KPI form takes them: targets one a line, direction `decrease` or `increase`. */
  input: {
    reference: string;
    name: string;
    /** Null when the file has no `description` column: the KPI's own is kept. */
    description: string | null;
    unit: string;
    direction: string;
    baselineValue: string;
    baselineDate: string;
    targets: string;
  };
  /** The references of the actions that move it; null when the file has no `actions` column. */
  actions: string[] | null;
}

export interface KpiDefinitionProblem {
  /** Undefined for a problem with the whole file. */
  row?: number;
  column?: KpiDefinitionColumn;
  message: string;
}

/**
 * Targets one a line, as the form takes them. A cell holds one a line (as downloads write it) or,
 * typed on one line, separated by semicolons: then only a semicolon before a date separates, so a
 * label may hold one ("80% cut; phase 2").
 */
function targetLines(text: string): string {
  const lines = text.includes('\n')
    ? text.split('\n')
    : text.split(/;(?=\s*\d{4}-\d{2}-\d{2}(?:\s|$))/);
  return lines
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
}

/** Which way is better, as people write it: the form's words or the stored ones. */
function directionOf(text: string): string {
  const word = text.trim().toLowerCase();
  if (['lower', 'lower is better', 'decrease'].includes(word)) return 'decrease';
  if (['higher', 'higher is better', 'increase'].includes(word)) return 'increase';
  return word;
}

/**
 * Reads a table (header first) into rows for the KPI checks, finding columns by name in any order
 * and case; other columns are ignored and blank rows skipped. Only the file's own shape is checked
 * here (its header, its size, a reference given twice): each row's fields are checked by the rules
 * of the KPI form, by the caller.
 */
export function readKpiDefinitionTable(
  rows: readonly { row: number; cells: readonly string[] }[],
): {
  rows: KpiDefinitionRow[];
  problems: KpiDefinitionProblem[];
} {
  const [header, ...body] = rows;
  if (!header) {
    return {
      rows: [],
      problems: [{ message: 'The file is empty: it needs a header row, then a row for each KPI' }],
    };
  }
  // "Baseline value" is baseline_value, as in the actions import.
  const found = findColumns(header, kpiDefinitionColumns, requiredColumns, (cell) =>
    cell.trim().toLowerCase().replace(/\s+/g, '_'),
  );
  if (!found.index) return { rows: [], problems: found.problems };
  const { index } = found;
  const cell = (cells: readonly string[], column: KpiDefinitionColumn) =>
    index[column] < 0 ? '' : (cells[index[column]] ?? '').replace(/\r\n?/g, '\n').trim();
  const filled = body.filter((entry) => entry.cells.some((text) => text.trim() !== ''));
  if (filled.length === 0) {
    return { rows: [], problems: [{ message: 'The file has a header row but no KPIs' }] };
  }
  if (filled.length > MAX_KPI_DEFINITION_ROWS) {
    return {
      rows: [],
      problems: [
        {
          message: `The file has ${filled.length.toLocaleString('en-GB')} rows; one file may hold up to ${MAX_KPI_DEFINITION_ROWS} KPIs`,
        },
      ],
    };
  }
  const problems: KpiDefinitionProblem[] = [];
  const rowOfReference = new Map<string, number>();
  const read: KpiDefinitionRow[] = [];
  for (const { row, cells } of filled) {
    const reference = cell(cells, 'reference');
    const earlier = rowOfReference.get(reference);
    if (reference && earlier !== undefined) {
      problems.push({
        row,
        column: 'reference',
        message: `${reference} is also on row ${earlier}: give each KPI once`,
      });
      continue;
    }
    if (reference) rowOfReference.set(reference, row);
    read.push({
      row,
      input: {
        reference,
        name: cell(cells, 'name'),
        description: index.description < 0 ? null : cell(cells, 'description'),
        unit: cell(cells, 'unit'),
        direction: directionOf(cell(cells, 'direction')),
        baselineValue: cell(cells, 'baseline_value'),
        baselineDate: cell(cells, 'baseline_date'),
        targets: targetLines(cell(cells, 'targets')),
      },
      actions:
        index.actions < 0
          ? null
          : cell(cells, 'actions')
              .split(/[;\n]/)
              .map((item) => item.trim())
              .filter(Boolean),
    });
  }
  return { rows: read, problems };
}

/**
 * The KPIs as UTF-8 CSV (with a byte-order mark, for Excel) in the layout the import reads:
 * targets one a line within their cell, actions separated by semicolons.
 */
export function kpiDefinitionsCsv(
  kpis: readonly {
    reference: string;
    name: string;
    description: string;
    unit: string;
    direction: 'decrease' | 'increase';
    baselineValue: string;
    baselineDate: string;
    targets: string;
    actions: readonly string[];
  }[],
): string {
  const lines = [kpiDefinitionColumns.join(',')];
  for (const kpi of kpis) {
    lines.push(
      [
        kpi.reference,
        kpi.name,
        kpi.description,
        kpi.unit,
        kpi.direction === 'decrease' ? 'lower' : 'higher',
        kpi.baselineValue,
        kpi.baselineDate,
        kpi.targets,
        kpi.actions.join('; '),
      ]
        .map((value) => csvField(value))
        .join(','),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
