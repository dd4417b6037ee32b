import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../db/database.ts';
import type {
  Database,
  EpdChapter3LinesTable,
  EpdImportsTable,
  EpdMeasureRollupsTable,
  EpdPracticeMeasuresTable,
  EpdPracticeMonthsTable,
  EpdPresentationsTable,
} from '../../db/schema.ts';
import { NATIONAL_CODE, type RollupLevel, type WithinGroup } from './practice-hierarchy.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** The columns of `epd_practice_months` that place a practice in a group at each level. */
const groupColumns = {
  pcn: { code: 'pcn_code', name: 'pcn_name' },
  'sub-icb': { code: 'sub_icb_code', name: 'sub_icb_name' },
  icb: { code: 'icb_code', name: 'icb_name' },
  region: { code: 'region_code', name: 'region_name' },
  national: null,
} as const satisfies Record<
  RollupLevel,
  { code: keyof EpdPracticeMonthsTable; name: keyof EpdPracticeMonthsTable } | null
>;

/** Row counts per statement for bulk inserts: well under both databases' parameter limits. */
const ROWS_PER_INSERT = 500;

export interface PracticeHierarchyRow {
  code: string;
  name: string;
  pcn_code: string | null;
  pcn_name: string | null;
  sub_icb_code: string | null;
  sub_icb_name: string | null;
  ancestor_path: string;
  registered_patients: number | null;
}

/** Column order of the values given to `insertLineValues`. */
export const lineColumns = [
  'month',
  'practice_code',
  'bnf_code',
  'items',
  'quantity',
  'actual_cost',
  'nic',
  'inhalers',
  'kgco2e',
  'quantity_rule',
] as const satisfies readonly (keyof EpdChapter3LinesTable)[];

