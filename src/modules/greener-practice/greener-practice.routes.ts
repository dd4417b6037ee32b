import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatProblem } from '../../lib/csv.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { checkedText, formErrorContext, formFields } from '../../web/forms.ts';
import { BadRequestError, NotFoundError } from '../../web/http-errors.ts';
import { optionalChoice, optionalCode, parseQuery } from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { readMultipart, receiveFormWithUploads } from '../files/multipart-uploads.ts';
import {
  awardLevelLabels,
  awardLevels,
  impactBandLabels,
  isProgrammeYear,
  MIN_EVIDENCE_NOTE_LENGTH,
  responseStatusLabels,
  responseStatuses,
} from './framework.calculations.ts';
import { serialiseFramework } from './framework.parser.ts';
import {
  AnswerChangedMeanwhile,
  AssessmentLocked,
  assessmentStatusLabels,
  FrameworkPublishedMeanwhile,
  FrameworkRefused,
  MAX_FILES_PER_SAVE,
  SubmissionRefused,
  VerificationConflict,
  type AnswerInput,
} from './greener-practice.service.ts';
import { awardsChart, pointsChart, progressChart, quintileChart } from './programme-charts.ts';
import { programmeCsv, programmeXlsx } from './programme-export.ts';
import {
  deprivationColours,
  markerStyles,
  markerSvg,
  renderProgrammeMap,
  type MapMarkerCategory,
} from './programme-map.ts';
import { renderBoardSummaryPdf, renderCertificatePdf } from './programme.pdf.ts';
import { quintileLabels } from './programme.calculations.ts';
import { isLensMeasureId, lensMeasures } from './programme.service.ts';

type CodeParams = { Params: { code: string } };
type ActionParams = { Params: { code: string; actionCode: string } };
type EvidenceParams = { Params: { code: string; actionCode: string; fileId: string } };
type FileParams = { Params: { code: string; fileId: string } };
type SubmissionParams = { Params: { submissionId: string } };
type VersionParams = { Params: { versionId: string } };

const publicRoute = { config: { access: 'public' as const } };
const organisationMember = {
  config: { access: 'signed-in' as const, audience: 'organisation-member' as const },
};
const greenChampion = {
  config: { access: 'signed-in' as const, audience: 'green-champion' as const },
};
const assessmentVerifier = {
  config: { access: 'signed-in' as const, audience: 'assessment-verifier' as const },
};
const platformAdmin = {
  config: { access: 'signed-in' as const, audience: 'platform-admin' as const },
};

const BASE = '/greener-practice';
const practiceCodePattern = /^[A-Z0-9]{3,8}$/;
const actionCodePattern = /^[A-Z]{2,3}-\d{2}$/;
const MAX_FRAMEWORK_TEXT = 1_000_000;

function checkPracticeCode(code: string): string {
  if (!practiceCodePattern.test(code)) throw new NotFoundError();
  return code;
}

function checkActionCode(code: string): string {
  if (!actionCodePattern.test(code)) throw new NotFoundError();
  return code;
}

const programmeYear = z
  .string({ error: 'must be given once' })
  .transform((value) => value.trim())
  .refine(
    (value) => value === '' || isProgrammeYear(value),
    'must be a programme year such as 2026-27',
  )
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const programmeQuery = z.object({
  area: optionalCode(/^[A-Z0-9]{3,9}$/, 'an ODS code of an ICB, a sub-ICB location or a PCN'),
  year: programmeYear,
});

const lensQuery = programmeQuery.extend({
  measure: optionalChoice(lensMeasures.map((measure) => measure.id) as [string, ...string[]]),
});

const awardsQuery = z.object({
  year: programmeYear,
  level: optionalChoice(awardLevels),
});

const yearQuery = z.object({ year: programmeYear });

const statusTagClasses: Record<string, string> = {
  not_started: 'nhsuk-tag--grey',
  in_progress: 'nhsuk-tag--blue',
  submitted: 'nhsuk-tag--purple',
  returned: 'nhsuk-tag--orange',
  awarded: 'nhsuk-tag--green',
  done: 'nhsuk-tag--green',
  not_applicable: 'nhsuk-tag--white',
  pending: 'nhsuk-tag--purple',
  approved: 'nhsuk-tag--green',
};

