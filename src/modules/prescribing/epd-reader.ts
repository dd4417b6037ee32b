import os from 'node:os';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InputFileError, type InputProblem } from '../../lib/csv.ts';
import { makeTemporaryFolder } from '../../lib/temporary-folders.ts';
import {
  detectEpdLayout,
  EpdHeaderError,
  normaliseEpdMonth,
  numericEpdColumns,
  splitCsvHeader,
  type DetectedLayout,
} from './epd-layout.ts';
import { readFirstLines, type PreparedEpdFile } from './epd-source.ts';

/**
 * Reads an EPD CSV with DuckDB, the embedded analytics engine: it parses and groups the file in
 * parallel without materialising rows in JavaScript. Only the chapter 3 aggregates (practice ×
 * month × BNF code) and a few totals come back to Node.
 */

export interface EpdMonthTotals {
  month: string;
  rowsRead: number;
  chapter3Rows: number;
  items: number;
  chapter3Items: number;
  actualCost: number;
  chapter3ActualCost: number;
}

export interface EpdPracticeInfo {
  practiceCode: string;
  practiceName: string;
  postcode: string;
  pcoCode: string;
  pcoName: string;
  icbCode: string | null;
  icbName: string | null;
  areaTeamCode: string | null;
  regionCode: string;
  regionName: string;
}

export interface EpdLine {
  practiceCode: string;
  bnfCode: string;
  items: number;
  quantity: number;
  actualCost: number;
  nic: number;
}

export interface ScanProgress {
  /** 0–100 as reported by the engine (share of the file's bytes read). */
  percentage: number;
  bytesTotal: number;
}

/** A scanned file. The aggregates stay in the engine until `readLines` streams them out. */
export interface EpdScan {
  file: PreparedEpdFile;
  detected: DetectedLayout;
  months: EpdMonthTotals[];
  /** BNF code → description as published, for every chapter 3 code in the file. */
  descriptions: Map<string, string>;
  /** The chapter 3 codes present in each month. */
  codesByMonth: Map<string, Set<string>>;
  practicesByMonth: Map<string, EpdPracticeInfo[]>;
  /** Streams the month's chapter 3 lines, ordered by practice then BNF code, a chunk at a time. */
  readLines(month: string): AsyncGenerator<EpdLine[]>;
  close(): void;
}

export interface ScanOptions {
  threads?: number;
  memoryLimit?: string;
  tempDir?: string;
  onProgress?: (progress: ScanProgress) => void;
  /** How many bad rows to list before stopping (the import is refused if there is any). */
  maxProblems?: number;
}

