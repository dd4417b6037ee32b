import { parse } from 'csv-parse/sync';

/** A problem in an input file, located as precisely as the input allows. */
export interface InputProblem {
  file: string;
  line?: number;
  field?: string;
  message: string;
}

export function formatProblem(problem: InputProblem): string {
  const where = [problem.file, problem.line === undefined ? undefined : `line ${problem.line}`]
    .filter(Boolean)
    .join(', ');
  const field = problem.field ? ` field "${problem.field}"` : '';
  return `${where}${field}: ${problem.message}`;
}

/** Thrown when input files are not usable; carries every problem found, not just the first. */
export class InputFileError extends Error {
  override name = 'InputFileError';
  readonly problems: InputProblem[];

  constructor(problems: InputProblem[], limit = 20) {
    const shown = problems.slice(0, limit).map(formatProblem);
    const more = problems.length > limit ? [`…and ${problems.length - limit} more`] : [];
    super([`${problems.length} problem(s) in input files:`, ...shown, ...more].join('\n'));
    this.problems = problems;
  }
}

export interface CsvRecord {
  /** 1-based line number in the file where the record starts (the header is line 1). */
  line: number;
  values: Record<string, string>;
}

/**
 * Parses a whole CSV text with a header row. A byte-order mark and CRLF line ends are accepted;
 * a row with the wrong number of fields, an unclosed quote or a missing column is an InputFileError
 * naming the file and line.
 */
export function parseCsvWithHeader(
  text: string,
  file: string,
  requiredColumns: readonly string[],
): CsvRecord[] {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, {
      bom: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as typeof parsed;
  } catch (error) {
    const details = error as { code?: string; lines?: number; message?: string };
    if (details.code === 'CSV_QUOTE_NOT_CLOSED') {
      // The parser only notices at the end of the file; find the line where the quote opened.
      throw new InputFileError([
        {
          file,
          line: lineOfUnclosedQuote(text),
          message: 'not valid CSV: a quoted field that starts on this line is never closed',
        },
      ]);
    }
    const reason = (details.message ?? String(error)).replace(/ on line \d+$/, '');
    throw new InputFileError([{ file, line: details.lines, message: `not valid CSV: ${reason}` }]);
  }
  const header = parsed[0]?.record;
  if (!header) throw new InputFileError([{ file, message: 'the file is empty' }]);
  const missing = requiredColumns.filter((column) => !header.includes(column));
  if (missing.length > 0) {
    throw new InputFileError([
      { file, line: 1, message: `missing column(s): ${missing.join(', ')}` },
    ]);
  }
  // The parser reports the line each record ends on, and counts the CR and the LF of a CRLF inside
  // quotes as a line each, a drift that carries on to every later record. Undo both.
  let parserDrift = 0;
  return parsed.slice(1).map(({ record, info }) => {
    const values: Record<string, string> = {};
    header.forEach((column, columnIndex) => {
      values[column] = (record[columnIndex] ?? '').trim();
    });
    let lineBreaksInside = 0;
    for (const field of record) {
      const breaks = field.match(/\r\n|\r|\n/g)?.length ?? 0;
      lineBreaksInside += breaks;
      parserDrift += (field.match(/[\r\n]/g)?.length ?? 0) - breaks;
    }
    return { line: info.lines - parserDrift - lineBreaksInside, values };
  });
}

/** The line on which a quote opened that is still open at the end of the text. */
function lineOfUnclosedQuote(text: string): number | undefined {
  let line = 1;
  let openedAt: number | undefined;
  for (const character of text) {
    if (character === '"') openedAt = openedAt === undefined ? line : undefined;
    else if (character === '\n') line++;
  }
  return openedAt;
}

/**
 * A CSV field, quoted when it must be. A value that a spreadsheet would run as a formula gets a
 * leading apostrophe, which the import takes off again.
 */
export function csvField(raw: string): string {
  // A plain number ("-5.5") is not a formula to any spreadsheet, and is left as it is. A value that
  // already starts with apostrophes before such a character gets one more, as the import takes one
  // off.
  const guarded =
    (/^[=+\-@\t\r]/.test(raw) && !/^-\d+(\.\d+)?$/.test(raw)) || /^'+[=+\-@\t\r]/.test(raw);
  const value = guarded ? `'${raw}` : raw;
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
