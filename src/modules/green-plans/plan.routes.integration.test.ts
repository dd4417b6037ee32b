import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { submissionKeyOf } from '../../../test/support/html.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { multipartBody, openActionEditForm, SMALL_PDF } from './green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'route-tests' };

/** The values a page's form shows for the named fields: inputs, checked radios and textareas. */
function formValuesOf(html: string, names: readonly string[]): Record<string, string> {
  const decode = (text: string) =>
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
      .replace(/&amp;/g, '&');
  const values: Record<string, string> = {};
  for (const name of names) {
    const textarea = new RegExp(`<textarea[^>]*name="${name}"[^>]*>([^<]*)</textarea>`).exec(html);
    const radio = new RegExp(
      `<input[^>]*name="${name}"[^>]*type="radio"[^>]*value="([^"]*)"[^>]*checked`,
    ).exec(html);
    const input = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
    const found = textarea ?? radio ?? input;
    values[name] = found ? decode(found[1]!) : '';
  }
  return values;
}

describe.each(testDialects)('Green Plan pages and their refusals on %s', (dialect) => {
  let testApp: TestApp;
  const people: Record<string, TestUser> = {};
  const browsers: Record<string, HttpAgent> = {};
  let publishedPlan: string;
  let draftPlan: string;
  let parentAction: string;
  let childAction: string;

  async function postUpdate(
    who: string,
    actionId: string,
    fields: Record<string, string>,
    files: { name: string; type: string; bytes: Buffer }[] = [],
  ) {
    const agent = browsers[who]!;
    const body = multipartBody(
      await agent.csrfToken(),
      fields,
      files.map((file) => ({ field: 'evidence', ...file })),
    );
    return testApp.app.inject({
      method: 'POST',
      url: `/green-plans/${publishedPlan}/actions/${actionId}/updates`,
      headers: {
        'content-type': body.contentType,
        cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: body.payload,
    });
  }

  async function count(table: 'green_plan_updates' | 'stored_files' | 'posts') {
    return (await testApp.services.database.db.selectFrom(table).select('id').execute()).length;
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    people.icsAdmin = await buildUser(services, {
      displayName: 'Ina ICS',
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    people.icbEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'editor' }],
    });
    people.icbMember = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    people.leadEditor = await buildUser(services, {
      displayName: 'Lee Editor',
      memberships: [{ organisationCode: 'RWE', role: 'editor' }],
    });
    people.leadMember = await buildUser(services, {
      displayName: 'Lena Member',
      memberships: [{ organisationCode: 'RWE', role: 'member' }],
    });
    people.otherEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'RT5', role: 'editor' }],
    });
    people.outsider = await buildUser(services);
    const ics = await actorFor(services, people.icsAdmin.id);
    const plan = {
      description: '',
      ownerOrganisationCode: 'QK1',
      periodStart: '2024-04-01',
      periodEnd: '2027-03-31',
    };
    publishedPlan = await services.greenPlans.createPlan(
      ics,
      { ...plan, title: 'Route test plan', status: 'published' },
      context,
    );
    draftPlan = await services.greenPlans.createPlan(
      ics,
      { ...plan, title: 'Secret draft plan', status: 'draft' },
      context,
    );
    parentAction = await services.greenPlans.createAction(
      ics,
      publishedPlan,
      {
        reference: 'R-1',
        area: 'estates-and-facilities',
        title: 'Decarbonise heat',
        lead_organisation: 'RWE',
        owner_email: people.leadMember.email,
        start_date: '2024-04-01',
        due_date: '2024-06-30',
        status: 'on_track',
        progress_percent: '0',
      },
      context,
    );
    childAction = await services.greenPlans.createAction(
      ics,
      publishedPlan,
      {
        reference: 'R-1.1',
        parent_reference: 'R-1',
        area: 'estates-and-facilities',
        title: 'Heat pump at the first site',
        lead_organisation: 'RWE',
        status: 'on_track',
        progress_percent: '20',
      },
      context,
    );
    for (const [name, person] of Object.entries(people)) {
      browsers[name] = new HttpAgent(testApp.app);
      await signInAs(
        browsers[name]!,
        person,
        person.totpSecret ? () => currentTotp(person) : undefined,
      );
    }
    browsers.anonymous = new HttpAgent(testApp.app);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('shows published plans to everyone and drafts only to the plan’s organisation', async () => {
    expect((await browsers.anonymous!.get(`/green-plans/${publishedPlan}`)).statusCode).toBe(200);
    for (const who of ['anonymous', 'leadEditor', 'outsider']) {
      const response = await browsers[who]!.get(`/green-plans/${draftPlan}`);
      expect(response.statusCode, who).toBe(404);
      expect(response.body).not.toContain('Secret draft plan');
      expect((await browsers[who]!.get('/green-plans')).body).not.toContain('Secret draft plan');
      expect(
        (await browsers[who]!.get(`/green-plans/${draftPlan}/board-report.pdf`)).statusCode,
      ).toBe(404);
    }
    for (const who of ['icbMember', 'icsAdmin']) {
      expect((await browsers[who]!.get(`/green-plans/${draftPlan}`)).statusCode, who).toBe(200);
    }
    expect((await browsers.anonymous!.get('/green-plans/not-a-plan')).statusCode).toBe(404);
    expect(
      (await browsers.anonymous!.get(`/green-plans/${publishedPlan}/actions?status=bad`))
        .statusCode,
    ).toBe(400);
    expect(
      (await browsers.anonymous!.get(`/green-plans/${publishedPlan}/board-report?quarter=2024-q9`))
        .statusCode,
    ).toBe(400);
    // A quarter in a year no plan has is refused, not drawn.
    for (const path of ['board-report', 'board-report.pdf'])
      for (const quarter of ['0999-00-q1', '0000-01-q2', '9999-00-q3'])
        expect(
          (
            await browsers.anonymous!.get(
              `/green-plans/${publishedPlan}/${path}?quarter=${quarter}`,
            )
          ).statusCode,
          `${path} ${quarter}`,
        ).toBe(400);
  });

  it('hides owners’ names from people outside the plan’s and the lead organisation', async () => {
    const publicPage = await browsers.anonymous!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    expect(publicPage.body).not.toContain('Lena Member');
    expect(publicPage.body).toContain('Not shown');
    const memberPage = await browsers.leadMember!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    expect(memberPage.body).toContain('Lena Member');
  });

  it('lets only editors of the lead organisation and ICS admins post updates', async () => {
    const fields = {
      updateDate: '',
      status: 'at_risk',
      progressPercent: '30',
      narrative: 'Boiler survey late',
      links: '',
    };
    const before = await count('green_plan_updates');
    for (const who of ['leadMember', 'otherEditor', 'icbEditor', 'icbMember', 'outsider']) {
      const response = await postUpdate(who, childAction, fields);
      expect(response.statusCode, who).toBe(403);
    }
    const anonymous = await postUpdate('anonymous', childAction, fields);
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/sign-in/);
    for (const who of ['leadMember', 'otherEditor', 'outsider']) {
      expect(
        (
          await browsers[who]!.get(
            `/green-plans/${publishedPlan}/actions/${childAction}/updates/new`,
          )
        ).statusCode,
        who,
      ).toBe(403);
      expect(
        (
          await browsers[who]!.post(`/green-plans/${publishedPlan}/actions/${childAction}/edit`, {
            title: 'Hijacked',
          })
        ).statusCode,
        who,
      ).toBe(403);
      expect(
        (
          await browsers[who]!.post(
            `/green-plans/${publishedPlan}/actions/${childAction}/milestones`,
            { milestoneTitle: 'x', milestoneDueDate: '2025-01-01' },
          )
        ).statusCode,
        who,
      ).toBe(403);
      expect(
        (await browsers[who]!.post(`/green-plans/${publishedPlan}/edit`, { title: 'Hijacked' }))
          .statusCode,
        who,
      ).toBe(403);
    }
    expect(await count('green_plan_updates')).toBe(before);
    expect(
      (
        await browsers.icsAdmin!.get(
          `/green-plans/${publishedPlan}/actions/${childAction}/updates/new`,
        )
      ).statusCode,
    ).toBe(200);
  });

  it('takes an update with an evidence file and a link from a lead editor, and shows the progress to a signed-out visitor', async () => {
    const response = await postUpdate(
      'leadEditor',
      childAction,
      {
        updateDate: '',
        status: 'at_risk',
        progressPercent: '60',
        narrative: 'Heat pump installed; commissioning next.',
        links: 'Survey report | https://example.nhs.uk/survey',
      },
      [{ name: 'Commissioning plan.pdf', type: 'application/pdf', bytes: SMALL_PDF }],
    );
    expect(response.statusCode).toBe(303);
    const page = await browsers.anonymous!.get(
      `/green-plans/${publishedPlan}/actions/${childAction}`,
    );
    expect(page.body).toContain('<span data-testid="action-progress">60%</span>');
    expect(page.body).toContain('Heat pump installed; commissioning next.');
    expect(page.body).toContain('href="https://example.nhs.uk/survey"');
    expect(page.body).toContain('Status: On track → At risk');
    // The parent's progress is the mean of its only child.
    const parent = await browsers.anonymous!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    expect(parent.body).toContain('<span data-testid="action-progress">60%</span>');
    const fileId = /\/evidence\/([0-9a-f-]{36})"/.exec(page.body)![1]!;
    const download = await browsers.anonymous!.get(
      `/green-plans/${publishedPlan}/evidence/${fileId}`,
    );
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.headers['content-disposition']).toMatch(
      /^attachment; filename="Commissioning plan.pdf"/,
    );
    expect(download.rawPayload.equals(SMALL_PDF)).toBe(true);
    // An evidence file is found only through its own plan.
    expect(
      (await browsers.anonymous!.get(`/green-plans/${draftPlan}/evidence/${fileId}`)).statusCode,
    ).toBe(404);
  });

  it('refuses bad updates whole: wrong file type, progress out of range, future dates, bad links', async () => {
    const updates = await count('green_plan_updates');
    const files = await count('stored_files');
    const good = {
      updateDate: '',
      status: 'on_track',
      progressPercent: '70',
      narrative: 'More done',
      links: '',
    };
    const fake = await postUpdate('leadEditor', childAction, good, [
      { name: 'photo.png', type: 'image/png', bytes: SMALL_PDF.subarray(0, 100) },
      {
        name: 'evidence.pdf',
        type: 'application/pdf',
        bytes: Buffer.from('<html><script>alert(1)</script></html>'),
      },
    ]);
    expect(fake.statusCode).toBe(400);
    expect(fake.body).toContain('evidence.pdf: The selected file must be a PDF, PNG image');
    const cases: [Record<string, string>, string][] = [
      [{ ...good, progressPercent: '150' }, 'The progress must be a whole number from 0 to 100'],
      [{ ...good, progressPercent: '-1' }, 'The progress must be a whole number from 0 to 100'],
      [
        { ...good, status: 'complete', progressPercent: '90' },
        'A complete action must be at 100% progress',
      ],
      [{ ...good, updateDate: '2999-01-01' }, 'The date of the update cannot be in the future'],
      [{ ...good, updateDate: '2024-02-30' }, 'Enter the date of the update as a real date'],
      [{ ...good, narrative: '  ' }, 'Enter what has happened since the last update'],
      [{ ...good, links: 'javascript:alert(1)' }, 'is not a web address'],
      [{ ...good, status: 'done' }, 'Choose a status'],
    ];
    for (const [fields, message] of cases) {
      const response = await postUpdate('leadEditor', childAction, fields, [
        { name: 'ok.pdf', type: 'application/pdf', bytes: SMALL_PDF },
      ]);
      expect(response.statusCode, message).toBe(400);
      expect(response.body, message).toContain(message);
    }
    expect(await count('green_plan_updates')).toBe(updates);
    expect(await count('stored_files')).toBe(files);
  });

  it('refuses bad actions: dates out of order, unknown owners and organisations, percentages out of range, cycles', async () => {
    const url = `/green-plans/${publishedPlan}/actions`;
    const base = {
      area: 'medicines',
      title: 'Green inhalers',
      lead_organisation: 'RWE',
      status: 'on_track',
      progress_percent: '10',
      weight: '1',
    };
    const cases: [Record<string, string>, string][] = [
      [
        { ...base, start_date: '2025-01-01', due_date: '2024-01-01' },
        'The due date (2024-01-01) must be on or after the start date (2025-01-01)',
      ],
      [
        { ...base, owner_email: 'ghost@example.nhs.net' },
        'No active Greenspace account has the email address ghost@example.nhs.net',
      ],
      [
        { ...base, owner_email: people.otherEditor!.email },
        'is not a member of the lead organisation, a partner organisation or the plan&#39;s organisation',
      ],
      [
        { ...base, lead_organisation: 'NOPE1' },
        'No organisation in Greenspace has the ODS code NOPE1',
      ],
      [
        { ...base, partner_organisations: 'RT5; BAD9' },
        'No organisation in Greenspace has the ODS code BAD9',
      ],
      [{ ...base, progress_percent: '101' }, 'The progress must be a whole number from 0 to 100'],
      [{ ...base, weight: '-2' }, 'The weight must be a number above 0'],
      [
        { ...base, parent_reference: 'R-1', area: 'medicines' },
        'A sub-action is in the same area as its parent',
      ],
    ];
    for (const [fields, message] of cases) {
      const response = await browsers.icsAdmin!.post(url, fields);
      expect(response.statusCode, message).toBe(400);
      expect(response.body, message).toContain(message);
    }
    // Making R-1 a sub-action of its own sub-action would make a loop.
    const parentEditUrl = `/green-plans/${publishedPlan}/actions/${parentAction}/edit`;
    const cycle = await browsers.icsAdmin!.post(parentEditUrl, {
      opened: await openActionEditForm(browsers.icsAdmin!, parentEditUrl),
      parent_reference: 'R-1.1',
      area: 'estates-and-facilities',
      title: 'Decarbonise heat',
      lead_organisation: 'RWE',
      status: 'on_track',
      progress_percent: '0',
      weight: '1',
    });
    expect(cycle.statusCode).toBe(400);
    expect(cycle.body).toContain('The parent references go round in a loop: R-1 → R-1.1 → R-1');
    // Nor can R-1 move to another area while its sub-action stays in this one.
    const moved = await browsers.icsAdmin!.post(parentEditUrl, {
      opened: await openActionEditForm(browsers.icsAdmin!, parentEditUrl),
      parent_reference: '',
      area: 'medicines',
      title: 'Decarbonise heat',
      lead_organisation: 'RWE',
      status: 'on_track',
      progress_percent: '0',
      weight: '1',
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.body).toContain(
      'A sub-action is in the same area as its parent, and R-1.1 is in Estates and facilities',
    );
    const listing = await testApp.services.greenPlans.listActions(null, publishedPlan, {});
    expect(listing.actions.map((action) => action.reference)).toEqual(['R-1', 'R-1.1']);
    expect(new Set(listing.actions.map((action) => action.areaSlug))).toEqual(
      new Set(['estates-and-facilities']),
    );
    // An editor of the lead organisation who does not edit for the plan cannot add a top-level action.
    expect((await browsers.leadEditor!.post(url, base)).statusCode).toBe(403);
    // …but may add a sub-action under an action their organisation leads.
    const sub = await browsers.leadEditor!.post(url, {
      ...base,
      parent_reference: 'R-1',
      area: 'estates-and-facilities',
      reference: 'R-1.2',
    });
    expect(sub.statusCode).toBe(303);
  });

  it('makes one plan, and one action, from a form sent twice', async () => {
    const keyOf = (html: string, action: string) => {
      const key = submissionKeyOf(html, action);
      expect(key, `no one-time key in the form posting to ${action}`).toBeDefined();
      return key!;
    };
    const { db } = testApp.services.database;
    const browser = browsers.icsAdmin!;
    const planForm = await browser.get('/green-plans/new');
    const planFields = {
      title: 'Sent twice from a slow connection',
      description: '',
      ownerOrganisationCode: 'QK1',
      periodStart: '2025-04-01',
      periodEnd: '2028-03-31',
      status: 'draft',
      submissionKey: keyOf(planForm.body, '/green-plans'),
    };
    const plansMade = [
      await browser.post('/green-plans', planFields),
      await browser.post('/green-plans', planFields),
    ];
    expect(plansMade.map((response) => response.statusCode)).toEqual([303, 303]);
    expect(plansMade[1]!.headers.location).toBe(plansMade[0]!.headers.location);
    const madePlans = await db
      .selectFrom('green_plans')
      .select('id')
      .where('title', '=', planFields.title)
      .execute();
    expect(madePlans).toHaveLength(1);
    const planId = madePlans[0]!.id;

    // A new action with no reference is numbered by the form: sent twice, the second would have
    // taken the next number.
    const actionsUrl = `/green-plans/${planId}/actions`;
    const actionForm = await browser.get(`${actionsUrl}/new`);
    expect(actionForm.statusCode).toBe(200);
    const actionFields = {
      reference: '',
      parent_reference: '',
      area: 'estates-and-facilities',
      title: 'LED lighting in every building',
      lead_organisation: 'QK1',
      status: 'not_started',
      progress_percent: '0',
      weight: '1',
      submissionKey: keyOf(actionForm.body, actionsUrl),
    };
    const actionsMade = [
      await browser.post(actionsUrl, actionFields),
      await browser.post(actionsUrl, actionFields),
    ];
    expect(actionsMade.map((response) => response.statusCode)).toEqual([303, 303]);
    expect(actionsMade[1]!.headers.location).toBe(actionsMade[0]!.headers.location);
    const listing = await testApp.services.greenPlans.listActions(
      await actorFor(testApp.services, people.icsAdmin!.id),
      planId,
      {},
    );
    expect(listing.actions.map((action) => action.title)).toEqual([actionFields.title]);
    // Written again with another title, the same form makes a second action.
    const another = await browser.post(actionsUrl, { ...actionFields, title: 'Solar panels' });
    expect(another.statusCode).toBe(303);
    expect(another.headers.location).not.toBe(actionsMade[0]!.headers.location);
  });

  it('refuses plans with dates out of order or an owner that cannot own a plan', async () => {
    const fields = {
      title: 'New plan',
      description: '',
      ownerOrganisationCode: 'QK1',
      periodStart: '2025-04-01',
      periodEnd: '2024-04-01',
      status: 'draft',
    };
    const outOfOrder = await browsers.icsAdmin!.post('/green-plans', fields);
    expect(outOfOrder.statusCode).toBe(400);
    expect(outOfOrder.body).toContain('The end of the plan period must be after its start');
    const practice = await browsers.icsAdmin!.post('/green-plans', {
      ...fields,
      periodEnd: '2027-03-31',
      ownerOrganisationCode: 'C82001',
    });
    expect(practice.statusCode).toBe(400);
    expect(practice.body).toContain('A plan is owned by an integrated care board or an NHS trust');
    expect(
      (
        await browsers.otherEditor!.post('/green-plans', {
          ...fields,
          periodEnd: '2027-03-31',
          ownerOrganisationCode: 'RWE',
        })
      ).statusCode,
    ).toBe(403);
    expect((await browsers.leadMember!.get('/green-plans/new')).statusCode).toBe(403);
    const trustPlan = await browsers.otherEditor!.post('/green-plans', {
      ...fields,
      periodEnd: '2027-03-31',
      ownerOrganisationCode: 'RT5',
    });
    expect(trustPlan.statusCode).toBe(303);
  });

  it('takes comments from members of the organisations involved, and no one else', async () => {
    const url = `/green-plans/${publishedPlan}/actions/${parentAction}/comments`;
    const before = await count('posts');
    expect((await browsers.outsider!.post(url, { body: 'Hello' })).statusCode).toBe(403);
    expect((await browsers.otherEditor!.post(url, { body: 'Hello' })).statusCode).toBe(403);
    expect((await browsers.anonymous!.post(url, { body: 'Hello' })).statusCode).toBe(303);
    const empty = await browsers.leadMember!.post(url, { body: '   ' });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Write your message');
    expect(await count('posts')).toBe(before);
    const posted = await browsers.leadMember!.post(url, { body: 'Survey booked for May.' });
    expect(posted.statusCode).toBe(303);
    expect(String(posted.headers.location)).toMatch(
      new RegExp(`^/green-plans/${publishedPlan}/actions/${parentAction}\\?done=posted#post-`),
    );
    // The action page's comment form carries a one-time key: sent twice, it posts once.
    const actionPage = await browsers.icbMember!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    const submissionKey = submissionKeyOf(actionPage.body, url);
    expect(submissionKey).toBeDefined();
    const thanks = { body: 'Thanks.', submissionKey: submissionKey! };
    const sentTwice = [
      await browsers.icbMember!.post(url, thanks),
      await browsers.icbMember!.post(url, thanks),
    ];
    expect(sentTwice.map((response) => response.statusCode)).toEqual([303, 303]);
    expect(String(sentTwice[1]!.headers.location)).toBe(
      String(sentTwice[0]!.headers.location).replace('done=posted#', 'done=posted-once#'),
    );
    // Comments on actions are the shared discussion posts: quoting, reporting and history too.
    const outsiderView = await browsers.outsider!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    expect(outsiderView.body).toContain(
      'Comments are for the people of the organisations working on this action.',
    );
    const page = await browsers.anonymous!.get(
      `/green-plans/${publishedPlan}/actions/${parentAction}`,
    );
    expect(page.body).toContain('Comments (2)');
    expect(page.body).toContain('Survey booked for May.');
  });

  it('records milestones and KPIs, refusing dates out of order', async () => {
    const action = `/green-plans/${publishedPlan}/actions/${childAction}`;
    const early = await browsers.leadEditor!.post(
      `/green-plans/${publishedPlan}/actions/${parentAction}/milestones`,
      { milestoneTitle: 'Design', milestoneDueDate: '2020-01-01' },
    );
    expect(early.statusCode).toBe(400);
    expect(early.body).toContain(
      'The milestone cannot be due before the action starts (2024-04-01)',
    );
    // The form comes back open, so the error the summary links to is shown.
    expect(early.body).toMatch(/<details class="nhsuk-details"[^>]* open>/);
    expect(early.body).toContain('href="#milestoneDueDate"');
    expect(early.body).toContain('id="milestoneDueDate-error"');
    expect(
      (
        await browsers.leadEditor!.post(`${action}/milestones`, {
          milestoneTitle: 'Commissioned',
          milestoneDueDate: '2025-01-31',
        })
      ).statusCode,
    ).toBe(303);
    // The action cannot then start after its milestone is due.
    const laterStart = await browsers.leadEditor!.post(`${action}/edit`, {
      opened: await openActionEditForm(browsers.leadEditor!, `${action}/edit`),
      parent_reference: 'R-1',
      area: 'estates-and-facilities',
      title: 'Heat pump at the first site',
      lead_organisation: 'RWE',
      start_date: '2025-02-01',
      status: 'on_track',
      progress_percent: '20',
      weight: '1',
    });
    expect(laterStart.statusCode).toBe(400);
    expect(laterStart.body).toContain(
      'The milestone &quot;Commissioned&quot; is due on 2025-01-31, before the action starts (2025-02-01)',
    );
    expect(laterStart.body).toContain('href="#start_date"');
    expect(laterStart.body).toContain('id="start_date-error"');
    const detail = await testApp.services.greenPlans.getAction(null, publishedPlan, childAction);
    const milestone = detail.action.milestones.find((item) => item.title === 'Commissioned')!;
    expect(milestone.overdue).toBe(true);
    expect(
      (
        await browsers.leadEditor!.post(`${action}/milestones/${milestone.id}/done`, {
          doneOn: '2025-01-20',
        })
      ).statusCode,
    ).toBe(303);
    const again = await browsers.leadEditor!.post(`${action}/milestones/${milestone.id}/done`, {
      doneOn: '2025-01-21',
    });
    expect(again.statusCode).toBe(400);
    // The error summary links to a message on the page that says which milestone it is.
    expect(again.body).toContain('href="#doneOn"');
    expect(again.body).toMatch(/<[a-z]+[^>]* id="doneOn"[^>]*>[^<]*<span[^>]*>Error:<\/span>/);
    expect(again.body).toContain('The milestone “Commissioned” is already done');

    const kpiFields = {
      reference: 'K-1',
      name: 'Gas use',
      description: '',
      unit: 'MWh',
      direction: 'decrease',
      baselineValue: '1000',
      baselineDate: '2024-04-01',
      targets: '2023-03-31 500',
    };
    const backwards = await browsers.icsAdmin!.post(
      `/green-plans/${publishedPlan}/kpis`,
      kpiFields,
    );
    expect(backwards.statusCode).toBe(400);
    expect(backwards.body).toContain('must be after the baseline date (2024-04-01)');
    expect(
      (
        await browsers.leadEditor!.post(`/green-plans/${publishedPlan}/kpis`, {
          ...kpiFields,
          targets: '2030-03-31 200',
        })
      ).statusCode,
    ).toBe(403);
    const created = await browsers.icsAdmin!.post(`/green-plans/${publishedPlan}/kpis`, {
      ...kpiFields,
      targets: '2030-03-31 200 80% cut',
    });
    expect(created.statusCode).toBe(303);
    const kpiUrl = created.headers.location as string;
    expect(
      (
        await browsers.icsAdmin!.post(`${kpiUrl}/data-points`, {
          observedOn: '2025-04-01',
          value: 'lots',
          note: '',
        })
      ).statusCode,
    ).toBe(400);
    // The form reads numbers as a values file does: a decimal comma is not read as thousands.
    const decimalComma = await browsers.icsAdmin!.post(`${kpiUrl}/data-points`, {
      observedOn: '2025-04-01',
      value: '1,5',
      note: '',
    });
    expect(decimalComma.statusCode).toBe(400);
    expect(decimalComma.body).toContain('decimals with a point');
    expect(
      (
        await browsers.icsAdmin!.post(`${kpiUrl}/data-points`, {
          observedOn: '2025-04-01',
          value: '700',
          note: 'Meter readings',
        })
      ).statusCode,
    ).toBe(303);
    expect((await browsers.icsAdmin!.post(`${kpiUrl}/actions`, { action: 'R-1' })).statusCode).toBe(
      303,
    );
    const page = await browsers.anonymous!.get(kpiUrl);
    expect(page.body).toContain('Ahead of trajectory');
    expect(page.body).toContain('Decarbonise heat');
  });

  it('lets the plan’s editors change a KPI and unlink its actions, keeping its values', async () => {
    const { services } = testApp;
    const db = services.database.db;
    const ics = await actorFor(services, people.icsAdmin!.id);
    const planId = await services.greenPlans.createPlan(
      ics,
      {
        title: 'KPI change plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2032-03-31',
        status: 'published',
      },
      context,
    );
    const boilers = await services.greenPlans.createAction(
      ics,
      planId,
      {
        reference: 'U-1',
        area: 'estates-and-facilities',
        title: 'Boiler replacement',
        lead_organisation: 'RWE',
        status: 'on_track',
        progress_percent: '10',
      },
      context,
    );
    const kpiInput = {
      reference: 'G-1',
      name: 'Gas use',
      description: 'Metered gas across the estate.',
      unit: 'MWh',
      direction: 'decrease',
      baselineValue: '1000',
      baselineDate: '2024-04-01',
      targets: '2030-03-31 200 80% cut',
    };
    const kpiId = await services.greenPlans.createKpi(ics, planId, kpiInput, context);
    await services.greenPlans.createKpi(
      ics,
      planId,
      { ...kpiInput, reference: 'G-2', name: 'Oil use' },
      context,
    );
    await services.greenPlans.linkKpiToAction(ics, planId, kpiId, 'U-1', context);
    const kpiUrl = `/green-plans/${planId}/kpis/${kpiId}`;
    expect(
      (
        await browsers.icsAdmin!.post(`${kpiUrl}/data-points`, {
          observedOn: '2025-04-01',
          value: '800',
          note: '',
        })
      ).statusCode,
    ).toBe(303);
    const stored = async () => ({
      kpi: await db
        .selectFrom('green_plan_kpis')
        .selectAll()
        .where('id', '=', kpiId)
        .executeTakeFirstOrThrow(),
      targets: await db
        .selectFrom('green_plan_kpi_targets')
        .select(['target_date', 'target_value', 'label'])
        .where('kpi_id', '=', kpiId)
        .orderBy('target_date')
        .execute(),
      values: await db
        .selectFrom('green_plan_kpi_data_points')
        .select(['observed_on', 'value'])
        .where('kpi_id', '=', kpiId)
        .execute(),
      links: await db
        .selectFrom('green_plan_kpi_actions')
        .select('action_id')
        .where('kpi_id', '=', kpiId)
        .execute(),
    });
    const audited = async (action: string) =>
      (
        await db
          .selectFrom('audit_events')
          .select('details')
          .where('action', '=', action)
          .where('target_id', '=', kpiId)
          .orderBy('occurred_at')
          .execute()
      ).map((row) => JSON.parse(row.details ?? '{}') as unknown);
    const original = await stored();

    // Only the plan's editors: not an editor of an action's lead organisation, nor the public.
    expect((await browsers.leadEditor!.get(`${kpiUrl}/edit`)).statusCode).toBe(403);
    expect(
      (await browsers.leadEditor!.post(`${kpiUrl}/edit`, { ...kpiInput, name: 'Hijacked' }))
        .statusCode,
    ).toBe(403);
    expect(
      (await browsers.leadEditor!.post(`${kpiUrl}/actions/unlink`, { unlink: boilers })).statusCode,
    ).toBe(403);
    expect((await browsers.anonymous!.get(`${kpiUrl}/edit`)).headers.location).toMatch(
      /^\/sign-in/,
    );
    expect(
      (await browsers.anonymous!.post(`${kpiUrl}/edit`, { ...kpiInput, name: 'Hijacked' })).headers
        .location,
    ).toMatch(/^\/sign-in/);
    expect(
      (await browsers.anonymous!.post(`${kpiUrl}/actions/unlink`, { unlink: boilers })).headers
        .location,
    ).toMatch(/^\/sign-in/);
    // A KPI is found within the plan in the address only: another plan's address finds nothing.
    const elsewhere = `/green-plans/${publishedPlan}/kpis/${kpiId}`;
    expect((await browsers.icsAdmin!.get(`${elsewhere}/edit`)).statusCode).toBe(404);
    expect(
      (await browsers.icsAdmin!.post(`${elsewhere}/edit`, { ...kpiInput, name: 'Moved' }))
        .statusCode,
    ).toBe(404);
    expect(
      (await browsers.icsAdmin!.post(`${elsewhere}/actions/unlink`, { unlink: boilers }))
        .statusCode,
    ).toBe(404);
    expect((await browsers.anonymous!.get(kpiUrl)).body).not.toContain('Change this KPI');

    const form = await browsers.icsAdmin!.get(`${kpiUrl}/edit`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('Change KPI G-1');
    expect(form.body).toContain('value="Gas use"');
    expect(form.body).toContain('2030-03-31 200 80% cut</textarea>');
    expect((await browsers.icsAdmin!.get(kpiUrl)).body).toContain(`href="${kpiUrl}/edit"`);
    // The values the form showed, which it carries to tell a later change by someone else.
    const opened = formValuesOf(form.body, ['opened']).opened!;
    expect(JSON.parse(Buffer.from(opened, 'base64url').toString()).values).toMatchObject({
      reference: 'G-1',
      name: 'Gas use',
    });

    // Refused by the same rules as a new KPI, and nothing is changed.
    const refusals: [Record<string, string>, string][] = [
      [{ baselineValue: 'lots' }, 'Enter the baseline as a number'],
      [{ targets: '2023-03-31 500' }, 'must be after the baseline date (2024-04-01)'],
      [{ reference: 'G-2' }, 'The plan already has a KPI with the reference G-2'],
      [{ targets: '' }, 'Enter at least one target'],
      [{ direction: 'sideways' }, 'Choose whether lower or higher is better'],
    ];
    for (const [change, message] of refusals) {
      const refused = await browsers.icsAdmin!.post(`${kpiUrl}/edit`, {
        ...kpiInput,
        opened,
        ...change,
      });
      expect(refused.statusCode, message).toBe(400);
      expect(refused.body, message).toContain(message);
    }
    expect(await stored()).toEqual(original);

    const changed = await browsers.icsAdmin!.post(`${kpiUrl}/edit`, {
      ...kpiInput,
      opened,
      name: 'Gas and oil use',
      baselineValue: '1200',
      targets: '2032-03-31 240 80% cut\n2028-03-31 600',
    });
    expect(changed.statusCode).toBe(303);
    expect(changed.headers.location).toBe(kpiUrl);
    const after = await stored();
    expect(after.kpi).toMatchObject({
      name: 'Gas and oil use',
      baseline_value: 1200,
      reference: 'G-1',
    });
    expect(after.targets).toEqual([
      { target_date: '2028-03-31', target_value: 600, label: null },
      { target_date: '2032-03-31', target_value: 240, label: '80% cut' },
    ]);
    expect(after.values).toEqual(original.values);
    expect(after.links).toEqual(original.links);
    // The audit keeps what each field was: a KPI has no other history.
    expect(await audited('green_plan.kpi_changed')).toEqual([
      {
        changes: [
          { field: 'name', from: 'Gas use', to: 'Gas and oil use' },
          { field: 'baseline_value', from: 1000, to: 1200 },
          {
            field: 'targets',
            from: '2030-03-31 200 80% cut',
            to: '2028-03-31 600\n2032-03-31 240 80% cut',
          },
        ],
      },
    ]);
    // The form, posted back exactly as it is shown, changes nothing and records nothing.
    const kpiFormNames = [
      'reference',
      'name',
      'description',
      'unit',
      'direction',
      'baselineValue',
      'baselineDate',
      'targets',
      'opened',
    ];
    const again = await browsers.icsAdmin!.get(`${kpiUrl}/edit`);
    const shown = formValuesOf(again.body, kpiFormNames);
    expect(shown).toMatchObject({
      baselineValue: '1200',
      targets: '2028-03-31 600\n2032-03-31 240 80% cut',
      direction: 'decrease',
    });
    const unchanged = await browsers.icsAdmin!.post(`${kpiUrl}/edit`, shown);
    expect(unchanged.statusCode).toBe(303);
    expect(await stored()).toEqual(after);
    expect(await audited('green_plan.kpi_changed')).toHaveLength(1);

    // Its reference can change too, to one the plan does not use.
    expect(
      (await browsers.icsAdmin!.post(`${kpiUrl}/edit`, { ...shown, reference: 'G-9' })).statusCode,
    ).toBe(303);
    expect((await stored()).kpi.reference).toBe('G-9');
    expect((await audited('green_plan.kpi_changed')).at(-1)).toEqual({
      changes: [{ field: 'reference', from: 'G-1', to: 'G-9' }],
    });

    // Two forms open at once. The second, saved after the first, keeps the first's change to a
    // field it left alone; where both changed one field, nothing is saved and it is marked.
    const first = formValuesOf((await browsers.icsAdmin!.get(`${kpiUrl}/edit`)).body, kpiFormNames);
    const second = formValuesOf(
      (await browsers.icbEditor!.get(`${kpiUrl}/edit`)).body,
      kpiFormNames,
    );
    const third = formValuesOf(
      (await browsers.icbEditor!.get(`${kpiUrl}/edit`)).body,
      kpiFormNames,
    );
    expect(
      (await browsers.icsAdmin!.post(`${kpiUrl}/edit`, { ...first, unit: 'GWh' })).statusCode,
    ).toBe(303);
    expect(
      (await browsers.icbEditor!.post(`${kpiUrl}/edit`, { ...second, name: 'Gas and oil burnt' }))
        .statusCode,
    ).toBe(303);
    expect((await stored()).kpi).toMatchObject({ unit: 'GWh', name: 'Gas and oil burnt' });
    const stale = await browsers.icbEditor!.post(`${kpiUrl}/edit`, { ...third, unit: 'TWh' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain('href="#edit_conflict"');
    expect(stale.body).toContain('href="#unit"');
    expect(stale.body).toContain('Unit was changed by someone else after you opened this page');
    expect(stale.body).toContain('Unit: MWh → GWh');
    expect(stale.body).toContain('What it measures: Gas and oil use → Gas and oil burnt');
    expect(formValuesOf(stale.body, ['name', 'unit'])).toEqual({
      name: 'Gas and oil burnt',
      unit: 'TWh',
    });
    expect((await stored()).kpi).toMatchObject({ unit: 'GWh' });
    const resaved = await browsers.icbEditor!.post(
      `${kpiUrl}/edit`,
      formValuesOf(stale.body, kpiFormNames),
    );
    expect(resaved.statusCode).toBe(303);
    expect((await stored()).kpi).toMatchObject({ unit: 'TWh', name: 'Gas and oil burnt' });
    // A save without the values its form was opened with is refused, listing nothing but
    // marking each field it would change from the KPI as it is now.
    const { opened: _unused, ...withoutOpened } = first;
    const bare = await browsers.icsAdmin!.post(`${kpiUrl}/edit`, withoutOpened);
    expect(bare.statusCode).toBe(409);
    expect(bare.body).not.toContain(' → ');
    expect(bare.body).toContain('This page did not say what the KPI was when you opened it');
    expect(bare.body).toContain('href="#name"');
    expect(bare.body).toContain('href="#unit"');
    expect(bare.body).not.toContain('href="#baselineValue"');
    expect((await stored()).kpi).toMatchObject({ unit: 'TWh', name: 'Gas and oil burnt' });

    // Unlinking takes the action off this KPI only; the action is named by its id.
    const unlinked = await browsers.icsAdmin!.post(`${kpiUrl}/actions/unlink`, {
      unlink: boilers,
    });
    expect(unlinked.statusCode).toBe(303);
    expect((await stored()).links).toEqual([]);
    expect(await audited('green_plan.kpi_unlinked')).toEqual([{ action: 'U-1' }]);
    const notLinked = await browsers.icsAdmin!.post(`${kpiUrl}/actions/unlink`, {
      unlink: boilers,
    });
    expect(notLinked.statusCode).toBe(400);
    expect(notLinked.body).toContain('Choose an action linked to this KPI');
    expect((await services.greenPlans.listActions(ics, planId, {})).actions).toHaveLength(1);
    // Linking again, twice: one link, and one record of it.
    const linkedBefore = (await audited('green_plan.kpi_linked')).length;
    for (let time = 0; time < 2; time++)
      await services.greenPlans.linkKpiToAction(ics, planId, kpiId, 'U-1', context);
    expect((await stored()).links).toHaveLength(1);
    expect(await audited('green_plan.kpi_linked')).toHaveLength(linkedBefore + 1);
  });

  it('lists my actions and filters by owner only for people who may see names', async () => {
    const mine = await browsers.leadMember!.get('/green-plans/my-actions');
    expect(mine.statusCode).toBe(200);
    expect(mine.body).toContain('R-1 Decarbonise heat');
    expect((await browsers.anonymous!.get('/green-plans/my-actions')).statusCode).toBe(303);
    const leadMember = await actorFor(testApp.services, people.leadMember!.id);
    const filtered = await testApp.services.greenPlans.listActions(leadMember, publishedPlan, {
      owner: 'me',
    });
    expect(filtered.actions.map((action) => action.reference)).toEqual(['R-1']);
    const overdue = await testApp.services.greenPlans.listActions(null, publishedPlan, {
      due: 'overdue',
    });
    expect(overdue.actions.map((action) => action.reference)).toEqual(['R-1']);
    const publicOwner = await testApp.services.greenPlans.listActions(null, publishedPlan, {
      owner: people.leadMember!.id,
    });
    expect(publicOwner.actions).toEqual([]);
  });

  it('lets only the plan’s editors change an action’s reference, to one the plan does not use', async () => {
    const { services } = testApp;
    const ics = await actorFor(services, people.icsAdmin!.id);
    const planId = await services.greenPlans.createPlan(
      ics,
      {
        title: 'Renumbered plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    const fields = {
      area: 'travel-and-transport',
      title: 'Fleet to electric',
      lead_organisation: 'RWE',
      status: 'on_track',
      progress_percent: '10',
      weight: '1',
    };
    const parent = await services.greenPlans.createAction(
      ics,
      planId,
      { ...fields, reference: 'T-9' },
      context,
    );
    await services.greenPlans.createAction(
      ics,
      planId,
      { ...fields, reference: 'T-9.1', parent_reference: 'T-9', title: 'Pool cars first' },
      context,
    );
    const editUrl = `/green-plans/${planId}/actions/${parent}/edit`;
    const referencesNow = async () =>
      (await services.greenPlans.listActions(ics, planId, {})).actions.map((action) => ({
        reference: action.reference,
        parent: action.parentId,
      }));

    // The lead organisation's editor may change the action, but not its reference.
    const leadForm = await browsers.leadEditor!.get(editUrl);
    expect(leadForm.statusCode).toBe(200);
    expect(leadForm.body).not.toContain('name="reference"');
    expect(leadForm.body).toContain('Reference: <strong>T-9</strong>');
    expect(
      (await browsers.leadEditor!.post(editUrl, { ...fields, reference: 'T-10' })).statusCode,
    ).toBe(403);
    // A blank or unchanged reference keeps the one it has.
    expect(
      (
        await browsers.leadEditor!.post(editUrl, {
          ...fields,
          opened: await openActionEditForm(browsers.leadEditor!, editUrl),
          reference: '',
          progress_percent: '15',
        })
      ).statusCode,
    ).toBe(303);
    expect((await referencesNow()).map((row) => row.reference)).toEqual(['T-9', 'T-9.1']);

    const adminForm = await browsers.icsAdmin!.get(editUrl);
    expect(adminForm.body).toContain('name="reference"');
    const adminVersion = await openActionEditForm(browsers.icsAdmin!, editUrl);
    const taken = await browsers.icsAdmin!.post(editUrl, {
      ...fields,
      opened: adminVersion,
      reference: 'T-9.1',
    });
    expect(taken.statusCode).toBe(400);
    expect(taken.body).toContain('The plan already has an action with the reference T-9.1');
    const malformed = await browsers.icsAdmin!.post(editUrl, {
      ...fields,
      opened: adminVersion,
      reference: 'T 9!',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.body).toContain('The reference must be at most 40 letters');
    expect((await referencesNow()).map((row) => row.reference)).toEqual(['T-9', 'T-9.1']);

    // Renamed with nothing else changed: the sub-action keeps its parent, and history says so.
    const renamed = await browsers.icsAdmin!.post(editUrl, {
      ...fields,
      opened: adminVersion,
      progress_percent: '15',
      reference: 'T-10',
    });
    expect(renamed.statusCode).toBe(303);
    const after = await referencesNow();
    expect(after.map((row) => row.reference).sort()).toEqual(['T-10', 'T-9.1']);
    expect(after.find((row) => row.reference === 'T-9.1')!.parent).toBe(parent);
    const history = await services.database.db
      .selectFrom('green_plan_action_changes')
      .select('changes')
      .where('action_id', '=', parent)
      .orderBy('recorded_at')
      .execute();
    expect(JSON.parse(history.at(-1)!.changes)).toEqual([
      { field: 'reference', from: 'T-9', to: 'T-10' },
    ]);
    // The sub-action's history says its parent is now known by the new reference.
    const child = after.find((row) => row.reference === 'T-9.1')!;
    const childHistory = await services.database.db
      .selectFrom('green_plan_action_changes as c')
      .innerJoin('green_plan_actions as a', 'a.id', 'c.action_id')
      .select('c.changes')
      .where('a.reference', '=', 'T-9.1')
      .where('a.parent_id', '=', child.parent!)
      .orderBy('c.recorded_at')
      .execute();
    expect(JSON.parse(childHistory.at(-1)!.changes)).toEqual([
      { field: 'parent_reference', from: 'T-9', to: 'T-10' },
    ]);
    const audited = await services.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'green_plan.action_changed')
      .where('target_id', '=', parent)
      .orderBy('occurred_at')
      .execute();
    expect(JSON.parse(audited.at(-1)!.details!)).toEqual({
      fields: ['reference'],
      reference: { from: 'T-9', to: 'T-10' },
    });
    // The export, and so the next import, know it by its new reference.
    const exported = await browsers.icsAdmin!.get(`/green-plans/${planId}/export.csv`);
    expect(exported.body).toMatch(/^T-10,/m);
    expect(exported.body).toMatch(/^T-9\.1,T-10,/m);
    expect(exported.body).not.toMatch(/^T-9,/m);
  });

  it('lets an action move to another parent only with rights over both places', async () => {
    const ics = await actorFor(testApp.services, people.icsAdmin!.id);
    const plan = await testApp.services.greenPlans.createPlan(
      ics,
      {
        title: 'Moving plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    const fields = (reference: string, parent: string, lead: string) => ({
      reference,
      parent_reference: parent,
      area: 'estates-and-facilities',
      title: `Action ${reference}`,
      lead_organisation: lead,
      status: 'on_track',
      progress_percent: '10',
      weight: '1',
    });
    const ids: Record<string, string> = {};
    for (const [reference, parent, lead] of [
      ['M-1', '', 'RWE'],
      ['M-1.1', 'M-1', 'RWE'],
      ['M-2', '', 'RWE'],
      ['M-9', '', 'RT5'],
      ['M-9.1', 'M-9', 'RWE'],
    ] as const)
      ids[reference] = await testApp.services.greenPlans.createAction(
        ics,
        plan,
        fields(reference, parent, lead),
        context,
      );
    const move = async (who: string, reference: string, parent: string) => {
      const editUrl = `/green-plans/${plan}/actions/${ids[reference]}/edit`;
      return browsers[who]!.post(editUrl, {
        ...fields(reference, parent, 'RWE'),
        opened: await openActionEditForm(browsers[who]!, editUrl),
      });
    };
    const refusals: [string, string, string][] = [
      ['M-1.1', '', "Only the plan's editors can make this a top-level action"],
      ['M-1.1', 'M-9', 'You cannot move this action under M-9'],
      ['M-1', 'M-2', "Only the plan's editors can move a top-level action under another action"],
      ['M-9.1', 'M-2', 'You cannot move this action out of M-9'],
    ];
    for (const [reference, parent, message] of refusals) {
      const response = await move('leadEditor', reference, parent);
      expect(response.statusCode, message).toBe(400);
      expect(response.body, message).toContain(message.replace(/'/g, '&#39;'));
      expect(response.body, message).toContain('href="#parent_reference"');
    }
    const parentOf = async () =>
      Object.fromEntries(
        (await testApp.services.greenPlans.exportPlan(ics, plan)).actions.map((action) => [
          action.reference,
          action.parentReference,
        ]),
      );
    expect(await parentOf()).toMatchObject({ 'M-1': null, 'M-1.1': 'M-1', 'M-9.1': 'M-9' });
    // Between two parents the editor may change, the move is theirs to make.
    expect((await move('leadEditor', 'M-1.1', 'M-2')).statusCode).toBe(303);
    // The plan's editors may move anything anywhere.
    expect((await move('icsAdmin', 'M-9.1', '')).statusCode).toBe(303);
    expect(await parentOf()).toMatchObject({ 'M-1.1': 'M-2', 'M-9.1': null });
  });

  it('puts an area’s error on the area’s own field, not on the plan’s description above it', async () => {
    const refused = await browsers.icsAdmin!.post(`/green-plans/${draftPlan}/areas`, {
      name: 'Green spaces',
      description: 'x'.repeat(1001),
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('href="#area-description"');
    expect(refused.body).not.toContain('href="#description"');
    expect(refused.body).toContain('id="area-description-error"');
    expect(refused.body).not.toContain('id="description-error"');
  });

  it('includes a person’s updates, comments and owned actions in their personal data download', async () => {
    const editorData = await testApp.services.accounts.exportPersonalData(
      await actorFor(testApp.services, people.leadEditor!.id),
      context,
    );
    expect(editorData.greenPlans).toMatchObject({
      progressUpdates: [
        expect.objectContaining({
          action: 'R-1.1',
          narrative: 'Heat pump installed; commissioning next.',
        }),
      ],
    });
    const memberData = await testApp.services.accounts.exportPersonalData(
      await actorFor(testApp.services, people.leadMember!.id),
      context,
    );
    expect(memberData.greenPlans).toMatchObject({
      actionsOwned: [{ plan: 'Route test plan', reference: 'R-1', title: 'Decarbonise heat' }],
    });
    // Comments on actions are posts, downloaded with the person's other posts.
    expect(memberData.discussions).toMatchObject({
      posts: [expect.objectContaining({ body: 'Survey booked for May.' })],
    });
  });

  it('merges an edit form opened before someone else changed the action, and refuses only a field both changed', async () => {
    const { services } = testApp;
    const ics = await actorFor(services, people.icsAdmin!.id);
    const create = (fields: Record<string, string>) =>
      services.greenPlans.createAction(
        ics,
        publishedPlan,
        {
          area: 'estates-and-facilities',
          lead_organisation: 'RWE',
          status: 'on_track',
          progress_percent: '10',
          ...fields,
        },
        context,
      );
    const parentId = await create({ reference: 'C-1', title: 'Insulate the estate' });
    const actionId = await create({
      reference: 'C-1.1',
      parent_reference: 'C-1',
      title: 'Insulate the roof',
    });
    const actionUrl = `/green-plans/${publishedPlan}/actions/${actionId}`;
    const editUrl = `${actionUrl}/edit`;
    const form = {
      reference: 'C-1.1',
      parent_reference: 'C-1',
      area: 'estates-and-facilities',
      title: 'Insulate the roof',
      lead_organisation: 'RWE',
      status: 'on_track',
      progress_percent: '10',
      weight: '1',
    };
    const stored = () =>
      services.database.db
        .selectFrom('green_plan_actions')
        .select(['title', 'status', 'progress_percent', 'parent_id'])
        .where('id', '=', actionId)
        .executeTakeFirstOrThrow();
    const edits = async () =>
      (
        await services.database.db
          .selectFrom('green_plan_action_changes')
          .select('id')
          .where('action_id', '=', actionId)
          .where('kind', '=', 'edited')
          .execute()
      ).length;

    // The ICS admin opens the form; meanwhile the lead organisation's editor changes the status
    // and progress, and the parent is renamed.
    const openedByAdmin = await openActionEditForm(browsers.icsAdmin!, editUrl);
    const leadSave = await browsers.leadEditor!.post(editUrl, {
      ...form,
      opened: await openActionEditForm(browsers.leadEditor!, editUrl),
      status: 'at_risk',
      progress_percent: '30',
    });
    expect(leadSave.statusCode).toBe(303);
    await services.greenPlans.updateAction(
      ics,
      publishedPlan,
      parentId,
      { ...form, reference: 'C-2', parent_reference: '', title: 'Insulate the estate' },
      context,
    );

    // The admin changed only the title: the save keeps their status, progress and the parent
    // (by its new reference), not the values the admin's form showed.
    const merged = await browsers.icsAdmin!.post(editUrl, {
      ...form,
      opened: openedByAdmin,
      title: 'Insulate the roof and walls',
    });
    expect(merged.statusCode).toBe(303);
    expect(await stored()).toEqual({
      title: 'Insulate the roof and walls',
      status: 'at_risk',
      progress_percent: 30,
      parent_id: parentId,
    });

    // Sent twice (a double click), the form finds its own values saved: no conflict, no change.
    const editsBefore = await edits();
    const twice = await browsers.icsAdmin!.post(editUrl, {
      ...form,
      opened: openedByAdmin,
      title: 'Insulate the roof and walls',
    });
    expect(twice.statusCode).toBe(303);
    expect(await edits()).toBe(editsBefore);

    // Both changed the progress, to different values: nothing is saved, the field is marked, the
    // changes since the form was opened are listed, and the rest of the form is merged.
    const leadAgain = await browsers.leadEditor!.post(editUrl, {
      ...form,
      title: 'Insulate the roof and walls',
      parent_reference: 'C-2',
      opened: await openActionEditForm(browsers.leadEditor!, editUrl),
      status: 'at_risk',
      progress_percent: '50',
    });
    expect(leadAgain.statusCode).toBe(303);
    const refused = await browsers.icsAdmin!.post(editUrl, {
      ...form,
      opened: openedByAdmin,
      title: 'Insulate the roof and walls',
      progress_percent: '60',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('href="#edit_conflict"');
    expect(refused.body).toContain('href="#progress_percent"');
    expect(refused.body).toContain(
      'Progress was changed by someone else after you opened this page',
    );
    expect(refused.body).toContain('by Lee Editor');
    expect(refused.body).toContain('Progress (%): 30% → 50%');
    expect(refused.body).toContain('Status: On track → At risk');
    expect(refused.body).toContain('Parent action: C-1 → C-2');
    expect(formValuesOf(refused.body, ['title', 'progress_percent'])).toEqual({
      title: 'Insulate the roof and walls',
      progress_percent: '60',
    });
    expect(refused.body).toMatch(/<option value="C-2" selected>/);
    expect((await stored()).progress_percent).toBe(50);

    // Saved again from that page, as it is, what is on it stands.
    const resaved = await browsers.icsAdmin!.post(editUrl, {
      ...form,
      title: 'Insulate the roof and walls',
      parent_reference: 'C-2',
      status: 'at_risk',
      opened: formValuesOf(refused.body, ['opened']).opened!,
      progress_percent: '60',
    });
    expect(resaved.statusCode).toBe(303);
    expect(await stored()).toEqual({
      title: 'Insulate the roof and walls',
      status: 'at_risk',
      progress_percent: 60,
      parent_id: parentId,
    });

    // A milestone added meanwhile is not on the form: no conflict, and it is kept.
    const openedByLead = await openActionEditForm(browsers.leadEditor!, editUrl);
    expect(
      (
        await browsers.icsAdmin!.post(`${actionUrl}/milestones`, {
          milestoneTitle: 'Survey done',
          milestoneDueDate: '2025-01-31',
        })
      ).statusCode,
    ).toBe(303);
    const afterMilestone = await browsers.leadEditor!.post(editUrl, {
      ...form,
      title: 'Insulate the roof and walls',
      parent_reference: 'C-2',
      status: 'at_risk',
      progress_percent: '60',
      opened: openedByLead,
      due_date: '2025-03-31',
    });
    expect(afterMilestone.statusCode).toBe(303);
    const milestones = await services.database.db
      .selectFrom('green_plan_milestones')
      .select('title')
      .where('action_id', '=', actionId)
      .execute();
    expect(milestones.map((row) => row.title)).toEqual(['Survey done']);

    // A save without the values its form was opened with is refused, with nothing to list but
    // each field it would change from the action as it is now marked, its own and others' alike.
    const withoutOpened = await browsers.icsAdmin!.post(editUrl, { ...form, title: 'Hmm' });
    expect(withoutOpened.statusCode).toBe(409);
    expect(withoutOpened.body).toContain(
      'This page did not say what the action was when you opened it',
    );
    expect(withoutOpened.body).not.toContain(' → ');
    for (const field of ['title', 'parent_reference', 'status', 'progress_percent', 'due_date'])
      expect(withoutOpened.body, field).toContain(`href="#${field}"`);
    expect(withoutOpened.body).not.toContain('href="#description"');
    expect(withoutOpened.body).toContain(
      'Title is not what it is now: someone else may have changed it.',
    );
    expect((await stored()).title).toBe('Insulate the roof and walls');
    // Sent again, knowingly, with the others' values taken and its own title kept: it is saved.
    const shownAgain = /name="opened" value="([^"]+)"/.exec(withoutOpened.body)![1]!;
    const resent = await browsers.icsAdmin!.post(editUrl, {
      ...form,
      title: 'Hmm',
      parent_reference: 'C-2',
      status: 'at_risk',
      progress_percent: '60',
      due_date: '2025-03-31',
      opened: shownAgain,
    });
    expect(resent.statusCode).toBe(303);
    expect((await stored()).title).toBe('Hmm');
  });
});
