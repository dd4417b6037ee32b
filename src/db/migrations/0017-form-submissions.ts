import type { Kysely } from 'kysely';

/**
 * What a form sent once has already done. A form that posts (a new discussion, a reply, a
 * comment) carries a key made when the page was drawn; the first request with that key, from that
 * person and with that content, records where its result lives, and a second one (a double click
 * in a browser without JavaScript, or a resent page) is shown that result instead of posting and
 * telling everyone again. The key is part of the primary key, so of two requests arriving together
 * the database lets only one record it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('form_submissions')
    .addColumn('user_id', 'text', (column) =>
      column.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('submission_key', 'text', (column) => column.notNull())
    .addColumn('content_hash', 'text', (column) => column.notNull())
    .addColumn('result_link', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('form_submissions_pkey', ['user_id', 'submission_key', 'content_hash'])
    .execute();
  await db.schema
    .createIndex('form_submissions_created_at_idx')
    .on('form_submissions')
    .column('created_at')
    .execute();
}
