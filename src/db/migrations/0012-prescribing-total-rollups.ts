import { sql, type Kysely } from 'kysely';

/**
 * Roll-ups of the total measure `inhaler-kgco2e` were stored with the sum of their practices'
 * denominators (1 each), so a PCN's, ICB's or England's value was its total divided by its number
 * of practices. A total keeps the denominator 1 at every level; this corrects the rows already
 * imported, so that no month has to be imported again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update epd_measure_rollups set denominator = 1, value = numerator
    where measure_id = 'inhaler-kgco2e'`.execute(db);
}
