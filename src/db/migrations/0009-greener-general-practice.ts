import { sql, type Kysely } from 'kysely';
import { addIdentityColumn, isPostgres } from './helpers.ts';

/**
 * The Greener General Practice programme: framework versions by programme year, each practice's
 * self-assessment (answers, evidence files), submissions for an award with the verifier's comments
 * per action, awards, and an append-only log of assessment events for progress over time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ggp_framework_versions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('programme_year', 'text', (column) => column.notNull())
    .addColumn('version', 'integer', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    /** The framework as its file: the JSON the parser reads, written by serialiseFramework. */
    .addColumn('content', 'text', (column) => column.notNull())
    .addColumn('sha256', 'text', (column) => column.notNull())
    /** seed | upload | edit */
    .addColumn('source', 'text', (column) => column.notNull())
    .addColumn('note', 'text')
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('ggp_framework_versions_year_version_key', ['programme_year', 'version'])
    .execute();

  await db.schema
    .createTable('ggp_assessments')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('practice_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addColumn('programme_year', 'text', (column) => column.notNull())
    /** in_progress | submitted | returned | awarded */
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('is_example', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('ggp_assessments_practice_year_key', ['practice_code', 'programme_year'])
    .execute();
  await db.schema
    .createIndex('ggp_assessments_year_idx')
    .on('ggp_assessments')
    .columns(['programme_year', 'status'])
    .execute();

  await db.schema
    .createTable('ggp_responses')
    .addColumn('assessment_id', 'text', (column) =>
      column.notNull().references('ggp_assessments.id').onDelete('cascade'),
    )
    .addColumn('action_code', 'text', (column) => column.notNull())
    /** not_started | in_progress | done | not_applicable */
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('note', 'text', (column) => column.notNull())
    .addColumn('not_applicable_reason', 'text', (column) => column.notNull())
    .addColumn('updated_by', 'text', (column) => column.references('users.id'))
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('ggp_responses_pkey', ['assessment_id', 'action_code'])
    .execute();

  await db.schema
    .createTable('ggp_evidence_files')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('assessment_id', 'text', (column) =>
      column.notNull().references('ggp_assessments.id').onDelete('cascade'),
    )
    .addColumn('action_code', 'text', (column) => column.notNull())
    .addColumn('file_id', 'text', (column) => column.notNull().references('stored_files.id'))
    .addColumn('added_by', 'text', (column) => column.references('users.id'))
    .addColumn('added_at', 'text', (column) => column.notNull())
    /** Set when the champion removes it; kept, because a past submission may cite it. */
    .addColumn('removed_at', 'text')
    .execute();
  await db.schema
    .createIndex('ggp_evidence_files_assessment_idx')
    .on('ggp_evidence_files')
    .columns(['assessment_id', 'action_code'])
    .execute();

  await db.schema
    .createTable('ggp_submissions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('assessment_id', 'text', (column) =>
      column.notNull().references('ggp_assessments.id').onDelete('cascade'),
    )
    .addColumn('framework_version_id', 'text', (column) =>
      column.notNull().references('ggp_framework_versions.id'),
    )
    .addColumn('level', 'text', (column) => column.notNull())
    .addColumn('points', 'integer', (column) => column.notNull())
    /** JSON: every answer and evidence file as submitted, which the verifier reviews. */
    .addColumn('snapshot', 'text', (column) => column.notNull())
    .addColumn('submitted_by', 'text', (column) => column.references('users.id'))
    .addColumn('submitted_at', 'text', (column) => column.notNull())
    /** pending | returned | approved */
    .addColumn('outcome', 'text', (column) => column.notNull())
    .addColumn('decided_by', 'text', (column) => column.references('users.id'))
    .addColumn('decided_at', 'text')
    .addColumn('decision_note', 'text')
    .execute();
  await db.schema
    .createIndex('ggp_submissions_assessment_idx')
    .on('ggp_submissions')
    .columns(['assessment_id', 'submitted_at'])
    .execute();
  await db.schema
    .createIndex('ggp_submissions_outcome_idx')
    .on('ggp_submissions')
    .column('outcome')
    .execute();

  await db.schema
    .createTable('ggp_review_comments')
    .addColumn('submission_id', 'text', (column) =>
      column.notNull().references('ggp_submissions.id').onDelete('cascade'),
    )
    .addColumn('action_code', 'text', (column) => column.notNull())
    .addColumn('comment', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('ggp_review_comments_pkey', ['submission_id', 'action_code'])
    .execute();

  await db.schema
    .createTable('ggp_awards')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('assessment_id', 'text', (column) =>
      column.notNull().references('ggp_assessments.id').onDelete('cascade'),
    )
    .addColumn('practice_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addColumn('programme_year', 'text', (column) => column.notNull())
    .addColumn('level', 'text', (column) => column.notNull())
    .addColumn('points', 'integer', (column) => column.notNull())
    .addColumn('submission_id', 'text', (column) => column.references('ggp_submissions.id'))
    .addColumn('framework_version_id', 'text', (column) =>
      column.notNull().references('ggp_framework_versions.id'),
    )
    .addColumn('approved_by', 'text', (column) => column.references('users.id'))
    .addColumn('awarded_at', 'text', (column) => column.notNull())
    .addColumn('is_example', 'integer', (column) => column.notNull().defaultTo(0))
    .addUniqueConstraint('ggp_awards_practice_year_level_key', [
      'practice_code',
      'programme_year',
      'level',
    ])
    .execute();

  // What happened to each assessment and when, with its points and level afterwards: progress
  // over time is replayed from these. Append-only, like the audit log.
  await addIdentityColumn(db.schema.createTable('ggp_events'), db, 'id')
    .addColumn('assessment_id', 'text', (column) =>
      column.notNull().references('ggp_assessments.id').onDelete('cascade'),
    )
    .addColumn('practice_code', 'text', (column) => column.notNull())
    .addColumn('programme_year', 'text', (column) => column.notNull())
    /** started | answered | submitted | returned | approved | reopened */
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('action_code', 'text')
    .addColumn('points', 'integer', (column) => column.notNull())
    .addColumn('level', 'text')
    .addColumn('user_id', 'text', (column) => column.references('users.id'))
    .addColumn('occurred_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('ggp_events_year_idx')
    .on('ggp_events')
    .columns(['programme_year', 'occurred_at'])
    .execute();
  if (isPostgres(db)) {
    await sql`
      create function ggp_events_append_only() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and not exists (select 1 from ggp_assessments where id = old.assessment_id) then
          return old;
        end if;
        raise exception 'ggp_events is append-only';
      end;
      $$`.execute(db);
    await sql`
      create trigger ggp_events_no_change before update or delete on ggp_events
      for each row execute function ggp_events_append_only()`.execute(db);
  } else {
    await sql`
      create trigger ggp_events_no_update before update on ggp_events
      begin select raise(abort, 'ggp_events is append-only'); end`.execute(db);
    await sql`
      create trigger ggp_events_no_delete before delete on ggp_events
      when exists (select 1 from ggp_assessments where id = old.assessment_id)
      begin select raise(abort, 'ggp_events is append-only'); end`.execute(db);
  }
}
