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
import { multipartBody, SMALL_PDF } from '../green-plans/green-plan.test-helpers.ts';
import { answerDone, bronzeCodes, context, pageText } from './greener-practice.test-helpers.ts';

/** Two of the practices the seed leaves alone, so each starts with no assessment. */
const PRACTICE = 'C82007';
const OTHER_PRACTICE = 'C82003';
const THIRD_PRACTICE = 'C82005';

/** Every link in the page's error summary leads to an element of the page. */
function expectSummaryLinksToFind(html: string) {
  const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
  const targets = [...summary.matchAll(/href="#([^"]+)"/g)].map((match) => match[1]!);
  expect(targets.length).toBeGreaterThan(0);
  for (const target of targets) expect(html).toContain(`id="${target}"`);
}

/**
 * Requests that arrive together, as a double click without JavaScript sends them: the second must
 * find what the first did, never act on the state both read before either changed it.
 */
describe.each(testDialects)('Greener General Practice requests at once on %s', (dialect) => {
  let testApp: TestApp;
  let champion: TestUser;
  const browsers: Record<string, HttpAgent> = {};

  async function signedIn(name: string, person: TestUser): Promise<HttpAgent> {
    if (browsers[name]) return browsers[name];
    const agent = new HttpAgent(testApp.app);
    await signInAs(agent, person, () => currentTotp(person));
    browsers[name] = agent;
    return agent;
  }

  /** Starts the practice's assessment and answers exactly enough for Bronze. */
  async function readyForBronze(practiceCode: string) {
    const { services } = testApp;
    const actor = await actorFor(services, champion.id);
    await services.greenerPractice.startAssessment(actor, practiceCode, context);
    const framework = (await services.greenerPractice.getFramework()).framework;
    await answerDone(services, actor, practiceCode, bronzeCodes(framework));
  }

  async function submissionsOf(practiceCode: string) {
    return testApp.services.database.db
      .selectFrom('ggp_submissions as s')
      .innerJoin('ggp_assessments as a', 'a.id', 's.assessment_id')
      .select(['s.id', 's.outcome', 's.snapshot', 'a.id as assessment_id', 'a.status'])
      .where('a.practice_code', '=', practiceCode)
      .execute();
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    champion = await buildUser(services, {
      memberships: [
        { organisationCode: PRACTICE, role: 'green_champion' },
        { organisationCode: OTHER_PRACTICE, role: 'green_champion' },
        { organisationCode: THIRD_PRACTICE, role: 'green_champion' },
      ],
    });
    const verifier = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_verifier' }],
    });
    await signedIn('champion', champion);
    await signedIn('verifier', verifier);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('makes one submission of two submits at once, and tells the other request it is submitted', async () => {
    await readyForBronze(PRACTICE);
    const agent = browsers.champion!;
    const csrf = await agent.csrfToken();
    const url = `/greener-practice/practices/${PRACTICE}/assessment/submit`;
    const responses = await Promise.all([
      agent.post(url, { level: 'bronze', confirm: 'yes' }, { csrf }),
      agent.post(url, { level: 'bronze', confirm: 'yes' }, { csrf }),
    ]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([303, 409]);
    const refused = responses.find((response) => response.statusCode === 409)!;
    expect(pageText(refused.body)).toContain('This assessment was submitted for verification');
    expectSummaryLinksToFind(refused.body);
    const submissions = await submissionsOf(PRACTICE);
    expect(submissions.map((row) => row.outcome)).toEqual(['pending']);
    expect(submissions[0]!.status).toBe('submitted');
  });

  it('awards once for two approvals of the same submission at once, refusing the other cleanly', async () => {
    const [submission] = await submissionsOf(PRACTICE);
    const agent = browsers.verifier!;
    const csrf = await agent.csrfToken();
    const url = `/greener-practice/reviews/${submission!.id}`;
    const responses = await Promise.all([
      agent.post(url, { decision: 'approve' }, { csrf }),
      agent.post(url, { decision: 'approve' }, { csrf }),
    ]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([303, 400]);
    const refused = responses.find((response) => response.statusCode === 400)!;
    expect(pageText(refused.body)).toContain('This submission was already approved on');
    expectSummaryLinksToFind(refused.body);
    const awards = await testApp.services.database.db
      .selectFrom('ggp_awards')
      .select(['level', 'submission_id'])
      .where('practice_code', '=', PRACTICE)
      .execute();
    expect(awards).toEqual([{ level: 'bronze', submission_id: submission!.id }]);
    const [after] = await submissionsOf(PRACTICE);
    expect(after!.outcome).toBe('approved');
    expect(after!.status).toBe('awarded');
  });

  it('never leaves an answer saved beside a submission that does not hold it', async () => {
    await readyForBronze(OTHER_PRACTICE);
    const agent = browsers.champion!;
    const csrf = await agent.csrfToken();
    const answer = multipartBody(
      csrf,
      { status: 'done', note: 'Staff travel survey in May 2026.' },
      [],
    );
    const [submitted, saved] = await Promise.all([
      agent.post(
        `/greener-practice/practices/${OTHER_PRACTICE}/assessment/submit`,
        { level: 'bronze', confirm: 'yes' },
        { csrf },
      ),
      testApp.app.inject({
        method: 'POST',
        url: `/greener-practice/practices/${OTHER_PRACTICE}/assessment/actions/TT-01`,
        headers: {
          'content-type': answer.contentType,
          cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        },
        payload: answer.payload,
      }),
    ]);
    expect([303, 400]).toContain(submitted.statusCode);
    expect([303, 409]).toContain(saved.statusCode);
    const submissions = await submissionsOf(OTHER_PRACTICE);
    const travel = await testApp.services.database.db
      .selectFrom('ggp_responses')
      .select('status')
      .where('action_code', '=', 'TT-01')
      .where('assessment_id', 'in', (query) =>
        query
          .selectFrom('ggp_assessments')
          .select('id')
          .where('practice_code', '=', OTHER_PRACTICE),
      )
      .executeTakeFirst();
    if (submitted.statusCode === 303) {
      // Submitted: the answer was either saved before and is in the submission, or refused after.
      expect(submissions.length).toBe(1);
      const claimed = JSON.parse(submissions[0]!.snapshot) as { actions: { code: string }[] };
      const inSubmission = claimed.actions.some((action) => action.code === 'TT-01');
      expect(inSubmission).toBe(saved.statusCode === 303);
      expect(travel?.status === 'done').toBe(saved.statusCode === 303);
    } else {
      // The save came between the submit's check and its claim: nothing was submitted.
      expect(pageText(submitted.body)).toContain('Check the answers and submit again.');
      expect(submissions.length).toBe(0);
      expect(travel?.status).toBe('done');
    }
  });

  it('counts both of two answers saved at once in the points the history records', async () => {
    const { services } = testApp;
    const actor = await actorFor(services, champion.id);
    await services.greenerPractice.startAssessment(actor, THIRD_PRACTICE, context);
    const framework = (await services.greenerPractice.getFramework()).framework;
    const [first, second] = bronzeCodes(framework);
    // Each save reads the answers before it claims the assessment; the points it records must
    // still count the other save, whichever commits first.
    await Promise.all([
      answerDone(services, actor, THIRD_PRACTICE, [first!]),
      answerDone(services, actor, THIRD_PRACTICE, [second!]),
    ]);
    const events = await services.database.db
      .selectFrom('ggp_events')
      .select(['points', 'kind'])
      .where('practice_code', '=', THIRD_PRACTICE)
      .orderBy('id')
      .execute();
    const alone = await services.database.db
      .selectFrom('ggp_events')
      .select('points')
      .where('practice_code', '=', THIRD_PRACTICE)
      .where('kind', '=', 'answered')
      .execute();
    expect(events.map((event) => event.kind)).toEqual(['started', 'answered', 'answered']);
    const [one, both] = [Math.min(...alone.map((row) => row.points)), events.at(-1)!.points];
    expect(one).toBeGreaterThan(0);
    expect(both).toBeGreaterThan(one);
  });

  it('never lets two saves of files at once take an action past its ten files', async () => {
    const agent = browsers.champion!;
    const url = `/greener-practice/practices/${THIRD_PRACTICE}/assessment/actions/EB-03`;
    const fiveFiles = (batch: string) =>
      Array.from({ length: 5 }, (_, index) => ({
        field: 'evidence',
        name: `Bill ${batch}${index + 1}.pdf`,
        type: 'application/pdf',
        bytes: SMALL_PDF,
      }));
    const send = async (batch: string) => {
      const body = multipartBody(
        await agent.csrfToken(),
        { status: 'in_progress', note: 'Bills from the last year, one a month.' },
        fiveFiles(batch),
      );
      return testApp.app.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': body.contentType,
          cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        },
        payload: body.payload,
      });
    };
    const filesOfAction = async () =>
      (
        await testApp.services.database.db
          .selectFrom('ggp_evidence_files as e')
          .innerJoin('ggp_assessments as a', 'a.id', 'e.assessment_id')
          .select('e.id')
          .where('a.practice_code', '=', THIRD_PRACTICE)
          .where('e.action_code', '=', 'EB-03')
          .where('e.removed_at', 'is', null)
          .execute()
      ).length;
    expect((await send('a')).statusCode).toBe(303);
    expect(await filesOfAction()).toBe(5);
    // Both counted five before either had added its own: only one may add five more.
    const outcomes = await Promise.all([send('b'), send('c')]);
    expect(outcomes.map((response) => response.statusCode).sort()).toEqual([303, 400]);
    const refused = outcomes.find((response) => response.statusCode === 400)!;
    expect(pageText(refused.body)).toContain(
      'An action can have at most 10 evidence files; it has 10',
    );
    expect(await filesOfAction()).toBe(10);
  });
});
