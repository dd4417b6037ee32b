import { InputFileError } from '../../lib/csv.ts';
import type {
  EpdImportsTable,
  EpdMeasureRollupsTable,
  EpdPracticeMeasuresTable,
  EpdPracticeMonthsTable,
  EpdPresentationsTable,
} from '../../db/schema.ts';
import { inspectEpdFile, scanEpdFile, type EpdScan } from './epd-reader.ts';
import { prepareEpdSource, type TransferProgress } from './epd-source.ts';
import { classifyBnfCode, type Classification } from './inhaler-classification.ts';
import {
  deviceTypeLabels,
  lowCarbonDeviceTypes,
  mdiDeviceTypes,
  type DeviceType,
  type InhalerProduct,
  type InhalerReference,
} from './inhaler-reference.ts';
import {
  calculateLineCarbon,
  estimateSwitchSavingKgCo2e,
  selectMonthsWithin,
} from './inhaler.calculations.ts';
import {
  calculatePracticeMeasures,
  measureDefinitions,
  measureIds,
  measureValue,
  rankValues,
  rollUpMeasure,
  type ClassifiedLine,
  type MeasureId,
  type PracticeMeasures,
} from './measures.calculations.ts';
import {
  groupAt,
  resolvePracticeHierarchy,
  rollupLevels,
  type KnownPractice,
  type ResolvedPractice,
  type RollupLevel,
  type WithinGroup,
} from './practice-hierarchy.ts';
import { lineColumns, type PrescribingRepository } from './prescribing.repository.ts';
import { publicFileName } from './public-file-name.ts';

export type ImportProgressEvent =
  | ({ file: string } & TransferProgress)
  | { phase: 'scan'; file: string; percentage: number; bytesTotal: number }
  | { phase: 'write'; file: string; month: string; linesWritten: number };

export interface ImportEpdOptions {
  /** Replace months already held; without it a month already imported is an error. */
  replace?: boolean;
  onProgress?: (event: ImportProgressEvent) => void;
  tempDir?: string;
  threads?: number;
  memoryLimit?: string;
  /** How practice names are read from a plain file (see `ScanOptions`): tuning, and for tests. */
  probe?: { inWorkerFromBytes?: number; maxReads?: number };
}

export interface UnclassifiedCode {
  bnfCode: string;
  description: string;
  reason: string;
}

export interface MonthImportSummary {
  month: string;
  rowsRead: number;
  chapter3Rows: number;
  chapter3Lines: number;
  practices: number;
  chapter3Codes: number;
  inhalerCodes: number;
  unclassified: UnclassifiedCode[];
  dosesConvertedLines: number;
  dosesUnknownLines: number;
  replaced: boolean;
  kgCo2e: number;
  /**
   * Milliseconds writing the month's rows (not counting the wait for lines from the engine), the
   * measures and roll-ups, and committing.
   */
  timings: { writeMs: number; measuresMs: number; commitMs: number };
}

/** Where a file's import spent its time, in milliseconds, phase by phase (months summed). */
export interface ImportTimings {
  /** Reading the header and first row, and checking the month is not held. */
  inspectMs: number;
  /** DuckDB's pass over the file. */
  scanMs: number;
  /** Month totals, descriptions and the practice and code tables built from the scan. */
  summaryMs: number;
  /** Each practice's name, postcode and area names (row probe, or a second pass). */
  detailsMs: number;
  classifyMs: number;
  /** Waiting for the engine's sorted lines and turning them into JavaScript, month by month. */
  readMs: number;
  /** Inside the month's transaction: clearing the month, presentations, practices and lines. */
  writeMs: number;
  /** Measures, percentiles, roll-ups and the import record. */
  measuresMs: number;
  commitMs: number;
}

export const importPhases = [
  'inspect',
  'scan',
  'summary',
  'details',
  'classify',
  'read',
  'write',
  'measures',
  'commit',
] as const;

export interface FileImportSummary {
  source: string;
  file: string;
  layout: string;
  sizeBytes: number;
  months: MonthImportSummary[];
  durationMs: number;
  timings: ImportTimings;
}

export interface MeasureQuery {
  measureId: MeasureId;
  level: RollupLevel | 'practice';
  code?: string;
  month?: string;
  /** Only the practices, or the groups of `level`, within this group (e.g. an ICB's PCNs). */
  within?: WithinGroup;
}

export interface PrescribingServiceOptions {
  now?: () => Date;
}

const SWITCH_SHARE = 0.5;