/** Reads the header and the first month without scanning the file. */
export async function inspectEpdFile(
  file: PreparedEpdFile,
): Promise<{ detected: DetectedLayout; firstMonth: string | null }> {
  const { header, firstRow } = await readFirstLines(file);
  let detected: DetectedLayout;
  try {
    detected = detectEpdLayout(header);
  } catch (error) {
    if (error instanceof EpdHeaderError) {
      throw new InputFileError([
        { file: file.displayName, line: 1, field: error.column, message: error.message },
      ]);
    }
    throw error;
  }
  let firstMonth: string | null = null;
  if (firstRow) {
    const index = detected.columns.findIndex((name) => name.toUpperCase() === 'YEAR_MONTH');
    const values = splitCsvHeader(firstRow);
    firstMonth = normaliseEpdMonth(values[index] ?? '') ?? null;
  }
  return { detected, firstMonth };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Builds the read_csv call: every column named from the header, numeric ones typed. Strict, the
 * engine stops at the first bad row; recording rejects, it sets each bad row aside in its
 * `reject_errors` table and goes on, which is slower.
 */
function readCsvCall(
  file: PreparedEpdFile,
  detected: DetectedLayout,
  mode: 'strict' | 'record rejects',
): string {
  const numeric = new Set<string>(numericEpdColumns);
  const columns = detected.columns
    .map(
      (name) =>
        `${quoteLiteral(name)}: '${numeric.has(name.toUpperCase()) ? 'DOUBLE' : 'VARCHAR'}'`,
    )
    .join(', ');
  return `read_csv(${quoteLiteral(file.path)}, auto_detect = false, header = true, delim = ',',
    quote = '"', escape = '"', compression = '${file.compression === 'gzip' ? 'gzip' : 'none'}',
    columns = {${columns}}, store_rejects = ${mode === 'record rejects'}, max_line_size = 1048576)`;
}

/**
 * Scans one file: checks every row (numbers must be numbers, every row must have every column),
 * groups chapter 3 rows per month × practice × BNF code and totals the rest per month.
 * Throws InputFileError naming the file, line and column of each bad row found.
 */
export async function scanEpdFile(
  file: PreparedEpdFile,
  detected: DetectedLayout,
  options: ScanOptions = {},
): Promise<EpdScan> {
  const spillFolder = await makeTemporaryFolder(
    options.tempDir ?? os.tmpdir(),
    'greenspace-duckdb-',
  );
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection;
  try {
    instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? Math.max(1, os.availableParallelism())),
      memory_limit: options.memoryLimit ?? '700MB',
      temp_directory: spillFolder.path,
      preserve_insertion_order: 'false',
    });
    connection = await instance.connect();
  } catch (error) {
    instance?.closeSync();
    spillFolder.removeSync();
    throw error;
  }
  const engine = instance;
  const close = () => {
    connection.closeSync();
    engine.closeSync();
    spillFolder.removeSync();
  };
  try {
    const column = (name: string) =>
      quoteIdentifier(
        detected.columns.find((candidate) => candidate.toUpperCase() === name) ?? name,
      );
    const hierarchy = detected.layout.hierarchyColumns;
    const chapter3 = `starts_with(${column('BNF_CODE')}, '03')`;
    // Practice details are the same on every row of a practice, so they are kept only on the one
    // group per practice that collects its rows outside chapter 3; the chapter 3 groups (hundreds
    // of thousands) then carry no copies of them.
    const metadata = (name: string | null) =>
      name ? `any_value(CASE WHEN NOT ${chapter3} THEN ${column(name)} END)` : 'NULL';
    const metadataColumns = (pick: (name: string | null) => string) => `
        ${pick('PRACTICE_NAME')} AS practice_name,
        ${pick('POSTCODE')} AS postcode,
        ${pick('PCO_CODE')} AS pco_code,
        ${pick('PCO_NAME')} AS pco_name,
        ${pick(hierarchy.icbCode)} AS icb_code,
        ${pick(hierarchy.icbName)} AS icb_name,
        ${pick(hierarchy.areaTeamCode)} AS area_team_code,
        ${pick('REGIONAL_OFFICE_CODE')} AS region_code,
        ${pick('REGIONAL_OFFICE_NAME')} AS region_name`;
    const aggregate = (mode: 'strict' | 'record rejects') => `CREATE TABLE agg AS
      SELECT ${column('YEAR_MONTH')} AS ym,
        ${column('PRACTICE_CODE')} AS practice,
        CASE WHEN ${chapter3} THEN ${column('BNF_CODE')} END AS bnf,
        count(*)::DOUBLE AS row_count,
        coalesce(sum(${column('ITEMS')}), 0)::DOUBLE AS items,
        coalesce(sum(${column('TOTAL_QUANTITY')}), 0)::DOUBLE AS quantity,
        coalesce(sum(${column('ACTUAL_COST')}), 0)::DOUBLE AS actual_cost,
        coalesce(sum(${column('NIC')}), 0)::DOUBLE AS nic,
        any_value(CASE WHEN ${chapter3} THEN ${column('BNF_DESCRIPTION')} END) AS description,
        ${metadataColumns(metadata)}
      FROM ${readCsvCall(file, detected, mode)}
      GROUP BY ALL`;
    // Nearly every file is clean, and a strict read is about a tenth quicker than one recording
    // rejects. Only when the strict read stops at a bad row is the file read again recording every
    // bad row, so that the error lists them all. Anything else (a damaged gzip stream, the engine
    // out of memory) would fail the same way twice, and may have left the engine unusable.
    try {
      await runWithProgress(connection, aggregate('strict'), file, options.onProgress);
    } catch (error) {
      if (!isBadRowError(error)) throw error;
      await connection.run('DROP TABLE IF EXISTS agg');
      await runWithProgress(connection, aggregate('record rejects'), file, options.onProgress);
      const problems = await collectRejects(connection, file, options.maxProblems ?? 20);
      if (problems.length > 0) throw new InputFileError(problems);
    }

    const monthRows = (
      await connection.runAndReadAll(`SELECT ym, bnf IS NOT NULL AS ch3,
        sum(row_count)::DOUBLE AS rows, sum(items)::DOUBLE AS items, sum(actual_cost)::DOUBLE AS cost
        FROM agg GROUP BY ALL ORDER BY ym`)
    ).getRowObjectsJS() as {
      ym: string | null;
      ch3: boolean;
      rows: number;
      items: number;
      cost: number;
    }[];
    const totals = new Map<string, EpdMonthTotals>();
    const monthKeys = new Map<string, string>();
    for (const row of monthRows) {
      const month = normaliseEpdMonth(row.ym ?? '');
      if (!month) {
        throw new InputFileError([
          {
            file: file.displayName,
            field: column('YEAR_MONTH').replace(/"/g, ''),
            message: `"${row.ym ?? ''}" is not a month (expected YYYYMM, in ${row.rows} row(s))`,
          },
        ]);
      }
      monthKeys.set(month, row.ym!);
      const entry = totals.get(month) ?? {
        month,
        rowsRead: 0,
        chapter3Rows: 0,
        items: 0,
        chapter3Items: 0,
        actualCost: 0,
        chapter3ActualCost: 0,
      };
      entry.rowsRead += row.rows;
      entry.items += row.items;
      entry.actualCost += row.cost;
      if (row.ch3) {
        entry.chapter3Rows += row.rows;
        entry.chapter3Items += row.items;
        entry.chapter3ActualCost += row.cost;
      }
      totals.set(month, entry);
    }
    if (totals.size === 0) {
      throw new InputFileError([
        { file: file.displayName, line: 2, message: 'the file has no data rows' },
      ]);
    }

    const descriptions = new Map<string, string>();
    const codesByMonth = new Map<string, Set<string>>();
    const descriptionRows = (
      await connection.runAndReadAll(
        `SELECT ym, bnf, any_value(description) AS description FROM agg WHERE bnf IS NOT NULL GROUP BY ym, bnf`,
      )
    ).getRowObjectsJS() as { ym: string; bnf: string; description: string | null }[];
    for (const row of descriptionRows) {
      if (!descriptions.has(row.bnf)) descriptions.set(row.bnf, row.description ?? '');
      const month = normaliseEpdMonth(row.ym)!;
      const codes = codesByMonth.get(month) ?? new Set<string>();
      codes.add(row.bnf);
      codesByMonth.set(month, codes);
    }

    const practicesByMonth = new Map<string, EpdPracticeInfo[]>();
    await connection.run(`CREATE TABLE practices AS SELECT ym, practice,
        any_value(practice_name) AS practice_name, any_value(postcode) AS postcode,
        any_value(pco_code) AS pco_code, any_value(pco_name) AS pco_name,
        any_value(icb_code) AS icb_code, any_value(icb_name) AS icb_name,
        any_value(area_team_code) AS area_team_code,
        any_value(region_code) AS region_code, any_value(region_name) AS region_name,
        bool_or(bnf IS NULL) AS has_other_rows
        FROM agg GROUP BY ym, practice HAVING bool_or(bnf IS NOT NULL)`);
    // A practice with chapter 3 rows only (an extract, not a whole EPD month) has no group that
    // kept its details: read them from its own rows, a second pass that whole files never need.
    const missing = (
      await connection.runAndReadAll(
        'SELECT count(*)::DOUBLE AS n FROM practices WHERE NOT has_other_rows',
      )
    ).getRowObjectsJS()[0] as { n: number };
    if (missing.n > 0) {
      const anyValue = (name: string | null) => (name ? `any_value(${column(name)})` : 'NULL');
      await connection.run(`CREATE TABLE practice_details AS
        SELECT ${column('YEAR_MONTH')} AS ym, ${column('PRACTICE_CODE')} AS practice,
          ${metadataColumns(anyValue)}
        FROM ${readCsvCall(file, detected, 'strict')}
        WHERE ${column('PRACTICE_CODE')} IN (SELECT practice FROM practices WHERE NOT has_other_rows)
        GROUP BY ALL`);
      await connection.run(`UPDATE practices SET practice_name = d.practice_name,
          postcode = d.postcode, pco_code = d.pco_code, pco_name = d.pco_name,
          icb_code = d.icb_code, icb_name = d.icb_name, area_team_code = d.area_team_code,
          region_code = d.region_code, region_name = d.region_name
        FROM practice_details d
        WHERE practices.ym = d.ym AND practices.practice = d.practice AND NOT practices.has_other_rows`);
    }
    // Lines come back with small whole-number keys for their practice and BNF code instead of the
    // codes themselves: turning hundreds of thousands of engine strings into JavaScript strings
    // costs more than the rest of reading them. Keys follow the codes' order, so ordering by key
    // orders by code.
    await connection.run(`CREATE TABLE practice_keys AS SELECT ym, practice,
        (row_number() OVER (PARTITION BY ym ORDER BY practice) - 1)::INTEGER AS key FROM practices`);
    await connection.run(`CREATE TABLE code_keys AS SELECT bnf,
        (row_number() OVER (ORDER BY bnf) - 1)::INTEGER AS key
        FROM (SELECT DISTINCT bnf FROM agg WHERE bnf IS NOT NULL)`);
    const codeByKey: string[] = [];
    const codeRows = (
      await connection.runAndReadAll('SELECT bnf, key FROM code_keys')
    ).getRowObjectsJS() as { bnf: string; key: number }[];
    for (const row of codeRows) codeByKey[row.key] = row.bnf;

    const practiceRows = (
      await connection.runAndReadAll(`SELECT p.*, k.key FROM practices p
        JOIN practice_keys k ON k.ym = p.ym AND k.practice = p.practice ORDER BY p.ym, k.key`)
    ).getRowObjectsJS() as (Record<string, string | null> & { key: number })[];
    for (const row of practiceRows) {
      const month = normaliseEpdMonth(row.ym!)!;
      const list = practicesByMonth.get(month) ?? [];
      list[row.key] = {
        practiceCode: row.practice!,
        practiceName: row.practice_name ?? '',
        postcode: row.postcode ?? '',
        pcoCode: row.pco_code ?? '',
        pcoName: row.pco_name ?? '',
        icbCode: row.icb_code ?? null,
        icbName: row.icb_name ?? null,
        areaTeamCode: row.area_team_code ?? null,
        regionCode: row.region_code ?? '',
        regionName: row.region_name ?? '',
      };
      practicesByMonth.set(month, list);
    }

    return {
      file,
      detected,
      months: [...totals.values()],
      descriptions,
      codesByMonth,
      practicesByMonth,
      async *readLines(month: string) {
        const key = monthKeys.get(month);
        if (key === undefined) return;
        const practiceByKey = (practicesByMonth.get(month) ?? []).map((info) => info.practiceCode);
        const result = await connection.stream(
          `SELECT p.key AS practice_key, c.key AS code_key, a.items, a.quantity, a.actual_cost, a.nic
           FROM agg a
           JOIN practice_keys p ON p.ym = a.ym AND p.practice = a.practice
           JOIN code_keys c ON c.bnf = a.bnf
           WHERE a.ym = $ym ORDER BY p.key, c.key`,
          { ym: key },
        );
        // Ask for the next chunk before handing this one over, so the engine reads while the
        // caller writes to the app database.
        let next = result.fetchChunk();
        for (;;) {
          const chunk = await next;
          if (!chunk || chunk.rowCount === 0) break;
          next = result.fetchChunk();
          const [practiceKeys, codeKeys, items, quantities, costs, nics] = chunk.getColumns() as [
            number[],
            number[],
            number[],
            number[],
            number[],
            number[],
          ];
          const lines: EpdLine[] = new Array(chunk.rowCount);
          for (let index = 0; index < chunk.rowCount; index += 1) {
            lines[index] = {
              practiceCode: practiceByKey[practiceKeys[index]!]!,
              bnfCode: codeByKey[codeKeys[index]!]!,
              items: items[index]!,
              quantity: quantities[index]!,
              actualCost: costs[index]!,
              nic: nics[index]!,
            };
          }
          yield lines;
        }
      },
      close,
    };
  } catch (error) {
    close();
    if (error instanceof InputFileError || isResourceError(error)) throw error;
    throw toInputFileError(error, file);
  }
}

