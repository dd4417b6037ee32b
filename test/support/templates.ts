import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { connectDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createOrganisationRepository } from '../../src/modules/organisations/organisation.repository.ts';
import { createOrganisationService } from '../../src/modules/organisations/organisation.service.ts';
import { loadConfig } from '../../src/config.ts';
import { runContentSeeds } from '../../src/seeds.ts';
import { createServices } from '../../src/services.ts';

export interface DatabaseTemplates {
  sqliteFile: string;
  /** Name of the PostgreSQL template database, when TEST_DATABASE_URL is set. */
  postgresTemplate?: string;
}

const projectRoot = path.resolve(import.meta.dirname, '..', '..');
export const referenceDataDir = path.join(projectRoot, 'data', 'reference');

/**
 * Changes whenever the source code or a reference file changes: migrations, reference data and the
 * seeds (and the services they go through) decide what a template holds, so a stale one is never used.
 */
function templateFingerprint(): string {
  const hash = createHash('sha256');
  const sources = listFiles(path.join(projectRoot, 'src')).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'),
  );
  for (const file of [...sources, ...listFiles(referenceDataDir)]) {
    hash.update(path.relative(projectRoot, file));
    hash.update(fs.readFileSync(file));
  }
  return hash.digest('hex').slice(0, 12);
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full) : [full];
    })
    .sort();
}

/** As `greenspace seed` does: migrations, reference data, then the example-content seeds. */
async function migrateAndSeed(handle: DatabaseHandle): Promise<void> {
  await migrateToLatest(handle);
  await createOrganisationService(createOrganisationRepository(handle.db)).loadReferenceData(
    referenceDataDir,
  );
  const services = createServices(handle, {
    ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    database:
      handle.dialect === 'sqlite'
        ? { kind: 'sqlite', filename: '' }
        : { kind: 'postgres', connectionString: '' },
  });
  await runContentSeeds(services, () => {});
  await services.email.stopWorker();
}

export async function prepareTemplates(): Promise<DatabaseTemplates> {
  const fingerprint = templateFingerprint();
  const templateDir = path.join(os.tmpdir(), 'greenspace-test-templates');
  fs.mkdirSync(templateDir, { recursive: true });
  const sqliteFile = path.join(templateDir, `template-${fingerprint}.sqlite`);
  if (!fs.existsSync(sqliteFile)) {
    const building = `${sqliteFile}.${process.pid}.tmp`;
    const handle = await connectDatabase({ kind: 'sqlite', filename: building });
    await migrateAndSeed(handle);
    // Fold the write-ahead log into the main file so a plain file copy is a complete database.
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(handle.db);
    await handle.close();
    fs.renameSync(building, sqliteFile);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${building}${suffix}`, { force: true });
  }

  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { sqliteFile };

  const postgresTemplate = `gs_template_${fingerprint}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Test runs from other checkouts (other fingerprints) may be using their templates right now,
    // so only templates unused for a day are removed; each run marks its own as used.
    const existing = await admin.query<{ datname: string; used: string | null }>(
      `select datname, shobj_description(oid, 'pg_database') as used
       from pg_database where datname like 'gs\\_template\\_%'`,
    );
    const staleBefore = Date.now() - 24 * 3_600_000;
    for (const { datname, used } of existing.rows) {
      const usedAt = used ? Date.parse(used) : Number.NaN;
      const stale = Number.isNaN(usedAt) || usedAt < staleBefore;
      if (datname !== postgresTemplate && stale)
        await admin.query(`drop database if exists "${datname}" with (force)`);
    }
    if (!existing.rows.some((row) => row.datname === postgresTemplate)) {
      const building = `${postgresTemplate}_building_${process.pid}`;
      await admin.query(`drop database if exists "${building}" with (force)`);
      await admin.query(`create database "${building}"`);
      const handle = await connectDatabase({
        kind: 'postgres',
        connectionString: withDatabase(adminUrl, building),
      });
      await migrateAndSeed(handle);
      await handle.close();
      try {
        await admin.query(`alter database "${building}" rename to "${postgresTemplate}"`);
      } catch (error) {
        // Another run built the same template meanwhile: use theirs.
        await admin.query(`drop database if exists "${building}" with (force)`);
        const again = await admin.query(`select 1 from pg_database where datname = $1`, [
          postgresTemplate,
        ]);
        if (again.rowCount === 0) throw error;
      }
    }
    await admin.query(`comment on database "${postgresTemplate}" is '${new Date().toISOString()}'`);
  } finally {
    await admin.end();
  }
  return { sqliteFile, postgresTemplate };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
