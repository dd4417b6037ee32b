import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  Database,
  NewOrganisation,
  NewPracticeProfile,
  OrganisationRow,
  OrganisationType,
  PracticeProfileRow,
  ReferenceDatasetRow,
} from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export interface OrganisationSearch {
  /** Words matched case-insensitively against the name, or an exact/prefix ODS code. */
  text?: string;
  type?: OrganisationType;
  /** Only organisations under this ancestor (matched on ancestor_path). */
  underAncestorPath?: string;
  /** Only practices of this sub-ICB location, and the PCNs those practices belong to. */
  subIcbCode?: string;
  limit: number;
  offset: number;
}

export interface OrganisationListItem {
  code: string;
  org_type: OrganisationType;
  name: string;
  parent_code: string | null;
  parent_name: string | null;
  postcode: string | null;
  registered_patients: number | null;
}

export interface PracticeProfileListRow {
  code: string;
  name: string;
  postcode: string | null;
  ancestor_path: string;
  sub_icb_code: string | null;
  sub_icb_name: string | null;
  pcn_code: string | null;
  pcn_name: string | null;
  registered_patients: number | null;
  imd2019_score: number | null;
  imd2019_decile: number | null;
  imd2019_quintile: number | null;
  approx_latitude: number | null;
  approx_longitude: number | null;
}

export interface PracticeSummaryRow {
  code: string;
  name: string;
  postcode: string | null;
  pcn_code: string | null;
  registered_patients: number | null;
  imd2019_score: number | null;
  imd2019_quintile: number | null;
}