/** Every query of the prescribing module. SQL only: callers decide what to ask and why. */
export function createPrescribingRepository(db: Kysely<Database>, dialect: Dialect) {
  /**
   * Inserts rows given as one flat list of values, row after row in column order, so that the caller
   * allocates no array per row. SQLite runs the same statement text for every full batch (prepared
   * once and reused, see the statement cache in db/database.ts), where a hundred rows per statement is
   * quickest; PostgreSQL pays a round trip per statement, so it takes thousands of rows at a time.
   */
  async function insertValues(
    trx: Executor,
    table: keyof Database & string,
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<void> {
    if (values.length % columns.length !== 0) {
      throw new Error(
        `${values.length} values do not make whole rows of the ${columns.length} columns of ${table}`,
      );
    }
    const rowsPerInsert = dialect === 'postgres' ? Math.floor(30_000 / columns.length) : 100;
    const valuesPerInsert = rowsPerInsert * columns.length;
    for (let start = 0; start < values.length; start += valuesPerInsert) {
      const batch = values.slice(start, start + valuesPerInsert);
      const text = insertText(table, columns, batch.length / columns.length);
      await trx.executeQuery(CompiledQuery.raw(text, batch));
    }
  }

  const insertTexts = new Map<string, string>();
  function insertText(table: string, columns: readonly string[], rowCount: number): string {
    const key = `${table}\u0000${columns.join(',')}\u0000${rowCount}`;
    let text = insertTexts.get(key);
    if (text === undefined) {
      const groups: string[] = [];
      for (let row = 0; row < rowCount; row += 1) {
        const placeholders = columns.map((_, column) =>
          dialect === 'postgres' ? `$${row * columns.length + column + 1}` : '?',
        );
        groups.push(`(${placeholders.join(',')})`);
      }
      text = `insert into ${table} (${columns.join(',')}) values ${groups.join(',')}`;
      // The full batch recurs; the short last batch of each call varies, so only a few are kept.
      if (insertTexts.size < 64) insertTexts.set(key, text);
    }
    return text;
  }

  async function insertMany<T extends object>(
    trx: Executor,
    table: keyof Database & string,
    columns: readonly (keyof T & string)[],
    rows: readonly T[],
  ): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      const batch = rows.slice(start, start + ROWS_PER_INSERT);
      const parameters: unknown[] = [];
      const tuples: string[] = [];
      for (const row of batch) {
        const placeholders: string[] = [];
        for (const column of columns) {
          parameters.push((row as Record<string, unknown>)[column] ?? null);
          placeholders.push(dialect === 'postgres' ? `$${parameters.length}` : '?');
        }
        tuples.push(`(${placeholders.join(',')})`);
      }
      const text = `insert into ${table} (${columns.join(',')}) values ${tuples.join(',')}`;
      await trx.executeQuery(CompiledQuery.raw(text, parameters));
    }
  }

  return {
    dialect,

    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    /**
     * Makes imports of the same month take turns: on PostgreSQL a transaction-scoped advisory lock
     * keyed by the month, so a second import waits for the first to commit and then sees its
     * month; SQLite lets one transaction write at a time anyway.
     */
    async lockMonth(trx: Transaction<Database>, month: string): Promise<void> {
      if (dialect !== 'postgres') return;
      await trx.executeQuery(
        CompiledQuery.raw('select pg_advisory_xact_lock(hashtext($1))', [`epd-month:${month}`]),
      );
    },

    async findImport(month: string, trx: Executor = db): Promise<EpdImportsTable | undefined> {
      return trx
        .selectFrom('epd_imports')
        .selectAll()
        .where('month', '=', month)
        .executeTakeFirst();
    },

    async listImports(): Promise<EpdImportsTable[]> {
      return db.selectFrom('epd_imports').selectAll().orderBy('month', 'desc').execute();
    },

    /** Removes everything held for a month; runs inside the replacing transaction. */
    async deleteMonth(trx: Executor, month: string): Promise<void> {
      for (const table of [
        'epd_measure_rollups',
        'epd_practice_measures',
        'epd_chapter3_lines',
        'epd_practice_months',
        'epd_presentations',
        'epd_imports',
      ] as const) {
        await trx.deleteFrom(table).where('month', '=', month).execute();
      }
    },

    async insertImport(trx: Executor, row: EpdImportsTable): Promise<void> {
      await trx.insertInto('epd_imports').values(row).execute();
    },

    async insertPresentations(
      trx: Executor,
      rows: readonly EpdPresentationsTable[],
    ): Promise<void> {
      await insertMany(
        trx,
        'epd_presentations',
        [
          'month',
          'bnf_code',
          'description',
          'classification',
          'basis',
          'reason',
          'medicine',
          'device_type',
          'propellant',
          'kgco2e_per_inhaler',
          'kgco2e_method',
          'kgco2e_source',
          'doses_per_inhaler',
          'reference_version',
        ],
        rows,
      );
    },

    async insertPracticeMonths(
      trx: Executor,
      rows: readonly EpdPracticeMonthsTable[],
    ): Promise<void> {
      await insertMany(
        trx,
        'epd_practice_months',
        [
          'month',
          'practice_code',
          'practice_name',
          'postcode',
          'pcn_code',
          'pcn_name',
          'sub_icb_code',
          'sub_icb_name',
          'icb_code',
          'icb_name',
          'region_code',
          'region_name',
          'hierarchy_source',
          'list_size',
        ],
        rows,
      );
    },

    /** Chapter 3 lines as one flat list of values, each line's in `lineColumns` order. */
    async insertLineValues(trx: Executor, values: readonly unknown[]): Promise<void> {
      await insertValues(trx, 'epd_chapter3_lines', lineColumns, values);
    },

    async insertPracticeMeasures(
      trx: Executor,
      rows: readonly EpdPracticeMeasuresTable[],
    ): Promise<void> {
      await insertMany(
        trx,
        'epd_practice_measures',
        [
          'month',
          'measure_id',
          'practice_code',
          'numerator',
          'denominator',
          'value',
          'percentile',
          'decile',
        ],
        rows,
      );
    },

    async insertRollups(trx: Executor, rows: readonly EpdMeasureRollupsTable[]): Promise<void> {
      await insertMany(
        trx,
        'epd_measure_rollups',
        [
          'month',
          'level',
          'measure_id',
          'code',
          'name',
          'numerator',
          'denominator',
          'value',
          'practices',
        ],
        rows,
      );
    },

    /**
     * Practices in Greenspace's organisation reference data with their PCN, sub-ICB location,
     * ancestors and list size. Read-only use of the organisations tables, for roll-ups.
     */
    async findPracticeHierarchy(): Promise<PracticeHierarchyRow[]> {
      return db
        .selectFrom('organisations as o')
        .leftJoin('practice_profiles as pp', 'pp.practice_code', 'o.code')
        .leftJoin('organisations as pcn', 'pcn.code', 'pp.pcn_code')
        .leftJoin('organisations as sub', 'sub.code', 'o.parent_code')
        .where('o.org_type', '=', 'gp_practice')
        .select([
          'o.code',
          'o.name',
          'pp.pcn_code',
          'pcn.name as pcn_name',
          'o.parent_code as sub_icb_code',
          'sub.name as sub_icb_name',
          'o.ancestor_path',
          'pp.registered_patients',
        ])
        .execute();
    },

    async findOrganisationNames(codes: readonly string[]): Promise<Map<string, string>> {
      if (codes.length === 0) return new Map();
      const rows = await db
        .selectFrom('organisations')
        .select(['code', 'name'])
        .where('code', 'in', codes)
        .execute();
      return new Map(rows.map((row) => [row.code, row.name]));
    },

    async listMonths(): Promise<string[]> {
      const rows = await db.selectFrom('epd_imports').select('month').orderBy('month').execute();
      return rows.map((row) => row.month);
    },

    /** The reference table version each of the months given was imported with, by month. */
    async findImportReferenceVersions(
      months: readonly string[],
    ): Promise<{ month: string; reference_version: string }[]> {
      if (months.length === 0) return [];
      return db
        .selectFrom('epd_imports')
        .select(['month', 'reference_version'])
        .where('month', 'in', months)
        .orderBy('month')
        .execute();
    },

    async findPracticeMonths(practiceCode: string): Promise<EpdPracticeMonthsTable[]> {
      return db
        .selectFrom('epd_practice_months')
        .selectAll()
        .where('practice_code', '=', practiceCode)
        .orderBy('month')
        .execute();
    },

    async findPracticeMeasureSeries(practiceCode: string): Promise<EpdPracticeMeasuresTable[]> {
      return db
        .selectFrom('epd_practice_measures')
        .selectAll()
        .where('practice_code', '=', practiceCode)
        .orderBy('measure_id')
        .orderBy('month')
        .execute();
    },

    async findPracticeLines(practiceCode: string, months: readonly string[]) {
      if (months.length === 0) return [];
      return db
        .selectFrom('epd_chapter3_lines as l')
        .innerJoin('epd_presentations as p', (join) =>
          join.onRef('p.month', '=', 'l.month').onRef('p.bnf_code', '=', 'l.bnf_code'),
        )
        .where('l.practice_code', '=', practiceCode)
        .where('l.month', 'in', months)
        .select([
          'l.month',
          'l.bnf_code',
          'l.items',
          'l.quantity',
          'l.inhalers',
          'l.kgco2e',
          'l.quantity_rule',
          'p.description',
          'p.classification',
          'p.medicine',
          'p.device_type',
          'p.propellant',
          'p.kgco2e_per_inhaler',
          'p.kgco2e_method',
          'p.kgco2e_source',
          'p.doses_per_inhaler',
          'p.basis',
          'p.reference_version',
        ])
        .orderBy('l.month')
        .orderBy('l.bnf_code')
        .execute();
    },

    async findPresentations(month: string): Promise<EpdPresentationsTable[]> {
      return db
        .selectFrom('epd_presentations')
        .selectAll()
        .where('month', '=', month)
        .orderBy('bnf_code')
        .execute();
    },

    async findPracticeMeasuresForMonth(
      month: string,
      measureId: string,
    ): Promise<EpdPracticeMeasuresTable[]> {
      return db
        .selectFrom('epd_practice_measures')
        .selectAll()
        .where('month', '=', month)
        .where('measure_id', '=', measureId)
        .orderBy('practice_code')
        .execute();
    },

    async findRollups(filter: {
      level: RollupLevel;
      measureId: string;
      month?: string;
      code?: string;
      /** Only groups whose practices were in this group that month (by the stored hierarchy). */
      within?: WithinGroup;
    }): Promise<EpdMeasureRollupsTable[]> {
      let query = db
        .selectFrom('epd_measure_rollups as r')
        .selectAll('r')
        .where('r.level', '=', filter.level)
        .where('r.measure_id', '=', filter.measureId);
      if (filter.month) query = query.where('r.month', '=', filter.month);
      if (filter.code) query = query.where('r.code', '=', filter.code);
      const column = groupColumns[filter.level];
      if (filter.within && column) {
        const within = groupColumns[filter.within.level];
        // The (month, group) pairs of the practices in the group, found once: a subquery for each
        // roll-up row would read every practice of its month.
        query = query.where(
          sql<boolean>`(r.month, r.code) in (select pm.month, ${sql.ref(`pm.${column.code}`)}
            from epd_practice_months pm where ${sql.ref(`pm.${within.code}`)} = ${filter.within.code})`,
        );
      }
      return query.orderBy('r.month').orderBy('r.code').execute();
    },

    /** How many practices each measure ranked (had a value for) in each of the months given. */
    async countRankedPractices(
      months: readonly string[],
    ): Promise<{ month: string; measure_id: string; practices: number }[]> {
      if (months.length === 0) return [];
      const rows = await db
        .selectFrom('epd_practice_measures')
        .where('month', 'in', months)
        .where('decile', 'is not', null)
        .select(['month', 'measure_id', (eb) => eb.fn.countAll<number | string>().as('practices')])
        .groupBy(['month', 'measure_id'])
        .orderBy('month')
        .orderBy('measure_id')
        .execute();
      // PostgreSQL counts as bigint, which the driver gives as a string.
      return rows.map((row) => ({ ...row, practices: Number(row.practices) }));
    },

    /**
     * One month's measure for the practices of one group, by the hierarchy stored for that month
     * (the one its roll-up used), with the group's name as each practice row holds it.
     */
    async findGroupPracticeMeasures(filter: {
      level: RollupLevel;
      code: string;
      measureId: string;
      month: string;
    }) {
      let query = db
        .selectFrom('epd_practice_measures as m')
        .innerJoin('epd_practice_months as pm', (join) =>
          join.onRef('pm.month', '=', 'm.month').onRef('pm.practice_code', '=', 'm.practice_code'),
        )
        .where('m.month', '=', filter.month)
        .where('m.measure_id', '=', filter.measureId)
        .select(['m.practice_code', 'pm.practice_name', 'm.numerator', 'm.denominator', 'm.value']);
      const column = groupColumns[filter.level];
      // England holds every practice, so the national group needs no filter; but only under its
      // own code: any other code at that level is no group, and must not list every practice.
      if (!column && filter.code !== NATIONAL_CODE) return [];
      if (column) query = query.where(`pm.${column.code}`, '=', filter.code);
      return query
        .$if(column !== null, (q) => q.select(`pm.${column!.name} as group_name`))
        .orderBy('m.practice_code')
        .execute();
    },

    /** Practice measure rows with their names, for export and comparison pages. */
    async findPracticeMeasureRows(filter: {
      measureId: string;
      practiceCode?: string;
      month?: string;
      /** Only practices in this group that month (by the stored hierarchy). */
      within?: WithinGroup;
    }) {
      let query = db
        .selectFrom('epd_practice_measures as m')
        .innerJoin('epd_practice_months as pm', (join) =>
          join.onRef('pm.month', '=', 'm.month').onRef('pm.practice_code', '=', 'm.practice_code'),
        )
        .where('m.measure_id', '=', filter.measureId)
        .select([
          'm.month',
          'm.practice_code',
          'pm.practice_name',
          'm.numerator',
          'm.denominator',
          'm.value',
          'm.percentile',
          'm.decile',
        ]);
      if (filter.practiceCode) query = query.where('m.practice_code', '=', filter.practiceCode);
      if (filter.month) query = query.where('m.month', '=', filter.month);
      if (filter.within) {
        query = query.where(
          `pm.${groupColumns[filter.within.level].code}`,
          '=',
          filter.within.code,
        );
      }
      return query.orderBy('m.month').orderBy('m.practice_code').execute();
    },
  };
}

export type PrescribingRepository = ReturnType<typeof createPrescribingRepository>;
