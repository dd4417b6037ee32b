import {
  actionStatusLabels,
  actionStatusRag,
  countByStatus,
  expectedValueOn,
  isActionStatus,
  overallProgress,
  previousQuarter,
  rollUpProgress,
  trajectoryStanding,
  trajectoryStandingLabels,
  valueAsOf,
  type ActionStatus,
  type FieldChange,
  type ProgressNode,
  type Quarter,
  type TrajectoryPoint,
  type TrajectoryStanding,
} from './progress.calculations.ts';
import { formatOrganisationName } from '../organisations/organisation-name.ts';

/**
 * The quarterly board report, built from the plan as it stands, its history and its KPIs: each
 * action's status and progress at the end of the quarter are replayed from the history, so a
 * report for a past quarter says what was true then.
 */

export interface ReportInput {
  plan: {
    title: string;
    ownerOrganisationName: string;
    periodStart: string;
    periodEnd: string;
    isExample: boolean;
  };
  areas: readonly { id: string; name: string; slug: string }[];
  actions: readonly {
    id: string;
    reference: string;
    parentId: string | null;
    areaId: string;
    title: string;
    leadOrganisationName: string;
    status: ActionStatus;
    ownProgress: number;
    weight: number;
    dueDate: string | null;
    milestones: readonly { title: string; dueDate: string; doneOn: string | null }[];
  }[];
  changes: readonly { id: number; action_id: string; effective_on: string; changes: string }[];
  updates: readonly {
    action_id: string;
    update_date: string;
    narrative: string;
    created_at: string;
  }[];
  kpis: readonly {
    id: string;
    reference: string;
    name: string;
    unit: string;
    direction: 'increase' | 'decrease';
    path: readonly TrajectoryPoint[];
    dataPoints: readonly { date: string; value: number }[];
  }[];
}

export interface ActionAsOf {
  id: string;
  reference: string;
  title: string;
  areaId: string;
  parentId: string | null;
  leadOrganisationName: string;
  status: ActionStatus;
  progress: number;
  dueDate: string | null;
}

/** Each action's status and progress at the end of a day; actions not yet begun are left out. */
export function actionsAsOf(input: ReportInput, day: string): ActionAsOf[] {
  const byAction = new Map<
    string,
    { effectiveOn: string; order: number; changes: FieldChange[] }[]
  >();
  for (const change of input.changes) {
    const list = byAction.get(change.action_id) ?? [];
    list.push({
      effectiveOn: change.effective_on,
      order: change.id,
      changes: JSON.parse(change.changes) as FieldChange[],
    });
    byAction.set(change.action_id, list);
  }
  const present: (ActionAsOf & { ownProgress: number; weight: number })[] = [];
  for (const action of input.actions) {
    const history = byAction.get(action.id) ?? [];
    const status = valueAsOf(action.status, history, 'status', day);
    if (status === null || !isActionStatus(status)) continue;
    const progress = Number(
      valueAsOf(String(action.ownProgress), history, 'progress_percent', day) ?? action.ownProgress,
    );
    present.push({
      id: action.id,
      reference: action.reference,
      title: action.title,
      areaId: action.areaId,
      parentId: action.parentId,
      leadOrganisationName: action.leadOrganisationName,
      status,
      progress,
      ownProgress: progress,
      weight: action.weight,
      dueDate: action.dueDate,
    });
  }
  const nodes: ProgressNode[] = present.map((action) => ({
    id: action.id,
    parentId: action.parentId,
    status: action.status,
    progressPercent: action.ownProgress,
    weight: action.weight,
  }));
  const effective = rollUpProgress(nodes);
  return present.map((action) => ({
    id: action.id,
    reference: action.reference,
    title: action.title,
    areaId: action.areaId,
    parentId: action.parentId,
    leadOrganisationName: action.leadOrganisationName,
    status: action.status,
    progress: Math.round((effective.get(action.id) ?? action.progress) * 10) / 10,
    dueDate: action.dueDate,
  }));
}

function progressOf(actions: readonly ActionAsOf[], weights: ReadonlyMap<string, number>): number {
  const ids = new Set(actions.map((action) => action.id));
  const topLevel = actions.filter(
    (action) => action.parentId === null || !ids.has(action.parentId),
  );
  const nodes: ProgressNode[] = topLevel.map((action) => ({
    id: action.id,
    parentId: null,
    status: action.status,
    progressPercent: action.progress,
    weight: weights.get(action.id) ?? 1,
  }));
  return (
    Math.round(
      overallProgress(nodes, new Map(nodes.map((node) => [node.id, node.progressPercent]))) * 10,
    ) / 10
  );
}

export interface BoardReport {
  quarter: Quarter;
  previous: Quarter;
  overall: { progress: number; previousProgress: number; total: number };
  ragCounts: {
    status: ActionStatus;
    label: string;
    rag: string;
    count: number;
    previousCount: number;
  }[];
  areas: {
    name: string;
    slug: string;
    total: number;
    progress: number;
    previousProgress: number;
    counts: Record<ActionStatus, number>;
  }[];
  exceptions: {
    reference: string;
    id: string;
    title: string;
    areaName: string;
    leadOrganisationName: string;
    status: ActionStatus;
    statusLabel: string;
    progress: number;
    narrative: string | null;
    narrativeDate: string | null;
  }[];
  kpis: {
    id: string;
    reference: string;
    name: string;
    unit: string;
    latest: { date: string; value: number } | null;
    expected: number | null;
    standing: TrajectoryStanding;
    standingLabel: string;
  }[];
  changes: {
    statusChanges: { id: string; reference: string; title: string; from: string; to: string }[];
    progressChanges: { id: string; reference: string; title: string; from: number; to: number }[];
    started: { id: string; reference: string; title: string }[];
    completed: { id: string; reference: string; title: string }[];
    milestonesDone: { reference: string; actionId: string; title: string; doneOn: string }[];
  };
}

