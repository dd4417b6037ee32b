import { Readable } from 'node:stream';
import { sql } from 'kysely';
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
  buildActionsWorkbook,
  buildZip,
  multipartBody,
  openActionEditForm,
  SMALL_PDF,
  workbookLikeEntries,
} from './green-plan.test-helpers.ts';
import { exportCsv, exportXlsx } from './plan-export.ts';
import { importColumnNames, type ImportColumn } from './plan-import.ts';
import { ActionEditConflict, type ActionFormInput } from './plan.service.ts';

const context = { ip: '127.0.0.1', userAgent: 'import-tests' };
const areas = [
  'Medicines',
  'Travel and transport',
  'Estates and facilities',
  'Sustainable models of care',
  'Food and nutrition',
];

/** 500 valid rows: nested actions, partners, owners, milestones, every status. */
/** An action in the Travel and transport area, as the action form sends it. */
function travelAction(fields: ActionFormInput = {}): ActionFormInput {
  return {
    area: 'Travel and transport',
    lead_organisation: 'RWE',
    status: 'on_track',
    progress_percent: '10',
    weight: '1',
    ...fields,
  };
}

function fiveHundredRows(owners: string[]): Record<ImportColumn, string>[] {
  const statuses = ['Not started', 'On track', 'At risk', 'Off track', 'Complete', 'Cancelled'];
  return Array.from({ length: 500 }, (_, index) => {
    const number = index + 1;
    const isChild = number % 5 !== 1;
    const parentNumber = number - ((number - 1) % 5);
    const area = areas[Math.floor((parentNumber - 1) / 5) % areas.length]!;
    const status = statuses[number % statuses.length]!;
    const values = Object.fromEntries(importColumnNames.map((column) => [column, ''])) as Record<
      ImportColumn,
      string
    >;
    return Object.assign(values, {
      reference: `P-${String(number).padStart(3, '0')}`,
      parent_reference: isChild ? `P-${String(parentNumber).padStart(3, '0')}` : '',
      area,
      title: `Action number ${number}, "quoted", with a comma`,
      description:
        number % 7 === 0
          ? `Line one of ${number}\nLine two, with émoji 🌱`
          : `Description ${number}`,
      lead_organisation: number % 2 === 0 ? 'RWE' : 'RT5',
      partner_organisations: number % 3 === 0 ? 'QK1; E06000016' : '',
      owner_email: number % 4 === 0 ? owners[number % owners.length]! : '',
      start_date: `2023-${String((number % 12) + 1).padStart(2, '0')}-01`,
      due_date: `2025-${String((number % 12) + 1).padStart(2, '0')}-15`,
      status,
      progress_percent: status === 'Complete' ? '100' : String(number % 100),
      weight: number % 10 === 0 ? '2.5' : '1',
      milestones:
        number % 6 === 0
          ? '2024-01-31 Business case approved (done 2024-01-20)\n2024-09-30 Go live'
          : '',
    });
  });
}

