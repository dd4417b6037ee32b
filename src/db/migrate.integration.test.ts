import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../test/support/test-database.ts';
import { findPendingMigrations, migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';

describe.each(testDialects)('migrations on %s', (dialect) => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await database?.destroy();
    database = undefined;
  });

  it('bring an empty database up to date once, and then have nothing left to do', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    expect(await findPendingMigrations(database.handle)).toEqual(Object.keys(migrations));

    const firstRun = await migrateToLatest(database.handle);
    expect(firstRun).toEqual(Object.keys(migrations));
    expect(await findPendingMigrations(database.handle)).toEqual([]);
    expect(await migrateToLatest(database.handle)).toEqual([]);

    const tables = await database.handle.db.introspection.getTables();
    const names = tables.map((table) => table.name);
    expect(names).toEqual(
      expect.arrayContaining(['organisations', 'practice_profiles', 'reference_datasets']),
    );
  });

  it('enforce foreign keys, so a practice profile cannot point at a missing organisation', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    await migrateToLatest(database.handle);
    await expect(
      database.handle.db
        .insertInto('practice_profiles')
        .values({ practice_code: 'X99999', updated_at: new Date().toISOString() })
        .execute(),
    ).rejects.toThrow(/foreign key/i);
  });
});

describe('the embedded SQLite database', () => {
  it('uses WAL, a busy timeout and foreign keys', async () => {
    const database = await createTestDatabase('sqlite', { contents: 'empty' });
    const { db } = database.handle;
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
    const foreignKeys = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    expect(busy.rows[0]?.timeout).toBeGreaterThanOrEqual(5000);
    expect(foreignKeys.rows[0]?.foreign_keys).toBe(1);
    await database.destroy();
  });
});
