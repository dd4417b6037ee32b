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
import { findTextNotUtf8, NOT_UTF8_MESSAGE } from './epd-encoding.ts';
import { startRowProbe, type RowProbeTask } from './epd-row-probe-thread.ts';
import {
  lineNumberAt,
  probeRows,
  rowProbeKey,
  type RowProbeOptions,
  type RowProbeResult,
} from './epd-row-probe.ts';
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

/** A practice's row of the engine's `practices` table, with its key. */
interface PracticeDetailsRow {
  ym: string;
  practice: string;
  practice_name: string | null;
  postcode: string | null;
  pco_code: string | null;
  pco_name: string | null;
  icb_code: string | null;
  icb_name: string | null;
  area_team_code: string | null;
  region_code: string | null;
  region_name: string | null;
  has_other_rows: boolean;
  key: number;
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
  /**
   * Each month's practices with their names, postcodes and areas. The codes are known once the
   * file is scanned; the names may still be being read from the file (see `probeRows`), so this
   * waits for them. Not while `readLines` is being consumed: a practice the probe did not find is
   * read again by the engine, which runs one query at a time.
   */
  details(): Promise<EpdPracticeDetails>;
  /**
   * The details if they can be had without a second pass over the file (which a caller holding a
   * database transaction should not wait for); otherwise undefined, and `details` reads them.
   */
  detailsIfComplete(): Promise<EpdPracticeDetails | undefined>;
  /**
   * Milliseconds spent reading the file, summing what it held, and finding practice details (what
   * `details` kept its caller waiting); and, growing as `readLines` is consumed, waiting for the
   * engine's sorted lines and turning them into JavaScript.
   */
  timings: { scanMs: number; summaryMs: number; detailsMs: number; readMs: number };
  /** Streams the month's chapter 3 lines, ordered by practice then BNF code, a chunk at a time. */
  readLines(month: string): AsyncGenerator<EpdLine[]>;
  close(): void;
}

export interface EpdPracticeDetails {
  practicesByMonth: Map<string, EpdPracticeInfo[]>;
  /**
   * How many practices' details came from the scan itself (gzip), a probed row, a second pass;
   * and whether the probe ran in a worker thread.
   */
  practiceDetails: { fromScan: number; probed: number; readAgain: number; probedInWorker: boolean };
}

/**
 * Files this large are probed in a worker thread while the importer writes (a national month is
 * about 5 GB); smaller ones are probed at once, in milliseconds, without starting a thread.
 */
const workerProbeFromBytes = 256 * 1024 * 1024;

