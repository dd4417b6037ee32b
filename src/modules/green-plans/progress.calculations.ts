/**
 * Pure calculations for Green Plans: the weighted roll-up of progress through the action tree,
 * what is overdue, trajectories from a KPI's baseline to its targets, and financial-year quarters.
 * No I/O: every function here is a function of its arguments.
 */

export const actionStatuses = [
  'not_started',
  'on_track',
  'at_risk',
  'off_track',
  'complete',
  'cancelled',
] as const;
export type ActionStatus = (typeof actionStatuses)[number];

export const actionStatusLabels: Record<ActionStatus, string> = {
  not_started: 'Not started',
  on_track: 'On track',
  at_risk: 'At risk',
  off_track: 'Off track',
  complete: 'Complete',
  cancelled: 'Cancelled',
};

/** RAG rating of each status, for board reports: green, amber, red, or none. */
export const actionStatusRag: Record<ActionStatus, 'green' | 'amber' | 'red' | 'grey' | 'blue'> = {
  not_started: 'grey',
  on_track: 'green',
  at_risk: 'amber',
  off_track: 'red',
  complete: 'blue',
  cancelled: 'grey',
};

export function isActionStatus(value: string): value is ActionStatus {
  return (actionStatuses as readonly string[]).includes(value);
}

/** The fields of an action that the roll-up needs. */
export interface ProgressNode {
  id: string;
  parentId: string | null;
  status: ActionStatus;
  /** The action's own progress, 0–100; used only when it has no counted children. */
  progressPercent: number;
  /** Relative weight among its siblings; greater than zero. */
  weight: number;
}

/**
 * The weighted mean of values, or undefined when there is nothing to average (no items, or every
 * weight is zero).
 */
export function weightedMean(
  items: readonly { value: number; weight: number }[],
): number | undefined {
  let sum = 0;
  let totalWeight = 0;
  for (const item of items) {
    if (!(item.weight > 0)) continue;
    sum += item.value * item.weight;
    totalWeight += item.weight;
  }
  if (totalWeight === 0) return undefined;
  // Clamp the rounding error of a long sum back into the range of the values averaged.
  const mean = sum / totalWeight;
  let min = Infinity;
  let max = -Infinity;
  for (const item of items) {
    if (!(item.weight > 0)) continue;
    min = Math.min(min, item.value);
    max = Math.max(max, item.value);
  }
  return Math.min(max, Math.max(min, mean));
}

/**
 * The effective progress of every action: a leaf's own progress; for a parent, the weighted mean
 * of its children's effective progress. Cancelled children are left out of the mean (they will not
 * be delivered, so they neither help nor hold back their parent); a parent whose children are all
 * cancelled keeps its own progress. Parents that are not in the list, and cycles, are treated as
 * if the link were absent, so a damaged tree still gives an answer.
 */
export function rollUpProgress(nodes: readonly ProgressNode[]): Map<string, number> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const children = new Map<string, ProgressNode[]>();
  for (const node of nodes) {
    if (node.parentId === null || !byId.has(node.parentId)) continue;
    const list = children.get(node.parentId) ?? [];
    list.push(node);
    children.set(node.parentId, list);
  }
  const result = new Map<string, number>();
  const visiting = new Set<string>();

  function effective(node: ProgressNode): number {
    const known = result.get(node.id);
    if (known !== undefined) return known;
    visiting.add(node.id);
    const counted = (children.get(node.id) ?? []).filter(
      (child) => child.status !== 'cancelled' && !visiting.has(child.id),
    );
    const mean = weightedMean(
      counted.map((child) => ({ value: effective(child), weight: child.weight })),
    );
    visiting.delete(node.id);
    const value = mean ?? clampPercent(node.progressPercent);
    result.set(node.id, value);
    return value;
  }

  for (const node of nodes) effective(node);
  return result;
}

/**
 * Overall progress of a set of top-level actions (a plan, or an area): the weighted mean of their
 * effective progress, leaving out cancelled ones; 0 when there is nothing to count.
 */
export function overallProgress(
  topLevel: readonly ProgressNode[],
  effective: ReadonlyMap<string, number>,
): number {
  return (
    weightedMean(
      topLevel
        .filter((node) => node.status !== 'cancelled')
        .map((node) => ({
          value: effective.get(node.id) ?? clampPercent(node.progressPercent),
          weight: node.weight,
        })),
    ) ?? 0
  );
}

