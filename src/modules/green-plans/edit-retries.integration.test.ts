import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser, currentTotp } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { Actor } from '../access/policy.ts';
import { createGreenPlanRepository } from './plan.repository.ts';
import { ActionEditConflict, createGreenPlanService, KpiEditConflict } from './plan.service.ts';
import { openActionEditForm } from './green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'edit-retries-tests' };

/**
 * An edit is checked against the plan as it read it, and checked again once the plan's row is
 * held; if the plan moved in between, the edit starts again, at most three times. Here every time
 * the row is held another change arrives with it (made in the edit's own transaction, so that it
 * is undone with each try), as it would on a plan many people change at once.
 */
describe.each(testDialects)('an edit to a plan that keeps moving, on %s', (dialect) => {
  let testApp: TestApp;
  let icsActor: Actor;
  let icsBrowser: HttpAgent;
  let holds = 0;
  let moveOnHold: ((trx: Parameters<typeof moving.holdPlan>[0]) => Promise<void>) | undefined;
  let moving: ReturnType<typeof createGreenPlanRepository>;
  let plans: ReturnType<typeof createGreenPlanService>;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    const icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    icsActor = await actorFor(services, icsAdmin.id);
    icsBrowser = new HttpAgent(testApp.app);
    await signInAs(
      icsBrowser,
      icsAdmin,
      icsAdmin.totpSecret ? () => currentTotp(icsAdmin) : undefined,
    );
    const real = createGreenPlanRepository(services.database.db);
    moving = {
      ...real,
      async holdPlan(trx, planId) {
        await real.holdPlan(trx, planId);
        holds += 1;
        await moveOnHold?.(trx);
      },
    };
    plans = createGreenPlanService({
      repository: moving,
      organisations: services.organisations,
      accounts: services.accounts,
      memberships: services.memberships,
      files: services.files,
      audit: services.audit,
      formSubmissions: services.formSubmissions,
    });
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function planWithTwoActionsAndKpis() {
    const planId = await plans.createPlan(
      icsActor,
      {
        title: 'A busy plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2030-03-31',
        status: 'published',
      },
      context,
    );
    const action = (reference: string) =>
      plans.createAction(
        icsActor,
        planId,
        {
          reference,
          area: 'estates-and-facilities',
          title: `Action ${reference}`,
          lead_organisation: 'QK1',
          status: 'on_track',
          progress_percent: '10',
        },
        context,
      );
    const kpi = (reference: string) =>
      plans.createKpi(
        icsActor,
        planId,
        {
          reference,
          name: `KPI ${reference}`,
          description: '',
          unit: 'MWh',
          direction: 'decrease',
          baselineValue: '100',
          baselineDate: '2024-04-01',
          targets: '2030-03-31 20',
        },
        context,
      );
    return {
      planId,
      actionIds: [await action('B-1'), await action('B-2')],
      kpiIds: [await kpi('KPI-1'), await kpi('KPI-2')],
    };
  }

  it('refuses an action’s save after three tries, saving nothing, with what was entered to send again', async () => {
    const { planId, actionIds } = await planWithTwoActionsAndKpis();
    const [edited, other] = actionIds as [string, string];
    const { opened, values } = await plans.getActionForChange(icsActor, planId, edited);
    const db = testApp.services.database.db;
    let moves = 0;
    moveOnHold = async (trx) => {
      moves += 1;
      await trx
        .updateTable('green_plan_actions')
        .set({ title: `Moved ${moves}` })
        .where('id', '=', other)
        .execute();
    };
    const holdsBefore = holds;
    const entered = { ...values, title: 'Renamed while others worked', opened };
    try {
      await expect(plans.updateAction(icsActor, planId, edited, entered, context)).rejects.toThrow(
        ActionEditConflict,
      );
      const refused = await plans.updateAction(icsActor, planId, edited, entered, context).then(
        () => undefined,
        (error: unknown) => error as ActionEditConflict,
      );
      expect(refused).toMatchObject({ kind: 'kept-moving', clashes: [], lastChangeId: null });
      expect(refused!.values).toMatchObject({ title: 'Renamed while others worked' });
      expect(refused!.values).not.toHaveProperty('opened');
    } finally {
      moveOnHold = undefined;
    }
    // Three tries each, every one undone.
    expect(holds - holdsBefore).toBe(6);
    const titles = await db
      .selectFrom('green_plan_actions')
      .select(['id', 'title'])
      .where('plan_id', '=', planId)
      .orderBy('reference')
      .execute();
    expect(titles.map((row) => row.title)).toEqual(['Action B-1', 'Action B-2']);
    // Once the plan is quiet, the same form is merged and saved.
    await plans.updateAction(icsActor, planId, edited, entered, context);
    expect(
      (
        await db
          .selectFrom('green_plan_actions')
          .select('title')
          .where('id', '=', edited)
          .executeTakeFirstOrThrow()
      ).title,
    ).toBe('Renamed while others worked');
  });

  it('brings the refused form back with the values it was opened with, so that sent again it keeps what others changed', async () => {
    const { planId, actionIds } = await planWithTwoActionsAndKpis();
    const [edited, other] = actionIds as [string, string];
    const editUrl = `/green-plans/${planId}/actions/${edited}/edit`;
    const { values: shown } = await plans.getActionForChange(icsActor, planId, edited);
    const opened = await openActionEditForm(icsBrowser, editUrl);
    // Someone else changes the description, which the form leaves alone, after it was opened.
    const theirs = await plans.getActionForChange(icsActor, planId, edited);
    await plans.updateAction(
      icsActor,
      planId,
      edited,
      { ...theirs.values, description: 'Changed by someone else', opened: theirs.opened },
      context,
    );
    const db = testApp.services.database.db;
    const described = async () =>
      await db
        .selectFrom('green_plan_actions')
        .select(['title', 'description'])
        .where('id', '=', edited)
        .executeTakeFirstOrThrow();
    // The route's save goes through a service whose plan keeps moving.
    const routeService = testApp.services.greenPlans;
    const realUpdate = routeService.updateAction;
    routeService.updateAction = plans.updateAction;
    let moves = 0;
    moveOnHold = async (trx) => {
      moves += 1;
      await trx
        .updateTable('green_plan_actions')
        .set({ title: `Moved ${moves}` })
        .where('id', '=', other)
        .execute();
    };
    const entered = { ...shown, title: 'Renamed while others worked', opened };
    let refused;
    try {
      refused = await icsBrowser.post(editUrl, entered);
    } finally {
      moveOnHold = undefined;
      routeService.updateAction = realUpdate;
    }
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('Other changes to this plan kept arriving');
    expect(refused.body).toContain('value="Renamed while others worked"');
    const openedAgain = /name="opened" value="([^"]+)"/.exec(refused.body)?.[1];
    expect(openedAgain).toBe(opened);
    expect(await described()).toEqual({
      title: 'Action B-1',
      description: 'Changed by someone else',
    });
    // Sent again from that page once the plan is quiet: the title is saved, and the description
    // the form never changed keeps the other person's change.
    const saved = await icsBrowser.post(editUrl, { ...entered, opened: openedAgain! });
    expect(saved.statusCode).toBe(303);
    expect(await described()).toEqual({
      title: 'Renamed while others worked',
      description: 'Changed by someone else',
    });
  });

  it('refuses a KPI’s save after three tries in the same way', async () => {
    const { planId, kpiIds } = await planWithTwoActionsAndKpis();
    const [edited, other] = kpiIds as [string, string];
    const { opened, values } = await plans.getKpiForChange(icsActor, planId, edited);
    let moves = 0;
    moveOnHold = async (trx) => {
      moves += 1;
      await trx
        .updateTable('green_plan_kpis')
        .set({ name: `Moved ${moves}` })
        .where('id', '=', other)
        .execute();
    };
    const entered = { ...values, name: 'Heat used', opened };
    let refused: unknown;
    try {
      refused = await plans
        .updateKpi(icsActor, planId, edited, entered, context)
        .catch((error: unknown) => error);
    } finally {
      moveOnHold = undefined;
    }
    expect(refused).toBeInstanceOf(KpiEditConflict);
    expect(refused).toMatchObject({ kind: 'kept-moving', clashes: [], changes: [] });
    expect((refused as KpiEditConflict).values).toMatchObject({ name: 'Heat used' });
    const names = await testApp.services.database.db
      .selectFrom('green_plan_kpis')
      .select('name')
      .where('plan_id', '=', planId)
      .orderBy('reference')
      .execute();
    expect(names.map((row) => row.name)).toEqual(['KPI KPI-1', 'KPI KPI-2']);
    await plans.updateKpi(icsActor, planId, edited, entered, context);
    expect((await plans.getKpiForChange(icsActor, planId, edited)).values.name).toBe('Heat used');
  });

  it('brings a KPI’s refused form back with the values it was opened with, so that sent again it keeps what others changed', async () => {
    const { planId, kpiIds } = await planWithTwoActionsAndKpis();
    const [edited, other] = kpiIds as [string, string];
    const editUrl = `/green-plans/${planId}/kpis/${edited}/edit`;
    const { values: shown } = await plans.getKpiForChange(icsActor, planId, edited);
    const form = await icsBrowser.get(editUrl);
    const opened = /name="opened" value="([^"]+)"/.exec(form.body)![1]!;
    // Someone else changes the description, which the form leaves alone.
    const theirs = await plans.getKpiForChange(icsActor, planId, edited);
    await plans.updateKpi(
      icsActor,
      planId,
      edited,
      { ...theirs.values, description: 'Changed by someone else', opened: theirs.opened },
      context,
    );
    const stored = async () =>
      testApp.services.database.db
        .selectFrom('green_plan_kpis')
        .select(['name', 'description'])
        .where('id', '=', edited)
        .executeTakeFirstOrThrow();
    const routeService = testApp.services.greenPlans;
    const realUpdate = routeService.updateKpi;
    routeService.updateKpi = plans.updateKpi;
    let moves = 0;
    moveOnHold = async (trx) => {
      moves += 1;
      await trx
        .updateTable('green_plan_kpis')
        .set({ name: `Moved ${moves}` })
        .where('id', '=', other)
        .execute();
    };
    const entered = { ...shown, name: 'Heat used', opened };
    let refused;
    try {
      refused = await icsBrowser.post(editUrl, entered);
    } finally {
      moveOnHold = undefined;
      routeService.updateKpi = realUpdate;
    }
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('Other changes to this plan kept arriving');
    const openedAgain = /name="opened" value="([^"]+)"/.exec(refused.body)?.[1];
    expect(openedAgain).toBe(opened);
    const saved = await icsBrowser.post(editUrl, { ...entered, opened: openedAgain! });
    expect(saved.statusCode).toBe(303);
    expect(await stored()).toEqual({ name: 'Heat used', description: 'Changed by someone else' });
  });
  it('checks a progress update again against the action as it is once the plan is held', async () => {
    const { planId, actionIds } = await planWithTwoActionsAndKpis();
    const actionId = actionIds[0]!;
    const db = testApp.services.database.db;
    const actionRow = () =>
      db
        .selectFrom('green_plan_actions')
        .select(['status', 'progress_percent', 'start_date'])
        .where('id', '=', actionId)
        .executeTakeFirstOrThrow();
    const update = {
      updateDate: '',
      narrative: 'Surveys done; on track again.',
      status: 'on_track',
      progressPercent: '10',
      links: '',
    };
    // Someone set the action at risk after this update's checks read it as on track.
    moveOnHold = async (trx) => {
      await trx
        .updateTable('green_plan_actions')
        .set({ status: 'at_risk' })
        .where('id', '=', actionId)
        .execute();
    };
    try {
      await plans.postUpdate(icsActor, planId, actionId, update, [], context);
    } finally {
      moveOnHold = undefined;
    }
    // The update's status is the action's, and its history says what it changed from.
    expect((await actionRow()).status).toBe('on_track');
    const changes = await db
      .selectFrom('green_plan_action_changes')
      .select(['kind', 'changes'])
      .where('action_id', '=', actionId)
      .orderBy('id', 'desc')
      .execute();
    expect(JSON.parse(String(changes[0]!.changes))).toContainEqual(
      expect.objectContaining({ field: 'status', from: 'at_risk', to: 'on_track' }),
    );

    // A milestone is checked against the start date as it is now: an edit moved it meanwhile.
    moveOnHold = async (trx) => {
      await trx
        .updateTable('green_plan_actions')
        .set({ start_date: '2025-06-01' })
        .where('id', '=', actionId)
        .execute();
    };
    try {
      await expect(
        plans.addMilestone(
          icsActor,
          planId,
          actionId,
          { title: 'Survey', dueDate: '2025-02-01' },
          context,
        ),
      ).rejects.toThrow('The milestone cannot be due before the action starts (2025-06-01)');
    } finally {
      moveOnHold = undefined;
    }
    expect(
      await db
        .selectFrom('green_plan_milestones')
        .select('id')
        .where('action_id', '=', actionId)
        .execute(),
    ).toEqual([]);
  });

  it('leaves milestones added out of date order as they are when the action is saved unchanged', async () => {
    const { planId, actionIds } = await planWithTwoActionsAndKpis();
    const actionId = actionIds[1]!;
    const db = testApp.services.database.db;
    for (const [title, dueDate] of [
      ['Commissioned', '2025-06-30'],
      ['Surveyed', '2025-03-31'],
    ] as const)
      await plans.addMilestone(icsActor, planId, actionId, { title, dueDate }, context);
    const milestoneIds = async () =>
      (
        await db
          .selectFrom('green_plan_milestones')
          .select('id')
          .where('action_id', '=', actionId)
          .orderBy('id')
          .execute()
      ).map((row) => row.id);
    const before = await milestoneIds();
    const historyBefore = await db
      .selectFrom('green_plan_action_changes')
      .select('id')
      .where('action_id', '=', actionId)
      .execute();
    const { opened, values } = await plans.getActionForChange(icsActor, planId, actionId);
    await plans.updateAction(icsActor, planId, actionId, { ...values, opened }, context);
    expect(await milestoneIds()).toEqual(before);
    const historyAfter = await db
      .selectFrom('green_plan_action_changes')
      .select(['id', 'changes'])
      .where('action_id', '=', actionId)
      .execute();
    expect(historyAfter.length).toBe(historyBefore.length);
  });
  it('records an unlinking only when a link was removed', async () => {
    const { planId, actionIds, kpiIds } = await planWithTwoActionsAndKpis();
    const db = testApp.services.database.db;
    await plans.linkKpiToAction(icsActor, planId, kpiIds[0]!, 'B-1', context);
    const unlinkings = async () =>
      (
        await db
          .selectFrom('audit_events')
          .select('id')
          .where('action', '=', 'green_plan.kpi_unlinked')
          .where('target_id', '=', kpiIds[0]!)
          .execute()
      ).length;
    // The link goes (a KPI import, another editor) after this request found it, before it writes.
    moveOnHold = async (trx) => {
      await trx
        .deleteFrom('green_plan_kpi_actions')
        .where('kpi_id', '=', kpiIds[0]!)
        .where('action_id', '=', actionIds[0]!)
        .execute();
    };
    try {
      await plans.unlinkKpiFromAction(icsActor, planId, kpiIds[0]!, actionIds[0]!, context);
    } finally {
      moveOnHold = undefined;
    }
    expect(await unlinkings()).toBe(0);
  });
  it('refuses a sub-action whose parent moved to another area while it was being added', async () => {
    const { planId, actionIds } = await planWithTwoActionsAndKpis();
    const db = testApp.services.database.db;
    const medicines = await db
      .selectFrom('green_plan_areas')
      .select('id')
      .where('plan_id', '=', planId)
      .where('national_slug', '=', 'medicines')
      .executeTakeFirstOrThrow();
    moveOnHold = async (trx) => {
      await trx
        .updateTable('green_plan_actions')
        .set({ area_id: medicines.id })
        .where('id', '=', actionIds[0]!)
        .execute();
    };
    try {
      await expect(
        plans.createAction(
          icsActor,
          planId,
          {
            reference: 'B-1.1',
            parent_reference: 'B-1',
            area: 'estates-and-facilities',
            title: 'A sub-action',
            lead_organisation: 'QK1',
            status: 'not_started',
            progress_percent: '0',
          },
          context,
        ),
      ).rejects.toThrow('B-1 was changed while this action was being added');
    } finally {
      moveOnHold = undefined;
    }
    const references = await db
      .selectFrom('green_plan_actions')
      .select('reference')
      .where('plan_id', '=', planId)
      .orderBy('reference')
      .execute();
    expect(references.map((row) => row.reference)).toEqual(['B-1', 'B-2']);
  });
});
