import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { DatabaseConfig } from '../../src/config.ts';
import { connectDatabase, type DatabaseHandle, type Dialect } from '../../src/db/database.ts';
import { withDatabase } from './templates.ts';

/** The databases every data-layer and HTTP test runs on: SQLite always, PostgreSQL when configured. */
export const testDialects: Dialect[] = process.env.TEST_DATABASE_URL
  ? ['sqlite', 'postgres']
  : ['sqlite'];

export interface TestDatabase {
  handle: DatabaseHandle;
  config: DatabaseConfig;
  /** Closes the connection and deletes the database. */
  destroy(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** `seeded` (default) copies the migrated and seeded template; `empty` is a brand new database. */
  contents?: 'seeded' | 'empty';
}

/** A private database for one test file: nothing it does can be seen by any other test. */
export async function createTestDatabase(
  dialect: Dialect,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  const contents = options.contents ?? 'seeded';
  const name = `gs_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-test-'));
    const filename = path.join(dir, `${name}.sqlite`);
    if (contents === 'seeded') fs.copyFileSync(inject('databaseTemplates').sqliteFile, filename);
    const config: DatabaseConfig = { kind: 'sqlite', filename };
    const handle = await connectDatabase(config);
    return {
      handle,
      config,
      async destroy() {
        await handle.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  const adminUrl = process.env.TEST_DATABASE_URL;
  const template = inject('databaseTemplates').postgresTemplate;
  if (!adminUrl || !template) throw new Error('PostgreSQL tests need TEST_DATABASE_URL');
  await adminQuery(
    adminUrl,
    `create database "${name}" template "${contents === 'seeded' ? template : 'template0'}"`,
  );
  const config: DatabaseConfig = {
    kind: 'postgres',
    connectionString: withDatabase(adminUrl, name),
  };
  const handle = await connectDatabase(config);
  return {
    handle,
    config,
    async destroy() {
      await handle.close();
      await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}

/** Runs one statement on the PostgreSQL maintenance database named by TEST_DATABASE_URL. */
export async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
