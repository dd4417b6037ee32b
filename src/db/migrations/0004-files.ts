import type { Kysely } from 'kysely';
import { isPostgres } from './helpers.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('stored_files')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('store', 'text', (column) => column.notNull())
    .addColumn('storage_key', 'text', (column) => column.notNull())
    .addColumn('purpose', 'text', (column) => column.notNull())
    .addColumn('original_name', 'text', (column) => column.notNull())
    .addColumn('content_type', 'text', (column) => column.notNull())
    .addColumn('extension', 'text', (column) => column.notNull())
    .addColumn('size_bytes', 'bigint', (column) => column.notNull())
    .addColumn('sha256', 'text', (column) => column.notNull())
    .addColumn('uploaded_by', 'text', (column) => column.references('users.id'))
    .addColumn('uploaded_at', 'text', (column) => column.notNull())
    .execute();

  // The database file store: files cut into chunks, so they stream in and out and are never held
  // whole in memory.
  await db.schema
    .createTable('file_chunks')
    .addColumn('storage_key', 'text', (column) => column.notNull())
    .addColumn('chunk_index', 'integer', (column) => column.notNull())
    .addColumn('data', isPostgres(db) ? 'bytea' : 'blob', (column) => column.notNull())
    .addPrimaryKeyConstraint('file_chunks_pkey', ['storage_key', 'chunk_index'])
    .execute();
}
