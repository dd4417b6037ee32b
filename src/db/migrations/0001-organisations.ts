import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('organisations')
    .addColumn('code', 'text', (column) => column.primaryKey())
    .addColumn('org_type', 'text', (column) => column.notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('ons_code', 'text')
    .addColumn('parent_code', 'text', (column) => column.references('organisations.code'))
    .addColumn('ancestor_path', 'text', (column) => column.notNull())
    .addColumn('address', 'text')
    .addColumn('postcode', 'text')
    .addColumn('telephone', 'text')
    .addColumn('opened_on', 'text')
    .addColumn('source_dataset', 'text', (column) => column.notNull())
    .addColumn('retired_at', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('organisations_parent_code_idx')
    .on('organisations')
    .column('parent_code')
    .execute();
  await db.schema
    .createIndex('organisations_org_type_idx')
    .on('organisations')
    .columns(['org_type', 'name'])
    .execute();

  await db.schema
    .createTable('practice_profiles')
    .addColumn('practice_code', 'text', (column) =>
      column.primaryKey().references('organisations.code').onDelete('cascade'),
    )
    .addColumn('pcn_code', 'text', (column) => column.references('organisations.code'))
    .addColumn('registered_patients', 'integer')
    .addColumn('registered_patients_on', 'text')
    .addColumn('imd2019_score', 'double precision')
    .addColumn('imd2019_decile', 'integer')
    .addColumn('imd2019_quintile', 'integer')
    .addColumn('approx_latitude', 'double precision')
    .addColumn('approx_longitude', 'double precision')
    .addColumn('location_basis', 'text')
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('practice_profiles_pcn_code_idx')
    .on('practice_profiles')
    .column('pcn_code')
    .execute();

  await db.schema
    .createTable('reference_datasets')
    .addColumn('dataset_key', 'text', (column) => column.primaryKey())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('publisher', 'text', (column) => column.notNull())
    .addColumn('licence', 'text', (column) => column.notNull())
    .addColumn('data_date', 'text', (column) => column.notNull())
    .addColumn('sha256', 'text', (column) => column.notNull())
    .addColumn('row_count', 'integer', (column) => column.notNull())
    .addColumn('loaded_at', 'text', (column) => column.notNull())
    .execute();
}
