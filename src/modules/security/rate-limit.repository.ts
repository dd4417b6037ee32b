import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** Counters live in the database so that every app instance shares them. */
export function createRateLimitRepository(db: Kysely<Database>) {
  return {
    /** Adds one hit to a bucket's window and returns the new count, atomically. */
    async increment(bucketKey: string, windowStart: string): Promise<number> {
      const row = await db
        .insertInto('rate_limit_counters')
        .values({ bucket_key: bucketKey, window_start: windowStart, hits: 1 })
        .onConflict((conflict) =>
          conflict
            .columns(['bucket_key', 'window_start'])
            .doUpdateSet({ hits: sql`rate_limit_counters.hits + 1` }),
        )
        .returning('hits')
        .executeTakeFirstOrThrow();
      return Number(row.hits);
    },

    async count(bucketKey: string, windowStart: string): Promise<number> {
      const row = await db
        .selectFrom('rate_limit_counters')
        .select('hits')
        .where('bucket_key', '=', bucketKey)
        .where('window_start', '=', windowStart)
        .executeTakeFirst();
      return row ? Number(row.hits) : 0;
    },

    async deleteOlderThan(windowStart: string): Promise<void> {
      await db.deleteFrom('rate_limit_counters').where('window_start', '<', windowStart).execute();
    },
  };
}

export type RateLimitRepository = ReturnType<typeof createRateLimitRepository>;
