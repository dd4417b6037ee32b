import { ukCalendarDate } from '../../lib/uk-time.ts';

/**
 * The Greener General Practice framework as data, and the pure rules over a practice's answers:
 * points, the award level reached, what a submission still needs, and progress towards each level.
 * No I/O: the service loads the framework and the answers and asks these functions.
 */

export const awardLevels = ['bronze', 'silver', 'gold'] as const;
export type AwardLevel = (typeof awardLevels)[number];

export const awardLevelLabels: Record<AwardLevel, string> = {
  bronze: 'Bronze',
  silver: 'Silver',
  gold: 'Gold',
};

/** The framework's judgement of an action's typical impact, used to rank recommendations. */
export const impactBands = ['low', 'medium', 'high', 'very-high'] as const;
export type ImpactBand = (typeof impactBands)[number];

export const impactBandLabels: Record<ImpactBand, string> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  'very-high': 'Very high',
};

/** Estimates of saving that Greenspace can compute from a practice's own data. */
export const savingEstimates = ['inhaler-switch'] as const;
export type SavingEstimate = (typeof savingEstimates)[number];

export const responseStatuses = ['not_started', 'in_progress', 'done', 'not_applicable'] as const;
export type ResponseStatus = (typeof responseStatuses)[number];

export const responseStatusLabels: Record<ResponseStatus, string> = {
  not_started: 'Not started',
  in_progress: 'In progress',
  done: 'Done',
  not_applicable: 'Not applicable',
};

export function isResponseStatus(value: string): value is ResponseStatus {
  return (responseStatuses as readonly string[]).includes(value);
}

export function isAwardLevel(value: string): value is AwardLevel {
  return (awardLevels as readonly string[]).includes(value);
}

export interface FrameworkAction {
  /** Stable across versions of a year, e.g. `MI-02`; answers are kept by code. */
  code: string;
  themeId: string;
  title: string;
  description: string;
  whyItMatters: string;
  howToEvidence: string;
  points: number;
  /** The lowest level this action is required for (and every level above it), or null. */
  requiredFor: AwardLevel | null;
  impact: ImpactBand;
  /** A national area of focus (its slug), to find case studies. */
  areaOfFocus: string | null;
  /** A knowledge hub tag that finds the case studies closest to this action, within its area. */
  caseStudyTag: string | null;
  /** An inhaler measure of the prescribing module that shows whether this action matters here. */
  measure: string | null;
  saving: SavingEstimate | null;
}

export interface FrameworkTheme {
  id: string;
  name: string;
  summary: string;
  actions: FrameworkAction[];
}

export interface FrameworkLevel {
  id: AwardLevel;
  name: string;
  minimumPoints: number;
  description: string;
}

export interface Framework {
  /** The NHS financial year the framework is for, e.g. `2026-27`. */
  programmeYear: string;
  title: string;
  basis: string;
  levels: FrameworkLevel[];
  themes: FrameworkTheme[];
}

/** One answer of a practice to one action. */
export interface ActionResponse {
  status: ResponseStatus;
  /** What was done, which also counts as evidence when long enough. */
  note: string;
  /** Why the action does not apply (for not applicable). */
  notApplicableReason: string;
  /** Evidence files attached. */
  evidenceFiles: number;
}

export type Responses = ReadonlyMap<string, ActionResponse>;

/** A note this long or longer counts as written evidence. */
export const MIN_EVIDENCE_NOTE_LENGTH = 20;

export function allActions(framework: Framework): FrameworkAction[] {
  return framework.themes.flatMap((theme) => theme.actions);
}

export function findAction(framework: Framework, code: string): FrameworkAction | undefined {
  return allActions(framework).find((action) => action.code === code);
}

export function levelRank(level: AwardLevel): number {
  return awardLevels.indexOf(level);
}

/** True when the action must be done for an award at `level`. */
export function isRequiredFor(action: FrameworkAction, level: AwardLevel): boolean {
  return action.requiredFor !== null && levelRank(action.requiredFor) <= levelRank(level);
}

export function totalPoints(framework: Framework): number {
  return allActions(framework).reduce((sum, action) => sum + action.points, 0);
}

function statusOf(responses: Responses, code: string): ResponseStatus {
  return responses.get(code)?.status ?? 'not_started';
}

/** Points earned: the points of every framework action marked done. Not applicable earns none. */
export function pointsEarned(framework: Framework, responses: Responses): number {
  return allActions(framework).reduce(
    (sum, action) => sum + (statusOf(responses, action.code) === 'done' ? action.points : 0),
    0,
  );
}

export function hasEvidence(response: ActionResponse | undefined): boolean {
  if (!response) return false;
  return response.evidenceFiles > 0 || response.note.trim().length >= MIN_EVIDENCE_NOTE_LENGTH;
}

export interface LevelStanding {
  level: AwardLevel;
  name: string;
  minimumPoints: number;
  pointsShort: number;
  /** Required actions (for this level or a lower one) not yet done, in framework order. */
  missingRequired: FrameworkAction[];
  reached: boolean;
}

