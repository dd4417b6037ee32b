import { sql, type Kysely } from 'kysely';
import { isPostgres } from './helpers.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Handles identify people in @mentions; existing accounts get one from their id.
  await db.schema.alterTable('users').addColumn('handle', 'text').execute();
  await sql`update users set handle = 'user-' || substr(id, 1, 8) where handle is null`.execute(db);
  await db.schema.createIndex('users_handle_key').on('users').column('handle').unique().execute();

  await db.schema
    .createTable('workspace_requests')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) =>
      column.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('token_hash', 'text')
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('decided_by', 'text', (column) => column.references('users.id'))
    .addColumn('decided_at', 'text')
    .execute();
  await db.schema
    .createIndex('workspace_requests_workspace_idx')
    .on('workspace_requests')
    .columns(['workspace_id', 'status'])
    .execute();

  await db.schema
    .createTable('conversations')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('subject_type', 'text', (column) => column.notNull())
    .addColumn('subject_id', 'text', (column) => column.notNull())
    .addColumn('workspace_id', 'text', (column) => column.references('workspaces.id'))
    .addColumn('locked', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('last_post_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('conversations_subject_key', ['subject_type', 'subject_id'])
    .execute();

  await db.schema
    .createTable('discussion_threads')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('conversation_id', 'text', (column) =>
      column.notNull().references('conversations.id'),
    )
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('area_slug', 'text')
    .addColumn('author_id', 'text', (column) => column.references('users.id'))
    .addColumn('pinned', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('hidden', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('accepted_post_id', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('discussion_threads_workspace_idx')
    .on('discussion_threads')
    .columns(['workspace_id', 'pinned'])
    .execute();

  await db.schema
    .createTable('posts')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('conversation_id', 'text', (column) =>
      column.notNull().references('conversations.id'),
    )
    .addColumn('author_id', 'text', (column) => column.references('users.id'))
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('quoted_post_id', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('edited_at', 'text')
    .addColumn('hidden_at', 'text')
    .addColumn('hidden_by', 'text', (column) => column.references('users.id'))
    .addColumn('hidden_reason', 'text')
    .execute();
  await db.schema
    .createIndex('posts_conversation_idx')
    .on('posts')
    .columns(['conversation_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('posts_author_idx')
    .on('posts')
    .columns(['author_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('post_revisions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('post_id', 'text', (column) =>
      column.notNull().references('posts.id').onDelete('cascade'),
    )
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('edited_by', 'text', (column) => column.references('users.id'))
    .addColumn('edited_at', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('post_reactions')
    .addColumn('post_id', 'text', (column) =>
      column.notNull().references('posts.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('reaction', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('post_reactions_pkey', ['post_id', 'user_id', 'reaction'])
    .execute();

  await db.schema
    .createTable('post_reports')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('post_id', 'text', (column) =>
      column.notNull().references('posts.id').onDelete('cascade'),
    )
    .addColumn('reporter_id', 'text', (column) => column.references('users.id'))
    .addColumn('reason', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('resolved_by', 'text', (column) => column.references('users.id'))
    .addColumn('resolved_at', 'text')
    .addColumn('outcome', 'text')
    .execute();

  await db.schema
    .createTable('follows')
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('subject_type', 'text', (column) => column.notNull())
    .addColumn('subject_id', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('follows_pkey', ['user_id', 'subject_type', 'subject_id'])
    .execute();
  await db.schema
    .createIndex('follows_subject_idx')
    .on('follows')
    .columns(['subject_type', 'subject_id'])
    .execute();

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('link', 'text', (column) => column.notNull())
    .addColumn('actor_id', 'text', (column) => column.references('users.id'))
    .addColumn('dedupe_key', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('read_at', 'text')
    .addColumn('email_status', 'text', (column) => column.notNull())
    .addColumn('emailed_at', 'text')
    .addUniqueConstraint('notifications_dedupe_key', ['user_id', 'dedupe_key'])
    .execute();
  await db.schema
    .createIndex('notifications_user_idx')
    .on('notifications')
    .columns(['user_id', 'read_at', 'created_at'])
    .execute();
  await db.schema
    .createIndex('notifications_email_idx')
    .on('notifications')
    .columns(['email_status', 'created_at'])
    .execute();

  await db.schema
    .createTable('notification_preferences')
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('frequency', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('notification_preferences_pkey', ['user_id', 'kind'])
    .execute();

  // Search over discussions, beside the content search: FTS5 on SQLite, a tsvector on PostgreSQL.
  if (isPostgres(db)) {
    await sql`
      create table discussion_search (
        thread_id text primary key references discussion_threads(id) on delete cascade,
        title text not null,
        body text not null,
        document tsvector generated always as (
          setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
        ) stored
      )`.execute(db);
    await sql`create index discussion_search_document_idx on discussion_search using gin (document)`.execute(
      db,
    );
  } else {
    await sql`
      create virtual table discussion_search using fts5(
        thread_id unindexed, title, body, tokenize = 'porter unicode61 remove_diacritics 2'
      )`.execute(db);
  }
}
