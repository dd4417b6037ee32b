import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { up } from '../../db/migrations/0012-prescribing-total-rollups.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';

describe.each(testDialects)('correcting stored roll-ups of the total measure on %s', (dialect) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });

  afterAll(async () => {
    await database?.destroy();
  });

  it('makes an imported group total its practices instead of averaging them', async () => {
    const db = database.handle.db;
    const row = { month: '2017-09', level: 'national', code: 'ENG', name: 'England', practices: 4 };
    // As imports before the correction stored them: four practices' denominators of 1 summed.
    await db
      .insertInto('epd_measure_rollups')
      .values([
        { ...row, measure_id: 'inhaler-kgco2e', numerator: 400, denominator: 4, value: 100 },
        {
          ...row,
          measure_id: 'low-carbon-inhaler-share',
          numerator: 30,
          denominator: 120,
          value: 25,
        },
      ])
      .execute();
    await up(db as never);
    const rows = await db
      .selectFrom('epd_measure_rollups')
      .select(['measure_id', 'numerator', 'denominator', 'value'])
      .where('month', '=', '2017-09')
      .orderBy('measure_id')
      .execute();
    expect(rows.map((stored) => ({ ...stored, denominator: Number(stored.denominator) }))).toEqual([
      { measure_id: 'inhaler-kgco2e', numerator: 400, denominator: 1, value: 400 },
      { measure_id: 'low-carbon-inhaler-share', numerator: 30, denominator: 120, value: 25 },
    ]);
  });
});
