import { expect, it } from 'vitest';
import { buildUser, currentTotp } from '../test/support/factories.ts';
import { SMALL_PDF } from '../src/modules/green-plans/green-plan.test-helpers.ts';
import { serialiseFramework } from '../src/modules/greener-practice/framework.parser.ts';
import { describeJourneys } from './support/journeys.ts';
import { signInThrough } from './support/pages/green-plan-pages.ts';
import {
  ActionAnswerPage,
  AssessmentPage,
  AwardsPage,
  PracticeDashboardPage,
  ReviewPages,
  SubmitPage,
} from './support/pages/greener-practice-pages.ts';
import { textOf, textsOf } from './support/pages/text.ts';

const PRACTICE = 'C82008';

describeJourneys('Greener General Practice journeys', (suite) => {
  it('a green champion completes enough for Bronze and submits with evidence; an ICS verifier returns one action; the champion fixes it; the verifier approves; the practice is listed as awarded and its dashboard shows the award', async () => {
    const { services } = suite.server;
    const practiceName = (await services.organisations.findOrganisationSummary(PRACTICE))!.name;
    const champion = await buildUser(services, {
      displayName: 'Priya Patel',
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    const verifier = await buildUser(services, {
      displayName: 'Tom Okafor',
      memberships: [{ organisationCode: 'QK1', role: 'ics_verifier' }],
    });

    // 1. The champion signs in, finds their practice's self-assessment and starts it.
    const championVisitor = await suite.openVisitor();
    await signInThrough(championVisitor, champion, '/greener-practice');
    await championVisitor.checkPage();
    const assessment = new AssessmentPage(championVisitor, PRACTICE);
    await championVisitor.navigate(
      () =>
        championVisitor.page
          .getByRole('link', { name: `Self-assessment of ${practiceName}` })
          .click(),
      assessment.path,
    );
    await championVisitor.checkPage();
    await assessment.start();
    await championVisitor.checkPage();
    expect(await assessment.status()).toBe('In progress');

    // 2. Bronze: the five required actions and one more, the waste audit with a file.
    const answers: { code: string; note: string; file?: boolean }[] = [
      {
        code: 'LE-01',
        note: 'Priya Patel, practice nurse, has two hours a week agreed by the partners on 2 March.',
      },
      { code: 'LE-02', note: 'Sustainability is item 4 of the quarterly whole-practice meeting.' },
      {
        code: 'EB-01',
        note: 'Twelve months of electricity and gas readings from the smart meter, April to March.',
      },
      { code: 'WR-01', note: '', file: true },
      {
        code: 'MI-01',
        note: 'Reviewed our inhaler measures with the PCN pharmacist at the June clinical meeting.',
      },
      {
        code: 'LE-05',
        note: 'Six of our ten clinicians completed a sustainable healthcare module this year.',
      },
    ];
    const actionPage = new ActionAnswerPage(championVisitor);
    for (const answer of answers) {
      await assessment.openAction(answer.code);
      await championVisitor.checkPage();
      await actionPage.answer({
        status: 'Done',
        note: answer.note,
        file: answer.file
          ? { name: 'Clinical waste audit.pdf', mimeType: 'application/pdf', buffer: SMALL_PDF }
          : undefined,
      });
      await championVisitor.checkPage();
    }
    expect(await assessment.points()).toBe('60 of 585');

    // A file attached by mistake is removed, after a page that asks first.
    await assessment.openAction('WR-01');
    await actionPage.answer({
      status: 'Done',
      note: '',
      file: { name: 'Wrong practice audit.pdf', mimeType: 'application/pdf', buffer: SMALL_PDF },
    });
    await assessment.openAction('WR-01');
    expect((await actionPage.evidenceFiles()).sort()).toEqual([
      'Clinical waste audit.pdf',
      'Wrong practice audit.pdf',
    ]);
    await actionPage.openRemoval('Wrong practice audit.pdf');
    await championVisitor.checkPage();
    await actionPage.confirmRemoval('Wrong practice audit.pdf');
    await championVisitor.checkPage();
    expect(await actionPage.evidenceFiles()).toEqual(['Clinical waste audit.pdf']);
    await championVisitor.goto(assessment.path);
    expect(await assessment.points()).toBe('60 of 585');

    // 3. The champion checks and submits for Bronze.
    await assessment.openSubmit();
    await championVisitor.checkPage();
    await new SubmitPage(championVisitor).submit('Bronze');
    await championVisitor.checkPage();
    expect(await assessment.status()).toBe('Submitted for verification');

    // 4. The verifier signs in with their security code and returns the submission: one action.
    const verifierVisitor = await suite.openVisitor();
    await signInThrough(verifierVisitor, verifier, '/greener-practice/reviews', () =>
      currentTotp(verifier),
    );
    await verifierVisitor.checkPage();
    const reviews = new ReviewPages(verifierVisitor);
    await reviews.openSubmissionOf(practiceName);
    await verifierVisitor.checkPage();
    expect(await reviews.evidenceNames()).toEqual(['Clinical waste audit.pdf']);
    await reviews.returnWithComment(
      'LE-02',
      'Please describe the two meetings in this programme year at which it was discussed.',
    );
    await verifierVisitor.checkPage();

    // 5. The champion sees the comment, fixes the action and submits again.
    await championVisitor.goto(assessment.path);
    await championVisitor.checkPage();
    expect(await assessment.status()).toBe('Returned for changes');
    expect(await assessment.returnedComments()).toEqual([
      'LE-02: Please describe the two meetings in this programme year at which it was discussed.',
    ]);
    await assessment.openAction('LE-02');
    await championVisitor.checkPage();
    expect(await actionPage.verifierComment()).toBe(
      'Please describe the two meetings in this programme year at which it was discussed.',
    );
    await actionPage.answer({
      status: 'Done',
      note: 'Discussed at the whole-practice meetings of 14 May and 10 September: minutes attached.',
      file: { name: 'Meeting minutes.pdf', mimeType: 'application/pdf', buffer: SMALL_PDF },
    });
    await championVisitor.checkPage();
    await assessment.openSubmit();
    await championVisitor.checkPage();
    await new SubmitPage(championVisitor).submit('Bronze');
    await championVisitor.checkPage();

    // 6. The verifier approves.
    await verifierVisitor.goto('/greener-practice/reviews');
    await verifierVisitor.checkPage();
    await reviews.openSubmissionOf(practiceName);
    await verifierVisitor.checkPage();
    expect((await reviews.evidenceNames()).sort()).toEqual([
      'Clinical waste audit.pdf',
      'Meeting minutes.pdf',
    ]);
    await reviews.approve('Bronze');
    await verifierVisitor.checkPage();

    // 7. A signed-out visitor finds the practice in the awarded list, and its dashboard shows Bronze.
    const visitor = await suite.openVisitor();
    expect(await visitor.goto('/greener-practice/awards')).toBe(200);
    await visitor.checkPage();
    const awards = new AwardsPage(visitor);
    expect(await awards.awardOf(practiceName)).toBe('Bronze');
    await awards.openPractice(practiceName, PRACTICE);
    await visitor.checkPage();
    const dashboard = new PracticeDashboardPage(visitor);
    expect(await dashboard.award()).toBe('Bronze 2026–27');
    expect(await dashboard.recommendationTitles()).toHaveLength(5);
    const certificate = await visitor.page.request.get(
      `/greener-practice/practices/${PRACTICE}/certificate.pdf?year=2026-27`,
    );
    expect(certificate.headers()['content-type']).toBe('application/pdf');

    // And the champion's assessment shows the award.
    await championVisitor.goto(assessment.path);
    await championVisitor.checkPage();
    expect(await assessment.status()).toBe('Awarded');
  });

  it('a visitor without JavaScript reads a programme dashboard with its map and table, the inequalities lens and the board summary', async () => {
    const visitor = await suite.openVisitor({ javaScriptEnabled: false });
    expect(await visitor.goto('/greener-practice')).toBe(200);
    await visitor.checkPage();
    await visitor.navigate(
      () => visitor.page.getByRole('link', { name: 'Programme dashboard', exact: true }).click(),
      '/greener-practice/programme',
    );
    await visitor.checkPage();
    const { page } = visitor;
    expect(await textOf(page.locator('main svg.gs-map > title'))).toContain('Map of LLR');
    const mapRows = page.locator(
      'main table:has(caption:has-text("with its place on the map")) tbody tr',
    );
    expect(await mapRows.count()).toBe(128);
    // The map's data table is in a details element: it opens without JavaScript.
    await page.getByText('The map as a table', { exact: true }).click();
    expect(await mapRows.first().isVisible()).toBe(true);

    await page.getByLabel('Area', { exact: true }).selectOption('04C');
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Show', exact: true }).click(),
      (url) =>
        url.pathname === '/greener-practice/programme' && url.searchParams.get('area') === '04C',
    );
    await visitor.checkPage();
    expect(await textsOf(page.locator('main h2'))).toContain('By primary care network');

    await visitor.navigate(
      () => page.getByRole('link', { name: 'Health inequalities lens' }).first().click(),
      (url) => url.pathname === '/greener-practice/inequalities',
    );
    await visitor.checkPage();
    await page.getByLabel('Measure to chart', { exact: true }).selectOption({ label: 'Points' });
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Show', exact: true }).click(),
      (url) => url.searchParams.get('measure') === 'points',
    );
    await visitor.checkPage();
    expect(await textOf(page.locator('main h2#chart'))).toBe('Points');
    expect(await textOf(page.locator('main .gs-gap .gs-stat-label'))).toContain(
      'most minus least deprived',
    );

    expect(await visitor.goto('/greener-practice/board-summary')).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Programme summary for the ICS board');
  });

  it('a platform admin uploads a framework file with a mistake, reads each problem with its line and field, corrects it on the edit page and publishes a new version', async () => {
    const { services } = suite.server;
    const admin = await buildUser(services, { displayName: 'Amara Obi', platformAdmin: true });
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, admin, '/greener-practice/framework/manage', () =>
      currentTotp(admin),
    );
    await visitor.checkPage();
    const { page } = visitor;
    const current = await services.greenerPractice.getFramework();
    const broken = serialiseFramework(current.framework).replace(
      '"minimumPoints": 180',
      '"minimumPoints": 40',
    );
    await page.getByLabel('Framework file (JSON)').setInputFiles({
      name: 'framework-2026-27.json',
      mimeType: 'application/json',
      buffer: Buffer.from(broken),
    });
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Check and publish' }).click(),
      '/greener-practice/framework/manage/upload',
    );
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    const line = broken.split('\n').findIndex((text) => text.includes('"minimumPoints": 40')) + 1;
    expect(await textsOf(page.locator('main #problems li'))).toEqual([
      `framework-2026-27.json, line ${line} field "levels[1].minimumPoints": must be more than the Bronze level's 60 points`,
    ]);

    await visitor.navigate(
      () => page.getByRole('link', { name: /^Edit the 2026–27 framework/ }).click(),
      '/greener-practice/framework/manage/edit',
    );
    await visitor.checkPage();
    const editor = page.getByLabel('Framework (JSON)', { exact: true });
    const text = await editor.inputValue();
    await editor.fill(text.replace('"minimumPoints": 320', '"minimumPoints": 330'));
    await page.getByLabel('What changed (optional)', { exact: true }).fill('Gold needs 330 points');
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Check and publish' }).click(),
      '/greener-practice/framework/manage?done=2026-27-v2',
    );
    await visitor.checkPage();
    expect(await visitor.goto('/greener-practice/framework')).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main .nhsuk-lede-text'))).toContain('Version 2');
    const gold = page.locator('main table').first().locator('tbody tr').nth(2);
    expect(await textOf(gold.locator('td').nth(1))).toBe('330');
  });
});
