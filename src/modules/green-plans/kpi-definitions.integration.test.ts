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
import { countStoredFiles, countUnownedUploads, postFile } from './green-plan.test-helpers.ts';
import { readSpreadsheetTable } from './plan-import.ts';
import { KpiEditConflict } from './plan.service.ts';

const context = { ip: '127.0.0.1', userAgent: 'kpi-definitions-tests' };
const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const header =
  'reference,name,description,unit,direction,baseline_value,baseline_date,targets,actions';
const twoKpis = [
  header,
  'KPI-01,Carbon footprint,"Scope 1 and 2, all sites",tCO2e,lower,"12,400",2019-04-01,"2028-03-31 2480 80% cut; 2040-03-31 0 Net zero",A-1',
  'KPI-02,Staff trained,,%,higher,5,2022-04-01,2025-03-31 60,A-1; A-2',
].join('\r\n');

describe.each(testDialects)('a plan’s KPIs from a file on %s', (dialect) => {
  let testApp: TestApp;
  let icsAdmin: TestUser;
  let icsActor: Actor;
  let admin: HttpAgent;
  let leadEditor: HttpAgent;
  let outsider: HttpAgent;

  async function newPlan(status: 'draft' | 'published' = 'published'): Promise<string> {
    const plans = testApp.services.greenPlans;
    const planId = await plans.createPlan(
      icsActor,
      {
        title: 'KPI file plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2022-04-01',
        periodEnd: '2030-03-31',
        status,
      },
      context,
    );
    for (const reference of ['A-1', 'A-2'])
      await plans.createAction(
        icsActor,
        planId,
        {
          reference,
          area: 'estates-and-facilities',
          title: `Action ${reference}`,
          lead_organisation: 'RWE',
          status: 'on_track',
          progress_percent: '0',
        },
        context,
      );
    return planId;
  }

  async function upload(
    agent: HttpAgent,
    planId: string,
    file: { name: string; type: string; bytes: Buffer },
  ) {
    return postFile(testApp.app, agent, `/green-plans/${planId}/kpis/import`, {
      field: 'kpisFile',
      ...file,
    });
  }

  /** The plan's KPIs as stored: fields, targets and linked action references. */
  async function kpisOf(planId: string) {
    const db = testApp.services.database.db;
    const kpis = await db
      .selectFrom('green_plan_kpis')
      .select([
        'id',
        'reference',
        'name',
        'description',
        'unit',
        'direction',
        'baseline_value',
        'baseline_date',
      ])
      .where('plan_id', '=', planId)
      .orderBy('reference')
      .execute();
    const result = [];
    for (const { id, ...kpi } of kpis) {
      const targets = await db
        .selectFrom('green_plan_kpi_targets')
        .select(['target_date', 'target_value', 'label'])
        .where('kpi_id', '=', id)
        .orderBy('target_date')
        .execute();
      const actions = await db
        .selectFrom('green_plan_kpi_actions as ka')
        .innerJoin('green_plan_actions as a', 'a.id', 'ka.action_id')
        .select('a.reference')
        .where('ka.kpi_id', '=', id)
        .orderBy('a.reference')
        .execute();
      result.push({ ...kpi, targets, actions: actions.map((row) => row.reference) });
    }
    return result;
  }

  async function kpiIdOf(planId: string, reference: string): Promise<string | undefined> {
    const row = await testApp.services.database.db
      .selectFrom('green_plan_kpis')
      .select('id')
      .where('plan_id', '=', planId)
      .where('reference', '=', reference)
      .executeTakeFirst();
    return row?.id;
  }

  const storedFiles = () => countStoredFiles(testApp.services.database.db);
  const unownedUploads = () => countUnownedUploads(testApp.services.database.db);

  async function auditOf(planId: string, action: string) {
    return (
      await testApp.services.database.db
        .selectFrom('audit_events')
        .select(['outcome', 'details', 'target_id'])
        .where('action', '=', action)
        .orderBy('occurred_at')
        .execute()
    )
      .filter((row) => action !== 'green_plan.kpis_imported' || row.target_id === planId)
      .map((row) => ({
        outcome: row.outcome,
        details: JSON.parse(row.details ?? '{}') as Record<string, unknown>,
      }));
  }

  beforeAll(async () => {
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
    const trustEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'RWE', role: 'editor' }],
    });
    leadEditor = new HttpAgent(testApp.app);
    await signInAs(leadEditor, trustEditor, () => currentTotp(trustEditor));
    const stranger = await buildUser(services);
    outsider = new HttpAgent(testApp.app);
    await signInAs(outsider, stranger);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('adds the KPIs of a CSV with their targets and actions, and the same file again changes nothing', async () => {
    const planId = await newPlan();
    const filesBefore = await storedFiles();
    const first = await upload(admin, planId, {
      name: 'kpis.csv',
      type: CSV,
      bytes: Buffer.from(`\uFEFF${twoKpis}\r\n`),
    });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe(`/green-plans/${planId}?kpisImported=2-0-0`);
    expect(await kpisOf(planId)).toEqual([
      {
        reference: 'KPI-01',
        name: 'Carbon footprint',
        description: 'Scope 1 and 2, all sites',
        unit: 'tCO2e',
        direction: 'decrease',
        baseline_value: 12400,
        baseline_date: '2019-04-01',
        targets: [
          { target_date: '2028-03-31', target_value: 2480, label: '80% cut' },
          { target_date: '2040-03-31', target_value: 0, label: 'Net zero' },
        ],
        actions: ['A-1'],
      },
      {
        reference: 'KPI-02',
        name: 'Staff trained',
        description: '',
        unit: '%',
        direction: 'increase',
        baseline_value: 5,
        baseline_date: '2022-04-01',
        targets: [{ target_date: '2025-03-31', target_value: 60, label: null }],
        actions: ['A-1', 'A-2'],
      },
    ]);
    expect(await storedFiles()).toBe(filesBefore + 1);
    const page = await admin.get(`/green-plans/${planId}?kpisImported=2-0-0`);
    expect(page.body).toContain('KPIs imported: 2 new, 0 changed, 0 unchanged.');
    expect((await auditOf(planId, 'green_plan.kpis_imported')).at(-1)).toMatchObject({
      outcome: 'success',
      details: { fileName: 'kpis.csv', rows: 2, created: 2, changed: 0, unchanged: 0 },
    });

    const again = await upload(admin, planId, {
      name: 'kpis.csv',
      type: CSV,
      bytes: Buffer.from(twoKpis),
    });
    expect(again.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-0-2`);
    // A file that changed nothing is not kept again, nor left behind unowned.
    expect(await storedFiles()).toBe(filesBefore + 1);
    expect(await unownedUploads()).toBe(0);

    // The download is in the same layout, and imports back with nothing to change.
    const download = await outsider.get(`/green-plans/${planId}/kpis.csv`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(download.body.split('\r\n')[0]).toBe(`\uFEFF${header}`);
    expect(download.body).toContain('"2028-03-31 2480 80% cut\n2040-03-31 0 Net zero",A-1\r\n');
    const roundTrip = await upload(admin, planId, {
      name: 'back.csv',
      type: CSV,
      bytes: Buffer.from(download.body),
    });
    expect(roundTrip.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-0-2`);
  });

  it('changes the KPIs a workbook changes, audited with what they were, and makes their actions exactly those listed', async () => {
    const planId = await newPlan();
    await upload(admin, planId, { name: 'kpis.csv', type: CSV, bytes: Buffer.from(twoKpis) });
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Notes').addRow(['Our KPI list']);
    const sheet = workbook.addWorksheet('KPIs');
    sheet.addRow(header.split(','));
    sheet.addRow([
      'KPI-01',
      'Carbon footprint',
      'Scope 1 and 2, all sites',
      'tCO2e',
      'Lower is better',
      12000,
      new Date(Date.UTC(2019, 3, 1)),
      '2028-03-31 2400 80% cut\n2040-03-31 0 Net zero',
      '',
    ]);
    sheet.addRow([
      'KPI-02',
      'Staff trained',
      '',
      '%',
      'higher',
      5,
      '2022-04-01',
      '2025-03-31 60',
      'A-1; A-2',
    ]);
    sheet.addRow([
      'KPI-03',
      'Waste recycled',
      '',
      '%',
      'higher',
      40,
      '2022-04-01',
      '2026-03-31 70',
      'A-2',
    ]);
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());
    const changed = await upload(admin, planId, { name: 'kpis.xlsx', type: XLSX, bytes });
    expect(changed.statusCode).toBe(303);
    expect(changed.headers.location).toBe(`/green-plans/${planId}?kpisImported=1-1-1`);
    const kpis = await kpisOf(planId);
    expect(kpis.map((kpi) => [kpi.reference, kpi.baseline_value, kpi.actions])).toEqual([
      ['KPI-01', 12000, []],
      ['KPI-02', 5, ['A-1', 'A-2']],
      ['KPI-03', 40, ['A-2']],
    ]);
    expect(kpis[0]!.targets.map((target) => target.target_value)).toEqual([2400, 0]);
    const changes = (await auditOf(planId, 'green_plan.kpi_changed')).at(-1)!;
    expect(changes.details).toEqual({
      changes: [
        { field: 'baseline_value', from: 12400, to: 12000 },
        {
          field: 'targets',
          from: '2028-03-31 2480 80% cut\n2040-03-31 0 Net zero',
          to: '2028-03-31 2400 80% cut\n2040-03-31 0 Net zero',
        },
        // Its links are part of what changed, and the audit says from what.
        { field: 'actions', from: 'A-1', to: '' },
      ],
    });
    // The new KPI's link is recorded as linking from its page is.
    const linked = await testApp.services.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'green_plan.kpi_linked')
      .where('target_id', '=', (await kpiIdOf(planId, 'KPI-03'))!)
      .execute();
    expect(linked.map((row) => JSON.parse(row.details!) as unknown)).toEqual([{ action: 'A-2' }]);

    // A file that only changes which actions move a KPI changes that KPI, audited.
    const linksOnly = [
      header,
      'KPI-02,Staff trained,,%,higher,5,2022-04-01,2025-03-31 60,A-2',
    ].join('\n');
    const relinked = await upload(admin, planId, {
      name: 'links.csv',
      type: CSV,
      bytes: Buffer.from(linksOnly),
    });
    expect(relinked.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-1-0`);
    expect((await kpisOf(planId))[1]!.actions).toEqual(['A-2']);
    expect((await auditOf(planId, 'green_plan.kpi_changed')).at(-1)!.details).toEqual({
      changes: [{ field: 'actions', from: 'A-1; A-2', to: 'A-2' }],
    });

    // Without an actions column the links are left as they are, and without a description
    // column each KPI keeps its own description.
    const minimal = [
      'Reference,Name,Unit,Direction,Baseline value,Baseline date,Targets',
      'KPI-01,Carbon footprint,tCO2e,lower,12000,2019-04-01,2028-03-31 2400 80% cut; 2040-03-31 0 Net zero',
      'KPI-02,Staff trained,%,higher,5,2022-04-01,2025-03-31 60',
    ].join('\n');
    const kept = await upload(admin, planId, {
      name: 'names.csv',
      type: CSV,
      bytes: Buffer.from(minimal),
    });
    expect(kept.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-0-2`);
    const after = await kpisOf(planId);
    expect(after[0]!.description).toBe('Scope 1 and 2, all sites');
    expect(after[1]!.actions).toEqual(['A-2']);
  });

  it('reads back its own download, from CSV or a workbook: labels with semicolons, negative baselines, formula-like text', async () => {
    const planId = await newPlan();
    const plans = testApp.services.greenPlans;
    await plans.createKpi(
      icsActor,
      planId,
      {
        reference: 'KPI-07',
        name: '=Net emissions',
        description: '-ve means removals; see note',
        unit: 'tCO2e',
        direction: 'decrease',
        baselineValue: '-5.5',
        baselineDate: '2022-04-01',
        targets: '2025-03-31 -20 cut; phase 2\n2030-03-31 -40.25',
      },
      context,
    );
    const before = await kpisOf(planId);
    expect(before[0]!.targets.map((target) => target.label)).toEqual(['cut; phase 2', null]);
    const download = (await admin.get(`/green-plans/${planId}/kpis.csv`)).body;
    expect(download).toContain(`KPI-07,'=Net emissions,'-ve means removals; see note,`);
    const back = await upload(admin, planId, {
      name: 'back.csv',
      type: CSV,
      bytes: Buffer.from(download),
    });
    expect(back.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-0-1`);

    // The same cells in a workbook, as a spreadsheet program saves the CSV: guards kept as text.
    const rows = (await readSpreadsheetTable(Buffer.from(download), 'csv')).map((row) => row.cells);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('KPIs');
    for (const cells of rows)
      sheet.addRow(
        cells.map((cell) => (/^[=+\-@]/.test(cell) && !/^-\d/.test(cell) ? `'${cell}` : cell)),
      );
    const fromWorkbook = await upload(admin, planId, {
      name: 'back.xlsx',
      type: XLSX,
      bytes: Buffer.from(await workbook.xlsx.writeBuffer()),
    });
    expect(fromWorkbook.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-0-1`);
    expect(await kpisOf(planId)).toEqual(before);
  });

  it('saves one of two KPI forms opened together and saved at once with different names; a file imported after a form was opened is merged with it, or clashes', async () => {
    const planId = await newPlan();
    const plans = testApp.services.greenPlans;
    const input = {
      reference: 'KPI-09',
      name: 'Gas use',
      description: '',
      unit: 'MWh',
      direction: 'decrease',
      baselineValue: '1000',
      baselineDate: '2022-04-01',
      targets: '2030-03-31 200',
    };
    const kpiId = await plans.createKpi(icsActor, planId, input, context);
    const { opened } = await plans.getKpiForChange(icsActor, planId, kpiId);
    const names = ['Gas burnt', 'Gas consumed'];
    const given = await Promise.allSettled(
      names.map((name) =>
        plans.updateKpi(icsActor, planId, kpiId, { ...input, name, opened }, context),
      ),
    );
    expect(given.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = given.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(KpiEditConflict);
    const saved = names[given.findIndex((result) => result.status === 'fulfilled')]!;
    expect((refused.reason as KpiEditConflict).clashes).toEqual(['name']);
    expect((refused.reason as KpiEditConflict).changes).toEqual([
      { label: 'What it measures', from: 'Gas use', to: saved },
    ]);
    expect((await kpisOf(planId))[0]!.name).toBe(saved);

    // Forms opened, then a file that changes the KPI's unit.
    const { opened: openedAgain } = await plans.getKpiForChange(icsActor, planId, kpiId);
    const download = (await admin.get(`/green-plans/${planId}/kpis.csv`)).body;
    const imported = await upload(admin, planId, {
      name: 'unit.csv',
      type: CSV,
      bytes: Buffer.from(download.replace(',MWh,', ',GWh,')),
    });
    expect(imported.headers.location).toBe(`/green-plans/${planId}?kpisImported=0-1-0`);
    // A form that changed the unit too clashes with the file, and saves nothing.
    await expect(
      plans.updateKpi(
        icsActor,
        planId,
        kpiId,
        { ...input, name: saved, unit: 'kWh', opened: openedAgain },
        context,
      ),
    ).rejects.toMatchObject({
      clashes: ['unit'],
      changes: [{ label: 'Unit', from: 'MWh', to: 'GWh' }],
    });
    expect((await kpisOf(planId))[0]!).toMatchObject({ unit: 'GWh', baseline_value: 1000 });
    // One that changed the baseline only keeps the file's unit.
    await plans.updateKpi(
      icsActor,
      planId,
      kpiId,
      { ...input, name: saved, baselineValue: '1100', opened: openedAgain },
      context,
    );
    expect((await kpisOf(planId))[0]!).toMatchObject({ unit: 'GWh', baseline_value: 1100 });
  });

  it('takes others’ new targets when a form sends its untouched targets back with CRLF line ends, as browsers do', async () => {
    const planId = await newPlan();
    const plans = testApp.services.greenPlans;
    const input = {
      reference: 'KPI-08',
      name: 'Electricity use',
      description: 'Half-hourly meter readings,\nsummed by quarter',
      unit: 'MWh',
      direction: 'decrease',
      baselineValue: '900',
      baselineDate: '2022-04-01',
      targets: '2028-03-31 500 Interim\n2032-03-31 180 80% cut',
    };
    const kpiId = await plans.createKpi(icsActor, planId, input, context);
    const form = (await admin.get(`/green-plans/${planId}/kpis/${kpiId}/edit`)).body;
    const opened = /name="opened" value="([^"]+)"/.exec(form)![1]!;
    // Meanwhile someone moves the interim target.
    const { opened: theirs } = await plans.getKpiForChange(icsActor, planId, kpiId);
    await plans.updateKpi(
      icsActor,
      planId,
      kpiId,
      { ...input, targets: '2029-03-31 450 Interim\n2032-03-31 180 80% cut', opened: theirs },
      context,
    );
    // This form renames the KPI, its text areas sent back as a browser sends them.
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    const saved = await admin.post(`/green-plans/${planId}/kpis/${kpiId}/edit`, {
      ...input,
      name: 'Electricity imported',
      description: crlf(input.description),
      targets: crlf(input.targets),
      opened,
    });
    expect(saved.statusCode).toBe(303);
    const kpi = (await plans.getKpiForChange(icsActor, planId, kpiId)).values;
    expect(kpi).toMatchObject({
      name: 'Electricity imported',
      description: input.description,
      targets: '2029-03-31 450 Interim\n2032-03-31 180 80% cut',
    });
  });

  it('lists every bad row with its column and imports nothing', async () => {
    const planId = await newPlan();
    await upload(admin, planId, { name: 'kpis.csv', type: CSV, bytes: Buffer.from(twoKpis) });
    const before = await kpisOf(planId);
    const filesBefore = await storedFiles();
    const bad = [
      header,
      'KPI-01,Carbon footprint,,tCO2e,sideways,"1,5",2019-04-01,2028-03-31 2480,A-1',
      'KPI-09,New KPI,,kWh,lower,100,2024-02-30,2030-03-31 50,A-9',
      'KPI-01,Again,,kWh,lower,100,2024-01-01,2030-03-31 50,',
      'KPI-10,Good row,,kWh,lower,100,2024-01-01,2023-03-31 50,',
    ].join('\n');
    const refused = await upload(admin, planId, {
      name: 'bad.csv',
      type: CSV,
      bytes: Buffer.from(bad),
    });
    expect(refused.statusCode).toBe(400);
    for (const text of [
      'The file has 6 problems, listed below; nothing was imported',
      'Row 2, column &quot;direction&quot;',
      'Choose whether lower or higher is better',
      'Enter the baseline as a number, with a decimal point (1.5)',
      'Row 3, column &quot;baseline_date&quot;',
      'Row 3, column &quot;actions&quot;',
      'The plan has no action with the reference A-9',
      'KPI-01 is also on row 2: give each KPI once',
      'Row 5, column &quot;targets&quot;',
    ]) {
      expect(refused.body, text).toContain(text);
    }
    expect(await kpisOf(planId)).toEqual(before);
    expect(await storedFiles()).toBe(filesBefore);
    expect(await unownedUploads()).toBe(0);
    expect((await auditOf(planId, 'green_plan.kpis_imported')).at(-1)).toMatchObject({
      outcome: 'failure',
      details: { fileName: 'bad.csv', problems: 6 },
    });

    const headerless = await upload(admin, planId, {
      name: 'x.csv',
      type: CSV,
      bytes: Buffer.from('ref,title\nKPI-01,x\n'),
    });
    expect(headerless.statusCode).toBe(400);
    expect(headerless.body).toContain('The header row must name the columns');
    expect((await auditOf(planId, 'green_plan.kpis_imported')).at(-1)).toMatchObject({
      outcome: 'failure',
      details: { fileName: 'x.csv', problems: 1 },
    });
    const notASpreadsheet = await upload(admin, planId, {
      name: 'kpis.xlsx',
      type: XLSX,
      bytes: Buffer.from('%PDF-1.4 not a workbook'),
    });
    expect(notASpreadsheet.statusCode).toBe(400);
    expect(await kpisOf(planId)).toEqual(before);
  });

  it('takes a file only from the plan’s editors, and gives a draft’s KPIs only to those who may read it', async () => {
    const planId = await newPlan();
    const file = { name: 'kpis.csv', type: CSV, bytes: Buffer.from(twoKpis) };
    expect((await upload(leadEditor, planId, file)).statusCode).toBe(403);
    expect((await leadEditor.get(`/green-plans/${planId}/kpis/import`)).statusCode).toBe(403);
    expect((await upload(new HttpAgent(testApp.app), planId, file)).headers.location).toMatch(
      /^\/sign-in/,
    );
    // Someone with no part in the plan: refused on a published plan, and a draft is not there.
    expect((await upload(outsider, planId, file)).statusCode).toBe(403);
    expect(
      (await new HttpAgent(testApp.app).get(`/green-plans/${planId}/kpis/import`)).headers.location,
    ).toMatch(/^\/sign-in/);
    // A form without its CSRF token is refused before anything is read.
    const forged = await postFile(
      testApp.app,
      admin,
      `/green-plans/${planId}/kpis/import`,
      { field: 'kpisFile', ...file },
      'not-the-token',
    );
    expect(forged.statusCode).toBe(403);
    expect(await kpisOf(planId)).toEqual([]);
    expect(await unownedUploads()).toBe(0);
    const form = await admin.get(`/green-plans/${planId}/kpis/import`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('Import KPIs from a spreadsheet');

    const draft = await newPlan('draft');
    await upload(admin, draft, file);
    expect((await upload(outsider, draft, file)).statusCode).toBe(404);
    expect((await outsider.get(`/green-plans/${draft}/kpis.csv`)).statusCode).toBe(404);
    expect(
      (await new HttpAgent(testApp.app).get(`/green-plans/${draft}/kpis.csv`)).statusCode,
    ).toBe(404);
    expect((await admin.get(`/green-plans/${draft}/kpis.csv`)).body).toContain(
      'KPI-02,Staff trained',
    );
  });
});
