import { sql, type Kysely } from 'kysely';
import { isPostgres } from './helpers.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('slug', 'text', (column) => column.notNull().unique())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('privacy', 'text', (column) => column.notNull())
    .addColumn('organisation_code', 'text', (column) => column.references('organisations.code'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('workspace_members')
    .addColumn('workspace_id', 'text', (column) =>
      column.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('role', 'text', (column) => column.notNull())
    .addColumn('joined_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('workspace_members_pkey', ['workspace_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('workspace_members_user_idx')
    .on('workspace_members')
    .column('user_id')
    .execute();

  await db.schema
    .createTable('content_items')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('content_type', 'text', (column) => column.notNull())
    .addColumn('slug', 'text', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('summary', 'text', (column) => column.notNull())
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('details', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('privacy', 'text', (column) => column.notNull())
    .addColumn('workspace_id', 'text', (column) => column.references('workspaces.id'))
    .addColumn('organisation_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addColumn('is_example', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('external_ref', 'text')
    .addColumn('revision', 'integer', (column) => column.notNull())
    .addColumn('published_at', 'text')
    .addColumn('starts_at', 'text')
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('updated_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('content_items_type_slug_key', ['content_type', 'slug'])
    .execute();
  await db.schema
    .createIndex('content_items_listing_idx')
    .on('content_items')
    .columns(['content_type', 'status', 'published_at'])
    .execute();
  await db.schema
    .createIndex('content_items_external_ref_idx')
    .on('content_items')
    .column('external_ref')
    .execute();

  for (const [table, column, type] of [
    ['content_areas', 'area_slug', 'text'],
    ['content_organisation_tags', 'organisation_code', 'text'],
    ['content_tags', 'tag', 'text'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn('content_id', 'text', (c) =>
        c.notNull().references('content_items.id').onDelete('cascade'),
      )
      .addColumn(column, type, (c) =>
        column === 'organisation_code' ? c.notNull().references('organisations.code') : c.notNull(),
      )
      .addPrimaryKeyConstraint(`${table}_pkey`, ['content_id', column])
      .execute();
    await db.schema.createIndex(`${table}_value_idx`).on(table).column(column).execute();
  }

  await db.schema
    .createTable('content_revisions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('content_id', 'text', (column) =>
      column.notNull().references('content_items.id').onDelete('cascade'),
    )
    .addColumn('revision_number', 'integer', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('summary', 'text', (column) => column.notNull())
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('details', 'text', (column) => column.notNull())
    .addColumn('privacy', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('note', 'text')
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('content_revisions_number_key', ['content_id', 'revision_number'])
    .execute();

  await db.schema
    .createTable('content_files')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('content_id', 'text', (column) =>
      column.notNull().references('content_items.id').onDelete('cascade'),
    )
    .addColumn('file_id', 'text', (column) => column.notNull().references('stored_files.id'))
    .addColumn('role', 'text', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('version_number', 'integer')
    .addColumn('note', 'text')
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('content_files_content_idx')
    .on('content_files')
    .columns(['content_id', 'role'])
    .execute();

  // Full-text search over published content: FTS5 on SQLite, a weighted tsvector on PostgreSQL.
  if (isPostgres(db)) {
    await sql`
      create table content_search (
        content_id text primary key references content_items(id) on delete cascade,
        title text not null,
        body text not null,
        document tsvector generated always as (
          setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
        ) stored
      )`.execute(db);
    await sql`create index content_search_document_idx on content_search using gin (document)`.execute(
      db,
    );
  } else {
    await sql`
      create virtual table content_search using fts5(
        content_id unindexed, title, body, tokenize = 'porter unicode61 remove_diacritics 2'
      )`.execute(db);
  }
}
