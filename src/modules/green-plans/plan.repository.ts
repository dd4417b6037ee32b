import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type {
  Database,
  GreenPlanActionsTable,
  GreenPlanAreasTable,
  GreenPlanImportsTable,
  GreenPlanKpiDataPointsTable,
  GreenPlanKpisTable,
  GreenPlanMilestonesTable,
  GreenPlansTable,
  GreenPlanUpdatesTable,
} from '../../db/schema.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface PlanListRow {
  id: string;
  slug: string;
  title: string;
  description: string;
  owner_organisation_code: string;
  owner_organisation_name: string;
  owner_ancestor_path: string;
  period_start: string;
  period_end: string;
  status: string;
  is_example: number;
  created_at: string;
  updated_at: string;
}

export interface ActionListRow {
  id: string;
  plan_id: string;
  reference: string;
  parent_id: string | null;
  area_id: string;
  title: string;
  description: string;
  lead_organisation_code: string;
  lead_organisation_name: string;
  lead_ancestor_path: string;
  owner_user_id: string | null;
  owner_name: string | null;
  owner_email: string | null;
  start_date: string | null;
  due_date: string | null;
  status: string;
  progress_percent: number;
  weight: number;
  position: number;
  created_at: string;
  updated_at: string;
}

const planColumns = [
  'p.id',
  'p.slug',
  'p.title',
  'p.description',
  'p.owner_organisation_code',
  'o.name as owner_organisation_name',
  'o.ancestor_path as owner_ancestor_path',
  'p.period_start',
  'p.period_end',
  'p.status',
  'p.is_example',
  'p.created_at',
  'p.updated_at',
] as const;

/**
 * Every query of the Green Plan tracker. Lookups of anything inside a plan also take the plan's id,
 * so an id from another plan finds nothing.
 */
