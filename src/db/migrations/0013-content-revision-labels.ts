import type { Kysely } from 'kysely';

/**
 * A content revision records the areas of focus, organisations and tags the item had, as JSON
 * (`{"areas":[…],"organisations":[{"code","name"}],"tags":[…]}`), so that comparing two revisions
 * shows changes to them as well as to the text. Revisions saved before this have none (null).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('content_revisions').addColumn('labels', 'text').execute();
}
