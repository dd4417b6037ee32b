import type { Kysely } from 'kysely';
import type { Database } from './db/schema.ts';

/** The steps of setting up a database that are recorded once finished. */
export type SetupStep = 'content-seeds';

/** Which set-up steps a database has finished (table `setup_steps`, migration 0018). */
export function createSetupSteps(db: Kysely<Database>, now: () => Date = () => new Date()) {
  return {
    async isDone(step: SetupStep): Promise<boolean> {
      const row = await db
        .selectFrom('setup_steps')
        .select('name')
        .where('name', '=', step)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Records a step as finished; finishing it again keeps the first time. */
    async markDone(step: SetupStep): Promise<void> {
      await db
        .insertInto('setup_steps')
        .values({ name: step, completed_at: now().toISOString() })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .execute();
    },
  };
}
