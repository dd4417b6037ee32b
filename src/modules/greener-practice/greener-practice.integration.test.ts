import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser, type TestUser } from '../../../test/support/factories.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { ForbiddenError } from '../access/policy.ts';
import { allActions } from './framework.calculations.ts';
import { serialiseFramework } from './framework.parser.ts';
import type { FrameworkRefused } from './greener-practice.service.ts';
import {
  AssessmentLocked,
  SubmissionRefused,
  VerificationConflict,
} from './greener-practice.service.ts';
import { answerDone, bronzeCodes, context } from './greener-practice.test-helpers.ts';

const PRACTICE = 'C82003';
const OTHER_PRACTICE = 'C82005';

describe.each(testDialects)('the Greener General Practice programme on %s', (dialect) => {
  let testApp: TestApp;
  const people: Record<string, TestUser> = {};

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    people.champion = await buildUser(services, {
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    people.member = await buildUser(services, {
      memberships: [{ organisationCode: PRACTICE, role: 'member' }],
    });
    people.verifier = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_verifier' }],
    });
    // A verifier who is also a member of the practice: may verify others, never this one.
    people.conflicted = await buildUser(services, {
      memberships: [
        { organisationCode: 'QK1', role: 'ics_verifier' },
        { organisationCode: PRACTICE, role: 'member' },
      ],
    });
    people.otherChampion = await buildUser(services, {
      memberships: [{ organisationCode: OTHER_PRACTICE, role: 'green_champion' }],
    });
    people.platformAdmin = await buildUser(services, { platformAdmin: true });
  });

  afterAll(async () => {
    await testApp.close();
  });

  const actor = (name: string) => actorFor(testApp.services, people[name]!.id);

  it('seeds the shipped framework as version 1 of 2026–27, and seeding again changes nothing', async () => {
    const { services } = testApp;
    const framework = await services.greenerPractice.getFramework('2026-27');
    expect(framework.versions.map((version) => [version.version, version.source])).toEqual([
      [1, 'seed'],
    ]);
    expect(allActions(framework.framework)).toHaveLength(60);
    expect(await services.greenerPractice.seedFrameworks(services.config.referenceDataDir)).toEqual(
      { created: 0, unchanged: 1 },
    );
    // A reference folder without the framework (a wrong --dir, a partial copy) is an error.
    const withoutFramework = await mkdtemp(path.join(os.tmpdir(), 'greenspace-reference-'));
    try {
      await expect(services.greenerPractice.seedFrameworks(withoutFramework)).rejects.toThrow(
        'the Greener General Practice programme needs its framework',
      );
    } finally {
      await rm(withoutFramework, { recursive: true, force: true });
    }
    // Audited as every version is, by nobody: the installation loaded it.
    const audited = await services.database.db
      .selectFrom('audit_events')
      .select(['actor_user_id', 'target_id', 'details'])
      .where('action', '=', 'greener_practice.framework_published')
      .execute();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actor_user_id: null, target_id: framework.versions[0]!.id });
    expect(JSON.parse(audited[0]!.details!)).toEqual({
      programmeYear: '2026-27',
      version: 1,
      actions: 60,
      source: 'seed',
      file: 'framework-2026-27.json',
    });
  });

  it('lets only the green champion start and answer; members read; others are refused', async () => {
    const { services } = testApp;
    await expect(
      services.greenerPractice.startAssessment(await actor('member'), PRACTICE, context),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      services.greenerPractice.startAssessment(await actor('otherChampion'), PRACTICE, context),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await services.greenerPractice.startAssessment(await actor('champion'), PRACTICE, context);
    await expect(
      services.greenerPractice.startAssessment(await actor('champion'), PRACTICE, context),
    ).rejects.toBeInstanceOf(ValidationFailed);
    const page = await services.greenerPractice.getAssessmentPage(await actor('member'), PRACTICE);
    expect(page.assessment?.status).toBe('in_progress');
    expect(page.canManage).toBe(false);
    await expect(
      services.greenerPractice.getAssessmentPage(await actor('otherChampion'), PRACTICE),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(services.greenerPractice.getAssessmentPage(null, PRACTICE)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });

  it('refuses not applicable for a required action and without a reason', async () => {
    const { services } = testApp;
    const champion = await actor('champion');
    await expect(
      services.greenerPractice.saveAnswer(
        champion,
        PRACTICE,
        'LE-01',
        { status: 'not_applicable', note: '', notApplicableReason: 'We are too small' },
        [],
        context,
      ),
    ).rejects.toThrow('LE-01 is required for Bronze, so it cannot be marked not applicable');
    const refused = await services.greenerPractice
      .saveAnswer(
        champion,
        PRACTICE,
        'EB-06',
        { status: 'not_applicable', note: '', notApplicableReason: '  ' },
        [],
        context,
      )
      .catch((error: unknown) => error);
    expect((refused as ValidationFailed).fieldErrors).toEqual({
      notApplicableReason: 'Say why the action does not apply to the practice',
    });
  });

  it('refuses to submit with required actions missing, naming each of them', async () => {
    const { services } = testApp;
    const champion = await actor('champion');
    await answerDone(services, champion, PRACTICE, ['LE-01', 'LE-02', 'LE-05']);
    const refused = await services.greenerPractice
      .submit(champion, PRACTICE, { level: 'bronze', confirm: 'yes' }, context)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SubmissionRefused);
    const problems = (refused as SubmissionRefused).problems;
    expect(problems[0]).toBe(
      'Bronze needs 60 points; the assessment has 30. Complete actions worth 30 more points.',
    );
    expect(problems.filter((problem) => problem.includes('is required for Bronze'))).toHaveLength(
      3,
    );
  });

  it('submits once Bronze is reached with evidence, then refuses every change while it is verified', async () => {
    const { services } = testApp;
    const champion = await actor('champion');
    const framework = (await services.greenerPractice.getFramework('2026-27')).framework;
    await answerDone(services, champion, PRACTICE, bronzeCodes(framework));
    await expect(
      services.greenerPractice.submit(
        champion,
        PRACTICE,
        { level: 'bronze', confirm: '' },
        context,
      ),
    ).rejects.toBeInstanceOf(ValidationFailed);
    await services.greenerPractice.submit(
      champion,
      PRACTICE,
      { level: 'bronze', confirm: 'yes' },
      context,
    );
    const locked = await services.greenerPractice
      .saveAnswer(
        champion,
        PRACTICE,
        'TT-01',
        { status: 'done', note: 'A travel survey of all staff in May.', notApplicableReason: '' },
        [],
        context,
      )
      .catch((error: unknown) => error);
    expect(locked).toBeInstanceOf(AssessmentLocked);
    expect((locked as Error).message).toMatch(
      /^This assessment was submitted for verification on \d+ \w+ \d{4}\. It cannot be changed while it is being verified/,
    );
  });

  it('never lets a verifier decide a submission of their own practice, and says why', async () => {
    const { services } = testApp;
    const { pending } = await services.greenerPractice.listSubmissionsToVerify(
      await actor('conflicted'),
    );
    const mine = pending.find((row) => row.practice_code === PRACTICE)!;
    expect(mine.conflict).toContain('because you are a member of');
    const refused = await services.greenerPractice
      .decide(
        await actor('conflicted'),
        mine.id,
        { decision: 'approve', note: '', comments: {} },
        context,
      )
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VerificationConflict);
    await expect(
      services.greenerPractice.decide(
        await actor('champion'),
        mine.id,
        { decision: 'approve', note: '', comments: {} },
        context,
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(
      (await services.greenerPractice.getReview(await actor('verifier'), mine.id)).submission
        .outcome,
    ).toBe('pending');
  });

  it('never lets an ICS admin verify a submission that claims an answer or a file of their own', async () => {
    const { services } = testApp;
    const ggp = services.greenerPractice;
    // An ICS admin may keep a practice's assessment as well as verify it.
    const icsAdmin = await actorFor(
      services,
      (await buildUser(services, { memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }] }))
        .id,
    );
    const champion = await actor('otherChampion');
    await ggp.startAssessment(champion, OTHER_PRACTICE, context);
    const codes = bronzeCodes((await ggp.getFramework()).framework);
    await answerDone(services, champion, OTHER_PRACTICE, codes.slice(1));
    // The admin writes one of the answers the submission will claim.
    await answerDone(services, icsAdmin, OTHER_PRACTICE, codes.slice(0, 1));
    await ggp.submit(champion, OTHER_PRACTICE, { level: 'bronze', confirm: 'yes' }, context);
    const { pending } = await ggp.listSubmissionsToVerify(icsAdmin);
    const submission = pending.find((row) => row.practice_code === OTHER_PRACTICE)!;
    expect(submission.conflict).toBe(
      'You cannot verify this submission because you wrote some of the answers or added some of the evidence it claims. Another verifier must decide it.',
    );
    const refused = await ggp
      .decide(icsAdmin, submission.id, { decision: 'approve', note: '', comments: {} }, context)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VerificationConflict);
    expect((await ggp.getReview(await actor('verifier'), submission.id)).submission.outcome).toBe(
      'pending',
    );
    // A verifier who wrote none of it may decide it.
    const verifierView = (await ggp.listSubmissionsToVerify(await actor('verifier'))).pending.find(
      (row) => row.id === submission.id,
    )!;
    expect(verifierView.conflict).toBeNull();
    await ggp.decide(
      await actor('verifier'),
      submission.id,
      { decision: 'return', note: '', comments: { [codes[0]!]: 'Add the minutes, please.' } },
      context,
    );
    expect((await ggp.getReview(await actor('verifier'), submission.id)).submission.outcome).toBe(
      'returned',
    );
    // The champion saves the admin's answer again, unchanged, and submits: the answer now names
    // the champion as the last to save it, but the admin wrote it, and still may not verify it.
    await answerDone(services, champion, OTHER_PRACTICE, codes.slice(0, 1));
    const saved = await services.database.db
      .selectFrom('ggp_responses as r')
      .innerJoin('ggp_assessments as a', 'a.id', 'r.assessment_id')
      .select('r.updated_by')
      .where('a.practice_code', '=', OTHER_PRACTICE)
      .where('r.action_code', '=', codes[0]!)
      .executeTakeFirstOrThrow();
    expect(saved.updated_by).toBe(champion.userId);
    await ggp.submit(champion, OTHER_PRACTICE, { level: 'bronze', confirm: 'yes' }, context);
    const again = (await ggp.listSubmissionsToVerify(icsAdmin)).pending.find(
      (row) => row.practice_code === OTHER_PRACTICE,
    )!;
    expect(again.id).not.toBe(submission.id);
    expect(again.conflict).toBe(
      'You cannot verify this submission because you wrote some of the answers or added some of the evidence it claims. Another verifier must decide it.',
    );
    const refusedAgain = await ggp
      .decide(icsAdmin, again.id, { decision: 'approve', note: '', comments: {} }, context)
      .catch((error: unknown) => error);
    expect(refusedAgain).toBeInstanceOf(VerificationConflict);
    expect((await ggp.getReview(await actor('verifier'), again.id)).submission.outcome).toBe(
      'pending',
    );
  });

  it('tells a submitter of the decision only while they still belong to the practice', async () => {
    const { services } = testApp;
    const ggp = services.greenerPractice;
    const practice = 'C82007';
    const leaver = await buildUser(services, {
      memberships: [{ organisationCode: practice, role: 'green_champion' }],
    });
    const champion = await actorFor(services, leaver.id);
    await ggp.startAssessment(champion, practice, context);
    const codes = bronzeCodes((await ggp.getFramework()).framework);
    await answerDone(services, champion, practice, codes);
    await ggp.submit(champion, practice, { level: 'bronze', confirm: 'yes' }, context);
    // The champion leaves the practice before the verifier decides.
    await services.memberships.removeMember(
      await actor('platformAdmin'),
      practice,
      leaver.id,
      context,
    );
    const { pending } = await ggp.listSubmissionsToVerify(await actor('verifier'));
    const submission = pending.find((row) => row.practice_code === practice)!;
    await ggp.decide(
      await actor('verifier'),
      submission.id,
      { decision: 'return', note: 'Internal note', comments: { [codes[0]!]: 'Add the minutes.' } },
      context,
    );
    const told = await services.database.db
      .selectFrom('notifications')
      .select('title')
      .where('user_id', '=', leaver.id)
      .execute();
    expect(told.map((row) => row.title)).not.toContainEqual(
      expect.stringContaining('submission for'),
    );
    expect(told).toEqual([]);
  });

  it('returns with a comment on one action; the champion fixes it and submits again; the verifier approves', async () => {
    const { services } = testApp;
    const verifier = await actor('verifier');
    const { pending } = await services.greenerPractice.listSubmissionsToVerify(verifier);
    const submission = pending.find((row) => row.practice_code === PRACTICE)!;
    expect(submission.conflict).toBeNull();
    await expect(
      services.greenerPractice.decide(
        verifier,
        submission.id,
        { decision: 'return', note: '', comments: {} },
        context,
      ),
    ).rejects.toThrow('write a comment on at least one action');
    await services.greenerPractice.decide(
      verifier,
      submission.id,
      {
        decision: 'return',
        note: 'Nearly there.',
        comments: { 'WR-01': 'Please attach the waste audit itself.' },
      },
      context,
    );
    const champion = await actor('champion');
    const page = await services.greenerPractice.getAssessmentPage(champion, PRACTICE);
    expect(page.assessment?.status).toBe('returned');
    expect(page.returnedComments.get('WR-01')).toBe('Please attach the waste audit itself.');
    expect(page.editable).toBe(true);
    await services.greenerPractice.saveAnswer(
      champion,
      PRACTICE,
      'WR-01',
      {
        status: 'done',
        note: 'Audit of all clinical waste bins on 3 June: results and actions attached.',
        notApplicableReason: '',
      },
      [],
      context,
    );
    await services.greenerPractice.submit(
      champion,
      PRACTICE,
      { level: 'bronze', confirm: 'yes' },
      context,
    );
    const again = (await services.greenerPractice.listSubmissionsToVerify(verifier)).pending.find(
      (row) => row.practice_code === PRACTICE,
    )!;
    const review = await services.greenerPractice.getReview(verifier, again.id);
    expect(review.snapshot.actions.find((entry) => entry.code === 'WR-01')?.note).toContain(
      'Audit of all clinical waste bins',
    );
    await services.greenerPractice.decide(
      verifier,
      again.id,
      { decision: 'approve', note: 'Well done.', comments: {} },
      context,
    );
    await expect(
      services.greenerPractice.decide(
        verifier,
        again.id,
        { decision: 'approve', note: '', comments: {} },
        context,
      ),
    ).rejects.toThrow('already approved');
    const awards = await services.greenerPractice.listAwards({ programmeYear: '2026-27' });
    expect(awards.find((award) => award.practice_code === PRACTICE)).toMatchObject({
      level: 'bronze',
      points: 60,
      is_example: 0,
    });
    const dashboard = await services.greenerPractice.getPracticeDashboard(null, PRACTICE);
    expect(dashboard.currentAward?.level).toBe('bronze');
    expect(dashboard.targetLevel).toBe('silver');
  });

  it('keeps an awarded assessment closed until reopened to work towards the next level', async () => {
    const { services } = testApp;
    const champion = await actor('champion');
    await expect(
      services.greenerPractice.saveAnswer(
        champion,
        PRACTICE,
        'TT-01',
        { status: 'done', note: 'Travel survey of all staff in May.', notApplicableReason: '' },
        [],
        context,
      ),
    ).rejects.toThrow('has been awarded Bronze. To work towards Silver, reopen it first.');
    await services.greenerPractice.reopen(champion, PRACTICE, context);
    await answerDone(services, champion, PRACTICE, ['TT-01']);
    const refused = await services.greenerPractice
      .submit(champion, PRACTICE, { level: 'bronze', confirm: 'yes' }, context)
      .catch((error: unknown) => error);
    expect((refused as ValidationFailed).fieldErrors.level).toBe(
      'Choose the level to submit for: Silver or above',
    );
  });

  it('records every change in the audit log and the events that progress over time replays', async () => {
    const { db } = testApp.services.database;
    const actions = await db
      .selectFrom('audit_events')
      .select('action')
      .where('organisation_code', '=', PRACTICE)
      .where('action', 'like', 'greener_practice.%')
      .execute();
    const kinds = new Set(actions.map((row) => row.action));
    for (const kind of [
      'greener_practice.assessment_started',
      'greener_practice.answer_saved',
      'greener_practice.submitted',
      'greener_practice.returned',
      'greener_practice.approved',
      'greener_practice.reopened',
    ])
      expect(kinds.has(kind), kind).toBe(true);
    await expect(
      db
        .updateTable('ggp_events')
        .set({ points: 0 })
        .where('practice_code', '=', PRACTICE)
        .execute(),
    ).rejects.toThrow(/append-only/);
  });

  it('publishes a new framework version from a valid file only, all or nothing', async () => {
    const { services } = testApp;
    const admin = await actor('platformAdmin');
    await expect(
      services.greenerPractice.publishFrameworkVersion(
        await actor('verifier'),
        { text: '{}', fileName: 'x.json', source: 'upload', note: '' },
        context,
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const current = await services.greenerPractice.getFramework('2026-27');
    const same = await services.greenerPractice
      .publishFrameworkVersion(
        admin,
        {
          text: serialiseFramework(current.framework),
          fileName: 'same.json',
          source: 'upload',
          note: '',
        },
        context,
      )
      .catch((error: unknown) => error);
    expect((same as FrameworkRefused).problems[0]!.message).toContain('the same as version 1');
    const broken = serialiseFramework(current.framework).replace('"points": 20', '"points": -1');
    const refused = await services.greenerPractice
      .publishFrameworkVersion(
        admin,
        { text: broken, fileName: 'broken.json', source: 'upload', note: '' },
        context,
      )
      .catch((error: unknown) => error);
    expect((refused as FrameworkRefused).problems[0]).toMatchObject({
      file: 'broken.json',
      field: 'themes[0].actions[5].points',
    });
    expect((await services.greenerPractice.getFramework('2026-27')).versions).toHaveLength(1);
    const changed = serialiseFramework({
      ...current.framework,
      levels: current.framework.levels.map((level) =>
        level.id === 'bronze' ? { ...level, minimumPoints: 70 } : level,
      ),
    });
    const published = await services.greenerPractice.publishFrameworkVersion(
      admin,
      { text: changed, fileName: 'bronze-70.json', source: 'edit', note: 'Bronze needs 70' },
      context,
    );
    expect(published).toMatchObject({ programmeYear: '2026-27', version: 2 });
    const after = await services.greenerPractice.getFramework('2026-27');
    expect(after.framework.levels[0]!.minimumPoints).toBe(70);
    // The award made under version 1 keeps it.
    const certificate = await services.greenerPractice.getCertificate(PRACTICE, '2026-27');
    expect(certificate.framework.levels[0]!.minimumPoints).toBe(60);
    // The shipped file no longer replaces a year an admin has changed.
    expect(await services.greenerPractice.seedFrameworks(services.config.referenceDataDir)).toEqual(
      { created: 0, unchanged: 1 },
    );
  });

  it('lists the seeded example awards as examples beside the real one', async () => {
    const awards = await testApp.services.greenerPractice.listAwards({ programmeYear: '2026-27' });
    expect(awards.filter((award) => award.is_example === 1).length).toBeGreaterThan(10);
    expect(
      awards.filter((award) => award.is_example === 0).map((award) => award.practice_code),
    ).toEqual([PRACTICE]);
  });
});
