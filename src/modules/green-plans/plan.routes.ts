import { ukCalendarDate } from '../../lib/uk-time.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { BadRequestError, NotFoundError } from '../../web/http-errors.ts';
import { optionalChoice, optionalText, parseQuery } from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { contentDisposition } from '../files/file.service.ts';
import { receiveFormWithUploads, receiveOneUpload } from '../files/multipart-uploads.ts';
import { buildBoardReport } from './board-report.ts';
import { renderBoardReportPdf } from './board-report.pdf.ts';
import { progressByAreaChart, statusCountChart, trajectoryChart } from './plan-charts.ts';
import { exportCsv, exportXlsx } from './plan-export.ts';
import { postedDone } from '../discussions/mentions.ts';
import { commentPostedNotice } from '../discussions/notices.ts';
import { importColumnNames, importColumns, type ImportColumn } from './plan-import.ts';
import {
  ActionDeletionChanged,
  ActionEditConflict,
  ActionHasSubActions,
  type ActionDeletionCounts,
  type EditConflictKind,
  KpiEditConflict,
  kpiEditFields,
  kpiFieldLabels,
  type ActionEditField,
  planStatuses,
  PlanStillPublished,
  type UpdateInput,
} from './plan.service.ts';
import {
  actionStatuses,
  actionStatusLabels,
  actionStatusRag,
  parseQuarterKey,
  quarterOf,
  quartersBetween,
  trajectoryStandingLabels,
  type ActionStatus,
} from './progress.calculations.ts';

type PlanParams = { Params: { planId: string } };
type ActionParams = { Params: { planId: string; actionId: string } };
type MilestoneParams = { Params: { planId: string; actionId: string; milestoneId: string } };
type KpiParams = { Params: { planId: string; kpiId: string } };
type AreaParams = { Params: { planId: string; areaSlug: string } };
type FileParams = { Params: { planId: string; fileId: string } };

const publicRoute = { config: { access: 'public' as const } };
const anyUser = { config: { access: 'signed-in' as const, audience: 'any-user' as const } };
const organisationEditor = {
  config: { access: 'signed-in' as const, audience: 'organisation-editor' as const },
};
const organisationMember = {
  config: { access: 'signed-in' as const, audience: 'organisation-member' as const },
};

const idPattern = /^[0-9a-f-]{36}$/;

function checkId(id: string): string {
  if (!idPattern.test(id)) throw new NotFoundError();
  return id;
}

const actionFormFields = [...importColumnNames] as ImportColumn[];

/** The action form's labels, for the fields a conflict marks. */
const actionFieldFormLabels: Record<ActionEditField, string> = {
  reference: 'Reference',
  parent_reference: 'Part of',
  area: 'Area of focus',
  title: 'Title',
  description: 'Description',
  lead_organisation: 'Lead organisation',
  partner_organisations: 'Partner organisations',
  owner_email: 'Owner',
  start_date: 'Start date',
  due_date: 'Due date',
  status: 'Status',
  progress_percent: 'Progress',
  weight: 'Weight',
};

/**
 * What a page shows for a refused file: its problems (a page of them is enough to start correcting;
 * the count says how many there are), each placed by row and column, and the error on the file
 * field that the error summary links to.
 */
function fileProblemsContext(
  problems: readonly { row?: number; column?: string; message: string }[],
  field: string,
  outcome: string,
) {
  const shown = problems.slice(0, 100).map((problem) => ({
    ...problem,
    text: [
      problem.row === undefined ? null : `Row ${problem.row}`,
      problem.column === undefined ? null : `column "${problem.column}"`,
    ]
      .filter(Boolean)
      .join(', '),
  }));
  return {
    fileProblems: shown,
    moreFileProblems: problems.length - shown.length,
    ...formErrorContext({
      [field]: `The file has ${problems.length.toLocaleString('en-GB')} problem${problems.length === 1 ? '' : 's'}, listed below; ${outcome}`,
    }),
  };
}

/**
 * What an import just did (new-changed-unchanged), from the address it redirected to; anything
 * else there is ignored, so a stray parameter never breaks the page.
 */
function importCountsIn(value: unknown): RegExpExecArray | null {
  return typeof value === 'string' ? /^(\d{1,6})-(\d{1,6})-(\d{1,6})$/.exec(value) : null;
}

const kpiFormFields = kpiEditFields;

/**
 * The error summary and field errors of a form refused because someone else changed what it shows
 * (ActionEditConflict, KpiEditConflict): each field both changed is marked.
 */
function editConflictContext<Field extends string>(
  what: 'action' | 'KPI',
  conflict: { clashes: readonly Field[]; kind: EditConflictKind },
  labels: Record<Field, string>,
  fieldOrder: readonly string[],
) {
  const { clashes, kind } = conflict;
  const summary = {
    clash: `Someone else changed this ${what} after you opened this page. Nothing has been saved: check the fields marked below, then save again`,
    'no-basis': `This page did not say what the ${what} was when you opened it, so changes made since cannot be told from yours. Nothing has been saved: check the fields marked below against the ${what} as it is now, then save again`,
    'kept-moving': `Other changes to this plan kept arriving while yours was being saved. Nothing has been saved: check the form, then save again`,
  }[kind];
  const field = (label: string) =>
    kind === 'clash'
      ? `${label} was changed by someone else after you opened this page. Keep what you entered, or change it, then save`
      : `${label} is not what it is now: someone else may have changed it. Keep what you entered, or change it, then save`;
  return formErrorContext(
    {
      edit_conflict: summary,
      ...Object.fromEntries(clashes.map((name) => [name, field(labels[name])])),
    },
    ['edit_conflict', ...fieldOrder],
  );
}

const filterSchema = z.object({
  area: optionalText(80),
  organisation: optionalText(12),
  status: optionalChoice(actionStatuses),
  owner: optionalText(40),
  due: optionalChoice(['overdue', 'next-30-days', 'next-90-days', 'this-quarter'] as const),
});

