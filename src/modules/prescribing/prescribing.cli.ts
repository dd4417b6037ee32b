import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { csvField } from '../../lib/csv.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { loadConfig } from '../../config.ts';
import { connectDatabase, type DatabaseHandle } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { removeTemporaryFoldersOnStop } from '../../lib/temporary-folders.ts';
import { measureIds, type MeasureId } from './measures.calculations.ts';
import { parseWithinGroup, rollupLevels, type RollupLevel } from './practice-hierarchy.ts';
import { importPhases, type FileImportSummary } from './prescribing.service.ts';
import { createProgressBar } from './progress-bar.ts';

const exportLevels = ['practice', ...rollupLevels] as const;

/**
 * Only the prescribing service, loaded when a command runs: these commands need neither the web
 * application nor the other modules, and a long import should not pay for loading them.
 */
async function openPrescribingService(database: DatabaseHandle) {
  const [{ createPrescribingService }, { createPrescribingRepository }, { loadInhalerReference }] =
    await Promise.all([
      import('./prescribing.service.ts'),
      import('./prescribing.repository.ts'),
      import('./inhaler-reference.ts'),
    ]);
  return createPrescribingService(
    createPrescribingRepository(database.db, database.dialect),
    loadInhalerReference(),
  );
}

/** Adds `import-epd` and `export-measures` to the `greenspace` command. */
export function addPrescribingCommands(program: Command): void {
  program
    .command('import-epd')
    .description(
      'import English Prescribing Dataset files (paths or URLs; CSV, gzip or zip): chapter 3 aggregates and inhaler measures',
    )
    .argument('<file-or-url...>', 'EPD files or HTTP(S) addresses')
    .option('--replace', 'replace months already imported (atomically, one transaction per month)')
    .option('--threads <n>', 'engine threads (default: all cores)', parsePositiveInteger)
    .option('--memory-limit <size>', 'engine memory limit, e.g. 700MB', '700MB')
    .option('--quiet', 'no progress bar')
    .option('--timings', 'after the summary, print the time each phase of the import took')
    .action(
      async (
        inputs: string[],
        options: {
          replace?: boolean;
          threads?: number;
          memoryLimit: string;
          quiet?: boolean;
          timings?: boolean;
        },
      ) => {
        // A download or a scan can take minutes; stopped half way, it leaves no temporary files.
        removeTemporaryFoldersOnStop(
          (signal) =>
            `import-epd stopped (${signal}): months already imported are kept, the month being read or written is left as it was, and temporary files are removed.`,
        );
        const config = loadConfig();
        const database = await connectDatabase(config.database);
        const bar = options.quiet ? null : createProgressBar();
        try {
          await migrateToLatest(database);
          const prescribing = await openPrescribingService(database);
          const started = performance.now();
          const summaries = await prescribing.importEpd(inputs, {
            replace: options.replace,
            threads: options.threads,
            memoryLimit: options.memoryLimit,
            onProgress: (event) => {
              if (!bar) return;
              if (event.phase === 'scan') {
                const bytesDone = (event.percentage / 100) * event.bytesTotal;
                bar.update(
                  { label: 'Reading', bytesDone, bytesTotal: event.bytesTotal },
                  event.percentage >= 100,
                );
              } else if (event.phase === 'write') {
                bar.update({
                  label: `Writing ${event.month}`,
                  bytesDone: 0,
                  bytesTotal: null,
                  rows: event.linesWritten,
                });
              } else {
                bar.update({
                  label: event.phase === 'download' ? 'Downloading' : 'Unzipping',
                  bytesDone: event.bytesDone,
                  bytesTotal: event.bytesTotal,
                });
              }
            },
          });
          bar?.done();
          printImportSummary(summaries, performance.now() - started);
          if (options.timings) {
            console.log(formatImportTimings(summaries, started, performance.now()));
          }
        } finally {
          bar?.done();
          await database.close();
        }
      },
    );

  program
    .command('export-measures')
    .description(
      'write one inhaler measure as CSV or JSON: month,level,code,numerator,denominator,value',
    )
    .requiredOption('--measure <id>', `one of: ${measureIds.join(', ')}`, choice(measureIds))
    .requiredOption('--level <level>', `one of: ${exportLevels.join(', ')}`, choice(exportLevels))
    .option('--code <code>', 'only this organisation (ODS code, or ENG for national)')
    .option('--month <YYYY-MM>', 'only this month', parseMonth)
    .option(
      '--within <level:code>',
      'only the practices or groups within this group, e.g. icb:QK1 for an ICB’s practices or PCNs',
    )
    .option('--format <format>', 'csv or json', choice(['csv', 'json'] as const), 'csv')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(
      async (options: {
        measure: MeasureId;
        level: RollupLevel | 'practice';
        code?: string;
        month?: string;
        within?: string;
        format: 'csv' | 'json';
        output?: string;
      }) => {
        const within =
          options.within === undefined
            ? undefined
            : parseWithinGroup(options.within, options.level);
        if (typeof within === 'string') {
          throw new ValidationFailed({ within: `--within ${within} (got "${options.within}")` });
        }
        const config = loadConfig();
        const database = await connectDatabase(config.database);
        try {
          await migrateToLatest(database);
          const prescribing = await openPrescribingService(database);
          const rows = await prescribing.exportMeasure({
            measureId: options.measure,
            level: options.level,
            code: options.code?.toUpperCase(),
            month: options.month,
            within,
          });
          const text =
            options.format === 'json'
              ? `${JSON.stringify(
                  rows.map(({ month, level, code, numerator, denominator, value }) => ({
                    month,
                    level,
                    code,
                    numerator,
                    denominator,
                    value,
                  })),
                  null,
                  2,
                )}\n`
              : formatMeasuresCsv(rows);
          if (options.output) fs.writeFileSync(options.output, text);
          else process.stdout.write(text);
        } finally {
          await database.close();
        }
      },
    );
}

