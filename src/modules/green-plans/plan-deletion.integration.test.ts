import os from 'node:os';
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
  SMALL_PDF,
} from './green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'plan-deletion-tests' };

describe.each(testDialects)('deleting a Green Plan, or an action in it, on %s', (dialect) => {
  let testApp: TestApp;
  let icsActor: Actor;
  let owner: TestUser;
  const browsers: Record<'admin' | 'editor' | 'member' | 'outsider' | 'anonymous', HttpAgent> =
    {} as never;

  const db = () => testApp.services.database.db;

  /** A plan full of everything a plan can hold, each made the way people make it. */
  async function fullPlan(title: string, status: 'draft' | 'published' = 'draft') {
    const plans = testApp.services.greenPlans;
    const planId = await plans.createPlan(
      icsActor,
      {
        title,
        description: 'Everything in it',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    const actionFields = {
      area: 'estates-and-facilities',
      lead_organisation: 'QK1',
      owner_email: owner.email,
      start_date: '2024-04-01',
      due_date: '2025-03-31',
      status: 'on_track',
      progress_percent: '10',
      milestones: '2024-09-30 Survey done',
    };
    const parent = await plans.createAction(
      icsActor,
      planId,
      { ...actionFields, reference: 'D-1', title: 'Decarbonise heat' },
      context,
    );
    const child = await plans.createAction(
      icsActor,
      planId,
      {
        ...actionFields,
        reference: 'D-1.1',
        parent_reference: 'D-1',
        title: 'Heat pump at the hub',
      },
      context,
    );
    const admin = browsers.admin;
    const update = multipartBody(
      await admin.csrfToken(),
      { updateDate: '', status: 'at_risk', progressPercent: '40', narrative: 'Delayed a month.' },
      [{ field: 'evidence', name: 'Survey.pdf', type: 'application/pdf', bytes: SMALL_PDF }],
    );
    const posted = await testApp.app.inject({
      method: 'POST',
      url: `/green-plans/${planId}/actions/${child}/updates`,
      headers: {
        'content-type': update.contentType,
        cookie: [...admin.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: update.payload,
    });
    expect(posted.statusCode).toBe(303);
    // A comment tells the action's owner, and its author follows the conversation.
    const comment = await admin.post(`/green-plans/${planId}/actions/${parent}/comments`, {
      body: 'Survey booked for May.',
    });
    expect(comment.statusCode).toBe(303);
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
        baselineDate: '2024-04-01',
        targets: '2027-03-31 600',
      },
      context,
    );
    await plans.linkKpiToAction(icsActor, planId, kpiId, 'D-1', context);
    const values = await postFile(
      testApp.app,
      admin,
      `/green-plans/${planId}/kpis/${kpiId}/values`,
      {
        field: 'valuesFile',
        name: 'gas.csv',
        type: 'text/csv',
        bytes: Buffer.from('date,value,note\n2024-06-30,950,\n'),
      },
    );
    expect(values.statusCode).toBe(303);
    const definitions = await postFile(testApp.app, admin, `/green-plans/${planId}/kpis/import`, {
      field: 'kpisFile',
      name: 'kpis.csv',
      type: 'text/csv',
      bytes: Buffer.from(
        (await admin.get(`/green-plans/${planId}/kpis.csv`)).body.replace('Gas use', 'Gas used'),
      ),
    });
    expect(definitions.statusCode).toBe(303);
    const returns = await postFile(testApp.app, admin, `/green-plans/${planId}/updates/import`, {
      field: 'updatesFile',
      name: 'updates.csv',
      type: 'text/csv',
      bytes: Buffer.from(
        'reference,status,progress_percent,narrative\nD-1.1,off_track,45,Contractor withdrew\n',
      ),
    });
    expect(returns.statusCode).toBe(303);
    const exported = await admin.get(`/green-plans/${planId}/export.csv`);
    const preview = await postFile(testApp.app, admin, `/green-plans/${planId}/import`, {
      field: 'file',
      name: 'plan.csv',
      type: 'text/csv',
      bytes: Buffer.from(exported.body),
    });
    expect(preview.statusCode).toBe(200);
    if (status === 'draft') {
      await plans.updatePlan(
        icsActor,
        planId,
        {
          title,
          description: 'Everything in it',
          periodStart: '2024-04-01',
          periodEnd: '2027-03-31',
          status: 'draft',
        },
        context,
      );
    }
    return { planId, actionIds: [parent, child], kpiId };
  }

  /** How many rows each table holds for the plan: every one should be 0 after deletion. */
  async function rowsOf(plan: { planId: string; actionIds: string[]; kpiId: string }) {
    const count = async (query: { execute(): Promise<unknown[]> }) =>
      (await query.execute()).length;
    const { planId, actionIds, kpiId } = plan;
    const conversations = await db()
      .selectFrom('conversations')
      .select('id')
      .where('subject_type', '=', 'plan_action')
      .where('subject_id', 'in', actionIds)
      .execute();
    const conversationIds = conversations.map((row) => row.id);
    return {
      plans: await count(db().selectFrom('green_plans').select('id').where('id', '=', planId)),
      areas: await count(
        db().selectFrom('green_plan_areas').select('id').where('plan_id', '=', planId),
      ),
      actions: await count(
        db().selectFrom('green_plan_actions').select('id').where('id', 'in', actionIds),
      ),
      history: await count(
        db()
          .selectFrom('green_plan_action_changes')
          .select('id')
          .where('action_id', 'in', actionIds),
      ),
      milestones: await count(
        db().selectFrom('green_plan_milestones').select('id').where('action_id', 'in', actionIds),
      ),
      updates: await count(
        db().selectFrom('green_plan_updates').select('id').where('action_id', 'in', actionIds),
      ),
      kpis: await count(db().selectFrom('green_plan_kpis').select('id').where('id', '=', kpiId)),
      kpiValues: await count(
        db().selectFrom('green_plan_kpi_data_points').select('id').where('kpi_id', '=', kpiId),
      ),
      imports: await count(
        db().selectFrom('green_plan_imports').select('id').where('plan_id', '=', planId),
      ),
      conversations: conversationIds.length,
      posts:
        conversationIds.length === 0
          ? 0
          : await count(
              db().selectFrom('posts').select('id').where('conversation_id', 'in', conversationIds),
            ),
      follows:
        conversationIds.length === 0
          ? 0
          : await count(
              db()
                .selectFrom('follows')
                .select('user_id')
                .where('subject_type', '=', 'conversation')
                .where('subject_id', 'in', conversationIds),
            ),
      notifications: await count(
        db()
          .selectFrom('notifications')
          .select('id')
          .where('link', 'like', `/green-plans/${planId}%`),
      ),
    };
  }

  beforeAll(async () => {
    // Files in the database, so that bytes no stored file owns can be counted.
    testApp = await createTestApp(dialect, {
      configOverrides: { files: { store: 'database', dir: os.tmpdir() } },
    });
    const { services } = testApp;
    const icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    icsActor = await actorFor(services, icsAdmin.id);
    owner = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    const editor = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'editor' }],
    });
    const outsider = await buildUser(services, {
      memberships: [{ organisationCode: 'RT5', role: 'editor' }],
    });
    for (const [name, user] of [
      ['admin', icsAdmin],
      ['editor', editor],
      ['member', owner],
      ['outsider', outsider],
    ] as const) {
      browsers[name] = new HttpAgent(testApp.app);
      await signInAs(browsers[name], user, () => currentTotp(user));
    }
    browsers.anonymous = new HttpAgent(testApp.app);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('deletes a draft plan with everything in it, its files and the notifications that lead to it, and audits it', async () => {
    const kept = await fullPlan('Plan that stays');
    const doomed = await fullPlan('Plan made by mistake');
    const keptBefore = await rowsOf(kept);
    const before = await rowsOf(doomed);
    // Every kind of row is there to be deleted.
    for (const [table, rows] of Object.entries(before)) {
      expect({ table, present: rows > 0 }).toEqual({ table, present: true });
    }
    const filesBefore = await countStoredFiles(db());

    const confirm = await browsers.editor.get(`/green-plans/${doomed.planId}/delete`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<title>Delete Plan made by mistake');
    expect(confirm.body).toContain('2 actions, with their milestones, history and comments');
    expect(confirm.body).toContain('2 progress updates, with 1 evidence file');
    expect(confirm.body).toContain('1 KPI, with their targets and values');
    expect(confirm.body).toContain('Delete plan');

    const deleted = await browsers.editor.post(`/green-plans/${doomed.planId}/delete`);
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe('/green-plans?deleted=1');
    expect((await browsers.editor.get('/green-plans?deleted=1')).body).toContain(
      'The plan has been deleted.',
    );

    expect(await rowsOf(doomed)).toEqual(
      Object.fromEntries(Object.keys(before).map((table) => [table, 0])),
    );
    // Evidence, the imported actions file, both KPI files and the updates file, records and bytes.
    expect(await countStoredFiles(db())).toBe(filesBefore - 5);
    expect(await countUnownedUploads(db())).toBe(0);
    // The other plan is untouched.
    expect(await rowsOf(kept)).toEqual(keptBefore);
    expect((await browsers.admin.get(`/green-plans/${kept.planId}`)).statusCode).toBe(200);

    // Its addresses now say it went, to those who could read the draft; to others it is not found.
    for (const address of [
      `/green-plans/${doomed.planId}`,
      `/green-plans/${doomed.planId}/actions/${doomed.actionIds[0]}`,
      `/green-plans/${doomed.planId}/export.csv`,
    ]) {
      const gone = await browsers.admin.get(address);
      expect(gone.statusCode, address).toBe(410);
      expect(gone.body).toContain('The plan Plan made by mistake was deleted on');
      expect(gone.body).toContain('<a href="/green-plans">Go to Green Plans</a>');
      expect((await browsers.outsider.get(address)).statusCode, address).toBe(404);
      // Signed out: not found, or asked to sign in first (as for any plan's download).
      const signedOut = await browsers.anonymous.get(address);
      expect([303, 404], address).toContain(signedOut.statusCode);
      expect(signedOut.body).not.toContain('Plan made by mistake');
    }
    // A second click on "Delete plan" is told so too.
    const again = await browsers.editor.post(`/green-plans/${doomed.planId}/delete`);
    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('The plan Plan made by mistake was deleted on');
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_user_id', 'organisation_code', 'details'])
      .where('action', '=', 'green_plan.deleted')
      .where('target_id', '=', doomed.planId)
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.organisation_code).toBe('QK1');
    expect(JSON.parse(audit[0]!.details!)).toMatchObject({
      title: 'Plan made by mistake',
      actions: 2,
      updates: 2,
      kpis: 1,
      files: 5,
    });
    // The audit trail of the plan's life stays.
    const earlier = await db()
      .selectFrom('audit_events')
      .select('id')
      .where('target_id', 'in', [doomed.planId, ...doomed.actionIds])
      .execute();
    expect(earlier.length).toBeGreaterThan(3);
    // The owner's notification about the comment went with the plan; the other plan's stayed.
    expect(keptBefore.notifications).toBeGreaterThan(0);
  });

  it('refuses to delete a published plan until it is a draft', async () => {
    const plan = await fullPlan('Published plan', 'published');
    const before = await rowsOf(plan);
    const confirm = await browsers.admin.get(`/green-plans/${plan.planId}/delete`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('The plan is published');
    expect(confirm.body).not.toContain('Delete plan</button>');
    const refused = await browsers.admin.post(`/green-plans/${plan.planId}/delete`);
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('The plan is published');
    expect(refused.body).toContain('<title>Error: Delete Published plan');
    expect(refused.body).toContain('href="#change-plan"');
    expect(refused.body).toContain('id="change-plan"');
    expect(await rowsOf(plan)).toEqual(before);
  });

  it('lets only the plan’s editors delete it, with a CSRF token, and hides a draft from others', async () => {
    const plan = await fullPlan('Guarded draft');
    const before = await rowsOf(plan);
    const url = `/green-plans/${plan.planId}/delete`;
    // A member who cannot edit is refused; someone outside the organisation is not told it exists.
    expect((await browsers.member.get(url)).statusCode).toBe(403);
    expect((await browsers.member.post(url)).statusCode).toBe(403);
    expect((await browsers.outsider.get(url)).statusCode).toBe(404);
    expect((await browsers.outsider.post(url)).statusCode).toBe(404);
    const signedOut = await browsers.anonymous.post(url);
    expect(signedOut.statusCode).toBe(303);
    expect(String(signedOut.headers.location)).toMatch(/^\/sign-in/);
    expect((await browsers.admin.post(url, {}, { csrf: false })).statusCode).toBe(403);
    expect((await browsers.admin.post(url, {}, { csrf: 'forged' })).statusCode).toBe(403);
    expect(await rowsOf(plan)).toEqual(before);
    // A plan id that is not one is simply not found.
    expect((await browsers.admin.post('/green-plans/not-a-plan/delete')).statusCode).toBe(404);
  });

  /** The counts a deletion page showed, as its form sends them back. */
  function shownCounts(page: string): string {
    return /name="shown" value="([^"]+)"/.exec(page)![1]!;
  }

  /** How many rows each table holds for one action: every one should be 0 after its deletion. */
  async function rowsOfAction(planId: string, actionId: string) {
    const count = async (query: { execute(): Promise<unknown[]> }) =>
      (await query.execute()).length;
    const conversations = await db()
      .selectFrom('conversations')
      .select('id')
      .where('subject_type', '=', 'plan_action')
      .where('subject_id', '=', actionId)
      .execute();
    const conversationIds = conversations.map((row) => row.id);
    return {
      actions: await count(
        db().selectFrom('green_plan_actions').select('id').where('id', '=', actionId),
      ),
      history: await count(
        db().selectFrom('green_plan_action_changes').select('id').where('action_id', '=', actionId),
      ),
      milestones: await count(
        db().selectFrom('green_plan_milestones').select('id').where('action_id', '=', actionId),
      ),
      updates: await count(
        db().selectFrom('green_plan_updates').select('id').where('action_id', '=', actionId),
      ),
      kpiLinks: await count(
        db()
          .selectFrom('green_plan_kpi_actions')
          .select('kpi_id')
          .where('action_id', '=', actionId),
      ),
      conversations: conversationIds.length,
      posts:
        conversationIds.length === 0
          ? 0
          : await count(
              db().selectFrom('posts').select('id').where('conversation_id', 'in', conversationIds),
            ),
      notifications: await count(
        db()
          .selectFrom('notifications')
          .select('id')
          .where('link', 'like', `/green-plans/${planId}/actions/${actionId}%`),
      ),
    };
  }

  it('deletes an action added by mistake with its updates, files, history and comments, once it has no sub-actions, and audits it', async () => {
    const plan = await fullPlan('Plan with a mistake', 'published');
    const [parent, child] = plan.actionIds as [string, string];
    const parentBefore = await rowsOfAction(plan.planId, parent);
    expect(parentBefore).toMatchObject({ actions: 1, kpiLinks: 1, conversations: 1 });
    expect(parentBefore.notifications).toBeGreaterThan(0);
    const childBefore = await rowsOfAction(plan.planId, child);
    expect(childBefore).toMatchObject({ actions: 1, updates: 2, milestones: 1 });
    const planBefore = await rowsOf(plan);

    // The parent has a sub-action: the page says so and has no button; a post is refused.
    const parentUrl = `/green-plans/${plan.planId}/actions/${parent}/delete`;
    const blocked = await browsers.editor.get(parentUrl);
    expect(blocked.statusCode).toBe(200);
    expect(blocked.body).toContain('The action has sub-actions');
    expect(blocked.body).toContain('D-1.1');
    expect(blocked.body).not.toContain('Delete action</button>');
    // (The page has no form; a hand-made request with the counts is refused all the same.)
    const refused = await browsers.editor.post(parentUrl, { shown: '0-0-1-1-1' });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('href="#sub-actions"');
    expect(refused.body).toContain('Delete or move its sub-action first: D-1.1');
    expect(await rowsOfAction(plan.planId, parent)).toEqual(parentBefore);

    // The sub-action goes first: its updates, their evidence file, milestone and history.
    const childUrl = `/green-plans/${plan.planId}/actions/${child}/delete`;
    const confirm = await browsers.editor.get(childUrl);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<title>Delete D-1.1 – Plan with a mistake');
    expect(confirm.body).toContain('2 progress updates, with 1 evidence file');
    expect(confirm.body).toContain('1 milestone and its history');
    expect(confirm.body).toContain('0 comments');
    // A spreadsheet checked before the deletion still lists the sub-action.
    const preview = await postFile(
      testApp.app,
      browsers.admin,
      `/green-plans/${plan.planId}/import`,
      {
        field: 'file',
        name: 'plan.csv',
        type: 'text/csv',
        bytes: Buffer.from(
          (await browsers.admin.get(`/green-plans/${plan.planId}/export.csv`)).body.replace(
            'Heat pump at the hub',
            'Heat pump at the hub phase 1',
          ),
        ),
      },
    );
    const importId = /name="importId" value="([^"]+)"/.exec(preview.body)![1]!;
    const filesBefore = await countStoredFiles(db());
    const deleted = await browsers.editor.post(childUrl, { shown: shownCounts(confirm.body) });
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe(`/green-plans/${plan.planId}?actionDeleted=1`);
    expect((await browsers.editor.get(String(deleted.headers.location))).body).toContain(
      'The action has been deleted.',
    );
    expect(await rowsOfAction(plan.planId, child)).toEqual(
      Object.fromEntries(Object.keys(childBefore).map((table) => [table, 0])),
    );
    expect(await countStoredFiles(db())).toBe(filesBefore - 1);
    expect(await countUnownedUploads(db())).toBe(0);
    // Committed now, it would add the sub-action back: it is refused.
    const stale = await browsers.admin.post(`/green-plans/${plan.planId}/import/commit`, {
      importId,
    });
    expect(stale.statusCode).toBe(400);
    expect(stale.body).toContain('The plan has changed since the file was checked');
    expect((await rowsOfAction(plan.planId, child)).actions).toBe(0);
    // Its address now says what it was and when it went.
    const gone = await browsers.editor.get(`/green-plans/${plan.planId}/actions/${child}`);
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain('The action D-1.1 Heat pump at the hub was deleted on');

    // Then the parent: its comment thread, the notification about it and its KPI link go too.
    const parentConfirm = await browsers.editor.get(parentUrl);
    expect(parentConfirm.body).toContain('1 comment</li>');
    expect(shownCounts(parentConfirm.body)).toBe('0-0-1-1-1');
    expect((await browsers.editor.post(parentUrl, { shown: '0-0-1-1-1' })).statusCode).toBe(303);
    expect(await rowsOfAction(plan.planId, parent)).toEqual(
      Object.fromEntries(Object.keys(parentBefore).map((table) => [table, 0])),
    );
    // The plan, its areas, KPI with its values, and its imports stay.
    expect(await rowsOf(plan)).toMatchObject({
      plans: 1,
      areas: planBefore.areas,
      kpis: 1,
      kpiValues: planBefore.kpiValues,
      // With the refused import, one more.
      imports: planBefore.imports + 1,
      actions: 0,
    });

    const audit = await db()
      .selectFrom('audit_events')
      .select(['target_id', 'organisation_code', 'details'])
      .where('action', '=', 'green_plan.action_deleted')
      .where('target_id', 'in', [parent, child])
      .orderBy('id')
      .execute();
    expect(audit.map((row) => [row.target_id, JSON.parse(row.details!)])).toEqual([
      [
        child,
        {
          plan: plan.planId,
          reference: 'D-1.1',
          title: 'Heat pump at the hub',
          leadOrganisation: 'QK1',
          updates: 2,
          milestones: 1,
          kpiLinks: 0,
          files: 1,
          comments: 0,
        },
      ],
      [
        parent,
        {
          plan: plan.planId,
          reference: 'D-1',
          title: 'Decarbonise heat',
          leadOrganisation: 'QK1',
          updates: 0,
          milestones: 1,
          kpiLinks: 1,
          files: 0,
          comments: 1,
        },
      ],
    ]);
  });

  it('lets only the plan’s editors delete an action, with a CSRF token; those who may change it may not', async () => {
    const plan = await fullPlan('Plan with a guarded action', 'published');
    const partnerAction = await testApp.services.greenPlans.createAction(
      icsActor,
      plan.planId,
      {
        reference: 'D-2',
        area: 'estates-and-facilities',
        title: 'Trust-led survey',
        lead_organisation: 'RT5',
        status: 'on_track',
        progress_percent: '0',
      },
      context,
    );
    const before = await rowsOfAction(plan.planId, partnerAction);
    const actionUrl = `/green-plans/${plan.planId}/actions/${partnerAction}`;
    const url = `${actionUrl}/delete`;
    // The lead organisation's editor may change the action, but not delete it.
    const editForm = await browsers.outsider.get(`${actionUrl}/edit`);
    expect(editForm.statusCode).toBe(200);
    expect(editForm.body).not.toContain(`href="${url}"`);
    expect((await browsers.outsider.get(url)).statusCode).toBe(403);
    expect((await browsers.outsider.post(url)).statusCode).toBe(403);
    expect((await browsers.member.post(url)).statusCode).toBe(403);
    const signedOut = await browsers.anonymous.post(url);
    expect(signedOut.statusCode).toBe(303);
    expect(String(signedOut.headers.location)).toMatch(/^\/sign-in/);
    expect((await browsers.editor.post(url, {}, { csrf: false })).statusCode).toBe(403);
    expect((await browsers.editor.post(url, {}, { csrf: 'forged' })).statusCode).toBe(403);
    expect(await rowsOfAction(plan.planId, partnerAction)).toEqual(before);
    // The plan's editors see the link on the action's page, others do not; an action id that is
    // not one is not found.
    expect((await browsers.editor.get(actionUrl)).body).toContain(`href="${url}"`);
    expect((await browsers.outsider.get(actionUrl)).body).not.toContain(`href="${url}"`);
    expect(
      (await browsers.editor.post(`/green-plans/${plan.planId}/actions/not-an-action/delete`))
        .statusCode,
    ).toBe(404);
    // Another plan's action is not found under this plan.
    const elsewhere = await fullPlan('Another plan', 'published');
    expect(
      (
        await browsers.editor.post(
          `/green-plans/${plan.planId}/actions/${elsewhere.actionIds[1]}/delete`,
        )
      ).statusCode,
    ).toBe(404);
    expect(await rowsOfAction(elsewhere.planId, elsewhere.actionIds[1]!)).toMatchObject({
      actions: 1,
    });
  });

  it('deletes only what its page counted, and tells a second click and later visits that the action was deleted', async () => {
    const plan = await fullPlan('Plan with a counted deletion', 'published');
    const child = plan.actionIds[1]!;
    const actionUrl = `/green-plans/${plan.planId}/actions/${child}`;
    const url = `${actionUrl}/delete`;
    const confirm = await browsers.editor.get(url);
    expect(shownCounts(confirm.body)).toBe('2-1-1-0-0');

    // A milestone added after the page was opened: nothing is deleted, and the page, counted
    // again, says what changed.
    await testApp.services.greenPlans.addMilestone(
      icsActor,
      plan.planId,
      child,
      { title: 'Commissioning', dueDate: '2025-02-28' },
      context,
    );
    const before = await rowsOfAction(plan.planId, child);
    const changed = await browsers.editor.post(url, { shown: shownCounts(confirm.body) });
    expect(changed.statusCode).toBe(409);
    expect(changed.body).toContain('href="#what-goes"');
    expect(changed.body).toContain(
      'Since you opened this page, what will be deleted with the action has changed (2 milestones, not 1)',
    );
    expect(changed.body).toContain('2 milestones and its history');
    expect(shownCounts(changed.body)).toBe('2-1-2-0-0');
    expect(await rowsOfAction(plan.planId, child)).toEqual(before);

    // A comment posted meanwhile is counted too.
    const commenter = new HttpAgent(testApp.app);
    const commenterUser = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    await signInAs(commenter, commenterUser);
    expect(
      (await commenter.post(`${actionUrl}/comments`, { body: 'Is this a duplicate of D-2?' }))
        .statusCode,
    ).toBe(303);
    const commented = await browsers.editor.post(url, { shown: shownCounts(changed.body) });
    expect(commented.statusCode).toBe(409);
    expect(commented.body).toContain('has changed (1 comment, not 0)');
    expect(shownCounts(commented.body)).toBe('2-1-2-0-1');
    const withComment = await rowsOfAction(plan.planId, child);
    expect(withComment).toMatchObject({ ...before, conversations: 1, posts: 1, notifications: 1 });

    // A form without the counts (an old page, a hand-made request) is shown the page again.
    for (const shown of [undefined, '', '2-1-2-0', '2-1-2-0-x', '2-1-2-0-1-0']) {
      const unconfirmed = await browsers.editor.post(url, shown === undefined ? {} : { shown });
      expect(unconfirmed.statusCode, String(shown)).toBe(409);
      expect(unconfirmed.body).toContain(
        'Check what will be deleted with the action, then delete it',
      );
    }
    expect(await rowsOfAction(plan.planId, child)).toEqual(withComment);

    // Confirmed again, it goes. A second click is told it went, as is every address of it.
    expect(
      (await browsers.editor.post(url, { shown: shownCounts(commented.body) })).statusCode,
    ).toBe(303);
    expect(await rowsOfAction(plan.planId, child)).toMatchObject({ actions: 0, posts: 0 });
    const deletedAt = (
      await db()
        .selectFrom('audit_events')
        .select('occurred_at')
        .where('action', '=', 'green_plan.action_deleted')
        .where('target_id', '=', child)
        .executeTakeFirstOrThrow()
    ).occurred_at;
    const longDateTime = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZone: 'Europe/London',
    }).format(new Date(deletedAt));
    for (const [method, address] of [
      ['post', url],
      ['get', url],
      ['get', actionUrl],
      ['get', `${actionUrl}/edit`],
      ['get', `${actionUrl}/updates/new`],
      ['post', `${actionUrl}/comments`],
    ] as const) {
      const gone =
        method === 'post'
          ? await browsers.editor.post(address, { shown: '2-1-2-0-1', body: 'Still on?' })
          : await browsers.editor.get(address);
      expect(gone.statusCode, address).toBe(410);
      expect(gone.body).toContain('<h1>This page has been deleted</h1>');
      expect(gone.body).toContain(
        `The action D-1.1 Heat pump at the hub was deleted on ${longDateTime}.`,
      );
      expect(gone.body).toContain(`<a href="/green-plans/${plan.planId}">Go to`);
    }
    // Others who may read the plan are told only that an action was deleted, not which.
    for (const reader of [browsers.member, browsers.anonymous, browsers.outsider]) {
      const told = await reader.get(actionUrl);
      expect(told.statusCode).toBe(410);
      expect(told.body).toContain(`The action was deleted on ${longDateTime}.`);
      expect(told.body).not.toContain('Heat pump');
    }
    // Under another plan it is not found; and in a draft, only its readers learn it went.
    const hidden = await fullPlan('A draft plan elsewhere');
    expect(
      (await browsers.editor.get(`/green-plans/${hidden.planId}/actions/${child}`)).statusCode,
    ).toBe(404);
    const hiddenAction = hidden.actionIds[1]!;
    await testApp.services.greenPlans.deleteAction(icsActor, hidden.planId, hiddenAction, context);
    const hiddenUrl = `/green-plans/${hidden.planId}/actions/${hiddenAction}`;
    expect((await browsers.outsider.get(`/green-plans/${hidden.planId}`)).statusCode).toBe(404);
    expect((await browsers.outsider.get(hiddenUrl)).statusCode).toBe(404);
    expect((await browsers.anonymous.get(hiddenUrl)).statusCode).toBe(404);
    const toEditor = await browsers.editor.get(hiddenUrl);
    expect(toEditor.statusCode).toBe(410);
    expect(toEditor.body).toContain('The action D-1.1 Heat pump at the hub was deleted on');
  });

  it('lets an update, milestone, KPI link, comment or sub-action sent while an action is deleted land before the deletion, or find the action gone', async () => {
    const plans = testApp.services.greenPlans;
    const plan = await fullPlan('Plan with racing changes', 'published');
    const kpiId = plan.kpiId;
    const outcomes: string[] = [];
    const commenterActor = async () =>
      actorFor(
        testApp.services,
        (
          await buildUser(testApp.services, {
            memberships: [{ organisationCode: 'QK1', role: 'member' }],
          })
        ).id,
      );
    for (let round = 0; round < 4; round += 1) {
      for (const kind of ['update', 'milestone', 'kpi link', 'comment', 'sub-action'] as const) {
        const reference = `R-${round}-${kind.replace(' ', '-')}`;
        const actionId = await plans.createAction(
          icsActor,
          plan.planId,
          {
            reference,
            area: 'estates-and-facilities',
            title: 'Typed twice',
            lead_organisation: 'QK1',
            status: 'on_track',
            progress_percent: '0',
          },
          context,
        );
        // A commenter of their own each round: posting is rate-limited per person.
        const commenter = kind === 'comment' ? await commenterActor() : null;
        const change = () => {
          switch (kind) {
            case 'update':
              return plans.postUpdate(
                icsActor,
                plan.planId,
                actionId,
                {
                  updateDate: '',
                  narrative: 'Late news',
                  status: 'at_risk',
                  progressPercent: '5',
                  links: '',
                },
                [],
                context,
              );
            case 'milestone':
              return plans.addMilestone(
                icsActor,
                plan.planId,
                actionId,
                { title: 'Survey', dueDate: '2025-01-31' },
                context,
              );
            case 'kpi link':
              return plans.linkKpiToAction(icsActor, plan.planId, kpiId, reference, context);
            case 'comment':
              return testApp.services.discussions.reply(
                commenter!,
                { subject: 'plan_action', id: actionId },
                { body: 'Is this one a duplicate?' },
                context,
              );
            case 'sub-action':
              return plans.createAction(
                icsActor,
                plan.planId,
                {
                  reference: `${reference}.1`,
                  parent_reference: reference,
                  area: 'estates-and-facilities',
                  title: 'Under it',
                  lead_organisation: 'QK1',
                  status: 'on_track',
                  progress_percent: '0',
                },
                context,
              );
          }
        };
        const [deleted, changed] = await Promise.allSettled([
          plans.deleteAction(icsActor, plan.planId, actionId, context),
          change(),
        ]);
        const reason = (result: PromiseSettledResult<unknown>) =>
          result.status === 'fulfilled' ? 'done' : (result.reason as Error).name;
        outcomes.push(`${kind}: ${reason(deleted)} / ${reason(changed)}`);
        if (kind === 'sub-action') {
          // Either the sub-action came first, and the deletion is refused; or the deletion did,
          // and the sub-action has no parent to go under (found gone when first looked up, or
          // once the plan's row is held).
          expect([
            'ActionHasSubActions / done',
            'done / ValidationFailed',
            'done / NotFoundError',
          ]).toContain(`${reason(deleted)} / ${reason(changed)}`);
        } else {
          expect(reason(deleted), kind).toBe('done');
          // A KPI link names the action by reference: one already gone is not among the choices.
          // Found gone once the deletion is in: said so (410) where the action is looked up by
          // its id; a comment's subject, or a KPI link's reference, is simply not found.
          const expected = {
            update: ['done', 'GoneError'],
            milestone: ['done', 'GoneError'],
            'kpi link': ['done', 'GoneError', 'ValidationFailed'],
            comment: ['done', 'NotFoundError'],
          }[kind];
          expect(expected, kind).toContain(reason(changed));
          expect(await rowsOfAction(plan.planId, actionId)).toMatchObject({
            actions: 0,
            updates: 0,
            milestones: 0,
            kpiLinks: 0,
            conversations: 0,
            posts: 0,
            notifications: 0,
          });
        }
      }
    }
    expect(outcomes).toHaveLength(20);
  });
});