/** Every query the organisations module runs. No rules here: callers decide what to ask. */
export function createOrganisationRepository(db: Kysely<Database>) {
  return {
    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    async findOrganisation(code: string): Promise<OrganisationRow | undefined> {
      return db
        .selectFrom('organisations')
        .selectAll()
        .where('code', '=', code)
        .where('retired_at', 'is', null)
        .executeTakeFirst();
    },

    async findOrganisationsByCodes(codes: readonly string[]): Promise<OrganisationRow[]> {
      if (codes.length === 0) return [];
      return db.selectFrom('organisations').selectAll().where('code', 'in', codes).execute();
    },

    async findPracticeProfile(code: string): Promise<PracticeProfileRow | undefined> {
      return db
        .selectFrom('practice_profiles')
        .selectAll()
        .where('practice_code', '=', code)
        .executeTakeFirst();
    },

    async findChildren(parentCode: string): Promise<OrganisationListItem[]> {
      return listQuery(db)
        .where('o.parent_code', '=', parentCode)
        .orderBy('o.org_type')
        .orderBy('o.name')
        .execute();
    },

    async findPracticesOfPcn(pcnCode: string): Promise<PracticeSummaryRow[]> {
      return practiceSummaryQuery(db)
        .where('pp.pcn_code', '=', pcnCode)
        .orderBy('o.name')
        .execute();
    },

    async findPracticesOfSubIcb(subIcbCode: string): Promise<PracticeSummaryRow[]> {
      return practiceSummaryQuery(db)
        .where('o.parent_code', '=', subIcbCode)
        .orderBy('o.name')
        .execute();
    },

    /** Current GP practices under an ancestor path, with their PCN, sub-ICB and profile. */
    async findPracticesUnder(underAncestorPath: string): Promise<PracticeProfileListRow[]> {
      return db
        .selectFrom('organisations as o')
        .leftJoin('practice_profiles as pp', 'pp.practice_code', 'o.code')
        .leftJoin('organisations as sub', 'sub.code', 'o.parent_code')
        .leftJoin('organisations as pcn', 'pcn.code', 'pp.pcn_code')
        .where('o.org_type', '=', 'gp_practice')
        .where('o.retired_at', 'is', null)
        .where('o.ancestor_path', 'like', `${underAncestorPath}%`)
        .select([
          'o.code',
          'o.name',
          'o.postcode',
          'o.ancestor_path',
          'o.parent_code as sub_icb_code',
          'sub.name as sub_icb_name',
          'pp.pcn_code',
          'pcn.name as pcn_name',
          'pp.registered_patients',
          'pp.imd2019_score',
          'pp.imd2019_decile',
          'pp.imd2019_quintile',
          'pp.approx_latitude',
          'pp.approx_longitude',
        ])
        .orderBy('o.name')
        .orderBy('o.code')
        .execute();
    },

    async findOrganisationsOfType(type: OrganisationType): Promise<OrganisationRow[]> {
      return db
        .selectFrom('organisations')
        .selectAll()
        .where('org_type', '=', type)
        .where('retired_at', 'is', null)
        .orderBy('name')
        .execute();
    },

    async searchOrganisations(
      search: OrganisationSearch,
    ): Promise<{ items: OrganisationListItem[]; total: number }> {
      let query = listQuery(db);
      if (search.type) query = query.where('o.org_type', '=', search.type);
      if (search.underAncestorPath) {
        query = query.where('o.ancestor_path', 'like', `${search.underAncestorPath}%`);
      }
      if (search.subIcbCode) {
        const subIcbCode = search.subIcbCode;
        query = query.where((eb) =>
          eb.or([
            eb('o.parent_code', '=', subIcbCode),
            eb('o.code', 'in', (sub) =>
              sub
                .selectFrom('practice_profiles as member')
                .innerJoin('organisations as member_org', 'member_org.code', 'member.practice_code')
                .select('member.pcn_code')
                .where('member_org.parent_code', '=', subIcbCode)
                .where('member.pcn_code', 'is not', null)
                .$narrowType<{ pcn_code: string }>(),
            ),
          ]),
        );
      }
      if (search.text) {
        const words = search.text.toLowerCase().split(/\s+/).filter(Boolean);
        const codePrefix = search.text.trim().toUpperCase();
        query = query.where((eb) =>
          eb.or([
            eb('o.code', 'like', likePattern(`${escapeLike(codePrefix)}%`)),
            eb.and(
              words.map((word) =>
                eb(sql`lower(o.name)`, 'like', likePattern(`%${escapeLike(word)}%`)),
              ),
            ),
          ]),
        );
      }
      const countRow = await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      const items = await query
        .orderBy('o.name')
        .orderBy('o.code')
        .limit(search.limit)
        .offset(search.offset)
        .execute();
      return { items, total: Number(countRow.total) };
    },

    async summariseRegisteredPatients(underAncestorPath: string): Promise<{
      practices: number;
      practicesWithListSize: number;
      registeredPatients: number;
      listSizeDate: string | null;
    }> {
      const row = await db
        .selectFrom('organisations as o')
        .leftJoin('practice_profiles as pp', 'pp.practice_code', 'o.code')
        .where('o.org_type', '=', 'gp_practice')
        .where('o.retired_at', 'is', null)
        .where('o.ancestor_path', 'like', `${underAncestorPath}%`)
        .select((eb) => [
          eb.fn.countAll<number>().as('practices'),
          eb.fn.count<number>('pp.registered_patients').as('practices_with_list_size'),
          eb.fn
            .coalesce(eb.fn.sum<number>('pp.registered_patients'), sql<number>`0`)
            .as('registered_patients'),
          eb.fn.max('pp.registered_patients_on').as('list_size_date'),
        ])
        .executeTakeFirstOrThrow();
      return {
        practices: Number(row.practices),
        practicesWithListSize: Number(row.practices_with_list_size),
        registeredPatients: Number(row.registered_patients),
        listSizeDate: row.list_size_date ?? null,
      };
    },

    async countOrganisations(): Promise<number> {
      const row = await db
        .selectFrom('organisations')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    // --- used by the reference data load, always inside its transaction ---

    async findAllOrganisations(trx: Executor): Promise<OrganisationRow[]> {
      return trx.selectFrom('organisations').selectAll().execute();
    },

    async findAllPracticeProfiles(trx: Executor): Promise<PracticeProfileRow[]> {
      return trx.selectFrom('practice_profiles').selectAll().execute();
    },

    async insertOrganisation(trx: Executor, row: NewOrganisation): Promise<void> {
      await trx.insertInto('organisations').values(row).execute();
    },

    async updateOrganisation(
      trx: Executor,
      code: string,
      changes: Partial<Omit<NewOrganisation, 'code' | 'created_at'>>,
    ): Promise<void> {
      await trx.updateTable('organisations').set(changes).where('code', '=', code).execute();
    },

    async upsertPracticeProfile(trx: Executor, row: NewPracticeProfile): Promise<void> {
      const { practice_code: _code, ...changes } = row;
      await trx
        .insertInto('practice_profiles')
        .values(row)
        .onConflict((conflict) => conflict.column('practice_code').doUpdateSet(changes))
        .execute();
    },

    async findReferenceDatasets(trx: Executor = db): Promise<ReferenceDatasetRow[]> {
      return trx.selectFrom('reference_datasets').selectAll().orderBy('dataset_key').execute();
    },

    async upsertReferenceDataset(trx: Executor, row: ReferenceDatasetRow): Promise<void> {
      const { dataset_key: _key, ...changes } = row;
      await trx
        .insertInto('reference_datasets')
        .values(row)
        .onConflict((conflict) => conflict.column('dataset_key').doUpdateSet(changes))
        .execute();
    },
  };
}

export type OrganisationRepository = ReturnType<typeof createOrganisationRepository>;

function listQuery(db: Kysely<Database>) {
  return db
    .selectFrom('organisations as o')
    .leftJoin('organisations as parent', 'parent.code', 'o.parent_code')
    .leftJoin('practice_profiles as pp', 'pp.practice_code', 'o.code')
    .where('o.retired_at', 'is', null)
    .select([
      'o.code',
      'o.org_type',
      'o.name',
      'o.parent_code',
      'parent.name as parent_name',
      'o.postcode',
      'pp.registered_patients',
    ]);
}

function practiceSummaryQuery(db: Kysely<Database>) {
  return db
    .selectFrom('organisations as o')
    .innerJoin('practice_profiles as pp', 'pp.practice_code', 'o.code')
    .where('o.retired_at', 'is', null)
    .select([
      'o.code',
      'o.name',
      'o.postcode',
      'pp.pcn_code',
      'pp.registered_patients',
      'pp.imd2019_score',
      'pp.imd2019_quintile',
    ]);
}

/** Escapes LIKE wildcards in user text so they match themselves. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** A LIKE pattern with its escape character named: SQLite has no default, PostgreSQL uses `\`. */
function likePattern(pattern: string) {
  return sql<string>`${pattern} escape '\\'`;
}