const quarterSchema = z.object({ quarter: optionalText(12) });

export const statusTagClasses: Record<ActionStatus, string> = {
  not_started: 'nhsuk-tag--grey',
  on_track: 'nhsuk-tag--green',
  at_risk: 'nhsuk-tag--orange',
  off_track: 'nhsuk-tag--red',
  complete: 'nhsuk-tag--blue',
  cancelled: 'nhsuk-tag--white',
};

function plansCrumbs(plan?: { id: string; title: string }) {
  const crumbs = [
    { href: '/', text: 'Home' },
    { href: '/green-plans', text: 'Green Plans' },
  ];
  if (plan) crumbs.push({ href: `/green-plans/${plan.id}`, text: plan.title });
  return crumbs;
}

/** The shared view context: status choices, tag classes and labels. */
const common = {
  statusOptions: actionStatuses.map((status) => ({
    value: status,
    text: actionStatusLabels[status],
  })),
  statusTagClasses,
  statusLabels: actionStatusLabels,
  statusRag: actionStatusRag,
  standingLabels: trajectoryStandingLabels,
};

/** The Green Plan tracker's pages. */
export function registerGreenPlanRoutes(app: FastifyInstance, services: Services): void {
  const plans = services.greenPlans;

  // --- plans ---

  app.get('/green-plans', publicRoute, async (request, reply) => {
    const list = await plans.listPlans(request.actor);
    const canCreate = request.actor
      ? (await plans.listPlanOwnerOptions(request.actor)).length > 0
      : false;
    return reply.render('green-plans/views/plans.njk', {
      plans: list,
      canCreate,
      deleted: (request.query as Record<string, unknown>).deleted === '1',
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get('/green-plans/my-actions', anyUser, async (request, reply) => {
    const actions = await plans.listMyActions(request.actor);
    return reply.render('green-plans/views/my-actions.njk', {
      ...common,
      actions,
      breadcrumbs: plansCrumbs(),
    });
  });

  async function renderPlanForm(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const owners = await plans.listPlanOwnerOptions(request.actor);
    return reply.code(status).render('green-plans/views/plan-form.njk', {
      ownerOptions: owners.map((owner) => ({ value: owner.code, text: owner.name })),
      statusOptions: planStatuses.map((value) => ({
        value,
        text:
          value === 'draft'
            ? 'Draft: only members of the organisation can see it'
            : 'Published: anyone can see it',
      })),
      breadcrumbs: plansCrumbs(),
      ...extra,
    });
  }

  app.get('/green-plans/new', organisationEditor, async (request, reply) => {
    await plans.assertCanCreatePlans(request.actor);
    return renderPlanForm(request, reply, { values: { status: 'draft' }, isNew: true });
  });

  app.post('/green-plans', organisationEditor, async (request, reply) => {
    await plans.assertCanCreatePlans(request.actor);
    const fields = formFields(request, [
      'title',
      'description',
      'ownerOrganisationCode',
      'periodStart',
      'periodEnd',
      'status',
      'submissionKey',
    ]);
    try {
      const { submissionKey, ...input } = fields;
      const id = await plans.createPlan(request.actor, input, requestContextOf(request), {
        submissionKey,
      });
      return reply.redirect(`/green-plans/${id}`, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderPlanForm(
        request,
        reply,
        {
          values: fields,
          isNew: true,
          ...formErrorContext(error.fieldErrors, [
            'title',
            'description',
            'ownerOrganisationCode',
            'periodStart',
            'periodEnd',
            'status',
          ]),
        },
        400,
      );
    }
  });

  app.get<PlanParams>('/green-plans/:planId/edit', organisationEditor, async (request, reply) => {
    const plan = await plans.getPlanForEdit(request.actor, request.params.planId);
    return renderPlanForm(request, reply, {
      plan,
      isNew: false,
      values: { ...plan, ownerOrganisationCode: plan.ownerOrganisationCode },
      breadcrumbs: plansCrumbs(plan),
    });
  });

  app.post<PlanParams>('/green-plans/:planId/edit', organisationEditor, async (request, reply) => {
    const plan = await plans.getPlanForEdit(request.actor, request.params.planId);
    const fields = formFields(request, [
      'title',
      'description',
      'periodStart',
      'periodEnd',
      'status',
    ]);
    try {
      await plans.updatePlan(request.actor, plan.id, fields, requestContextOf(request));
      return reply.redirect(`/green-plans/${plan.id}`, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderPlanForm(
        request,
        reply,
        {
          plan,
          isNew: false,
          values: { ...fields, ownerOrganisationCode: plan.ownerOrganisationCode },
          breadcrumbs: plansCrumbs(plan),
          ...formErrorContext(error.fieldErrors, [
            'title',
            'description',
            'periodStart',
            'periodEnd',
            'status',
          ]),
        },
        400,
      );
    }
  });

  app.get<PlanParams>('/green-plans/:planId/delete', organisationEditor, async (request, reply) => {
    const deletion = await plans.getPlanForDeletion(request.actor, request.params.planId);
    return reply.render('green-plans/views/plan-delete.njk', {
      ...deletion,
      breadcrumbs: plansCrumbs(deletion.plan),
    });
  });

  app.post<PlanParams>(
    '/green-plans/:planId/delete',
    organisationEditor,
    async (request, reply) => {
      try {
        const deleted = await plans.deletePlan(
          request.actor,
          request.params.planId,
          requestContextOf(request),
        );
        if (deleted.bytesLeft.length > 0) {
          request.log.warn(
            { storageKeys: deleted.bytesLeft },
            'a deleted plan left stored files behind; remove them from the file store',
          );
        }
        return reply.redirect('/green-plans?deleted=1', 303);
      } catch (error) {
        if (!(error instanceof PlanStillPublished)) throw error;
        const deletion = await plans.getPlanForDeletion(request.actor, request.params.planId);
        return reply.code(409).render('green-plans/views/plan-delete.njk', {
          ...deletion,
          breadcrumbs: plansCrumbs(deletion.plan),
          ...formErrorContext({ 'change-plan': error.message }),
        });
      }
    },
  );

  app.post<PlanParams>('/green-plans/:planId/areas', organisationEditor, async (request, reply) => {
    const plan = await plans.getPlanForEdit(request.actor, request.params.planId);
    const fields = formFields(request, ['name', 'description']);
    try {
      const slug = await plans.addArea(request.actor, plan.id, fields, requestContextOf(request));
      return reply.redirect(`/green-plans/${plan.id}/areas/${slug}`, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderPlanForm(
        request,
        reply,
        {
          plan,
          isNew: false,
          values: plan,
          areaValues: fields,
          breadcrumbs: plansCrumbs(plan),
          // The area's description field has its own id, apart from the plan's description.
          ...formErrorContext(
            Object.fromEntries(
              Object.entries(error.fieldErrors).map(([field, message]) => [
                field === 'description' ? 'area-description' : field,
                message,
              ]),
            ),
            ['name', 'area-description'],
          ),
        },
        400,
      );
    }
  });

  app.get<PlanParams>('/green-plans/:planId', publicRoute, async (request, reply) => {
    const overview = await plans.getPlanOverview(request.actor, request.params.planId);
    const query = request.query as Record<string, unknown>;
    const actionCounts = importCountsIn(query.imported);
    const kpiCounts = importCountsIn(query.kpisImported);
    const updateCounts = importCountsIn(query.updatesImported);
    const statusCounts = actionStatuses.map((status) => ({
      status,
      label: actionStatusLabels[status],
      count: overview.summary.counts[status],
    }));
    return reply.render('green-plans/views/plan.njk', {
      ...common,
      ...overview,
      statusCounts,
      areaChart: progressByAreaChart('area-progress', overview.areas),
      statusChart: statusCountChart('status-counts', statusCounts),
      pageTitle: overview.plan.title,
      breadcrumbs: plansCrumbs(),
      importNotice: actionCounts
        ? `Actions imported: ${actionCounts[1]} new, ${actionCounts[2]} changed, ${actionCounts[3]} unchanged.`
        : kpiCounts
          ? `KPIs imported: ${kpiCounts[1]} new, ${kpiCounts[2]} changed, ${kpiCounts[3]} unchanged.`
          : updateCounts
            ? `Progress updates posted: ${updateCounts[1]} new, ${updateCounts[2]} already posted, ${updateCounts[3]} rows left as they were.`
            : query.actionDeleted === '1'
              ? 'The action has been deleted.'
              : undefined,
    });
  });

  app.get<PlanParams>('/green-plans/:planId/actions', publicRoute, async (request, reply) => {
    const filters = parseQuery(filterSchema, request.query);
    const listing = await plans.listActions(request.actor, request.params.planId, filters);
    return reply.render('green-plans/views/actions.njk', {
      ...common,
      ...listing,
      filters,
      filtered: Object.values(filters).some((value) => value !== undefined),
      breadcrumbs: plansCrumbs(listing.plan),
    });
  });

  app.get<AreaParams>(
    '/green-plans/:planId/areas/:areaSlug',
    publicRoute,
    async (request, reply) => {
      if (!/^[a-z0-9-]{1,80}$/.test(request.params.areaSlug)) throw new NotFoundError();
      const area = await plans.getArea(
        request.actor,
        request.params.planId,
        request.params.areaSlug,
      );
      return reply.render('green-plans/views/area.njk', {
        ...common,
        ...area,
        statusCounts: actionStatuses.map((status) => ({
          status,
          label: actionStatusLabels[status],
          count: area.summary.counts[status],
        })),
        breadcrumbs: plansCrumbs(area.plan),
      });
    },
  );

  // --- actions ---

  async function renderActionForm(
    request: FastifyRequest<PlanParams>,
    reply: FastifyReply,
    parentReference: string | undefined,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const form = await plans.getNewActionForm(
      request.actor,
      request.params.planId,
      parentReference,
    );
    return reply.code(status).render('green-plans/views/action-form.njk', {
      ...common,
      ...form,
      isNew: true,
      columns: importColumns,
      breadcrumbs: plansCrumbs(form.plan),
      ...extra,
    });
  }

  app.get<PlanParams & { Querystring: { parent?: string } }>(
    '/green-plans/:planId/actions/new',
    organisationEditor,
    async (request, reply) => {
      const { parent } = parseQuery(z.object({ parent: optionalText(40) }), request.query);
      return renderActionForm(request, reply, parent, {
        values: {
          parent_reference: parent ?? '',
          status: 'not_started',
          progress_percent: '0',
          weight: '1',
        },
      });
    },
  );

  app.post<PlanParams>(
    '/green-plans/:planId/actions',
    organisationEditor,
    async (request, reply) => {
      const fields = formFields(request, actionFormFields);
      const { submissionKey } = formFields(request, ['submissionKey']);
      // Permission first, so that a refusal is never hidden behind a form error.
      await plans.getNewActionForm(
        request.actor,
        request.params.planId,
        fields.parent_reference || undefined,
      );
      try {
        const id = await plans.createAction(
          request.actor,
          request.params.planId,
          fields,
          requestContextOf(request),
          { submissionKey },
        );
        return reply.redirect(`/green-plans/${request.params.planId}/actions/${id}`, 303);
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderActionForm(
          request,
          reply,
          fields.parent_reference || undefined,
          {
            values: { ...fields, submissionKey },
            ...formErrorContext(error.fieldErrors, actionFormFields),
          },
          400,
        );
      }
    },
  );

  app.get<ActionParams>(
    '/green-plans/:planId/actions/:actionId',
    publicRoute,
    async (request, reply) => {
      const detail = await plans.getAction(
        request.actor,
        request.params.planId,
        checkId(request.params.actionId),
      );
      return reply.render('green-plans/views/action.njk', {
        ...common,
        ...detail,
        ...(await commentsContext(request, detail.action.id)),
        kpiCharts: detail.kpis.map((kpi, index) => ({
          kpi,
          chart: trajectoryChart(`kpi-${index}`, kpi),
        })),
        pageTitle: `${detail.action.reference} ${detail.action.title}`,
        breadcrumbs: [
          ...plansCrumbs(detail.plan),
          {
            href: `/green-plans/${detail.plan.id}/areas/${detail.action.areaSlug}`,
            text: detail.action.areaName,
          },
        ],
        values: {},
      });
    },
  );

  async function renderActionEdit(
    request: FastifyRequest<ActionParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
    changedSince?: number | null,
  ) {
    const form = await plans.getActionForChange(
      request.actor,
      request.params.planId,
      checkId(request.params.actionId),
      { changedSince },
    );
    return reply.code(status).render('green-plans/views/action-form.njk', {
      ...common,
      ...form,
      isNew: false,
      columns: importColumns,
      breadcrumbs: [
        ...plansCrumbs(form.plan),
        {
          href: `/green-plans/${form.plan.id}/actions/${form.action.id}`,
          text: form.action.reference,
        },
      ],
      ...extra,
    });
  }

  app.get<ActionParams>(
    '/green-plans/:planId/actions/:actionId/edit',
    organisationEditor,
    async (request, reply) => renderActionEdit(request, reply, {}),
  );

  app.post<ActionParams>(
    '/green-plans/:planId/actions/:actionId/edit',
    organisationEditor,
    async (request, reply) => {
      const actionId = checkId(request.params.actionId);
      await plans.assertCanChangeAction(request.actor, request.params.planId, actionId);
      const { opened, ...fields } = formFields(request, [...actionFormFields, 'opened']);
      try {
        await plans.updateAction(
          request.actor,
          request.params.planId,
          actionId,
          { ...fields, opened },
          requestContextOf(request),
        );
        return reply.redirect(`/green-plans/${request.params.planId}/actions/${actionId}`, 303);
      } catch (error) {
        if (error instanceof ActionEditConflict) {
          // The form again: what was entered, with others' changes to the fields it left alone,
          // each field both changed marked, the changes made since it was opened, and the action
          // as it is now to merge against, so that saved again it applies what is on it.
          return renderActionEdit(
            request,
            reply,
            {
              values: error.values,
              // Still merged against what it was opened with, when that is known to be right.
              ...(error.kind === 'kept-moving' ? { opened } : {}),
              ...editConflictContext('action', error, actionFieldFormLabels, actionFormFields),
            },
            409,
            error.lastChangeId,
          );
        }
        if (!(error instanceof ValidationFailed)) throw error;
        // The form as sent, with the values it was opened with, so that a change made meanwhile
        // is still merged (or found) when it is sent again.
        return renderActionEdit(
          request,
          reply,
          { values: fields, opened, ...formErrorContext(error.fieldErrors, actionFormFields) },
          400,
        );
      }
    },
  );

  app.get<ActionParams>(
    '/green-plans/:planId/actions/:actionId/delete',
    organisationEditor,
    async (request, reply) => {
      const deletion = await plans.getActionForDeletion(
        request.actor,
        request.params.planId,
        checkId(request.params.actionId),
      );
      return reply.render('green-plans/views/action-delete.njk', {
        ...deletion,
        breadcrumbs: actionDeletionCrumbs(deletion),
      });
    },
  );

  app.post<ActionParams>(
    '/green-plans/:planId/actions/:actionId/delete',
    organisationEditor,
    async (request, reply) => {
      const actionId = checkId(request.params.actionId);
      const showAgain = async (message: string) => {
        const deletion = await plans.getActionForDeletion(
          request.actor,
          request.params.planId,
          actionId,
        );
        const field = deletion.subActionReferences.length > 0 ? 'sub-actions' : 'what-goes';
        return reply.code(409).render('green-plans/views/action-delete.njk', {
          ...deletion,
          breadcrumbs: actionDeletionCrumbs(deletion),
          ...formErrorContext({ [field]: message }),
        });
      };
      await plans.assertCanDeleteAction(request.actor, request.params.planId, actionId);
      const shown = decodeDeletionCounts(formFields(request, ['shown']).shown);
      // A form without the counts its page showed (an old page, a hand-made request).
      if (!shown) return showAgain('Check what will be deleted with the action, then delete it');
      try {
        const deleted = await plans.deleteAction(
          request.actor,
          request.params.planId,
          actionId,
          requestContextOf(request),
          shown,
        );
        if (deleted.bytesLeft.length > 0) {
          request.log.warn(
            { storageKeys: deleted.bytesLeft },
            'a deleted action left stored files behind; remove them from the file store',
          );
        }
        return reply.redirect(`/green-plans/${request.params.planId}?actionDeleted=1`, 303);
      } catch (error) {
        // A sub-action was added after the page was opened: the page again, saying so.
        if (error instanceof ActionHasSubActions) return showAgain(error.message);
        // Something was added to or taken from what goes with it: the page again, counted anew.
        if (error instanceof ActionDeletionChanged)
          return showAgain(
            `Since you opened this page, what will be deleted with the action has changed (${describeDeletionChange(error.shown, error.now)}). Check it, then delete the action`,
          );
        throw error;
      }
    },
  );

  /**
   * The counts a deletion page showed, as its form carries them
   * (`updates-files-milestones-links-comments`).
   */
  function decodeDeletionCounts(text: string): ActionDeletionCounts | undefined {
    if (!/^\d{1,9}(-\d{1,9}){4}$/.test(text)) return undefined;
    const [updates, evidenceFiles, milestones, kpiLinks, comments] = text
      .split('-')
      .map(Number) as [number, number, number, number, number];
    return { updates, evidenceFiles, milestones, kpiLinks, comments };
  }

  function describeDeletionChange(shown: ActionDeletionCounts, now: ActionDeletionCounts) {
    const names: Record<keyof ActionDeletionCounts, [string, string]> = {
      updates: ['progress update', 'progress updates'],
      evidenceFiles: ['evidence file', 'evidence files'],
      milestones: ['milestone', 'milestones'],
      kpiLinks: ['link to a KPI', 'links to KPIs'],
      comments: ['comment', 'comments'],
    };
    return (Object.keys(names) as (keyof ActionDeletionCounts)[])
      .filter((key) => shown[key] !== now[key])
      .map((key) => `${now[key]} ${names[key][now[key] === 1 ? 0 : 1]}, not ${shown[key]}`)
      .join('; ');
  }

  function actionDeletionCrumbs(deletion: {
    plan: { id: string; title: string };
    action: { id: string; reference: string };
  }) {
    return [
      ...plansCrumbs(deletion.plan),
      {
        href: `/green-plans/${deletion.plan.id}/actions/${deletion.action.id}`,
        text: deletion.action.reference,
      },
    ];
  }

  async function renderUpdateForm(
    request: FastifyRequest<ActionParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const form = await plans.getActionForChange(
      request.actor,
      request.params.planId,
      checkId(request.params.actionId),
    );
    return reply.code(status).render('green-plans/views/update-form.njk', {
      ...common,
      ...form,
      today: ukCalendarDate(new Date()),
      breadcrumbs: [
        ...plansCrumbs(form.plan),
        {
          href: `/green-plans/${form.plan.id}/actions/${form.action.id}`,
          text: form.action.reference,
        },
      ],
      ...extra,
    });
  }

  app.get<ActionParams>(
    '/green-plans/:planId/actions/:actionId/updates/new',
    organisationEditor,
    async (request, reply) => renderUpdateForm(request, reply, { values: {} }),
  );

  app.post<ActionParams>(
    '/green-plans/:planId/actions/:actionId/updates',
    organisationEditor,
    async (request, reply) => {
      const { planId } = request.params;
      const actionId = checkId(request.params.actionId);
      // Refuse before reading a single byte of any file.
      await plans.assertCanChangeAction(request.actor, planId, actionId);
      const {
        fields,
        uploads,
        problem: uploadError,
      } = await receiveFormWithUploads(request, services.files, {
        purpose: 'evidence',
        maxFiles: 5,
        tooManyMessage: 'Add at most 5 files to one update',
      });
      const input: UpdateInput = {
        updateDate: fields.updateDate ?? '',
        narrative: fields.narrative ?? '',
        status: fields.status ?? '',
        progressPercent: fields.progressPercent ?? '',
        links: fields.links ?? '',
      };
      try {
        if (uploadError) throw new ValidationFailed({ evidence: uploadError });
        await plans.postUpdate(
          request.actor,
          planId,
          actionId,
          input,
          uploads,
          requestContextOf(request),
        );
      } catch (error) {
        await Promise.all(uploads.map((upload) => services.files.discardUpload(upload)));
        if (!(error instanceof ValidationFailed)) throw error;
        return renderUpdateForm(
          request,
          reply,
          {
            values: input,
            ...formErrorContext(error.fieldErrors, [
              'updateDate',
              'status',
              'progressPercent',
              'narrative',
              'evidence',
              'links',
            ]),
          },
          400,
        );
      }
      return reply.redirect(`/green-plans/${planId}/actions/${actionId}?updated=1`, 303);
    },
  );

  /** The action's comments, on the shared discussion machinery. */
  async function commentsContext(request: FastifyRequest, actionId: string) {
    const comments = await services.discussions.commentsFor(request.actor, 'plan_action', actionId);
    const query = (request.query ?? {}) as Record<string, unknown>;
    return {
      comments,
      quoted:
        typeof query.quote === 'string'
          ? comments.posts.find((post) => post.id === query.quote && !post.hidden)
          : undefined,
      ...commentPostedNotice(query.done),
    };
  }

  async function renderActionWithErrors(
    request: FastifyRequest<ActionParams>,
    reply: FastifyReply,
    error: ValidationFailed,
    values: Record<string, string>,
  ) {
    const detail = await plans.getAction(
      request.actor,
      request.params.planId,
      checkId(request.params.actionId),
    );
    return reply.code(400).render('green-plans/views/action.njk', {
      ...common,
      ...detail,
      ...(await commentsContext(request, detail.action.id)),
      kpiCharts: detail.kpis.map((kpi, index) => ({
        kpi,
        chart: trajectoryChart(`kpi-${index}`, kpi),
      })),
      pageTitle: `${detail.action.reference} ${detail.action.title}`,
      breadcrumbs: plansCrumbs(detail.plan),
      values,
      ...formErrorContext(error.fieldErrors),
    });
  }

  app.post<ActionParams>(
    '/green-plans/:planId/actions/:actionId/milestones',
    organisationEditor,
    async (request, reply) => {
      const actionId = checkId(request.params.actionId);
      await plans.assertCanChangeAction(request.actor, request.params.planId, actionId);
      const fields = formFields(request, ['milestoneTitle', 'milestoneDueDate']);
      try {
        await plans.addMilestone(
          request.actor,
          request.params.planId,
          actionId,
          { title: fields.milestoneTitle, dueDate: fields.milestoneDueDate },
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderActionWithErrors(request, reply, error, fields);
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}/actions/${actionId}#milestones`,
        303,
      );
    },
  );

  app.post<MilestoneParams>(
    '/green-plans/:planId/actions/:actionId/milestones/:milestoneId/done',
    organisationEditor,
    async (request, reply) => {
      const actionId = checkId(request.params.actionId);
      await plans.assertCanChangeAction(request.actor, request.params.planId, actionId);
      const fields = formFields(request, ['doneOn']);
      try {
        await plans.completeMilestone(
          request.actor,
          request.params.planId,
          actionId,
          checkId(request.params.milestoneId),
          fields,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderActionWithErrors(request, reply, error, fields);
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}/actions/${actionId}#milestones`,
        303,
      );
    },
  );

  app.post<ActionParams>(
    '/green-plans/:planId/actions/:actionId/comments',
    organisationMember,
    async (request, reply) => {
      const actionId = checkId(request.params.actionId);
      // An action deleted before (or while) the comment is sent is said to be gone, as its page
      // says, rather than not found.
      await plans.assertCanReadAction(request.actor, request.params.planId, actionId);
      const fields = formFields(request, ['body', 'quotedPostId', 'submissionKey']);
      try {
        const posted = await services.discussions.reply(
          request.actor,
          { subject: 'plan_action', id: actionId },
          {
            body: fields.body,
            quotedPostId: fields.quotedPostId || undefined,
            submissionKey: fields.submissionKey,
          },
          requestContextOf(request),
        );
        return reply.redirect(posted.link.replace('#', `?done=${postedDone(posted)}#`), 303);
      } catch (error) {
        if (error instanceof NotFoundError) {
          await plans.assertCanReadAction(request.actor, request.params.planId, actionId);
        }
        if (!(error instanceof ValidationFailed)) throw error;
        return renderActionWithErrors(request, reply, error, fields);
      }
    },
  );

  app.get<FileParams>(
    '/green-plans/:planId/evidence/:fileId',
    publicRoute,
    async (request, reply) => {
      const file = await plans.findEvidenceFile(
        request.actor,
        request.params.planId,
        request.params.fileId,
      );
      return services.files.sendFile(request, reply, file);
    },
  );

  // --- KPIs ---

  async function renderKpiForm(
    request: FastifyRequest<PlanParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const plan = await plans.assertCanEditPlan(request.actor, request.params.planId);
    return reply.code(status).render('green-plans/views/kpi-form.njk', {
      plan,
      breadcrumbs: plansCrumbs(plan),
      values: { direction: 'decrease' },
      ...extra,
    });
  }

  app.get<PlanParams>('/green-plans/:planId/kpis/new', organisationEditor, async (request, reply) =>
    renderKpiForm(request, reply, {}),
  );

  app.post<PlanParams>('/green-plans/:planId/kpis', organisationEditor, async (request, reply) => {
    await plans.assertCanEditPlan(request.actor, request.params.planId);
    const names = kpiFormFields;
    const fields = formFields(request, names);
    try {
      const id = await plans.createKpi(
        request.actor,
        request.params.planId,
        fields,
        requestContextOf(request),
      );
      return reply.redirect(`/green-plans/${request.params.planId}/kpis/${id}`, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderKpiForm(
        request,
        reply,
        { values: fields, ...formErrorContext(error.fieldErrors, names) },
        400,
      );
    }
  });

  async function renderKpi(
    request: FastifyRequest<KpiParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const detail = await plans.getKpi(
      request.actor,
      request.params.planId,
      checkId(request.params.kpiId),
    );
    return reply.code(status).render('green-plans/views/kpi.njk', {
      ...common,
      ...detail,
      chart: trajectoryChart('trajectory', detail.kpi),
      pageTitle: detail.kpi.name,
      breadcrumbs: plansCrumbs(detail.plan),
      values: {},
      ...extra,
    });
  }

  async function renderKpiChange(
    request: FastifyRequest<KpiParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const form = await plans.getKpiForChange(
      request.actor,
      request.params.planId,
      checkId(request.params.kpiId),
    );
    return reply.code(status).render('green-plans/views/kpi-form.njk', {
      ...form,
      isNew: false,
      breadcrumbs: [
        ...plansCrumbs(form.plan),
        { href: `/green-plans/${form.plan.id}/kpis/${form.kpi.id}`, text: form.kpi.name },
      ],
      ...extra,
    });
  }

  app.get<KpiParams>(
    '/green-plans/:planId/kpis/:kpiId/edit',
    organisationEditor,
    async (request, reply) => renderKpiChange(request, reply, {}),
  );

  app.post<KpiParams>(
    '/green-plans/:planId/kpis/:kpiId/edit',
    organisationEditor,
    async (request, reply) => {
      await plans.assertCanEditPlan(request.actor, request.params.planId);
      const kpiId = checkId(request.params.kpiId);
      const { opened, ...fields } = formFields(request, [...kpiFormFields, 'opened']);
      try {
        await plans.updateKpi(
          request.actor,
          request.params.planId,
          kpiId,
          { ...fields, opened },
          requestContextOf(request),
        );
      } catch (error) {
        if (error instanceof KpiEditConflict) {
          // As for an action's form: what was entered, what changed since, and the KPI now.
          return renderKpiChange(
            request,
            reply,
            {
              values: error.values,
              changesSinceOpened: error.changes,
              ...(error.kind === 'kept-moving' ? { opened } : {}),
              ...editConflictContext('KPI', error, kpiFieldLabels, kpiFormFields),
            },
            409,
          );
        }
        if (!(error instanceof ValidationFailed)) throw error;
        return renderKpiChange(
          request,
          reply,
          { values: fields, opened, ...formErrorContext(error.fieldErrors, kpiFormFields) },
          400,
        );
      }
      return reply.redirect(`/green-plans/${request.params.planId}/kpis/${kpiId}`, 303);
    },
  );

  app.get<PlanParams>('/green-plans/:planId/kpis.csv', publicRoute, async (request, reply) => {
    const { plan, csv } = await plans.exportKpiDefinitions(request.actor, request.params.planId);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${plan.slug}-kpis.csv"`)
      .send(csv);
  });

  async function renderKpiImport(
    request: FastifyRequest<PlanParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const plan = await plans.assertCanEditPlan(request.actor, request.params.planId);
    return reply.code(status).render('green-plans/views/kpi-import.njk', {
      plan,
      pageTitle: `Import KPIs – ${plan.title}`,
      breadcrumbs: plansCrumbs(plan),
      ...extra,
    });
  }

  app.get<PlanParams>(
    '/green-plans/:planId/kpis/import',
    organisationEditor,
    async (request, reply) => renderKpiImport(request, reply, {}),
  );

  app.post<PlanParams>(
    '/green-plans/:planId/kpis/import',
    organisationEditor,
    async (request, reply) => {
      await plans.assertCanEditPlan(request.actor, request.params.planId);
      const { upload, refusal } = await receiveOneUpload(request, services.files, 'spreadsheet');
      if (!upload) {
        return renderKpiImport(
          request,
          reply,
          formErrorContext({
            kpisFile: refusal ?? 'Select a CSV file or an Excel workbook (.xlsx) of KPIs',
          }),
          400,
        );
      }
      const result = await plans.importKpiDefinitions(
        request.actor,
        request.params.planId,
        upload,
        requestContextOf(request),
      );
      if (!result.ok) {
        return renderKpiImport(
          request,
          reply,
          fileProblemsContext(result.problems, 'kpisFile', 'nothing was imported'),
          400,
        );
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}?kpisImported=${result.created}-${result.changed}-${result.unchanged}`,
        303,
      );
    },
  );

  // --- progress updates from a file ---

  async function renderUpdatesImport(
    request: FastifyRequest<PlanParams>,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) {
    const { plan, actions } = await plans.getUpdatableActions(request.actor, request.params.planId);
    return reply.code(status).render('green-plans/views/updates-import.njk', {
      plan,
      actionCount: actions.length,
      statusLabels: actionStatuses.map((key) => actionStatusLabels[key]),
      pageTitle: `Post progress updates from a spreadsheet – ${plan.title}`,
      breadcrumbs: plansCrumbs(plan),
      ...extra,
    });
  }

  app.get<PlanParams>(
    '/green-plans/:planId/updates/import',
    organisationEditor,
    async (request, reply) => renderUpdatesImport(request, reply, {}),
  );

  app.get<PlanParams>(
    '/green-plans/:planId/updates.csv',
    organisationEditor,
    async (request, reply) => {
      const { plan, csv } = await plans.updatesSheet(request.actor, request.params.planId);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${plan.slug}-updates.csv"`)
        .send(csv);
    },
  );

  app.post<PlanParams>(
    '/green-plans/:planId/updates/import',
    organisationEditor,
    async (request, reply) => {
      await plans.getUpdatableActions(request.actor, request.params.planId);
      const { upload, refusal } = await receiveOneUpload(request, services.files, 'spreadsheet');
      if (!upload) {
        return renderUpdatesImport(
          request,
          reply,
          formErrorContext({
            updatesFile: refusal ?? 'Select a CSV file or an Excel workbook (.xlsx) of updates',
          }),
          400,
        );
      }
      const result = await plans.importUpdates(
        request.actor,
        request.params.planId,
        upload,
        requestContextOf(request),
      );
      if (!result.ok) {
        return renderUpdatesImport(
          request,
          reply,
          fileProblemsContext(result.problems, 'updatesFile', 'no update was posted'),
          400,
        );
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}?updatesImported=${result.created}-${result.unchanged}-${result.blank}`,
        303,
      );
    },
  );

  app.get<KpiParams>('/green-plans/:planId/kpis/:kpiId', publicRoute, async (request, reply) => {
    const counts = importCountsIn((request.query as Record<string, unknown>).imported);
    return renderKpi(request, reply, {
      importNotice: counts
        ? `Values imported: ${counts[1]} new, ${counts[2]} changed, ${counts[3]} already recorded.`
        : undefined,
    });
  });

  app.post<KpiParams>(
    '/green-plans/:planId/kpis/:kpiId/data-points',
    organisationEditor,
    async (request, reply) => {
      await plans.assertCanEditPlan(request.actor, request.params.planId);
      const fields = formFields(request, ['observedOn', 'value', 'note']);
      try {
        await plans.recordDataPoint(
          request.actor,
          request.params.planId,
          checkId(request.params.kpiId),
          fields,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderKpi(
          request,
          reply,
          {
            values: fields,
            ...formErrorContext(error.fieldErrors, ['observedOn', 'value', 'note']),
          },
          400,
        );
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}/kpis/${request.params.kpiId}`,
        303,
      );
    },
  );

  app.post<KpiParams>(
    '/green-plans/:planId/kpis/:kpiId/values',
    organisationEditor,
    async (request, reply) => {
      await plans.assertCanEditPlan(request.actor, request.params.planId);
      const kpiId = checkId(request.params.kpiId);
      const { upload, refusal } = await receiveOneUpload(request, services.files, 'spreadsheet');
      if (!upload) {
        return renderKpi(
          request,
          reply,
          formErrorContext({
            valuesFile: refusal ?? 'Select a CSV file or an Excel workbook (.xlsx) of values',
          }),
          400,
        );
      }
      const result = await plans.importDataPoints(
        request.actor,
        request.params.planId,
        kpiId,
        upload,
        requestContextOf(request),
      );
      if (!result.ok) {
        return renderKpi(
          request,
          reply,
          fileProblemsContext(result.problems, 'valuesFile', 'nothing was recorded'),
          400,
        );
      }
      return reply.redirect(
        `/green-plans/${request.params.planId}/kpis/${kpiId}?imported=${result.created}-${result.changed}-${result.unchanged}`,
        303,
      );
    },
  );

  app.get<KpiParams>(
    '/green-plans/:planId/kpis/:kpiId/values.csv',
    publicRoute,
    async (request, reply) => {
      const { fileName, csv } = await plans.exportDataPoints(
        request.actor,
        request.params.planId,
        checkId(request.params.kpiId),
      );
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', contentDisposition('attachment', fileName))
        .send(csv);
    },
  );

  // Linking and unlinking an action: the same form, a different field and service call.
  for (const { path, field, operation } of [
    { path: 'actions', field: 'action', operation: 'linkKpiToAction' },
    { path: 'actions/unlink', field: 'unlink', operation: 'unlinkKpiFromAction' },
  ] as const) {
    app.post<KpiParams>(
      `/green-plans/:planId/kpis/:kpiId/${path}`,
      organisationEditor,
      async (request, reply) => {
        await plans.assertCanEditPlan(request.actor, request.params.planId);
        const fields = formFields(request, [field]);
        try {
          await plans[operation](
            request.actor,
            request.params.planId,
            checkId(request.params.kpiId),
            fields[field],
            requestContextOf(request),
          );
        } catch (error) {
          if (!(error instanceof ValidationFailed)) throw error;
          return renderKpi(request, reply, formErrorContext(error.fieldErrors), 400);
        }
        return reply.redirect(
          `/green-plans/${request.params.planId}/kpis/${request.params.kpiId}`,
          303,
        );
      },
    );
  }

  // --- import and export ---

  app.get<PlanParams>('/green-plans/:planId/import', organisationEditor, async (request, reply) => {
    const plan = await plans.assertCanEditPlan(request.actor, request.params.planId);
    return reply.render('green-plans/views/import.njk', {
      plan,
      columns: importColumns,
      breadcrumbs: plansCrumbs(plan),
    });
  });

  app.post<PlanParams>(
    '/green-plans/:planId/import',
    organisationEditor,
    async (request, reply) => {
      const plan = await plans.assertCanEditPlan(request.actor, request.params.planId);
      const { upload, refusal } = await receiveOneUpload(request, services.files, 'spreadsheet');
      if (!upload) {
        return reply.code(400).render('green-plans/views/import.njk', {
          plan,
          columns: importColumns,
          breadcrumbs: plansCrumbs(plan),
          ...formErrorContext({
            file: refusal ?? 'Select a CSV file or an Excel workbook (.xlsx)',
          }),
        });
      }
      const preview = await plans.previewImport(
        request.actor,
        plan.id,
        upload,
        requestContextOf(request),
      );
      return reply
        .code(preview.problems.length > 0 ? 400 : 200)
        .render('green-plans/views/import-preview.njk', {
          ...preview,
          breadcrumbs: plansCrumbs(plan),
        });
    },
  );

  app.post<PlanParams>(
    '/green-plans/:planId/import/commit',
    organisationEditor,
    async (request, reply) => {
      const plan = await plans.assertCanEditPlan(request.actor, request.params.planId);
      const fields = formFields(request, ['importId']);
      try {
        const summary = await plans.commitImport(
          request.actor,
          plan.id,
          fields.importId,
          requestContextOf(request),
        );
        return reply.redirect(
          `/green-plans/${plan.id}?imported=${summary.created}-${summary.changed}-${summary.unchanged}`,
          303,
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return reply.code(400).render('green-plans/views/import.njk', {
          plan,
          columns: importColumns,
          breadcrumbs: plansCrumbs(plan),
          ...formErrorContext({ file: Object.values(error.fieldErrors)[0]! }),
        });
      }
    },
  );

  app.get<PlanParams>(
    '/green-plans/:planId/export.csv',
    organisationEditor,
    async (request, reply) => {
      const { plan, actions } = await plans.exportPlan(request.actor, request.params.planId);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${plan.slug}-actions.csv"`)
        .send(exportCsv(actions));
    },
  );

  app.get<PlanParams>(
    '/green-plans/:planId/export.xlsx',
    organisationEditor,
    async (request, reply) => {
      const { plan, actions } = await plans.exportPlan(request.actor, request.params.planId);
      return reply
        .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .header('content-disposition', `attachment; filename="${plan.slug}-actions.xlsx"`)
        .send(await exportXlsx(actions, plan.title));
    },
  );

  // --- board report ---

  async function loadReport(request: FastifyRequest<PlanParams>) {
    const { quarter: key } = parseQuery(quarterSchema, request.query);
    const data = await plans.loadReportData(request.actor, request.params.planId);
    const today = ukCalendarDate(new Date());
    const lastDay = data.plan.periodEnd < today ? data.plan.periodEnd : today;
    const quarters = quartersBetween(
      data.plan.periodStart,
      lastDay < data.plan.periodStart ? data.plan.periodStart : lastDay,
    ).reverse();
    const quarter = key ? parseQuarterKey(key) : (quarters[0] ?? quarterOf(today));
    if (!quarter)
      throw new BadRequestError([
        `The "quarter" parameter must be a financial-year quarter such as ${quarters[0]?.key ?? '2024-25-q1'} (the address has "${key}").`,
      ]);
    const report = buildBoardReport(
      {
        plan: data.plan,
        areas: data.areas,
        actions: data.state.actions,
        changes: data.changes,
        updates: data.updates,
        kpis: data.kpis,
      },
      quarter,
    );
    return { data, report, quarters, today };
  }

  app.get<PlanParams>('/green-plans/:planId/board-report', publicRoute, async (request, reply) => {
    const { data, report, quarters } = await loadReport(request);
    const statusCounts = report.ragCounts.map((item) => ({ label: item.label, count: item.count }));
    return reply.render('green-plans/views/board-report.njk', {
      ...common,
      plan: data.plan,
      report,
      quarterOptions: quarters.map((quarter) => ({
        value: quarter.key,
        text: quarter.label,
        selected: quarter.key === report.quarter.key,
      })),
      areaChart: progressByAreaChart('report-area-progress', report.areas),
      statusChart: statusCountChart('report-status-counts', statusCounts),
      kpiCharts: data.kpis.map((kpi, index) => ({
        kpi,
        chart: trajectoryChart(`report-kpi-${index}`, {
          ...kpi,
          dataPoints: kpi.dataPoints.filter((point) => point.date <= report.quarter.end),
        }),
      })),
      pageTitle: `Board report ${report.quarter.label}: ${data.plan.title}`,
      breadcrumbs: plansCrumbs(data.plan),
    });
  });

  app.get<PlanParams>(
    '/green-plans/:planId/board-report.pdf',
    publicRoute,
    async (request, reply) => {
      const { data, report, today } = await loadReport(request);
      const pdf = await renderBoardReportPdf(report, data.plan, today);
      return reply
        .type('application/pdf')
        .header(
          'content-disposition',
          `attachment; filename="${data.plan.slug}-board-report-${report.quarter.key}.pdf"`,
        )
        .send(pdf);
    },
  );
}