export interface ScanOptions {
  threads?: number;
  memoryLimit?: string;
  tempDir?: string;
  onProgress?: (progress: ScanProgress) => void;
  /** How many bad rows to list before stopping (the import is refused if there is any). */
  maxProblems?: number;
  /** Probe in a worker thread from this file size (see `workerProbeFromBytes`). */
  workerProbeFromBytes?: number;
  /** The probe's read limit (see `RowProbeOptions.maxReads`). */
  probeMaxReads?: number;
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
  /** Stops the row probe's thread, once there is one. */
  let stopOnClose = () => {};
  let closed = false;
  const close = () => {
    closed = true;
    stopOnClose();
    connection.closeSync();
    engine.closeSync();
    spillFolder.removeSync();
  };
  try {
    /** The column's name as the file spells it, quoted for SQL unless `quoted` is false. */
    const column = (name: string, quoted = true) => {
      const spelled =
        detected.columns.find((candidate) => candidate.toUpperCase() === name) ?? name;
      return quoted ? quoteIdentifier(spelled) : spelled;
    };
    const hierarchy = detected.layout.hierarchyColumns;
    const chapter3 = `starts_with(${column('BNF_CODE')}, '03')`;
    // An uncompressed file can be read at any offset, so the practice's details (its name,
    // postcode, and the codes and names of its areas) are taken from one of its rows found by
    // `probeRows`, and the scan parses none of them: each column parsed on all 17 million rows of
    // a month costs the scan about a tenth of a second. A gzip stream can only be read from the
    // start: there the scan keeps the details too.
    const detailsFromProbe = file.compression === 'none';
    const nameColumns = new Set(['PRACTICE_NAME', 'POSTCODE', 'PCO_NAME', 'REGIONAL_OFFICE_NAME']);
    if (hierarchy.icbName) nameColumns.add(hierarchy.icbName);
    const codeColumns = [
      'PCO_CODE',
      hierarchy.icbCode,
      hierarchy.areaTeamCode,
      'REGIONAL_OFFICE_CODE',
    ].filter((name): name is string => name !== null);
    // Practice details are the same on every row of a practice. Codes are short enough for the
    // engine to hold inside each group's own slot, so every group takes one from any row: a
    // condition evaluated on each of the file's rows costs more than the copies. Names are long
    // and would be copied to each of the hundreds of thousands of chapter 3 groups, so where the
    // scan reads them they are kept only on the one group per practice that collects its rows
    // outside chapter 3.
    const metadata = (name: string | null) => {
      if (!name || detailsFromProbe) return 'NULL::VARCHAR';
      if (!nameColumns.has(name)) return `any_value(${column(name)})`;
      return `any_value(CASE WHEN NOT ${chapter3} THEN ${column(name)} END)`;
    };
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
    const aggregate = (mode: 'strict' | 'record rejects') => `
      SELECT ${column('YEAR_MONTH')} AS ym,
        ${column('PRACTICE_CODE')} AS practice,
        CASE WHEN ${chapter3} THEN ${column('BNF_CODE')} END AS bnf,
        count(*)::DOUBLE AS row_count,
        coalesce(sum(${column('ITEMS')}), 0)::DOUBLE AS items,
        coalesce(sum(${column('TOTAL_QUANTITY')}), 0)::DOUBLE AS quantity,
        coalesce(sum(${column('ACTUAL_COST')}), 0)::DOUBLE AS actual_cost,
        coalesce(sum(${column('NIC')}), 0)::DOUBLE AS nic,
        -- Read for chapter 3 groups only; the group outside it takes one too, unread.
        any_value(${column('BNF_DESCRIPTION')}) AS description,
        ${metadataColumns(metadata)}
      FROM ${readCsvCall(file, detected, mode)}
      GROUP BY ALL`;
    const scanStarted = performance.now();
    await runReportingBadRows(connection, 'agg', aggregate, file, options, options.onProgress);
    const scanEnded = performance.now();

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
            field: column('YEAR_MONTH', false),
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

    await connection.run(`CREATE TABLE practices AS SELECT ym, practice,
        any_value(practice_name) AS practice_name, any_value(postcode) AS postcode,
        any_value(pco_code) AS pco_code, any_value(pco_name) AS pco_name,
        any_value(icb_code) AS icb_code, any_value(icb_name) AS icb_name,
        any_value(area_team_code) AS area_team_code,
        any_value(region_code) AS region_code, any_value(region_name) AS region_name,
        bool_or(bnf IS NULL) AS has_other_rows
        FROM agg GROUP BY ym, practice HAVING bool_or(bnf IS NOT NULL)`);
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
    ).getRowObjectsJS() as unknown as PracticeDetailsRow[];
    const detailsByKey = new Map<string, PracticeDetailsRow>(
      practiceRows.map((row) => [rowProbeKey(row.ym, row.practice), row]),
    );
    const practiceCodesByMonth = new Map<string, string[]>();
    for (const row of practiceRows) {
      const month = normaliseEpdMonth(row.ym)!;
      const codes = practiceCodesByMonth.get(month) ?? [];
      codes[row.key] = row.practice;
      practiceCodesByMonth.set(month, codes);
    }
    // A practice with chapter 3 rows only (an extract, not a whole EPD month) has no group that
    // kept its details, and a practice the probe does not find has no names: both are read from
    // their own rows, in a second pass over the file that whole, ordered files never need.
    /** Practices whose details came from a second pass. */
    const readAgain = new Set<string>();
    const chapter3Only = new Set<string>();
    for (const [key, row] of detailsByKey) if (!row.has_other_rows) chapter3Only.add(key);
    const wanted = new Set<string>();
    let probeOptions: RowProbeOptions | undefined;
    let task: RowProbeTask | undefined;
    let probedInWorker = false;
    /**
     * Starts the probe's thread, once: when the engine has sorted the first month's lines (see
     * `readLines`), so that the thread does not take a core from the sort, or when the details are
     * asked for first.
     */
    let startProbe: (() => void) | undefined;
    const timings = { scanMs: scanEnded - scanStarted, summaryMs: 0, detailsMs: 0, readMs: 0 };
    /** Runs `work`, counting its time as time spent finding practice details. */
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        timings.detailsMs += performance.now() - started;
      }
    };
    const closedError = () =>
      new Error('the scan was closed before its practice details were read');

    if (detailsFromProbe) {
      for (const key of detailsByKey.keys()) if (!chapter3Only.has(key)) wanted.add(key);
      const probing: RowProbeOptions = {
        path: file.path,
        sizeBytes: file.sizeBytes,
        columns: detected.columns,
        monthColumn: column('YEAR_MONTH', false),
        practiceColumn: column('PRACTICE_CODE', false),
        wanted,
        maxReads: options.probeMaxReads,
        textColumns: [...nameColumns, ...codeColumns].map((name) => column(name, false)),
        numberColumns: ['ITEMS', 'TOTAL_QUANTITY', 'ACTUAL_COST', 'NIC'].map((name) =>
          column(name, false),
        ),
      };
      probeOptions = probing;
      if (file.sizeBytes >= (options.workerProbeFromBytes ?? workerProbeFromBytes)) {
        startProbe = () => {
          startProbe = undefined;
          task = startRowProbe(probing);
          // Until the details are asked for, a failed probe is nobody's error yet; it is then.
          task.result.catch(() => undefined);
        };
      }
    }
    timings.summaryMs = performance.now() - scanEnded;
    stopOnClose = () => {
      startProbe = undefined;
      task?.stop();
    };

    let passes = 0;
    /** Reads practices' details from their own rows: a second pass over the file. */
    const readAgainFromFile = async (keys: ReadonlySet<string>) => {
      if (keys.size === 0) return;
      if (closed) throw closedError();
      passes += 1;
      const neededTable = `needed_${passes}`;
      try {
        const pairs = [...keys].map((key) => {
          const row = detailsByKey.get(key)!;
          return `(${quoteLiteral(row.ym)}, ${quoteLiteral(row.practice)})`;
        });
        await connection.run(
          `CREATE TABLE ${neededTable} AS SELECT * FROM (VALUES ${pairs.join(', ')}) AS v(ym, practice)`,
        );
        const anyValue = (name: string | null) => (name ? `any_value(${column(name)})` : 'NULL');
        const details = (mode: 'strict' | 'record rejects') => `
          SELECT d.* FROM (
            SELECT ${column('YEAR_MONTH')} AS ym, ${column('PRACTICE_CODE')} AS practice,
              ${metadataColumns(anyValue)}
            FROM ${readCsvCall(file, detected, mode)}
            WHERE ${column('PRACTICE_CODE')} IN (SELECT practice FROM ${neededTable})
            GROUP BY ALL) d
          JOIN ${neededTable} n ON n.ym = d.ym AND n.practice = d.practice`;
        // This pass parses the name columns the first one left out, so a bad row there is found
        // here. (Text that is not UTF-8 in a column read here may instead meet an engine fault
        // that names no line, which `explainEngineFault` then finds the line of.)
        const detailsTable = `practice_details_${passes}`;
        await runReportingBadRows(connection, detailsTable, details, file, options);
        const detailRows = (
          await connection.runAndReadAll(`SELECT * FROM ${detailsTable}`)
        ).getRowObjectsJS() as Omit<PracticeDetailsRow, 'has_other_rows' | 'key'>[];
        for (const details of detailRows) {
          Object.assign(detailsByKey.get(rowProbeKey(details.ym, details.practice))!, details);
        }
      } catch (error) {
        if (closed) throw closedError();
        if (error instanceof InputFileError || isResourceError(error)) throw error;
        const explained = await explainEngineFault(error, file, detected);
        // Stopped while the file was read again: that is what happened, not the file's fault.
        if (closed) throw closedError();
        throw explained;
      }
      for (const key of keys) readAgain.add(key);
    };

    let probeApplied: Promise<Set<string>> | undefined;
    /** Gives the practices the names the probe found; resolves to the wanted ones it did not. */
    const applyProbe = () =>
      (probeApplied ??= (async () => {
        const missing = new Set<string>();
        if (!probeOptions) return missing;
        let probed: RowProbeResult;
        if (task) {
          try {
            probed = await task.result;
            probedInWorker = true;
          } catch (error) {
            if (closed) throw error;
            // A thread that cannot start, or fails, costs only time: the probe runs here instead.
            probed = probeRows(probeOptions);
          }
        } else {
          probed = probeRows(probeOptions);
        }
        if (closed) throw closedError();
        if (probed.notUtf8.length > 0) {
          throw new InputFileError(
            probed.notUtf8.map(({ offset, column: field }) => ({
              file: file.displayName,
              line: lineNumberAt(file.path, offset),
              field,
              message: NOT_UTF8_MESSAGE,
            })),
          );
        }
        // An empty field is NULL to the engine.
        const field = (fields: string[], name: string | null) =>
          name === null ? null : fields[detected.columns.indexOf(column(name, false))] || null;
        for (const key of wanted) {
          const row = detailsByKey.get(key)!;
          const fields = probed.rows.get(key);
          if (fields === undefined) {
            missing.add(key);
            continue;
          }
          row.pco_code = field(fields, 'PCO_CODE');
          row.icb_code = field(fields, hierarchy.icbCode);
          row.area_team_code = field(fields, hierarchy.areaTeamCode);
          row.region_code = field(fields, 'REGIONAL_OFFICE_CODE');
          row.practice_name = field(fields, 'PRACTICE_NAME');
          row.postcode = field(fields, 'POSTCODE');
          row.pco_name = field(fields, 'PCO_NAME');
          row.icb_name = field(fields, hierarchy.icbName);
          row.region_name = field(fields, 'REGIONAL_OFFICE_NAME');
        }
        return missing;
      })());

    const buildDetails = (): EpdPracticeDetails => {
      const practicesByMonth = new Map<string, EpdPracticeInfo[]>();
      for (const row of practiceRows) {
        const month = normaliseEpdMonth(row.ym)!;
        const list = practicesByMonth.get(month) ?? [];
        list[row.key] = {
          practiceCode: row.practice,
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
        practicesByMonth,
        practiceDetails: {
          fromScan: detailsFromProbe ? 0 : practiceRows.length - readAgain.size,
          probed: detailsFromProbe ? practiceRows.length - readAgain.size : 0,
          readAgain: readAgain.size,
          probedInWorker,
        },
      };
    };
    const detailsIfComplete = () =>
      timed(async () => {
        if (closed) throw closedError();
        startProbe?.();
        const missing = await applyProbe();
        return [...missing].every((key) => readAgain.has(key)) ? buildDetails() : undefined;
      });
    let complete: Promise<EpdPracticeDetails> | undefined;
    const details = () =>
      (complete ??= timed(async () => {
        if (closed) throw closedError();
        startProbe?.();
        const missing = await applyProbe();
        await readAgainFromFile(new Set([...missing].filter((key) => !readAgain.has(key))));
        return buildDetails();
      }));

    // Whatever can be read now is read now, so that a second pass over the file runs inside the
    // caller's transaction (holding the database's write lock) for nothing but the practices a
    // probe in a worker thread did not find: practices with chapter 3 rows only, and, when there
    // is no thread, the probe itself and the practices it did not find.
    await timed(() => readAgainFromFile(chapter3Only));
    if (!startProbe) await details();

    return {
      file,
      detected,
      months: [...totals.values()],
      descriptions,
      codesByMonth,
      details,
      detailsIfComplete,
      timings,
      async *readLines(month: string) {
        const key = monthKeys.get(month);
        if (key === undefined) return;
        const practiceByKey = practiceCodesByMonth.get(month) ?? [];
        const queryStarted = performance.now();
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
        timings.readMs += performance.now() - queryStarted;
        for (;;) {
          const readStarted = performance.now();
          const chunk = await next;
          // The engine has sorted the lines: the probe's thread no longer takes a core from it.
          startProbe?.();
          if (!chunk || chunk.rowCount === 0) {
            timings.readMs += performance.now() - readStarted;
            break;
          }
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
          timings.readMs += performance.now() - readStarted;
          yield lines;
        }
      },
      close,
    };
  } catch (error) {
    close();
    if (error instanceof InputFileError || isResourceError(error)) throw error;
    throw await explainEngineFault(error, file, detected);
  }
}