async function runWithProgress(
  connection: DuckDBConnection,
  sql: string,
  file: PreparedEpdFile,
  onProgress: ScanOptions['onProgress'],
): Promise<void> {
  const timer = onProgress
    ? setInterval(() => {
        const progress = connection.progress;
        if (progress.percentage >= 0) {
          onProgress({ percentage: progress.percentage, bytesTotal: file.sizeBytes });
        }
      }, 250)
    : undefined;
  try {
    await connection.run(sql);
    onProgress?.({ percentage: 100, bytesTotal: file.sizeBytes });
  } finally {
    if (timer) clearInterval(timer);
  }
}

async function collectRejects(
  connection: DuckDBConnection,
  file: PreparedEpdFile,
  limit: number,
): Promise<InputProblem[]> {
  // The engine sets a short row aside once for every column it lacks; that is one problem, told
  // by its first missing column ("Found: 21"), not a field.
  const rows = (
    await connection.runAndReadAll(
      `WITH problems AS (
         SELECT line, error_type,
           CASE WHEN error_type = 'MISSING COLUMNS' THEN NULL ELSE column_name END AS column_name,
           arg_min(error_message, column_idx) AS error_message
         FROM reject_errors GROUP BY ALL)
       SELECT line::DOUBLE AS line, column_name, error_type, error_message,
         count(*) OVER ()::DOUBLE AS total
       FROM problems ORDER BY line, column_name LIMIT ${Math.max(1, limit)}`,
    )
  ).getRowObjectsJS() as {
    line: number;
    column_name: string | null;
    error_type: string;
    error_message: string;
    total: number;
  }[];
  const problems: InputProblem[] = rows.map((row) => ({
    file: file.displayName,
    line: row.line,
    field: row.column_name ?? undefined,
    message: describeReject(row.error_type, row.error_message),
  }));
  const total = rows[0]?.total ?? 0;
  if (total > rows.length) {
    problems.push({ file: file.displayName, message: `…${total - rows.length} more problem(s)` });
  }
  return problems;
}