describe.each(testDialects)('importing and exporting plans on %s', (dialect) => {
  let testApp: TestApp;
  let icsAdmin: TestUser;
  let icsActor: Actor;
  let trustEditor: TestUser;
  let trustMember: TestUser;
  const owners: TestUser[] = [];
  let admin: HttpAgent;

  async function newPlan(title: string): Promise<string> {
    return testApp.services.greenPlans.createPlan(
      icsActor,
      {
        title,
        description: 'A plan for import tests',
        ownerOrganisationCode: 'QK1',
        periodStart: '2023-04-01',
        periodEnd: '2026-03-31',
        status: 'draft',
      },
      context,
    );
  }

  async function receive(bytes: Buffer, name: string) {
    return testApp.services.files.receiveUpload(Readable.from([bytes]), 'spreadsheet', name);
  }

  async function countActions(planId: string): Promise<number> {
    const rows = await testApp.services.database.db
      .selectFrom('green_plan_actions')
      .select('id')
      .where('plan_id', '=', planId)
      .execute();
    return rows.length;
  }

  async function uploadThroughPage(
    agent: HttpAgent,
    planId: string,
    file: { name: string; type: string; bytes: Buffer },
  ) {
    const body = multipartBody(await agent.csrfToken(), {}, [{ field: 'file', ...file }]);
    return testApp.app.inject({
      method: 'POST',
      url: `/green-plans/${planId}/import`,
      headers: {
        'content-type': body.contentType,
        cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: body.payload,
    });
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    icsActor = await actorFor(services, icsAdmin.id);
    trustEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'RT5', role: 'editor' }],
    });
    trustMember = await buildUser(services, {
      memberships: [{ organisationCode: 'RWE', role: 'member' }],
    });
    for (let index = 0; index < 3; index++)
      owners.push(
        await buildUser(services, { memberships: [{ organisationCode: 'RWE', role: 'member' }] }),
      );
    admin = new HttpAgent(testApp.app);
    await signInAs(admin, icsAdmin, () => currentTotp(icsAdmin));
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('lists exactly the three bad rows of a 500-row workbook, with reasons, and commits nothing', async () => {
    const planId = await newPlan('Five hundred actions');
    const rows = fiveHundredRows(owners.map((owner) => owner.email));
    rows[57]!.due_date = '2023-01-01'; // before its start: spreadsheet row 59
    rows[230]!.owner_email = 'nobody.here@example.nhs.net'; // row 232
    rows[444]!.progress_percent = '150'; // row 446
    const response = await uploadThroughPage(admin, planId, {
      name: 'tracker.xlsx',
      type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      bytes: await buildActionsWorkbook(rows),
    });
    expect(response.statusCode).toBe(400);
    const problemRows = [
      ...response.body.matchAll(
        /<tr class="nhsuk-table__row" id="problem-\d+">\s*<td[^>]*>(\d+)<\/td>\s*<td[^>]*>([a-z_]+)<\/td>\s*<td[^>]*>([^<]+)<\/td>/g,
      ),
    ].map((match) => ({
      row: Number(match[1]),
      column: match[2],
      message: match[3]!.replace(/&#39;/g, "'").replace(/&quot;/g, '"'),
    }));
    expect(problemRows).toEqual([
      {
        row: 59,
        column: 'due_date',
        message: 'The due date (2023-01-01) must be on or after the start date (2023-11-01)',
      },
      {
        row: 232,
        column: 'owner_email',
        message: 'No active Greenspace account has the email address nobody.here@example.nhs.net',
      },
      {
        row: 446,
        column: 'progress_percent',
        message: 'The progress must be a whole number from 0 to 100, not "150"',
      },
    ]);
    expect(response.body).toContain('Nothing has been imported');
    expect(await countActions(planId)).toBe(0);
  });

  it('commits the corrected file in one transaction, all or nothing, and a second import changes nothing', async () => {
    const { services } = testApp;
    const planId = await newPlan('Corrected five hundred');
    const workbook = await buildActionsWorkbook(
      fiveHundredRows(owners.map((owner) => owner.email)),
    );
    const preview = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(workbook, 'tracker.xlsx'),
      context,
    );
    expect(preview.problems).toEqual([]);
    expect(preview.changes).toMatchObject({ unchanged: 0 });
    expect(preview.changes!.create).toHaveLength(500);

    // A failure on the 400th write undoes the 399 before it.
    const db = services.database.db;
    if (dialect === 'postgres') {
      await sql`create function refuse_p400() returns trigger language plpgsql as $$ begin if new.reference = 'P-400' then raise exception 'refused for the test'; end if; return new; end; $$`.execute(
        db,
      );
      await sql`create trigger refuse_p400 before insert on green_plan_actions for each row execute function refuse_p400()`.execute(
        db,
      );
    } else {
      await sql`create trigger refuse_p400 before insert on green_plan_actions when new.reference = 'P-400' begin select raise(abort, 'refused for the test'); end`.execute(
        db,
      );
    }
    await expect(
      services.greenPlans.commitImport(icsActor, planId, preview.importId, context),
    ).rejects.toThrow();
    expect(await countActions(planId)).toBe(0);
    await sql`drop trigger refuse_p400${dialect === 'postgres' ? sql` on green_plan_actions` : sql``}`.execute(
      db,
    );

    // Through the page, as a person would.
    const commit = await admin.post(`/green-plans/${planId}/import/commit`, {
      importId: preview.importId,
    });
    expect(commit.statusCode).toBe(303);
    expect(commit.headers.location).toBe(`/green-plans/${planId}?imported=500-0-0`);
    expect(await countActions(planId)).toBe(500);
    expect((await admin.get(commit.headers.location!)).body).toContain(
      'Actions imported: 500 new, 0 changed, 0 unchanged.',
    );
    const again = await admin.post(`/green-plans/${planId}/import/commit`, {
      importId: preview.importId,
    });
    expect(again.statusCode).toBe(400);
    expect(await countActions(planId)).toBe(500);

    const changesBefore = await db.selectFrom('green_plan_action_changes').select('id').execute();
    const updatedBefore = await db
      .selectFrom('green_plan_actions')
      .select(['id', 'updated_at'])
      .where('plan_id', '=', planId)
      .orderBy('id')
      .execute();
    const second = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(workbook, 'tracker.xlsx'),
      context,
    );
    expect(second.changes).toMatchObject({ create: [], change: [], unchanged: 500 });
    expect(
      await services.greenPlans.commitImport(icsActor, planId, second.importId, context),
    ).toEqual({ created: 0, changed: 0, unchanged: 500 });
    expect(await db.selectFrom('green_plan_action_changes').select('id').execute()).toHaveLength(
      changesBefore.length,
    );
    expect(
      await db
        .selectFrom('green_plan_actions')
        .select(['id', 'updated_at'])
        .where('plan_id', '=', planId)
        .orderBy('id')
        .execute(),
    ).toEqual(updatedBefore);

    // The tree, partners, owners and milestones arrived.
    const overview = await services.greenPlans.listActions(icsActor, planId, {});
    const child = overview.actions.find((action) => action.reference === 'P-012')!;
    expect(overview.actions.find((action) => action.id === child.parentId)?.reference).toBe(
      'P-011',
    );
    expect(
      overview.actions
        .find((action) => action.reference === 'P-012')
        ?.milestones.map((m) => m.title),
    ).toEqual(['Business case approved', 'Go live']);
  });

  it('exports to XLSX and CSV files that import back with every field the same', async () => {
    const { services } = testApp;
    const source = await newPlan('Round trip source');
    const workbook = await buildActionsWorkbook(
      fiveHundredRows(owners.map((owner) => owner.email)).slice(0, 120),
    );
    const first = await services.greenPlans.previewImport(
      icsActor,
      source,
      await receive(workbook, 'source.xlsx'),
      context,
    );
    await services.greenPlans.commitImport(icsActor, source, first.importId, context);
    const original = await services.greenPlans.exportPlan(icsActor, source);

    const xlsxResponse = await admin.get(`/green-plans/${source}/export.xlsx`);
    expect(xlsxResponse.statusCode).toBe(200);
    expect(xlsxResponse.headers['content-disposition']).toMatch(
      /^attachment; filename="round-trip-source(-\d+)?-actions\.xlsx"$/,
    );
    const csvResponse = await admin.get(`/green-plans/${source}/export.csv`);
    expect(csvResponse.statusCode).toBe(200);
    expect(csvResponse.headers['content-type']).toBe('text/csv; charset=utf-8');

    for (const [name, bytes] of [
      ['export.xlsx', xlsxResponse.rawPayload],
      ['export.csv', csvResponse.rawPayload],
    ] as const) {
      const target = await newPlan(`Round trip target ${name}`);
      const preview = await services.greenPlans.previewImport(
        icsActor,
        target,
        await receive(bytes, name),
        context,
      );
      expect(preview.problems, name).toEqual([]);
      await services.greenPlans.commitImport(icsActor, target, preview.importId, context);
      const copy = await services.greenPlans.exportPlan(icsActor, target);
      const withoutAreaIds = (actions: typeof copy.actions) =>
        actions.map(({ areaId: _areaId, ...rest }) => rest);
      expect(withoutAreaIds(copy.actions), name).toEqual(withoutAreaIds(original.actions));
      expect(exportCsv(copy.actions)).toBe(exportCsv(original.actions));
      // Importing the export into the plan it came from changes nothing.
      const same = await services.greenPlans.previewImport(
        icsActor,
        source,
        await receive(bytes, name),
        context,
      );
      expect(same.changes, name).toMatchObject({ create: [], change: [], unchanged: 120 });
    }
    expect((await exportXlsx(original.actions, 'x')).subarray(0, 2).toString()).toBe('PK');
  });

  it('gives two actions added at once to the same area references of their own', async () => {
    const { services } = testApp;
    const planId = await newPlan('Two additions at once');
    const fields = travelAction();
    // Both read the plan before either writes, so both would pick the same next reference.
    const ids = await Promise.all(
      ['Electric pool cars', 'Cycle to work scheme'].map((title) =>
        services.greenPlans.createAction(icsActor, planId, { ...fields, title }, context),
      ),
    );
    const { actions } = await services.greenPlans.exportPlan(icsActor, planId);
    // Which of the two is saved first is up to the database; each gets a number of its own.
    expect(actions.map((action) => action.title).sort()).toEqual([
      'Cycle to work scheme',
      'Electric pool cars',
    ]);
    expect(actions.map((action) => action.reference).sort()).toEqual(['TT-01', 'TT-02']);
    expect(new Set(ids).size).toBe(2);
    // A reference given by hand that another addition took meanwhile is refused, not renumbered.
    const given = await Promise.allSettled(
      ['Car share', 'Lift share'].map((title) =>
        services.greenPlans.createAction(
          icsActor,
          planId,
          { ...fields, title, reference: 'TT-10' },
          context,
        ),
      ),
    );
    expect(given.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = given.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({
      fieldErrors: { reference: 'The plan already has an action with the reference TT-10' },
    });
  });

  it('never loses an edit made while an import is being committed', async () => {
    const { services } = testApp;
    const planId = await newPlan('Edited while committing');
    const fields = travelAction({
      title: 'Fleet to electric',
      description: 'Replace the pool cars',
      reference: 'T-1',
    });
    const actionId = await services.greenPlans.createAction(icsActor, planId, fields, context);
    const exported = exportCsv((await services.greenPlans.exportPlan(icsActor, planId)).actions);
    const preview = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(Buffer.from(exported.replace('Fleet to electric', 'Fleet to EV')), 'a.csv'),
      context,
    );
    expect(preview.changes!.change).toHaveLength(1);
    // The commit and an edit of the same action's description, at once.
    const [committed, edited] = await Promise.allSettled([
      services.greenPlans.commitImport(icsActor, planId, preview.importId, context),
      services.greenPlans.updateAction(
        icsActor,
        planId,
        actionId,
        { ...fields, description: 'Replace the pool cars and vans' },
        context,
      ),
    ]);
    expect(edited.status).toBe('fulfilled');
    const [action] = (await services.greenPlans.exportPlan(icsActor, planId)).actions;
    // Whichever came first, the edit is kept: the import either went first (the edit, a whole
    // form, then saved all its fields after it) or was refused because the plan had changed
    // since the file was checked.
    expect(action!.description).toBe('Replace the pool cars and vans');
    if (committed.status === 'rejected') {
      expect(String(committed.reason)).toContain('The plan has changed since the file was checked');
    }
  });

  it('saves one of two edit forms opened together and saved at once with different titles, refusing the other', async () => {
    const { services } = testApp;
    const planId = await newPlan('Two forms at once');
    const fields = travelAction({ title: 'Fleet to electric', reference: 'T-1' });
    const actionId = await services.greenPlans.createAction(icsActor, planId, fields, context);
    const { opened } = await services.greenPlans.getActionForChange(icsActor, planId, actionId);
    const titles = ['Fleet to EV', 'Electric fleet'];
    const given = await Promise.allSettled(
      titles.map((title) =>
        services.greenPlans.updateAction(
          icsActor,
          planId,
          actionId,
          { ...fields, title, opened },
          context,
        ),
      ),
    );
    expect(given.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = given.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ActionEditConflict);
    expect((refused.reason as ActionEditConflict).clashes).toEqual(['title']);
    const saved = titles[given.findIndex((result) => result.status === 'fulfilled')];
    const [action] = (await services.greenPlans.exportPlan(icsActor, planId)).actions;
    expect(action!.title).toBe(saved);
    // One edit in the history and in the audit log, the one saved.
    const history = await services.database.db
      .selectFrom('green_plan_action_changes')
      .select('changes')
      .where('action_id', '=', actionId)
      .where('kind', '=', 'edited')
      .execute();
    expect(history.map((row) => JSON.parse(row.changes))).toEqual([
      [{ field: 'title', from: 'Fleet to electric', to: saved }],
    ]);
    const audited = await services.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'green_plan.action_changed')
      .where('target_id', '=', actionId)
      .execute();
    expect(audited).toHaveLength(1);
  });

  it('refuses to commit a file whose effect changed since its preview; the pre-rename export then adds the old reference back', async () => {
    const { services } = testApp;
    const planId = await newPlan('Renumbered between preview and commit');
    const fields = travelAction({ title: 'Fleet to electric' });
    const parent = await services.greenPlans.createAction(
      icsActor,
      planId,
      { ...fields, reference: 'T-9' },
      context,
    );
    const child = await services.greenPlans.createAction(
      icsActor,
      planId,
      { ...fields, reference: 'T-9.1', parent_reference: 'T-9', title: 'Pool cars first' },
      context,
    );
    const beforeRename = exportCsv(
      (await services.greenPlans.exportPlan(icsActor, planId)).actions,
    );
    // A file that changes one title: the preview shows just that.
    const edited = Buffer.from(beforeRename.replace('Pool cars first', 'Pool cars go first'));
    const preview = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(edited, 'tracker.csv'),
      context,
    );
    expect(preview.changes).toMatchObject({ create: [], unchanged: 1 });
    expect(preview.changes!.change).toHaveLength(1);

    // Before it is committed, the parent is renamed on the web.
    const editUrl = `/green-plans/${planId}/actions/${parent}/edit`;
    const renamed = await admin.post(editUrl, {
      ...fields,
      opened: await openActionEditForm(admin, editUrl),
      area: 'travel-and-transport',
      reference: 'T-10',
    });
    expect(renamed.statusCode).toBe(303);
    const refused = await admin.post(`/green-plans/${planId}/import/commit`, {
      importId: preview.importId,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('The plan has changed since the file was checked');
    const titles = async () =>
      (await services.greenPlans.listActions(icsActor, planId, {})).actions.map((action) => ({
        reference: action.reference,
        title: action.title,
        parent: action.parentId,
      }));
    expect(await titles()).toEqual([
      { reference: 'T-10', title: 'Fleet to electric', parent: null },
      { reference: 'T-9.1', title: 'Pool cars first', parent },
    ]);

    // Checked again, the old export shows what it would now do: add T-9 back and move T-9.1 to it.
    const again = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(Buffer.from(beforeRename), 'tracker.csv'),
      context,
    );
    expect(again.changes!.create.map((action) => action.reference)).toEqual(['T-9']);
    expect(again.changes!.change.map((change) => change.reference)).toEqual(['T-9.1']);
    await services.greenPlans.commitImport(icsActor, planId, again.importId, context);
    const after = (await services.greenPlans.listActions(icsActor, planId, {})).actions;
    const readded = after.find((action) => action.reference === 'T-9')!;
    expect(readded.parentId).toBe(null);
    expect(after.find((action) => action.id === child)!.parentId).toBe(readded.id);
    expect(after.find((action) => action.id === parent)!.reference).toBe('T-10');
  });

  it('commits a file submitted twice at once only once, telling the second it was committed', async () => {
    const { services } = testApp;
    const planId = await newPlan('Double submitted');
    const workbook = await buildActionsWorkbook(
      fiveHundredRows(owners.map((owner) => owner.email)).slice(0, 10),
    );
    const preview = await services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(workbook, 'tracker.xlsx'),
      context,
    );
    expect(preview.problems).toEqual([]);
    const commits = await Promise.all(
      [1, 2].map(() =>
        admin.post(`/green-plans/${planId}/import/commit`, { importId: preview.importId }),
      ),
    );
    expect(commits.map((response) => response.statusCode).sort()).toEqual([303, 400]);
    expect(commits.find((response) => response.statusCode === 400)!.body).toContain(
      'This import has already been committed',
    );
    expect(await countActions(planId)).toBe(10);
  });

  it('refuses a zip bomb before parsing it, and files that are not what they claim', async () => {
    const planId = await newPlan('Refusals');
    const bomb = buildZip([
      ...workbookLikeEntries(),
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(60 * 1024 * 1024, 0x20) },
    ]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const bombResponse = await uploadThroughPage(admin, planId, {
      name: 'tracker.xlsx',
      type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      bytes: bomb,
    });
    expect(bombResponse.statusCode).toBe(400);
    expect(bombResponse.body).toMatch(/zip bomb/);

    const document = buildZip([
      {
        name: '[Content_Types].xml',
        data: Buffer.from(
          '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        ),
      },
      { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
    ]);
    const wrong = await uploadThroughPage(admin, planId, {
      name: 'tracker.xlsx',
      type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      bytes: document,
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain(
      'The selected file must be an Excel workbook or CSV file. It is a DOCX file.',
    );

    const pdf = await uploadThroughPage(admin, planId, {
      name: 'tracker.csv',
      type: 'text/csv',
      bytes: SMALL_PDF,
    });
    expect(pdf.statusCode).toBe(400);
    expect(pdf.body).toContain('It is a PDF file.');

    const broken = await uploadThroughPage(admin, planId, {
      name: 'tracker.xlsx',
      type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      bytes: buildZip(workbookLikeEntries()),
    });
    expect(broken.statusCode).toBe(400);
    expect(await countActions(planId)).toBe(0);
  });

  it('lists a cycle, duplicates, unknown organisations and dates out of order in a CSV, naming each row', async () => {
    const planId = await newPlan('Bad CSV');
    const csv = [
      importColumnNames.join(','),
      'A-1,A-3,Medicines,First,,RWE,,,2024-01-01,2025-01-01,On track,10,1,',
      'A-2,A-1,Medicines,Second,,RWE,,,2024-01-01,2025-01-01,On track,10,1,',
      'A-3,A-2,Medicines,Third,,RWE,,,2024-01-01,2025-01-01,On track,10,1,',
      'A-4,,Medicines,Fourth,,ZZZ9,XXX1,,2024-02-30,2025-01-01,Unsure,-5,0,',
      'A-4,,Nowhere,Fifth,,RWE,,,2025-01-01,2024-01-01,Complete,90,1,31/01/2024 Go',
    ].join('\n');
    const preview = await testApp.services.greenPlans.previewImport(
      icsActor,
      planId,
      await receive(Buffer.from(csv), 'bad.csv'),
      context,
    );
    const byRow = (row: number) =>
      preview.problems
        .filter((problem) => problem.row === row)
        .map((problem) => `${problem.column}: ${problem.message}`);
    for (const row of [2, 3, 4])
      expect(byRow(row)).toEqual([
        'parent_reference: The parent references go round in a loop: ' +
          ['A-1 → A-3 → A-2 → A-1', 'A-1 → A-3 → A-2 → A-1', 'A-1 → A-3 → A-2 → A-1'][row - 2],
      ]);
    expect(byRow(5)).toEqual([
      'reference: The reference A-4 is on rows 5 and 6: each action needs its own',
      'lead_organisation: No organisation in Greenspace has the ODS code ZZZ9',
      'partner_organisations: No organisation in Greenspace has the ODS code XXX1',
      'start_date: The start date must be a real date written YYYY-MM-DD, not "2024-02-30"',
      'status: The status must be one of: Not started, On track, At risk, Off track, Complete, Cancelled',
      'progress_percent: The progress must be a whole number from 0 to 100, not "-5"',
      'weight: The weight must be a number above 0 and at most 1,000, not "0"',
    ]);
    expect(byRow(6)).toEqual([
      'reference: The reference A-4 is on rows 5 and 6: each action needs its own',
      expect.stringMatching(
        /^area: "Nowhere" is not an area of focus of this plan\. Use one of: Workforce and system leadership;/,
      ),
      'due_date: The due date (2024-01-01) must be on or after the start date (2025-01-01)',
      'progress_percent: A complete action must be at 100% progress',
      'milestones: "31/01/2024 Go" is not a milestone: write one per line as "YYYY-MM-DD Title", adding " (done YYYY-MM-DD)" once done',
    ]);
    await expect(
      testApp.services.greenPlans.commitImport(icsActor, planId, preview.importId, context),
    ).rejects.toThrow(/problems/);
    expect(await countActions(planId)).toBe(0);
  });

  it('lets only the plan’s editors import, and only for actions led by organisations they edit for', async () => {
    const planId = await newPlan('Permissions');
    const trustActor = await actorFor(testApp.services, trustEditor.id);
    const memberActor = await actorFor(testApp.services, trustMember.id);
    const csv = Buffer.from(
      `${importColumnNames.join(',')}\nB-1,,Medicines,Trust action,,RT5,,,,,On track,10,1,\n`,
    );
    await expect(
      testApp.services.greenPlans.previewImport(
        trustActor,
        planId,
        await receive(csv, 'a.csv'),
        context,
      ),
    ).rejects.toThrow(/not found|Not allowed/);
    await expect(
      testApp.services.greenPlans.previewImport(
        memberActor,
        planId,
        await receive(csv, 'a.csv'),
        context,
      ),
    ).rejects.toThrow();
    await expect(testApp.services.greenPlans.exportPlan(memberActor, planId)).rejects.toThrow();
    const anonymous = new HttpAgent(testApp.app);
    expect((await anonymous.get(`/green-plans/${planId}/export.csv`)).statusCode).toBe(303);
    expect(await countActions(planId)).toBe(0);
  });
});
