import { expect, it } from 'vitest';
import { actorFor, buildUser, currentTotp } from '../test/support/factories.ts';
import { SMALL_PDF } from '../src/modules/green-plans/green-plan.test-helpers.ts';
import { describeJourneys } from './support/journeys.ts';
import {
  ActionPage,
  KpiPage,
  NewActionPage,
  NewPlanPage,
  PlanOverviewPage,
  signInThrough,
  UpdateFormPage,
} from './support/pages/green-plan-pages.ts';

describeJourneys('Green Plan tracker journeys', (suite) => {
  it('an ICS admin creates a plan and an action, a member of the lead organisation posts an update with evidence, and a signed-out visitor sees the progress', async () => {
    const { services } = suite.server;
    const icsAdmin = await buildUser(services, {
      displayName: 'Imani Shah',
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    const leadEditor = await buildUser(services, {
      displayName: 'Owen Clarke',
      memberships: [{ organisationCode: 'RWE', role: 'editor' }],
    });

    // 1. The ICS admin signs in with their security code and creates a published plan.
    const admin = await suite.openVisitor();
    await signInThrough(admin, icsAdmin, '/green-plans/new', () => currentTotp(icsAdmin));
    await admin.checkPage();
    const planPath = await new NewPlanPage(admin).create({
      title: 'LLR hospitals heat and power plan',
      owner: 'NHS Leicester, Leicestershire and Rutland Integrated Care Board',
      periodStart: '2025-04-01',
      periodEnd: '2028-03-31',
      published: true,
    });
    await admin.checkPage();
    const overview = new PlanOverviewPage(admin);
    expect(await overview.heading()).toBe('LLR hospitals heat and power plan');
    expect(await overview.overallProgress()).toBe('0.0%');

    // 2. …and adds an action led by the hospital trust, owned by one of its editors.
    await overview.openAddAction(planPath);
    await admin.checkPage();
    const actionPath = await new NewActionPage(admin).add({
      area: 'Estates and facilities',
      title: 'Heat pumps at Leicester General Hospital',
      lead: 'RWE',
      ownerEmail: leadEditor.email,
      startDate: '2025-04-01',
      dueDate: '2027-03-31',
      status: 'On track',
    });
    await admin.checkPage();
    expect(await new ActionPage(admin).heading()).toBe(
      'EF-01 Heat pumps at Leicester General Hospital',
    );

    // The admin opens the action's change form, and leaves it open while step 3 happens.
    expect(await admin.goto(`${actionPath}/edit`)).toBe(200);
    await admin.checkPage();

    // 3. A member of the lead organisation (an editor there) posts an update with an evidence file.
    const member = await suite.openVisitor();
    await signInThrough(member, leadEditor, actionPath);
    await member.checkPage();
    const action = new ActionPage(member);
    await action.openUpdateForm(actionPath);
    await member.checkPage();
    await new UpdateFormPage(member).post(actionPath, {
      status: 'At risk',
      progress: '40',
      narrative: 'Survey complete; the grid connection needs an upgrade before installation.',
      file: { name: 'Heat pump survey.pdf', mimeType: 'application/pdf', buffer: SMALL_PDF },
    });
    await member.checkPage();
    expect(await action.progress()).toBe('40%');
    expect(await action.evidenceLinks()).toEqual(['Heat pump survey.pdf']);
    expect(await action.timelineHeadings()).toContain('Progress update: At risk, 40%');

    // The admin's form, opened before the update, changes the description and the status. The
    // description is merged; the status both changed, so nothing is saved and the field is marked.
    const adminPage = admin.page;
    await adminPage
      .getByLabel('Description (optional)')
      .fill('Air source heat pumps for the two boiler houses.');
    await adminPage.getByLabel('Status').selectOption({ label: 'Off track' });
    await admin.navigate(
      () => adminPage.getByRole('button', { name: 'Save changes' }).click(),
      `${actionPath}/edit`,
    );
    await admin.checkPage();
    expect(await adminPage.getByRole('heading', { name: 'There is a problem' }).isVisible()).toBe(
      true,
    );
    const changedSince = adminPage.locator('#edit_conflict');
    expect(await changedSince.textContent()).toContain('Status: On track → At risk');
    expect(await changedSince.textContent()).toContain('by Owen Clarke');
    // The member's progress is on the form now; the admin's description and status are kept.
    expect(await adminPage.getByLabel('Progress (%)').inputValue()).toBe('40');
    expect(await adminPage.getByLabel('Status').inputValue()).toBe('off_track');
    await admin.navigate(
      () => adminPage.getByRole('button', { name: 'Save changes' }).click(),
      actionPath,
    );
    await admin.checkPage();
    expect(await adminPage.locator('main').textContent()).toContain(
      'Air source heat pumps for the two boiler houses.',
    );

    // 4. A signed-out visitor sees the new progress on the plan and the action.
    const visitor = await suite.openVisitor();
    expect(await visitor.goto(planPath)).toBe(200);
    await visitor.checkPage();
    const publicOverview = new PlanOverviewPage(visitor);
    expect(await publicOverview.overallProgress()).toBe('40.0%');
    await publicOverview.openAction('EF-01 Heat pumps at Leicester General Hospital');
    await visitor.checkPage();
    const publicAction = new ActionPage(visitor);
    expect(await publicAction.progress()).toBe('40%');
    expect(await visitor.page.locator('main').textContent()).toContain(
      'Survey complete; the grid connection needs an upgrade before installation.',
    );
    expect(await visitor.page.locator('main').textContent()).not.toContain('Owen Clarke');
    expect(await visitor.goto(`${planPath}/board-report`)).toBe(200);
    await visitor.checkPage();
  });

  it('a plan editor records a KPI’s readings from a spreadsheet, correcting the rows it points out, adds an interim target, then a second KPI from a file', async () => {
    const { services } = suite.server;
    const editor = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    const actor = await actorFor(services, editor.id);
    const context = { ip: '127.0.0.1', userAgent: 'journey' };
    const planId = await services.greenPlans.createPlan(
      actor,
      {
        title: 'Travel plan',
        description: 'Fleet and business miles',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2030-03-31',
        status: 'published',
      },
      context,
    );
    const kpiId = await services.greenPlans.createKpi(
      actor,
      planId,
      {
        reference: 'T-1',
        name: 'Business miles',
        description: '',
        unit: 'miles',
        direction: 'decrease',
        baselineValue: '100000',
        baselineDate: '2024-04-01',
        targets: '2030-03-31 50000',
      },
      context,
    );
    const kpiPath = `/green-plans/${planId}/kpis/${kpiId}`;
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, editor, kpiPath, () => currentTotp(editor));
    await visitor.checkPage();
    const kpi = new KpiPage(visitor);

    // A file with a mistake is refused whole, the mistake named by row and column.
    await kpi.importValues(kpiPath, {
      name: 'miles.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('date,value,note\n2024-06-30,97500,Claims\n2024-09-31,95000,\n'),
    });
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    expect(await kpi.errorSummaryItems()).toEqual([
      'The file has 1 problem, listed below; nothing was recorded',
    ]);
    expect(await kpi.fileProblems()).toEqual([
      'Row 3, column "date": "2024-09-31" is not a real date written YYYY-MM-DD',
    ]);

    // Corrected, it is recorded at once and shows in the chart's table.
    await kpi.importValues(kpiPath, {
      name: 'miles.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('date,value,note\n2024-06-30,97500,Claims\n2024-09-30,95000,\n'),
    });
    expect(visitor.url.search).toBe('?imported=2-0-0');
    await visitor.checkPage();
    expect(await kpi.notice()).toContain('Values imported: 2 new, 0 changed, 0 already recorded.');
    const rows = await kpi.dataRows();
    expect(rows.map(([date, actual]) => [date, actual])).toEqual([
      ['2024-04-01', '—'],
      ['2024-06-30', '97500'],
      ['2024-09-30', '95000'],
      ['2030-03-31', '—'],
    ]);

    // The editor adds an interim target: the values stay, and the table gains the new date.
    await kpi.openChange(kpiPath);
    await visitor.checkPage();
    await kpi.saveChange(kpiPath, { 'Baseline value': 'a lot' }, 'the form');
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    expect(await kpi.errorSummaryItems()).toEqual(['Enter the baseline as a number']);

    // Meanwhile someone else changes the unit. Changed on this form too, it is marked, not saved.
    await services.greenPlans.updateKpi(
      actor,
      planId,
      kpiId,
      {
        reference: 'T-1',
        name: 'Business miles',
        description: '',
        unit: 'km',
        direction: 'decrease',
        baselineValue: '100000',
        baselineDate: '2024-04-01',
        targets: '2030-03-31 50000',
      },
      context,
    );
    await kpi.saveChange(
      kpiPath,
      { Unit: 'business miles', 'Baseline value': '100000' },
      'the form',
    );
    expect(visitor.status()).toBe(409);
    await visitor.checkPage();
    expect(await kpi.errorSummaryItems()).toEqual([
      'Someone else changed this KPI after you opened this page. Nothing has been saved: check the fields marked below, then save again',
      'Unit was changed by someone else after you opened this page. Keep what you entered, or change it, then save',
    ]);
    expect(await visitor.page.locator('#edit_conflict').textContent()).toContain(
      'Unit: miles → km',
    );
    await kpi.saveChange(
      kpiPath,
      { 'Baseline value': '100000', Targets: '2027-03-31 80000\n2030-03-31 50000' },
      'the KPI',
    );
    await visitor.checkPage();
    expect((await kpi.dataRows()).map(([date, actual]) => [date, actual])).toEqual([
      ['2024-04-01', '—'],
      ['2024-06-30', '97500'],
      ['2024-09-30', '95000'],
      ['2027-03-31', '—'],
      ['2030-03-31', '—'],
    ]);

    // From the plan page, the editor adds a second KPI from a spreadsheet of KPIs.
    await visitor.navigate(
      () => visitor.page.getByRole('link', { name: 'Travel plan', exact: true }).first().click(),
      `/green-plans/${planId}`,
    );
    await visitor.checkPage();
    await visitor.navigate(
      () => visitor.page.getByRole('link', { name: 'Import KPIs', exact: true }).click(),
      `/green-plans/${planId}/kpis/import`,
    );
    await visitor.checkPage();
    await kpi.importDefinitions(planId, {
      name: 'kpis.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'reference,name,unit,direction,baseline_value,baseline_date,targets\nT-2,Staff on the cycle scheme,%,higher,4,2024-04-01,2030-03-31 20\n',
      ),
    });
    expect(visitor.url.search).toBe('?kpisImported=1-0-0');
    await visitor.checkPage();
    expect(await kpi.notice()).toContain('KPIs imported: 1 new, 0 changed, 0 unchanged.');
    expect(
      await visitor.page
        .getByRole('link', { name: 'Staff on the cycle scheme', exact: true })
        .count(),
    ).toBe(1);
  });

  it('an action lead posts a quarter’s progress updates from a spreadsheet, correcting the row it points out', async () => {
    const { services } = suite.server;
    const ics = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    const lead = await buildUser(services, {
      memberships: [{ organisationCode: 'RWE', role: 'editor' }],
    });
    const icsActor = await actorFor(services, ics.id);
    const context = { ip: '127.0.0.1', userAgent: 'journey' };
    const planId = await services.greenPlans.createPlan(
      icsActor,
      {
        title: 'Medicines plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    await services.greenPlans.createAction(
      icsActor,
      planId,
      {
        reference: 'MED-1',
        area: 'medicines',
        title: 'Switch to dry-powder inhalers',
        lead_organisation: 'RWE',
        status: 'not_started',
        progress_percent: '0',
      },
      context,
    );
    const planPath = `/green-plans/${planId}`;
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, lead, planPath);
    await visitor.checkPage();
    const { page } = visitor;
    await visitor.navigate(
      () => page.getByRole('link', { name: 'Post updates from a spreadsheet' }).click(),
      `${planPath}/updates/import`,
    );
    await visitor.checkPage();
    const kpi = new KpiPage(visitor);
    const post = async (text: string) => {
      const form = page.locator(`main form[action="${planPath}/updates/import"]`);
      await form
        .getByLabel('Updates file', { exact: true })
        .setInputFiles({ name: 'updates.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
      await visitor.navigate(
        () => form.getByRole('button', { name: 'Post updates' }).click(),
        (url) => url.pathname.startsWith(planPath),
      );
    };

    await post(
      'reference,status,progress_percent,narrative\nMED-1,on track,120,Formulary agreed\n',
    );
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    expect(await kpi.errorSummaryItems()).toEqual([
      'The file has 1 problem, listed below; no update was posted',
    ]);
    expect(await kpi.fileProblems()).toEqual([
      'Row 2, column "progress_percent": The progress must be a whole number from 0 to 100',
    ]);

    await post('reference,status,progress_percent,narrative\nMED-1,on track,20,Formulary agreed\n');
    expect(visitor.url.search).toBe('?updatesImported=1-0-0');
    await visitor.checkPage();
    expect(await kpi.notice()).toContain('Progress updates posted: 1 new, 0 already posted');
    expect(await page.getByText('On track').count()).toBeGreaterThan(0);
  });

  it('a plan editor deletes an action, then the plan, made by mistake: published, the plan first goes back to draft', async () => {
    const { services } = suite.server;
    const editor = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'editor' }],
    });
    const editorActor = await actorFor(services, editor.id);
    const journey = { ip: '127.0.0.1', userAgent: 'journey' };
    const planId = await services.greenPlans.createPlan(
      editorActor,
      {
        title: 'Duplicate travel plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2030-03-31',
        status: 'published',
      },
      journey,
    );
    const actionId = await services.greenPlans.createAction(
      editorActor,
      planId,
      {
        reference: 'TT-01',
        area: 'travel-and-transport',
        title: 'Pool car typed twice',
        lead_organisation: 'QK1',
        status: 'not_started',
        progress_percent: '0',
      },
      journey,
    );
    const planPath = `/green-plans/${planId}`;
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, editor, `${planPath}/actions/${actionId}`);
    await visitor.checkPage();
    const { page } = visitor;

    // The action first: its page leads to a confirmation that says what goes with it.
    await visitor.navigate(
      () => page.getByRole('link', { name: 'Delete this action' }).click(),
      `${planPath}/actions/${actionId}/delete`,
    );
    await visitor.checkPage();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Delete TT-01 Pool car typed twice',
    );
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Delete action' }).click(),
      `${planPath}?actionDeleted=1`,
    );
    await visitor.checkPage();
    expect(await page.getByText('The action has been deleted.').isVisible()).toBe(true);
    // Its address, from a bookmark or an email, now says what it was and leads to the plan.
    expect(await visitor.goto(`${planPath}/actions/${actionId}`)).toBe(410);
    await visitor.checkPage();
    expect(
      await page.getByText(/^The action TT-01 Pool car typed twice was deleted on /).isVisible(),
    ).toBe(true);
    await visitor.navigate(() => page.getByRole('link', { name: /^Go to / }).click(), planPath);
    const toDeletion = async () => {
      await visitor.navigate(
        () => page.getByRole('link', { name: 'Change the plan' }).click(),
        `${planPath}/edit`,
      );
      await visitor.checkPage();
      await visitor.navigate(
        () => page.getByRole('link', { name: 'Delete this plan' }).click(),
        `${planPath}/delete`,
      );
      await visitor.checkPage();
    };

    // Published, it cannot be deleted yet: the page says why and leads back to the form.
    await toDeletion();
    expect(
      await page.getByRole('heading', { name: 'Important: The plan is published' }).isVisible(),
    ).toBe(true);
    expect(await page.getByRole('button', { name: 'Delete plan' }).count()).toBe(0);
    await visitor.navigate(
      () => page.getByRole('link', { name: 'Change the plan' }).click(),
      `${planPath}/edit`,
    );
    await page.getByLabel('Draft: only members of the organisation can see it').check();
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Save changes' }).click(),
      planPath,
    );
    await visitor.checkPage();

    // A draft: the page says what goes with it, and the plan is deleted.
    await toDeletion();
    expect(
      await page.getByText('0 actions, with their milestones, history and comments').isVisible(),
    ).toBe(true);
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Delete plan' }).click(),
      '/green-plans?deleted=1',
    );
    await visitor.checkPage();
    expect(await page.getByText('The plan has been deleted.').isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Duplicate travel plan' }).count()).toBe(0);
    // Its address now says it went, and leads back to the list.
    expect(await visitor.goto(planPath)).toBe(410);
    await visitor.checkPage();
    expect(
      await page.getByText(/^The plan Duplicate travel plan was deleted on /).isVisible(),
    ).toBe(true);
    await visitor.navigate(
      () => page.getByRole('link', { name: 'Go to Green Plans' }).click(),
      '/green-plans',
    );
    await visitor.checkPage();
  });

  it('a visitor without JavaScript reads the seeded LLR plan, its charts, a KPI and the board report', async () => {
    const visitor = await suite.openVisitor({ javaScriptEnabled: false });
    expect(await visitor.goto('/green-plans')).toBe(200);
    await visitor.checkPage();
    await visitor.navigate(
      () => visitor.page.getByRole('link', { name: 'LLR ICS Green Plan' }).click(),
      (url) => /^\/green-plans\/[0-9a-f-]{36}$/.test(url.pathname),
    );
    await visitor.checkPage();
    const planPath = visitor.url.pathname;
    expect(await visitor.page.locator('main').textContent()).toContain('Example content');
    await visitor.navigate(
      () =>
        visitor.page
          .getByRole('link', { name: 'Metered-dose inhalers as a share of inhalers prescribed' })
          .first()
          .click(),
      (url) => url.pathname.includes('/kpis/'),
    );
    await visitor.checkPage();
    expect(await visitor.page.locator('main svg title').first().textContent()).toContain(
      'actual against trajectory',
    );
    expect(await visitor.goto(`${planPath}/areas/medicines`)).toBe(200);
    await visitor.checkPage();
    expect(await visitor.goto(`${planPath}/actions?status=off_track`)).toBe(200);
    await visitor.checkPage();
    expect(await visitor.goto(`${planPath}/board-report?quarter=2024-25-q2`)).toBe(200);
    await visitor.checkPage();
  });
});