function describeReject(type: string, message: string): string {
  switch (type) {
    case 'CAST':
      return `${message.replace(/^Error when converting column "[^"]*"\. /, '')}: not a number`;
    case 'MISSING COLUMNS':
      return `${message}: the row is short, so the file may be truncated`;
    case 'TOO MANY COLUMNS':
      return `${message}: an unquoted comma or a broken quote?`;
    case 'UNQUOTED VALUE':
    case 'INVALID UNICODE':
    case 'LINE SIZE OVER MAXIMUM':
      return message;
    default:
      return `${type.toLowerCase()}: ${message}`;
  }
}

/**
 * The first line of an engine error: what went wrong. The lines after it quote the row and the
 * reader's options, which must not be mistaken for the cause (a row may well say "interrupted").
 */
function firstLineOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * What an engine error says went wrong, without the row it quotes ("Original Line: …") or the
 * suggested fixes and reader options that follow, whose words would otherwise be matched.
 */
function causeOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split('\n')
    .filter((line) => !line.startsWith('Original Line:'))
    .join('\n')
    .split(/\nPossible (?:fixes|Solution)/)[0]!;
}

/** The strict read stopped at a row of the file (a non-number, a short or long row, a quote). */
function isBadRowError(error: unknown): boolean {
  return /^(Conversion|Invalid Input) Error: CSV Error on Line/i.test(firstLineOf(error));
}

/** Errors about the machine, not the file: out of memory or disk, or the work was stopped. */
function isResourceError(error: unknown): boolean {
  return /out of memory|interrupt|no space left|disk is full/i.test(firstLineOf(error));
}

/** Engine errors that are about the file (a truncated gzip, an unterminated quote…). */
function toInputFileError(error: unknown, file: PreparedEpdFile): InputFileError {
  const message = causeOf(error);
  const line = /Line:?\s*(\d+)/i.exec(firstLineOf(error))?.[1];
  const firstLine = firstLineOf(error).replace(/^[A-Za-z ]+Error:\s*/, '');
  let explanation = firstLine;
  if (/gzip|inflate|zlib|compressed/i.test(message)) {
    explanation = `the gzip data is damaged or ends early, so the file may be truncated (${firstLine})`;
  } else if (/unterminated quote|quoted value/i.test(message)) {
    explanation = `a quoted value is never closed, so the file may be truncated (${firstLine})`;
  }
  return new InputFileError([
    { file: file.displayName, line: line ? Number(line) : undefined, message: explanation },
  ]);
}
