import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgent } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { LLR_PLAN_SLUG, seedLlrGreenPlan } from './llr-green-plan.seed.ts';

describe.each(testDialects)('the seeded LLR Green Plan on %s', (dialect) => {
  let testApp: TestApp;
  let planId: string;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    // The test database templates are seeded like a new installation, so the plan is there already.
    await seedLlrGreenPlan(testApp.services);
    planId = (await testApp.services.greenPlans.findPublishedPlanBySlug(LLR_PLAN_SLUG))!.id;
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('is idempotent: seeding again changes nothing', async () => {
    const before = await testApp.services.greenPlans.exportPlan(
      {
        userId: 'x',
        email: '',
        displayName: '',
        isPlatformAdmin: true,
        twoFactorEnabled: true,
        memberships: [],
        workspaceIds: [],
      },
      planId,
    );
    expect(await seedLlrGreenPlan(testApp.services)).toEqual({ created: 0, unchanged: 1 });
    const after = await testApp.services.greenPlans.exportPlan(
      {
        userId: 'x',
        email: '',
        displayName: '',
        isPlatformAdmin: true,
        twoFactorEnabled: true,
        memberships: [],
        workspaceIds: [],
      },
      planId,
    );
    expect(after.actions).toEqual(before.actions);
    expect(before.actions.length).toBeGreaterThan(20);
  });

  it('is linked from the home page and from each area of focus', async () => {
    const visitor = new HttpAgent(testApp.app);
    const home = await visitor.get('/');
    expect(home.body).toContain(`<a href="/green-plans/${planId}">The live plan tracker</a>`);
    expect(home.body).not.toContain('The live plan tracker <strong');
    const areas = await visitor.get('/areas-of-focus');
    expect(areas.body).toContain(`href="/green-plans/${planId}/areas/medicines"`);
    expect(areas.body).toContain(`href="/green-plans/${planId}/areas/adaptation"`);
  });

  it('shows every public page of the plan to a signed-out visitor, labelled as example content', async () => {
    const visitor = new HttpAgent(testApp.app);
    const overview = await visitor.get(`/green-plans/${planId}`);
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain('LLR ICS Green Plan');
    expect(overview.body).toContain('Example content');
    expect(overview.body).toContain('<svg');
    expect(overview.body).toContain('Data for this chart');
    const list = await visitor.get('/green-plans');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`/green-plans/${planId}`);
    const actions = await visitor.get(`/green-plans/${planId}/actions?status=off_track`);
    expect(actions.statusCode).toBe(200);
    expect(actions.body).toContain('STT-02');
    expect(actions.body).not.toContain('WSL-01 ');
    const area = await visitor.get(`/green-plans/${planId}/areas/medicines`);
    expect(area.statusCode).toBe(200);
    expect(area.body).toContain('MED-01');
    const actionId = await testApp.services.greenPlans.findActionIdByReference(planId, 'SMC-01');
    const action = await visitor.get(`/green-plans/${planId}/actions/${actionId}`);
    expect(action.statusCode).toBe(200);
    expect(action.body).toContain('Respiratory virtual ward pathway');
    expect(action.body).toContain('Timeline');
    const report = await visitor.get(`/green-plans/${planId}/board-report?quarter=2024-25-q1`);
    expect(report.statusCode).toBe(200);
    expect(report.body).toContain('Q1 2024/25 (April to June 2024)');
    const pdf = await visitor.get(`/green-plans/${planId}/board-report.pdf?quarter=2024-25-q1`);
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const overviewKpi = /href="\/green-plans\/[0-9a-f-]+\/kpis\/([0-9a-f-]+)"/.exec(overview.body);
    const kpi = await visitor.get(`/green-plans/${planId}/kpis/${overviewKpi![1]}`);
    expect(kpi.statusCode).toBe(200);
    expect(kpi.body).toContain('stroke-dasharray');
  });
});