/** Shared by every page: labels and tag classes. */
const common = {
  awardLevelLabels,
  responseStatusLabels,
  assessmentStatusLabels,
  impactBandLabels,
  statusTagClasses,
  quintileLabels,
  yearLabel: (year: string) => year.replace('-', '–'),
};

function programmeCrumbs(extra: { href: string; text: string }[] = []) {
  return [{ href: '/', text: 'Home' }, { href: BASE, text: 'Greener General Practice' }, ...extra];
}

/** The Greener General Practice programme's pages. */
export function registerGreenerPracticeRoutes(app: FastifyInstance, services: Services): void {
  const ggp = services.greenerPractice;
  const programme = services.greenerPracticeProgramme;
  const referenceDataDir = services.config.referenceDataDir;

  // --- the programme ---

  app.get(BASE, publicRoute, async (request, reply) => {
    const year = await ggp.openYear();
    const overview = year ? await programme.getOverview(year) : null;
    const myPractices = (request.actor?.memberships ?? []).filter(
      (membership) => membership.organisationType === 'gp_practice',
    );
    return reply.render('greener-practice/views/home.njk', {
      ...common,
      programmeYear: year,
      overview,
      myPractices,
      isVerifier: ggp.isVerifier(request.actor),
      canManageFrameworks: request.actor?.isPlatformAdmin === true,
      pageTitle: 'Greener General Practice',
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get(`${BASE}/framework`, publicRoute, async (request, reply) => {
    const query = parseQuery(yearQuery, request.query);
    const framework = await ggp.getFramework(query.year);
    return reply.render('greener-practice/views/framework.njk', {
      ...common,
      ...framework,
      pageTitle: framework.framework.title,
      breadcrumbs: programmeCrumbs(),
    });
  });

  app.get<VersionParams>(
    `${BASE}/framework/versions/:versionId`,
    publicRoute,
    async (request, reply) => {
      const versionId = request.params.versionId.replace(/\.json$/, '');
      const { version, text } = await ggp.getFrameworkVersion(versionId);
      return reply
        .type('application/json; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="framework-${version.programme_year}-v${version.version}.json"`,
        )
        .send(text);
    },
  );

  app.get(`${BASE}/awards`, publicRoute, async (request, reply) => {
    const query = parseQuery(awardsQuery, request.query);
    const awards = await ggp.listAwards({ programmeYear: query.year, level: query.level });
    const years = [...new Set((await ggp.listAwards()).map((award) => award.programme_year))];
    return reply.render('greener-practice/views/awards.njk', {
      ...common,
      awards,
      query,
      yearOptions: [
        { value: '', text: 'All years' },
        ...years.map((year) => ({
          value: year,
          text: year.replace('-', '–'),
          selected: year === query.year,
        })),
      ],
      levelOptions: [
        { value: '', text: 'All levels' },
        ...awardLevels.map((level) => ({
          value: level,
          text: awardLevelLabels[level],
          selected: level === query.level,
        })),
      ],
      hasExamples: awards.some((award) => award.is_example === 1),
      pageTitle: 'Awarded practices',
      breadcrumbs: programmeCrumbs(),
    });
  });

  // --- the practice dashboard and certificate ---

  app.get<CodeParams>(`${BASE}/practices/:code`, publicRoute, async (request, reply) => {
    const code = checkPracticeCode(request.params.code);
    const dashboard = await ggp.getPracticeDashboard(request.actor, code);
    return reply.render('greener-practice/views/dashboard.njk', {
      ...common,
      ...dashboard,
      pageTitle: `${dashboard.practice.name}: Greener General Practice`,
      breadcrumbs: programmeCrumbs(),
    });
  });

  app.get<CodeParams>(
    `${BASE}/practices/:code/certificate.pdf`,
    publicRoute,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      const query = parseQuery(yearQuery, request.query);
      const year = query.year ?? (await ggp.openYear());
      if (!year) throw new NotFoundError();
      const { practice, award } = await ggp.getCertificate(code, year);
      const pdf = await renderCertificatePdf({
        practiceName: practice.name,
        practiceCode: practice.code,
        programmeYear: award.programme_year,
        level: award.level,
        points: award.points,
        awardedAt: award.awarded_at,
        isExample: award.is_example === 1,
      });
      return reply
        .type('application/pdf')
        .header(
          'content-disposition',
          `attachment; filename="greener-general-practice-${award.level}-${practice.code}-${award.programme_year}.pdf"`,
        )
        .send(pdf);
    },
  );

  // --- a practice's assessment ---

  app.get<CodeParams>(
    `${BASE}/practices/:code/assessment`,
    organisationMember,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      await ggp.assertCanRead(request.actor, code);
      const query = parseQuery(yearQuery, request.query);
      const page = await ggp.getAssessmentPage(request.actor, code, query.year);
      const flash = (request.query as Record<string, unknown>).done;
      return reply.render('greener-practice/views/assessment.njk', {
        ...common,
        ...page,
        flash: typeof flash === 'string' ? flash : null,
        pageTitle: `Self-assessment ${page.programmeYear.replace('-', '–')}: ${page.practice.name}`,
        breadcrumbs: programmeCrumbs([
          { href: `${BASE}/practices/${code}`, text: page.practice.name },
        ]),
      });
    },
  );

  app.post<CodeParams>(
    `${BASE}/practices/:code/assessment`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      try {
        await ggp.startAssessment(request.actor, code, requestContextOf(request));
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        const page = await ggp.getAssessmentPage(request.actor, code);
        return reply.code(400).render('greener-practice/views/assessment.njk', {
          ...common,
          ...page,
          ...formErrorContext(error.fieldErrors),
          pageTitle: `Self-assessment: ${page.practice.name}`,
          breadcrumbs: programmeCrumbs([
            { href: `${BASE}/practices/${code}`, text: page.practice.name },
          ]),
        });
      }
      return reply.redirect(`${BASE}/practices/${code}/assessment?done=started`, 303);
    },
  );

  async function renderActionPage(
    request: FastifyRequest<ActionParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const code = checkPracticeCode(request.params.code);
    const actionCode = checkActionCode(request.params.actionCode);
    const page = await ggp.getActionPage(request.actor, code, actionCode);
    return reply.code(status).render('greener-practice/views/action.njk', {
      ...common,
      ...page,
      values: {},
      statusOptions: responseStatuses,
      maxFiles: MAX_FILES_PER_SAVE,
      pageTitle: `${page.action.code} ${page.action.title}`,
      breadcrumbs: programmeCrumbs([
        { href: `${BASE}/practices/${code}`, text: page.practice.name },
        { href: `${BASE}/practices/${code}/assessment`, text: 'Self-assessment' },
      ]),
      ...extra,
    });
  }

  app.get<ActionParams>(
    `${BASE}/practices/:code/assessment/actions/:actionCode`,
    organisationMember,
    async (request, reply) => renderActionPage(request, reply),
  );

  app.post<ActionParams>(
    `${BASE}/practices/:code/assessment/actions/:actionCode`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      const actionCode = checkActionCode(request.params.actionCode);
      // Refuse before reading a single byte of any file.
      await ggp.assertCanManage(request.actor, code);
      const {
        fields,
        uploads,
        problem: uploadError,
      } = await receiveFormWithUploads(request, services.files, {
        purpose: 'evidence',
        maxFiles: MAX_FILES_PER_SAVE,
        tooManyMessage: `Add at most ${MAX_FILES_PER_SAVE} files at a time`,
      });
      const input: AnswerInput = {
        status: fields.status ?? '',
        note: fields.note ?? '',
        notApplicableReason: fields.notApplicableReason ?? '',
        openedAt: fields.openedAt,
      };
      try {
        if (uploadError) throw new ValidationFailed({ evidence: uploadError });
        await ggp.saveAnswer(
          request.actor,
          code,
          actionCode,
          input,
          uploads,
          requestContextOf(request),
        );
      } catch (error) {
        await Promise.all(uploads.map((upload) => services.files.discardUpload(upload)));
        if (error instanceof AnswerChangedMeanwhile) {
          const who = error.bySamePerson
            ? 'You saved an answer to this action in another tab or window'
            : 'Someone else saved an answer to this action';
          const { openedAt: _opened, ...entered } = input;
          return renderActionPage(
            request,
            reply,
            {
              values: entered,
              answerChanged: true,
              ...formErrorContext(
                {
                  status: `${who} after you opened this page: ${responseStatusLabels[error.statusNow].toLowerCase()}. Nothing has been saved${uploads.length > 0 ? ', and your files were not added' : ''}. Check the answer, then save again`,
                },
                ['status'],
              ),
            },
            409,
          );
        }
        if (error instanceof AssessmentLocked)
          return renderActionPage(
            request,
            reply,
            // The form is gone from a locked assessment: the error points at the notice saying why.
            { values: input, ...formErrorContext({ locked: error.message }) },
            409,
          );
        if (!(error instanceof ValidationFailed)) throw error;
        return renderActionPage(
          request,
          reply,
          {
            // With the openedAt it was sent with: an answer saved meanwhile is still one to check.
            values: input,
            ...formErrorContext(error.fieldErrors, [
              'status',
              'notApplicableReason',
              'note',
              'evidence',
            ]),
          },
          400,
        );
      }
      const next =
        fields.next === 'next' && fields.nextCode && actionCodePattern.test(fields.nextCode)
          ? `${BASE}/practices/${code}/assessment/actions/${fields.nextCode}`
          : `${BASE}/practices/${code}/assessment?done=saved#${actionCode}`;
      return reply.redirect(next, 303);
    },
  );

  // Removing a file cannot be undone from here, so a page asks first, as for removing a member.
  app.get<EvidenceParams>(
    `${BASE}/practices/:code/assessment/actions/:actionCode/evidence/:fileId/remove`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      const actionCode = checkActionCode(request.params.actionCode);
      try {
        const page = await ggp.getEvidenceForRemoval(
          request.actor,
          code,
          actionCode,
          request.params.fileId,
        );
        return reply.render('greener-practice/views/evidence-remove.njk', {
          ...common,
          ...page,
          minNote: MIN_EVIDENCE_NOTE_LENGTH,
          pageTitle: `Remove ${page.file.original_name}`,
          breadcrumbs: programmeCrumbs([
            { href: `${BASE}/practices/${code}`, text: page.practice.name },
            { href: `${BASE}/practices/${code}/assessment`, text: 'Self-assessment' },
            {
              href: `${BASE}/practices/${code}/assessment/actions/${actionCode}`,
              text: `${page.action.code} ${page.action.title}`,
            },
          ]),
        });
      } catch (error) {
        if (!(error instanceof AssessmentLocked)) throw error;
        return renderActionPage(request, reply, formErrorContext({ locked: error.message }), 409);
      }
    },
  );

  app.post<EvidenceParams>(
    `${BASE}/practices/:code/assessment/actions/:actionCode/evidence/:fileId/remove`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      const actionCode = checkActionCode(request.params.actionCode);
      try {
        await ggp.removeEvidence(
          request.actor,
          code,
          actionCode,
          request.params.fileId,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof AssessmentLocked)) throw error;
        return renderActionPage(request, reply, formErrorContext({ locked: error.message }), 409);
      }
      return reply.redirect(
        `${BASE}/practices/${code}/assessment/actions/${actionCode}#evidence-files`,
        303,
      );
    },
  );

  app.get<FileParams>(
    `${BASE}/practices/:code/evidence/:fileId`,
    organisationMember,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      const file = await ggp.findEvidenceFile(request.actor, code, request.params.fileId);
      return services.files.sendFile(request, reply, file);
    },
  );

  async function renderSubmitPage(
    request: FastifyRequest<CodeParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const code = checkPracticeCode(request.params.code);
    const page = await ggp.getSubmitPage(request.actor, code);
    return reply.code(status).render('greener-practice/views/submit.njk', {
      ...common,
      ...page,
      values: {},
      pageTitle: `Submit for an award: ${page.practice.name}`,
      breadcrumbs: programmeCrumbs([
        { href: `${BASE}/practices/${code}`, text: page.practice.name },
        { href: `${BASE}/practices/${code}/assessment`, text: 'Self-assessment' },
      ]),
      ...extra,
    });
  }

  app.get<CodeParams>(
    `${BASE}/practices/:code/assessment/submit`,
    greenChampion,
    async (request, reply) => renderSubmitPage(request, reply),
  );

  app.post<CodeParams>(
    `${BASE}/practices/:code/assessment/submit`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      await ggp.assertCanManage(request.actor, code);
      const fields = formFields(request, ['level', 'confirm']);
      try {
        await ggp.submit(request.actor, code, fields, requestContextOf(request));
      } catch (error) {
        if (error instanceof SubmissionRefused)
          return renderSubmitPage(
            request,
            reply,
            {
              values: fields,
              refusal: { title: error.message, problems: error.problems },
              errorList: error.problems.map((problem) => ({ text: problem, href: '#problems' })),
              pageError: true,
            },
            400,
          );
        if (error instanceof AssessmentLocked)
          return renderSubmitPage(
            request,
            reply,
            { values: fields, ...formErrorContext({ level: error.message }) },
            409,
          );
        if (!(error instanceof ValidationFailed)) throw error;
        return renderSubmitPage(
          request,
          reply,
          { values: fields, ...formErrorContext(error.fieldErrors, ['level', 'confirm']) },
          400,
        );
      }
      return reply.redirect(`${BASE}/practices/${code}/assessment?done=submitted`, 303);
    },
  );

  app.post<CodeParams>(
    `${BASE}/practices/:code/assessment/reopen`,
    greenChampion,
    async (request, reply) => {
      const code = checkPracticeCode(request.params.code);
      try {
        await ggp.reopen(request.actor, code, requestContextOf(request));
      } catch (error) {
        if (!(error instanceof AssessmentLocked)) throw error;
        const page = await ggp.getAssessmentPage(request.actor, code);
        return reply.code(409).render('greener-practice/views/assessment.njk', {
          ...common,
          ...page,
          ...formErrorContext({ reopen: error.message }),
          pageTitle: `Self-assessment: ${page.practice.name}`,
          breadcrumbs: programmeCrumbs([
            { href: `${BASE}/practices/${code}`, text: page.practice.name },
          ]),
        });
      }
      return reply.redirect(`${BASE}/practices/${code}/assessment?done=reopened`, 303);
    },
  );

  // --- verification ---

  app.get(`${BASE}/reviews`, assessmentVerifier, async (request, reply) => {
    const queue = await ggp.listSubmissionsToVerify(request.actor);
    return reply.render('greener-practice/views/reviews.njk', {
      ...common,
      ...queue,
      flash: (request.query as Record<string, unknown>).done ?? null,
      pageTitle: 'Submissions to verify',
      breadcrumbs: programmeCrumbs(),
    });
  });

  async function renderReview(
    request: FastifyRequest<SubmissionParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const review = await ggp.getReview(request.actor, request.params.submissionId);
    return reply.code(status).render('greener-practice/views/review.njk', {
      ...common,
      ...review,
      values: {},
      pageTitle: `Verify: ${review.practiceName}, ${awardLevelLabels[review.snapshot.level]}`,
      breadcrumbs: programmeCrumbs([{ href: `${BASE}/reviews`, text: 'Submissions to verify' }]),
      ...extra,
    });
  }

  app.get<SubmissionParams>(
    `${BASE}/reviews/:submissionId`,
    assessmentVerifier,
    async (request, reply) => renderReview(request, reply),
  );

  app.post<SubmissionParams>(
    `${BASE}/reviews/:submissionId`,
    assessmentVerifier,
    async (request, reply) => {
      await ggp.assertCanVerify(request.actor, request.params.submissionId);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const fields = formFields(request, ['decision', 'note']);
      const comments: Record<string, string> = {};
      for (const [key, value] of Object.entries(body)) {
        const match = /^comment-([A-Z]{2,3}-\d{2})$/.exec(key);
        if (!match) continue;
        if (typeof value !== 'string')
          throw new BadRequestError([`The "${key}" field must be sent once, as text.`]);
        comments[match[1]!] = checkedText(key, value, 'field');
      }
      try {
        const { outcome } = await ggp.decide(
          request.actor,
          request.params.submissionId,
          { ...fields, comments },
          requestContextOf(request),
        );
        return reply.redirect(`${BASE}/reviews?done=${outcome}`, 303);
      } catch (error) {
        if (error instanceof VerificationConflict)
          return renderReview(
            request,
            reply,
            { values: { ...fields, comments }, ...formErrorContext({ decision: error.message }) },
            403,
          );
        if (!(error instanceof ValidationFailed)) throw error;
        return renderReview(
          request,
          reply,
          {
            values: { ...fields, comments },
            ...formErrorContext(error.fieldErrors, ['decision', 'note']),
          },
          400,
        );
      }
    },
  );

  // --- the framework, for platform admins ---

  async function renderManage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const data = await ggp.listFrameworkVersionsForAdmin(request.actor);
    // Only a version that is there is named: the address cannot put other words on the page.
    const done = (request.query as Record<string, unknown>).done;
    const published = data.versions.some(
      (entry) => `${entry.programme_year}-v${entry.version}` === done,
    );
    return reply.code(status).render('greener-practice/views/framework-manage.njk', {
      ...common,
      ...data,
      flash: published ? done : null,
      pageTitle: 'Manage the framework',
      breadcrumbs: programmeCrumbs([{ href: `${BASE}/framework`, text: 'Framework' }]),
      ...extra,
    });
  }

  app.get(`${BASE}/framework/manage`, platformAdmin, async (request, reply) =>
    renderManage(request, reply),
  );

  app.post(`${BASE}/framework/manage/upload`, platformAdmin, async (request, reply) => {
    ggp.assertCanManageFrameworks(request.actor);
    let uploadError: string | undefined;
    let text = '';
    let fileName = '';
    const fields = await readMultipart(request, async (part) => {
      if (fileName) {
        part.file.resume();
        return;
      }
      fileName = part.filename;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file) {
        size += (chunk as Buffer).length;
        if (size <= MAX_FRAMEWORK_TEXT) chunks.push(chunk as Buffer);
      }
      if (size > MAX_FRAMEWORK_TEXT || part.file.truncated)
        uploadError = 'The framework file must be smaller than 1 MB';
      else text = Buffer.concat(chunks).toString('utf8');
    });
    if (!fileName) uploadError = 'Choose a framework file (JSON) to upload';
    if (uploadError)
      return renderManage(request, reply, formErrorContext({ file: uploadError }), 400);
    try {
      const published = await ggp.publishFrameworkVersion(
        request.actor,
        { text, fileName, source: 'upload', note: fields.note ?? '' },
        requestContextOf(request),
      );
      return reply.redirect(
        `${BASE}/framework/manage?done=${published.programmeYear}-v${published.version}`,
        303,
      );
    } catch (error) {
      if (!(error instanceof FrameworkRefused)) throw error;
      return renderManage(
        request,
        reply,
        {
          refusal: error.problems.map((problem) => formatProblem(problem)),
          errorList: [
            {
              text: `The file was not published: ${error.problems.length} problem(s) to fix`,
              href: '#problems',
            },
          ],
          pageError: true,
        },
        400,
      );
    }
  });

  async function renderEdit(
    request: FastifyRequest,
    reply: FastifyReply,
    values: { year?: string; content?: string; note?: string; baseVersion?: number | null },
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    ggp.assertCanManageFrameworks(request.actor);
    const framework = await ggp.getFramework(values.year);
    return reply.code(status).render('greener-practice/views/framework-edit.njk', {
      ...common,
      ...framework,
      values: {
        content: values.content ?? serialiseFramework(framework.framework),
        note: values.note ?? '',
      },
      // The version the text started from, not the latest: a form refused for a typo must not
      // move past a version published meanwhile, which publishing it would undo unawares.
      baseVersion: values.baseVersion ?? framework.version.version,
      pageTitle: `Edit the ${framework.programmeYear.replace('-', '–')} framework`,
      breadcrumbs: programmeCrumbs([
        { href: `${BASE}/framework`, text: 'Framework' },
        { href: `${BASE}/framework/manage`, text: 'Manage' },
      ]),
      ...extra,
    });
  }

  app.get(`${BASE}/framework/manage/edit`, platformAdmin, async (request, reply) => {
    ggp.assertCanManageFrameworks(request.actor);
    const query = parseQuery(yearQuery, request.query);
    return renderEdit(request, reply, { year: query.year });
  });

  // A form-encoded character takes up to nine bytes (a curly quote is %E2%80%99), so the body may
  // be far larger than the 1 MiB other forms are held to: any text up to the limit, and a little
  // over it, comes back on the page, marked, however it was escaped.
  const frameworkEditOptions = { ...platformAdmin, bodyLimit: 10 * 1024 * 1024 };
  app.post(`${BASE}/framework/manage/edit`, frameworkEditOptions, async (request, reply) => {
    ggp.assertCanManageFrameworks(request.actor);
    const fields = formFields(request, ['content', 'note', 'year', 'baseVersion']);
    const year = isProgrammeYear(fields.year) ? fields.year : undefined;
    const baseVersion =
      year && /^\d{1,6}$/.test(fields.baseVersion) ? Number(fields.baseVersion) : null;
    // Too long to publish: the form again with the text, not an error page that loses it.
    if (fields.content.length > MAX_FRAMEWORK_TEXT)
      return renderEdit(
        request,
        reply,
        { year, content: fields.content, note: fields.note, baseVersion },
        formErrorContext({ content: 'The framework must be smaller than 1 MB' }),
        400,
      );
    try {
      const published = await ggp.publishFrameworkVersion(
        request.actor,
        {
          text: fields.content,
          fileName: 'the framework',
          source: 'edit',
          note: fields.note,
          basedOn:
            year !== undefined && baseVersion !== null
              ? { programmeYear: year, version: baseVersion }
              : undefined,
        },
        requestContextOf(request),
      );
      return reply.redirect(
        `${BASE}/framework/manage?done=${published.programmeYear}-v${published.version}`,
        303,
      );
    } catch (error) {
      if (!(error instanceof FrameworkRefused)) throw error;
      return renderEdit(
        request,
        reply,
        {
          year,
          content: fields.content,
          note: fields.note,
          // Refused for a version published meanwhile, the page starts from that one: publishing
          // from it again is then a knowing choice.
          baseVersion: error instanceof FrameworkPublishedMeanwhile ? null : baseVersion,
        },
        {
          refusal: error.problems.map((problem) => formatProblem(problem)),
          errorList: [
            {
              text: `Nothing was published: ${error.problems.length} problem(s) to fix`,
              href: '#problems',
            },
          ],
          pageError: true,
        },
        400,
      );
    }
  });

  // --- programme dashboards, the inequalities lens, exports and the board summary ---

  function mapOf(data: Awaited<ReturnType<typeof programme.getProgramme>>) {
    return renderProgrammeMap({
      referenceDataDir,
      id: 'programme-map',
      title: `Map of LLR: ${data.area.name}, ${data.programmeYear.replace('-', '–')}`,
      description: `Small areas shaded by IMD 2019 decile, darker for more deprived. ${data.markers.length} practices at their approximate location: ${data.summary.awardsByLevel.gold} Gold, ${data.summary.awardsByLevel.silver} Silver, ${data.summary.awardsByLevel.bronze} Bronze, ${data.summary.participating - data.summary.awarded} taking part without an award yet, ${data.summary.practices - data.summary.participating} not taking part. The table below the map lists every practice.`,
      markers: data.markers,
    });
  }

  app.get(`${BASE}/programme`, publicRoute, async (request, reply) => {
    const query = parseQuery(programmeQuery, request.query);
    const data = await programme.getProgramme(query.area, query.year);
    return reply.render('greener-practice/views/programme.njk', {
      ...common,
      ...data,
      query,
      areaOptions: data.areas.map((area) => ({
        value: area.code,
        text: `${area.name} (${area.kindLabel})`,
        selected: area.code === data.area.code,
      })),
      yearOptions: data.years.map((year) => ({
        value: year,
        text: year.replace('-', '–'),
        selected: year === data.programmeYear,
      })),
      awardsChart: awardsChart('chart-awards', data.summary.awardsByLevel),
      pointsChart: pointsChart('chart-points', data.histogram),
      progressChart: progressChart('chart-progress', data.progress),
      map: mapOf(data),
      mapLegend: {
        deprivation: deprivationColours.map((colour, index) => ({
          colour,
          label: `IMD deciles ${index * 2 + 1}–${index * 2 + 2}${index === 0 ? ' (most deprived)' : index === 4 ? ' (least deprived)' : ''}`,
        })),
        markers: (Object.keys(markerStyles) as MapMarkerCategory[]).map((key) => ({
          label: markerStyles[key].label,
          svg: markerSvg(markerStyles[key], 8, 8),
        })),
      },
      markerLabels: Object.fromEntries(
        (Object.keys(markerStyles) as MapMarkerCategory[]).map((key) => [
          key,
          markerStyles[key].label,
        ]),
      ),
      exportQuery: `area=${data.area.code}&year=${data.programmeYear}`,
      pageTitle: `Programme dashboard: ${data.area.name}`,
      breadcrumbs: programmeCrumbs(),
    });
  });

  app.get(`${BASE}/programme/export.csv`, publicRoute, async (request, reply) => {
    const query = parseQuery(programmeQuery, request.query);
    const data = await programme.exportProgramme(query.area, query.year);
    return reply
      .type('text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="greener-general-practice-${data.area.code}-${data.programmeYear}.csv"`,
      )
      .send(programmeCsv(data.rows, data.measuresMonth));
  });

  app.get(`${BASE}/programme/export.xlsx`, publicRoute, async (request, reply) => {
    const query = parseQuery(programmeQuery, request.query);
    const data = await programme.exportProgramme(query.area, query.year);
    return reply
      .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header(
        'content-disposition',
        `attachment; filename="greener-general-practice-${data.area.code}-${data.programmeYear}.xlsx"`,
      )
      .send(
        await programmeXlsx(
          data.rows,
          data.measuresMonth,
          `Greener General Practice ${data.programmeYear}: ${data.area.name}`,
        ),
      );
  });

  app.get(`${BASE}/inequalities`, publicRoute, async (request, reply) => {
    const query = parseQuery(lensQuery, request.query);
    const data = await programme.getInequalities(query.area, query.year);
    const selected = query.measure && isLensMeasureId(query.measure) ? query.measure : 'award';
    return reply.render('greener-practice/views/inequalities.njk', {
      ...common,
      ...data,
      selected,
      charts: data.lens.map((entry) => ({
        ...entry,
        chart: quintileChart(`chart-lens-${entry.measure.id}`, entry.measure, entry.result),
      })),
      areaOptions: data.areas.map((area) => ({
        value: area.code,
        text: `${area.name} (${area.kindLabel})`,
        selected: area.code === data.area.code,
      })),
      yearOptions: data.years.map((year) => ({
        value: year,
        text: year.replace('-', '–'),
        selected: year === data.programmeYear,
      })),
      measureOptions: lensMeasures.map((measure) => ({
        value: measure.id,
        text: measure.title,
        selected: measure.id === selected,
      })),
      pageTitle: `Health inequalities lens: ${data.area.name}`,
      breadcrumbs: programmeCrumbs(),
    });
  });

  app.get(`${BASE}/board-summary`, publicRoute, async (request, reply) => {
    const query = parseQuery(yearQuery, request.query);
    const summary = await programme.getBoardSummary(query.year);
    return reply.render('greener-practice/views/board-summary.njk', {
      ...common,
      ...summary,
      awardsChart: awardsChart('chart-awards', summary.summary.awardsByLevel),
      pointsChart: pointsChart('chart-points', summary.histogram),
      progressChart: progressChart('chart-progress', summary.progress),
      quintileCharts: summary.inequalities.map((entry) => ({
        ...entry,
        chart: quintileChart(`chart-lens-${entry.measure.id}`, entry.measure, entry.result),
      })),
      yearOptions: summary.years.map((year) => ({
        value: year,
        text: year.replace('-', '–'),
        selected: year === summary.programmeYear,
      })),
      pageTitle: `Programme summary for the ICS board, ${summary.programmeYear.replace('-', '–')}`,
      breadcrumbs: programmeCrumbs(),
    });
  });

  app.get(`${BASE}/board-summary.pdf`, publicRoute, async (request, reply) => {
    const query = parseQuery(yearQuery, request.query);
    const summary = await programme.getBoardSummary(query.year);
    const pdf = await renderBoardSummaryPdf(summary);
    return reply
      .type('application/pdf')
      .header(
        'content-disposition',
        `attachment; filename="greener-general-practice-board-summary-${summary.programmeYear}.pdf"`,
      )
      .send(pdf);
  });
}