export function createGreenPlanRepository(db: Kysely<Database>) {
  function actionsQuery(executor: Executor) {
    return executor
      .selectFrom('green_plan_actions as a')
      .innerJoin('organisations as o', 'o.code', 'a.lead_organisation_code')
      .leftJoin('users as u', 'u.id', 'a.owner_user_id')
      .select([
        'a.id',
        'a.plan_id',
        'a.reference',
        'a.parent_id',
        'a.area_id',
        'a.title',
        'a.description',
        'a.lead_organisation_code',
        'o.name as lead_organisation_name',
        'o.ancestor_path as lead_ancestor_path',
        'a.owner_user_id',
        'u.display_name as owner_name',
        'u.email as owner_email',
        'a.start_date',
        'a.due_date',
        'a.status',
        'a.progress_percent',
        'a.weight',
        'a.position',
        'a.created_at',
        'a.updated_at',
      ]);
  }

  return {
    db,

    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    // --- plans ---

    async listPlans(): Promise<PlanListRow[]> {
      return db
        .selectFrom('green_plans as p')
        .innerJoin('organisations as o', 'o.code', 'p.owner_organisation_code')
        .select(planColumns)
        .orderBy('p.period_start', 'desc')
        .orderBy('p.title')
        .execute();
    },

    async findPlan(id: string, executor: Executor = db): Promise<PlanListRow | undefined> {
      return executor
        .selectFrom('green_plans as p')
        .innerJoin('organisations as o', 'o.code', 'p.owner_organisation_code')
        .select(planColumns)
        .where('p.id', '=', id)
        .executeTakeFirst();
    },

    async findPlanBySlug(slug: string, executor: Executor = db): Promise<PlanListRow | undefined> {
      return executor
        .selectFrom('green_plans as p')
        .innerJoin('organisations as o', 'o.code', 'p.owner_organisation_code')
        .select(planColumns)
        .where('p.slug', '=', slug)
        .executeTakeFirst();
    },

    async insertPlan(executor: Executor, row: Insertable<GreenPlansTable>): Promise<void> {
      await executor.insertInto('green_plans').values(row).execute();
    },

    async updatePlan(
      executor: Executor,
      id: string,
      patch: Updateable<GreenPlansTable>,
    ): Promise<void> {
      await executor.updateTable('green_plans').set(patch).where('id', '=', id).execute();
    },

    // --- areas ---

    async findAreas(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_areas')
        .selectAll()
        .where('plan_id', '=', planId)
        .orderBy('position')
        .execute();
    },

    async insertArea(executor: Executor, row: Insertable<GreenPlanAreasTable>): Promise<void> {
      await executor.insertInto('green_plan_areas').values(row).execute();
    },

    // --- actions ---

    async findActions(planId: string, executor: Executor = db): Promise<ActionListRow[]> {
      return actionsQuery(executor)
        .where('a.plan_id', '=', planId)
        .orderBy('a.position')
        .orderBy('a.reference')
        .execute();
    },

    async findAction(
      planId: string,
      actionId: string,
      executor: Executor = db,
    ): Promise<ActionListRow | undefined> {
      return actionsQuery(executor)
        .where('a.plan_id', '=', planId)
        .where('a.id', '=', actionId)
        .executeTakeFirst();
    },

    async findActionsOwnedBy(userId: string): Promise<(ActionListRow & { plan_title: string })[]> {
      return actionsQuery(db)
        .innerJoin('green_plans as p', 'p.id', 'a.plan_id')
        .select('p.title as plan_title')
        .where('a.owner_user_id', '=', userId)
        .orderBy('a.due_date')
        .orderBy('a.reference')
        .execute();
    },

    async findPlanIdsWithActionsLedBy(organisationCode: string): Promise<string[]> {
      const rows = await db
        .selectFrom('green_plan_actions')
        .select('plan_id')
        .distinct()
        .where('lead_organisation_code', '=', organisationCode)
        .execute();
      return rows.map((row) => row.plan_id);
    },

    async maxActionPosition(planId: string, executor: Executor = db): Promise<number> {
      const row = await executor
        .selectFrom('green_plan_actions')
        .select((eb) => eb.fn.max<number | null>('position').as('position'))
        .where('plan_id', '=', planId)
        .executeTakeFirst();
      return Number(row?.position ?? 0);
    },

    async insertAction(executor: Executor, row: Insertable<GreenPlanActionsTable>): Promise<void> {
      await executor.insertInto('green_plan_actions').values(row).execute();
    },

    async updateAction(
      executor: Executor,
      planId: string,
      actionId: string,
      patch: Updateable<GreenPlanActionsTable>,
    ): Promise<void> {
      await executor
        .updateTable('green_plan_actions')
        .set(patch)
        .where('plan_id', '=', planId)
        .where('id', '=', actionId)
        .execute();
    },

    async findPartners(
      planId: string,
      executor: Executor = db,
    ): Promise<{ action_id: string; organisation_code: string; organisation_name: string }[]> {
      return executor
        .selectFrom('green_plan_action_partners as ap')
        .innerJoin('green_plan_actions as a', 'a.id', 'ap.action_id')
        .innerJoin('organisations as o', 'o.code', 'ap.organisation_code')
        .select(['ap.action_id', 'ap.organisation_code', 'o.name as organisation_name'])
        .where('a.plan_id', '=', planId)
        .orderBy('ap.organisation_code')
        .execute();
    },

    async replacePartners(executor: Executor, actionId: string, codes: string[]): Promise<void> {
      await executor
        .deleteFrom('green_plan_action_partners')
        .where('action_id', '=', actionId)
        .execute();
      if (codes.length > 0)
        await executor
          .insertInto('green_plan_action_partners')
          .values(codes.map((code) => ({ action_id: actionId, organisation_code: code })))
          .execute();
    },

    // --- milestones ---

    async findMilestones(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_milestones as m')
        .innerJoin('green_plan_actions as a', 'a.id', 'm.action_id')
        .selectAll('m')
        .where('a.plan_id', '=', planId)
        .orderBy('m.action_id')
        .orderBy('m.position')
        .execute();
    },

    async insertMilestone(
      executor: Executor,
      row: Insertable<GreenPlanMilestonesTable>,
    ): Promise<void> {
      await executor.insertInto('green_plan_milestones').values(row).execute();
    },

    async setMilestoneDone(
      executor: Executor,
      actionId: string,
      milestoneId: string,
      doneOn: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('green_plan_milestones')
        .set({ done_on: doneOn })
        .where('id', '=', milestoneId)
        .where('action_id', '=', actionId)
        .where('done_on', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deleteMilestonesOfAction(executor: Executor, actionId: string): Promise<void> {
      await executor
        .deleteFrom('green_plan_milestones')
        .where('action_id', '=', actionId)
        .execute();
    },

    // --- progress updates ---

    async insertUpdate(executor: Executor, row: Insertable<GreenPlanUpdatesTable>): Promise<void> {
      await executor.insertInto('green_plan_updates').values(row).execute();
    },

    async insertUpdateFile(
      executor: Executor,
      updateId: string,
      fileId: string,
      position: number,
    ): Promise<void> {
      await executor
        .insertInto('green_plan_update_files')
        .values({ update_id: updateId, file_id: fileId, position })
        .execute();
    },

    async insertUpdateLink(
      executor: Executor,
      row: { id: string; update_id: string; url: string; title: string; position: number },
    ): Promise<void> {
      await executor.insertInto('green_plan_update_links').values(row).execute();
    },

    async findUpdates(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_updates as up')
        .innerJoin('green_plan_actions as a', 'a.id', 'up.action_id')
        .leftJoin('users as u', 'u.id', 'up.author_user_id')
        .selectAll('up')
        .select('u.display_name as author_name')
        .where('a.plan_id', '=', planId)
        .orderBy('up.update_date', 'desc')
        .orderBy('up.created_at', 'desc')
        .execute();
    },

    async findUpdateFiles(updateIds: string[]) {
      if (updateIds.length === 0) return [];
      return db
        .selectFrom('green_plan_update_files as uf')
        .innerJoin('stored_files as f', 'f.id', 'uf.file_id')
        .select([
          'uf.update_id',
          'f.id as file_id',
          'f.original_name',
          'f.content_type',
          'f.extension',
          'f.size_bytes',
        ])
        .where('uf.update_id', 'in', updateIds)
        .orderBy('uf.position')
        .execute();
    },

    async findUpdateLinks(updateIds: string[]) {
      if (updateIds.length === 0) return [];
      return db
        .selectFrom('green_plan_update_links')
        .selectAll()
        .where('update_id', 'in', updateIds)
        .orderBy('position')
        .execute();
    },

    /** The evidence file, if it belongs to an update of an action of this plan. */
    async findEvidenceFileId(planId: string, fileId: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('green_plan_update_files as uf')
        .innerJoin('green_plan_updates as up', 'up.id', 'uf.update_id')
        .innerJoin('green_plan_actions as a', 'a.id', 'up.action_id')
        .select('uf.file_id')
        .where('a.plan_id', '=', planId)
        .where('uf.file_id', '=', fileId)
        .executeTakeFirst();
      return row?.file_id;
    },

    // --- history ---

    async insertChange(
      executor: Executor,
      row: {
        action_id: string;
        changed_by: string | null;
        recorded_at: string;
        effective_on: string;
        kind: string;
        changes: string;
      },
    ): Promise<void> {
      await executor.insertInto('green_plan_action_changes').values(row).execute();
    },

    /** The id of an action's last history entry; 0 if it has none. */
    async findLastChangeId(actionId: string, executor: Executor = db): Promise<number> {
      const row = await executor
        .selectFrom('green_plan_action_changes')
        .select((eb) => eb.fn.max('id').as('last'))
        .where('action_id', '=', actionId)
        .executeTakeFirst();
      return row?.last == null ? 0 : Number(row.last);
    },

    async findChanges(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_action_changes as c')
        .innerJoin('green_plan_actions as a', 'a.id', 'c.action_id')
        .leftJoin('users as u', 'u.id', 'c.changed_by')
        .select([
          'c.id',
          'c.action_id',
          'c.changed_by',
          'u.display_name as changed_by_name',
          'c.recorded_at',
          'c.effective_on',
          'c.kind',
          'c.changes',
        ])
        .where('a.plan_id', '=', planId)
        .orderBy('c.id')
        .execute();
    },

    async countChanges(planId: string, executor: Executor = db): Promise<number> {
      const row = await executor
        .selectFrom('green_plan_action_changes as c')
        .innerJoin('green_plan_actions as a', 'a.id', 'c.action_id')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('a.plan_id', '=', planId)
        .executeTakeFirst();
      return Number(row?.count ?? 0);
    },

    /** The plan an action belongs to (comments on actions are found by the action alone). */
    async findPlanIdOfAction(
      actionId: string,
      executor: Executor = db,
    ): Promise<string | undefined> {
      const row = await executor
        .selectFrom('green_plan_actions')
        .select('plan_id')
        .where('id', '=', actionId)
        .executeTakeFirst();
      return row?.plan_id;
    },

    /** What a person wrote in the tracker, for their personal data download. */
    async findContributionsOf(userId: string) {
      const updates = await db
        .selectFrom('green_plan_updates as up')
        .innerJoin('green_plan_actions as a', 'a.id', 'up.action_id')
        .innerJoin('green_plans as p', 'p.id', 'a.plan_id')
        .select([
          'p.title as plan_title',
          'a.reference',
          'up.update_date',
          'up.narrative',
          'up.status',
          'up.progress_percent',
          'up.created_at',
        ])
        .where('up.author_user_id', '=', userId)
        .orderBy('up.created_at')
        .execute();
      return { updates };
    },

    // --- KPIs ---

    async findKpis(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_kpis')
        .selectAll()
        .where('plan_id', '=', planId)
        .orderBy('reference')
        .execute();
    },

    async insertKpi(executor: Executor, row: Insertable<GreenPlanKpisTable>): Promise<void> {
      await executor.insertInto('green_plan_kpis').values(row).execute();
    },

    async updateKpi(
      executor: Executor,
      kpiId: string,
      patch: Updateable<GreenPlanKpisTable>,
    ): Promise<void> {
      await executor.updateTable('green_plan_kpis').set(patch).where('id', '=', kpiId).execute();
    },

    async deleteTargets(executor: Executor, kpiId: string): Promise<void> {
      await executor.deleteFrom('green_plan_kpi_targets').where('kpi_id', '=', kpiId).execute();
    },

    async findTargets(kpiIds: string[], executor: Executor = db) {
      if (kpiIds.length === 0) return [];
      return executor
        .selectFrom('green_plan_kpi_targets')
        .selectAll()
        .where('kpi_id', 'in', kpiIds)
        .orderBy('target_date')
        .execute();
    },

    async insertTarget(
      executor: Executor,
      row: {
        id: string;
        kpi_id: string;
        target_date: string;
        target_value: number;
        label: string | null;
      },
    ): Promise<void> {
      await executor.insertInto('green_plan_kpi_targets').values(row).execute();
    },

    async findDataPoints(kpiIds: string[], executor: Executor = db) {
      if (kpiIds.length === 0) return [];
      return executor
        .selectFrom('green_plan_kpi_data_points')
        .selectAll()
        .where('kpi_id', 'in', kpiIds)
        .orderBy('observed_on')
        .execute();
    },

    /**
     * Writes a value for its KPI, date and source, replacing one already there, in one statement:
     * two writes at once (a double click, two imports) then both succeed, the later winning,
     * instead of one failing on the unique key.
     */
    async upsertDataPoint(executor: Executor, row: GreenPlanKpiDataPointsTable): Promise<void> {
      await executor
        .insertInto('green_plan_kpi_data_points')
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(['kpi_id', 'observed_on', 'source']).doUpdateSet({
            value: row.value,
            note: row.note,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
          }),
        )
        .execute();
    },

    async findKpiActionLinks(planId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_kpi_actions as ka')
        .innerJoin('green_plan_kpis as k', 'k.id', 'ka.kpi_id')
        .select(['ka.kpi_id', 'ka.action_id'])
        .where('k.plan_id', '=', planId)
        .execute();
    },

    /** Links a KPI to an action; false when they were linked already. */
    async linkKpiAction(executor: Executor, kpiId: string, actionId: string): Promise<boolean> {
      const result = await executor
        .insertInto('green_plan_kpi_actions')
        .values({ kpi_id: kpiId, action_id: actionId })
        .onConflict((conflict) => conflict.columns(['kpi_id', 'action_id']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /** Unlinks a KPI from an action; false when they were not linked. */
    async unlinkKpiAction(executor: Executor, kpiId: string, actionId: string): Promise<boolean> {
      const result = await executor
        .deleteFrom('green_plan_kpi_actions')
        .where('kpi_id', '=', kpiId)
        .where('action_id', '=', actionId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // --- imports ---

    async insertImport(executor: Executor, row: Insertable<GreenPlanImportsTable>): Promise<void> {
      await executor.insertInto('green_plan_imports').values(row).execute();
    },

    async findImport(planId: string, importId: string, executor: Executor = db) {
      return executor
        .selectFrom('green_plan_imports')
        .selectAll()
        .where('plan_id', '=', planId)
        .where('id', '=', importId)
        .executeTakeFirst();
    },

    async markImportCommitted(
      executor: Executor,
      importId: string,
      summary: string,
      at: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('green_plan_imports')
        .set({ status: 'committed', committed_at: at, summary })
        .where('id', '=', importId)
        .where('status', '=', 'ready')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    // --- deleting a plan ---

    /** What deleting a plan takes with it, counted for the confirmation page and the audit. */
    async findDeletionScope(executor: Executor, planId: string) {
      const [actions, kpis, updates, evidence, imports] = await Promise.all([
        executor
          .selectFrom('green_plan_actions')
          .select('id')
          .where('plan_id', '=', planId)
          .execute(),
        executor.selectFrom('green_plan_kpis').select('id').where('plan_id', '=', planId).execute(),
        executor
          .selectFrom('green_plan_updates as up')
          .innerJoin('green_plan_actions as a', 'a.id', 'up.action_id')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('a.plan_id', '=', planId)
          .executeTakeFirstOrThrow(),
        executor
          .selectFrom('green_plan_update_files as uf')
          .innerJoin('green_plan_updates as up', 'up.id', 'uf.update_id')
          .innerJoin('green_plan_actions as a', 'a.id', 'up.action_id')
          .select('uf.file_id')
          .where('a.plan_id', '=', planId)
          .execute(),
        executor
          .selectFrom('green_plan_imports')
          .select('file_id')
          .where('plan_id', '=', planId)
          .where('file_id', 'is not', null)
          .execute(),
      ]);
      return {
        actionIds: actions.map((row) => row.id),
        kpiIds: kpis.map((row) => row.id),
        updateCount: Number(updates.n),
        evidenceFileIds: evidence.map((row) => row.file_id),
        importFileIds: imports.map((row) => row.file_id!),
      };
    },

    /** What deleting one action takes with it (see `deleteAction`), and its sub-actions. */
    async findActionDeletionScope(executor: Executor, actionId: string) {
      const [children, updates, evidence, milestones, kpiLinks] = await Promise.all([
        executor
          .selectFrom('green_plan_actions')
          .select('reference')
          .where('parent_id', '=', actionId)
          .orderBy('reference')
          .execute(),
        executor
          .selectFrom('green_plan_updates')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('action_id', '=', actionId)
          .executeTakeFirstOrThrow(),
        executor
          .selectFrom('green_plan_update_files as uf')
          .innerJoin('green_plan_updates as up', 'up.id', 'uf.update_id')
          .select('uf.file_id')
          .where('up.action_id', '=', actionId)
          .execute(),
        executor
          .selectFrom('green_plan_milestones')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('action_id', '=', actionId)
          .executeTakeFirstOrThrow(),
        executor
          .selectFrom('green_plan_kpi_actions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('action_id', '=', actionId)
          .executeTakeFirstOrThrow(),
      ]);
      return {
        subActionReferences: children.map((row) => row.reference),
        updateCount: Number(updates.n),
        evidenceFileIds: evidence.map((row) => row.file_id),
        milestoneCount: Number(milestones.n),
        kpiLinkCount: Number(kpiLinks.n),
      };
    },

    /**
     * Deletes one action that has no sub-actions; the database's cascades take its partners,
     * milestones, updates with their file and link rows, history and KPI links.
     */
    async deleteAction(executor: Executor, actionId: string): Promise<void> {
      await executor.deleteFrom('green_plan_actions').where('id', '=', actionId).execute();
    },

    /**
     * Writes the plan's row without changing it, so the transaction holds it until it ends: a
     * second transaction that does the same waits (PostgreSQL; SQLite has one writer anyway).
     */
    async holdPlan(executor: Executor, planId: string): Promise<void> {
      await executor
        .updateTable('green_plans')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', planId)
        .execute();
    },

    /** Touches a draft plan's row, holding it until the transaction ends; false if not a draft. */
    async holdDraftPlan(executor: Executor, planId: string, at: string): Promise<boolean> {
      const result = await executor
        .updateTable('green_plans')
        .set({ updated_at: at })
        .where('id', '=', planId)
        .where('status', '=', 'draft')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * Deletes the plan row; the database cascades to its areas, actions (with their partners,
     * milestones, updates, links and history), KPIs (with targets, values and links) and imports.
     */
    async deletePlan(executor: Executor, planId: string): Promise<boolean> {
      const result = await executor
        .deleteFrom('green_plans')
        .where('id', '=', planId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

export type GreenPlanRepository = ReturnType<typeof createGreenPlanRepository>;