function sumMonthTimings(months: readonly MonthImportSummary[]): MonthImportSummary['timings'] {
  const total = { writeMs: 0, measuresMs: 0, commitMs: 0 };
  for (const { timings } of months) {
    total.writeMs += timings.writeMs;
    total.measuresMs += timings.measuresMs;
    total.commitMs += timings.commitMs;
  }
  return total;
}

/** Thrown inside a month's transaction to roll it back until the practices' details are read. */
class PracticeDetailsPending extends Error {
  constructor() {
    super('some practices are read again from the file before the month is written');
  }
}

/**
 * The prescribing service: importing EPD files, and the measures, dashboards and exports built
 * from them. Web routes, the CLI and tests all go through here.
 */
export function createPrescribingService(
  repository: PrescribingRepository,
  reference: InhalerReference,
  options: PrescribingServiceOptions = {},
) {
  const now = options.now ?? (() => new Date());

  async function loadKnownPractices(): Promise<{
    known: Map<string, KnownPractice>;
    names: Map<string, string>;
  }> {
    const rows = await repository.findPracticeHierarchy();
    const known = new Map<string, KnownPractice>();
    const ancestorCodes = new Set<string>();
    for (const row of rows) {
      known.set(row.code, {
        code: row.code,
        pcnCode: row.pcn_code,
        pcnName: row.pcn_name,
        subIcbCode: row.sub_icb_code,
        subIcbName: row.sub_icb_name,
        ancestorPath: row.ancestor_path,
        registeredPatients: row.registered_patients,
      });
      for (const code of row.ancestor_path.split('/').filter(Boolean)) ancestorCodes.add(code);
    }
    const names = await repository.findOrganisationNames([...ancestorCodes]);
    return { known, names };
  }

  function heldMonthError(held: EpdImportsTable, file: string, line?: number): InputFileError {
    return new InputFileError([
      {
        file,
        line,
        field: 'YEAR_MONTH',
        message: `${held.month} is already imported (from ${held.file_name}, ${held.imported_at}); the data held is unchanged. Use --replace to replace it.`,
      },
    ]);
  }

  async function refuseHeldMonth(month: string, file: string, line?: number): Promise<void> {
    const held = await repository.findImport(month);
    if (held) throw heldMonthError(held, file, line);
  }

  /** Writes one month in one transaction: all of it, or (on any failure) nothing. */
  async function writeMonth(
    scan: EpdScan,
    month: string,
    context: {
      source: string;
      classifications: Map<string, Classification>;
      known: Map<string, KnownPractice>;
      names: Map<string, string>;
      startedAt: number;
      onProgress?: (event: ImportProgressEvent) => void;
      /** Without it, a month that another import wrote meanwhile is refused, not replaced. */
      replace?: boolean;
      file?: string;
    },
  ): Promise<MonthImportSummary> {
    const totals = scan.months.find((entry) => entry.month === month)!;
    const referenceVersion = reference.version;
    const monthCodes = [...(scan.codesByMonth.get(month) ?? [])].sort();
    const presentations: EpdPresentationsTable[] = monthCodes.map((bnfCode) =>
      presentationRow(
        month,
        bnfCode,
        scan.descriptions.get(bnfCode) ?? '',
        context.classifications.get(bnfCode)!,
        referenceVersion,
      ),
    );
    const unclassified: UnclassifiedCode[] = [];
    for (const bnfCode of monthCodes) {
      const classification = context.classifications.get(bnfCode)!;
      if (classification.kind === 'unclassified') {
        unclassified.push({
          bnfCode,
          description: scan.descriptions.get(bnfCode) ?? '',
          reason: classification.reason,
        });
      }
    }

    const writeStarted = performance.now();
    const readBefore = scan.timings.readMs;
    let linesWrittenAt = 0;
    let detailsWaitMs = 0;
    let callbackEndedAt = 0;
    const summary = await repository.transaction(async (trx) => {
      await repository.lockMonth(trx, month);
      const held = await repository.findImport(month, trx);
      const replaced = held !== undefined;
      // Checked before the scan too; checked again here because another import of the same month
      // may have committed while this one was reading the file.
      if (held && !context.replace) throw heldMonthError(held, context.file ?? context.source);
      await repository.deleteMonth(trx, month);
      await repository.insertPresentations(trx, presentations);

      const measuresByPractice = new Map<string, PracticeMeasures>();
      let currentPractice: string | null = null;
      let currentLines: ClassifiedLine[] = [];
      const finishPractice = () => {
        if (currentPractice === null) return;
        // As `resolvePracticeHierarchy` gives it: only a practice in the directory has one.
        const listSize = context.known.get(currentPractice)?.registeredPatients ?? null;
        measuresByPractice.set(currentPractice, calculatePracticeMeasures(currentLines, listSize));
      };
      let linesWritten = 0;
      let dosesConverted = 0;
      let dosesUnknown = 0;
      let kgCo2e = 0;
      for await (const chunk of scan.readLines(month)) {
        // One flat list of values, each line's in the order of `lineColumns`: no array per line.
        const values: unknown[] = new Array(chunk.length * lineColumns.length);
        let at = 0;
        for (let index = 0; index < chunk.length; index += 1) {
          const line = chunk[index]!;
          if (line.practiceCode !== currentPractice) {
            finishPractice();
            currentPractice = line.practiceCode;
            currentLines = [];
          }
          const classification = context.classifications.get(line.bnfCode);
          let inhalers: number | null = null;
          let lineKg: number | null = null;
          let rule: string | null = null;
          if (classification?.kind === 'inhaler') {
            const carbon = calculateLineCarbon(line.items, line.quantity, classification.product);
            inhalers = carbon.inhalers;
            lineKg = carbon.kgCo2e;
            rule = carbon.rule;
            if (carbon.rule === 'doses-to-inhalers') dosesConverted += 1;
            if (carbon.rule === 'doses-unknown') dosesUnknown += 1;
            if (lineKg !== null) kgCo2e += lineKg;
            currentLines.push({
              bnfCode: line.bnfCode,
              items: line.items,
              deviceType: classification.product.deviceType,
              inhalers: carbon.inhalers,
              kgCo2e: carbon.kgCo2e,
            });
          }
          values[at++] = month;
          values[at++] = line.practiceCode;
          values[at++] = line.bnfCode;
          values[at++] = line.items;
          values[at++] = line.quantity;
          values[at++] = line.actualCost;
          values[at++] = line.nic;
          values[at++] = inhalers;
          values[at++] = lineKg;
          values[at++] = rule;
        }
        await repository.insertLineValues(trx, values);
        linesWritten += chunk.length;
        context.onProgress?.({ phase: 'write', file: scan.file.displayName, month, linesWritten });
      }
      linesWrittenAt = performance.now();
      finishPractice();
      // The practices' names may still have been being read from the file while the lines were
      // written (see `EpdScan.details`). A second pass over the file would hold this transaction
      // (and the database's write lock) for as long as it takes, so the month is then rolled back,
      // and written again once the pass is done (see `importEpd`).
      const detailsBefore = scan.timings.detailsMs;
      const details = await scan.detailsIfComplete();
      detailsWaitMs = scan.timings.detailsMs - detailsBefore;
      if (!details) throw new PracticeDetailsPending();
      const { practicesByMonth } = details;
      const practices = new Map<string, ResolvedPractice>();
      for (const info of practicesByMonth.get(month) ?? []) {
        practices.set(
          info.practiceCode,
          resolvePracticeHierarchy(info, context.known.get(info.practiceCode), context.names),
        );
      }
      await repository.insertPracticeMonths(
        trx,
        [...practices.values()].map((p) => practiceMonthRow(month, p)),
      );
      const { practiceRows, rollupRows } = buildMeasureRows(month, practices, measuresByPractice);
      await repository.insertPracticeMeasures(trx, practiceRows);
      await repository.insertRollups(trx, rollupRows);
      const inhalerCodes = monthCodes.filter(
        (code) => context.classifications.get(code)?.kind === 'inhaler',
      ).length;
      await repository.insertImport(trx, {
        month,
        source: context.source,
        file_name: scan.file.displayName,
        layout: scan.detected.layout.id,
        file_bytes: scan.file.sizeBytes,
        rows_read: totals.rowsRead,
        chapter3_rows: totals.chapter3Rows,
        items: totals.items,
        chapter3_items: totals.chapter3Items,
        actual_cost: totals.actualCost,
        chapter3_actual_cost: totals.chapter3ActualCost,
        practices: practices.size,
        chapter3_codes: monthCodes.length,
        unclassified_codes: unclassified.length,
        doses_converted_lines: dosesConverted,
        doses_unknown_lines: dosesUnknown,
        reference_version: referenceVersion,
        reference_sha256: reference.sha256,
        imported_at: now().toISOString(),
        duration_ms: Math.round(performance.now() - context.startedAt),
      });
      callbackEndedAt = performance.now();
      return {
        month,
        rowsRead: totals.rowsRead,
        chapter3Rows: totals.chapter3Rows,
        chapter3Lines: linesWritten,
        practices: practices.size,
        chapter3Codes: monthCodes.length,
        inhalerCodes,
        unclassified,
        dosesConvertedLines: dosesConverted,
        dosesUnknownLines: dosesUnknown,
        replaced,
        kgCo2e,
      };
    });
    const committedAt = performance.now();
    return {
      ...summary,
      timings: {
        writeMs: linesWrittenAt - writeStarted - (scan.timings.readMs - readBefore),
        measuresMs: callbackEndedAt - linesWrittenAt - detailsWaitMs,
        commitMs: committedAt - callbackEndedAt,
      },
    };
  }

  /** Rows for `export-measures` and the measures API: month, level, code, numerator, denominator, value. */
  async function exportMeasure(query: MeasureQuery) {
    if (query.level === 'practice') {
      const rows = await repository.findPracticeMeasureRows({
        measureId: query.measureId,
        practiceCode: query.code,
        month: query.month,
        within: query.within,
      });
      return rows.map((row) => ({
        month: row.month,
        level: 'practice',
        code: row.practice_code,
        name: row.practice_name,
        numerator: row.numerator,
        denominator: row.denominator,
        value: row.value,
        percentile: row.percentile,
        decile: row.decile,
      }));
    }
    const rows = await repository.findRollups({
      level: query.level,
      measureId: query.measureId,
      code: query.code,
      month: query.month,
      within: query.within,
    });
    return rows.map((row) => ({
      month: row.month,
      level: row.level,
      code: row.code,
      name: row.name,
      numerator: row.numerator,
      denominator: row.denominator as number | null,
      value: row.value,
      percentile: null as number | null,
      decile: null as number | null,
    }));
  }

  /** The reference table version a month was imported with; undefined if the month is not held. */
  async function findMonthReference(month: string) {
    const held = await repository.findImport(month);
    if (!held) return undefined;
    return {
      version: held.reference_version,
      /** Whether the table shipped now is the one the month was imported with. */
      current: held.reference_version === reference.version,
    };
  }

  function classifyAll(descriptions: Map<string, string>): Map<string, Classification> {
    const classifications = new Map<string, Classification>();
    for (const [bnfCode, description] of descriptions) {
      classifications.set(bnfCode, classifyBnfCode(bnfCode, description, reference));
    }
    return classifications;
  }

  return {
    reference,

    /**
     * Imports EPD files (paths or URLs; plain, gzip or zip). Each month is written in one
     * transaction, so a failure at any point leaves the data already held for that month as it
     * was. A month already held is refused unless `replace` is set.
     */
    async importEpd(
      inputs: readonly string[],
      importOptions: ImportEpdOptions = {},
    ): Promise<FileImportSummary[]> {
      const summaries: FileImportSummary[] = [];
      const { known, names } = await loadKnownPractices();
      for (const input of inputs) {
        const source = await prepareEpdSource(input, {
          tempDir: importOptions.tempDir,
          onProgress: (progress) => importOptions.onProgress?.({ file: input, ...progress }),
        });
        try {
          for (const file of source.files) {
            const startedAt = performance.now();
            const { detected, firstMonth } = await inspectEpdFile(file);
            if (firstMonth && !importOptions.replace)
              await refuseHeldMonth(firstMonth, file.displayName, 2);
            const inspectMs = performance.now() - startedAt;
            const scan = await scanEpdFile(file, detected, {
              threads: importOptions.threads,
              memoryLimit: importOptions.memoryLimit,
              tempDir: importOptions.tempDir,
              workerProbeFromBytes: importOptions.probe?.inWorkerFromBytes,
              probeMaxReads: importOptions.probe?.maxReads,
              onProgress: (progress) =>
                importOptions.onProgress?.({ phase: 'scan', file: file.displayName, ...progress }),
            });
            try {
              if (!importOptions.replace) {
                for (const { month } of scan.months) await refuseHeldMonth(month, file.displayName);
              }
              const classifyStarted = performance.now();
              const classifications = classifyAll(scan.descriptions);
              const classifyMs = performance.now() - classifyStarted;
              const months: MonthImportSummary[] = [];
              for (const { month } of scan.months) {
                const write = () =>
                  writeMonth(scan, month, {
                    source: input,
                    classifications,
                    known,
                    names,
                    startedAt,
                    onProgress: importOptions.onProgress,
                    replace: importOptions.replace,
                    file: file.displayName,
                  });
                try {
                  months.push(await write());
                } catch (error) {
                  if (!(error instanceof PracticeDetailsPending)) throw error;
                  await scan.details();
                  months.push(await write());
                }
              }
              summaries.push({
                source: input,
                file: file.displayName,
                layout: detected.layout.label,
                sizeBytes: file.sizeBytes,
                months,
                durationMs: Math.round(performance.now() - startedAt),
                timings: {
                  inspectMs,
                  ...scan.timings,
                  classifyMs,
                  ...sumMonthTimings(months),
                },
              });
            } finally {
              scan.close();
            }
          }
        } finally {
          await source.cleanup();
        }
      }
      return summaries;
    },

    /** The months imported, newest first, as the public pages and API show them. */
    async listImports(): Promise<PublicImport[]> {
      return (await repository.listImports()).map(toPublicImport);
    },

    async listMonths(): Promise<string[]> {
      return repository.listMonths();
    },

    exportMeasure,

    /**
     * The measures API's rows, or undefined when a month is asked for that has not been imported,
     * so that the API answers 404 as the comparison pages do (an export just has no rows).
     */
    async getMeasureRows(query: MeasureQuery) {
      if (query.month && !(await repository.findImport(query.month))) return undefined;
      return exportMeasure(query);
    },

    /** Everything the practice inhaler dashboard shows, or undefined when no month has the practice. */
    async getPracticeDashboard(practiceCode: string) {
      const practiceMonths = await repository.findPracticeMonths(practiceCode);
      if (practiceMonths.length === 0) return undefined;
      const latest = practiceMonths[practiceMonths.length - 1]!;
      const series = await repository.findPracticeMeasureSeries(practiceCode);
      // A decile means little without the number of practices it ranks against: for the carbon per
      // 1,000 patients that is only the practices whose list size is known.
      const ranked = new Map(
        (await repository.countRankedPractices(practiceMonths.map((row) => row.month))).map(
          (row) => [`${row.month} ${row.measure_id}`, row.practices],
        ),
      );
      // Each month's figures were made with the reference table it was imported with, as its
      // import record keeps: every month shown, the trends' older months included, not only the
      // 12 months whose lines the breakdown reads.
      const versionByMonth = new Map(
        (await repository.findImportReferenceVersions(practiceMonths.map((row) => row.month))).map(
          (row) => [row.month, row.reference_version],
        ),
      );
      const measures = measureIds.map((id) => {
        const points = series
          .filter((row) => row.measure_id === id)
          .map((row) => ({
            month: row.month,
            numerator: row.numerator,
            denominator: row.denominator,
            value: row.value,
            percentile: row.percentile,
            decile: row.decile,
            rankedPractices: ranked.get(`${row.month} ${id}`) ?? 0,
            /** The reference table version the month was imported with. */
            referenceVersion: versionByMonth.get(row.month) ?? null,
          }));
        return {
          definition: measureDefinitions[id],
          points,
          latest: points[points.length - 1] ?? null,
        };
      });
      // The breakdown and the switch estimate take the months held for the practice within the 12
      // calendar months ending with its latest: the last 12 imported may be years apart.
      const recentPeriod = selectMonthsWithin(
        practiceMonths.map((row) => row.month),
        latest.month,
        12,
      );
      const recentMonths = recentPeriod.months;
      const lines = await repository.findPracticeLines(practiceCode, recentMonths);
      const byProduct = new Map<
        string,
        {
          bnfCode: string;
          description: string;
          medicine: string | null;
          deviceType: string | null;
          propellant: string | null;
          kgCo2ePerInhaler: number | null;
          kgCo2eMethod: string | null;
          kgCo2eSource: string | null;
          items: number;
          inhalers: number;
          kgCo2e: number;
          dosesConvertedMonths: number;
          /** Months whose quantity may be doses: not counted as inhalers, and given no kgCO2e. */
          dosesUnknownMonths: number;
          /** Months whose inhalers are counted (every month but those above). */
          countedMonths: number;
          /** The reference versions of the months that gave this factor, oldest first. */
          referenceVersions: string[];
        }
      >();
      for (const line of lines) {
        if (line.classification !== 'inhaler') continue;
        // A product whose factor changed between months (a new reference version) is shown once
        // per factor, with the versions that gave it, so that every row's kgCO2e is its inhalers
        // times the factor it shows. A new version that kept the factor adds no row.
        const key = JSON.stringify([line.bnf_code, line.kgco2e_per_inhaler, line.kgco2e_source]);
        const entry = byProduct.get(key) ?? {
          bnfCode: line.bnf_code,
          description: line.description,
          medicine: line.medicine,
          deviceType: line.device_type,
          propellant: line.propellant,
          kgCo2ePerInhaler: line.kgco2e_per_inhaler,
          kgCo2eMethod: line.kgco2e_method,
          kgCo2eSource: line.kgco2e_source,
          items: 0,
          inhalers: 0,
          kgCo2e: 0,
          dosesConvertedMonths: 0,
          dosesUnknownMonths: 0,
          countedMonths: 0,
          referenceVersions: [],
        };
        if (!entry.referenceVersions.includes(line.reference_version)) {
          entry.referenceVersions.push(line.reference_version);
          entry.referenceVersions.sort(compareVersions);
        }
        entry.items += line.items;
        // A quantity that may be doses is no count of inhalers: adding it would show a 120-dose
        // inhaler as 120 inhalers with no carbon, and the switch estimate would move them all.
        if (line.quantity_rule === 'doses-unknown') entry.dosesUnknownMonths += 1;
        else {
          entry.inhalers += line.inhalers ?? 0;
          entry.countedMonths += 1;
        }
        entry.kgCo2e += line.kgco2e ?? 0;
        if (line.quantity_rule === 'doses-to-inhalers') entry.dosesConvertedMonths += 1;
        byProduct.set(key, entry);
      }
      const products = [...byProduct.values()]
        .map((product) => ({
          ...product,
          // No carbon is known for a product without a factor, nor for one with no month counted:
          // null, not 0, so that nothing shows or sums it as zero carbon.
          kgCo2e:
            product.kgCo2ePerInhaler === null || product.countedMonths === 0
              ? null
              : product.kgCo2e,
        }))
        .sort((a, b) => {
          // Products with no carbon known go last.
          if (a.kgCo2e === null || b.kgCo2e === null) {
            return (a.kgCo2e === null ? 1 : 0) - (b.kgCo2e === null ? 1 : 0);
          }
          return b.kgCo2e - a.kgCo2e;
        })
        .map((product) => ({
          ...product,
          deviceLabel: product.deviceType
            ? (deviceTypeLabels[product.deviceType as DeviceType] ?? product.deviceType)
            : '',
          isMdi:
            product.deviceType !== null && mdiDeviceTypes.has(product.deviceType as DeviceType),
          alternatives:
            product.deviceType !== null && mdiDeviceTypes.has(product.deviceType as DeviceType)
              ? findLowerCarbonAlternatives(reference, product.medicine, product.kgCo2ePerInhaler)
              : [],
        }));
      const mdiLines = products
        .filter((product) => product.isMdi && product.kgCo2ePerInhaler !== null)
        .map((product) => ({
          inhalers: product.inhalers,
          kgCo2ePerInhaler: product.kgCo2ePerInhaler!,
          alternativeKgCo2ePerInhaler: product.alternatives[0]?.kgCo2ePerInhaler ?? 1.0,
        }));
      // MDIs with no carbon factor cannot be valued, so the estimate leaves them out and says so.
      const unvaluedMdis = products.filter(
        (product) => product.isMdi && product.kgCo2ePerInhaler === null,
      );
      // Scaled to a year from the months held in the period: a month not imported is unknown, not
      // a month without prescribing.
      const savingKg = estimateSwitchSavingKgCo2e(mdiLines, SWITCH_SHARE, recentMonths.length);
      return {
        practice: {
          code: practiceCode,
          name: latest.practice_name,
          postcode: latest.postcode,
          pcnCode: latest.pcn_code,
          pcnName: latest.pcn_name,
          subIcbCode: latest.sub_icb_code,
          subIcbName: latest.sub_icb_name,
          icbCode: latest.icb_code,
          icbName: latest.icb_name,
          regionCode: latest.region_code,
          regionName: latest.region_name,
          listSize: latest.list_size,
          hierarchySource: latest.hierarchy_source,
        },
        latestMonth: latest.month,
        months: practiceMonths.map((row) => row.month),
        /** The months held for the practice within `recentPeriod`, oldest first. */
        recentMonths,
        /** The 12 calendar months, `from` to `to`, that the breakdown and the switch estimate cover. */
        recentPeriod: { from: recentPeriod.from, to: recentPeriod.to },
        measures,
        products,
        switchEstimate: {
          share: SWITCH_SHARE,
          months: recentMonths.length,
          mdiInhalers: mdiLines.reduce((sum, line) => sum + line.inhalers, 0),
          /** MDI products with no kgCO2e per inhaler, and their inhalers: left out of the estimate. */
          unvaluedMdiProducts: unvaluedMdis.length,
          unvaluedMdiInhalers: unvaluedMdis.reduce((sum, product) => sum + product.inhalers, 0),
          savingKgCo2ePerYear: savingKg,
          savingTonnesCo2ePerYear: savingKg / 1000,
        },
        /** The version of the reference table shipped now, which may be none of the months'. */
        referenceVersion: reference.version,
        /** The reference versions every month shown was imported with, oldest first. */
        referenceVersionsUsed: [...new Set(versionByMonth.values())].sort(compareVersions),
      };
    },

    /**
     * A comparison table: every organisation at one level for one month and measure, highest value
     * first (no value last, then by code), with the reference version the month was imported with.
     */
    async getComparison(query: { level: RollupLevel; measureId: MeasureId; month?: string }) {
      const months = await repository.listMonths();
      const month = query.month ?? months[months.length - 1];
      if (!month || !months.includes(month)) {
        return {
          month: month ?? null,
          months,
          rows: [] as EpdMeasureRollupsTable[],
          reference: null,
        };
      }
      const rows = await repository.findRollups({
        level: query.level,
        measureId: query.measureId,
        month,
      });
      return { month, months, rows: sortByValue(rows), reference: await findMonthReference(month) };
    },

    /**
     * The practices of one group (a PCN, sub-ICB location, ICB, region or England) for one month
     * and measure, so that a comparison row can be traced to the practices it sums. Undefined when
     * the month is not imported or no practice of the month is in the group.
     */
    async getComparisonGroup(query: {
      level: RollupLevel;
      code: string;
      measureId: MeasureId;
      month?: string;
    }) {
      const month = query.month ?? (await repository.listMonths()).at(-1);
      if (!month) return undefined;
      const reference = await findMonthReference(month);
      if (!reference) return undefined;
      const practices = await repository.findGroupPracticeMeasures({
        level: query.level,
        code: query.code,
        measureId: query.measureId,
        month,
      });
      if (practices.length === 0) return undefined;
      const [rollup] = await repository.findRollups({
        level: query.level,
        measureId: query.measureId,
        month,
        code: query.code,
      });
      return {
        month,
        code: query.code,
        name: rollup?.name ?? practices[0]!.group_name ?? query.code,
        /** The group's row on the comparison page; none when no practice has a denominator. */
        rollup: rollup ?? null,
        practices: sortByValue(
          practices.map((row) => ({
            code: row.practice_code,
            name: row.practice_name,
            numerator: row.numerator,
            denominator: row.denominator,
            value: row.value,
            // A roll-up leaves out practices without a denominator (no list size).
            inRollup: row.denominator !== null,
          })),
        ),
        reference,
      };
    },

    /** The import diagnostics of one month: totals, classifications and where doses were converted. */
    async getMonthDiagnostics(month: string) {
      const held = await repository.findImport(month);
      if (!held) return undefined;
      const presentations = await repository.findPresentations(month);
      return { import: toPublicImport(held), presentations };
    },

    /** The reference table as shipped, for its page and API. */
    listReferenceProducts() {
      return [...reference.products.values()].sort((a, b) => a.bnfCode.localeCompare(b.bnfCode));
    },
  };
}

