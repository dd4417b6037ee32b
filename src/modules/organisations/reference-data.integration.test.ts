import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../db/migrate.ts';
import { InputFileError } from '../../lib/csv.ts';
import { referenceDataDir } from '../../../test/support/templates.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';
import { createOrganisationRepository } from './organisation.repository.ts';
import { createOrganisationService, type OrganisationService } from './organisation.service.ts';

/** A private copy of the shipped reference data that a test may edit. */
function copyReferenceData(): {
  dir: string;
  edit: (file: string, change: (text: string) => string) => void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-reference-'));
  fs.cpSync(referenceDataDir, dir, { recursive: true });
  return {
    dir,
    edit(file, change) {
      const full = path.join(dir, file);
      fs.writeFileSync(full, change(fs.readFileSync(full, 'utf8')));
    },
  };
}

/** Everything stored, in a stable order, to prove that a failed load changed nothing. */
async function snapshot(database: TestDatabase) {
  const { db } = database.handle;
  return {
    organisations: await db.selectFrom('organisations').selectAll().orderBy('code').execute(),
    profiles: await db
      .selectFrom('practice_profiles')
      .selectAll()
      .orderBy('practice_code')
      .execute(),
    datasets: await db
      .selectFrom('reference_datasets')
      .selectAll()
      .orderBy('dataset_key')
      .execute(),
  };
}