/**
 * An engine error as an input error. DuckDB 1.5.6 can meet text that is not UTF-8 with an internal
 * fault that names no line ("Attempted to access index 17 within vector of size 11") rather than
 * its encoding error: it does so when a query reads only some of a file's columns, as every
 * query here does. After such a fault the file is read once more, here, to find the first bytes
 * that are not UTF-8, so that the error names their line and column as for any other bad row.
 */
async function explainEngineFault(
  error: unknown,
  file: PreparedEpdFile,
  detected: DetectedLayout,
): Promise<Error> {
  if (/^INTERNAL Error/i.test(firstLineOf(error))) {
    const hierarchy = detected.layout.hierarchyColumns;
    // Every column a query of the import reads: bytes elsewhere (addresses) are not its fault.
    const read = new Set(
      [
        ...['YEAR_MONTH', 'PRACTICE_CODE', 'BNF_CODE', 'BNF_DESCRIPTION', 'PRACTICE_NAME'],
        ...['POSTCODE', 'PCO_CODE', 'PCO_NAME', 'REGIONAL_OFFICE_CODE', 'REGIONAL_OFFICE_NAME'],
        ...numericEpdColumns,
        hierarchy.icbCode,
        hierarchy.icbName,
        hierarchy.areaTeamCode,
      ].filter((name): name is string => typeof name === 'string'),
    );
    const found = await findTextNotUtf8(file, read).catch(() => undefined);
    if (found) {
      const explained = new InputFileError([
        {
          file: file.displayName,
          line: found.line,
          field: found.column,
          message: NOT_UTF8_MESSAGE,
        },
      ]);
      // Kept, so that a log of the error shows the engine's own words as well.
      explained.cause = error;
      return explained;
    }
  }
  return toInputFileError(error, file);
}

