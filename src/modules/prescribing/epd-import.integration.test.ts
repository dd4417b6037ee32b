import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../lib/csv.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';
import { splitCsvFields } from './epd-layout.ts';
import { inspectEpdFile, scanEpdFile, type ScanOptions } from './epd-reader.ts';
import { generateSyntheticEpd } from './epd-synthetic.ts';
import { loadInhalerReference } from './inhaler-reference.ts';
import { createPrescribingRepository } from './prescribing.repository.ts';
import { createPrescribingService, type PrescribingService } from './prescribing.service.ts';

const fixtureDir = path.join(import.meta.dirname, 'test-fixtures');
const fixture = fs.readFileSync(
  path.join(fixtureDir, 'epd_201709_bnf_chapter3_subset.csv'),
  'utf8',
);
const sample2016 = fs.readFileSync(path.join(fixtureDir, 'EPD_201601_fixture_sample.csv'), 'utf8');
const reference = loadInhalerReference();

/** A minimal zip writer (deflate), enough to test the importer's zip support. */
function makeZip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const compressed = zlib.deflateRawSync(entry.data);
    const name = Buffer.from(entry.name);
    const crc = zlib.crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

async function problemsOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InputFileError);
    return (error as InputFileError).problems;
  }
  throw new Error('expected the import to fail');
}