/**
 * `month,level,code,numerator,denominator,value`, one line per row, numbers unrounded. Codes come
 * from the imported files, so each is quoted when it must be and guarded against being run as a
 * formula by a spreadsheet.
 */
export function formatMeasuresCsv(
  rows: readonly {
    month: string;
    level: string;
    code: string;
    numerator: number;
    denominator: number | null;
    value: number | null;
  }[],
): string {
  const lines = ['month,level,code,numerator,denominator,value'];
  for (const row of rows) {
    lines.push(
      [
        row.month,
        row.level,
        csvField(row.code),
        row.numerator,
        row.denominator ?? '',
        row.value ?? '',
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One line of where the import's time went: `start` is everything before the import itself (Node,
 * loading the modules, the database and its migrations, the reference table); `other` is what no
 * phase accounts for: a download or unzip, reading the organisation hierarchy, starting the
 * engine, each month's practice list, the progress bar and the summary. The total runs from the
 * process's start. Every number is in seconds.
 */
export function formatImportTimings(
  summaries: readonly Pick<FileImportSummary, 'timings'>[],
  importStartedAt: number,
  now: number,
): string {
  const phases = importPhases.map((phase) => ({
    phase,
    ms: summaries.reduce((sum, summary) => sum + summary.timings[`${phase}Ms`], 0),
  }));
  const accounted = phases.reduce((sum, { ms }) => sum + ms, 0);
  const other = Math.max(0, now - importStartedAt - accounted);
  const parts = [
    `start ${seconds(importStartedAt)}`,
    ...phases.map(({ phase, ms }) => `${phase} ${seconds(ms)}`),
    `other ${seconds(other)}`,
  ];
  return `Timings: ${parts.join(', ')}; ${seconds(now)} in all since the process started.`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function printImportSummary(summaries: FileImportSummary[], elapsedMs: number): void {
  for (const summary of summaries) {
    console.log(`${summary.file}: ${summary.layout}, ${(summary.sizeBytes / 1e6).toFixed(1)} MB`);
    for (const month of summary.months) {
      console.log(
        `  ${month.month}${month.replaced ? ' (replaced the data held)' : ''}: ${month.rowsRead.toLocaleString('en-GB')} rows read, ` +
          `${month.chapter3Rows.toLocaleString('en-GB')} chapter 3 rows kept as ${month.chapter3Lines.toLocaleString('en-GB')} practice × BNF code lines, ` +
          `${month.practices.toLocaleString('en-GB')} practices, ${month.chapter3Codes} chapter 3 codes (${month.inhalerCodes} inhalers), ` +
          `${month.unclassified.length} unclassified, ${(month.kgCo2e / 1000).toFixed(1)} tCO2e`,
      );
      if (month.dosesConvertedLines > 0 || month.dosesUnknownLines > 0) {
        console.log(
          `    quantity rule: ${month.dosesConvertedLines} line(s) converted from doses to inhalers, ${month.dosesUnknownLines} left as recorded (dose count unknown)`,
        );
      }
      for (const code of month.unclassified) {
        console.log(`    unclassified ${code.bnfCode} ${code.description}: ${code.reason}`);
      }
    }
  }
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const cpu = process.cpuUsage();
  console.log(
    `Done in ${(elapsedMs / 1000).toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s); peak memory ${peakMb.toFixed(0)} MB.`,
  );
}

function choice<const T extends readonly string[]>(choices: T) {
  return (value: string): T[number] => {
    if (!choices.includes(value))
      throw new InvalidArgumentError(`must be one of: ${choices.join(', ')}`);
    return value as T[number];
  };
}

function parsePositiveInteger(value: string): number {
  if (!/^[1-9]\d{0,2}$/.test(value))
    throw new InvalidArgumentError('must be a whole number from 1');
  return Number(value);
}

function parseMonth(value: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value))
    throw new InvalidArgumentError('must be a month as YYYY-MM');
  return value;
}