describe.each(testDialects)('loading reference data on %s', (dialect) => {
  let database: TestDatabase;
  let service: OrganisationService;
  let clock: Date;
  const copies: string[] = [];

  beforeEach(async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    await migrateToLatest(database.handle);
    clock = new Date('2026-11-01T09:00:00.000Z');
    service = createOrganisationService(createOrganisationRepository(database.handle.db), {
      now: () => clock,
    });
  });

  afterEach(async () => {
    await database.destroy();
    for (const dir of copies.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function editableCopy() {
    const copy = copyReferenceData();
    copies.push(copy.dir);
    return copy;
  }

  it('loads the Midlands region, its ICBs and the LLR organisations into an empty database', async () => {
    expect(await service.isEmpty()).toBe(true);
    const summary = await service.loadReferenceData(referenceDataDir);
    expect(summary.organisations).toEqual({
      inserted: 1 + 11 + 3 + 3 + 10 + 25 + 128,
      updated: 0,
      retired: 0,
      unchanged: 0,
    });
    expect(await service.isEmpty()).toBe(false);

    const { db } = database.handle;
    const counts = await db
      .selectFrom('organisations')
      .select(['org_type', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('org_type')
      .orderBy('org_type')
      .execute();
    expect(Object.fromEntries(counts.map((row) => [row.org_type, Number(row.count)]))).toEqual({
      gp_practice: 128,
      icb: 11,
      local_authority: 10,
      nhs_trust: 3,
      pcn: 25,
      region: 1,
      sub_icb_location: 3,
    });
    const totals = await service.getPracticeTotals('QK1');
    // 127 of the 128 practices have a published list size (Y05412 has none); the total is the sum
    // of NUMBER_OF_PATIENTS in llr_gp_list_sizes_2026-04.csv.
    expect(totals).toEqual({
      practices: 128,
      practicesWithListSize: 127,
      registeredPatients: 1_232_169,
      listSizeDate: '2026-04-01',
    });
    const datasets = await service.listReferenceDatasets();
    expect(datasets).toHaveLength(8);
    expect(datasets.every((dataset) => /^[0-9a-f]{64}$/.test(dataset.sha256))).toBe(true);
  });

  it('changes nothing when run again on the same files', async () => {
    await service.loadReferenceData(referenceDataDir);
    const before = await snapshot(database);
    clock = new Date('2026-11-02T09:00:00.000Z');

    const summary = await service.loadReferenceData(referenceDataDir);

    expect(summary.organisations).toEqual({ inserted: 0, updated: 0, retired: 0, unchanged: 181 });
    expect(summary.practiceProfiles.written).toBe(0);
    expect(summary.datasets.every((dataset) => !dataset.changed)).toBe(true);
    expect(await snapshot(database)).toEqual(before);
  });

  it('updates the rows whose data changed in a file, and only those', async () => {
    await service.loadReferenceData(referenceDataDir);
    const copy = editableCopy();
    copy.edit('organisations/llr_gp_list_sizes_2026-04.csv', (text) =>
      text.replace(',C82001,LE8 0LG,ALL,ALL,25822', ',C82001,LE8 0LG,ALL,ALL,26000'),
    );
    copy.edit('organisations/llr_gp_practices_active.csv', (text) =>
      text.replace('C82002,COUNTESTHORPE HEALTH CENTRE,', 'C82002,COUNTESTHORPE MEDICAL CENTRE,'),
    );
    clock = new Date('2026-11-03T09:00:00.000Z');

    const summary = await service.loadReferenceData(copy.dir);

    expect(summary.organisations.updated).toBe(1);
    expect(summary.practiceProfiles.written).toBe(1);
    const changedDatasets = summary.datasets
      .filter((dataset) => dataset.changed)
      .map((dataset) => dataset.key);
    expect(changedDatasets.sort()).toEqual([
      'organisations/llr_gp_list_sizes_2026-04.csv',
      'organisations/llr_gp_practices_active.csv',
    ]);
    const { db } = database.handle;
    const renamed = await db
      .selectFrom('organisations')
      .selectAll()
      .where('code', '=', 'C82002')
      .executeTakeFirstOrThrow();
    expect(renamed.name).toBe('COUNTESTHORPE MEDICAL CENTRE');
    expect(renamed.updated_at).toBe('2026-11-03T09:00:00.000Z');
    expect(renamed.created_at).toBe('2026-11-01T09:00:00.000Z');
    const untouched = await db
      .selectFrom('organisations')
      .selectAll()
      .where('code', '=', 'C82003')
      .executeTakeFirstOrThrow();
    expect(untouched.updated_at).toBe('2026-11-01T09:00:00.000Z');
    const profile = await db
      .selectFrom('practice_profiles')
      .selectAll()
      .where('practice_code', '=', 'C82001')
      .executeTakeFirstOrThrow();
    expect(profile.registered_patients).toBe(26000);
  });

  it('retires an organisation that a file no longer lists, and brings it back when it returns', async () => {
    await service.loadReferenceData(referenceDataDir);
    const copy = editableCopy();
    copy.edit('organisations/llr_gp_practices_active.csv', (text) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('C82003,'))
        .join('\n'),
    );
    const summary = await service.loadReferenceData(copy.dir);
    expect(summary.organisations.retired).toBe(1);
    expect(await service.getOrganisationPage('C82003')).toBeUndefined();
    expect((await service.getPracticeTotals('QK1')).practices).toBe(127);

    const restored = await service.loadReferenceData(referenceDataDir);
    expect(restored.organisations.updated).toBe(1);
    expect(await service.getOrganisationPage('C82003')).toBeDefined();
  });

  it('refuses a file with a malformed row, naming the file, line and field, and changes nothing', async () => {
    await service.loadReferenceData(referenceDataDir);
    const before = await snapshot(database);
    const copy = editableCopy();
    copy.edit('organisations/llr_gp_list_sizes_2026-04.csv', (text) =>
      text.replace(',C82002,LE8 5QJ,ALL,ALL,10896', ',C82002,LE8 5QJ,ALL,ALL,ten thousand'),
    );
    copy.edit('organisations/llr_gp_list_sizes_2026-04.csv', (text) =>
      text.replace(',C82001,LE8 0LG,ALL,ALL,25822', ',C82001,LE8 0LG,ALL,ALL,30000'),
    );

    const failure = await service.loadReferenceData(copy.dir).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(InputFileError);
    const problems = (failure as InputFileError).problems;
    expect(problems).toEqual([
      {
        file: 'organisations/llr_gp_list_sizes_2026-04.csv',
        line: 3,
        field: 'NUMBER_OF_PATIENTS',
        message: 'must be a whole number of patients (found "ten thousand")',
      },
    ]);
    expect((failure as Error).message).toContain(
      'organisations/llr_gp_list_sizes_2026-04.csv, line 3 field "NUMBER_OF_PATIENTS"',
    );
    expect(await snapshot(database)).toEqual(before);
  });

  it('refuses a row that is not valid CSV, naming the line, and changes nothing', async () => {
    const copy = editableCopy();
    copy.edit('organisations/llr_practice_locations_approx.csv', (text) =>
      text.replace('C82002,LE8,', 'C82002,"LE8,'),
    );
    const failure = await service.loadReferenceData(copy.dir).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputFileError);
    expect((failure as InputFileError).problems[0]).toMatchObject({
      file: 'organisations/llr_practice_locations_approx.csv',
      line: 3,
    });
    expect(await service.isEmpty()).toBe(true);
  });

  it('refuses a missing file by name', async () => {
    const copy = editableCopy();
    fs.rmSync(path.join(copy.dir, 'organisations/llr_practice_pcn_map_2022-01.csv'));
    await expect(service.loadReferenceData(copy.dir)).rejects.toThrow(
      'organisations/llr_practice_pcn_map_2022-01.csv: file not found',
    );
    expect(await service.isEmpty()).toBe(true);
  });
});