export type PrescribingService = ReturnType<typeof createPrescribingService>;

/** Reference table versions (`2026-11.1`) oldest first: `2026-12.10` comes after `2026-12.9`. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Highest value first, rows without a value last, ties by code: the comparison pages' order. */
function sortByValue<T extends { code: string; value: number | null }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => {
    if (a.value !== b.value) {
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      return b.value - a.value;
    }
    return a.code.localeCompare(b.code);
  });
}

/** Lower-carbon devices of the same medicine, lowest carbon first. */
export function findLowerCarbonAlternatives(
  reference: Pick<InhalerReference, 'products'>,
  medicine: string | null,
  kgCo2ePerInhaler: number | null,
): { bnfCode: string; description: string; deviceType: DeviceType; kgCo2ePerInhaler: number }[] {
  if (!medicine) return [];
  const seen = new Set<string>();
  return [...reference.products.values()]
    .filter(
      (product: InhalerProduct) =>
        product.medicine === medicine &&
        lowCarbonDeviceTypes.has(product.deviceType) &&
        product.kgCo2ePerInhaler !== null &&
        product.description !== '' &&
        (kgCo2ePerInhaler === null || product.kgCo2ePerInhaler < kgCo2ePerInhaler),
    )
    .sort(
      (a, b) =>
        a.kgCo2ePerInhaler! - b.kgCo2ePerInhaler! || a.description.localeCompare(b.description),
    )
    .filter((product) => {
      if (seen.has(product.description)) return false;
      seen.add(product.description);
      return true;
    })
    .slice(0, 5)
    .map((product) => ({
      bnfCode: product.bnfCode,
      description: product.description,
      deviceType: product.deviceType,
      kgCo2ePerInhaler: product.kgCo2ePerInhaler!,
    }));
}