export function buildBoardReport(input: ReportInput, quarter: Quarter): BoardReport {
  const previous = previousQuarter(quarter);
  const now = actionsAsOf(input, quarter.end);
  const before = actionsAsOf(input, previous.end);
  const beforeById = new Map(before.map((action) => [action.id, action]));
  const weights = new Map(input.actions.map((action) => [action.id, action.weight]));
  const counts = countByStatus(now);
  const previousCounts = countByStatus(before);
  const areaName = new Map(input.areas.map((area) => [area.id, area.name]));

  const exceptions = now
    .filter((action) => action.status === 'at_risk' || action.status === 'off_track')
    .map((action) => {
      const latest = input.updates
        .filter((update) => update.action_id === action.id && update.update_date <= quarter.end)
        .sort((a, b) =>
          a.update_date !== b.update_date
            ? a.update_date < b.update_date
              ? 1
              : -1
            : a.created_at < b.created_at
              ? 1
              : -1,
        )[0];
      return {
        reference: action.reference,
        id: action.id,
        title: action.title,
        areaName: areaName.get(action.areaId) ?? '',
        leadOrganisationName: formatOrganisationName(action.leadOrganisationName),
        status: action.status,
        statusLabel: actionStatusLabels[action.status],
        progress: action.progress,
        narrative: latest?.narrative ?? null,
        narrativeDate: latest?.update_date ?? null,
      };
    })
    .sort((a, b) =>
      a.status === b.status
        ? a.reference.localeCompare(b.reference)
        : a.status === 'off_track'
          ? -1
          : 1,
    );

  const kpis = input.kpis.map((kpi) => {
    const latest = [...kpi.dataPoints]
      .filter((point) => point.date <= quarter.end)
      .sort((a, b) => (a.date < b.date ? -1 : 1))
      .at(-1);
    const result = trajectoryStanding(kpi.path, latest, kpi.direction);
    return {
      id: kpi.id,
      reference: kpi.reference,
      name: kpi.name,
      unit: kpi.unit,
      latest: latest ? { date: latest.date, value: latest.value } : null,
      expected: latest ? expectedValueOn(kpi.path, latest.date) : null,
      standing: result.standing,
      standingLabel: trajectoryStandingLabels[result.standing],
    };
  });

  const statusChanges = [];
  const progressChanges = [];
  const started = [];
  const completed = [];
  for (const action of now) {
    const earlier = beforeById.get(action.id);
    if (!earlier) {
      started.push({ id: action.id, reference: action.reference, title: action.title });
      if (action.status === 'complete')
        completed.push({ id: action.id, reference: action.reference, title: action.title });
      continue;
    }
    if (earlier.status !== action.status) {
      statusChanges.push({
        id: action.id,
        reference: action.reference,
        title: action.title,
        from: actionStatusLabels[earlier.status],
        to: actionStatusLabels[action.status],
      });
      if (action.status === 'complete')
        completed.push({ id: action.id, reference: action.reference, title: action.title });
    }
    if (earlier.progress !== action.progress)
      progressChanges.push({
        id: action.id,
        reference: action.reference,
        title: action.title,
        from: earlier.progress,
        to: action.progress,
      });
  }
  const milestonesDone = input.actions.flatMap((action) =>
    action.milestones
      .filter(
        (milestone) =>
          milestone.doneOn !== null &&
          milestone.doneOn >= quarter.start &&
          milestone.doneOn <= quarter.end,
      )
      .map((milestone) => ({
        reference: action.reference,
        actionId: action.id,
        title: milestone.title,
        doneOn: milestone.doneOn!,
      })),
  );

  return {
    quarter,
    previous,
    overall: {
      progress: progressOf(now, weights),
      previousProgress: progressOf(before, weights),
      total: now.length,
    },
    ragCounts: (Object.keys(counts) as ActionStatus[]).map((status) => ({
      status,
      label: actionStatusLabels[status],
      rag: actionStatusRag[status],
      count: counts[status],
      previousCount: previousCounts[status],
    })),
    areas: input.areas.map((area) => {
      const inArea = now.filter((action) => action.areaId === area.id);
      const inAreaBefore = before.filter((action) => action.areaId === area.id);
      return {
        name: area.name,
        slug: area.slug,
        total: inArea.length,
        progress: progressOf(inArea, weights),
        previousProgress: progressOf(inAreaBefore, weights),
        counts: countByStatus(inArea),
      };
    }),
    exceptions,
    kpis,
    changes: {
      statusChanges,
      progressChanges,
      started,
      completed,
      milestonesDone: milestonesDone.sort((a, b) => (a.doneOn < b.doneOn ? -1 : 1)),
    },
  };
}
