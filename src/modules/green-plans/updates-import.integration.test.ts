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
import { ukCalendarDate } from '../../lib/uk-time.ts';
import type { Actor } from '../access/policy.ts';
import { countStoredFiles, countUnownedUploads, postFile } from './green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'updates-import-tests' };
const CSV = 'text/csv';
const HEADER = 'reference,title,date,status,progress_percent,narrative,links';

/** The problems table of a refused file, as "where: what" lines of plain text. */
function problemsIn(html: string): string[] {
  const decode = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .trim();
  return [
    ...html.matchAll(
      /<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">([^<]*)<\/td><td class="nhsuk-table__cell">([^<]*)<\/td><\/tr>/g,
    ),
  ].map((match) => `${decode(match[1]!)}: ${decode(match[2]!)}`);
}

describe.each(testDialects)('posting progress updates from a file on %s', (dialect) => {
  let testApp: TestApp;
  let icsActor: Actor;
  const people: Record<'icsAdmin' | 'leadEditor' | 'outsider', TestUser> = {} as never;
  const browsers: Record<'icsAdmin' | 'leadEditor' | 'outsider' | 'anonymous', HttpAgent> =
    {} as never;

  const db = () => testApp.services.database.db;

  /** A published plan with actions led by two trusts, one of them a parent with a sub-action. */
  async function newPlan(title: string) {
    const plans = testApp.services.greenPlans;
    const planId = await plans.createPlan(
      icsActor,
      {
        title,
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    const action = (reference: string, lead: string, extra: Record<string, string> = {}) =>
      plans.createAction(
        icsActor,
        planId,
        {
          reference,
          area: 'medicines',
          title: `Action ${reference}`,
          lead_organisation: lead,
          start_date: '2024-04-01',
          due_date: '2026-03-31',
          status: 'not_started',
          progress_percent: '0',
          ...extra,
        },
        context,
      );
    const ids = {
      'U-1': await action('U-1', 'RWE'),
      'U-2': await action('U-2', 'RT5'),
      'U-3': await action('U-3', 'RWE'),
      'U-3.1': await action('U-3.1', 'RWE', { parent_reference: 'U-3' }),
    };
    return { planId, ids };
  }

  async function upload(agent: HttpAgent, planId: string, text: string, name = 'updates.csv') {
    return postFile(testApp.app, agent, `/green-plans/${planId}/updates/import`, {
      field: 'updatesFile',
      name,
      type: CSV,
      bytes: Buffer.from(text),
    });
  }

  async function updatesOf(actionId: string) {
    return db()
      .selectFrom('green_plan_updates')
      .select(['update_date', 'status', 'progress_percent', 'narrative', 'author_user_id'])
      .where('action_id', '=', actionId)
      .orderBy('update_date')
      .execute();
  }

  async function actionRow(actionId: string) {
    return db()
      .selectFrom('green_plan_actions')
      .select(['status', 'progress_percent'])
      .where('id', '=', actionId)
      .executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    // Files in the database, so that bytes no stored file owns can be counted.
    testApp = await createTestApp(dialect, {
      configOverrides: { files: { store: 'database', dir: os.tmpdir() } },
    });
    const { services } = testApp;
    people.icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    people.leadEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'RWE', role: 'editor' }],
    });
    people.outsider = await buildUser(services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    icsActor = await actorFor(services, people.icsAdmin.id);
    for (const name of ['icsAdmin', 'leadEditor', 'outsider'] as const) {
      browsers[name] = new HttpAgent(testApp.app);
      await signInAs(browsers[name], people[name], () => currentTotp(people[name]));
    }
    browsers.anonymous = new HttpAgent(testApp.app);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('refuses an update dated before the action’s status or progress was last set, on the form and in a file', async () => {
    const { planId } = await newPlan('Added late');
    const plans = testApp.services.greenPlans;
    // Added today with no start date: its status and progress are set from today.
    const late = await plans.createAction(
      icsActor,
      planId,
      {
        reference: 'U-9',
        area: 'medicines',
        title: 'Action U-9',
        lead_organisation: 'RWE',
        status: 'not_started',
        progress_percent: '0',
      },
      context,
    );
    const today = ukCalendarDate(new Date());
    const earlier = new Date(Date.parse(`${today}T12:00:00Z`) - 3 * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const message = `The date of the update cannot be before ${today}, when the action’s status or progress was last set`;
    await expect(
      plans.postUpdate(
        icsActor,
        planId,
        late,
        {
          updateDate: earlier,
          status: 'on_track',
          progressPercent: '10',
          narrative: 'Started',
          links: '',
        },
        [],
        context,
      ),
    ).rejects.toMatchObject({ fieldErrors: { updateDate: message } });
    const refused = await upload(
      browsers.leadEditor,
      planId,
      [HEADER, `U-9,Action U-9,${earlier},On track,10,Started,`].join('\n'),
    );
    expect(refused.statusCode).toBe(400);
    expect(problemsIn(refused.body)).toEqual([`Row 2, column "date": ${message}`]);
    expect(await updatesOf(late)).toEqual([]);
    // Dated today, it is taken.
    const taken = await upload(
      browsers.leadEditor,
      planId,
      [HEADER, `U-9,Action U-9,${today},On track,10,Started,`].join('\n'),
    );
    expect(taken.statusCode).toBe(303);
    expect(await updatesOf(late)).toHaveLength(1);
  });

  it('offers a lead editor a sheet of the actions they can update, and posts what they fill in', async () => {
    const { planId, ids } = await newPlan('Quarterly returns');
    const sheet = await browsers.leadEditor.get(`/green-plans/${planId}/updates.csv`);
    expect(sheet.statusCode).toBe(200);
    expect(sheet.headers['content-disposition']).toMatch(/-updates\.csv"$/);
    // The trust's own actions only: U-2 is led by another trust.
    expect(sheet.body).toBe(
      `\uFEFF${HEADER}\r\nU-1,Action U-1,,Not started,0,,\r\nU-3,Action U-3,,Not started,0,,\r\nU-3.1,Action U-3.1,,Not started,0,,\r\n`,
    );
    const plan = await browsers.leadEditor.get(`/green-plans/${planId}`);
    expect(plan.body).toContain('Post updates from a spreadsheet');

    const filesBefore = await countStoredFiles(db());
    // Two updates to U-1 in date order above U-1's row as the sheet gave it, one to the
    // sub-action, the parent left as it was.
    const filled = [
      HEADER,
      'U-1,Action U-1,2025-06-30,On track,25,"Formulary agreed, pharmacists briefed",',
      'U-1,Action U-1,2025-09-30,at_risk,40%,Switches slower than planned,"Audit | https://example.nhs.uk/audit"',
      'U-1,Action U-1,,Not started,0,,',
      'U-3,Action U-3,,not_started,0,,',
      'U-3.1,Action U-3.1,2025-09-30,complete,100,Done,',
    ].join('\n');
    const posted = await upload(browsers.leadEditor, planId, filled);
    expect(posted.statusCode).toBe(303);
    expect(posted.headers.location).toBe(`/green-plans/${planId}?updatesImported=3-0-2`);
    const banner = await browsers.leadEditor.get(String(posted.headers.location));
    expect(banner.body).toContain(
      'Progress updates posted: 3 new, 0 already posted, 2 rows left as they were.',
    );
    expect(await updatesOf(ids['U-1'])).toEqual([
      {
        update_date: '2025-06-30',
        status: 'on_track',
        progress_percent: 25,
        narrative: 'Formulary agreed, pharmacists briefed',
        author_user_id: people.leadEditor.id,
      },
      {
        update_date: '2025-09-30',
        status: 'at_risk',
        progress_percent: 40,
        narrative: 'Switches slower than planned',
        author_user_id: people.leadEditor.id,
      },
    ]);
    expect(await actionRow(ids['U-1'])).toEqual({ status: 'at_risk', progress_percent: 40 });
    expect(await actionRow(ids['U-3.1'])).toEqual({ status: 'complete', progress_percent: 100 });
    expect(await updatesOf(ids['U-3'])).toEqual([]);
    const link = await db()
      .selectFrom('green_plan_update_links')
      .select(['title', 'url'])
      .execute();
    expect(link).toContainEqual({ title: 'Audit', url: 'https://example.nhs.uk/audit' });
    // Each change is in the action's history and audited, and the file is kept with its audit.
    const history = await db()
      .selectFrom('green_plan_action_changes')
      .select(['kind', 'effective_on'])
      .where('action_id', '=', ids['U-1'])
      .where('kind', '=', 'progress_update')
      .orderBy('effective_on')
      .execute();
    expect(history.map((entry) => entry.effective_on)).toEqual(['2025-06-30', '2025-09-30']);
    const audits = await db()
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', 'in', ['green_plan.updates_imported', 'green_plan.update_posted'])
      .where('target_id', 'in', [planId, ...Object.values(ids)])
      .execute();
    expect(audits.filter((entry) => entry.action === 'green_plan.update_posted')).toHaveLength(3);
    const fileAudit = audits.find((entry) => entry.action === 'green_plan.updates_imported')!;
    expect(JSON.parse(fileAudit.details!)).toMatchObject({
      rows: 5,
      created: 3,
      unchanged: 0,
      blank: 2,
    });
    expect(await countStoredFiles(db())).toBe(filesBefore + 1);

    // The same file again posts nothing and keeps no second copy.
    const again = await upload(browsers.leadEditor, planId, filled);
    expect(again.headers.location).toBe(`/green-plans/${planId}?updatesImported=0-3-2`);
    expect(await updatesOf(ids['U-1'])).toHaveLength(2);
    expect(await countStoredFiles(db())).toBe(filesBefore + 1);
    expect(await countUnownedUploads(db())).toBe(0);
  });

  it('takes an undated row saying what the latest update says as that update, and posts a file sent twice at once only once', async () => {
    const { planId, ids } = await newPlan('Undated returns');
    await testApp.services.greenPlans.postUpdate(
      icsActor,
      planId,
      ids['U-1'],
      {
        updateDate: '2025-09-30',
        narrative: 'Switches slower than planned',
        status: 'at_risk',
        progressPercent: '40',
        links: '',
      },
      [],
      context,
    );
    // Posted on an earlier day without a date: the same words again are not a new update.
    const undated = `${HEADER}\nU-1,,,At risk,40,Switches slower than planned,\n`;
    const again = await upload(browsers.leadEditor, planId, undated);
    expect(again.headers.location).toBe(`/green-plans/${planId}?updatesImported=0-1-0`);
    expect(await updatesOf(ids['U-1'])).toHaveLength(1);

    // A double click: two posts of the same file at once post its updates once.
    const file = `${HEADER}\nU-3.1,,2025-10-31,On track,30,Survey done,\n`;
    const [first, second] = await Promise.all([
      upload(browsers.leadEditor, planId, file),
      upload(browsers.leadEditor, planId, file),
    ]);
    expect([first.headers.location, second.headers.location].sort()).toEqual([
      `/green-plans/${planId}?updatesImported=0-1-0`,
      `/green-plans/${planId}?updatesImported=1-0-0`,
    ]);
    expect(await updatesOf(ids['U-3.1'])).toHaveLength(1);
    expect(await countUnownedUploads(db())).toBe(0);
  });

  it('says a row left as it was no longer matches when its action changed after the sheet was downloaded', async () => {
    const { planId, ids } = await newPlan('Stale sheet');
    const sheet = (await browsers.leadEditor.get(`/green-plans/${planId}/updates.csv`)).body;
    await testApp.services.greenPlans.postUpdate(
      icsActor,
      planId,
      ids['U-1'],
      {
        updateDate: '',
        narrative: 'Started',
        status: 'on_track',
        progressPercent: '10',
        links: '',
      },
      [],
      context,
    );
    const refused = await upload(browsers.leadEditor, planId, sheet);
    expect(refused.statusCode).toBe(400);
    expect(problemsIn(refused.body)).toEqual([
      'Row 2, column "narrative": Enter what has happened since the last update. If you left this row as it was, U-1 has changed since the sheet was downloaded: download it again',
    ]);
  });

  it('lists every problem by row and column and posts nothing', async () => {
    const { planId, ids } = await newPlan('Returns with mistakes');
    await testApp.services.greenPlans.postUpdate(
      icsActor,
      planId,
      ids['U-1'],
      {
        updateDate: '2025-09-30',
        narrative: 'Started',
        status: 'on_track',
        progressPercent: '10',
        links: '',
      },
      [],
      context,
    );
    const filesBefore = await countStoredFiles(db());
    const file = [
      HEADER,
      'U-9,,2025-10-31,on_track,10,Unknown action,',
      'U-2,,2025-10-31,on_track,10,Not my trust,',
      'U-1,,2025-06-30,on_track,20,Before the latest update,',
      'U-3.1,,2025-10-31,going well,150,,not a link',
      'U-3.1,,2025-08-31,on_track,50,Before the row above,',
      'U-3.1,,2099-01-01,complete,90,In the future,',
    ].join('\n');
    const refused = await upload(browsers.leadEditor, planId, file);
    expect(refused.statusCode).toBe(400);
    const problems = problemsIn(refused.body);
    expect(problems).toEqual([
      'Row 2, column "reference": No action of this plan has the reference "U-9"',
      `Row 3, column "reference": You cannot post updates to U-2: its lead organisation's editors and ICS admins can`,
      'Row 4, column "date": The date of the update cannot be before the latest update (2025-09-30)',
      'Row 5, column "narrative": Enter what has happened since the last update',
      'Row 5, column "status": "going well" is not a status: use one of Not started, On track, At risk, Off track, Complete, Cancelled',
      'Row 5, column "progress_percent": The progress must be a whole number from 0 to 100',
      'Row 5, column "links": "not a link" is not a web address: write one link a line, as "Title | https://…" or just the address',
      'Row 7, column "date": The date of the update cannot be in the future',
      'Row 7, column "progress_percent": A complete action must be at 100% progress',
    ]);
    expect(refused.body).toContain('The file has 9 problems, listed below; no update was posted');
    expect(await updatesOf(ids['U-1'])).toHaveLength(1);
    expect(await updatesOf(ids['U-3.1'])).toEqual([]);
    expect(await countStoredFiles(db())).toBe(filesBefore);
    expect(await countUnownedUploads(db())).toBe(0);

    // A row dated before an earlier row of the same action is caught once the rows above are fine.
    const order = await upload(
      browsers.leadEditor,
      planId,
      [
        HEADER,
        'U-3.1,,2025-10-31,on_track,50,First,',
        'U-3.1,,2025-08-31,on_track,60,Second,',
      ].join('\n'),
    );
    expect(order.statusCode).toBe(400);
    expect(problemsIn(order.body)).toEqual([
      'Row 3, column "date": The date of the update cannot be before the latest update (2025-10-31)',
    ]);
    expect(await updatesOf(ids['U-3.1'])).toEqual([]);

    // A header without the columns it needs is refused as a whole.
    const header = await upload(browsers.leadEditor, planId, 'reference,notes\nU-1,x\n');
    expect(header.statusCode).toBe(400);
    expect(problemsIn(header.body)[0]).toContain(
      'The header row must name the columns "status", "progress_percent" and "narrative" (found "reference", "notes")',
    );
  });

  it('reads the "Updates" sheet of a workbook', async () => {
    const { planId, ids } = await newPlan('Workbook returns');
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Notes').addRow(['Read me first']);
    const sheet = workbook.addWorksheet('Updates');
    sheet.addRow(['reference', 'date', 'status', 'progress_percent', 'narrative']);
    sheet.addRow(['U-2', '2025-07-31', 'Off track', 5, 'Supplier delay']);
    const posted = await postFile(
      testApp.app,
      browsers.icsAdmin,
      `/green-plans/${planId}/updates/import`,
      {
        field: 'updatesFile',
        name: 'returns.xlsx',
        type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        bytes: Buffer.from(await workbook.xlsx.writeBuffer()),
      },
    );
    expect(posted.statusCode).toBe(303);
    expect(await actionRow(ids['U-2'])).toEqual({ status: 'off_track', progress_percent: 5 });
  });

  it('refuses people who can update none of the plan’s actions', async () => {
    const { planId } = await newPlan('Guarded returns');
    const url = `/green-plans/${planId}/updates/import`;
    expect((await browsers.outsider.get(url)).statusCode).toBe(403);
    expect((await browsers.outsider.get(`/green-plans/${planId}/updates.csv`)).statusCode).toBe(
      403,
    );
    expect(
      (await upload(browsers.outsider, planId, `${HEADER}\nU-1,,,on_track,5,x,`)).statusCode,
    ).toBe(403);
    const signedOut = await browsers.anonymous.get(url);
    expect(signedOut.statusCode).toBe(303);
    expect(String(signedOut.headers.location)).toMatch(/^\/sign-in/);
    expect((await browsers.outsider.get(`/green-plans/${planId}`)).body).not.toContain(
      'Post updates from a spreadsheet',
    );
  });
});
