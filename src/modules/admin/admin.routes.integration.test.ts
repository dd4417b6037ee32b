import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser, currentTotp, type TestUser } from '../../../test/support/factories.ts';
import { browsersFor } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

/** The choices of the audit log's "Action" drop-down, without "Any action". */
function actionChoices(html: string): string[] {
  const select = /<select[^>]*id="action"[\s\S]*?<\/select>/.exec(html)?.[0] ?? '';
  return [...select.matchAll(/<option value="([^"]*)"/g)]
    .map((match) => match[1]!)
    .filter((value) => value !== '');
}

/** The count the audit log page gives, such as "12 events". */
function eventCount(html: string): number {
  const match = /<h2 id="events-heading">([\d,]+) events?<\/h2>/.exec(html);
  if (!match) throw new Error('No event count on the page');
  return Number(match[1]!.replaceAll(',', ''));
}

describe.each(testDialects)('the audit log on %s', (dialect) => {
  let testApp: TestApp;
  let practiceAdmin: TestUser;
  let icsAdmin: TestUser;
  let platformAdmin: TestUser;
  const as = browsersFor<TestUser>(
    () => testApp.app,
    (user) => currentTotp(user),
  );

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    practiceAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'org_admin' }],
    });
    icsAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    platformAdmin = await buildUser(testApp.services, { platformAdmin: true });
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('offers in the Action drop-down only the actions of events the reader may read', async () => {
    // C82002 is another practice, in the LLR ICB (QK1) as C82001 is.
    await testApp.services.audit.record(
      { action: 'test.elsewhere_only', actorUserId: null, organisationCode: 'C82002' },
      null,
    );
    await testApp.services.audit.record(
      { action: 'test.own_practice', actorUserId: null, organisationCode: 'C82001' },
      null,
    );

    const practice = actionChoices((await (await as(practiceAdmin)).get('/admin/audit')).body);
    expect(practice).toContain('test.own_practice');
    expect(practice).not.toContain('test.elsewhere_only');

    for (const reader of [icsAdmin, platformAdmin]) {
      const choices = actionChoices((await (await as(reader)).get('/admin/audit')).body);
      expect(choices).toContain('test.own_practice');
      expect(choices).toContain('test.elsewhere_only');
    }

    // Each admin's choices are exactly the actions their rows can show.
    for (const reader of [practiceAdmin, icsAdmin, platformAdmin]) {
      const browser = await as(reader);
      for (const action of ['test.elsewhere_only', 'test.own_practice']) {
        const rows = eventCount((await browser.get(`/admin/audit?action=${action}`)).body);
        const offered = actionChoices((await browser.get('/admin/audit')).body).includes(action);
        expect(offered, `${reader.email} ${action}`).toBe(rows > 0);
      }
    }
  });

  it('answers 404 for a page past the last, but shows the first page of an empty log', async () => {
    const browser = await as(platformAdmin);
    const first = await browser.get('/admin/audit');
    expect(first.statusCode).toBe(200);
    const lastPage = Math.max(1, Math.ceil(eventCount(first.body) / 50));

    expect((await browser.get(`/admin/audit?page=${lastPage}`)).statusCode).toBe(200);
    const past = await browser.get(`/admin/audit?page=${lastPage + 1}`);
    expect(past.statusCode).toBe(404);
    expect(past.body).toContain('Page not found');
    expect((await browser.get('/admin/audit?page=999')).statusCode).toBe(404);

    const empty = await browser.get('/admin/audit?action=test.never_recorded&page=1');
    expect(empty.statusCode).toBe(200);
    expect(eventCount(empty.body)).toBe(0);
    expect((await browser.get('/admin/audit?action=test.never_recorded')).statusCode).toBe(200);
    expect((await browser.get('/admin/audit?action=test.never_recorded&page=2')).statusCode).toBe(
      404,
    );

    // An organisation admin's log is their organisations' events only: its last page is theirs.
    const practice = await as(practiceAdmin);
    const own = eventCount((await practice.get('/admin/audit')).body);
    const ownLast = Math.max(1, Math.ceil(own / 50));
    expect((await practice.get(`/admin/audit?page=${ownLast}`)).statusCode).toBe(200);
    expect((await practice.get(`/admin/audit?page=${ownLast + 1}`)).statusCode).toBe(404);
  });
});
