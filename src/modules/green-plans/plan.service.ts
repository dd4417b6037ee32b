import { ukCalendarDate } from '../../lib/uk-time.ts';
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { GoneError, NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import { can, ForbiddenError, type Actor, type OrganisationResource } from '../access/policy.ts';
import type { AccountService } from '../accounts/account.service.ts';
import type { FormSubmissionService } from '../security/form-submission.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import type { FileService, PendingUpload } from '../files/file.service.ts';
import type { MembershipService } from '../memberships/membership.service.ts';
import type { OrganisationService } from '../organisations/organisation.service.ts';
import {
  actionFieldsEqual,
  describeDifferences,
  editFormHistoryFields,
  fieldLabels,
  formatMilestones,
  importColumnNames,
  parentsFirst,
  planImportChanges,
  readSpreadsheet,
  readSpreadsheetTable,
  splitCodes,
  statusFromText,
  sortMilestones,
  SpreadsheetRefused,
  validateImportRows,
  type ExistingAction,
  type ImportColumn,
  type ImportProblem,
  type ImportedAction,
  type RawRow,
} from './plan-import.ts';
import { changedFrom, decodeOpenedForm, encodeOpenedForm, mergeEdit } from './edit-merge.ts';
import {
  kpiDefinitionsCsv,
  readKpiDefinitionTable,
  type KpiDefinitionColumn,
  type KpiDefinitionProblem,
} from './kpi-definitions-file.ts';
import type { ExportAction } from './plan-export.ts';
import {
  kpiValuesCsv,
  MAX_KPI_NOTE,
  parseDecimal,
  readKpiValueTable,
  type KpiValueProblem,
} from './kpi-values-file.ts';
import {
  readUpdateTable,
  updatesSheetCsv,
  type UpdateFileColumn,
  type UpdateFileProblem,
  type UpdateFileRow,
} from './update-file.ts';
import type { ActionListRow, GreenPlanRepository, PlanListRow } from './plan.repository.ts';
import {
  actionStatusLabels,
  actionStatuses,
  addDays,
  countByStatus,
  expectedValueOn,
  isActionOverdue,
  isActionStatus,
  isIsoDate,
  isMilestoneOverdue,
  overallProgress,
  quarterOf,
  rollUpProgress,
  trajectoryPath,
  trajectoryStanding,
  type ActionStatus,
  type FieldChange,
  type TrajectoryPoint,
} from './progress.calculations.ts';

/** Organisation types that may own a plan: an ICB (for its ICS) or an NHS trust. */
export const planOwnerTypes = ['icb', 'nhs_trust'] as const;
export const planStatuses = ['draft', 'published'] as const;
export type PlanStatus = (typeof planStatuses)[number];

export const MAX_EVIDENCE_FILES = 5;
export const MAX_LINKS = 5;

export interface GreenPlanServiceDependencies {
  repository: GreenPlanRepository;
  organisations: OrganisationService;
  accounts: AccountService;
  memberships: MembershipService;
  files: FileService;
  audit: AuditService;
  /** One-time keys of the forms that create a plan or an action, so that one sent twice creates one. */
  formSubmissions: FormSubmissionService;
  /**
   * Removes, in the deleting transaction, what other modules hold about a plan being deleted: the
   * comments on its actions and the notifications that lead to it.
   */
  onPlanDeleted?: (
    trx: Transaction<Database>,
    deleted: { planId: string; actionIds: readonly string[] },
  ) => Promise<void>;
  /** How many comments an action has, for its deletion page to count (none when not given). */
  countActionComments?: (
    executor: Kysely<Database> | Transaction<Database>,
    actionId: string,
  ) => Promise<number>;
  /** The same for one action being deleted: its comments, and notifications that lead to it. */
  onActionDeleted?: (
    trx: Transaction<Database>,
    deleted: { planId: string; actionId: string },
  ) => Promise<void>;
  now?: () => Date;
}

/** A published plan is public: it goes back to draft, knowingly, before it can be deleted. */
export class PlanStillPublished extends Error {
  override name = 'PlanStillPublished';
  constructor() {
    super('Change the plan to a draft before you delete it');
  }
}

/** The fields of an action's edit form: all but the milestones, which have their own form. */
export const actionEditFields = importColumnNames.filter(
  (column): column is Exclude<ImportColumn, 'milestones'> => column !== 'milestones',
);
export type ActionEditField = (typeof actionEditFields)[number];

/**
 * Why an edit form's save stopped:
 * - `clash`: someone else changed fields it also changed, to something else (`clashes`);
 * - `no-basis`: it came without opened values that can be read, so what others changed is not
 *   known; `clashes` are the fields it would change from their values now, to be checked;
 * - `kept-moving`: other changes to the plan kept arriving while it was merged (three tries);
 *   the form keeps the values it was opened with, so that sent again it is merged again.
 */
export type EditConflictKind = 'clash' | 'no-basis' | 'kept-moving';

/**
 * An action's edit form was saved after someone else had changed a field it also changed, to
 * something else (see `mergeEdit`), or without the values it was opened with. Nothing is saved; the
 * form is shown again to be decided on, and saved again knowingly.
 */
export class ActionEditConflict extends Error {
  override name = 'ActionEditConflict';
  constructor(
    /** The fields both changed; empty when the form's opened values could not be read. */
    readonly clashes: readonly ActionEditField[],
    /** What the form shows again: what was entered, with others' changes to fields it left alone. */
    readonly values: Partial<Record<ActionEditField, string>>,
    /** The action's last history entry when the form was opened; null when not known. */
    readonly lastChangeId: number | null,
    readonly kind: EditConflictKind = 'clash',
  ) {
    super('Someone else changed this action after you opened the form');
  }
}

/** An action with sub-actions is not deleted: they would lose their place in the plan. */
export class ActionHasSubActions extends Error {
  override name = 'ActionHasSubActions';
  constructor(readonly subActionReferences: readonly string[]) {
    super(
      `Delete or move its sub-action${subActionReferences.length === 1 ? '' : 's'} first: ${subActionReferences.join(', ')}`,
    );
  }
}

/** What deleting an action takes with it, as its confirmation page counts it. */
export interface ActionDeletionCounts {
  updates: number;
  evidenceFiles: number;
  milestones: number;
  kpiLinks: number;
  comments: number;
}

/**
 * What deleting an action would take with it changed after its confirmation page was opened (an
 * update posted, a milestone added): nothing is deleted, and the page is shown again to confirm.
 */
export class ActionDeletionChanged extends Error {
  override name = 'ActionDeletionChanged';
  constructor(
    readonly shown: ActionDeletionCounts,
    readonly now: ActionDeletionCounts,
  ) {
    super('What would be deleted with the action has changed since the page was opened');
  }
}

/**
 * A KPI's form was saved after someone else (on its form, or by a KPI import) had changed a field
 * it also changed, to something else, or without the values it was opened with: as with an
 * action's form, nothing is saved and the form is shown again, merged, with what changed since.
 */
export class KpiEditConflict extends Error {
  override name = 'KpiEditConflict';
  constructor(
    /** The fields both changed; empty when the form's opened values could not be read. */
    readonly clashes: readonly (keyof KpiInput)[],
    /** What the form shows again: what was entered, with others' changes to fields it left alone. */
    readonly values: KpiInput,
    /** Each field changed since the form was opened, from what it showed to what it is now. */
    readonly changes: readonly { label: string; from: string; to: string }[],
    readonly kind: EditConflictKind = 'clash',
  ) {
    super('Someone else changed this KPI after you opened the form');
  }
}

/** The plan moved between an edit's checks and its write; the edit is checked again. */
class PlanMovedDuringEdit extends Error {
  override name = 'PlanMovedDuringEdit';
}

/** A progress update as the form's rules leave it. */
interface CheckedUpdate {
  updateDate: string;
  narrative: string;
  status: ActionStatus;
  progress: number;
  links: { url: string; title: string }[];
}

/** KPI and progress update imports name the file they kept only in their audit record. */
const kpiImportAuditActions = {
  plan: ['green_plan.kpis_imported', 'green_plan.updates_imported'],
  kpi: ['green_plan.kpi_values_imported'],
} as const;

/** Who is acting: a signed-in person, or the system itself (seeds). */
type Performer = { actor: Actor; userId: string } | { actor: null; userId: null; system: true };

export interface PlanFormInput {
  title: string;
  description: string;
  ownerOrganisationCode: string;
  periodStart: string;
  periodEnd: string;
  status: string;
}

export type ActionFormInput = Partial<Record<ImportColumn, string>>;

/**
 * The edit form's fields, with the values it showed when it was opened (`encodeOpenedForm`). Without
 * them (a caller other than the form) a save is not merged: every field given is saved as given.
 */
export type ActionEditInput = ActionFormInput & { opened?: string };

/** The KPI form's fields, as the columns of a KPI definitions file name them. */
const kpiColumnOfField: Record<string, KpiDefinitionColumn> = {
  reference: 'reference',
  name: 'name',
  description: 'description',
  unit: 'unit',
  direction: 'direction',
  baselineValue: 'baseline_value',
  baselineDate: 'baseline_date',
  targets: 'targets',
};

export interface UpdateInput {
  updateDate: string;
  narrative: string;
  status: string;
  progressPercent: string;
  /** One link a line: "Title | https://…" or just the address. */
  links: string;
}

export interface KpiInput {
  reference: string;
  name: string;
  description: string;
  unit: string;
  direction: string;
  baselineValue: string;
  baselineDate: string;
  /** One target a line: "YYYY-MM-DD value" and an optional label after the value. */
  targets: string;
}

/** The KPI form's fields, with the values it showed when it was opened (`encodeOpenedForm`). */
export type KpiEditInput = KpiInput & { opened?: string };

/** The KPI form's fields, in the form's order. */
export const kpiEditFields = [
  'reference',
  'name',
  'description',
  'unit',
  'direction',
  'baselineValue',
  'baselineDate',
  'targets',
] as const satisfies readonly (keyof KpiInput)[];

/** The KPI form's labels, for the changes and clashes a conflict shows. */
export const kpiFieldLabels: Record<keyof KpiInput, string> = {
  reference: 'Reference',
  name: 'What it measures',
  description: 'How it is measured',
  unit: 'Unit',
  direction: 'Which way is better',
  baselineValue: 'Baseline value',
  baselineDate: 'Baseline date',
  targets: 'Targets',
};

export interface ActionFilters {
  area?: string;
  organisation?: string;
  status?: ActionStatus;
  owner?: string;
  due?: 'overdue' | 'next-30-days' | 'next-90-days' | 'this-quarter';
}

export interface ActionView {
  id: string;
  reference: string;
  parentId: string | null;
  depth: number;
  areaId: string;
  areaName: string;
  areaSlug: string;
  title: string;
  description: string;
  leadOrganisationCode: string;
  leadOrganisationName: string;
  partners: { code: string; name: string }[];
  ownerUserId: string | null;
  /** Shown only to people who may see names (members of the plan's or the lead organisation). */
  ownerName: string | null;
  ownerEmail: string | null;
  startDate: string | null;
  dueDate: string | null;
  status: ActionStatus;
  statusLabel: string;
  ownProgress: number;
  progress: number;
  weight: number;
  overdue: boolean;
  childIds: string[];
  milestones: {
    id: string;
    title: string;
    dueDate: string;
    doneOn: string | null;
    overdue: boolean;
  }[];
  leadAncestorPath: string;
}

export interface PlanView {
  id: string;
  slug: string;
  title: string;
  description: string;
  ownerOrganisationCode: string;
  ownerOrganisationName: string;
  periodStart: string;
  periodEnd: string;
  status: PlanStatus;
  isExample: boolean;
  updatedAt: string;
}

function toPlanView(row: PlanListRow): PlanView {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    ownerOrganisationCode: row.owner_organisation_code,
    ownerOrganisationName: row.owner_organisation_name,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    status: row.status === 'published' ? 'published' : 'draft',
    isExample: row.is_example === 1,
    updatedAt: row.updated_at,
  };
}

function ownerResource(plan: PlanListRow): OrganisationResource {
  return {
    kind: 'organisation',
    code: plan.owner_organisation_code,
    ancestorPath: plan.owner_ancestor_path,
  };
}

function leadResource(action: {
  lead_organisation_code: string;
  lead_ancestor_path: string;
}): OrganisationResource {
  return {
    kind: 'organisation',
    code: action.lead_organisation_code,
    ancestorPath: action.lead_ancestor_path,
  };
}

export function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/g, '') || 'plan'
  );
}

const fieldHistoryLabels: Record<string, string> = {
  reference: 'Reference',
  parent_reference: 'Parent action',
  area: 'Area of focus',
  title: 'Title',
  description: 'Description',
  lead_organisation: 'Lead organisation',
  partner_organisations: 'Partner organisations',
  owner: 'Owner',
  start_date: 'Start date',
  due_date: 'Due date',
  status: 'Status',
  progress_percent: 'Progress (%)',
  weight: 'Weight',
  milestones: 'Milestones',
};

/**
 * The Green Plan tracker: plans and their areas of focus, nested actions with milestones, progress
 * updates with evidence, comments, KPIs, spreadsheet import and export, and the data behind every
 * page and the board report. Every change is checked against the policy module here, recorded in
 * the action's history and audited in the same transaction.
 */