describe.each(testDialects)('EPD import on %s', (dialect) => {
  let database: TestDatabase;
  let service: PrescribingService;
  let workDir: string;
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(workDir, name);
    fs.writeFileSync(file, content);
    return file;
  };
  const snapshot = async () => {
    const db = database.handle.db;
    const lines = await db
      .selectFrom('epd_chapter3_lines')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const imports = await db.selectFrom('epd_imports').selectAll().orderBy('month').execute();
    const kg = await db
      .selectFrom('epd_measure_rollups')
      .select(['month', 'value'])
      .where('level', '=', 'national')
      .where('measure_id', '=', 'inhaler-kgco2e')
      .orderBy('month')
      .execute();
    return {
      lines: Number(lines.n),
      imports: imports.map((row) => [row.month, row.file_name, row.rows_read]),
      kg,
    };
  };

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    service = createPrescribingService(
      createPrescribingRepository(database.handle.db, dialect),
      reference,
    );
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-epd-test-'));
    await service.importEpd([path.join(fixtureDir, 'epd_201709_bnf_chapter3_subset.csv')]);
  });

  afterAll(async () => {
    await database?.destroy();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('reads a byte-order mark, CRLF line ends and quoted commas', async () => {
    const file = write('bom-crlf.csv', `\uFEFF${sample2016.replace(/\r?\n/g, '\r\n')}`);
    const [summary] = await service.importEpd([file]);
    expect(summary!.months[0]).toMatchObject({
      month: '2016-01',
      rowsRead: 11,
      chapter3Rows: 1,
      practices: 1,
    });
    const practiceMonths = await database.handle.db
      .selectFrom('epd_practice_months')
      .select('practice_name')
      .where('month', '=', '2016-01')
      .execute();
    expect(practiceMonths.map((row) => row.practice_name)).toEqual(['DR CHAN']);
  });

  it('refuses a month already imported, naming the file, line and column, and keeps the data', async () => {
    const before = await snapshot();
    const file = write('again.csv', fixture);
    const problems = await problemsOf(service.importEpd([file]));
    expect(problems[0]).toMatchObject({ file, line: 2, field: 'YEAR_MONTH' });
    expect(problems[0]!.message).toMatch(/2017-09 is already imported.*--replace/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses, at the write, a month that another import wrote while this one read its file', async () => {
    const month = sample2016.replace(/^2016_01,/gm, '2016_02,');
    expect(month).not.toBe(sample2016);
    const first = write('first.csv', month);
    const second = write('second.csv', month);
    // Both pass the check made before reading; only one may write the month.
    const outcomes = await Promise.allSettled([
      service.importEpd([first]),
      service.importEpd([second]),
    ]);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const error = (refused[0] as PromiseRejectedResult).reason as InputFileError;
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.problems[0]!.message).toMatch(/2016-02 is already imported.*--replace/);
    const imports = await database.handle.db
      .selectFrom('epd_imports')
      .select(['month', 'file_name'])
      .where('month', '=', '2016-02')
      .execute();
    expect(imports).toHaveLength(1);
  });

  it('reads a file whose name holds characters the engine would take for a pattern', async () => {
    // With `*` and `[…]` in the name, the engine would otherwise read other files or none.
    write('EPD_201603 decoy.csv', sample2016.replace(/^2016_01,/gm, '2016_04,'));
    const file = write('EPD_2016[03]*.csv', sample2016.replace(/^2016_01,/gm, '2016_03,'));
    const [summary] = await service.importEpd([file]);
    expect(summary!.file).toBe(file);
    expect(summary!.months.map((month) => [month.month, month.rowsRead])).toEqual([
      ['2016-03', 11],
    ]);
  });

  it('shows a product once per factor when the reference table changed between months, each with its version', async () => {
    const product = reference.products.get('0302000N0AABFBF')!;
    const revised: typeof reference = {
      ...reference,
      version: '2099-01.1',
      products: new Map([
        ...reference.products,
        ['0302000N0AABFBF', { ...product, kgCo2ePerInhaler: 99 }],
      ]),
    };
    const later = createPrescribingService(
      createPrescribingRepository(database.handle.db, dialect),
      revised,
    );
    await service.importEpd([write('v1.csv', sample2016.replace(/^2016_01,/gm, '2016_05,'))]);
    await later.importEpd([write('v2.csv', sample2016.replace(/^2016_01,/gm, '2016_06,'))]);
    const dashboard = (await later.getPracticeDashboard('P92042'))!;
    const rowOf = (version: string) =>
      dashboard.products.find(
        (row) => row.bnfCode === '0302000N0AABFBF' && row.referenceVersions.includes(version),
      )!;
    // Each row's kgCO2e is its inhalers times the factor it shows.
    expect(rowOf(revised.version)).toMatchObject({
      kgCo2ePerInhaler: 99,
      inhalers: 2,
      referenceVersions: [revised.version],
    });
    expect(rowOf(revised.version).kgCo2e).toBeCloseTo(198, 9);
    // The earlier months (other tests here imported some too) keep the factor they were made with.
    const earlier = rowOf(reference.version);
    expect(earlier).not.toBe(rowOf(revised.version));
    expect(earlier.referenceVersions).toEqual([reference.version]);
    expect(earlier.kgCo2ePerInhaler).toBe(product.kgCo2ePerInhaler);
    expect(earlier.inhalers).toBeGreaterThanOrEqual(2);
    expect(earlier.kgCo2e).toBeCloseTo(earlier.inhalers * product.kgCo2ePerInhaler!, 9);
    expect(dashboard.referenceVersionsUsed).toEqual(
      expect.arrayContaining([reference.version, revised.version]),
    );
  });

  it('reports a truncated file with its last line, and keeps the data', async () => {
    const before = await snapshot();
    const cut = fixture.slice(0, fixture.length - 60);
    const lastLine = cut.split('\n').length;
    const file = write('truncated.csv', cut);
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems[0]).toMatchObject({ file, line: lastLine });
    expect(problems[0]!.message).toMatch(/truncated/);
    expect(await snapshot()).toEqual(before);
  });

  it('reports a truncated gzip file, and keeps the data', async () => {
    const before = await snapshot();
    const gz = zlib.gzipSync(Buffer.from(fixture));
    const file = write('truncated.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems[0]!.file).toBe(file);
    expect(problems[0]!.message).toMatch(/truncated|damaged/);
    expect(await snapshot()).toEqual(before);
  });

  it('reports missing and renamed columns on line 1', async () => {
    const renamed = write('renamed.csv', fixture.replace('TOTAL_QUANTITY', 'TOTAL_QTY'));
    const problems = await problemsOf(service.importEpd([renamed], { replace: true }));
    expect(problems[0]).toMatchObject({ file: renamed, line: 1, field: 'TOTAL_QUANTITY' });
    expect(problems[0]!.message).toMatch(/found "TOTAL_QTY" instead/);
    const header = fixture.split('\n')[0]!;
    const missing = write(
      'missing.csv',
      fixture.replace(header, header.replace(',ACTUAL_COST', ',X')),
    );
    expect((await problemsOf(service.importEpd([missing], { replace: true })))[0]!.message).toMatch(
      /ACTUAL_COST/,
    );
  });

  it('reports non-numeric quantities with file, line and column, and keeps the data', async () => {
    const before = await snapshot();
    const lines = fixture.split('\n');
    // Line 5 of the file is the fourth data row; its TOTAL_QUANTITY (26.0) becomes "twenty".
    lines[4] = lines[4]!.replace(',13,26.0,', ',13,twenty,');
    const file = write('non-numeric.csv', lines.join('\n'));
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems[0]).toMatchObject({ file, line: 5, field: 'TOTAL_QUANTITY' });
    expect(problems[0]!.message).toMatch(/twenty/);
    expect(await snapshot()).toEqual(before);
  });

  it('lists every bad row of several kinds at once, however the rows are worded', async () => {
    const before = await snapshot();
    // The fixture has CRLF line ends: split on them, so that the edits stay inside their rows.
    const lines = fixture.split('\r\n');
    const columns = lines[0]!.split(',').length;
    // The file is read strictly first, which stops at the first bad row; every bad row must
    // still be listed. A row that mentions an interruption is still just a bad row.
    lines[4] = lines[4]!.replace(',13,26.0,', ',13,twenty,');
    lines[9] = `${lines[9]},an extra field`;
    lines[14] = lines[14]!
      .split(',')
      .slice(0, columns - 3)
      .join(',');
    lines[19] = lines[19]!.replace(
      /,\d+,([\d.]+),([\d.]+),([\d.]+),([\d.]+),/,
      ',Interrupted supply,$1,$2,$3,$4,',
    );
    const file = write('several-bad-rows.csv', lines.join('\r\n'));
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems.map((problem) => problem.line)).toEqual([5, 10, 15, 20]);
    expect(problems[0]!.message).toMatch(/twenty.*not a number/);
    expect(problems[1]!.message).toMatch(/unquoted comma or a broken quote/);
    expect(problems[2]).toMatchObject({
      field: undefined,
      message: expect.stringMatching(/Found: 21: the row is short/),
    });
    expect(problems[3]!.message).toMatch(/Interrupted supply.*not a number/);
    expect(await snapshot()).toEqual(before);
  });

  it('reports a file that is not UTF-8 by its line, and keeps the data', async () => {
    const before = await snapshot();
    const lines = fixture.split('\n');
    const bytes = Buffer.concat([
      Buffer.from(lines.slice(0, 6).join('\n') + '\n'),
      Buffer.from(lines[6]!.replace(/,([A-Z])/, ',\u0000$1'), 'latin1').map((byte) =>
        byte === 0 ? 0xe9 : byte,
      ),
      Buffer.from('\n' + lines.slice(7).join('\n')),
    ]);
    const file = write('latin1.csv', bytes);
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems[0]).toMatchObject({ file, line: 7 });
    expect(problems[0]!.message).toMatch(/unicode|UTF-8/i);
    expect(await snapshot()).toEqual(before);
  });

  it('replaces a month atomically with --replace, and reads gzip and zip files', async () => {
    const gz = write('fixture.csv.gz', zlib.gzipSync(Buffer.from(fixture)));
    const [gzSummary] = await service.importEpd([gz], { replace: true });
    expect(gzSummary!.months[0]).toMatchObject({
      month: '2017-09',
      replaced: true,
      chapter3Lines: 361,
    });
    const zip = write(
      'fixture.zip',
      makeZip([{ name: 'EPD_201709.csv', data: Buffer.from(fixture) }]),
    );
    const [zipSummary] = await service.importEpd([zip], { replace: true });
    expect(zipSummary!.file).toBe(`${zip} › EPD_201709.csv`);
    expect((await snapshot()).imports).toContainEqual(['2017-09', `${zip} › EPD_201709.csv`, 597]);
    const brokenZip = write('broken.zip', fs.readFileSync(zip).subarray(0, 200));
    expect(
      (await problemsOf(service.importEpd([brokenZip], { replace: true })))[0]!.message,
    ).toMatch(/not a complete zip file/);
  });

  it('leaves the previous data intact when an import fails half way through writing', async () => {
    const before = await snapshot();
    const repository = createPrescribingRepository(database.handle.db, dialect);
    const failing = createPrescribingService(
      {
        ...repository,
        async insertPracticeMeasures() {
          throw new Error('simulated crash after the lines were written');
        },
      },
      reference,
    );
    await expect(
      failing.importEpd([path.join(fixtureDir, 'epd_201709_bnf_chapter3_subset.csv')], {
        replace: true,
      }),
    ).rejects.toThrow(/simulated crash/);
    expect(await snapshot()).toEqual(before);
  });

  it('downloads over HTTP, and refuses a download that breaks half way', async () => {
    const body = Buffer.from(fixture.replace(/2017_09/g, '2017_10'));
    const server = http.createServer((request, response) => {
      if (request.url === '/broken.csv') {
        response.writeHead(200, { 'content-length': body.length, 'content-type': 'text/csv' });
        response.write(body.subarray(0, Math.floor(body.length / 2)));
        setTimeout(() => response.destroy(), 20);
        return;
      }
      if (request.url === '/moved.csv') {
        response.writeHead(302, { location: '/epd.csv' });
        response.end();
        return;
      }
      if (request.url !== '/epd.csv') {
        response.writeHead(404);
        response.end();
        return;
      }
      response.writeHead(200, { 'content-length': body.length, 'content-type': 'text/csv' });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Downloads go to a folder of this test's own, which other test files do not touch.
    const downloads = fs.mkdtempSync(path.join(workDir, 'downloads-'));
    try {
      const broken = await problemsOf(
        service.importEpd([`${base}/broken.csv`], { tempDir: downloads }),
      );
      expect(broken[0]!.file).toBe(`${base}/broken.csv`);
      expect(broken[0]!.message).toMatch(/download broke after \d+ (bytes )?of \d+/);
      expect((await snapshot()).imports.map(([month]) => month)).not.toContain('2017-10');
      expect(
        (await problemsOf(service.importEpd([`${base}/missing.csv`], { tempDir: downloads })))[0]!
          .message,
      ).toMatch(/404/);

      const [summary] = await service.importEpd([`${base}/moved.csv`], { tempDir: downloads });
      expect(summary!.months[0]).toMatchObject({
        month: '2017-10',
        chapter3Lines: 361,
        practices: 4,
      });
      // No temporary download is left behind, whether the import failed or not.
      expect(fs.readdirSync(downloads)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('imports synthetic files of both ICB-era layouts, rolling up to ICB and region', async () => {
    for (const [layout, month] of [
      ['epd-icb', '2024-01'],
      ['epd-snomed', '2024-02'],
    ] as const) {
      const file = path.join(workDir, `${layout}.csv`);
      await generateSyntheticEpd({
        file,
        layout,
        months: [month],
        rowsPerMonth: 20_000,
        practices: 150,
        seed: 7,
      });
      const [summary] = await service.importEpd([file]);
      expect(summary!.months[0]).toMatchObject({ month, rowsRead: 20_000 });
      expect(summary!.months[0]!.unclassified).toEqual([]);
      const icbs = await service.exportMeasure({
        measureId: 'inhaler-kgco2e',
        level: 'icb',
        month,
      });
      expect(icbs.map((row) => row.code)).toContain('QK1');
      // LLR practices take their PCN from the organisation reference data.
      const pcns = await service.exportMeasure({
        measureId: 'mdi-share-non-salbutamol',
        level: 'pcn',
        month,
      });
      expect(pcns.length).toBeGreaterThan(0);
      const perPatient = await service.exportMeasure({
        measureId: 'inhaler-kgco2e-per-1000-patients',
        level: 'icb',
        code: 'QK1',
        month,
      });
      expect(perPatient[0]!.denominator).toBeGreaterThan(100_000);
    }
  });

  it("takes each practice's details from one of its rows, the same as a full read, in any row order", async () => {
    const db = database.handle.db;
    const practiceMonths = () =>
      db
        .selectFrom('epd_practice_months')
        .selectAll()
        .where('month', '=', '2024-03')
        .orderBy('practice_code')
        .execute();
    const plain = path.join(workDir, 'details.csv');
    // 1,700 practices: past the synthetic practice whose code is also a real LLR practice's.
    await generateSyntheticEpd({
      file: plain,
      layout: 'epd-icb',
      months: ['2024-03'],
      rowsPerMonth: 30_000,
      practices: 1_700,
      seed: 5,
    });
    const [header, ...rows] = fs.readFileSync(plain, 'utf8').trimEnd().split('\n');
    // One code, one practice: the details before the practice code are the same on all its rows.
    const detailsByCode = new Map<string, Set<string>>();
    for (const row of rows) {
      const { fields } = splitCsvFields(row);
      const code = fields[8]!;
      detailsByCode.set(
        code,
        (detailsByCode.get(code) ?? new Set()).add(fields.slice(0, 8).join()),
      );
    }
    expect([...detailsByCode.values()].filter((details) => details.size > 1)).toEqual([]);

    await service.importEpd([plain], { replace: true });
    const probed = await practiceMonths();
    expect(probed.length).toBeGreaterThan(1_000);
    expect(probed.every((practice) => practice.practice_name !== '' && practice.postcode)).toBe(
      true,
    );
    // A national file is probed in a worker thread while the lines are written; the same rows.
    const [inWorker] = await service.importEpd([plain], {
      replace: true,
      probe: { inWorkerFromBytes: 0 },
    });
    expect(await practiceMonths()).toEqual(probed);
    expect(inWorker!.months[0]!.practices).toBe(probed.length);
    // When the thread's probe misses practices (here held to 20 reads), the month's transaction
    // is rolled back, they are read again from the file outside it, and the month is written.
    await service.importEpd([plain], {
      replace: true,
      probe: { inWorkerFromBytes: 0, maxReads: 20 },
    });
    expect(await practiceMonths()).toEqual(probed);
    // A gzip stream is read from the start only, so there the scan reads every row's details.
    const gzip = path.join(workDir, 'details.csv.gz');
    fs.writeFileSync(gzip, zlib.gzipSync(fs.readFileSync(plain)));
    await service.importEpd([gzip], { replace: true });
    expect(await practiceMonths()).toEqual(probed);
    // Rows in no order: most practices are not met by the probe and are read in a second pass.
    let state = 17;
    const random = () => (state = (state * 48_271) % 2_147_483_647) / 2_147_483_647;
    for (let index = rows.length - 1; index > 0; index -= 1) {
      const other = Math.floor(random() * (index + 1));
      [rows[index], rows[other]] = [rows[other]!, rows[index]!];
    }
    const shuffled = path.join(workDir, 'details-shuffled.csv');
    fs.writeFileSync(shuffled, [header, ...rows].join('\n') + '\n');
    await service.importEpd([shuffled], { replace: true });
    expect(await practiceMonths()).toEqual(probed);

    // Where the details came from, for each of the three files.
    const sourcesOf = async (
      file: string,
      compression: 'none' | 'gzip',
      scanOptions: ScanOptions = {},
    ) => {
      const prepared = {
        displayName: path.basename(file),
        path: file,
        compression,
        sizeBytes: fs.statSync(file).size,
      };
      const scan = await scanEpdFile(
        prepared,
        (await inspectEpdFile(prepared)).detected,
        scanOptions,
      );
      try {
        const beforeSecondPass = await scan.detailsIfComplete();
        const details = (await scan.details()).practiceDetails;
        // Complete without a second pass exactly when none was needed after the scan.
        expect(beforeSecondPass === undefined).toBe(
          details.probedInWorker && details.readAgain > 0,
        );
        return details;
      } finally {
        scan.close();
      }
    };
    expect(await sourcesOf(plain, 'none')).toEqual({
      fromScan: 0,
      probed: probed.length,
      readAgain: 0,
      probedInWorker: false,
    });
    expect(await sourcesOf(plain, 'none', { workerProbeFromBytes: 0 })).toEqual({
      fromScan: 0,
      probed: probed.length,
      readAgain: 0,
      probedInWorker: true,
    });
    const heldTo20Reads = await sourcesOf(plain, 'none', {
      workerProbeFromBytes: 0,
      probeMaxReads: 20,
    });
    expect(heldTo20Reads).toMatchObject({ fromScan: 0, probedInWorker: true });
    expect(heldTo20Reads.readAgain).toBeGreaterThan(probed.length / 2);
    expect(heldTo20Reads.probed + heldTo20Reads.readAgain).toBe(probed.length);
    expect(await sourcesOf(gzip, 'gzip')).toEqual({
      fromScan: probed.length,
      probed: 0,
      readAgain: 0,
      probedInWorker: false,
    });
    // A scan closed while its details are being read stops the probe's thread, and does not fall
    // back to probing the file in this one; once closed, it has no details to give.
    const prepared = {
      displayName: 'details.csv',
      path: plain,
      compression: 'none' as const,
      sizeBytes: fs.statSync(plain).size,
    };
    const closedEarly = await scanEpdFile(prepared, (await inspectEpdFile(prepared)).detected, {
      workerProbeFromBytes: 0,
    });
    const pending = closedEarly.details();
    closedEarly.close();
    await expect(pending).rejects.toThrow(/stopped before it finished/);
    const closedFirst = await scanEpdFile(prepared, (await inspectEpdFile(prepared)).detected, {
      workerProbeFromBytes: 0,
    });
    closedFirst.close();
    await expect(closedFirst.details()).rejects.toThrow(/closed before its practice details/);
    // A small file in no order may still be probed in full; whatever is not is read again.
    const fromShuffled = await sourcesOf(shuffled, 'none');
    expect(fromShuffled.fromScan).toBe(0);
    expect(fromShuffled.probed + fromShuffled.readAgain).toBe(probed.length);
    // A chapter 3-only extract has no other rows to keep details on: every practice is read again.
    const extract = await sourcesOf(
      path.join(fixtureDir, 'epd_201709_bnf_chapter3_subset.csv'),
      'none',
    );
    expect(extract).toMatchObject({ fromScan: 0, probed: 0 });
    expect(extract.readAgain).toBeGreaterThan(0);
  });

  it('reports a practice name that is not UTF-8 by its line', async () => {
    const lines = sample2016.split('\n');
    /** The 2016 sample with its line 2 changed and written in Latin-1, not UTF-8. */
    const withLatin1Line2 = (name: string, from: string, to: string) =>
      write(
        name,
        Buffer.concat([
          Buffer.from(lines[0] + '\n'),
          Buffer.from(lines[1]!.replace(from, to), 'latin1'),
          Buffer.from('\n' + lines.slice(2).join('\n')),
        ]),
      );
    // Columns the import does not keep are not checked, plain or gzip alike.
    const address = withLatin1Line2(
      'address-latin1.csv',
      'DR CHAN,P92042,',
      'DR CHAN,P92042,CAF\u00c9',
    );
    expect(fs.readFileSync(address).includes(Buffer.from('CAF\u00c9', 'latin1'))).toBe(true);
    const [imported] = await service.importEpd([address], { replace: true });
    expect(imported!.months[0]!.month).toBe('2016-01');
    const before = await snapshot();
    // The name of the practice on line 2, which the probe reads first.
    const file = withLatin1Line2('name-latin1.csv', 'DR CHAN', 'DR CH\u00c9N');
    const problems = await problemsOf(service.importEpd([file], { replace: true }));
    expect(problems).toEqual([
      {
        file,
        line: 2,
        field: 'PRACTICE_NAME',
        message: 'the text is not UTF-8 (is the file in another encoding?)',
      },
    ]);
    expect(await snapshot()).toEqual(before);
    // Found by the probe's worker thread, while the month's lines were being written: the same.
    expect(
      await problemsOf(
        service.importEpd([file], { replace: true, probe: { inWorkerFromBytes: 0 } }),
      ),
    ).toEqual(problems);
    expect(await snapshot()).toEqual(before);
    // Gzipped, the names are read by the engine itself: the same line and column.
    const gzipped = write('name-latin1.csv.gz', zlib.gzipSync(fs.readFileSync(file)));
    expect(await problemsOf(service.importEpd([gzipped], { replace: true }))).toEqual([
      { ...problems[0], file: gzipped },
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('reports an area code that is not UTF-8 by its line, read by the probe or by the engine', async () => {
    const lines = sample2016.split('\n');
    // The area team code of the practice on line 2: the probe reads it from a plain file, the
    // engine from a gzip stream.
    const bytes = Buffer.concat([
      Buffer.from(lines[0] + '\n'),
      Buffer.from(lines[1]!.replace('AREA TEAM,Q46,', 'AREA TEAM,Q\u00c946,'), 'latin1'),
      Buffer.from('\n' + lines.slice(2).join('\n')),
    ]);
    expect(bytes.includes(Buffer.from('Q\u00c946', 'latin1'))).toBe(true);
    const before = await snapshot();
    for (const [name, content] of [
      ['area-code-latin1.csv', bytes],
      ['area-code-latin1.csv.gz', zlib.gzipSync(bytes)],
    ] as const) {
      const file = write(name, content);
      expect(await problemsOf(service.importEpd([file], { replace: true }))).toEqual([
        {
          file,
          line: 2,
          field: 'AREA_TEAM_CODE',
          message: 'the text is not UTF-8 (is the file in another encoding?)',
        },
      ]);
      expect(await snapshot()).toEqual(before);
    }
  });

  it('reports a product description that is not UTF-8 by its line, although the engine names none', async () => {
    const lines = sample2016.split('\n');
    // DuckDB 1.5.6 meets this with an internal fault that names no line ("Attempted to access
    // index 17 within vector of size 11"); the import then finds the line itself.
    const bytes = Buffer.concat([
      Buffer.from(lines.slice(0, 4).join('\n') + '\n'),
      Buffer.from(lines[4]!.replace('Senna_Oral Soln', 'S\u00e9nna_Oral Soln'), 'latin1'),
      Buffer.from('\n' + lines.slice(5).join('\n')),
    ]);
    expect(bytes.includes(Buffer.from('S\u00e9nna_Oral', 'latin1'))).toBe(true);
    const before = await snapshot();
    for (const [name, content] of [
      ['description-latin1.csv', bytes],
      ['description-latin1.csv.gz', zlib.gzipSync(bytes)],
    ] as const) {
      const file = write(name, content);
      expect(await problemsOf(service.importEpd([file], { replace: true }))).toEqual([
        {
          file,
          line: 5,
          field: 'BNF_DESCRIPTION',
          message: 'the text is not UTF-8 (is the file in another encoding?)',
        },
      ]);
      expect(await snapshot()).toEqual(before);
    }
  });
});
