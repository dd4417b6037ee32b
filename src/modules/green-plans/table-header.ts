/**
 * The header row of a file of KPIs, KPI values or progress updates: each column is found by name,
 * in any order and case; other columns are ignored. One rule for all three, so that a header is
 * refused the same way, with the same words, whichever file it heads.
 */

export interface HeaderProblem<Column extends string> {
  row: number;
  column?: Column;
  message: string;
}

/** "a", "b" and "c" */
function quotedList(names: readonly string[]): string {
  const quoted = names.map((name) => `"${name}"`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}` : quoted[0]!;
}

/**
 * Where each column is in the header (-1 for an optional one that is absent), or what is wrong: a
 * column named twice, or required columns missing (with what was found, to help spot a typo).
 * `normalise` turns a header cell into a column name (by default trimmed and lower case).
 */
export function findColumns<Column extends string>(
  header: { row: number; cells: readonly string[] },
  columns: readonly Column[],
  required: readonly Column[],
  normalise: (cell: string) => string = (cell) => cell.trim().toLowerCase(),
):
  | { index: Record<Column, number>; problems: [] }
  | { index: null; problems: HeaderProblem<Column>[] } {
  const names = header.cells.map(normalise);
  const repeated = columns.filter((column) => names.indexOf(column) !== names.lastIndexOf(column));
  if (repeated.length > 0) {
    return {
      index: null,
      problems: repeated.map((column) => ({
        row: header.row,
        column,
        message: `The header row names "${column}" more than once: keep one column of each name`,
      })),
    };
  }
  const missing = required.filter((column) => !names.includes(column));
  if (missing.length > 0) {
    const found = names.filter(Boolean);
    return {
      index: null,
      problems: [
        {
          row: header.row,
          message: `The header row must name the column${missing.length > 1 ? 's' : ''} ${quotedList(missing)} (found ${found.length > 0 ? found.map((name) => `"${name}"`).join(', ') : 'nothing'})`,
        },
      ],
    };
  }
  return {
    index: Object.fromEntries(columns.map((column) => [column, names.indexOf(column)])) as Record<
      Column,
      number
    >,
    problems: [],
  };
}
