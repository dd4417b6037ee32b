import { sql, type Kysely } from 'kysely';

/**
 * Steps of setting up a database that must be finished once, and are known to be finished only
 * when recorded here: `start` on a new database loads the reference data and then the content
 * seeds, and a first start stopped between the two (Ctrl-C, a failed seed) must carry on at the
 * next start rather than take the organisations as proof that everything was loaded. A database
 * set up before this table existed and holding organisations was seeded then, so its seeding is
 * recorded as done: running it again would bring back example content deliberately deleted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('setup_steps')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('completed_at', 'text', (column) => column.notNull())
    .execute();
  await sql`
    INSERT INTO setup_steps (name, completed_at)
    SELECT 'content-seeds', ${new Date().toISOString()}
    WHERE EXISTS (SELECT 1 FROM organisations)`.execute(db);
}
