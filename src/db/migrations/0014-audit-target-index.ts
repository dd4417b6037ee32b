import type { Kysely } from 'kysely';

/**
 * The audit log is read by target as well as by time: a Green Plan action that was deleted is
 * known afterwards only by its deletion record, looked up by the action's id whenever its address
 * is visited, and an import's file is named only in its record. Without this index each lookup
 * reads the whole log, which only grows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('audit_events_target_idx')
    .on('audit_events')
    .columns(['target_type', 'target_id'])
    .execute();
}