/** Where the answers stand against each level, lowest first. */
export function levelStandings(framework: Framework, responses: Responses): LevelStanding[] {
  const points = pointsEarned(framework, responses);
  const actions = allActions(framework);
  return framework.levels.map((level) => {
    const missingRequired = actions.filter(
      (action) => isRequiredFor(action, level.id) && statusOf(responses, action.code) !== 'done',
    );
    const pointsShort = Math.max(0, level.minimumPoints - points);
    return {
      level: level.id,
      name: level.name,
      minimumPoints: level.minimumPoints,
      pointsShort,
      missingRequired,
      reached: pointsShort === 0 && missingRequired.length === 0,
    };
  });
}

/**
 * The highest level the answers qualify for: its points threshold met and every action required
 * for it, or for a lower level, done. A level above one not reached is not reached either, so a
 * practice is never Gold without being Silver.
 */
export function levelReached(framework: Framework, responses: Responses): AwardLevel | null {
  let reached: AwardLevel | null = null;
  for (const standing of levelStandings(framework, responses)) {
    if (!standing.reached) break;
    reached = standing.level;
  }
  return reached;
}

/** The next level above `current` (null for none yet), or null above Gold. */
export function nextLevel(current: AwardLevel | null): AwardLevel | null {
  if (current === null) return awardLevels[0];
  return awardLevels[levelRank(current) + 1] ?? null;
}

export interface SubmissionProblem {
  /** The action concerned, or null for the whole assessment. */
  actionCode: string | null;
  message: string;
}

/**
 * Everything that stops the answers being submitted for `level`, each written for the champion:
 * points short of the threshold, required actions not done (and not applicable is not accepted for
 * them), done actions without evidence, not applicable without a reason. Empty when it may go.
 */
export function submissionProblems(
  framework: Framework,
  responses: Responses,
  level: AwardLevel,
): SubmissionProblem[] {
  const problems: SubmissionProblem[] = [];
  const definition = framework.levels.find((candidate) => candidate.id === level);
  if (!definition) return [{ actionCode: null, message: `The framework has no ${level} level.` }];
  const points = pointsEarned(framework, responses);
  if (points < definition.minimumPoints) {
    problems.push({
      actionCode: null,
      message: `${definition.name} needs ${definition.minimumPoints} points; the assessment has ${points}. Complete actions worth ${definition.minimumPoints - points} more points.`,
    });
  }
  for (const action of allActions(framework)) {
    const response = responses.get(action.code);
    const status = response?.status ?? 'not_started';
    if (isRequiredFor(action, level) && status !== 'done') {
      problems.push({
        actionCode: action.code,
        message:
          status === 'not_applicable'
            ? `${action.code} ${action.title} is required for ${definition.name} and cannot be marked not applicable.`
            : `${action.code} ${action.title} is required for ${definition.name}: mark it done, with evidence.`,
      });
    }
    if (status === 'done' && !hasEvidence(response)) {
      problems.push({
        actionCode: action.code,
        message: `${action.code} ${action.title} is marked done without evidence: attach a file or describe what was done in at least ${MIN_EVIDENCE_NOTE_LENGTH} characters.`,
      });
    }
    if (status === 'not_applicable' && (response?.notApplicableReason.trim() ?? '') === '') {
      problems.push({
        actionCode: action.code,
        message: `${action.code} ${action.title} is marked not applicable without a reason.`,
      });
    }
  }
  return problems;
}

/** Counts of answers by status over the framework's actions. */
export function countByStatus(
  framework: Framework,
  responses: Responses,
): Record<ResponseStatus, number> {
  const counts: Record<ResponseStatus, number> = {
    not_started: 0,
    in_progress: 0,
    done: 0,
    not_applicable: 0,
  };
  for (const action of allActions(framework)) counts[statusOf(responses, action.code)] += 1;
  return counts;
}

/** The NHS financial year (April to March) a moment falls in, in UK time, as `YYYY-YY`. */
export function programmeYearOf(date: Date): string {
  const [year, month] = ukCalendarDate(date).split('-').map(Number) as [number, number];
  return formatProgrammeYear(month >= 4 ? year : year - 1);
}

export function formatProgrammeYear(startYear: number): string {
  return `${startYear}-${String((startYear + 1) % 100).padStart(2, '0')}`;
}

/** True for `2026-27` and the like: a year and the next year's last two digits. */
export function isProgrammeYear(value: string): boolean {
  const match = /^(\d{4})-(\d{2})$/.exec(value);
  if (!match) return false;
  return (Number(match[1]) + 1) % 100 === Number(match[2]);
}

/** The first and last days of a programme year, `YYYY-MM-DD`. */
export function programmeYearBounds(programmeYear: string): { start: string; end: string } {
  const startYear = Number(programmeYear.slice(0, 4));
  return { start: `${startYear}-04-01`, end: `${startYear + 1}-03-31` };
}