export function clampPercent(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, value));
}

/**
 * Overdue is derived, never entered: an action is overdue when its due date has passed and it is
 * neither complete nor cancelled. Dates are `YYYY-MM-DD`; `today` is the reference day.
 */
export function isActionOverdue(
  action: { dueDate: string | null; status: ActionStatus },
  today: string,
): boolean {
  if (action.dueDate === null) return false;
  if (action.status === 'complete' || action.status === 'cancelled') return false;
  return action.dueDate < today;
}

/** A milestone is overdue when its due date has passed and it has not been done. */
export function isMilestoneOverdue(
  milestone: { dueDate: string; doneOn: string | null },
  today: string,
): boolean {
  return milestone.doneOn === null && milestone.dueDate < today;
}

/** Counts of actions by status, every status present (zero when none). */
export function countByStatus(
  actions: readonly { status: ActionStatus }[],
): Record<ActionStatus, number> {
  const counts = Object.fromEntries(actionStatuses.map((status) => [status, 0])) as Record<
    ActionStatus,
    number
  >;
  for (const action of actions) counts[action.status] += 1;
  return counts;
}

// --- dates ---

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

export function dateOfDayNumber(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return dateOfDayNumber(dayNumber(date) + days);
}

// --- KPI trajectories ---

export interface TrajectoryPoint {
  date: string;
  value: number;
}

/**
 * The straight-line path from the baseline to each target in date order (baseline → first target →
 * second target…), as the list of its corners. Targets dated on or before the baseline are left
 * out: no straight line leads to them.
 */
export function trajectoryPath(
  baseline: TrajectoryPoint,
  targets: readonly TrajectoryPoint[],
): TrajectoryPoint[] {
  const later = [...targets]
    .filter((target) => target.date > baseline.date)
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const corners: TrajectoryPoint[] = [baseline];
  for (const target of later) {
    if (target.date === corners[corners.length - 1]!.date) continue;
    corners.push(target);
  }
  return corners;
}

/**
 * The value the path expects on a date: linear between corners; the baseline before it starts and
 * the last target after it ends.
 */
export function expectedValueOn(path: readonly TrajectoryPoint[], date: string): number {
  if (path.length === 0) return Number.NaN;
  const day = dayNumber(date);
  const first = path[0]!;
  if (day <= dayNumber(first.date)) return first.value;
  for (let index = 1; index < path.length; index++) {
    const from = path[index - 1]!;
    const to = path[index]!;
    const fromDay = dayNumber(from.date);
    const toDay = dayNumber(to.date);
    if (day <= toDay) {
      const share = (day - fromDay) / (toDay - fromDay);
      return from.value + (to.value - from.value) * share;
    }
  }
  return path[path.length - 1]!.value;
}

export type TrajectoryStanding = 'ahead' | 'on_trajectory' | 'behind' | 'no_data';

export const trajectoryStandingLabels: Record<TrajectoryStanding, string> = {
  ahead: 'Ahead of trajectory',
  on_trajectory: 'On trajectory',
  behind: 'Behind trajectory',
  no_data: 'No data yet',
};

/**
 * Where the latest value stands against the path on its date. Within a tolerance of 2% of the
 * distance between baseline and final target counts as on trajectory.
 */
export function trajectoryStanding(
  path: readonly TrajectoryPoint[],
  latest: TrajectoryPoint | undefined,
  direction: 'decrease' | 'increase',
): { standing: TrajectoryStanding; expected: number | null } {
  if (!latest || path.length === 0) return { standing: 'no_data', expected: null };
  const expected = expectedValueOn(path, latest.date);
  const span = Math.abs(path[path.length - 1]!.value - path[0]!.value);
  const tolerance = Math.max(span * 0.02, 1e-9);
  const better = direction === 'decrease' ? expected - latest.value : latest.value - expected;
  if (Math.abs(better) <= tolerance) return { standing: 'on_trajectory', expected };
  return { standing: better > 0 ? 'ahead' : 'behind', expected };
}

// --- financial-year quarters ---

/** An NHS financial-year quarter: Q1 is April to June. */
export interface Quarter {
  /** The year the financial year starts in: 2023 for 2023/24. */
  financialYear: number;
  quarter: 1 | 2 | 3 | 4;
  /** `2023-24-q2` */
  key: string;
  /** `Q2 2023/24 (July to September 2023)` */
  label: string;
  start: string;
  end: string;
}

const monthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function makeQuarter(financialYear: number, quarter: 1 | 2 | 3 | 4): Quarter {
  const startMonth = ((quarter - 1) * 3 + 3) % 12; // 0-based: April = 3
  const startYear = quarter === 4 ? financialYear + 1 : financialYear;
  // Dates are YYYY-MM-DD, so a year is written with four digits, as `new Date` reads it.
  const year = String(startYear).padStart(4, '0');
  const start = `${year}-${String(startMonth + 1).padStart(2, '0')}-01`;
  const endMonth = startMonth + 2;
  const lastDay = new Date(Date.UTC(startYear, endMonth + 1, 0)).getUTCDate();
  const end = `${year}-${String(endMonth + 1).padStart(2, '0')}-${String(lastDay).padStart(2, '0')}`;
  const shortNext = String((financialYear + 1) % 100).padStart(2, '0');
  return {
    financialYear,
    quarter,
    key: `${String(financialYear).padStart(4, '0')}-${shortNext}-q${quarter}`,
    label: `Q${quarter} ${financialYear}/${shortNext} (${monthNames[startMonth]} to ${monthNames[endMonth]} ${startYear})`,
    start,
    end,
  };
}

/** The quarter a date falls in. */
export function quarterOf(date: string): Quarter {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7)); // 1–12
  const financialYear = month >= 4 ? year : year - 1;
  const quarter = (Math.floor((((month - 4 + 12) % 12) as number) / 3) + 1) as 1 | 2 | 3 | 4;
  return makeQuarter(financialYear, quarter);
}

/** The financial years a quarter's address may name: a Green Plan's years, with room to spare. */
export const QUARTER_YEARS = { first: 2000, last: 2100 } as const;

/** Parses `2023-24-q2`; undefined for anything else, and for a year outside `QUARTER_YEARS`. */
export function parseQuarterKey(key: string): Quarter | undefined {
  const match = /^(\d{4})-(\d{2})-q([1-4])$/.exec(key);
  if (!match) return undefined;
  const financialYear = Number(match[1]);
  if (financialYear < QUARTER_YEARS.first || financialYear > QUARTER_YEARS.last) return undefined;
  if (String((financialYear + 1) % 100).padStart(2, '0') !== match[2]) return undefined;
  return makeQuarter(financialYear, Number(match[3]) as 1 | 2 | 3 | 4);
}

export function previousQuarter(quarter: Quarter): Quarter {
  return quarter.quarter === 1
    ? makeQuarter(quarter.financialYear - 1, 4)
    : makeQuarter(quarter.financialYear, (quarter.quarter - 1) as 1 | 2 | 3);
}

/** Every quarter that overlaps the period, oldest first. */
export function quartersBetween(start: string, end: string): Quarter[] {
  const quarters: Quarter[] = [];
  let current = quarterOf(start);
  const last = quarterOf(end);
  while (current.start <= last.start) {
    quarters.push(current);
    current =
      current.quarter === 4
        ? makeQuarter(current.financialYear + 1, 1)
        : makeQuarter(current.financialYear, (current.quarter + 1) as 2 | 3 | 4);
    if (quarters.length > 200) break;
  }
  return quarters;
}

// --- history ---

export interface FieldChange {
  field: string;
  from: string | null;
  to: string | null;
}

/**
 * The value a field had at the end of a day, from the changes recorded (each with the day it took
 * effect, in the order they were recorded): the `to` of the last change that took effect on or
 * before that day; before any change, the `from` of the earliest; with no change at all, the
 * current value.
 */
export function valueAsOf(
  current: string | null,
  changes: readonly { effectiveOn: string; order: number; changes: readonly FieldChange[] }[],
  field: string,
  day: string,
): string | null {
  const touching = changes
    .filter((change) => change.changes.some((item) => item.field === field))
    .sort((a, b) =>
      a.effectiveOn < b.effectiveOn ? -1 : a.effectiveOn > b.effectiveOn ? 1 : a.order - b.order,
    );
  if (touching.length === 0) return current;
  const fieldOf = (change: (typeof touching)[number]) =>
    change.changes.find((item) => item.field === field)!;
  let value: string | null = fieldOf(touching[0]!).from;
  for (const change of touching) {
    if (change.effectiveOn > day) break;
    value = fieldOf(change).to;
  }
  return value;
}
