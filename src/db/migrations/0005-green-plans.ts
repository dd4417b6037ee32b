import { sql, type Kysely } from 'kysely';
import { addIdentityColumn, isPostgres } from './helpers.ts';

/**
 * Green Plans: plans owned by an ICB or a trust, their areas of focus, nested actions with
 * milestones, progress updates with evidence and links, action comments, the history of every
 * change, KPIs with targets and data points, and spreadsheet imports.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('green_plans')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('slug', 'text', (column) => column.notNull().unique())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('owner_organisation_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addColumn('period_start', 'text', (column) => column.notNull())
    .addColumn('period_end', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('is_example', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('created_by', 'text', (column) => column.references('users.id'))
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('green_plans_owner_idx')
    .on('green_plans')
    .column('owner_organisation_code')
    .execute();

  await db.schema
    .createTable('green_plan_areas')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('plan_id', 'text', (column) =>
      column.notNull().references('green_plans.id').onDelete('cascade'),
    )
    .addColumn('slug', 'text', (column) => column.notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('description', 'text')
    /** The national area's slug, or null for an area the plan added itself. */
    .addColumn('national_slug', 'text')
    .addColumn('position', 'integer', (column) => column.notNull())
    .addUniqueConstraint('green_plan_areas_plan_slug_key', ['plan_id', 'slug'])
    .execute();

  await db.schema
    .createTable('green_plan_actions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('plan_id', 'text', (column) =>
      column.notNull().references('green_plans.id').onDelete('cascade'),
    )
    .addColumn('reference', 'text', (column) => column.notNull())
    .addColumn('parent_id', 'text', (column) => column.references('green_plan_actions.id'))
    .addColumn('area_id', 'text', (column) => column.notNull().references('green_plan_areas.id'))
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('lead_organisation_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addColumn('owner_user_id', 'text', (column) => column.references('users.id'))
    .addColumn('start_date', 'text')
    .addColumn('due_date', 'text')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('progress_percent', 'integer', (column) => column.notNull())
    .addColumn('weight', 'double precision', (column) => column.notNull())
    .addColumn('position', 'integer', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('green_plan_actions_plan_reference_key', ['plan_id', 'reference'])
    .execute();
  await db.schema
    .createIndex('green_plan_actions_parent_idx')
    .on('green_plan_actions')
    .column('parent_id')
    .execute();
  await db.schema
    .createIndex('green_plan_actions_owner_idx')
    .on('green_plan_actions')
    .column('owner_user_id')
    .execute();

  await db.schema
    .createTable('green_plan_action_partners')
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addColumn('organisation_code', 'text', (column) =>
      column.notNull().references('organisations.code'),
    )
    .addPrimaryKeyConstraint('green_plan_action_partners_pkey', ['action_id', 'organisation_code'])
    .execute();

  await db.schema
    .createTable('green_plan_milestones')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('due_date', 'text', (column) => column.notNull())
    .addColumn('done_on', 'text')
    .addColumn('position', 'integer', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('green_plan_milestones_action_idx')
    .on('green_plan_milestones')
    .column('action_id')
    .execute();

  await db.schema
    .createTable('green_plan_updates')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addColumn('author_user_id', 'text', (column) => column.references('users.id'))
    .addColumn('update_date', 'text', (column) => column.notNull())
    .addColumn('narrative', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('progress_percent', 'integer', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('green_plan_updates_action_idx')
    .on('green_plan_updates')
    .columns(['action_id', 'update_date'])
    .execute();

  await db.schema
    .createTable('green_plan_update_files')
    .addColumn('update_id', 'text', (column) =>
      column.notNull().references('green_plan_updates.id').onDelete('cascade'),
    )
    .addColumn('file_id', 'text', (column) => column.notNull().references('stored_files.id'))
    .addColumn('position', 'integer', (column) => column.notNull())
    .addPrimaryKeyConstraint('green_plan_update_files_pkey', ['update_id', 'file_id'])
    .execute();

  await db.schema
    .createTable('green_plan_update_links')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('update_id', 'text', (column) =>
      column.notNull().references('green_plan_updates.id').onDelete('cascade'),
    )
    .addColumn('url', 'text', (column) => column.notNull())
    .addColumn('title', 'text', (column) => column.notNull())
    .addColumn('position', 'integer', (column) => column.notNull())
    .execute();

  // Who changed what on an action, and when. Append-only, like the audit log.
  await addIdentityColumn(db.schema.createTable('green_plan_action_changes'), db, 'id')
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addColumn('changed_by', 'text', (column) => column.references('users.id'))
    .addColumn('recorded_at', 'text', (column) => column.notNull())
    /** The date the change takes effect: an update's own date, otherwise the day it was made. */
    .addColumn('effective_on', 'text', (column) => column.notNull())
    /** created | edited | progress_update | imported | milestone_added | milestone_done */
    .addColumn('kind', 'text', (column) => column.notNull())
    /** JSON array of { field, from, to }. */
    .addColumn('changes', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('green_plan_action_changes_action_idx')
    .on('green_plan_action_changes')
    .columns(['action_id', 'effective_on'])
    .execute();
  if (isPostgres(db)) {
    await sql`
      create function green_plan_action_changes_append_only() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and not exists (select 1 from green_plan_actions where id = old.action_id) then
          return old;
        end if;
        raise exception 'green_plan_action_changes is append-only';
      end;
      $$`.execute(db);
    await sql`
      create trigger green_plan_action_changes_no_change before update or delete on green_plan_action_changes
      for each row execute function green_plan_action_changes_append_only()`.execute(db);
  } else {
    await sql`
      create trigger green_plan_action_changes_no_update before update on green_plan_action_changes
      begin select raise(abort, 'green_plan_action_changes is append-only'); end`.execute(db);
    await sql`
      create trigger green_plan_action_changes_no_delete before delete on green_plan_action_changes
      when exists (select 1 from green_plan_actions where id = old.action_id)
      begin select raise(abort, 'green_plan_action_changes is append-only'); end`.execute(db);
  }

  // Plain comments on actions. A shared comment module may later take these over: each row names
  // its subject (the action), its author and its times, and nothing else is stored elsewhere.
  await db.schema
    .createTable('action_comments')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addColumn('author_user_id', 'text', (column) => column.references('users.id'))
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('edited_at', 'text')
    .addColumn('deleted_at', 'text')
    .execute();
  await db.schema
    .createIndex('action_comments_action_idx')
    .on('action_comments')
    .columns(['action_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('green_plan_kpis')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('plan_id', 'text', (column) =>
      column.notNull().references('green_plans.id').onDelete('cascade'),
    )
    .addColumn('reference', 'text', (column) => column.notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('unit', 'text', (column) => column.notNull())
    /** decrease or increase: which way is better. */
    .addColumn('direction', 'text', (column) => column.notNull())
    .addColumn('baseline_value', 'double precision', (column) => column.notNull())
    .addColumn('baseline_date', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('green_plan_kpis_plan_reference_key', ['plan_id', 'reference'])
    .execute();

  await db.schema
    .createTable('green_plan_kpi_targets')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('kpi_id', 'text', (column) =>
      column.notNull().references('green_plan_kpis.id').onDelete('cascade'),
    )
    .addColumn('target_date', 'text', (column) => column.notNull())
    .addColumn('target_value', 'double precision', (column) => column.notNull())
    .addColumn('label', 'text')
    .addUniqueConstraint('green_plan_kpi_targets_kpi_date_key', ['kpi_id', 'target_date'])
    .execute();

  await db.schema
    .createTable('green_plan_kpi_data_points')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('kpi_id', 'text', (column) =>
      column.notNull().references('green_plan_kpis.id').onDelete('cascade'),
    )
    .addColumn('observed_on', 'text', (column) => column.notNull())
    .addColumn('value', 'double precision', (column) => column.notNull())
    /** manual, or the module that supplied the value. */
    .addColumn('source', 'text', (column) => column.notNull())
    .addColumn('note', 'text')
    .addColumn('recorded_by', 'text', (column) => column.references('users.id'))
    .addColumn('recorded_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('green_plan_kpi_data_points_key', ['kpi_id', 'observed_on', 'source'])
    .execute();

  await db.schema
    .createTable('green_plan_kpi_actions')
    .addColumn('kpi_id', 'text', (column) =>
      column.notNull().references('green_plan_kpis.id').onDelete('cascade'),
    )
    .addColumn('action_id', 'text', (column) =>
      column.notNull().references('green_plan_actions.id').onDelete('cascade'),
    )
    .addPrimaryKeyConstraint('green_plan_kpi_actions_pkey', ['kpi_id', 'action_id'])
    .execute();

  await db.schema
    .createTable('green_plan_imports')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('plan_id', 'text', (column) =>
      column.notNull().references('green_plans.id').onDelete('cascade'),
    )
    .addColumn('file_id', 'text', (column) => column.references('stored_files.id'))
    .addColumn('file_name', 'text', (column) => column.notNull())
    .addColumn('uploaded_by', 'text', (column) => column.references('users.id'))
    .addColumn('uploaded_at', 'text', (column) => column.notNull())
    /** invalid | ready | committed */
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('row_count', 'integer', (column) => column.notNull())
    /** JSON: counts of rows to create, change and leave, or the problems found. */
    .addColumn('summary', 'text', (column) => column.notNull())
    .addColumn('committed_at', 'text')
    .execute();
}
