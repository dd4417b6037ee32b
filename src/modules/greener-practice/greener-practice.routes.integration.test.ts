import ExcelJS from 'exceljs';
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
import { serialiseFramework } from './framework.parser.ts';
import { answerDone, bronzeCodes, pageText as htmlText } from './greener-practice.test-helpers.ts';

const PRACTICE = 'C82007';

describe.each(testDialects)('Greener General Practice pages on %s', (dialect) => {
  let testApp: TestApp;
  const people: Record<string, TestUser> = {};
  const browsers: Record<string, HttpAgent> = {};

  async function browser(name: string): Promise<HttpAgent> {
    if (browsers[name]) return browsers[name];
    const agent = new HttpAgent(testApp.app);
    if (name !== 'anonymous') {
      const person = people[name]!;
      await signInAs(agent, person, () => currentTotp(person));
    }
    browsers[name] = agent;
    return agent;
  }

  async function postAnswer(
    who: string,
    actionCode: string,
    fields: Record<string, string>,
    files: { name: string; type: string; bytes: Buffer }[] = [],
    options: { csrf?: boolean } = {},
  ) {
    const agent = await browser(who);
    const body = multipartBody(
      options.csrf === false ? null : await agent.csrfToken(),
      fields,
      files.map((file) => ({ field: 'evidence', ...file })),
    );
    return testApp.app.inject({
      method: 'POST',
      url: `/greener-practice/practices/${PRACTICE}/assessment/actions/${actionCode}`,
      headers: {
        'content-type': body.contentType,
        cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: body.payload,
    });
  }

  async function count(table: 'ggp_responses' | 'ggp_evidence_files' | 'stored_files') {
    return (await testApp.services.database.db.selectFrom(table).selectAll().execute()).length;
  }

  beforeAll(async () => {
    testApp = await createTestApp(
      dialect,
      process.env.DEBUG_LOG
        ? { logger: (await import('../../logger.ts')).createLogger({ logLevel: 'error' } as never) }
        : {},
    );
    const { services } = testApp;
    people.champion = await buildUser(services, {
      displayName: 'Chloe Champion',
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    people.member = await buildUser(services, {
      memberships: [{ organisationCode: PRACTICE, role: 'member' }],
    });
    people.verifier = await buildUser(services, {
      displayName: 'Victor Verifier',
      memberships: [{ organisationCode: 'QK1', role: 'ics_verifier' }],
    });
    people.conflicted = await buildUser(services, {
      memberships: [
        { organisationCode: 'QK1', role: 'ics_verifier' },
        { organisationCode: PRACTICE, role: 'member' },
      ],
    });
    people.platformAdmin = await buildUser(services, { platformAdmin: true });
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('shows the public programme pages to a signed-out visitor', async () => {
    const visitor = await browser('anonymous');
    for (const url of [
      '/greener-practice',
      '/greener-practice/framework',
      '/greener-practice/framework?year=2026-27',
      '/greener-practice/awards',
      '/greener-practice/awards?level=gold',
      '/greener-practice/programme',
      '/greener-practice/programme?area=04C',
      '/greener-practice/programme?area=U30213',
      '/greener-practice/inequalities',
      '/greener-practice/inequalities?measure=points',
      '/greener-practice/inequalities?measure=mdi-share-non-salbutamol&area=03W',
      '/greener-practice/board-summary',
      `/greener-practice/practices/${PRACTICE}`,
    ]) {
      const response = await visitor.get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toContain('<h1');
    }
    const programme = await visitor.get('/greener-practice/programme');
    expect(programme.body).toContain('<svg');
    expect(programme.body).toContain('class="gs-map"');
    expect(programme.body).toContain('Example');
    const lens = htmlText((await visitor.get('/greener-practice/inequalities')).body);
    expect(lens).toContain('The gap is quintile 1’s value minus quintile 5’s.');
  });

  it('answers a malformed address with a 400 naming the parameter, and an unknown area or practice with a 404', async () => {
    const visitor = await browser('anonymous');
    const badYear = await visitor.get('/greener-practice/programme?year=2026%2F27');
    expect(badYear.statusCode).toBe(400);
    expect(badYear.body).toContain('The &quot;year&quot; parameter must be a programme year');
    expect((await visitor.get('/greener-practice/programme?area=ZZZ9')).statusCode).toBe(404);
    expect((await visitor.get('/greener-practice/inequalities?measure=nonsense')).statusCode).toBe(
      400,
    );
    expect((await visitor.get('/greener-practice/practices/QK1')).statusCode).toBe(404);
    expect((await visitor.get('/greener-practice/practices/not-a-code')).statusCode).toBe(404);
    expect((await visitor.get('/greener-practice/framework?year=2031-32')).statusCode).toBe(404);
  });

  it('exports the programme data as CSV and XLSX, one row per practice, with every measure and its decile', async () => {
    const visitor = await browser('anonymous');
    const csv = await visitor.get('/greener-practice/programme/export.csv?area=QK1');
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toContain(
      'greener-general-practice-QK1-2026-27.csv',
    );
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines).toHaveLength(129);
    expect(lines[0]!.split(',').slice(0, 4)).toEqual([
      'practice_code',
      'practice_name',
      'pcn_code',
      'pcn_name',
    ]);
    expect(lines[0]).toContain('mdi-share-non-salbutamol,mdi-share-non-salbutamol-decile');
    const xlsx = await visitor.get('/greener-practice/programme/export.xlsx?area=04C');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('Practices')!;
    const subIcbPractices = (await testApp.services.organisations.listPracticeProfilesUnder('04C'))
      .length;
    expect(sheet.rowCount).toBe(subIcbPractices + 1);
    expect(workbook.getWorksheet('Columns')!.getCell('A2').value).toBe('practice_code');
  });

  it('gives the board summary as a PDF', async () => {
    const pdf = await (await browser('anonymous')).get('/greener-practice/board-summary.pdf');
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('refuses the assessment to people outside the practice, before anything else', async () => {
    const visitor = await browser('anonymous');
    const redirected = await visitor.get(`/greener-practice/practices/${PRACTICE}/assessment`);
    expect(redirected.statusCode).toBe(303);
    const member = await browser('member');
    expect(
      (await member.get(`/greener-practice/practices/${PRACTICE}/assessment`)).statusCode,
    ).toBe(200);
    // Authorisation comes before validation: a malformed address still gets a refusal.
    const champion = await browser('champion');
    expect(
      (await champion.get('/greener-practice/practices/C82001/assessment?year=nonsense'))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await member.post('/greener-practice/reviews/00000000-0000-4000-8000-000000000000', {
          decision: 'approve',
        })
      ).statusCode,
    ).toBe(404);
    const start = await member.post(`/greener-practice/practices/${PRACTICE}/assessment`);
    expect(start.statusCode).toBe(403);
    // A member's upload is refused before the file is read.
    const before = await count('stored_files');
    const upload = await postAnswer('member', 'LE-01', { status: 'done', note: '' }, [
      { name: 'minutes.pdf', type: 'application/pdf', bytes: SMALL_PDF },
    ]);
    expect(upload.statusCode).toBe(403);
    expect(await count('stored_files')).toBe(before);
  });

  it('lets the champion start, answer with evidence, and refuses evidence of the wrong type or size', async () => {
    const champion = await browser('champion');
    const start = await champion.post(`/greener-practice/practices/${PRACTICE}/assessment`);
    expect(start.statusCode).toBe(303);
    // Starting twice is refused, with the error where the summary links to.
    const again = await champion.post(`/greener-practice/practices/${PRACTICE}/assessment`);
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('href="#start"');
    expect(again.body).toMatch(/<p class="nhsuk-error-message" id="start"[^>]*>/);
    expect(htmlText(again.body)).toContain('has already started its');
    const saved = await postAnswer('champion', 'WR-01', { status: 'done', note: '' }, [
      { name: 'Waste audit.pdf', type: 'application/pdf', bytes: SMALL_PDF },
    ]);
    expect(saved.statusCode).toBe(303);
    const page = await champion.get(
      `/greener-practice/practices/${PRACTICE}/assessment/actions/WR-01`,
    );
    expect(page.body).toContain('Waste audit.pdf');

    const responsesBefore = await count('ggp_responses');
    const filesBefore = await count('stored_files');
    const wrongType = await postAnswer(
      'champion',
      'LE-01',
      { status: 'done', note: 'Dr Patel is our champion, agreed at the partners meeting.' },
      [
        {
          name: 'minutes.pdf',
          type: 'application/pdf',
          bytes: Buffer.from('MZ this is a program, not a PDF'),
        },
      ],
    );
    expect(wrongType.statusCode).toBe(400);
    expect(htmlText(wrongType.body)).toContain(
      'minutes.pdf: The selected file must be a PDF, PNG image, JPEG image, GIF image, WebP image, Word document, Excel workbook or PowerPoint presentation.',
    );
    const tooBig = await postAnswer(
      'champion',
      'LE-01',
      { status: 'done', note: 'Dr Patel is our champion, agreed at the partners meeting.' },
      [
        {
          name: 'scan.pdf',
          type: 'application/pdf',
          bytes: Buffer.concat([SMALL_PDF, Buffer.alloc(21 * 1024 * 1024, 0x20)]),
        },
      ],
    );
    expect(tooBig.statusCode).toBe(400);
    expect(htmlText(tooBig.body)).toContain(
      'scan.pdf: The selected file must be smaller than 20 MB',
    );
    expect(await count('ggp_responses')).toBe(responsesBefore);
    expect(await count('stored_files')).toBe(filesBefore);

    const notApplicable = await postAnswer('champion', 'MI-01', {
      status: 'not_applicable',
      notApplicableReason: 'We do not prescribe inhalers',
    });
    expect(notApplicable.statusCode).toBe(400);
    expect(htmlText(notApplicable.body)).toContain(
      'MI-01 is required for Bronze, so it cannot be marked not applicable',
    );
  });

  it('asks before removing an evidence file, then removes it, records it and audits it', async () => {
    const champion = await browser('champion');
    const added = await postAnswer('champion', 'WR-01', { status: 'done', note: '' }, [
      { name: 'Second waste audit.pdf', type: 'application/pdf', bytes: SMALL_PDF },
    ]);
    expect(added.statusCode).toBe(303);
    const actionUrl = `/greener-practice/practices/${PRACTICE}/assessment/actions/WR-01`;
    const page = (await champion.get(actionUrl)).body;
    const removeUrl = new RegExp(
      `href="(${actionUrl}/evidence/[0-9a-f-]+/remove)">Remove<span class="nhsuk-u-visually-hidden"> Second waste audit.pdf</span>`,
    ).exec(page)?.[1];
    expect(removeUrl).toBeDefined();

    // The link asks first; nothing is removed by following it.
    const asked = await champion.get(removeUrl!);
    expect(asked.statusCode).toBe(200);
    expect(htmlText(asked.body)).toContain('Remove Second waste audit.pdf');
    // What it changes: not the points, but a done action left without evidence cannot be submitted.
    expect(htmlText(asked.body)).toContain(
      "the self-assessment cannot be submitted until new evidence is added. The action's points do not change.",
    );
    expect(asked.body).toContain(`<form method="post" action="${removeUrl}"`);
    expect(asked.body).toContain(`href="${actionUrl}#evidence-files">Cancel`);
    expect((await champion.get(actionUrl)).body).toContain('Second waste audit.pdf');

    // Only those who keep the assessment may ask or remove.
    expect((await (await browser('member')).get(removeUrl!)).statusCode).toBe(403);
    expect((await (await browser('member')).post(removeUrl!)).statusCode).toBe(403);
    expect((await (await browser('anonymous')).get(removeUrl!)).statusCode).toBe(303);
    const unknown = `${actionUrl}/evidence/00000000-0000-4000-8000-000000000000/remove`;
    expect((await champion.get(unknown)).statusCode).toBe(404);

    const removed = await champion.post(removeUrl!);
    expect(removed.statusCode).toBe(303);
    expect(removed.headers.location).toBe(`${actionUrl}#evidence-files`);
    const after = (await champion.get(actionUrl)).body;
    expect(after).not.toContain('Second waste audit.pdf');
    expect(after).toContain('Waste audit.pdf');
    // Removed already: asking again, or a second click, is told so, and nothing more happens.
    for (const again of [await champion.get(removeUrl!), await champion.post(removeUrl!)]) {
      expect(again.statusCode).toBe(410);
      expect(htmlText(again.body)).toContain(
        'The evidence file Second waste audit.pdf was deleted on',
      );
      expect(again.body).toContain(`href="${actionUrl}#evidence-files">Go back to WR-01</a>`);
    }
    // Only to those who keep the assessment.
    expect((await (await browser('member')).post(removeUrl!)).statusCode).toBe(403);
    const events = await testApp.services.database.db
      .selectFrom('ggp_events')
      .select(['kind', 'action_code'])
      .where('practice_code', '=', PRACTICE)
      .where('kind', '=', 'evidence_removed')
      .execute();
    expect(events).toEqual([{ kind: 'evidence_removed', action_code: 'WR-01' }]);
    const audited = await testApp.services.audit.findForUser(people.champion!.id);
    expect(
      audited.filter((event) => event.action === 'greener_practice.evidence_removed'),
    ).toMatchObject([{ details: expect.stringContaining('Second waste audit.pdf') }]);
  });

  it('refuses a NUL character in a form that carries files, naming the field', async () => {
    const refused = await postAnswer('champion', 'WR-02', {
      status: 'done',
      note: 'Recycling\u0000 bins in every room',
    });
    expect(refused.statusCode).toBe(400);
    expect(htmlText(refused.body)).toContain(
      'The "note" field holds a character that cannot be saved (a NUL, code 0).',
    );
  });

  it('refuses an answer saved over one saved after its page opened, showing the answer now; a double click changes nothing', async () => {
    people.colleague = await buildUser(testApp.services, {
      displayName: 'Colin Colleague',
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    const url = `/greener-practice/practices/${PRACTICE}/assessment/actions/EB-03`;
    const openedAt = (page: string) => /name="openedAt" value="([^"]*)"/.exec(page)![1]!;
    const stored = () =>
      testApp.services.database.db
        .selectFrom('ggp_responses as r')
        .innerJoin('ggp_assessments as a', 'a.id', 'r.assessment_id')
        .select(['r.status', 'r.note', 'r.updated_at'])
        .where('a.practice_code', '=', PRACTICE)
        .where('r.action_code', '=', 'EB-03')
        .execute();
    // Both open the page before either has answered.
    const mine = openedAt((await (await browser('champion')).get(url)).body);
    const theirs = openedAt((await (await browser('colleague')).get(url)).body);
    expect([mine, theirs]).toEqual(['', '']);
    const note =
      'Heating controls set to 19 degrees in every room, checked by the practice manager.';
    expect(
      (await postAnswer('colleague', 'EB-03', { status: 'done', note, openedAt: theirs }))
        .statusCode,
    ).toBe(303);
    const savedByThem = await stored();
    const filesBefore = await count('ggp_evidence_files');
    const storedBefore = await count('stored_files');
    // Saved over theirs, it is refused with their answer shown and the form as it was sent.
    const refused = await postAnswer(
      'champion',
      'EB-03',
      { status: 'in_progress', note: 'Started on the heating.', openedAt: mine },
      [{ name: 'Controls.pdf', type: 'application/pdf', bytes: SMALL_PDF }],
    );
    expect(refused.statusCode).toBe(409);
    const text = htmlText(refused.body);
    expect(text).toContain(
      'Someone else saved an answer to this action after you opened this page: done. Nothing has been saved, and your files were not added. Check the answer, then save again',
    );
    expect(refused.body).toContain('href="#status"');
    expect(text).toContain('The answer as it is saved now: Done .');
    expect(text).toContain(note);
    expect(refused.body).toContain('Started on the heating.</textarea>');
    expect(await stored()).toEqual(savedByThem);
    expect(await count('ggp_evidence_files')).toBe(filesBefore);
    expect(await count('stored_files')).toBe(storedBefore);
    // Sent again from that page, knowingly, it is saved.
    const again = await postAnswer('champion', 'EB-03', {
      status: 'in_progress',
      note: 'Started on the heating.',
      openedAt: openedAt(refused.body),
    });
    expect(again.statusCode).toBe(303);
    expect(await stored()).toMatchObject([
      { status: 'in_progress', note: 'Started on the heating.' },
    ]);
    // The same answer sent twice (a double click) saves once and is not refused.
    const twice = await stored();
    const doubleClick = await postAnswer('champion', 'EB-03', {
      status: 'in_progress',
      note: 'Started on the heating.',
      openedAt: openedAt(refused.body),
    });
    expect(doubleClick.statusCode).toBe(303);
    expect(await stored()).toEqual(twice);
    // Changed in another tab by the same person: said so.
    const ownTab = await postAnswer('champion', 'EB-03', {
      status: 'done',
      note,
      openedAt: openedAt(refused.body),
    });
    expect(ownTab.statusCode).toBe(409);
    expect(htmlText(ownTab.body)).toContain(
      'You saved an answer to this action in another tab or window after you opened this page: in progress.',
    );
  });

  it('reports an answer saved since the page opened before any problem with the form, and a form refused for a bad file keeps when it was opened', async () => {
    const openedAt = (page: string) => /name="openedAt" value="([^"]*)"/.exec(page)![1]!;
    const stored = (actionCode: string) =>
      testApp.services.database.db
        .selectFrom('ggp_responses as r')
        .innerJoin('ggp_assessments as a', 'a.id', 'r.assessment_id')
        .select(['r.status', 'r.note', 'r.updated_at', 'r.updated_by'])
        .where('a.practice_code', '=', PRACTICE)
        .where('r.action_code', '=', actionCode)
        .execute();
    const theirNote = 'Lighting changed to LED throughout, invoice from the electrician kept.';
    for (const actionCode of ['EB-04', 'EB-05']) {
      const url = `/greener-practice/practices/${PRACTICE}/assessment/actions/${actionCode}`;
      // The champion opens the page; the colleague then answers.
      const mine = openedAt((await (await browser('champion')).get(url)).body);
      const theirs = openedAt((await (await browser('colleague')).get(url)).body);
      expect(
        (
          await postAnswer('colleague', actionCode, {
            status: 'done',
            note: theirNote,
            openedAt: theirs,
          })
        ).statusCode,
      ).toBe(303);
      const savedByThem = await stored(actionCode);
      expect(savedByThem).toMatchObject([{ updated_by: people.colleague!.id }]);
      const refusedAsChanged = (response: { statusCode: number; body: string }) => {
        expect(response.statusCode).toBe(409);
        const text = htmlText(response.body);
        expect(text).toContain(
          'Someone else saved an answer to this action after you opened this page: done.',
        );
        expect(text).toContain('The answer as it is saved now: Done .');
        expect(text).toContain(theirNote);
      };
      if (actionCode === 'EB-04') {
        // A problem with the form itself (no reason given) is not reported first: what matters is
        // the answer saved meanwhile, to correct the form against.
        const refused = await postAnswer('champion', actionCode, {
          status: 'not_applicable',
          note: '',
          notApplicableReason: '',
          openedAt: mine,
        });
        refusedAsChanged(refused);
        expect(await stored(actionCode)).toEqual(savedByThem);
      } else {
        // A file refused before the service sees the answer: the form comes back with the moment
        // it was opened, not the moment of the colleague's answer it has not shown.
        const badFile = await postAnswer(
          'champion',
          actionCode,
          { status: 'in_progress', note: 'Half the rooms have LEDs.', openedAt: mine },
          [{ name: 'quote.pdf', type: 'application/pdf', bytes: Buffer.from('MZ not a PDF') }],
        );
        expect(badFile.statusCode).toBe(400);
        expect(openedAt(badFile.body)).toBe(mine);
        expect(badFile.body).not.toContain('The answer as it is saved now');
        // Corrected and sent again from that page: still refused, with the colleague's answer.
        const corrected = await postAnswer('champion', actionCode, {
          status: 'in_progress',
          note: 'Half the rooms have LEDs.',
          openedAt: openedAt(badFile.body),
        });
        refusedAsChanged(corrected);
        expect(corrected.body).toContain('Half the rooms have LEDs.</textarea>');
        expect(await stored(actionCode)).toEqual(savedByThem);
      }
    }
    // A form refused for its own problems with nothing saved meanwhile keeps its openedAt too, and
    // sent again corrected it is saved.
    const url = `/greener-practice/practices/${PRACTICE}/assessment/actions/EB-06`;
    const opened = openedAt((await (await browser('champion')).get(url)).body);
    const noReason = await postAnswer('champion', 'EB-06', {
      status: 'not_applicable',
      notApplicableReason: '',
      openedAt: opened,
    });
    expect(noReason.statusCode).toBe(400);
    expect(htmlText(noReason.body)).toContain('Say why the action does not apply to the practice');
    expect(openedAt(noReason.body)).toBe(opened);
    const fixed = await postAnswer('champion', 'EB-06', {
      status: 'not_applicable',
      notApplicableReason: 'The building has no roof space of its own for solar panels.',
      openedAt: openedAt(noReason.body),
    });
    expect(fixed.statusCode).toBe(303);
  });

  it('shows what a submission still needs, and refuses one with required actions missing', async () => {
    const champion = await browser('champion');
    const check = await champion.get(`/greener-practice/practices/${PRACTICE}/assessment/submit`);
    expect(check.statusCode).toBe(200);
    expect(htmlText(check.body)).toContain('Not ready for Bronze yet');
    const refused = await champion.post(
      `/greener-practice/practices/${PRACTICE}/assessment/submit`,
      {
        level: 'bronze',
        confirm: 'yes',
      },
    );
    expect(refused.statusCode).toBe(400);
    const text = htmlText(refused.body);
    expect(text).toContain('The assessment cannot be submitted for Bronze yet');
    expect(text).toContain(
      'LE-01 Appoint a green champion is required for Bronze: mark it done, with evidence.',
    );
  });

  it('submits, then refuses every change while it is being verified', async () => {
    const { services } = testApp;
    const actor = await actorFor(services, people.champion!.id);
    const framework = (await services.greenerPractice.getFramework()).framework;
    await answerDone(
      services,
      actor,
      PRACTICE,
      bronzeCodes(framework).filter((code) => code !== 'WR-01'),
    );
    const champion = await browser('champion');
    const submitted = await champion.post(
      `/greener-practice/practices/${PRACTICE}/assessment/submit`,
      {
        level: 'bronze',
        confirm: 'yes',
      },
    );
    expect(submitted.statusCode).toBe(303);
    // Verifiers are told, in the service and by email, but not one who belongs to the practice.
    const told = await services.database.db
      .selectFrom('email_messages')
      .select(['to_address', 'subject'])
      .where('kind', '=', 'notification_programme')
      .execute();
    expect(told.map((email) => email.to_address)).toContain(people.verifier!.email);
    expect(told.map((email) => email.to_address)).not.toContain(people.conflicted!.email);
    expect(told[0]!.subject).toContain('has submitted for Greener General Practice Bronze');
    const listed = await services.database.db
      .selectFrom('notifications')
      .select(['user_id', 'link'])
      .where('kind', '=', 'programme')
      .execute();
    expect(listed.map((entry) => entry.user_id)).toContain(people.verifier!.id);
    expect(listed.map((entry) => entry.user_id)).not.toContain(people.conflicted!.id);
    expect(listed[0]!.link).toMatch(/^\/greener-practice\/reviews\/[0-9a-f-]{36}$/);
    const edit = await postAnswer('champion', 'TT-01', {
      status: 'done',
      note: 'Staff travel survey in May 2026.',
    });
    expect(edit.statusCode).toBe(409);
    expect(htmlText(edit.body)).toContain('It cannot be changed while it is being verified');
    // The form is gone, so the error summary links to the notice that says why.
    expect(edit.body).toContain('href="#locked"');
    expect(edit.body).toContain('id="locked"');
    const page = await champion.get(
      `/greener-practice/practices/${PRACTICE}/assessment/actions/TT-01`,
    );
    expect(page.body).not.toContain('enctype="multipart/form-data"');
  });

  it('refuses a verifier of the practice with a clear message, and lets another verifier return and approve', async () => {
    const { services } = testApp;
    const submission = (
      await services.database.db
        .selectFrom('ggp_submissions as s')
        .innerJoin('ggp_assessments as a', 'a.id', 's.assessment_id')
        .select('s.id')
        .where('a.practice_code', '=', PRACTICE)
        .where('s.outcome', '=', 'pending')
        .executeTakeFirstOrThrow()
    ).id;
    const conflicted = await browser('conflicted');
    const refused = await conflicted.post(`/greener-practice/reviews/${submission}`, {
      decision: 'approve',
    });
    expect(refused.statusCode).toBe(403);
    expect(htmlText(refused.body)).toContain(
      'You cannot verify this submission because you are a member of',
    );
    const champion = await browser('champion');
    expect((await champion.get(`/greener-practice/reviews/${submission}`)).statusCode).toBe(403);

    const verifier = await browser('verifier');
    const queue = await verifier.get('/greener-practice/reviews');
    expect(queue.body).toContain(`/greener-practice/reviews/${submission}`);
    const review = await verifier.get(`/greener-practice/reviews/${submission}`);
    expect(htmlText(review.body)).toContain('Waste audit.pdf');
    const fileLink = /href="(\/greener-practice\/practices\/[A-Z0-9]+\/evidence\/[0-9a-f-]+)"/.exec(
      review.body,
    )![1]!;
    const download = await verifier.get(fileLink);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect((await (await browser('anonymous')).get(fileLink)).statusCode).toBe(303);

    // A NUL in a comment is refused naming the field, the same on both databases (PostgreSQL
    // cannot store it), and decides nothing.
    const nul = await verifier.post(`/greener-practice/reviews/${submission}`, {
      decision: 'return',
      'comment-LE-02': 'Please attach\u0000 the minutes.',
    });
    expect(nul.statusCode).toBe(400);
    expect(htmlText(nul.body)).toContain(
      'The "comment-LE-02" field holds a character that cannot be saved (a NUL, code 0).',
    );
    expect(
      (
        await services.database.db
          .selectFrom('ggp_submissions')
          .select('outcome')
          .where('id', '=', submission)
          .executeTakeFirstOrThrow()
      ).outcome,
    ).toBe('pending');
    const noComment = await verifier.post(`/greener-practice/reviews/${submission}`, {
      decision: 'return',
    });
    expect(noComment.statusCode).toBe(400);
    const returned = await verifier.post(`/greener-practice/reviews/${submission}`, {
      decision: 'return',
      'comment-LE-02': 'Please attach the minutes of the second meeting.',
    });
    expect(returned.statusCode).toBe(303);
    const assessment = htmlText(
      (await champion.get(`/greener-practice/practices/${PRACTICE}/assessment`)).body,
    );
    expect(assessment).toContain('Returned for changes');
    expect(assessment).toContain('LE-02: Please attach the minutes of the second meeting.');
    const fixed = await postAnswer(
      'champion',
      'LE-02',
      { status: 'done', note: 'Minutes of 4 March and 3 June meetings attached.' },
      [{ name: 'Minutes.pdf', type: 'application/pdf', bytes: SMALL_PDF }],
    );
    expect(fixed.statusCode).toBe(303);
    expect(
      (
        await champion.post(`/greener-practice/practices/${PRACTICE}/assessment/submit`, {
          level: 'bronze',
          confirm: 'yes',
        })
      ).statusCode,
    ).toBe(303);
    const again = (
      await services.database.db
        .selectFrom('ggp_submissions as s')
        .innerJoin('ggp_assessments as a', 'a.id', 's.assessment_id')
        .select('s.id')
        .where('a.practice_code', '=', PRACTICE)
        .where('s.outcome', '=', 'pending')
        .executeTakeFirstOrThrow()
    ).id;
    const approved = await verifier.post(`/greener-practice/reviews/${again}`, {
      decision: 'approve',
      note: 'Well done.',
    });
    expect(approved.statusCode).toBe(303);
    expect(approved.headers.location).toBe('/greener-practice/reviews?done=approved');

    const visitor = await browser('anonymous');
    const awards = htmlText((await visitor.get('/greener-practice/awards?level=bronze')).body);
    const practiceName = (await services.organisations.findOrganisationSummary(PRACTICE))!.name;
    expect(awards).toContain(practiceName);
    const dashboard = htmlText((await visitor.get(`/greener-practice/practices/${PRACTICE}`)).body);
    expect(dashboard).toContain('Bronze 2026–27');
    expect(dashboard).toContain('verified by the ICS');
    const certificate = await visitor.get(
      `/greener-practice/practices/${PRACTICE}/certificate.pdf?year=2026-27`,
    );
    expect(certificate.headers['content-type']).toBe('application/pdf');
    expect(
      (await visitor.get('/greener-practice/practices/C82001/certificate.pdf?year=2026-27'))
        .statusCode,
    ).toBe(404);
    const emails = await services.database.db
      .selectFrom('email_messages')
      .select(['subject'])
      .where('to_address', '=', people.champion!.email)
      .execute();
    expect(emails.map((email) => email.subject)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('has been returned'),
        expect.stringContaining('has been awarded Greener General Practice Bronze'),
      ]),
    );
  });

  it('lets a practice admin make a member its green champion, and only ICS admins make ICS verifiers', async () => {
    const { services } = testApp;
    people.practiceAdmin = await buildUser(services, {
      memberships: [{ organisationCode: PRACTICE, role: 'org_admin' }],
    });
    people.icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    people.icbAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'org_admin' }],
    });
    people.icbMember = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    const practiceAdmin = await browser('practiceAdmin');
    const members = await practiceAdmin.get(`/organisations/${PRACTICE}/members`);
    expect(members.body).toContain('<option value="green_champion"');
    expect(members.body).not.toContain('<option value="ics_verifier"');
    const given = await practiceAdmin.post(
      `/organisations/${PRACTICE}/members/${people.member!.id}/role`,
      { role: 'green_champion' },
    );
    expect(given.statusCode).toBe(303);
    const member = await actorFor(services, people.member!.id);
    expect(member.memberships.find((m) => m.organisationCode === PRACTICE)?.role).toBe(
      'green_champion',
    );
    const icbAdmin = await browser('icbAdmin');
    const refused = await icbAdmin.post(`/organisations/QK1/members/${people.icbMember!.id}/role`, {
      role: 'ics_verifier',
    });
    expect(refused.statusCode).toBe(400);
    expect(htmlText(refused.body)).toContain('You cannot give this role');
    const icsAdmin = await browser('icsAdmin');
    expect((await icsAdmin.get('/organisations/QK1/members')).body).toContain(
      '<option value="ics_verifier"',
    );
    const made = await icsAdmin.post(`/organisations/QK1/members/${people.icbMember!.id}/role`, {
      role: 'ics_verifier',
    });
    expect(made.statusCode).toBe(303);
    // The new verifier must set up two-factor authentication before verifying.
    expect(
      services.greenerPractice.isVerifier(await actorFor(services, people.icbMember!.id)),
    ).toBe(false);
  });

  it('lets platform admins publish a framework version from a file or the edit page, refusing bad files with line and field', async () => {
    const admin = await browser('platformAdmin');
    expect((await admin.get('/greener-practice/framework/manage')).statusCode).toBe(200);
    expect(
      (await (await browser('verifier')).get('/greener-practice/framework/manage')).statusCode,
    ).toBe(403);
    const current = (await testApp.services.greenerPractice.getFramework()).framework;
    const broken = serialiseFramework(current).replace(
      '"title": "Appoint a green champion"',
      '"title": ""',
    );
    const body = multipartBody(await admin.csrfToken(), { note: 'typo' }, [
      {
        field: 'file',
        name: 'framework.json',
        type: 'application/json',
        bytes: Buffer.from(broken),
      },
    ]);
    const refused = await testApp.app.inject({
      method: 'POST',
      url: '/greener-practice/framework/manage/upload',
      headers: {
        'content-type': body.contentType,
        cookie: [...admin.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload: body.payload,
    });
    expect(refused.statusCode).toBe(400);
    const line = broken.split('\n').findIndex((text) => text.includes('"title": ""')) + 1;
    expect(htmlText(refused.body)).toContain(
      `framework.json, line ${line} field "themes[0].actions[0].title": is missing: enter some text`,
    );
    const edit = await admin.get('/greener-practice/framework/manage/edit');
    expect(edit.statusCode).toBe(200);
    expect(edit.body).toContain('<input type="hidden" name="baseVersion" value="1">');
    const revised = serialiseFramework({
      ...current,
      title: 'Greener General Practice framework 2026–27 (revised)',
    });
    // Too long: the form again, with the text and the field marked, not an error page.
    const tooLong = await admin.post('/greener-practice/framework/manage/edit', {
      // Just over the limit, and still within what the service takes in one request.
      content: revised + ' '.repeat(1_000_001 - revised.length),
      note: 'New title',
      year: '2026-27',
      baseVersion: '1',
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain('href="#content"');
    expect(htmlText(tooLong.body)).toContain('The framework must be smaller than 1 MB');
    expect(tooLong.body).toContain('New title');
    // Text whose every character is escaped in the form's body (nine bytes each) is still taken
    // in, and comes back on the page, though the body is over the 1 MiB other forms are held to.
    const escaped = await admin.post('/greener-practice/framework/manage/edit', {
      content: revised + '’'.repeat(1_000_001 - revised.length),
      note: 'Escaped',
      year: '2026-27',
      baseVersion: '1',
    });
    expect(escaped.statusCode).toBe(400);
    expect(htmlText(escaped.body)).toContain('The framework must be smaller than 1 MB');
    expect(escaped.body).toContain('’’’');
    // Far beyond any framework: refused before it is read, with a page that says so.
    const huge = await admin.post('/greener-practice/framework/manage/edit', {
      content: '’'.repeat(1_200_000),
      note: 'Huge',
      year: '2026-27',
      baseVersion: '1',
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.headers['content-type']).toContain('text/html');
    expect(htmlText(huge.body)).toContain('What you sent is too large');
    // Based on a version that is no longer the latest: refused, naming the one published since.
    const stale = await admin.post('/greener-practice/framework/manage/edit', {
      content: revised,
      note: 'New title',
      year: '2026-27',
      baseVersion: '0',
    });
    expect(stale.statusCode).toBe(400);
    expect(htmlText(stale.body)).toContain(
      'version 1 of 2026-27 was published after you opened this page, so publishing your text would undo its changes.',
    );
    expect(stale.body).toContain('<input type="hidden" name="baseVersion" value="1">');
    // A note too long is refused, not cut short, and kept on the page.
    const longNote = 'Reworded the travel actions. '.repeat(20);
    const noted = await admin.post('/greener-practice/framework/manage/edit', {
      content: revised,
      note: longNote,
      year: '2026-27',
      baseVersion: '1',
    });
    expect(noted.statusCode).toBe(400);
    expect(htmlText(noted.body)).toContain(
      `"What changed" must be 500 characters or fewer; it has ${longNote.trim().length}`,
    );
    expect(noted.body).toContain(longNote.trim());
    const published = await admin.post('/greener-practice/framework/manage/edit', {
      content: revised,
      note: 'New title',
      year: '2026-27',
      baseVersion: '1',
    });
    expect(published.statusCode).toBe(303);
    expect(published.headers.location).toBe('/greener-practice/framework/manage?done=2026-27-v2');
    expect(htmlText((await admin.get(String(published.headers.location))).body)).toContain(
      'Published 2026-27-v2.',
    );
    // Another address names nothing: only a version that is there is named.
    const crafted = await admin.get(
      '/greener-practice/framework/manage?done=' + encodeURIComponent('nothing; call 0800 000'),
    );
    expect(crafted.statusCode).toBe(200);
    expect(crafted.body).not.toContain('0800 000');
    expect(crafted.body).not.toContain('Published ');
    const framework = await (await browser('anonymous')).get('/greener-practice/framework');
    expect(htmlText(framework.body)).toContain(
      'Greener General Practice framework 2026–27 (revised)',
    );
  });

  it('keeps the version an edit started from when its text is refused for another problem, so a version published meanwhile is not undone unawares', async () => {
    const { services } = testApp;
    const admin = await browser('platformAdmin');
    const editUrl = '/greener-practice/framework/manage/edit';
    const baseOf = (page: string) => /name="baseVersion" value="([^"]*)"/.exec(page)![1]!;
    const base = baseOf((await admin.get(editUrl)).body);
    const started = Number(base);
    expect(started).toBe((await services.greenerPractice.getFramework()).version.version);
    // Another admin publishes a version while this one edits.
    const current = (await services.greenerPractice.getFramework()).framework;
    await services.greenerPractice.publishFrameworkVersion(
      await actorFor(services, people.platformAdmin!.id),
      {
        text: serialiseFramework({ ...current, basis: `${current.basis} Reviewed in June.` }),
        fileName: 'framework.json',
        source: 'upload',
        note: 'Basis reviewed',
      },
      null,
    );
    const mine = serialiseFramework({
      ...current,
      title: 'Greener General Practice framework 2026–27 (edited)',
    });
    // A typo: refused, and the form still carries the version the text started from.
    const typo = await admin.post(editUrl, {
      content: mine.replace('"title": "Appoint a green champion"', '"title": ""'),
      note: 'New title',
      year: '2026-27',
      baseVersion: base,
    });
    expect(typo.statusCode).toBe(400);
    expect(htmlText(typo.body)).toContain('is missing: enter some text');
    expect(baseOf(typo.body)).toBe(base);
    // So does a text too long to publish.
    const tooLong = await admin.post(editUrl, {
      content: mine + ' '.repeat(1_000_001 - mine.length),
      note: 'New title',
      year: '2026-27',
      baseVersion: baseOf(typo.body),
    });
    expect(tooLong.statusCode).toBe(400);
    expect(baseOf(tooLong.body)).toBe(base);
    // Corrected (the note still too long): refused for the version published meanwhile, with the
    // note's problem beside it, and only now does the form move on to that version.
    const longNote = 'Reworded the title of the framework. '.repeat(20);
    const corrected = await admin.post(editUrl, {
      content: mine,
      note: longNote,
      year: '2026-27',
      baseVersion: baseOf(tooLong.body),
    });
    expect(corrected.statusCode).toBe(400);
    const text = htmlText(corrected.body);
    expect(text).toContain(
      `version ${started + 1} of 2026-27 was published after you opened this page, so publishing your text would undo its changes.`,
    );
    expect(text).toContain('"What changed" must be 500 characters or fewer');
    expect(baseOf(corrected.body)).toBe(String(started + 1));
    const latest = await services.greenerPractice.getFramework();
    expect(latest.version.version).toBe(started + 1);
    expect(latest.framework.basis).toContain('Reviewed in June.');
    // Published from there, knowingly, it becomes the next version.
    const published = await admin.post(editUrl, {
      content: mine,
      note: 'New title',
      year: '2026-27',
      baseVersion: baseOf(corrected.body),
    });
    expect(published.statusCode).toBe(303);
    expect(published.headers.location).toBe(
      `/greener-practice/framework/manage?done=2026-27-v${started + 2}`,
    );
  });
});
