import type { Kysely } from 'kysely';

/**
 * Prescribing: chapter 3 aggregates of the English Prescribing Dataset, the classification of each
 * code as it was applied, and the inhaler measures with their roll-ups. Every table is keyed by
 * month first, so a month is replaced with one delete per table inside one transaction.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('epd_imports')
    .addColumn('month', 'text', (column) => column.primaryKey())
    .addColumn('source', 'text', (column) => column.notNull())
    .addColumn('file_name', 'text', (column) => column.notNull())
    .addColumn('layout', 'text', (column) => column.notNull())
    .addColumn('file_bytes', 'bigint', (column) => column.notNull())
    .addColumn('rows_read', 'bigint', (column) => column.notNull())
    .addColumn('chapter3_rows', 'bigint', (column) => column.notNull())
    .addColumn('items', 'double precision', (column) => column.notNull())
    .addColumn('chapter3_items', 'double precision', (column) => column.notNull())
    .addColumn('actual_cost', 'double precision', (column) => column.notNull())
    .addColumn('chapter3_actual_cost', 'double precision', (column) => column.notNull())
    .addColumn('practices', 'integer', (column) => column.notNull())
    .addColumn('chapter3_codes', 'integer', (column) => column.notNull())
    .addColumn('unclassified_codes', 'integer', (column) => column.notNull())
    .addColumn('doses_converted_lines', 'integer', (column) => column.notNull())
    .addColumn('doses_unknown_lines', 'integer', (column) => column.notNull())
    .addColumn('reference_version', 'text', (column) => column.notNull())
    .addColumn('reference_sha256', 'text', (column) => column.notNull())
    .addColumn('imported_at', 'text', (column) => column.notNull())
    .addColumn('duration_ms', 'integer', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('epd_presentations')
    .addColumn('month', 'text', (column) => column.notNull())
    .addColumn('bnf_code', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('classification', 'text', (column) => column.notNull())
    .addColumn('basis', 'text')
    .addColumn('reason', 'text')
    .addColumn('medicine', 'text')
    .addColumn('device_type', 'text')
    .addColumn('propellant', 'text')
    .addColumn('kgco2e_per_inhaler', 'double precision')
    .addColumn('kgco2e_method', 'text')
    .addColumn('kgco2e_source', 'text')
    .addColumn('doses_per_inhaler', 'integer')
    .addColumn('reference_version', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('epd_presentations_pk', ['month', 'bnf_code'])
    .execute();

  await db.schema
    .createTable('epd_practice_months')
    .addColumn('month', 'text', (column) => column.notNull())
    .addColumn('practice_code', 'text', (column) => column.notNull())
    .addColumn('practice_name', 'text', (column) => column.notNull())
    .addColumn('postcode', 'text')
    .addColumn('pcn_code', 'text')
    .addColumn('pcn_name', 'text')
    .addColumn('sub_icb_code', 'text')
    .addColumn('sub_icb_name', 'text')
    .addColumn('icb_code', 'text')
    .addColumn('icb_name', 'text')
    .addColumn('region_code', 'text')
    .addColumn('region_name', 'text')
    .addColumn('hierarchy_source', 'text', (column) => column.notNull())
    .addColumn('list_size', 'integer')
    .addPrimaryKeyConstraint('epd_practice_months_pk', ['month', 'practice_code'])
    .execute();
  await db.schema
    .createIndex('epd_practice_months_practice_idx')
    .on('epd_practice_months')
    .columns(['practice_code', 'month'])
    .execute();

  await db.schema
    .createTable('epd_chapter3_lines')
    .addColumn('month', 'text', (column) => column.notNull())
    .addColumn('practice_code', 'text', (column) => column.notNull())
    .addColumn('bnf_code', 'text', (column) => column.notNull())
    .addColumn('items', 'double precision', (column) => column.notNull())
    .addColumn('quantity', 'double precision', (column) => column.notNull())
    .addColumn('actual_cost', 'double precision', (column) => column.notNull())
    .addColumn('nic', 'double precision', (column) => column.notNull())
    .addColumn('inhalers', 'double precision')
    .addColumn('kgco2e', 'double precision')
    .addColumn('quantity_rule', 'text')
    .addPrimaryKeyConstraint('epd_chapter3_lines_pk', ['month', 'practice_code', 'bnf_code'])
    .execute();

  await db.schema
    .createTable('epd_practice_measures')
    .addColumn('month', 'text', (column) => column.notNull())
    .addColumn('measure_id', 'text', (column) => column.notNull())
    .addColumn('practice_code', 'text', (column) => column.notNull())
    .addColumn('numerator', 'double precision', (column) => column.notNull())
    .addColumn('denominator', 'double precision')
    .addColumn('value', 'double precision')
    .addColumn('percentile', 'double precision')
    .addColumn('decile', 'integer')
    .addPrimaryKeyConstraint('epd_practice_measures_pk', ['month', 'measure_id', 'practice_code'])
    .execute();
  await db.schema
    .createIndex('epd_practice_measures_practice_idx')
    .on('epd_practice_measures')
    .columns(['practice_code', 'measure_id', 'month'])
    .execute();

  await db.schema
    .createTable('epd_measure_rollups')
    .addColumn('month', 'text', (column) => column.notNull())
    .addColumn('level', 'text', (column) => column.notNull())
    .addColumn('measure_id', 'text', (column) => column.notNull())
    .addColumn('code', 'text', (column) => column.notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('numerator', 'double precision', (column) => column.notNull())
    .addColumn('denominator', 'double precision', (column) => column.notNull())
    .addColumn('value', 'double precision')
    .addColumn('practices', 'integer', (column) => column.notNull())
    .addPrimaryKeyConstraint('epd_measure_rollups_pk', ['month', 'level', 'measure_id', 'code'])
    .execute();
  await db.schema
    .createIndex('epd_measure_rollups_code_idx')
    .on('epd_measure_rollups')
    .columns(['level', 'code', 'measure_id', 'month'])
    .execute();
}
