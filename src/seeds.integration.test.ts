import { Migrator } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { migrateToLatest } from './db/migrate.ts';
import { migrations } from './db/migrations/index.ts';
import { prepareNewDatabase, type ContentSeed } from './seeds.ts';
import { createServices } from './services.ts';
import { createSetupSteps } from './setup-steps.ts';
import { referenceDataDir } from '../test/support/templates.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../test/support/test-database.ts';

/**
 * `greenspace start` on a new database loads the reference data, then the content seeds: a first
 * start stopped between the two must carry on at the next, and a finished one must not run the
 * seeds again at every start.
 */
describe.each(testDialects)('preparing a new database on %s', (dialect) => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await database?.destroy();
    database = undefined;
  });

  function servicesOn(handle: TestDatabase) {
    return createServices(handle.handle, {
      ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
      database: handle.config,
      referenceDataDir,
    });
  }

  it('runs the content seeds again after a first start that stopped before they finished, and only until they have', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    await migrateToLatest(database.handle);
    const services = servicesOn(database);
    const steps = createSetupSteps(database.handle.db);
    const broken: ContentSeed = {
      name: 'A seed that fails',
      run: async () => {
        throw new Error('the framework file could not be read');
      },
    };
    let runs = 0;
    const counting: ContentSeed = {
      name: 'A seed that counts',
      run: async () => {
        runs += 1;
        return { created: 1, unchanged: 0 };
      },
    };
    const lines: string[] = [];
    await expect(
      prepareNewDatabase(services, (line) => lines.push(line), [broken]),
    ).rejects.toThrow('the framework file could not be read');
    // The organisations were loaded, and the seeding is not taken as done.
    expect(await services.organisations.isEmpty()).toBe(false);
    expect(lines[0]).toMatch(/^reference data loaded into the new database: \d+ organisations$/);
    expect(await steps.isDone('content-seeds')).toBe(false);

    await prepareNewDatabase(services, (line) => lines.push(line), [counting]);
    expect(runs).toBe(1);
    expect(await steps.isDone('content-seeds')).toBe(true);
    expect(lines.at(-1)).toBe('A seed that counts: 1 created, 0 unchanged.');
    // Finished: later starts leave the content alone.
    await prepareNewDatabase(services, () => {}, [counting]);
    expect(runs).toBe(1);
  });

  it('takes a database that held organisations before set-up steps were recorded as seeded', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    const migrator = new Migrator({
      db: database.handle.db,
      provider: { getMigrations: async () => migrations },
    });
    const before = await migrator.migrateTo('0017-form-submissions');
    expect(before.error).toBeUndefined();
    await servicesOn(database).organisations.loadReferenceData(referenceDataDir);
    await migrateToLatest(database.handle);
    expect(await createSetupSteps(database.handle.db).isDone('content-seeds')).toBe(true);

    // A database with no organisations yet has not been seeded.
    const fresh = await createTestDatabase(dialect, { contents: 'empty' });
    try {
      await migrateToLatest(fresh.handle);
      expect(await createSetupSteps(fresh.handle.db).isDone('content-seeds')).toBe(false);
    } finally {
      await fresh.destroy();
    }
  });
});