/**
 * An import record as public pages and the API show it: named fields only, and the file by its
 * base name. The recorded source (the path or address given to the command) is left out: it says
 * where files live on the server, and an address may carry a signed query string.
 */
const publicImportFields = [
  'month',
  'file_name',
  'layout',
  'file_bytes',
  'rows_read',
  'chapter3_rows',
  'items',
  'chapter3_items',
  'actual_cost',
  'chapter3_actual_cost',
  'practices',
  'chapter3_codes',
  'unclassified_codes',
  'doses_converted_lines',
  'doses_unknown_lines',
  'reference_version',
  'reference_sha256',
  'imported_at',
] as const satisfies readonly (keyof EpdImportsTable)[];

// An allow-list, not a list of what to leave out: a column added later stays private until named.
export type PublicImport = Pick<EpdImportsTable, (typeof publicImportFields)[number]>;

function toPublicImport(row: EpdImportsTable): PublicImport {
  const picked = Object.fromEntries(
    publicImportFields.map((field) => [field, row[field]]),
  ) as PublicImport;
  return { ...picked, file_name: publicFileName(row.file_name) };
}

function presentationRow(
  month: string,
  bnfCode: string,
  description: string,
  classification: Classification,
  referenceVersion: string,
): EpdPresentationsTable {
  const product = classification.kind === 'inhaler' ? classification.product : null;
  return {
    month,
    bnf_code: bnfCode,
    description,
    classification: classification.kind,
    basis: classification.kind === 'unclassified' ? null : classification.basis,
    reason: classification.kind === 'inhaler' ? null : classification.reason,
    medicine: product?.medicine ?? null,
    device_type: product?.deviceType ?? null,
    propellant: product?.propellant ?? null,
    kgco2e_per_inhaler: product?.kgCo2ePerInhaler ?? null,
    kgco2e_method: product?.kgCo2eMethod ?? null,
    kgco2e_source: product?.kgCo2eSource ?? null,
    doses_per_inhaler: product?.dosesPerInhaler ?? null,
    reference_version: referenceVersion,
  };
}

