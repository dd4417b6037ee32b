import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser } from '../../../test/support/factories.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { Actor } from '../access/policy.ts';

const context = { ip: '127.0.0.1', userAgent: 'uk-dates-tests' };

describe.each(testDialects)('green plan dates just after midnight in summer, on %s', (dialect) => {
  // 23:30 UTC on 10 June is 00:30 BST on 11 June: it is already 11 June for everyone in England.
  const justAfterMidnight = new Date('2026-06-10T23:30:00.000Z');
  let testApp: TestApp;
  let icsActor: Actor;
  let planId: string;
  let actionId: string;

  beforeAll(async () => {
    // The real time while the administrator sets up two-factor sign-in, then just after midnight.
    let clock = new Date();
    testApp = await createTestApp(dialect, { services: { now: () => clock } });
    const { services } = testApp;
    const admin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    icsActor = await actorFor(services, admin.id);
    clock = justAfterMidnight;
    planId = await services.greenPlans.createPlan(
      icsActor,
      {
        title: 'Plan dated in UK time',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    actionId = await services.greenPlans.createAction(
      icsActor,
      planId,
      {
        reference: 'T-1',
        area: 'medicines',
        title: 'Action T-1',
        lead_organisation: 'QK1',
        start_date: '2024-04-01',
        due_date: '2027-03-31',
        status: 'not_started',
        progress_percent: '0',
      },
      context,
    );
  });

  afterAll(async () => {
    await testApp.close();
  });

  const update = (updateDate: string, narrative: string) => ({
    updateDate,
    narrative,
    status: 'on_track',
    progressPercent: '10',
    links: '',
  });

  async function updateDates() {
    return (
      await testApp.services.database.db
        .selectFrom('green_plan_updates')
        .select('update_date')
        .where('action_id', '=', actionId)
        .orderBy('update_date')
        .execute()
    ).map((row) => row.update_date);
  }

  it('accepts an update dated today in the UK, and dates a blank one today in the UK', async () => {
    const plans = testApp.services.greenPlans;
    await plans.postUpdate(
      icsActor,
      planId,
      actionId,
      update('2026-06-11', 'Dated today'),
      [],
      context,
    );
    await plans.postUpdate(
      icsActor,
      planId,
      actionId,
      update('', 'Dated by the service'),
      [],
      context,
    );
    expect(await updateDates()).toEqual(['2026-06-11', '2026-06-11']);
  });

  it('still refuses an update dated tomorrow in the UK', async () => {
    await expect(
      testApp.services.greenPlans.postUpdate(
        icsActor,
        planId,
        actionId,
        update('2026-06-12', 'Too early'),
        [],
        context,
      ),
    ).rejects.toMatchObject({
      fieldErrors: { updateDate: 'The date of the update cannot be in the future' },
    });
  });
});