export function createGreenPlanService(deps: GreenPlanServiceDependencies) {
  const { repository, audit } = deps;
  const now = deps.now ?? (() => new Date());
  // The UK date: an update dated today at 00:30 BST is not in the future.
  const today = () => ukCalendarDate(now());

  /**
   * Creates something once per form: `create` opens its transaction and records the form's key
   * there, with the new id, once it is made. A form sent again with the same key and content
   * answers the id the first request made (docs/green-plans.md, "Sent twice, made once").
   */
  async function createdOnce(
    performer: { userId: string | null },
    submissionKey: string | undefined,
    content: readonly unknown[],
    linkOf: (id: string) => string,
    idInLink: RegExp,
    create: (
      recordSubmission: (trx: Transaction<Database>, id: string) => Promise<void>,
    ) => Promise<string>,
  ): Promise<string> {
    const submission = performer.userId
      ? deps.formSubmissions.submissionOf(performer.userId, submissionKey, content)
      : null;
    const outcome = await deps.formSubmissions.once(submission, (record) =>
      create((trx, id) => record(trx, linkOf(id))),
    );
    return 'done' in outcome ? outcome.done : idInLink.exec(outcome.repeated)![1]!;
  }

  // --- access ---

  function canReadPlan(actor: Actor | null, plan: PlanListRow): boolean {
    return (
      plan.status === 'published' ||
      can(actor, 'organisation.read_members_only', ownerResource(plan))
    );
  }

  function canEditPlan(actor: Actor | null, plan: PlanListRow): boolean {
    return can(actor, 'organisation.edit_content', ownerResource(plan));
  }

  function canChangeAction(
    actor: Actor | null,
    action: { lead_organisation_code: string; lead_ancestor_path: string },
  ): boolean {
    return can(actor, 'organisation.edit_content', leadResource(action));
  }

  /** Owners' names are for the people working on the plan, not for every visitor. */
  function canSeeNames(actor: Actor | null, plan: PlanListRow): boolean {
    return can(actor, 'organisation.read_members_only', ownerResource(plan));
  }

  function canSeeActionNames(
    actor: Actor | null,
    plan: PlanListRow,
    action: ActionListRow,
  ): boolean {
    return (
      canSeeNames(actor, plan) || can(actor, 'organisation.read_members_only', leadResource(action))
    );
  }

  async function organisationResourceOf(
    code: string,
  ): Promise<(OrganisationResource & { name: string; type: string }) | undefined> {
    const summary = await deps.organisations.findOrganisationSummary(code);
    return summary
      ? {
          kind: 'organisation',
          code: summary.code,
          ancestorPath: summary.ancestorPath,
          name: summary.name,
          type: summary.type,
        }
      : undefined;
  }

  /**
   * Members of the lead organisation, of a partner organisation or of the plan's organisation may
   * comment on an action (their admins and ICS admins above them too).
   */
  async function canCommentOn(
    actor: Actor | null,
    plan: PlanListRow,
    action: ActionListRow,
    partners: { code: string }[],
  ): Promise<boolean> {
    if (actor === null || !canReadPlan(actor, plan)) return false;
    if (
      can(actor, 'organisation.read_members_only', leadResource(action)) ||
      can(actor, 'organisation.read_members_only', ownerResource(plan))
    ) {
      return true;
    }
    const partnerResources = await Promise.all(
      partners.map((partner) => organisationResourceOf(partner.code)),
    );
    return partnerResources.some(
      (resource) =>
        resource !== undefined && can(actor, 'organisation.read_members_only', resource),
    );
  }

  /** An action with its plan, found by the action's id alone; undefined when either is missing. */
  async function findActionWithPlan(actionId: string) {
    const planId = /^[0-9a-f-]{36}$/.test(actionId)
      ? await repository.findPlanIdOfAction(actionId)
      : undefined;
    const plan = planId ? await repository.findPlan(planId) : undefined;
    const action = plan ? await repository.findAction(plan.id, actionId) : undefined;
    return plan && action ? { plan, action } : undefined;
  }

  /** A plan the actor may read; 404 otherwise, so a draft's existence is not revealed. */
  async function requireReadablePlan(actor: Actor | null, planId: string): Promise<PlanListRow> {
    const plan = /^[0-9a-f-]{36}$/.test(planId) ? await repository.findPlan(planId) : undefined;
    if (!plan) throw await planMissing(actor, planId);
    if (!canReadPlan(actor, plan)) throw new NotFoundError('That plan was not found.');
    return plan;
  }

  async function requireEditablePlan(actor: Actor | null, planId: string): Promise<PlanListRow> {
    const plan = /^[0-9a-f-]{36}$/.test(planId) ? await repository.findPlan(planId) : undefined;
    if (!plan) throw await planMissing(actor, planId);
    if (!canEditPlan(actor, plan)) {
      if (!canReadPlan(actor, plan)) throw new NotFoundError('That plan was not found.');
      throw new ForbiddenError('Not allowed: change this plan');
    }
    return plan;
  }

  /**
   * Why a plan is not there: deleted (GoneError, from the deletion's audit record) for those who
   * could read it then (only drafts are deleted, so its organisation's members, as the hierarchy
   * stands now), or not found. Its title is no secret to them.
   */
  async function planMissing(actor: Actor | null, planId: string): Promise<Error> {
    const notFound = new NotFoundError('That plan was not found.');
    if (!/^[0-9a-f-]{36}$/.test(planId)) return notFound;
    const deletion = await audit.findLatest({
      action: 'green_plan.deleted',
      targetType: 'green_plan',
      targetId: planId,
    });
    if (!deletion?.organisationCode) return notFound;
    const owner = await deps.organisations.findOrganisationSummary(deletion.organisationCode);
    const couldRead =
      owner !== undefined &&
      can(actor, 'organisation.read_members_only', {
        kind: 'organisation',
        code: owner.code,
        ancestorPath: owner.ancestorPath,
      });
    if (!couldRead) return notFound;
    return new GoneError(`The plan ${String(deletion.details.title)}`, deletion.occurredAt, {
      href: '/green-plans',
      text: 'Go to Green Plans',
    });
  }

  /**
   * Checked after the plan's row is held (see `holdPlan`): the action is still there, and has not
   * been deleted since it was first looked up.
   */
  async function requireActionStill(
    actor: Actor | null,
    trx: Transaction<Database>,
    plan: PlanListRow,
    actionId: string,
  ): Promise<ActionListRow> {
    const action = await repository.findAction(plan.id, actionId, trx);
    if (!action) throw await actionMissing(actor, plan, actionId, trx);
    return action;
  }

  /**
   * The action as it is inside the transaction, held with its plan, that the actor may still
   * change: its lead organisation may have moved since the request's first read, and a check of
   * the action (a date against its start, a status against its own) must be made against this row.
   */
  async function requireChangeableActionStill(
    actor: Actor | null,
    trx: Transaction<Database>,
    plan: PlanListRow,
    actionId: string,
  ): Promise<ActionListRow> {
    const action = await requireActionStill(actor, trx, plan, actionId);
    if (!canChangeAction(actor, action))
      throw new ForbiddenError('Not allowed: change this action');
    return action;
  }

  /** An action of a plan the actor may read (`requireReadablePlan` or stronger, first). */
  async function requireAction(
    actor: Actor | null,
    plan: PlanListRow,
    actionId: string,
  ): Promise<ActionListRow> {
    if (!/^[0-9a-f-]{36}$/.test(actionId)) throw new NotFoundError('That action was not found.');
    const action = await repository.findAction(plan.id, actionId);
    if (!action) throw await actionMissing(actor, plan, actionId);
    return action;
  }

  /**
   * Why an action of a plan the actor may see is not there: deleted (GoneError, from the deletion's
   * audit record) or never in this plan (NotFoundError). The plan's editors are told which action
   * it was and when it went; other readers only that it was deleted, since an action deleted as a
   * mistake may have said what the plan should never have shown, and its record cannot be erased.
   */
  async function actionMissing(
    actor: Actor | null,
    plan: PlanListRow,
    actionId: string,
    executor?: Transaction<Database>,
  ): Promise<Error> {
    const deletion = await audit.findLatest(
      { action: 'green_plan.action_deleted', targetType: 'green_plan_action', targetId: actionId },
      executor,
    );
    if (!deletion || deletion.details.plan !== plan.id)
      return new NotFoundError('That action was not found.');
    const { reference, title } = deletion.details;
    const what = canEditPlan(actor, plan)
      ? `The action ${String(reference)} ${String(title)}`
      : 'The action';
    return new GoneError(what, deletion.occurredAt, {
      href: `/green-plans/${plan.id}`,
      text: `Go to ${plan.title}`,
    });
  }

  /** A plan with the actions the actor may post updates to; 403 when there are none. */
  async function requireUpdatablePlan(actor: Actor | null, planId: string) {
    const plan = await requireReadablePlan(actor, planId);
    const actions = (await repository.findActions(plan.id)).filter((action) =>
      canChangeAction(actor, action),
    );
    if (actions.length === 0) throw new ForbiddenError('Not allowed: post updates to this plan');
    return { plan, actions };
  }

  /** What deleting an action takes with it: its deletion scope, and its comments. */
  async function deletionCounts(
    executor: Kysely<Database> | Transaction<Database>,
    actionId: string,
    scope: {
      updateCount: number;
      evidenceFileIds: readonly string[];
      milestoneCount: number;
      kpiLinkCount: number;
    },
  ): Promise<ActionDeletionCounts> {
    return {
      updates: scope.updateCount,
      evidenceFiles: scope.evidenceFileIds.length,
      milestones: scope.milestoneCount,
      kpiLinks: scope.kpiLinkCount,
      comments: (await deps.countActionComments?.(executor, actionId)) ?? 0,
    };
  }

  /** An action the actor may change: editors, org admins of its lead organisation, and ICS admins above it. */
  async function requireChangeableAction(actor: Actor | null, planId: string, actionId: string) {
    const plan = await requireReadablePlan(actor, planId).catch((error: unknown) => {
      if (error instanceof NotFoundError && actor === null) throw new ForbiddenError('Sign in');
      throw error;
    });
    const action = await requireAction(actor, plan, actionId);
    if (!canChangeAction(actor, action))
      throw new ForbiddenError('Not allowed: change this action');
    return { plan, action };
  }

  /**
   * Why the actor may not move an action from one parent to another, or undefined when they may.
   * The top level of the plan is the plan's editors' to change, as when adding an action there; a
   * parent's sub-actions are for those who may change the parent. Moving an action changes both
   * places, so both are checked. Imports are for the plan's editors, who may always move actions.
   */
  /**
   * Whether the actor may put an action under `parent`, or at the top level when there is none:
   * the plan's editors anywhere, otherwise those who may change the parent.
   */
  function mayPlaceUnder(
    actor: Actor | null,
    plan: PlanListRow,
    parent: { leadOrganisationCode: string; leadAncestorPath: string } | undefined,
  ): boolean {
    if (canEditPlan(actor, plan)) return true;
    return (
      parent !== undefined &&
      canChangeAction(actor, {
        lead_organisation_code: parent.leadOrganisationCode,
        lead_ancestor_path: parent.leadAncestorPath,
      })
    );
  }

  function refusedMove(
    actor: Actor | null,
    plan: PlanListRow,
    state: PlanState,
    fromParent: string | null,
    action: { reference: string; parentReference: string | null },
  ): string | undefined {
    const toParent = action.parentReference;
    if (fromParent === toParent || canEditPlan(actor, plan)) return undefined;
    const mayChangeUnder = (parentReference: string) =>
      mayPlaceUnder(
        actor,
        plan,
        state.actions.find((item) => item.reference === parentReference),
      );
    if (toParent === null)
      return "Only the plan's editors can make this a top-level action: choose a parent you can change";
    if (!mayChangeUnder(toParent))
      return `You cannot move this action under ${toParent}: only those who may change ${toParent} and the plan's editors can`;
    if (fromParent === null)
      return "Only the plan's editors can move a top-level action under another action";
    if (!mayChangeUnder(fromParent))
      return `You cannot move this action out of ${fromParent}: only those who may change ${fromParent} and the plan's editors can`;
    return undefined;
  }

  function performerOf(actor: Actor | null): Performer {
    if (!actor) throw new ForbiddenError('Sign in');
    return { actor, userId: actor.userId };
  }

  // --- progress updates ---

  /**
   * The update form's rules, for the form and for a file: the date (today if blank) no later than
   * today and no earlier than the action's latest update, a narrative, a status, a whole-number
   * progress (a parent's is its children's, so it is not asked), and links as "Title | address".
   */
  function checkUpdateInput(
    input: UpdateInput,
    situation: {
      action: { start_date: string | null; progress_percent: number };
      isParent: boolean;
      latestDate: string | undefined;
      /** The day the action's status or progress was last set, by any change (creation included). */
      latestChangeOn: string | undefined;
    },
  ): { errors: Record<string, string>; values: CheckedUpdate } {
    const { action, isParent, latestDate, latestChangeOn } = situation;
    const errors: Record<string, string> = {};
    const updateDate = input.updateDate.trim() || today();
    const narrative = input.narrative.replace(/\r\n?/g, '\n').trim();
    const status = input.status.trim();
    const progressText = input.progressPercent.trim().replace(/%$/, '');
    if (!isIsoDate(updateDate))
      errors.updateDate = 'Enter the date of the update as a real date, YYYY-MM-DD';
    else if (updateDate > today())
      errors.updateDate = 'The date of the update cannot be in the future';
    else if (latestDate && updateDate < latestDate)
      errors.updateDate = `The date of the update cannot be before the latest update (${latestDate})`;
    // Board reports replay history by the day each change took effect, so an update dated before
    // a change already recorded would be overtaken by it.
    else if (latestChangeOn && updateDate < latestChangeOn)
      errors.updateDate = `The date of the update cannot be before ${latestChangeOn}, when the action’s status or progress was last set`;
    else if (action.start_date && updateDate < addDays(action.start_date, -366))
      errors.updateDate = 'The date of the update is long before the action starts';
    if (narrative === '') errors.narrative = 'Enter what has happened since the last update';
    else if (narrative.length > 5000)
      errors.narrative = 'The update must be 5,000 characters or fewer';
    if (!isActionStatus(status)) errors.status = 'Choose a status';
    let progress = action.progress_percent;
    if (!isParent) {
      if (!/^\d{1,3}$/.test(progressText) || Number(progressText) > 100)
        errors.progressPercent = 'The progress must be a whole number from 0 to 100';
      else progress = Number(progressText);
      if (!errors.progressPercent && status === 'complete' && progress !== 100)
        errors.progressPercent = 'A complete action must be at 100% progress';
    }
    const links: { url: string; title: string }[] = [];
    for (const line of input.links
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((item) => item.trim())
      .filter(Boolean)) {
      const [first, second] = line.includes('|')
        ? line.split('|').map((part) => part.trim())
        : [null, line];
      let url: URL | undefined;
      try {
        url = new URL(second ?? '');
      } catch {
        url = undefined;
      }
      if (
        !url ||
        (url.protocol !== 'https:' && url.protocol !== 'http:') ||
        (second ?? '').length > 500
      ) {
        errors.links = `"${line.slice(0, 60)}" is not a web address: write one link a line, as "Title | https://…" or just the address`;
        break;
      }
      links.push({ url: url.toString(), title: (first || url.hostname).slice(0, 200) });
    }
    if (links.length > MAX_LINKS) errors.links = `Add at most ${MAX_LINKS} links to one update`;
    return {
      errors,
      values: { updateDate, narrative, status: status as ActionStatus, progress, links },
    };
  }

  /** The day each action's status or progress was last set (its creation included), by action id. */
  async function statusChangeDays(
    planId: string,
    executor?: Transaction<Database>,
  ): Promise<Map<string, string>> {
    const days = new Map<string, string>();
    for (const change of await repository.findChanges(planId, executor)) {
      const fields = (JSON.parse(change.changes) as { field: string }[]).map((item) => item.field);
      if (!fields.includes('status') && !fields.includes('progress_percent')) continue;
      const known = days.get(change.action_id);
      if (known === undefined || change.effective_on > known)
        days.set(change.action_id, change.effective_on);
    }
    return days;
  }

  /**
   * Writes a checked update: the update with its files and links, the action's new status and
   * progress with a history entry when they change, and the audit record.
   */
  async function writeUpdate(
    trx: Transaction<Database>,
    update: {
      performer: Performer;
      plan: PlanListRow;
      action: Pick<ActionListRow, 'id' | 'status' | 'progress_percent' | 'lead_organisation_code'>;
      values: CheckedUpdate;
      uploads: readonly PendingUpload[];
      context: RequestContext | null;
      fromFile?: string;
    },
  ): Promise<void> {
    const { performer, plan, action, values, uploads } = update;
    const id = randomUUID();
    const at = now().toISOString();
    await repository.insertUpdate(trx, {
      id,
      action_id: action.id,
      author_user_id: performer.userId,
      update_date: values.updateDate,
      narrative: values.narrative,
      status: values.status,
      progress_percent: values.progress,
      created_at: at,
    });
    for (const [index, upload] of uploads.entries()) {
      const file = await deps.files.recordUpload(trx, upload, performer.userId);
      await repository.insertUpdateFile(trx, id, file.id, index);
    }
    for (const [index, link] of values.links.entries())
      await repository.insertUpdateLink(trx, {
        id: randomUUID(),
        update_id: id,
        url: link.url,
        title: link.title,
        position: index,
      });
    const changes: FieldChange[] = [];
    if (action.status !== values.status)
      changes.push({ field: 'status', from: action.status, to: values.status });
    if (action.progress_percent !== values.progress)
      changes.push({
        field: 'progress_percent',
        from: String(action.progress_percent),
        to: String(values.progress),
      });
    if (changes.length > 0) {
      await repository.updateAction(trx, plan.id, action.id, {
        status: values.status,
        progress_percent: values.progress,
        updated_at: at,
      });
      await repository.insertChange(trx, {
        action_id: action.id,
        changed_by: performer.userId,
        recorded_at: at,
        effective_on: values.updateDate,
        kind: 'progress_update',
        changes: JSON.stringify(changes),
      });
    }
    await repository.updatePlan(trx, plan.id, { updated_at: at });
    await audit.record(
      {
        action: 'green_plan.update_posted',
        actorUserId: performer.userId,
        targetType: 'green_plan_action',
        targetId: action.id,
        organisationCode: action.lead_organisation_code,
        details: {
          files: uploads.length,
          links: values.links.length,
          status: values.status,
          ...(update.fromFile ? { fromFile: update.fromFile } : {}),
        },
      },
      update.context,
      trx,
    );
  }

  /**
   * Checks the rows of an updates file in order, reading through the import's transaction: which
   * rows are updates to post (each checked by the form's rules against the action as the rows
   * above leave it), which repeat one already posted, and which were left as the sheet gave them.
   */
  async function checkUpdateRows(
    trx: Transaction<Database>,
    plan: PlanListRow,
    actor: Actor | null,
    rows: readonly UpdateFileRow[],
  ) {
    const actions = await repository.findActions(plan.id, trx);
    const byReference = new Map(actions.map((action) => [action.reference, action]));
    const parents = new Set(actions.map((action) => action.parent_id).filter(Boolean));
    const updates = await repository.findUpdates(plan.id, trx);
    const latest = new Map<string, (typeof updates)[number]>();
    const posted = new Set<string>();
    const postedKey = (actionId: string, date: string, status: string, narrative: string) =>
      JSON.stringify([actionId, date, status, narrative]);
    for (const update of updates) {
      if (!latest.has(update.action_id)) latest.set(update.action_id, update);
      posted.add(postedKey(update.action_id, update.update_date, update.status, update.narrative));
    }
    const latestDate = new Map([...latest].map(([id, update]) => [id, update.update_date]));
    const changeDays = await statusChangeDays(plan.id, trx);
    const statesPosted = new Set(
      updates.flatMap((update) => [
        JSON.stringify([update.action_id, update.status, String(update.progress_percent)]),
        JSON.stringify([update.action_id, update.status, null]),
      ]),
    );
    const rowsOfAction = new Map<string, number>();
    for (const row of rows) {
      rowsOfAction.set(row.reference, (rowsOfAction.get(row.reference) ?? 0) + 1);
    }
    // Each row is checked against the action as the rows above it leave it; whether a row was left
    // as the sheet gave it is judged against the action as it stood before the file.
    const before = new Map(
      actions.map((action) => [
        action.id,
        { status: action.status, progress_percent: action.progress_percent },
      ]),
    );
    const standing = new Map(before);
    const columnOf: Record<string, UpdateFileColumn> = {
      updateDate: 'date',
      narrative: 'narrative',
      status: 'status',
      progressPercent: 'progress_percent',
      links: 'links',
    };
    const problems: UpdateFileProblem[] = [];
    const planned: { action: ActionListRow; values: CheckedUpdate }[] = [];
    let unchanged = 0;
    let blank = 0;
    for (const row of rows) {
      const action = byReference.get(row.reference);
      if (!action) {
        problems.push({
          row: row.row,
          column: 'reference',
          message: row.reference
            ? `No action of this plan has the reference "${row.reference.slice(0, 40)}"`
            : "Enter the action's reference",
        });
        continue;
      }
      if (!canChangeAction(actor, action)) {
        problems.push({
          row: row.row,
          column: 'reference',
          message: `You cannot post updates to ${action.reference}: its lead organisation's editors and ICS admins can`,
        });
        continue;
      }
      const isParent = parents.has(action.id);
      const status = statusFromText(row.status);
      const untouched = !row.date && !row.narrative && !row.links;
      const progressText = row.progressPercent.replace(/%$/, '');
      const original = before.get(action.id)!;
      const asItStood =
        status === original.status &&
        (isParent || progressText === String(original.progress_percent));
      // A row with no date, narrative or links is the sheet's own row for the action: it is
      // passed over when it shows the action as it stood before the file, when the file has
      // other rows for the action (filled in above or below it), or when it shows a state an
      // update once gave the action (the sheet is older than a colleague's update).
      if (
        untouched &&
        (asItStood ||
          (rowsOfAction.get(action.reference) ?? 0) > 1 ||
          statesPosted.has(JSON.stringify([action.id, status, isParent ? null : progressText])))
      ) {
        blank += 1;
        continue;
      }
      const narrative = row.narrative.replace(/\r\n?/g, '\n').trim();
      // A row with a date repeats an update posted for that date. A row without one takes today's
      // date, so posting it again another day would not match: it repeats the action's latest
      // update when it says the same.
      const last = latest.get(action.id);
      const repeats = row.date
        ? status !== undefined && posted.has(postedKey(action.id, row.date, status, narrative))
        : last !== undefined && last.status === status && last.narrative === narrative;
      if (repeats) {
        unchanged += 1;
        continue;
      }
      const current = standing.get(action.id)!;
      const { errors, values } = checkUpdateInput(
        {
          updateDate: row.date,
          narrative: row.narrative,
          status: status ?? '',
          progressPercent: row.progressPercent,
          links: row.links,
        },
        {
          action: { start_date: action.start_date, progress_percent: current.progress_percent },
          isParent,
          latestDate: latestDate.get(action.id),
          latestChangeOn: changeDays.get(action.id),
        },
      );
      if (errors.status) {
        errors.status = row.status
          ? `"${row.status.slice(0, 40)}" is not a status: use one of ${actionStatuses.map((key) => actionStatusLabels[key]).join(', ')}`
          : 'Enter a status';
      }
      if (errors.narrative && untouched) {
        errors.narrative = `${errors.narrative}. If you left this row as it was, ${action.reference} has changed since the sheet was downloaded: download it again`;
      }
      const rowProblems = Object.entries(errors).map(([field, message]) => ({
        row: row.row,
        column: columnOf[field],
        message,
      }));
      if (rowProblems.length > 0) {
        problems.push(...rowProblems);
        continue;
      }
      planned.push({
        action: { ...action, status: current.status, progress_percent: current.progress_percent },
        values,
      });
      latestDate.set(action.id, values.updateDate);
      posted.add(postedKey(action.id, values.updateDate, values.status, values.narrative));
      standing.set(action.id, { status: values.status, progress_percent: values.progress });
    }
    return { problems, planned, unchanged, blank };
  }

  /**
   * The audit record of a file imported into a plan, and the refusal of one with problems: nothing
   * is written, and the refusal is audited with the file's name and how many problems it had.
   */
  function fileImportAudit(
    action: string,
    target: { type: 'green_plan' | 'green_plan_kpi'; id: string },
    plan: PlanListRow,
    performer: Performer,
    upload: PendingUpload,
    context: RequestContext,
  ) {
    const entry = {
      action,
      actorUserId: performer.userId,
      targetType: target.type,
      targetId: target.id,
      organisationCode: plan.owner_organisation_code,
    };
    return {
      entry,
      async refuse<Problem>(problems: Problem[]) {
        await audit.record(
          {
            ...entry,
            outcome: 'failure',
            details: { fileName: upload.originalName, problems: problems.length },
          },
          context,
        );
        return { ok: false as const, problems };
      },
    };
  }

  // --- loading a whole plan ---

  /** The plan's actions as they stand; pass the transaction when reading inside one. */
  async function loadPlanState(
    plan: PlanListRow,
    actor: Actor | null,
    executor?: Transaction<Database>,
  ) {
    const [areas, rows, partners, milestones] = await Promise.all([
      repository.findAreas(plan.id, executor),
      repository.findActions(plan.id, executor),
      repository.findPartners(plan.id, executor),
      repository.findMilestones(plan.id, executor),
    ]);
    const day = today();
    const areaById = new Map(areas.map((area) => [area.id, area]));
    const nodes = rows.map((row) => ({
      id: row.id,
      parentId: row.parent_id,
      status: (isActionStatus(row.status) ? row.status : 'not_started') as ActionStatus,
      progressPercent: row.progress_percent,
      weight: row.weight,
    }));
    const effective = rollUpProgress(nodes);
    const childIds = new Map<string, string[]>();
    for (const row of rows) {
      if (row.parent_id)
        childIds.set(row.parent_id, [...(childIds.get(row.parent_id) ?? []), row.id]);
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    const depthOf = (row: ActionListRow, guard = 0): number =>
      row.parent_id && byId.has(row.parent_id) && guard < rows.length
        ? depthOf(byId.get(row.parent_id)!, guard + 1) + 1
        : 0;
    const seeNamesForPlan = canSeeNames(actor, plan);
    const actions: ActionView[] = rows.map((row) => {
      const status = (isActionStatus(row.status) ? row.status : 'not_started') as ActionStatus;
      const area = areaById.get(row.area_id);
      const seeNames =
        seeNamesForPlan || can(actor, 'organisation.read_members_only', leadResource(row));
      return {
        id: row.id,
        reference: row.reference,
        parentId: row.parent_id,
        depth: depthOf(row),
        areaId: row.area_id,
        areaName: area?.name ?? '',
        areaSlug: area?.slug ?? '',
        title: row.title,
        description: row.description,
        leadOrganisationCode: row.lead_organisation_code,
        leadOrganisationName: row.lead_organisation_name,
        partners: partners
          .filter((partner) => partner.action_id === row.id)
          .map((partner) => ({ code: partner.organisation_code, name: partner.organisation_name })),
        ownerUserId: row.owner_user_id,
        ownerName: seeNames ? row.owner_name : null,
        ownerEmail: seeNames ? row.owner_email : null,
        startDate: row.start_date,
        dueDate: row.due_date,
        status,
        statusLabel: actionStatusLabels[status],
        ownProgress: row.progress_percent,
        progress: Math.round((effective.get(row.id) ?? row.progress_percent) * 10) / 10,
        weight: row.weight,
        overdue: isActionOverdue({ dueDate: row.due_date, status }, day),
        childIds: childIds.get(row.id) ?? [],
        milestones: milestones
          .filter((milestone) => milestone.action_id === row.id)
          .map((milestone) => ({
            id: milestone.id,
            title: milestone.title,
            dueDate: milestone.due_date,
            doneOn: milestone.done_on,
            overdue: isMilestoneOverdue(
              { dueDate: milestone.due_date, doneOn: milestone.done_on },
              day,
            ),
          })),
        leadAncestorPath: row.lead_ancestor_path,
      };
    });
    // Tree order: each action followed by its sub-actions.
    const ordered: ActionView[] = [];
    const viewById = new Map(actions.map((action) => [action.id, action]));
    const visit = (action: ActionView) => {
      if (ordered.includes(action)) return;
      ordered.push(action);
      for (const childId of action.childIds) visit(viewById.get(childId)!);
    };
    for (const action of actions)
      if (action.parentId === null || !viewById.has(action.parentId)) visit(action);
    for (const action of actions) visit(action);
    return { plan, areas, actions: ordered, nodes, effective, rows };
  }

  type PlanState = Awaited<ReturnType<typeof loadPlanState>>;

  function summariseActions(state: PlanState, actions: ActionView[]) {
    const ids = new Set(actions.map((action) => action.id));
    const topLevel = state.nodes.filter(
      (node) => ids.has(node.id) && (node.parentId === null || !ids.has(node.parentId)),
    );
    const progress = overallProgress(topLevel, state.effective);
    return {
      progress: Math.round(progress * 10) / 10,
      counts: countByStatus(actions),
      total: actions.length,
      overdue: actions.filter((action) => action.overdue),
      exceptions: actions.filter(
        (action) => action.status === 'at_risk' || action.status === 'off_track',
      ),
    };
  }

  function areaSummaries(state: PlanState) {
    return state.areas.map((area) => {
      const actions = state.actions.filter((action) => action.areaId === area.id);
      return {
        id: area.id,
        slug: area.slug,
        name: area.name,
        isNational: area.national_slug !== null,
        ...summariseActions(state, actions),
      };
    });
  }

  function existingFields(state: PlanState, milestonesOf = true): ExistingAction[] {
    const referenceById = new Map(state.actions.map((action) => [action.id, action.reference]));
    return state.actions.map((action) => ({
      id: action.id,
      reference: action.reference,
      parentReference: action.parentId ? (referenceById.get(action.parentId) ?? null) : null,
      areaId: action.areaId,
      title: action.title,
      description: action.description,
      leadOrganisationCode: action.leadOrganisationCode,
      partnerOrganisationCodes: action.partners.map((partner) => partner.code).sort(),
      ownerUserId: action.ownerUserId,
      startDate: action.startDate,
      dueDate: action.dueDate,
      status: action.status,
      progressPercent: action.ownProgress,
      weight: action.weight,
      // In the order a form or a file gives them (by date, then title), not the order they were
      // added in: compared with a form's, they would otherwise always differ.
      milestones: milestonesOf
        ? sortMilestones(
            action.milestones.map((m) => ({
              dueDate: m.dueDate,
              title: m.title,
              doneOn: m.doneOn,
            })),
          )
        : [],
    }));
  }

  /** Looks up every organisation and owner a set of rows names, for validation. */
  async function buildImportContext(
    plan: PlanListRow,
    state: PlanState,
    rows: readonly RawRow[],
    performer: Performer,
  ) {
    const codes = new Set<string>();
    const emails = new Set<string>();
    for (const row of rows) {
      if (row.values.lead_organisation)
        codes.add(row.values.lead_organisation.trim().toUpperCase());
      for (const code of splitCodes(row.values.partner_organisations)) codes.add(code);
      if (row.values.owner_email) emails.add(row.values.owner_email.trim().toLowerCase());
    }
    for (const action of state.actions) codes.add(action.leadOrganisationCode);
    const organisations = new Map<string, { code: string; name: string; ancestorPath: string }>();
    for (const code of codes) {
      if (!/^[A-Z0-9]{2,10}$/.test(code)) continue;
      const found = await organisationResourceOf(code);
      if (found)
        organisations.set(code, {
          code: found.code,
          name: found.name,
          ancestorPath: found.ancestorPath,
        });
    }
    const owners = new Map<string, { userId: string; organisationCodes: string[] }>();
    for (const email of emails) {
      if (email.length > 254) continue;
      const user = await deps.accounts.findUserByEmail(email);
      if (!user || user.status !== 'active') continue;
      const memberships = await deps.memberships.loadActorMemberships(user.id);
      owners.set(email, {
        userId: user.id,
        organisationCodes: memberships.map((membership) => membership.organisationCode),
      });
    }
    return {
      areas: state.areas.map((area) => ({ id: area.id, slug: area.slug, name: area.name })),
      existing: existingFields(state),
      organisations,
      owners,
      planOrganisationCode: plan.owner_organisation_code,
      today: today(),
      canChangeActionsLedBy: (code: string) => {
        if (performer.actor === null) return true;
        const organisation = organisations.get(code);
        return (
          organisation !== undefined &&
          can(performer.actor, 'organisation.edit_content', {
            kind: 'organisation',
            code,
            ancestorPath: organisation.ancestorPath,
          })
        );
      },
    };
  }

  /** Writes validated actions in the caller's transaction; returns what it did. */
  async function applyActions(
    trx: Transaction<Database>,
    plan: PlanListRow,
    state: PlanState,
    actions: readonly ImportedAction[],
    performer: Performer,
    kind: 'imported' | 'created' | 'edited',
    /** Actions whose reference this change renames (id → reference before), already in `state`. */
    renamedFrom: ReadonlyMap<string, string> = new Map(),
  ) {
    const existing = existingFields(state);
    const plan_ = planImportChanges(actions, existing);
    // A renamed action matches under its new reference; if nothing else about it changed it still
    // changes, and its history records the reference it had.
    for (const action of [...plan_.unchanged]) {
      const current = existing.find((item) => item.reference === action.reference);
      if (current && renamedFrom.has(current.id)) {
        plan_.unchanged.splice(plan_.unchanged.indexOf(action), 1);
        plan_.change.push({ action, existing: current });
      }
    }
    const idByReference = new Map(existing.map((action) => [action.reference, action.id]));
    const at = now().toISOString();
    const effectiveOn = ukCalendarDate(at);
    let position = await repository.maxActionPosition(plan.id, trx);
    const created: string[] = [];
    for (const action of parentsFirst(plan_.create)) {
      const id = randomUUID();
      idByReference.set(action.reference, id);
      created.push(id);
      await repository.insertAction(trx, {
        id,
        plan_id: plan.id,
        reference: action.reference,
        parent_id: action.parentReference ? idByReference.get(action.parentReference)! : null,
        area_id: action.areaId,
        title: action.title,
        description: action.description,
        lead_organisation_code: action.leadOrganisationCode,
        owner_user_id: action.ownerUserId,
        start_date: action.startDate,
        due_date: action.dueDate,
        status: action.status,
        progress_percent: action.progressPercent,
        weight: action.weight,
        position: ++position,
        created_at: at,
        updated_at: at,
      });
      await repository.replacePartners(trx, id, action.partnerOrganisationCodes);
      for (const [index, milestone] of action.milestones.entries()) {
        await repository.insertMilestone(trx, {
          id: randomUUID(),
          action_id: id,
          title: milestone.title,
          due_date: milestone.dueDate,
          done_on: milestone.doneOn,
          position: index,
        });
      }
      await repository.insertChange(trx, {
        action_id: id,
        changed_by: performer.userId,
        recorded_at: at,

        // An action takes effect from its start, so board reports for earlier quarters include it.
        effective_on:
          action.startDate && action.startDate < effectiveOn ? action.startDate : effectiveOn,
        kind: kind === 'edited' ? 'created' : kind,
        changes: JSON.stringify(describeDifferences(null, action)),
      });
    }
    for (const { action, existing: before } of plan_.change) {
      const id = before.id;
      await repository.updateAction(trx, plan.id, id, {
        reference: action.reference,
        parent_id: action.parentReference ? idByReference.get(action.parentReference)! : null,
        area_id: action.areaId,
        title: action.title,
        description: action.description,
        lead_organisation_code: action.leadOrganisationCode,
        owner_user_id: action.ownerUserId,
        start_date: action.startDate,
        due_date: action.dueDate,
        status: action.status,
        progress_percent: action.progressPercent,
        weight: action.weight,
        updated_at: at,
      });
      if (before.partnerOrganisationCodes.join(';') !== action.partnerOrganisationCodes.join(';'))
        await repository.replacePartners(trx, id, action.partnerOrganisationCodes);
      if (formatMilestones(before.milestones) !== formatMilestones(action.milestones)) {
        await repository.deleteMilestonesOfAction(trx, id);
        for (const [index, milestone] of action.milestones.entries()) {
          await repository.insertMilestone(trx, {
            id: randomUUID(),
            action_id: id,
            title: milestone.title,
            due_date: milestone.dueDate,
            done_on: milestone.doneOn,
            position: index,
          });
        }
      }
      await repository.insertChange(trx, {
        action_id: id,
        changed_by: performer.userId,
        recorded_at: at,
        effective_on: effectiveOn,
        kind,
        changes: JSON.stringify(
          describeDifferences(
            { ...before, reference: renamedFrom.get(id) ?? before.reference },
            action,
          ),
        ),
      });
    }
    // A renamed action's sub-actions keep it as their parent (held by id), but the reference their
    // history shows for it changes: each gets an entry saying so.
    for (const [renamedId, oldReference] of renamedFrom) {
      const newReference = state.actions.find((item) => item.id === renamedId)?.reference;
      for (const child of state.actions.filter((item) => item.parentId === renamedId)) {
        await repository.insertChange(trx, {
          action_id: child.id,
          changed_by: performer.userId,
          recorded_at: at,
          effective_on: effectiveOn,
          kind,
          changes: JSON.stringify([
            { field: 'parent_reference', from: oldReference, to: newReference ?? null },
          ]),
        });
      }
    }
    if (plan_.create.length > 0 || plan_.change.length > 0)
      await repository.updatePlan(trx, plan.id, { updated_at: at });
    return {
      created: plan_.create.length,
      changed: plan_.change.length,
      unchanged: plan_.unchanged.length,
      createdIds: created,
    };
  }

  function formProblemsToFieldErrors(problems: ImportProblem[]): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const problem of problems) {
      const field = problem.field ?? 'reference';
      if (!errors[field]) errors[field] = problem.message;
    }
    return errors;
  }

  function rawRowFromForm(values: ActionFormInput): RawRow {
    const row = {} as Record<ImportColumn, string>;
    for (const column of importColumnNames)
      row[column] = (values[column] ?? '').replace(/\r\n?/g, '\n').trim();
    return { row: 1, values: row };
  }

  /** The first free `<area initials>-NN` reference; `taken` defaults to the state's references. */
  async function nextReference(
    state: PlanState,
    areaId: string,
    taken: ReadonlySet<string> = new Set(state.actions.map((action) => action.reference)),
  ): Promise<string> {
    const area = state.areas.find((item) => item.id === areaId);
    const prefix =
      (area?.slug ?? 'action')
        .split('-')
        .filter((word) => !['and', 'of', 'to'].includes(word))
        .map((word) => word[0]!.toUpperCase())
        .join('')
        .slice(0, 4) || 'A';
    for (let number = 1; ; number++) {
      const candidate = `${prefix}-${String(number).padStart(2, '0')}`;
      if (!taken.has(candidate)) return candidate;
    }
  }

  function validatePlanInput(input: PlanFormInput): {
    errors: Record<string, string>;
    values: PlanFormInput;
  } {
    const values: PlanFormInput = {
      title: input.title.trim(),
      description: input.description.replace(/\r\n?/g, '\n').trim(),
      ownerOrganisationCode: input.ownerOrganisationCode.trim().toUpperCase(),
      periodStart: input.periodStart.trim(),
      periodEnd: input.periodEnd.trim(),
      status: input.status.trim(),
    };
    const errors: Record<string, string> = {};
    if (values.title === '') errors.title = 'Enter a title for the plan';
    else if (values.title.length > 200) errors.title = 'The title must be 200 characters or fewer';
    if (values.description.length > 5000)
      errors.description = 'The description must be 5,000 characters or fewer';
    if (!isIsoDate(values.periodStart))
      errors.periodStart = 'Enter the start of the plan period as a real date, YYYY-MM-DD';
    if (!isIsoDate(values.periodEnd))
      errors.periodEnd = 'Enter the end of the plan period as a real date, YYYY-MM-DD';
    else if (!errors.periodStart && values.periodEnd <= values.periodStart)
      errors.periodEnd = 'The end of the plan period must be after its start';
    if (!(planStatuses as readonly string[]).includes(values.status))
      errors.status = 'Choose whether the plan is a draft or published';
    return { errors, values };
  }

  /** Checks a new plan's fields and its owner; lookups happen here, outside any transaction. */
  async function preparePlan(performer: Performer, input: PlanFormInput) {
    const { errors, values } = validatePlanInput(input);
    const owner = values.ownerOrganisationCode
      ? await organisationResourceOf(values.ownerOrganisationCode)
      : undefined;
    if (!values.ownerOrganisationCode)
      errors.ownerOrganisationCode = 'Choose the organisation that owns the plan';
    else if (!owner)
      errors.ownerOrganisationCode = `No organisation in Greenspace has the ODS code ${values.ownerOrganisationCode.slice(0, 20)}`;
    else if (!(planOwnerTypes as readonly string[]).includes(owner.type))
      errors.ownerOrganisationCode = 'A plan is owned by an integrated care board or an NHS trust';
    else if (performer.actor && !can(performer.actor, 'organisation.edit_content', owner))
      throw new ForbiddenError('Not allowed: create a plan for this organisation');
    if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
    return { values, ownerCode: owner!.code };
  }

  /**
   * Writes a prepared plan with the nine national areas of focus, in the caller's transaction.
   * Only the transaction is used inside: on SQLite a query outside it would wait for it forever.
   */
  async function insertPlan(
    trx: Transaction<Database>,
    performer: Performer,
    prepared: Awaited<ReturnType<typeof preparePlan>>,
    options: {
      isExample?: boolean;
      slug?: string;
      context?: RequestContext | null;
      planId?: string;
      areaIds?: string[];
    } = {},
  ): Promise<string> {
    const { values, ownerCode } = prepared;
    let slug = options.slug ?? slugify(values.title);
    for (let suffix = 2; await repository.findPlanBySlug(slug, trx); suffix++)
      slug = `${options.slug ?? slugify(values.title)}-${suffix}`;
    const id = options.planId ?? randomUUID();
    const at = now().toISOString();
    await repository.insertPlan(trx, {
      id,
      slug,
      title: values.title,
      description: values.description,
      owner_organisation_code: ownerCode,
      period_start: values.periodStart,
      period_end: values.periodEnd,
      status: values.status,
      is_example: options.isExample ? 1 : 0,
      created_by: performer.userId,
      created_at: at,
      updated_at: at,
    });
    for (const [index, area] of nationalAreasOfFocus.entries()) {
      await repository.insertArea(trx, {
        id: options.areaIds?.[index] ?? randomUUID(),
        plan_id: id,
        slug: area.slug,
        name: area.name,
        description: area.summary,
        national_slug: area.slug,
        position: index + 1,
      });
    }
    await audit.record(
      {
        action: 'green_plan.created',
        actorUserId: performer.userId,
        targetType: 'green_plan',
        targetId: id,
        organisationCode: ownerCode,
        details: { status: values.status },
      },
      options.context ?? null,
      trx,
    );
    return id;
  }

  /** Parses, checks and summarises an uploaded spreadsheet against the plan as it is now. */
  /**
   * A digest of what an import would do to the plan: which actions it adds and, field by field, how
   * it changes the others. The preview keeps it; the commit refuses if the plan has moved since
   * (an action renamed, edited or added), so that nothing is written that the preview did not show.
   */
  function digestOfChanges(changes: ReturnType<typeof planImportChanges>): string {
    const description = {
      create: changes.create.map((action) => describeDifferences(null, action)),
      change: changes.change.map(({ action, existing }) => [
        existing.id,
        describeDifferences(existing, action),
      ]),
    };
    return createHash('sha256').update(JSON.stringify(description)).digest('hex');
  }

  async function evaluateSpreadsheet(
    plan: PlanListRow,
    bytes: Buffer,
    kind: 'csv' | 'xlsx',
    performer: Performer,
  ) {
    let read: { rows: RawRow[]; problems: ImportProblem[] };
    try {
      read = await readSpreadsheet(bytes, kind);
    } catch (error) {
      if (error instanceof SpreadsheetRefused)
        return {
          rowCount: 0,
          problems: [{ message: error.message }] as ImportProblem[],
          actions: [] as ImportedAction[],
          state: null,
        };
      throw error;
    }
    const state = await loadPlanState(plan, performer.actor);
    if (read.problems.length > 0)
      return {
        rowCount: read.rows.length,
        problems: read.problems,
        actions: [] as ImportedAction[],
        state,
      };
    const context = await buildImportContext(plan, state, read.rows, performer);
    const { problems, actions } = validateImportRows(read.rows, context);
    return { rowCount: read.rows.length, problems, actions, state };
  }

  function describeProblem(problem: ImportProblem) {
    return {
      row: problem.row ?? null,
      field: problem.field ? fieldLabels[problem.field] : null,
      column: problem.field ?? null,
      message: problem.message,
    };
  }

  // --- KPIs ---

  function parseTargets(
    text: string,
    baselineDate: string | null,
  ): { targets: { date: string; value: number; label: string | null }[] } | { error: string } {
    const targets: { date: string; value: number; label: string | null }[] = [];
    for (const line of text
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((item) => item.trim())
      .filter(Boolean)) {
      // The value is read as a baseline is: "2,480" is 2480, "1,5" is not a number.
      const match = /^(\S+)\s+([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?:\s+(.+))?$/.exec(line);
      if (!match || !isIsoDate(match[1]!))
        return {
          error: `"${line.slice(0, 60)}" is not a target: write one per line as "YYYY-MM-DD value", with a label after the value if you like`,
        };
      if (baselineDate && match[1]! <= baselineDate)
        return {
          error: `The target dated ${match[1]} must be after the baseline date (${baselineDate})`,
        };
      if (targets.some((target) => target.date === match[1]))
        return { error: `There are two targets dated ${match[1]}` };
      targets.push({
        date: match[1]!,
        value: parseDecimal(match[2]!)!,
        label: match[3]?.slice(0, 100) ?? null,
      });
    }
    return { targets: targets.sort((a, b) => (a.date < b.date ? -1 : 1)) };
  }

  /**
   * Checks a KPI's form, for adding one or changing one: the same rules either way. `existing` is
   * the plan's KPIs, so that a reference is used once; a KPI being changed may keep its own.
   */
  function checkKpiInput(
    input: KpiInput,
    existing: readonly { id: string; reference: string }[],
    changing?: string,
  ) {
    const values = {
      reference: input.reference.trim(),
      name: input.name.trim(),
      description: input.description.replace(/\r\n?/g, '\n').trim(),
      unit: input.unit.trim(),
      direction: input.direction.trim(),
      baselineValue: input.baselineValue.trim(),
      baselineDate: input.baselineDate.trim(),
    };
    const errors: Record<string, string> = {};
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/.test(values.reference))
      errors.reference = 'Enter a reference of at most 40 letters, digits, dots, dashes or slashes';
    else if (existing.some((kpi) => kpi.reference === values.reference && kpi.id !== changing))
      errors.reference = `The plan already has a KPI with the reference ${values.reference}`;
    // A file's cell may hold a line break the form's one-line fields could not show.
    const oneLine = (text: string) =>
      [...text].every((character) => character >= ' ' && character !== '\u007f');
    if (!oneLine(values.unit)) errors.unit = 'The unit must be on one line';
    if (!oneLine(values.name)) errors.name = 'What the KPI measures must be on one line';
    else if (values.name === '') errors.name = 'Enter what the KPI measures';
    else if (values.name.length > 200) errors.name = 'The name must be 200 characters or fewer';
    if (values.description.length > 2000)
      errors.description = 'The description must be 2,000 characters or fewer';
    if (values.unit === '') errors.unit = 'Enter the unit, such as tCO2e or %';
    else if (values.unit.length > 40) errors.unit = 'The unit must be 40 characters or fewer';
    if (values.direction !== 'decrease' && values.direction !== 'increase')
      errors.direction = 'Choose whether lower or higher is better';
    // Read as KPI values are: a decimal comma is not taken for thousands, nor "0x10" for 16.
    const baselineValue = parseDecimal(values.baselineValue);
    if (baselineValue === null)
      errors.baselineValue = /^[-+]?\d+,\d+$/.test(values.baselineValue)
        ? `Enter the baseline as a number, with a decimal point (${values.baselineValue.replace(',', '.')})`
        : 'Enter the baseline as a number';
    if (!isIsoDate(values.baselineDate))
      errors.baselineDate = 'Enter the baseline date as a real date, YYYY-MM-DD';
    const parsed = parseTargets(
      input.targets,
      isIsoDate(values.baselineDate) ? values.baselineDate : null,
    );
    if ('error' in parsed) errors.targets = parsed.error;
    else if (parsed.targets.length === 0) errors.targets = 'Enter at least one target';
    if (Object.keys(errors).length > 0 || 'error' in parsed) throw new ValidationFailed(errors);
    return {
      reference: values.reference,
      name: values.name,
      description: values.description,
      unit: values.unit,
      direction: values.direction as 'decrease' | 'increase',
      baselineValue: baselineValue!,
      baselineDate: values.baselineDate,
      targets: parsed.targets,
    };
  }

  /** A number as digits, never in exponent form (1e-7), which the targets field does not read. */
  function plainNumber(value: number): string {
    return value.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
  }

  /** Targets as the form writes them, one a line: "2032-03-31 200 80% cut". */
  function formatTargets(
    targets: readonly { date: string; value: number; label: string | null }[],
  ) {
    return targets
      .map((target) =>
        [target.date, plainNumber(target.value), target.label].filter(Boolean).join(' '),
      )
      .join('\n');
  }

  /**
   * An uploaded CSV file or workbook (its named sheet, or its first) as rows of cells, or why it
   * cannot be read as one at all: not UTF-8, not a workbook, a zip bomb.
   */
  async function readUploadedTable(
    upload: PendingUpload,
    options: { sheet?: string } = {},
  ): Promise<{ rows: Awaited<ReturnType<typeof readSpreadsheetTable>> } | { refused: string }> {
    try {
      const bytes = await deps.files.readSmallUpload(upload);
      const kind = upload.type.extension === 'xlsx' ? 'xlsx' : 'csv';
      return { rows: await readSpreadsheetTable(bytes, kind, options) };
    } catch (error) {
      if (!(error instanceof SpreadsheetRefused)) throw error;
      return { refused: error.message };
    }
  }

  type KpiRow = Awaited<ReturnType<GreenPlanRepository['findKpis']>>[number];
  type CheckedKpi = ReturnType<typeof checkKpiInput>;

  /** Adds a checked KPI with its targets, audited. */
  async function insertCheckedKpi(
    trx: Transaction<Database>,
    plan: PlanListRow,
    checked: CheckedKpi,
    actorUserId: string | null,
    context: RequestContext | null,
  ): Promise<string> {
    const id = randomUUID();
    const at = now().toISOString();
    await repository.insertKpi(trx, {
      id,
      plan_id: plan.id,
      reference: checked.reference,
      name: checked.name,
      description: checked.description,
      unit: checked.unit,
      direction: checked.direction,
      baseline_value: checked.baselineValue,
      baseline_date: checked.baselineDate,
      created_at: at,
      updated_at: at,
    });
    for (const target of checked.targets)
      await repository.insertTarget(trx, {
        id: randomUUID(),
        kpi_id: id,
        target_date: target.date,
        target_value: target.value,
        label: target.label,
      });
    await audit.record(
      {
        action: 'green_plan.kpi_added',
        actorUserId,
        targetType: 'green_plan_kpi',
        targetId: id,
        organisationCode: plan.owner_organisation_code,
      },
      context,
      trx,
    );
    return id;
  }

  /** Links an action to a KPI, audited as `green_plan.kpi_linked` naming the action. */
  async function linkKpiAudited(
    trx: Transaction<Database>,
    plan: PlanListRow,
    kpiId: string,
    action: { id: string; reference: string },
    actorUserId: string | null,
    context: RequestContext | null,
  ): Promise<void> {
    // Linked already (a second click, or a file that names the link again): nothing to record.
    if (!(await repository.linkKpiAction(trx, kpiId, action.id))) return;
    await audit.record(
      {
        action: 'green_plan.kpi_linked',
        actorUserId,
        targetType: 'green_plan_kpi',
        targetId: kpiId,
        organisationCode: plan.owner_organisation_code,
        details: { action: action.reference },
      },
      context,
      trx,
    );
  }

  /** What changing a KPI to `checked` changes: each field that differs, with both values. */
  async function kpiChanges(before: KpiRow, checked: CheckedKpi, executor?: Transaction<Database>) {
    const beforeTargets = formatTargets(
      (await repository.findTargets([before.id], executor)).map((target) => ({
        date: target.target_date,
        value: target.target_value,
        label: target.label,
      })),
    );
    return (
      [
        ['reference', before.reference, checked.reference],
        ['name', before.name, checked.name],
        ['description', before.description, checked.description],
        ['unit', before.unit, checked.unit],
        ['direction', before.direction, checked.direction],
        ['baseline_value', before.baseline_value, checked.baselineValue],
        ['baseline_date', before.baseline_date, checked.baselineDate],
        ['targets', beforeTargets, formatTargets(checked.targets)],
      ] as const
    )
      .filter(([, from, to]) => from !== to)
      .map(([field, from, to]) => ({ field, from, to }));
  }

  /** Writes a KPI's changes (new targets replace the old), audited with what each field was. */
  async function writeKpiChanges(
    trx: Transaction<Database>,
    plan: PlanListRow,
    before: KpiRow,
    checked: CheckedKpi,
    changes: readonly { field: string; from: unknown; to: unknown }[],
    actorUserId: string | null,
    context: RequestContext,
  ): Promise<void> {
    await repository.updateKpi(trx, before.id, {
      reference: checked.reference,
      name: checked.name,
      description: checked.description,
      unit: checked.unit,
      direction: checked.direction,
      baseline_value: checked.baselineValue,
      baseline_date: checked.baselineDate,
      updated_at: now().toISOString(),
    });
    if (changes.some((change) => change.field === 'targets')) {
      await repository.deleteTargets(trx, before.id);
      for (const target of checked.targets)
        await repository.insertTarget(trx, {
          id: randomUUID(),
          kpi_id: before.id,
          target_date: target.date,
          target_value: target.value,
          label: target.label,
        });
    }
    await audit.record(
      {
        action: 'green_plan.kpi_changed',
        actorUserId,
        targetType: 'green_plan_kpi',
        targetId: before.id,
        organisationCode: plan.owner_organisation_code,
        // What each field was as well as what it became: a KPI keeps no other history, and its
        // old baseline and targets are what earlier readings were judged against.
        details: { changes },
      },
      context,
      trx,
    );
  }

  /** A KPI's fields as its form shows them, from the KPI as `loadKpis` gives it. */
  function kpiFormValues(kpi: {
    reference: string;
    name: string;
    description: string;
    unit: string;
    direction: string;
    baseline: { date: string; value: number };
    targets: readonly { date: string; value: number; label: string | null }[];
  }): KpiInput {
    return {
      reference: kpi.reference,
      name: kpi.name,
      description: kpi.description,
      unit: kpi.unit,
      direction: kpi.direction,
      baselineValue: plainNumber(kpi.baseline.value),
      baselineDate: kpi.baseline.date,
      targets: formatTargets(kpi.targets),
    };
  }

  async function loadKpis(plan: PlanListRow) {
    const kpis = await repository.findKpis(plan.id);
    const ids = kpis.map((kpi) => kpi.id);
    const [targets, points, links] = await Promise.all([
      repository.findTargets(ids),
      repository.findDataPoints(ids),
      repository.findKpiActionLinks(plan.id),
    ]);
    return kpis.map((kpi) => {
      const kpiTargets = targets.filter((target) => target.kpi_id === kpi.id);
      const kpiPoints = points.filter((point) => point.kpi_id === kpi.id);
      const baseline: TrajectoryPoint = { date: kpi.baseline_date, value: kpi.baseline_value };
      const path = trajectoryPath(
        baseline,
        kpiTargets.map((target) => ({ date: target.target_date, value: target.target_value })),
      );
      const latest = kpiPoints.at(-1);
      const direction = kpi.direction === 'increase' ? 'increase' : 'decrease';
      const standing = trajectoryStanding(
        path,
        latest ? { date: latest.observed_on, value: latest.value } : undefined,
        direction,
      );
      return {
        id: kpi.id,
        reference: kpi.reference,
        name: kpi.name,
        description: kpi.description,
        unit: kpi.unit,
        direction: direction as 'increase' | 'decrease',
        baseline,
        targets: kpiTargets.map((target) => ({
          id: target.id,
          date: target.target_date,
          value: target.target_value,
          label: target.label,
        })),
        dataPoints: kpiPoints.map((point) => ({
          id: point.id,
          date: point.observed_on,
          value: point.value,
          source: point.source,
          note: point.note,
          expected: expectedValueOn(path, point.observed_on),
        })),
        path,
        latest: latest ? { date: latest.observed_on, value: latest.value } : null,
        standing: standing.standing,
        expectedAtLatest: standing.expected,
        actionIds: links.filter((link) => link.kpi_id === kpi.id).map((link) => link.action_id),
      };
    });
  }

  // --- timeline ---

  /**
   * An action's updates and history, newest first. With `editFieldsAfterChange`, only the history
   * entries after that one, and in them only the fields the edit form holds: what an edit form
   * opened at that entry did not show.
   */
  async function buildTimeline(
    plan: PlanListRow,
    action: ActionListRow,
    actor: Actor | null,
    state: PlanState,
    options: { editFieldsAfterChange?: number } = {},
  ) {
    const seeNames = canSeeActionNames(actor, plan, action);
    const after = options.editFieldsAfterChange;
    const [updates, changes] = await Promise.all([
      after === undefined ? repository.findUpdates(plan.id) : [],
      repository.findChanges(plan.id),
    ]);
    const ownUpdates = updates.filter((update) => update.action_id === action.id);
    const updateIds = ownUpdates.map((update) => update.id);
    const [files, links] = await Promise.all([
      repository.findUpdateFiles(updateIds),
      repository.findUpdateLinks(updateIds),
    ]);
    const areaName = new Map(state.areas.map((area) => [area.id, area.name]));
    const ownerName = new Map(
      state.rows
        .filter((row) => row.owner_user_id)
        .map((row) => [row.owner_user_id!, row.owner_name ?? 'someone']),
    );
    const show = (field: string, value: string | null): string => {
      if (value === null || value === '') return '—';
      if (field === 'area') return areaName.get(value) ?? value;
      if (field === 'status') return isActionStatus(value) ? actionStatusLabels[value] : value;
      if (field === 'owner')
        return seeNames ? (ownerName.get(value) ?? 'a former owner') : 'an owner';
      if (field === 'progress_percent') return `${value}%`;
      return value;
    };
    const entries: {
      kind: 'update' | 'change';
      date: string;
      at: string;
      title: string;
      by: string | null;
      text?: string;
      statusLabel?: string;
      progress?: number;
      files?: { id: string; name: string; sizeBytes: number; extension: string }[];
      links?: { url: string; title: string }[];
      changes?: { label: string; from: string; to: string }[];
    }[] = [];
    for (const update of ownUpdates) {
      entries.push({
        kind: 'update',
        date: update.update_date,
        at: update.created_at,
        title: 'Progress update',
        by: seeNames ? update.author_name : null,
        text: update.narrative,
        statusLabel: isActionStatus(update.status)
          ? actionStatusLabels[update.status]
          : update.status,
        progress: update.progress_percent,
        files: files
          .filter((file) => file.update_id === update.id)
          .map((file) => ({
            id: file.file_id,
            name: file.original_name,
            sizeBytes: Number(file.size_bytes),
            extension: file.extension,
          })),
        links: links
          .filter((link) => link.update_id === update.id)
          .map((link) => ({ url: link.url, title: link.title })),
      });
    }
    const kindTitles: Record<string, string> = {
      created: 'Action added',
      imported: 'Changed by a spreadsheet import',
      edited: 'Action changed',
      progress_update: 'Status and progress changed by an update',
      milestone_added: 'Milestone added',
      milestone_done: 'Milestone done',
    };
    for (const change of changes.filter((item) => item.action_id === action.id)) {
      let items = JSON.parse(change.changes) as FieldChange[];
      if (after !== undefined) {
        if (Number(change.id) <= after) continue;
        items = items.filter((item) => editFormHistoryFields.has(item.field));
        if (items.length === 0) continue;
      }
      const isCreation =
        items.every((item) => item.from === null) &&
        (change.kind === 'created' || change.kind === 'imported');
      entries.push({
        kind: 'change',
        date: change.effective_on,
        at: change.recorded_at,
        title: isCreation
          ? change.kind === 'imported'
            ? 'Action added by a spreadsheet import'
            : 'Action added'
          : (kindTitles[change.kind] ?? 'Changed'),
        by: seeNames ? change.changed_by_name : null,
        changes: isCreation
          ? []
          : items.map((item) => ({
              label: fieldHistoryLabels[item.field] ?? item.field,
              from: show(item.field, item.from),
              to: show(item.field, item.to),
            })),
      });
    }
    return entries.sort((a, b) =>
      a.date !== b.date ? (a.date < b.date ? 1 : -1) : a.at < b.at ? 1 : a.at > b.at ? -1 : 0,
    );
  }

  /** One attempt at `updateKpi`: checked against the KPIs as read, written if they still are. */
  async function updateKpiOnce(
    actor: Actor | null,
    planId: string,
    kpiId: string,
    input: KpiEditInput,
    context: RequestContext,
  ): Promise<void> {
    const plan = await requireEditablePlan(actor, planId);
    const existing = await repository.findKpis(plan.id);
    const before = existing.find((item) => item.id === kpiId);
    if (!before) throw new NotFoundError('That KPI was not found.');
    const targetsBefore = await repository.findTargets([before.id]);
    const { opened: openedText, ...entered } = input;
    let fields: KpiInput = entered;
    if (openedText !== undefined) {
      // Merged with what others changed since the form was opened, as an action's form is.
      const opened = decodeOpenedForm(openedText, kpiEditFields);
      const now = kpiFormValues({
        ...before,
        baseline: { date: before.baseline_date, value: before.baseline_value },
        targets: targetsBefore.map((target) => ({
          date: target.target_date,
          value: target.target_value,
          label: target.label,
        })),
      });
      if (!opened)
        throw new KpiEditConflict(
          changedFrom(now, entered, kpiEditFields),
          entered,
          [],
          'no-basis',
        );
      const merged = mergeEdit(kpiEditFields, opened.values, now, entered);
      if (merged.clashes.length > 0)
        throw new KpiEditConflict(
          merged.clashes,
          merged.values,
          kpiChangesSince(opened.values, now),
        );
      fields = merged.values;
    }
    const checked = checkKpiInput(fields, existing, before.id);
    const changes = await kpiChanges(before, checked);
    if (changes.length === 0) return;
    await repository.transaction(async (trx) => {
      // Held as a KPI import holds it, so that the two take turns on PostgreSQL. A change to any
      // of the plan's KPIs since they were read (the checks used their references) sends the
      // form back to be checked again.
      await repository.holdPlan(trx, plan.id);
      const [kpisNow, targetsNow] = await Promise.all([
        repository.findKpis(plan.id, trx),
        repository.findTargets([before.id], trx),
      ]);
      if (
        JSON.stringify(kpisNow) !== JSON.stringify(existing) ||
        JSON.stringify(targetsNow) !== JSON.stringify(targetsBefore)
      )
        throw new PlanMovedDuringEdit();
      await writeKpiChanges(trx, plan, before, checked, changes, actor!.userId, context);
    });
  }

  /** Each KPI field whose value now differs from what a form showed, in the form's words. */
  function kpiChangesSince(
    shown: KpiInput,
    now: KpiInput,
  ): { label: string; from: string; to: string }[] {
    const text = (field: keyof KpiInput, value: string) =>
      field === 'direction'
        ? ({ decrease: 'Lower is better', increase: 'Higher is better' }[value] ?? value)
        : value || '—';
    return kpiEditFields
      .filter((field) => shown[field] !== now[field])
      .map((field) => ({
        label: kpiFieldLabels[field],
        from: text(field, shown[field]),
        to: text(field, now[field]),
      }));
  }

  /** An action's fields as its edit form shows them. */
  function actionEditValues(state: PlanState, actionId: string): Record<ActionEditField, string> {
    const action = state.actions.find((item) => item.id === actionId)!;
    const parent = action.parentId
      ? state.actions.find((item) => item.id === action.parentId)
      : undefined;
    return {
      reference: action.reference,
      parent_reference: parent?.reference ?? '',
      area: action.areaSlug,
      title: action.title,
      description: action.description,
      lead_organisation: action.leadOrganisationCode,
      partner_organisations: action.partners.map((partner) => partner.code).join('; '),
      owner_email: action.ownerEmail ?? '',
      start_date: action.startDate ?? '',
      due_date: action.dueDate ?? '',
      status: action.status,
      progress_percent: String(action.ownProgress),
      weight: String(action.weight),
    };
  }

  /**
   * An edit form's save merged with what others changed since the form was opened (`mergeEdit`):
   * their changes to fields this save left alone are kept. Throws ActionEditConflict where both
   * changed a field, or when the form's opened values cannot be read. A save without opened values
   * (not from the form) is taken as it is.
   */
  function mergedWithOthersChanges(
    state: PlanState,
    actionId: string,
    input: ActionEditInput,
  ): ActionFormInput {
    const { opened: openedText, ...fields } = input;
    if (openedText === undefined) return fields;
    const submitted: Partial<Record<ActionEditField, string>> = {};
    for (const field of actionEditFields) {
      const value = fields[field];
      // A blank reference keeps the action's own; a form without the owner cannot change it.
      if (value === undefined || (field === 'reference' && value.trim() === '')) continue;
      submitted[field] = value;
    }
    const opened = decodeOpenedForm(openedText, actionEditFields);
    const now = actionEditValues(state, actionId);
    if (!opened)
      throw new ActionEditConflict(
        changedFrom(now, submitted, actionEditFields),
        fields,
        null,
        'no-basis',
      );
    const merged = mergeEdit(actionEditFields, opened.values, now, submitted);
    if (merged.clashes.length > 0)
      throw new ActionEditConflict(merged.clashes, merged.values, opened.lastChangeId);
    const values: ActionFormInput = { ...fields, ...merged.values };
    if (fields.owner_email === undefined) delete values.owner_email;
    return values;
  }

  /** One attempt at `updateAction`: checked against the plan as read, written if it still is. */
  async function updateActionOnce(
    actor: Actor | null,
    planId: string,
    actionId: string,
    input: ActionEditInput,
    context: RequestContext,
  ): Promise<void> {
    const performer = performerOf(actor);
    const { plan } = await requireChangeableAction(actor, planId, actionId);
    const loaded = await loadPlanState(plan, actor);
    const everyAction = existingFields(loaded);
    const before = everyAction.find((action) => action.id === actionId)!;
    // Only the plan's editors rename an action: refused before anything else is looked at.
    const asked = (input.reference ?? '').trim();
    if (asked !== '' && asked !== before.reference && !canEditPlan(actor, plan))
      throw new ForbiddenError("Not allowed: change an action's reference");
    const entered = mergedWithOthersChanges(loaded, actionId, input);
    const requested = (entered.reference ?? '').trim();
    const reference = requested === '' ? before.reference : requested;
    const renamedFrom = new Map<string, string>();
    // A reference merged in from others' changes is the action's own (`before`), so only one asked
    // for above can rename it.
    if (reference !== before.reference) {
      if (loaded.actions.some((action) => action.reference === reference))
        throw new ValidationFailed({
          reference: `The plan already has an action with the reference ${reference}`,
        });
      renamedFrom.set(actionId, before.reference);
    }
    // Checked and written as if the action already had its new reference, so that its children
    // and the tree checks find it by that.
    const state = renamedFrom.size
      ? {
          ...loaded,
          actions: loaded.actions.map((action) =>
            action.id === actionId ? { ...action, reference } : action,
          ),
        }
      : loaded;
    const raw = rawRowFromForm({
      ...entered,
      reference,
      milestones: formatMilestones(before.milestones),
    });
    if (raw.values.weight === '') raw.values.weight = '1';
    // Someone who may not see names keeps the owner as it is.
    if (entered.owner_email === undefined)
      raw.values.owner_email = state.actions.find((a) => a.id === actionId)!.ownerEmail ?? '';
    const importContext = await buildImportContext(plan, state, [raw], performer);
    const { problems, actions } = validateImportRows([raw], importContext);
    // The milestones are not on the form and were valid as stored, so a problem with them is a
    // start date moved past one of them: the start date is the field to correct.
    if (problems.length > 0)
      throw new ValidationFailed(
        formProblemsToFieldErrors(
          problems.map((problem) =>
            problem.field === 'milestones' ? { ...problem, field: 'start_date' } : problem,
          ),
        ),
      );
    const moveRefused = refusedMove(actor, plan, state, before.parentReference, actions[0]!);
    if (moveRefused) throw new ValidationFailed({ parent_reference: moveRefused });
    if (actionFieldsEqual(before, actions[0]!)) return;
    await repository.transaction(async (trx) => {
      // Held as an import's commit holds it, so that the two take turns (PostgreSQL; SQLite has
      // one writer): a commit then sees this edit and is refused rather than undoing it.
      await repository.holdPlan(trx, plan.id);
      // A change to any of the plan's actions since it was read above (the checks used their
      // references and parents too) sends the edit back to be checked again.
      const now = existingFields(await loadPlanState(plan, actor, trx));
      if (JSON.stringify(now) !== JSON.stringify(everyAction)) throw new PlanMovedDuringEdit();
      await applyActions(trx, plan, state, actions, performer, 'edited', renamedFrom);
      await audit.record(
        {
          action: 'green_plan.action_changed',
          actorUserId: performer.userId,
          targetType: 'green_plan_action',
          targetId: actionId,
          organisationCode: actions[0]!.leadOrganisationCode,
          details: {
            fields: describeDifferences(before, actions[0]!).map((change) => change.field),
            // Imports match on the reference, so the audit says which one it was.
            ...(renamedFrom.size > 0
              ? { reference: { from: before.reference, to: reference } }
              : {}),
          },
        },
        context,
        trx,
      );
    });
  }

  return {
    canReadPlan,
    canEditPlan,

    /** Plans the actor may see: published ones, and drafts of their organisations. */
    async listPlans(actor: Actor | null) {
      const rows = await repository.listPlans();
      return rows
        .filter((row) => canReadPlan(actor, row))
        .map((row) => ({ ...toPlanView(row), canEdit: canEditPlan(actor, row) }));
    },

    /** The seeded LLR plan, if it exists and is published, for the home page's link. */
    async findPublishedPlanBySlug(slug: string) {
      const row = await repository.findPlanBySlug(slug);
      return row && row.status === 'published' ? toPlanView(row) : undefined;
    },

    /** Organisations for which the actor may create a plan (ICBs and trusts they edit for). */
    async listPlanOwnerOptions(actor: Actor | null) {
      if (!actor) return [];
      const codes = new Set<string>();
      for (const membership of actor.memberships) codes.add(membership.organisationCode);
      const options: { code: string; name: string }[] = [];
      const candidates = new Set(codes);
      // ICS admins reach the trusts under their ICB too; platform admins every ICB and trust.
      const reachingIcbs = actor.memberships
        .filter((membership) => membership.role === 'ics_admin')
        .map((membership) => membership.organisationCode);
      if (actor.isPlatformAdmin) {
        const { icbs } = await deps.organisations.getDirectoryFilterOptions();
        for (const icb of icbs) candidates.add(icb.code);
        const trusts = await deps.organisations.searchDirectory({
          type: 'nhs_trust',
          page: 1,
          pageSize: 500,
        });
        for (const trust of trusts.items) candidates.add(trust.code);
      }
      for (const icb of reachingIcbs) {
        const trusts = await deps.organisations.searchDirectory({
          type: 'nhs_trust',
          icb,
          page: 1,
          pageSize: 500,
        });
        for (const trust of trusts.items) candidates.add(trust.code);
      }
      for (const code of candidates) {
        const organisation = await organisationResourceOf(code);
        if (
          organisation &&
          (planOwnerTypes as readonly string[]).includes(organisation.type) &&
          can(actor, 'organisation.edit_content', organisation)
        )
          options.push({ code: organisation.code, name: organisation.name });
      }
      return options.sort((a, b) => a.name.localeCompare(b.name));
    },

    /** Refuses someone who can create no plan at all. */
    async assertCanCreatePlans(actor: Actor | null) {
      if ((await this.listPlanOwnerOptions(actor)).length === 0)
        throw new ForbiddenError('Not allowed: create a plan');
    },

    async createPlan(
      actor: Actor | null,
      input: PlanFormInput,
      context: RequestContext,
      options: { submissionKey?: string } = {},
    ): Promise<string> {
      const performer = performerOf(actor);
      const prepared = await preparePlan(performer, input);
      return createdOnce(
        performer,
        options.submissionKey,
        ['plan', input],
        (id) => `/green-plans/${id}`,
        /^\/green-plans\/([^/]+)$/,
        (recordSubmission) =>
          repository.transaction(async (trx) => {
            const id = await insertPlan(trx, performer, prepared, { context });
            await recordSubmission(trx, id);
            return id;
          }),
      );
    },

    async getPlanForEdit(actor: Actor | null, planId: string) {
      return toPlanView(await requireEditablePlan(actor, planId));
    },

    async updatePlan(
      actor: Actor | null,
      planId: string,
      input: Omit<PlanFormInput, 'ownerOrganisationCode'>,
      context: RequestContext,
    ) {
      const plan = await requireEditablePlan(actor, planId);
      const { errors, values } = validatePlanInput({
        ...input,
        ownerOrganisationCode: plan.owner_organisation_code,
      });
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      await repository.transaction(async (trx) => {
        const changed = (
          ['title', 'description', 'period_start', 'period_end', 'status'] as const
        ).filter((field) => {
          const next = {
            title: values.title,
            description: values.description,
            period_start: values.periodStart,
            period_end: values.periodEnd,
            status: values.status,
          }[field];
          return plan[field] !== next;
        });
        await repository.updatePlan(trx, plan.id, {
          title: values.title,
          description: values.description,
          period_start: values.periodStart,
          period_end: values.periodEnd,
          status: values.status,
          updated_at: now().toISOString(),
        });
        await audit.record(
          {
            action: 'green_plan.changed',
            actorUserId: actor!.userId,
            targetType: 'green_plan',
            targetId: plan.id,
            organisationCode: plan.owner_organisation_code,
            details: { fields: changed },
          },
          context,
          trx,
        );
      });
    },

    /** The confirmation page: what deleting the plan would take with it. */
    async getPlanForDeletion(actor: Actor | null, planId: string) {
      const plan = await requireEditablePlan(actor, planId);
      const scope = await repository.findDeletionScope(repository.db, plan.id);
      return {
        plan: toPlanView(plan),
        counts: {
          actions: scope.actionIds.length,
          updates: scope.updateCount,
          evidenceFiles: scope.evidenceFileIds.length,
          kpis: scope.kpiIds.length,
        },
      };
    },

    /**
     * Deletes a draft plan and everything in it, in one transaction: areas, actions, milestones,
     * updates with their evidence files, history, comments, KPIs with their values, imports with
     * their files, and the notifications that lead to it. The audit log keeps its records and one
     * more for the deletion. The files' bytes go after the commit; the keys of any that could not
     * be removed are returned for the log.
     */
    async deletePlan(
      actor: Actor | null,
      planId: string,
      context: RequestContext,
    ): Promise<{ title: string; bytesLeft: string[] }> {
      const plan = await requireEditablePlan(actor, planId);
      const storageKeys = await repository.transaction(async (trx) => {
        // Taking the plan's row first makes a change that touches the plan wait for the deletion
        // (PostgreSQL), and refuses the deletion if the plan was published meanwhile.
        if (!(await repository.holdDraftPlan(trx, plan.id, now().toISOString()))) {
          throw new PlanStillPublished();
        }
        const scope = await repository.findDeletionScope(trx, plan.id);
        const kpiImportFiles = [
          ...(await audit.findDetails(
            { actions: kpiImportAuditActions.plan, targetType: 'green_plan', targetIds: [plan.id] },
            trx,
          )),
          ...(await audit.findDetails(
            {
              actions: kpiImportAuditActions.kpi,
              targetType: 'green_plan_kpi',
              targetIds: scope.kpiIds,
            },
            trx,
          )),
        ]
          .map((details) => details.file)
          .filter((file): file is string => typeof file === 'string');
        await deps.onPlanDeleted?.(trx, { planId: plan.id, actionIds: scope.actionIds });
        await repository.deletePlan(trx, plan.id);
        const fileIds = [
          ...new Set([...scope.evidenceFileIds, ...scope.importFileIds, ...kpiImportFiles]),
        ];
        const keys = await deps.files.forgetFiles(trx, fileIds);
        await audit.record(
          {
            action: 'green_plan.deleted',
            actorUserId: actor!.userId,
            targetType: 'green_plan',
            targetId: plan.id,
            organisationCode: plan.owner_organisation_code,
            details: {
              title: plan.title,
              slug: plan.slug,
              actions: scope.actionIds.length,
              updates: scope.updateCount,
              kpis: scope.kpiIds.length,
              files: fileIds.length,
            },
          },
          context,
          trx,
        );
        return keys;
      });
      return { title: plan.title, bytesLeft: await deps.files.removeStoredBytes(storageKeys) };
    },

    /** Refuses anyone but the plan's editors, and an action not in the plan, before a form is read. */
    async assertCanDeleteAction(actor: Actor | null, planId: string, actionId: string) {
      await requireAction(actor, await requireEditablePlan(actor, planId), actionId);
    },

    /** The page to delete an action: for the plan's editors; says what goes with it. */
    async getActionForDeletion(actor: Actor | null, planId: string, actionId: string) {
      const plan = await requireEditablePlan(actor, planId);
      const action = await requireAction(actor, plan, actionId);
      const scope = await repository.findActionDeletionScope(repository.db, action.id);
      return {
        plan: toPlanView(plan),
        action: { id: action.id, reference: action.reference, title: action.title },
        subActionReferences: scope.subActionReferences,
        counts: await deletionCounts(repository.db, action.id, scope),
      };
    },

    /**
     * Deletes an action added by mistake, with its milestones, updates and their evidence files,
     * history, comments, KPI links and the notifications that lead to it, in one transaction; the
     * plan's editors only, and only an action without sub-actions. The audit log keeps every
     * record and one more for the deletion; the files' bytes go after the commit. Given the counts
     * its confirmation page showed, it deletes only if they are still what would go
     * (ActionDeletionChanged otherwise), so nothing is deleted that the editor was not told of.
     */
    async deleteAction(
      actor: Actor | null,
      planId: string,
      actionId: string,
      context: RequestContext,
      shown?: ActionDeletionCounts,
    ): Promise<{ reference: string; title: string; bytesLeft: string[] }> {
      const plan = await requireEditablePlan(actor, planId);
      const action = await requireAction(actor, plan, actionId);
      const outcome = await repository.transaction(async (trx) => {
        // Held as every change to the plan holds it: an edit, update or import waits, then finds
        // the action gone; an import checked before the deletion is refused at its commit.
        await repository.holdPlan(trx, plan.id);
        // As it is now: renamed while the page was open, it is recorded by its new reference.
        const current = await requireActionStill(actor, trx, plan, action.id);
        const scope = await repository.findActionDeletionScope(trx, action.id);
        if (scope.subActionReferences.length > 0)
          throw new ActionHasSubActions(scope.subActionReferences);
        const counts = await deletionCounts(trx, action.id, scope);
        if (
          shown &&
          (Object.keys(counts) as (keyof ActionDeletionCounts)[]).some(
            (key) => counts[key] !== shown[key],
          )
        )
          throw new ActionDeletionChanged(shown, counts);
        await deps.onActionDeleted?.(trx, { planId: plan.id, actionId: action.id });
        await repository.deleteAction(trx, action.id);
        const keys = await deps.files.forgetFiles(trx, scope.evidenceFileIds);
        await audit.record(
          {
            action: 'green_plan.action_deleted',
            actorUserId: actor!.userId,
            targetType: 'green_plan_action',
            targetId: action.id,
            // The plan's organisation, whose editors may delete its actions (as for a plan).
            organisationCode: plan.owner_organisation_code,
            details: {
              plan: plan.id,
              reference: current.reference,
              title: current.title,
              leadOrganisation: current.lead_organisation_code,
              updates: scope.updateCount,
              milestones: scope.milestoneCount,
              kpiLinks: scope.kpiLinkCount,
              files: scope.evidenceFileIds.length,
              comments: counts.comments,
            },
          },
          context,
          trx,
        );
        return { keys, deleted: current };
      });
      return {
        reference: outcome.deleted.reference,
        title: outcome.deleted.title,
        bytesLeft: await deps.files.removeStoredBytes(outcome.keys),
      };
    },

    async addArea(
      actor: Actor | null,
      planId: string,
      input: { name: string; description: string },
      context: RequestContext,
    ) {
      const plan = await requireEditablePlan(actor, planId);
      const name = input.name.trim();
      const description = input.description.trim();
      const areas = await repository.findAreas(plan.id);
      if (name === '') throw new ValidationFailed({ name: 'Enter a name for the area of focus' });
      if (name.length > 100)
        throw new ValidationFailed({ name: 'The name must be 100 characters or fewer' });
      if (description.length > 1000)
        throw new ValidationFailed({
          description: 'The description must be 1,000 characters or fewer',
        });
      if (areas.some((area) => area.name.toLowerCase() === name.toLowerCase()))
        throw new ValidationFailed({
          name: 'The plan already has an area of focus with this name',
        });
      let slug = slugify(name);
      for (let suffix = 2; areas.some((area) => area.slug === slug); suffix++)
        slug = `${slugify(name)}-${suffix}`;
      await repository.transaction(async (trx) => {
        const id = randomUUID();
        await repository.insertArea(trx, {
          id,
          plan_id: plan.id,
          slug,
          name,
          description: description || null,
          national_slug: null,
          position: areas.length + 1,
        });
        await audit.record(
          {
            action: 'green_plan.area_added',
            actorUserId: actor!.userId,
            targetType: 'green_plan',
            targetId: plan.id,
            organisationCode: plan.owner_organisation_code,
            details: { area: name },
          },
          context,
          trx,
        );
      });
      return slug;
    },

    /** Everything the plan overview shows. */
    async getPlanOverview(actor: Actor | null, planId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const state = await loadPlanState(plan, actor);
      const summary = summariseActions(state, state.actions);
      return {
        plan: toPlanView(plan),
        canEdit: canEditPlan(actor, plan),
        canPostUpdates: state.rows.some((action) => canChangeAction(actor, action)),
        canSeeNames: canSeeNames(actor, plan),
        summary,
        areas: areaSummaries(state),
        kpis: await loadKpis(plan),
        currentQuarter: quarterOf(today()),
      };
    },

    /** The plan's actions, filtered, in tree order, with the choices the filters offer. */
    async listActions(actor: Actor | null, planId: string, filters: ActionFilters) {
      const plan = await requireReadablePlan(actor, planId);
      const state = await loadPlanState(plan, actor);
      const day = today();
      const quarter = quarterOf(day);
      const ownerId = filters.owner === 'me' ? actor?.userId : filters.owner;
      const matches = state.actions.filter((action) => {
        if (filters.area && action.areaSlug !== filters.area) return false;
        if (
          filters.organisation &&
          action.leadOrganisationCode !== filters.organisation &&
          !action.partners.some((partner) => partner.code === filters.organisation)
        )
          return false;
        if (filters.status && action.status !== filters.status) return false;
        if (
          filters.owner &&
          (!ownerId ||
            action.ownerUserId !== ownerId ||
            (!canSeeNames(actor, plan) && filters.owner !== 'me'))
        )
          return false;
        if (filters.due) {
          if (filters.due === 'overdue') return action.overdue;
          if (!action.dueDate || action.status === 'complete' || action.status === 'cancelled')
            return false;
          const end =
            filters.due === 'next-30-days'
              ? addDays(day, 30)
              : filters.due === 'next-90-days'
                ? addDays(day, 90)
                : quarter.end;
          return action.dueDate >= day && action.dueDate <= end;
        }
        return true;
      });
      const organisations = new Map<string, string>();
      for (const action of state.actions) {
        organisations.set(action.leadOrganisationCode, action.leadOrganisationName);
        for (const partner of action.partners) organisations.set(partner.code, partner.name);
      }
      const owners = new Map<string, string>();
      if (canSeeNames(actor, plan))
        for (const action of state.actions)
          if (action.ownerUserId && action.ownerName)
            owners.set(action.ownerUserId, action.ownerName);
      return {
        plan: toPlanView(plan),
        canEdit: canEditPlan(actor, plan),
        actions: matches,
        total: state.actions.length,
        summary: summariseActions(state, matches),
        options: {
          areas: state.areas.map((area) => ({ value: area.slug, text: area.name })),
          organisations: [...organisations]
            .map(([code, name]) => ({ value: code, text: name }))
            .sort((a, b) => a.text.localeCompare(b.text)),
          owners: [...owners]
            .map(([id, name]) => ({ value: id, text: name }))
            .sort((a, b) => a.text.localeCompare(b.text)),
        },
      };
    },

    async getArea(actor: Actor | null, planId: string, areaSlug: string) {
      const plan = await requireReadablePlan(actor, planId);
      const state = await loadPlanState(plan, actor);
      const area = state.areas.find((item) => item.slug === areaSlug);
      if (!area) throw new NotFoundError('That area of focus was not found in this plan.');
      const actions = state.actions.filter((action) => action.areaId === area.id);
      const kpis = (await loadKpis(plan)).filter((kpi) =>
        kpi.actionIds.some((id) => actions.some((action) => action.id === id)),
      );
      return {
        plan: toPlanView(plan),
        canEdit: canEditPlan(actor, plan),
        area: {
          id: area.id,
          slug: area.slug,
          name: area.name,
          description: area.description,
          isNational: area.national_slug !== null,
        },
        actions,
        summary: summariseActions(state, actions),
        kpis,
      };
    },

    /** The action page: the action, its sub-actions, milestones, KPIs and timeline. */
    /**
     * Refuses an action the actor may not read, or that is not there: not found (404), or deleted
     * (410, said as the action's own page says it), before anything is sent to it from elsewhere.
     */
    async assertCanReadAction(actor: Actor | null, planId: string, actionId: string) {
      await requireAction(actor, await requireReadablePlan(actor, planId), actionId);
    },

    async getAction(actor: Actor | null, planId: string, actionId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const row = await requireAction(actor, plan, actionId);
      const state = await loadPlanState(plan, actor);
      const action = state.actions.find((item) => item.id === row.id)!;
      const children = state.actions.filter((item) => item.parentId === action.id);
      const parent = action.parentId
        ? state.actions.find((item) => item.id === action.parentId)
        : undefined;
      const kpis = (await loadKpis(plan)).filter((kpi) => kpi.actionIds.includes(action.id));
      const canComment = await canCommentOn(actor, plan, row, action.partners);
      return {
        plan: toPlanView(plan),
        action,
        parent,
        children,
        kpis,
        timeline: await buildTimeline(plan, row, actor, state),
        canChange: canChangeAction(actor, row),
        canComment,
        canEditPlan: canEditPlan(actor, plan),
        isParent: children.length > 0,
      };
    },

    /**
     * An action's edit and update forms. With `changedSince` (the last history entry when an edit
     * form was opened), also the changes made since then to the fields the edit form holds, the
     * latest first.
     */
    async getActionForChange(
      actor: Actor | null,
      planId: string,
      actionId: string,
      options: { changedSince?: number | null } = {},
    ) {
      const { plan, action: row } = await requireChangeableAction(actor, planId, actionId);
      // Read before the action, so that a change landing in between is listed, not missed.
      const lastChangeId = await repository.findLastChangeId(actionId);
      const state = await loadPlanState(plan, actor);
      const action = state.actions.find((item) => item.id === actionId)!;
      const sinceId = options.changedSince ?? null;
      const editValues = actionEditValues(state, actionId);
      const descendants = new Set<string>();
      const collect = (id: string) => {
        for (const child of state.actions.filter((item) => item.parentId === id)) {
          descendants.add(child.id);
          collect(child.id);
        }
      };
      collect(action.id);
      return {
        plan: toPlanView(plan),
        action,
        /** What the form shows now, carried by it for `mergedWithOthersChanges`. */
        opened: encodeOpenedForm({ values: editValues, lastChangeId }),
        changesSinceOpened:
          sinceId === null
            ? []
            : (
                await buildTimeline(plan, row, actor, state, { editFieldsAfterChange: sinceId })
              ).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)),
        isParent: action.childIds.length > 0,
        /** Only the plan's editors rename an action: spreadsheet imports match actions by it. */
        canRename: canEditPlan(actor, plan),
        /** Only the plan's editors delete an action (see `deleteAction`). */
        canDelete: canEditPlan(actor, plan),
        latestUpdateDate:
          (await repository.findUpdates(plan.id)).find((update) => update.action_id === action.id)
            ?.update_date ?? null,
        areas: state.areas.map((area) => ({ value: area.slug, text: area.name })),
        parentOptions: state.actions
          .filter((item) => item.id !== action.id && !descendants.has(item.id))
          .map((item) => ({ value: item.reference, text: `${item.reference} ${item.title}` })),
        values: {
          ...editValues,
          milestones: formatMilestones(action.milestones),
        } satisfies Record<ImportColumn, string>,
      };
    },

    /** The form to add an action: for plan editors (top level) or those who may change the parent. */
    async getNewActionForm(actor: Actor | null, planId: string, parentReference?: string) {
      const plan = await requireReadablePlan(actor, planId).catch((error: unknown) => {
        if (error instanceof NotFoundError && actor === null) throw new ForbiddenError('Sign in');
        throw error;
      });
      const state = await loadPlanState(plan, actor);
      const parent = parentReference
        ? state.actions.find((action) => action.reference === parentReference)
        : undefined;
      if (parentReference && !parent) throw new NotFoundError('That parent action was not found.');
      if (!mayPlaceUnder(actor, plan, parent))
        throw new ForbiddenError('Not allowed: add an action here');
      return {
        plan: toPlanView(plan),
        parent,
        areas: state.areas.map((area) => ({ value: area.slug, text: area.name })),
        parentOptions: state.actions.map((item) => ({
          value: item.reference,
          text: `${item.reference} ${item.title}`,
        })),
      };
    },

    /** Adds an action from the web form, through the same checks as an import row. */
    async createAction(
      actor: Actor | null,
      planId: string,
      input: ActionFormInput,
      context: RequestContext,
      options: { submissionKey?: string } = {},
    ): Promise<string> {
      const performer = performerOf(actor);
      const form = await this.getNewActionForm(actor, planId, input.parent_reference || undefined);
      const plan = (await repository.findPlan(form.plan.id))!;
      const state = await loadPlanState(plan, actor);
      const raw = rawRowFromForm(input);
      let numberedIn: string | null = null;
      if (raw.values.reference === '' && raw.values.area) {
        const area = state.areas.find(
          (item) => item.slug === raw.values.area || item.name === raw.values.area,
        );
        if (area) {
          raw.values.reference = await nextReference(state, area.id);
          numberedIn = area.id;
        }
      }
      const takenError = (reference: string) =>
        new ValidationFailed({
          reference: `The plan already has an action with the reference ${reference}`,
        });
      if (
        raw.values.reference !== '' &&
        state.actions.some((action) => action.reference === raw.values.reference)
      )
        throw takenError(raw.values.reference);
      if (raw.values.weight === '') raw.values.weight = '1';
      if (raw.values.progress_percent === '') raw.values.progress_percent = '0';
      if (raw.values.status === '') raw.values.status = 'not_started';
      const importContext = await buildImportContext(plan, state, [raw], performer);
      const { problems, actions } = validateImportRows([raw], importContext);
      if (problems.length > 0) throw new ValidationFailed(formProblemsToFieldErrors(problems));
      return createdOnce(
        performer,
        options.submissionKey,
        ['plan-action', plan.id, input],
        (id) => `/green-plans/${plan.id}/actions/${id}`,
        /\/actions\/([^/]+)$/,
        (recordSubmission) =>
          repository.transaction(async (trx) => {
            // Another action may have been added since the plan was read. Holding the plan's row makes
            // a second addition wait for this one (PostgreSQL; SQLite has one writer), and the
            // references are read again here: a number this form chose moves on to the next free one,
            // a reference someone typed is refused.
            await repository.holdPlan(trx, plan.id);
            const actionsNow = await repository.findActions(plan.id, trx);
            const taken = new Set(actionsNow.map((action) => action.reference));
            // A parent deleted since the form was checked: the sub-action has nowhere to go. One
            // moved to another area, or given another lead organisation, decided the checks above
            // (a sub-action is in its parent's area; who may add under it): they no longer hold.
            const parent = actions[0]!.parentReference;
            if (parent !== null) {
              const checked = state.actions.find((action) => action.reference === parent);
              const now = checked && actionsNow.find((row) => row.id === checked.id);
              if (!checked || !now)
                throw new ValidationFailed({
                  parent_reference: `${parent} is no longer in the plan: choose where the action goes`,
                });
              if (
                now.area_id !== checked.areaId ||
                now.lead_organisation_code !== checked.leadOrganisationCode
              )
                throw new ValidationFailed({
                  parent_reference: `${parent} was changed while this action was being added: check where the action goes and send it again`,
                });
            }
            if (taken.has(actions[0]!.reference)) {
              if (numberedIn === null) throw takenError(actions[0]!.reference);
              actions[0] = {
                ...actions[0]!,
                reference: await nextReference(state, numberedIn, taken),
              };
            }
            const result = await applyActions(trx, plan, state, actions, performer, 'edited');
            const id = result.createdIds[0]!;
            await audit.record(
              {
                action: 'green_plan.action_added',
                actorUserId: performer.userId,
                targetType: 'green_plan_action',
                targetId: id,
                organisationCode: actions[0]!.leadOrganisationCode,
                details: { plan: plan.id, reference: actions[0]!.reference },
              },
              context,
              trx,
            );
            await recordSubmission(trx, id);
            return id;
          }),
      );
    },

    /**
     * Changes an action from the web form; its milestones stay as they are. Its reference changes
     * only for the plan's editors (spreadsheet imports match actions by it), and only to one the
     * plan does not use; a blank reference keeps the one it has.
     */
    async updateAction(
      actor: Actor | null,
      planId: string,
      actionId: string,
      input: ActionEditInput,
      context: RequestContext,
    ) {
      // Checked outside the transaction, then written in it only if the plan has not moved in
      // between; if it has, checked again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await updateActionOnce(actor, planId, actionId, input, context);
        } catch (error) {
          if (!(error instanceof PlanMovedDuringEdit)) throw error;
          if (attempt === 3) {
            const { opened: _opened, ...values } = input;
            throw new ActionEditConflict([], values, null, 'kept-moving');
          }
        }
      }
    },

    /** Checks, before any file is read, that the actor may post an update on this action. */
    async assertCanChangeAction(actor: Actor | null, planId: string, actionId: string) {
      await requireChangeableAction(actor, planId, actionId);
    },

    /**
     * Posts a progress update: the narrative, status and progress (a parent's progress is its
     * children's, so only its status changes), evidence files already received, and links. The
     * action takes the update's status and progress, and its history records the change.
     */
    async postUpdate(
      actor: Actor | null,
      planId: string,
      actionId: string,
      input: UpdateInput,
      uploads: PendingUpload[],
      context: RequestContext | null,
      options: { system?: boolean } = {},
    ) {
      const performer: Performer = options.system
        ? { actor: null, userId: null, system: true }
        : performerOf(actor);
      const plan = options.system
        ? (await repository.findPlan(planId))!
        : (await requireChangeableAction(actor, planId, actionId)).plan;
      /**
       * The update's checks against the action, its sub-actions, its latest update and its last
       * change of status, as read by `executor`: first outside the transaction, so that a form
       * error costs no lock, then again inside it, where they hold.
       */
      const check = async (action: ActionListRow, executor?: Transaction<Database>) => {
        const isParent = (await repository.findActions(plan.id, executor)).some(
          (item) => item.parent_id === action.id,
        );
        const latest = (await repository.findUpdates(plan.id, executor)).find(
          (update) => update.action_id === action.id,
        );
        const { errors, values } = checkUpdateInput(input, {
          action,
          isParent,
          latestDate: latest?.update_date,
          latestChangeOn: (await statusChangeDays(plan.id, executor)).get(action.id),
        });
        if (uploads.length > MAX_EVIDENCE_FILES)
          errors.evidence = `Add at most ${MAX_EVIDENCE_FILES} files to one update`;
        if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
        return values;
      };
      await check(await requireAction(actor, plan, actionId));
      await repository.transaction(async (trx) => {
        // Held as an import's commit holds it (see commitImport), so the two take turns. What was
        // checked above may have changed meanwhile (another update, a change of status, of start
        // date or of lead organisation): checked again against the action as it is now, which is
        // also the one the update is written against.
        await repository.holdPlan(trx, plan.id);
        const action = options.system
          ? await requireActionStill(actor, trx, plan, actionId)
          : await requireChangeableActionStill(actor, trx, plan, actionId);
        const values = await check(action, trx);
        await writeUpdate(trx, { performer, plan, action, values, uploads, context });
      });
    },

    async addMilestone(
      actor: Actor | null,
      planId: string,
      actionId: string,
      input: { title: string; dueDate: string },
      context: RequestContext | null,
    ) {
      const { plan, action } = await requireChangeableAction(actor, planId, actionId);
      const title = input.title.trim();
      const dueDate = input.dueDate.trim();
      const errors: Record<string, string> = {};
      if (title === '') errors.milestoneTitle = 'Enter what the milestone is';
      else if (title.length > 200)
        errors.milestoneTitle = 'The milestone must be 200 characters or fewer';
      if (!isIsoDate(dueDate))
        errors.milestoneDueDate = 'Enter the milestone’s due date as a real date, YYYY-MM-DD';
      else if (action.start_date && dueDate < action.start_date)
        errors.milestoneDueDate = `The milestone cannot be due before the action starts (${action.start_date})`;
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      await repository.transaction(async (trx) => {
        await repository.holdPlan(trx, plan.id);
        // The start date, and who leads the action, as they are now: an edit may have moved
        // either since the checks above.
        const current = await requireChangeableActionStill(actor, trx, plan, action.id);
        if (current.start_date && dueDate < current.start_date)
          throw new ValidationFailed({
            milestoneDueDate: `The milestone cannot be due before the action starts (${current.start_date})`,
          });
        const at = now().toISOString();
        const existing = (await repository.findMilestones(plan.id, trx)).filter(
          (m) => m.action_id === action.id,
        );
        const before = existing.map((m) => ({
          dueDate: m.due_date,
          title: m.title,
          doneOn: m.done_on,
        }));
        await repository.insertMilestone(trx, {
          id: randomUUID(),
          action_id: action.id,
          title,
          due_date: dueDate,
          done_on: null,
          position: existing.length,
        });
        const after = [...before, { dueDate, title, doneOn: null }];
        await repository.insertChange(trx, {
          action_id: action.id,
          changed_by: actor!.userId,
          recorded_at: at,
          effective_on: ukCalendarDate(at),
          kind: 'milestone_added',
          changes: JSON.stringify([
            {
              field: 'milestones',
              from: formatMilestones(before) || null,
              to: formatMilestones(after),
            },
          ]),
        });
        await audit.record(
          {
            action: 'green_plan.milestone_added',
            actorUserId: actor!.userId,
            targetType: 'green_plan_action',
            targetId: action.id,
            organisationCode: action.lead_organisation_code,
          },
          context,
          trx,
        );
      });
    },

    async completeMilestone(
      actor: Actor | null,
      planId: string,
      actionId: string,
      milestoneId: string,
      input: { doneOn: string },
      context: RequestContext | null,
    ) {
      const { plan, action } = await requireChangeableAction(actor, planId, actionId);
      const doneOn = input.doneOn.trim() || today();
      if (!isIsoDate(doneOn))
        throw new ValidationFailed({
          doneOn: 'Enter the date the milestone was done as a real date, YYYY-MM-DD',
        });
      if (doneOn > today())
        throw new ValidationFailed({
          doneOn: 'The date the milestone was done cannot be in the future',
        });
      await repository.transaction(async (trx) => {
        await repository.holdPlan(trx, plan.id);
        await requireActionStill(actor, trx, plan, action.id);
        const milestones = (await repository.findMilestones(plan.id, trx)).filter(
          (m) => m.action_id === action.id,
        );
        const milestone = milestones.find((m) => m.id === milestoneId);
        if (!milestone) throw new NotFoundError('That milestone was not found.');
        if (!(await repository.setMilestoneDone(trx, action.id, milestoneId, doneOn)))
          throw new ValidationFailed({
            doneOn: `The milestone “${milestone.title}” is already done`,
          });
        const at = now().toISOString();
        const before = milestones.map((m) => ({
          dueDate: m.due_date,
          title: m.title,
          doneOn: m.done_on,
        }));
        const after = milestones.map((m) => ({
          dueDate: m.due_date,
          title: m.title,
          doneOn: m.id === milestoneId ? doneOn : m.done_on,
        }));
        await repository.insertChange(trx, {
          action_id: action.id,
          changed_by: actor!.userId,
          recorded_at: at,
          effective_on: doneOn,
          kind: 'milestone_done',
          changes: JSON.stringify([
            { field: 'milestones', from: formatMilestones(before), to: formatMilestones(after) },
          ]),
        });
        await audit.record(
          {
            action: 'green_plan.milestone_done',
            actorUserId: actor!.userId,
            targetType: 'green_plan_action',
            targetId: action.id,
            organisationCode: action.lead_organisation_code,
          },
          context,
          trx,
        );
      });
    },

    /**
     * The rules of comments on actions, which live with the shared discussions: readers of the
     * plan read them; people of the organisations involved comment; the action's editors and the
     * plan's editors moderate; the action's owner is told of new comments.
     */
    commentSubject: {
      async describe(actionId: string) {
        const found = await findActionWithPlan(actionId);
        if (!found) return undefined;
        return {
          title: `${found.action.reference} ${found.action.title}`,
          link: `/green-plans/${found.plan.id}/actions/${found.action.id}`,
          authorIds: found.action.owner_user_id ? [found.action.owner_user_id] : [],
          workspaceId: null,
        };
      },
      async canRead(actor: Actor | null, actionId: string) {
        const found = await findActionWithPlan(actionId);
        return found !== undefined && canReadPlan(actor, found.plan);
      },
      async canComment(actor: Actor, actionId: string) {
        const found = await findActionWithPlan(actionId);
        if (!found) return false;
        const partners = (await repository.findPartners(found.plan.id))
          .filter((partner) => partner.action_id === found.action.id)
          .map((partner) => ({ code: partner.organisation_code }));
        return canCommentOn(actor, found.plan, found.action, partners);
      },
      async canModerate(actor: Actor | null, actionId: string) {
        const found = await findActionWithPlan(actionId);
        return (
          found !== undefined &&
          (canChangeAction(actor, found.action) || canEditPlan(actor, found.plan))
        );
      },
      // Held as every change to the plan holds it: a comment posted while its action is deleted
      // either lands first, and goes with the action, or finds it gone.
      async holdForComment(trx: Transaction<Database>, actionId: string) {
        const planId = await repository.findPlanIdOfAction(actionId, trx);
        if (!planId) return false;
        await repository.holdPlan(trx, planId);
        return (await repository.findAction(planId, actionId, trx)) !== undefined;
      },
    },

    /** An evidence file of a plan the actor may read, for download. */
    async findEvidenceFile(actor: Actor | null, planId: string, fileId: string) {
      const plan = await requireReadablePlan(actor, planId);
      if (!/^[0-9a-f-]{36}$/.test(fileId)) throw new NotFoundError('That file was not found.');
      const id = await repository.findEvidenceFileId(plan.id, fileId);
      const file = id ? await deps.files.findFile(id) : undefined;
      if (!file) throw new NotFoundError('That file was not found.');
      return file;
    },

    /** The actions a user owns, across the plans they may read. */
    async listMyActions(actor: Actor | null) {
      if (!actor) throw new ForbiddenError('Sign in');
      const rows = await repository.findActionsOwnedBy(actor.userId);
      const result: (ActionView & { planId: string; planTitle: string })[] = [];
      for (const planId of [...new Set(rows.map((row) => row.plan_id))]) {
        const plan = await repository.findPlan(planId);
        if (!plan || !canReadPlan(actor, plan)) continue;
        const state = await loadPlanState(plan, actor);
        for (const action of state.actions)
          if (action.ownerUserId === actor.userId)
            result.push({ ...action, planId: plan.id, planTitle: plan.title });
      }
      return result.sort((a, b) =>
        (a.dueDate ?? '9999') < (b.dueDate ?? '9999')
          ? -1
          : (a.dueDate ?? '9999') > (b.dueDate ?? '9999')
            ? 1
            : a.reference.localeCompare(b.reference),
      );
    },

    /** The actions an organisation leads, across the plans the actor may read, for its dashboards. */
    async listActionsLedBy(actor: Actor | null, organisationCode: string) {
      const result: (ActionView & { planId: string; planTitle: string })[] = [];
      for (const planId of await repository.findPlanIdsWithActionsLedBy(organisationCode)) {
        const plan = await repository.findPlan(planId);
        if (!plan || !canReadPlan(actor, plan)) continue;
        const state = await loadPlanState(plan, actor);
        for (const action of state.actions)
          if (action.leadOrganisationCode === organisationCode)
            result.push({ ...action, planId: plan.id, planTitle: plan.title });
      }
      return result.sort(
        (a, b) => a.planTitle.localeCompare(b.planTitle) || a.reference.localeCompare(b.reference),
      );
    },

    // --- KPIs ---

    async listKpis(actor: Actor | null, planId: string) {
      const plan = await requireReadablePlan(actor, planId);
      return {
        plan: toPlanView(plan),
        kpis: await loadKpis(plan),
        canEdit: canEditPlan(actor, plan),
      };
    },

    async getKpi(actor: Actor | null, planId: string, kpiId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const kpi = (await loadKpis(plan)).find((item) => item.id === kpiId);
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      const state = await loadPlanState(plan, actor);
      return {
        plan: toPlanView(plan),
        kpi,
        actions: state.actions.filter((action) => kpi.actionIds.includes(action.id)),
        actionOptions: state.actions
          .filter((action) => !kpi.actionIds.includes(action.id))
          .map((action) => ({
            value: action.reference,
            text: `${action.reference} ${action.title}`,
          })),
        canEdit: canEditPlan(actor, plan),
      };
    },

    /**
     * The actions of a plan the actor may post updates to, for the updates file; refuses someone
     * who may update none of them (404 for a draft they cannot read).
     */
    async getUpdatableActions(actor: Actor | null, planId: string) {
      const { plan, actions } = await requireUpdatablePlan(actor, planId);
      return { plan: toPlanView(plan), actions };
    },

    /** The sheet to fill in: each action the actor may update, as it stands. */
    async updatesSheet(actor: Actor | null, planId: string) {
      const { plan, actions } = await this.getUpdatableActions(actor, planId);
      return {
        plan,
        csv: updatesSheetCsv(
          actions.map((action) => ({
            reference: action.reference,
            title: action.title,
            status: isActionStatus(action.status)
              ? actionStatusLabels[action.status]
              : action.status,
            progressPercent: action.progress_percent,
          })),
        ),
      };
    },

    /**
     * Posts the progress updates of a file (CSV, or a workbook's "Updates" sheet), one a row, each
     * checked by the update form's rules and by who may update its action. Any problem and
     * nothing is posted. A row left as the sheet gave it (no date, narrative or links, status and
     * progress as they stand) is not an update; a row that repeats an update already posted (same
     * action, date, status and narrative) is left out, so posting a file again adds nothing.
     */
    async importUpdates(
      actor: Actor | null,
      planId: string,
      upload: PendingUpload,
      context: RequestContext,
    ): Promise<
      | { ok: true; created: number; unchanged: number; blank: number }
      | { ok: false; problems: UpdateFileProblem[] }
    > {
      let keepUpload = false;
      try {
        const performer = performerOf(actor);
        const { plan } = await requireUpdatablePlan(actor, planId);
        const { entry: auditEntry, refuse } = fileImportAudit(
          'green_plan.updates_imported',
          { type: 'green_plan', id: plan.id },
          plan,
          performer,
          upload,
          context,
        );
        const table = await readUploadedTable(upload, { sheet: 'Updates' });
        if ('refused' in table)
          return await refuse<UpdateFileProblem>([{ message: table.refused }]);
        const read = readUpdateTable(table.rows);
        if (read.problems.length > 0) return await refuse(read.problems);

        const outcome = await repository.transaction(async (trx) => {
          // Holding the plan's row first makes a second import of the same file (a double click)
          // wait for this one on PostgreSQL, then find its updates already posted. Everything is
          // read inside the transaction, so the checks see what the writes will follow.
          await repository.holdPlan(trx, plan.id);
          const checked = await checkUpdateRows(trx, plan, actor, read.rows);
          if (checked.problems.length > 0) return { ...checked, kept: false };
          // A file that posts nothing is not kept again.
          const file =
            checked.planned.length > 0
              ? await deps.files.recordUpload(trx, upload, performer.userId)
              : null;
          for (const entry of checked.planned) {
            await writeUpdate(trx, {
              performer,
              plan,
              action: entry.action,
              values: entry.values,
              uploads: [],
              context,
              fromFile: file?.id,
            });
          }
          await audit.record(
            {
              ...auditEntry,
              details: {
                file: file?.id ?? null,
                fileName: upload.originalName,
                rows: read.rows.length,
                created: checked.planned.length,
                unchanged: checked.unchanged,
                blank: checked.blank,
              },
            },
            context,
            trx,
          );
          return { ...checked, kept: file !== null };
        });
        if (outcome.problems.length > 0) return await refuse(outcome.problems);
        keepUpload = outcome.kept;
        const { planned, unchanged, blank } = outcome;
        return { ok: true, created: planned.length, unchanged, blank };
      } finally {
        if (!keepUpload) await deps.files.discardUpload(upload);
      }
    },

    async assertCanEditPlan(actor: Actor | null, planId: string) {
      return toPlanView(await requireEditablePlan(actor, planId));
    },

    /** Adds a KPI with its baseline and targets. */
    async createKpi(
      actor: Actor | null,
      planId: string,
      input: KpiInput,
      context: RequestContext | null,
      options: { system?: boolean; trx?: Transaction<Database> } = {},
    ) {
      const plan = options.system
        ? (await repository.findPlan(planId, options.trx))!
        : await requireEditablePlan(actor, planId);
      const userId = options.system ? null : actor!.userId;
      const checked = checkKpiInput(input, await repository.findKpis(plan.id, options.trx));
      const work = (trx: Transaction<Database>) =>
        insertCheckedKpi(trx, plan, checked, userId, context);
      return options.trx ? work(options.trx) : repository.transaction(work);
    },

    /**
     * Records a KPI value for a date, entered by hand (`manual`) or supplied by another module
     * (its name as the source). A second value for the same date and source replaces the first.
     */
    async recordDataPoint(
      actor: Actor | null,
      planId: string,
      kpiId: string,
      input: { observedOn: string; value: string; note: string },
      context: RequestContext | null,
      options: { system?: boolean; source?: string; trx?: Transaction<Database> } = {},
    ) {
      const plan = options.system
        ? (await repository.findPlan(planId, options.trx))!
        : await requireEditablePlan(actor, planId);
      const kpi = (await repository.findKpis(plan.id, options.trx)).find(
        (item) => item.id === kpiId,
      );
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      const observedOn = input.observedOn.trim();
      const value = parseDecimal(input.value.trim());
      const note = input.note.trim();
      const errors: Record<string, string> = {};
      if (!isIsoDate(observedOn))
        errors.observedOn = 'Enter the date of the value as a real date, YYYY-MM-DD';
      else if (observedOn > today())
        errors.observedOn = 'The date of the value cannot be in the future';
      if (value === null)
        errors.value = 'Enter the value as a number, for example 1,250.5 (decimals with a point)';
      if (note.length > MAX_KPI_NOTE)
        errors.note = `The note must be ${MAX_KPI_NOTE} characters or fewer`;
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      const source = options.source ?? 'manual';
      const userId = options.system ? null : actor!.userId;
      const work = async (trx: Transaction<Database>) => {
        const at = now().toISOString();
        await repository.upsertDataPoint(trx, {
          id: randomUUID(),
          kpi_id: kpi.id,
          observed_on: observedOn,
          value: value!,
          source,
          note: note || null,
          recorded_by: userId,
          recorded_at: at,
        });
        await audit.record(
          {
            action: 'green_plan.kpi_value_recorded',
            actorUserId: userId,
            targetType: 'green_plan_kpi',
            targetId: kpi.id,
            organisationCode: plan.owner_organisation_code,
            details: { observedOn, source },
          },
          context,
          trx,
        );
      };
      return options.trx ? work(options.trx) : repository.transaction(work);
    },

    /**
     * Records a KPI's values from a spreadsheet (CSV or XLSX; columns date, value and optional
     * note), all or nothing. Every row is checked first and every problem returned with its row
     * and column; only a clean file is written, in one transaction with the file kept and one
     * audit record. A value for a date already held replaces it, so importing the same file
     * again changes nothing.
     */
    async importDataPoints(
      actor: Actor | null,
      planId: string,
      kpiId: string,
      upload: PendingUpload,
      context: RequestContext,
    ): Promise<
      | { ok: true; created: number; changed: number; unchanged: number }
      | { ok: false; problems: KpiValueProblem[] }
    > {
      let keepUpload = false;
      try {
        const performer = performerOf(actor);
        const plan = await requireEditablePlan(actor, planId);
        const kpi = (await repository.findKpis(plan.id)).find((item) => item.id === kpiId);
        if (!kpi) throw new NotFoundError('That KPI was not found.');
        const table = await readUploadedTable(upload);
        const read =
          'refused' in table
            ? { values: [], problems: [{ message: table.refused }] }
            : readKpiValueTable(table.rows, today());
        const { entry: auditEntry, refuse } = fileImportAudit(
          'green_plan.kpi_values_imported',
          { type: 'green_plan_kpi', id: kpi.id },
          plan,
          performer,
          upload,
          context,
        );
        if (read.problems.length > 0) return await refuse(read.problems);
        const result = await repository.transaction(async (trx) => {
          // Read inside the transaction, so the counts describe what this import found.
          const held = new Map(
            (await repository.findDataPoints([kpi.id], trx))
              .filter((point) => point.source === 'manual')
              .map((point) => [point.observed_on, point]),
          );
          const writes = read.values.filter((entry) => {
            const existing = held.get(entry.observedOn);
            return !existing || existing.value !== entry.value || existing.note !== entry.note;
          });
          const created = writes.filter((entry) => !held.has(entry.observedOn)).length;
          const changed = writes.length - created;
          const unchanged = read.values.length - writes.length;
          // A file that changes nothing is not kept again.
          const file =
            writes.length > 0 ? await deps.files.recordUpload(trx, upload, performer.userId) : null;
          const at = now().toISOString();
          for (const entry of writes) {
            await repository.upsertDataPoint(trx, {
              id: randomUUID(),
              kpi_id: kpi.id,
              observed_on: entry.observedOn,
              value: entry.value,
              source: 'manual',
              note: entry.note,
              recorded_by: performer.userId,
              recorded_at: at,
            });
          }
          await audit.record(
            {
              ...auditEntry,
              details: {
                file: file?.id ?? null,
                fileName: upload.originalName,
                rows: read.values.length,
                created,
                changed,
                unchanged,
              },
            },
            context,
            trx,
          );
          return { kept: file !== null, created, changed, unchanged, problems: null };
        });
        keepUpload = result.kept;
        return {
          ok: true,
          created: result.created,
          changed: result.changed,
          unchanged: result.unchanged,
        };
      } finally {
        if (!keepUpload) await deps.files.discardUpload(upload);
      }
    },

    /** A KPI's values in the layout `importDataPoints` reads, for a spreadsheet. */
    async exportDataPoints(actor: Actor | null, planId: string, kpiId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const kpi = (await loadKpis(plan)).find((item) => item.id === kpiId);
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      // Notes say where a figure came from, written for the plan's team: they go to the people
      // who may change the plan, and readers get the dates and values the page shows.
      const withNotes = canEditPlan(actor, plan);
      return {
        fileName: `${plan.slug}-kpi-${kpi.reference.replace(/[^A-Za-z0-9._-]+/g, '-')}-values.csv`,
        csv: kpiValuesCsv(
          kpi.dataPoints.map((point) => ({
            observedOn: point.date,
            value: point.value,
            note: point.note,
          })),
          { withNotes },
        ),
      };
    },

    /** Links a KPI to an action that moves it. */
    async linkKpiToAction(
      actor: Actor | null,
      planId: string,
      kpiId: string,
      actionReference: string,
      context: RequestContext | null,
      options: { system?: boolean; trx?: Transaction<Database> } = {},
    ) {
      const plan = options.system
        ? (await repository.findPlan(planId, options.trx))!
        : await requireEditablePlan(actor, planId);
      const kpi = (await repository.findKpis(plan.id, options.trx)).find(
        (item) => item.id === kpiId,
      );
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      const action = (await repository.findActions(plan.id, options.trx)).find(
        (item) => item.reference === actionReference.trim(),
      );
      if (!action) throw new ValidationFailed({ action: 'Choose an action of this plan' });
      const work = async (trx: Transaction<Database>) => {
        // Held as every change to the plan holds it: an action deleted meanwhile is not linked.
        await repository.holdPlan(trx, plan.id);
        await requireActionStill(actor, trx, plan, action.id);
        return linkKpiAudited(
          trx,
          plan,
          kpi.id,
          action,
          options.system ? null : actor!.userId,
          context,
        );
      };
      return options.trx ? work(options.trx) : repository.transaction(work);
    },

    /** The form to change a KPI, filled with what it holds: for the plan's editors. */
    async getKpiForChange(actor: Actor | null, planId: string, kpiId: string) {
      const plan = await requireEditablePlan(actor, planId);
      const kpi = (await loadKpis(plan)).find((item) => item.id === kpiId);
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      const values = kpiFormValues(kpi);
      return {
        plan: toPlanView(plan),
        kpi,
        values,
        /** What the form shows now, carried by it to merge a later save with others' changes. */
        opened: encodeOpenedForm({ values, lastChangeId: 0 }),
      };
    },

    /**
     * Changes a KPI: what it measures, its unit, baseline and targets, by the same rules as adding
     * one. Its recorded values and linked actions stay; the audit record gives each changed field's
     * old and new value.
     */
    async updateKpi(
      actor: Actor | null,
      planId: string,
      kpiId: string,
      input: KpiEditInput,
      context: RequestContext,
    ): Promise<void> {
      // As `updateAction`: checked outside the transaction, written only if the plan's KPIs have
      // not moved in between, otherwise checked again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await updateKpiOnce(actor, planId, kpiId, input, context);
        } catch (error) {
          if (!(error instanceof PlanMovedDuringEdit)) throw error;
          if (attempt === 3) {
            const { opened: _opened, ...values } = input;
            throw new KpiEditConflict([], values, [], 'kept-moving');
          }
        }
      }
    },

    /**
     * Takes an action off a KPI's list of actions that move it. The action is named by its id, not
     * its reference, which may have changed since the page was shown.
     */
    async unlinkKpiFromAction(
      actor: Actor | null,
      planId: string,
      kpiId: string,
      actionId: string,
      context: RequestContext,
    ): Promise<void> {
      const plan = await requireEditablePlan(actor, planId);
      const kpi = (await repository.findKpis(plan.id)).find((item) => item.id === kpiId);
      if (!kpi) throw new NotFoundError('That KPI was not found.');
      const linked = (await repository.findKpiActionLinks(plan.id)).filter(
        (link) => link.kpi_id === kpi.id,
      );
      const action = (await repository.findActions(plan.id)).find(
        (item) => item.id === actionId.trim() && linked.some((link) => link.action_id === item.id),
      );
      if (!action) throw new ValidationFailed({ unlink: 'Choose an action linked to this KPI' });
      await repository.transaction(async (trx) => {
        // Held as every change to the plan holds it. Unlinked meanwhile (a second click, an
        // import, the action deleted): nothing changes, and nothing is recorded.
        await repository.holdPlan(trx, plan.id);
        if (!(await repository.unlinkKpiAction(trx, kpi.id, action.id))) return;
        await audit.record(
          {
            action: 'green_plan.kpi_unlinked',
            actorUserId: actor!.userId,
            targetType: 'green_plan_kpi',
            targetId: kpi.id,
            organisationCode: plan.owner_organisation_code,
            details: { action: action.reference },
          },
          context,
          trx,
        );
      });
    },

    /** The plan's KPIs as a CSV file in the layout `importKpiDefinitions` reads. */
    async exportKpiDefinitions(actor: Actor | null, planId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const [kpis, actions] = await Promise.all([loadKpis(plan), repository.findActions(plan.id)]);
      const referenceOf = new Map(actions.map((action) => [action.id, action.reference]));
      return {
        plan: toPlanView(plan),
        csv: kpiDefinitionsCsv(
          kpis.map((kpi) => ({
            ...kpiFormValues(kpi),
            direction: kpi.direction,
            actions: kpi.actionIds
              .map((id) => referenceOf.get(id))
              .filter((reference): reference is string => reference !== undefined)
              .sort(),
          })),
        ),
      };
    },

    /**
     * Adds and changes a plan's KPIs from a CSV file or workbook (its "KPIs" sheet, or its first),
     * one row per KPI matched by reference. Every row is checked by the KPI form's rules first, and
     * the actions it names must be in the plan; any problem and nothing is written. Otherwise all of
     * it is written in one transaction: new KPIs added, changed ones changed (each audited as from
     * the form), and, when the file has an `actions` column, each KPI's linked actions made exactly
     * those listed. KPIs not in the file are left alone; repeating an import changes nothing.
     */
    async importKpiDefinitions(
      actor: Actor | null,
      planId: string,
      upload: PendingUpload,
      context: RequestContext,
    ): Promise<
      | { ok: true; created: number; changed: number; unchanged: number }
      | { ok: false; problems: KpiDefinitionProblem[] }
    > {
      let keepUpload = false;
      try {
        const performer = performerOf(actor);
        const plan = await requireEditablePlan(actor, planId);
        const table = await readUploadedTable(upload, { sheet: 'KPIs' });
        const read =
          'refused' in table
            ? { rows: [], problems: [{ message: table.refused }] }
            : readKpiDefinitionTable(table.rows);
        const { entry: auditEntry, refuse: refuseFile } = fileImportAudit(
          'green_plan.kpis_imported',
          { type: 'green_plan', id: plan.id },
          plan,
          performer,
          upload,
          context,
        );
        const refuse = (problems: KpiDefinitionProblem[]) => refuseFile(problems);
        if (read.problems.length > 0 && read.rows.length === 0) return await refuse(read.problems);

        const outcome = await repository.transaction(async (trx) => {
          // Held as the KPI form holds it, so that the two take turns (PostgreSQL; SQLite has one
          // writer), and read after that, so that what is checked is what is written over.
          await repository.holdPlan(trx, plan.id);
          const existing = await repository.findKpis(plan.id, trx);
          const actions = await repository.findActions(plan.id, trx);
          const actionIdOf = new Map(actions.map((action) => [action.reference, action.id]));
          const links = await repository.findKpiActionLinks(plan.id, trx);
          const problems = [...read.problems];
          const planned: {
            before: KpiRow | undefined;
            checked: CheckedKpi;
            actionIds: string[] | null;
          }[] = [];
          for (const entry of read.rows) {
            const before = existing.find((kpi) => kpi.reference === entry.input.reference);
            const found = problems.length;
            let checked: CheckedKpi | undefined;
            try {
              checked = checkKpiInput(
                // A file without a description column keeps each KPI's own.
                {
                  ...entry.input,
                  description: entry.input.description ?? before?.description ?? '',
                },
                existing,
                before?.id,
              );
            } catch (error) {
              if (!(error instanceof ValidationFailed)) throw error;
              for (const [field, message] of Object.entries(error.fieldErrors))
                problems.push({ row: entry.row, column: kpiColumnOfField[field], message });
            }
            const unknown = (entry.actions ?? []).filter((reference) => !actionIdOf.has(reference));
            if (unknown.length > 0)
              problems.push({
                row: entry.row,
                column: 'actions',
                message: `The plan has no action with the reference ${unknown.join(', ')}`,
              });
            if (problems.length === found && checked)
              planned.push({
                before,
                checked,
                actionIds: entry.actions && [
                  ...new Set(entry.actions.map((reference) => actionIdOf.get(reference)!)),
                ],
              });
          }
          // Refused after the transaction ends: its audit record is written outside it.
          if (problems.length > 0) {
            problems.sort((left, right) => (left.row ?? 0) - (right.row ?? 0));
            return { kept: false, created: 0, changed: 0, unchanged: 0, problems };
          }

          let created = 0;
          let changed = 0;
          const referenceOfAction = new Map(actions.map((action) => [action.id, action.reference]));
          const listOf = (ids: readonly string[]) =>
            ids
              .map((id) => referenceOfAction.get(id)!)
              .sort()
              .join('; ');
          for (const { before, checked, actionIds } of planned) {
            if (!before) {
              const id = await insertCheckedKpi(trx, plan, checked, performer.userId, context);
              // Linked as from the KPI page: one record per action.
              for (const actionId of actionIds ?? []) {
                const reference = referenceOfAction.get(actionId)!;
                await linkKpiAudited(
                  trx,
                  plan,
                  id,
                  { id: actionId, reference },
                  performer.userId,
                  context,
                );
              }
              created += 1;
              continue;
            }
            const changes: { field: string; from: unknown; to: unknown }[] = await kpiChanges(
              before,
              checked,
              trx,
            );
            const held = links
              .filter((link) => link.kpi_id === before.id)
              .map((link) => link.action_id);
            if (actionIds && listOf(held) !== listOf(actionIds)) {
              for (const actionId of actionIds.filter((item) => !held.includes(item)))
                await repository.linkKpiAction(trx, before.id, actionId);
              for (const actionId of held.filter((item) => !actionIds.includes(item)))
                await repository.unlinkKpiAction(trx, before.id, actionId);
              changes.push({ field: 'actions', from: listOf(held), to: listOf(actionIds) });
            }
            if (changes.length === 0) continue;
            await writeKpiChanges(trx, plan, before, checked, changes, performer.userId, context);
            changed += 1;
          }
          const unchanged = planned.length - created - changed;
          // A file that changes nothing is not kept again.
          const file =
            created + changed > 0
              ? await deps.files.recordUpload(trx, upload, performer.userId)
              : null;
          await audit.record(
            {
              ...auditEntry,
              details: {
                file: file?.id ?? null,
                fileName: upload.originalName,
                rows: planned.length,
                created,
                changed,
                unchanged,
              },
            },
            context,
            trx,
          );
          return { kept: file !== null, created, changed, unchanged, problems: null };
        });
        if (outcome.problems) return await refuse(outcome.problems);
        keepUpload = outcome.kept;
        return {
          ok: true,
          created: outcome.created,
          changed: outcome.changed,
          unchanged: outcome.unchanged,
        };
      } finally {
        if (!keepUpload) await deps.files.discardUpload(upload);
      }
    },

    // --- import and export ---

    /**
     * Checks an uploaded spreadsheet and keeps it for the commit: every invalid row and field is
     * listed with its reason; nothing in the plan changes.
     */
    async previewImport(
      actor: Actor | null,
      planId: string,
      upload: PendingUpload,
      context: RequestContext,
    ) {
      const performer = performerOf(actor);
      const plan = await requireEditablePlan(actor, planId);
      const kind = upload.type.extension === 'xlsx' ? 'xlsx' : 'csv';
      const file = await deps.files.recordUpload(repository.db, upload, performer.userId);
      const bytes = await deps.files.readSmallFile(file);
      const result = await evaluateSpreadsheet(plan, bytes, kind, performer);
      const counts =
        result.problems.length === 0 && result.state
          ? planImportChanges(result.actions, existingFields(result.state))
          : null;
      const id = randomUUID();
      const summary = counts
        ? {
            create: counts.create.length,
            change: counts.change.length,
            unchanged: counts.unchanged.length,
            digest: digestOfChanges(counts),
          }
        : { problems: result.problems.length };
      await repository.transaction(async (trx) => {
        await repository.insertImport(trx, {
          id,
          plan_id: plan.id,
          file_id: file.id,
          file_name: file.original_name,
          uploaded_by: performer.userId,
          uploaded_at: now().toISOString(),
          status: counts ? 'ready' : 'invalid',
          row_count: result.rowCount,
          summary: JSON.stringify(summary),
          committed_at: null,
        });
        await audit.record(
          {
            action: 'green_plan.import_checked',
            outcome: counts ? 'success' : 'failure',
            actorUserId: performer.userId,
            targetType: 'green_plan',
            targetId: plan.id,
            organisationCode: plan.owner_organisation_code,
            details: { import: id, rows: result.rowCount, ...summary },
          },
          context,
          trx,
        );
      });
      return {
        plan: toPlanView(plan),
        importId: id,
        fileName: file.original_name,
        rowCount: result.rowCount,
        problems: result.problems.map(describeProblem),
        invalidRows: new Set(
          result.problems
            .filter((problem) => problem.row !== undefined)
            .map((problem) => problem.row),
        ).size,
        changes: counts
          ? {
              create: counts.create.map((action) => ({
                row: action.row,
                reference: action.reference,
                title: action.title,
              })),
              change: counts.change.map(({ action, existing }) => ({
                row: action.row,
                reference: action.reference,
                title: action.title,
                fields: describeDifferences(existing, action).map(
                  (change) => fieldHistoryLabels[change.field] ?? change.field,
                ),
              })),
              unchanged: counts.unchanged.length,
            }
          : null,
      };
    },

    /**
     * Commits a checked import in one transaction: the file is read and checked again against the
     * plan as it is now, then every action is created or changed, or nothing is.
     */
    async commitImport(
      actor: Actor | null,
      planId: string,
      importId: string,
      context: RequestContext,
    ) {
      const performer = performerOf(actor);
      const plan = await requireEditablePlan(actor, planId);
      const record = /^[0-9a-f-]{36}$/.test(importId)
        ? await repository.findImport(plan.id, importId)
        : undefined;
      if (!record || !record.file_id) throw new NotFoundError('That import was not found.');
      if (record.status !== 'ready')
        throw new ValidationFailed({
          import:
            record.status === 'committed'
              ? 'This import has already been committed'
              : 'This file has problems: correct them and upload it again',
        });
      const file = await deps.files.findFile(record.file_id);
      if (!file) throw new NotFoundError('That import was not found.');
      const bytes = await deps.files.readSmallFile(file);
      const result = await evaluateSpreadsheet(
        plan,
        bytes,
        file.extension === 'xlsx' ? 'xlsx' : 'csv',
        performer,
      );
      if (result.problems.length > 0 || !result.state)
        throw new ValidationFailed({
          import: `The plan has changed since the file was checked, and ${result.problems.length} problem(s) now stop it: upload it again to see them`,
        });
      const planned = planImportChanges(result.actions, existingFields(result.state));
      const planChanged = () =>
        new ValidationFailed({
          import:
            'The plan has changed since the file was checked, so the file would now do something the check did not show: upload it again to see what',
        });
      const previewed = (JSON.parse(record.summary ?? '{}') as { digest?: string }).digest;
      const plannedDigest = digestOfChanges(planned);
      if (previewed !== undefined && previewed !== plannedDigest) {
        // The change may be this very import, committed by the same form sent twice.
        if ((await repository.findImport(plan.id, record.id))?.status === 'committed')
          throw new ValidationFailed({ import: 'This import has already been committed' });
        throw planChanged();
      }
      const summary = {
        created: planned.create.length,
        changed: planned.change.length,
        unchanged: planned.unchanged.length,
      };
      return repository.transaction(async (trx) => {
        // Claimed before anything is written, so that a form submitted twice is told it has been
        // committed rather than colliding with the actions the first submission added.
        if (
          !(await repository.markImportCommitted(
            trx,
            record.id,
            JSON.stringify(summary),
            now().toISOString(),
          ))
        )
          throw new ValidationFailed({ import: 'This import has already been committed' });
        // The plan is read again now that it is held: an edit that landed since the file was
        // checked just above would otherwise be overwritten by the file's older values.
        await repository.holdPlan(trx, plan.id);
        const current = await loadPlanState(plan, actor, trx);
        if (
          digestOfChanges(planImportChanges(result.actions, existingFields(current))) !==
          plannedDigest
        )
          throw planChanged();
        await applyActions(trx, plan, current, result.actions, performer, 'imported');
        await audit.record(
          {
            action: 'green_plan.imported',
            actorUserId: performer.userId,
            targetType: 'green_plan',
            targetId: plan.id,
            organisationCode: plan.owner_organisation_code,
            details: { import: record.id, ...summary },
          },
          context,
          trx,
        );
        return summary;
      });
    },

    /** The plan's actions in the import format (parents before their sub-actions). */
    async exportPlan(
      actor: Actor | null,
      planId: string,
    ): Promise<{ plan: PlanView; actions: ExportAction[] }> {
      const plan = await requireEditablePlan(actor, planId);
      const state = await loadPlanState(plan, actor);
      const areaName = new Map(state.areas.map((area) => [area.id, area.name]));
      const emailById = new Map(state.rows.map((row) => [row.id, row.owner_email]));
      const actions = existingFields(state).map(({ id, ...action }) => ({
        ...action,
        areaName: areaName.get(action.areaId) ?? '',
        ownerEmail: emailById.get(id) ?? null,
      }));
      return { plan: toPlanView(plan), actions: parentsFirst(actions) };
    },

    // --- board report ---

    /** What the board report needs: the plan state now, its history, updates and KPIs. */
    async loadReportData(actor: Actor | null, planId: string) {
      const plan = await requireReadablePlan(actor, planId);
      const state = await loadPlanState(plan, actor);
      const [changes, updates, kpis] = await Promise.all([
        repository.findChanges(plan.id),
        repository.findUpdates(plan.id),
        loadKpis(plan),
      ]);
      return { plan: toPlanView(plan), state, changes, updates, kpis, areas: state.areas };
    },

    // --- seeds ---

    /**
     * Creates a plan and its actions as the system (for example content), through the same
     * validation and writes as a spreadsheet import, in one transaction.
     */
    async seedPlan(
      input: PlanFormInput & { slug: string },
      rows: RawRow[],
    ): Promise<{ planId: string; created: boolean }> {
      const performer: Performer = { actor: null, userId: null, system: true };
      const existing = await repository.findPlanBySlug(input.slug);
      if (existing) return { planId: existing.id, created: false };
      // Everything is looked up and checked first; the transaction then only writes.
      const prepared = await preparePlan(performer, input);
      const planId = randomUUID();
      const areaIds = nationalAreasOfFocus.map(() => randomUUID());
      const at = now().toISOString();
      const draftPlan: PlanListRow = {
        id: planId,
        slug: input.slug,
        title: prepared.values.title,
        description: prepared.values.description,
        owner_organisation_code: prepared.ownerCode,
        owner_organisation_name: '',
        owner_ancestor_path: '/',
        period_start: prepared.values.periodStart,
        period_end: prepared.values.periodEnd,
        status: prepared.values.status,
        is_example: 1,
        created_at: at,
        updated_at: at,
      };
      const areas = nationalAreasOfFocus.map((area, index) => ({
        id: areaIds[index]!,
        plan_id: planId,
        slug: area.slug,
        name: area.name,
        description: area.summary,
        national_slug: area.slug,
        position: index + 1,
      }));
      const state: PlanState = {
        plan: draftPlan,
        areas,
        actions: [],
        nodes: [],
        effective: new Map(),
        rows: [],
      };
      const context = await buildImportContext(draftPlan, state, rows, performer);
      const { problems, actions } = validateImportRows(rows, context);
      if (problems.length > 0)
        throw new ValidationFailed({
          seed: problems.map((problem) => `row ${problem.row}: ${problem.message}`).join('; '),
        });
      await repository.transaction(async (trx) => {
        await insertPlan(trx, performer, prepared, {
          isExample: true,
          slug: input.slug,
          planId,
          areaIds,
        });
        await applyActions(trx, draftPlan, state, actions, performer, 'created');
      });
      return { planId, created: true };
    },

    /** This module's part of a user's personal data download. */
    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const [{ updates }, owned] = await Promise.all([
        repository.findContributionsOf(userId),
        repository.findActionsOwnedBy(userId),
      ]);
      return {
        actionsOwned: owned.map((row) => ({
          plan: row.plan_title,
          reference: row.reference,
          title: row.title,
        })),
        progressUpdates: updates.map((row) => ({
          plan: row.plan_title,
          action: row.reference,
          date: row.update_date,
          narrative: row.narrative,
          status: row.status,
          progressPercent: row.progress_percent,
          postedAt: row.created_at,
        })),
      };
    },

    /** Looks up an action's id by its reference, for seeds and tests. */
    async findActionIdByReference(planId: string, reference: string): Promise<string | undefined> {
      return (await repository.findActions(planId)).find((action) => action.reference === reference)
        ?.id;
    },

    statusOptions: actionStatuses.map((status) => ({
      value: status,
      text: actionStatusLabels[status],
    })),
  };
}

export type GreenPlanService = ReturnType<typeof createGreenPlanService>;