function practiceMonthRow(month: string, practice: ResolvedPractice): EpdPracticeMonthsTable {
  return {
    month,
    practice_code: practice.practiceCode,
    practice_name: practice.practiceName,
    postcode: practice.postcode,
    pcn_code: practice.pcnCode,
    pcn_name: practice.pcnName,
    sub_icb_code: practice.subIcbCode,
    sub_icb_name: practice.subIcbName,
    icb_code: practice.icbCode,
    icb_name: practice.icbName,
    region_code: practice.regionCode,
    region_name: practice.regionName,
    hierarchy_source: practice.hierarchySource,
    list_size: practice.listSize,
  };
}

/** Practice rows with percentile and decile, and every roll-up, for one month. */
export function buildMeasureRows(
  month: string,
  practices: ReadonlyMap<string, ResolvedPractice>,
  measuresByPractice: ReadonlyMap<string, PracticeMeasures>,
): { practiceRows: EpdPracticeMeasuresTable[]; rollupRows: EpdMeasureRollupsTable[] } {
  const practiceRows: EpdPracticeMeasuresTable[] = [];
  const rollupRows: EpdMeasureRollupsTable[] = [];
  const codes = [...measuresByPractice.keys()].sort();
  for (const measureId of measureIds) {
    const fractions = codes.map((code) => measuresByPractice.get(code)![measureId]);
    const values = fractions.map((fraction) => measureValue(measureId, fraction));
    const ranks = rankValues(values);
    codes.forEach((code, index) => {
      practiceRows.push({
        month,
        measure_id: measureId,
        practice_code: code,
        numerator: fractions[index]!.numerator,
        denominator: fractions[index]!.denominator,
        value: values[index]!,
        percentile: ranks[index]?.percentile ?? null,
        decile: ranks[index]?.decile ?? null,
      });
    });
    for (const level of rollupLevels) {
      const names = new Map<string, string>();
      const members: { groupCode: string; fraction: PracticeMeasures[MeasureId] }[] = [];
      codes.forEach((code, index) => {
        const practice = practices.get(code);
        const group = practice ? groupAt(practice, level) : null;
        if (!group) return;
        names.set(group.code, group.name);
        members.push({ groupCode: group.code, fraction: fractions[index]! });
      });
      for (const [code, sums] of rollUpMeasure(measureId, members)) {
        rollupRows.push({
          month,
          level,
          measure_id: measureId,
          code,
          name: names.get(code) ?? code,
          numerator: sums.numerator,
          denominator: sums.denominator,
          value: measureValue(measureId, {
            numerator: sums.numerator,
            denominator: sums.denominator,
          }),
          practices: sums.practices,
        });
      }
    }
  }
  return { practiceRows, rollupRows };
}