/**
 * Creates `table` from a query over the file (`select` gives it for each way of reading). Nearly
 * every file is clean, and a strict read is about a tenth quicker than one recording rejects. Only
 * when the strict read stops at a bad row is the file read again recording every bad row, so that
 * the error lists them all. Anything else (a damaged gzip stream, the engine out of memory) would
 * fail the same way twice, and may have left the engine unusable.
 */
async function runReportingBadRows(
  connection: DuckDBConnection,
  table: string,
  select: (mode: 'strict' | 'record rejects') => string,
  file: PreparedEpdFile,
  options: ScanOptions,
  onProgress?: ScanOptions['onProgress'],
): Promise<void> {
  const query = (mode: 'strict' | 'record rejects') => `CREATE TABLE ${table} AS ${select(mode)}`;
  try {
    await runWithProgress(connection, query('strict'), file, onProgress);
  } catch (error) {
    if (!isBadRowError(error)) throw error;
    await connection.run(`DROP TABLE IF EXISTS ${table}`);
    await runWithProgress(connection, query('record rejects'), file, onProgress);
    const problems = await collectRejects(connection, file, options.maxProblems ?? 20);
    if (problems.length > 0) throw new InputFileError(problems);
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
    case 'INVALID ENCODING':
    case 'INVALID UNICODE':
      return NOT_UTF8_MESSAGE;
    case 'UNQUOTED VALUE':
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
