import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser, currentTotp } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { serialiseFramework } from './framework.parser.ts';
import { context } from './greener-practice.test-helpers.ts';

const PRACTICE = 'C82008';

describe.each(testDialects)("a past year's self-assessment on %s", (dialect) => {
  let testApp: TestApp;
  let champion: HttpAgent;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    const admin = await buildUser(services, { platformAdmin: true });
    const current = await services.greenerPractice.getFramework('2026-27');
    // The same framework for the year before, and an assessment the practice made in it.
    await services.greenerPractice.publishFrameworkVersion(
      await actorFor(services, admin.id),
      {
        text: serialiseFramework({ ...current.framework, programmeYear: '2025-26' }),
        fileName: 'framework-2025-26.json',
        source: 'upload',
        note: '',
      },
      context,
    );
    const at = '2026-01-15T10:00:00.000Z';
    await services.database.db
      .insertInto('ggp_assessments')
      .values({
        id: randomUUID(),
        practice_code: PRACTICE,
        programme_year: '2025-26',
        status: 'in_progress',
        is_example: 0,
        created_by: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    const person = await buildUser(services, {
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    champion = new HttpAgent(testApp.app);
    await signInAs(champion, person, () => currentTotp(person));
  });

  afterAll(async () => {
    await testApp.close();
  });

  it("lists its actions without links to the open year's action pages", async () => {
    const past = await champion.get(
      `/greener-practice/practices/${PRACTICE}/assessment?year=2025-26`,
    );
    expect(past.statusCode).toBe(200);
    expect(past.body).toContain('Self-assessment 2025');
    expect(past.body).not.toContain(`/greener-practice/practices/${PRACTICE}/assessment/actions/`);
    const open = await champion.get(`/greener-practice/practices/${PRACTICE}/assessment`);
    expect(open.statusCode).toBe(200);
  });
});
