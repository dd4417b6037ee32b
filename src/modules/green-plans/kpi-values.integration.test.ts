import os from 'node:os';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { Actor } from '../access/policy.ts';
import {
  countStoredFiles,
  countUnownedUploads,
  multipartBody,
  postFile,
} from './green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'kpi-values-tests' };
const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

describe.each(testDialects)('recording KPI values from a file on %s', (dialect) => {
  let testApp: TestApp;
  let icsAdmin: TestUser;
  let icsActor: Actor;
  let admin: HttpAgent;
  let member: HttpAgent;

  /** A plan with one KPI; returns the KPI page's address. */
  async function newKpi(status: 'draft' | 'published' = 'published'): Promise<string> {
    const plans = testApp.services.greenPlans;
    const planId = await plans.createPlan(
      icsActor,
      {
        title: 'Estates green plan',
        description: 'Heat and power',
        ownerOrganisationCode: 'QK1',
        periodStart: '2023-04-01',
        periodEnd: '2030-03-31',
        status,
      },
      context,
    );
    const kpiId = await plans.createKpi(
      icsActor,
      planId,
      {
        reference: 'K-1',
        name: 'Gas use',
        description: '',
        unit: 'MWh',
        direction: 'decrease',
        baselineValue: '1000',
        baselineDate: '2023-04-01',
        targets: '2030-03-31 200',
      },
      context,
    );
    return `/green-plans/${planId}/kpis/${kpiId}`;
  }

  async function upload(
    agent: HttpAgent,
    kpiUrl: string,
    file: { name: string; type: string; bytes: Buffer },
  ) {
    return postFile(testApp.app, agent, `${kpiUrl}/values`, { field: 'valuesFile', ...file });
  }

  async function recorded(kpiUrl: string) {
    const kpiId = kpiUrl.split('/').pop()!;
    return testApp.services.database.db
      .selectFrom('green_plan_kpi_data_points')
      .select(['observed_on', 'value', 'note', 'source'])
      .where('kpi_id', '=', kpiId)
      .orderBy('observed_on')
      .execute();
  }

  const storedFiles = () => countStoredFiles(testApp.services.database.db);
  const unownedUploads = () => countUnownedUploads(testApp.services.database.db);

  async function auditOf(kpiUrl: string) {
    return testApp.services.database.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('action', '=', 'green_plan.kpi_values_imported')
      .where('target_id', '=', kpiUrl.split('/').pop()!)
      .orderBy('occurred_at')
      .execute();
  }

  beforeAll(async () => {
    // Files in the database, so that bytes no stored file owns can be counted.
    testApp = await createTestApp(dialect, {
      configOverrides: { files: { store: 'database', dir: os.tmpdir() } },
    });
    const { services } = testApp;
    icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    icsActor = await actorFor(services, icsAdmin.id);
    admin = new HttpAgent(testApp.app);
    await signInAs(admin, icsAdmin, () => currentTotp(icsAdmin));
    const reader = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    member = new HttpAgent(testApp.app);
    await signInAs(member, reader, () => currentTotp(reader));
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('records every value of a CSV at once, keeps the file, and a second import changes nothing', async () => {
    const kpiUrl = await newKpi();
    const filesBefore = await storedFiles();
    const csv = Buffer.from(
      '\uFEFFdate,value,note\r\n2024-03-31,"1,250.5","Meter readings, all sites"\r\n2024-06-30,900,\r\n2024-09-30,850,Estimated\r\n',
    );
    const first = await upload(admin, kpiUrl, { name: 'gas.csv', type: CSV, bytes: csv });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe(`${kpiUrl}?imported=3-0-0`);
    expect(await recorded(kpiUrl)).toEqual([
      {
        observed_on: '2024-03-31',
        value: 1250.5,
        note: 'Meter readings, all sites',
        source: 'manual',
      },
      { observed_on: '2024-06-30', value: 900, note: null, source: 'manual' },
      { observed_on: '2024-09-30', value: 850, note: 'Estimated', source: 'manual' },
    ]);
    expect(await storedFiles()).toBe(filesBefore + 1);
    const page = await admin.get(String(first.headers.location));
    expect(page.body).toContain('Values imported: 3 new, 0 changed, 0 already recorded.');

    const again = await upload(admin, kpiUrl, { name: 'gas.csv', type: CSV, bytes: csv });
    expect(again.headers.location).toBe(`${kpiUrl}?imported=0-0-3`);
    expect((await recorded(kpiUrl)).length).toBe(3);
    // A file that changed nothing is not kept a second time.
    expect(await storedFiles()).toBe(filesBefore + 1);
    expect(await unownedUploads()).toBe(0);

    const corrected = Buffer.from(
      'date,value,note\n2024-03-31,1250.5,"Meter readings, all sites"\n2024-06-30,910,Corrected\n2024-12-31,800,\n',
    );
    const third = await upload(admin, kpiUrl, { name: 'gas-2.csv', type: CSV, bytes: corrected });
    expect(third.headers.location).toBe(`${kpiUrl}?imported=1-1-1`);
    expect((await recorded(kpiUrl)).map((point) => [point.observed_on, point.value])).toEqual([
      ['2024-03-31', 1250.5],
      ['2024-06-30', 910],
      ['2024-09-30', 850],
      ['2024-12-31', 800],
    ]);

    const audit = await auditOf(kpiUrl);
    expect(await storedFiles()).toBe(filesBefore + 2);
    expect(audit.map((event) => event.outcome)).toEqual(['success', 'success', 'success']);
    expect(JSON.parse(String(audit[1]!.details))).toMatchObject({ file: null, unchanged: 3 });
    expect(JSON.parse(String(audit[2]!.details))).toMatchObject({
      fileName: 'gas-2.csv',
      rows: 3,
      created: 1,
      changed: 1,
      unchanged: 1,
    });
  });

  it('lists every problem with its row and column, and records nothing and keeps no file', async () => {
    const kpiUrl = await newKpi();
    await upload(admin, kpiUrl, {
      name: 'first.csv',
      type: CSV,
      bytes: Buffer.from('date,value\n2024-03-31,1000\n'),
    });
    const filesBefore = await storedFiles();
    const response = await upload(admin, kpiUrl, {
      name: 'bad.csv',
      type: CSV,
      bytes: Buffer.from(
        'date,value,note\n2024-03-31,999,\n2024-13-01,5,\n2024-06-30,lots,\n2099-01-01,5,\n2024-06-30,7,\n',
      ),
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('The file has 4 problems, listed below; nothing was recorded');
    const problems = [
      ...response.body.matchAll(
        /<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">([^<]*)<\/td><td class="nhsuk-table__cell">([^<]*)<\/td><\/tr>/g,
      ),
    ].map((match) => `${match[1]}: ${match[2]}`.replace(/&quot;/g, '"'));
    expect(problems).toEqual([
      'Row 3, column "date": "2024-13-01" is not a real date written YYYY-MM-DD',
      'Row 4, column "value": "lots" is not a number',
      'Row 5, column "date": 2099-01-01 is in the future',
      'Row 6, column "date": 2024-06-30 is also on row 4: give each date once',
    ]);
    // The good first row is not recorded either: all or nothing.
    expect(await recorded(kpiUrl)).toEqual([
      { observed_on: '2024-03-31', value: 1000, note: null, source: 'manual' },
    ]);
    expect(await storedFiles()).toBe(filesBefore);
    expect(await unownedUploads()).toBe(0);
    expect((await auditOf(kpiUrl)).map((event) => event.outcome)).toEqual(['success', 'failure']);

    const notUtf8 = await upload(admin, kpiUrl, {
      name: 'latin1.csv',
      type: CSV,
      bytes: Buffer.from([...Buffer.from('date,value,note\n2024-04-30,5,caf'), 0xe9, 0x0a]),
    });
    expect(notUtf8.statusCode).toBe(400);
    expect(notUtf8.body).toContain('The whole file');
    expect(notUtf8.body).toContain('not UTF-8');
    const noFile = await upload(admin, kpiUrl, { name: '', type: CSV, bytes: Buffer.alloc(0) });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.body).toContain('Select a CSV file or an Excel workbook (.xlsx) of values');

    // A form that breaks after its file has arrived (a field sent twice) keeps nothing either.
    const broken = multipartBody(await admin.csrfToken(), {}, [
      { field: 'valuesFile', name: 'gas.csv', type: CSV, bytes: Buffer.from('date,value\n') },
    ]);
    const twice = Buffer.from(
      broken.payload
        .toString('latin1')
        .replace(
          /--([^\r]+)--\r\n$/,
          '--$1\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--$1\r\nContent-Disposition: form-data; name="x"\r\n\r\n2\r\n--$1--\r\n',
        ),
      'latin1',
    );
    const brokenResponse = await testApp.app.inject({
      method: 'POST',
      url: `${kpiUrl}/values`,
      headers: {
        'content-type': broken.contentType,
        cookie: [...admin.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: twice,
    });
    expect(brokenResponse.statusCode).toBe(400);
    expect(brokenResponse.body).toContain('The &quot;x&quot; field must be sent once.');
    expect(await storedFiles()).toBe(filesBefore);
    expect(await unownedUploads()).toBe(0);
  });

  it('reads an Excel workbook with date cells, and downloads values that import back unchanged', async () => {
    const kpiUrl = await newKpi();
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Readings');
    sheet.addRow(['Date', 'Value', 'Note']);
    sheet.addRow([new Date(Date.UTC(2024, 2, 31)), 1000.25, '=SUM(A1:A2) is not run']);
    sheet.addRow([new Date(Date.UTC(2024, 5, 30)), 950, null]);
    const response = await upload(admin, kpiUrl, {
      name: 'gas.xlsx',
      type: XLSX,
      bytes: Buffer.from(await workbook.xlsx.writeBuffer()),
    });
    expect(response.headers.location).toBe(`${kpiUrl}?imported=2-0-0`);

    // Anyone who can see a published plan can download its values; notes, written for the
    // plan's team, only its editors.
    const anonymous = new HttpAgent(testApp.app);
    const public_ = await anonymous.get(`${kpiUrl}/values.csv`);
    expect(public_.statusCode).toBe(200);
    expect(public_.body).toBe('\uFEFFdate,value\r\n2024-03-31,1000.25\r\n2024-06-30,950\r\n');
    const download = await admin.get(`${kpiUrl}/values.csv`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toContain('text/csv');
    expect(String(download.headers['content-disposition'])).toMatch(
      /^attachment; filename="estates-green-plan[a-z0-9-]*-kpi-K-1-values\.csv"/,
    );
    expect(download.body).toBe(
      "\uFEFFdate,value,note\r\n2024-03-31,1000.25,'=SUM(A1:A2) is not run\r\n2024-06-30,950,\r\n",
    );
    const back = await upload(admin, kpiUrl, {
      name: 'downloaded.csv',
      type: CSV,
      bytes: Buffer.from(download.body),
    });
    expect(back.headers.location).toBe(`${kpiUrl}?imported=0-0-2`);
    expect((await recorded(kpiUrl)).map((point) => point.note)).toEqual([
      '=SUM(A1:A2) is not run',
      null,
    ]);
  });

  it('lets only the plan’s editors import, and only its readers download', async () => {
    const publishedKpi = await newKpi('published');
    const filesBefore = await storedFiles();
    const refusedPublished = await upload(member, publishedKpi, {
      name: 'gas.csv',
      type: CSV,
      bytes: Buffer.from('date,value\n2024-03-31,1000\n'),
    });
    expect(refusedPublished.statusCode).toBe(403);
    expect(await recorded(publishedKpi)).toEqual([]);
    expect(await storedFiles()).toBe(filesBefore);
    expect(await unownedUploads()).toBe(0);
    expect((await member.get(publishedKpi)).body).not.toContain('Record values from a file');

    const draftKpi = await newKpi('draft');
    const refused = await upload(member, draftKpi, {
      name: 'gas.csv',
      type: CSV,
      bytes: Buffer.from('date,value\n2024-03-31,1000\n'),
    });
    expect([403, 404]).toContain(refused.statusCode);
    expect(await recorded(draftKpi)).toEqual([]);
    expect((await new HttpAgent(testApp.app).get(`${draftKpi}/values.csv`)).statusCode).toBe(404);
    // The editor sees the form and the download link once there are values.
    const page = await admin.get(draftKpi);
    expect(page.body).toContain('Record values from a file');
    expect(page.body).not.toContain('Download the recorded values');
    await upload(admin, draftKpi, {
      name: 'gas.csv',
      type: CSV,
      bytes: Buffer.from('date,value\n2024-03-31,1000\n'),
    });
    expect((await admin.get(draftKpi)).body).toContain('Download the recorded values (CSV)');
  });
});
