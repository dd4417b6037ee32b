import { ukCalendarDate } from '../../lib/uk-time.ts';
import { awardLevels, levelRank, type AwardLevel } from './framework.calculations.ts';

/**
 * Pure figures for programme dashboards and the inequalities lens: participation, awards by level,
 * the distribution of points, progress month by month, league tables, and every practice measure by
 * deprivation quintile with the gap between the most and the least deprived.
 */

/** IMD 2019 quintiles of GP practices nationally: 1 is the most deprived fifth. */
export const quintiles = [1, 2, 3, 4, 5] as const;
export type Quintile = (typeof quintiles)[number];

export const quintileLabels: Record<Quintile, string> = {
  1: '1 (most deprived)',
  2: '2',
  3: '3',
  4: '4',
  5: '5 (least deprived)',
};

/** One practice's contribution to a measure: a value is numerator ÷ denominator × scale. */
export interface PracticeFraction {
  quintile: number | null;
  numerator: number;
  denominator: number;
}

export interface QuintileValue {
  quintile: Quintile;
  practices: number;
  numerator: number;
  denominator: number;
  /** Null when the quintile has no practice with a denominator. */
  value: number | null;
}

export interface InequalityResult {
  byQuintile: QuintileValue[];
  /** The most deprived quintile's value minus the least deprived's; null if either is missing. */
  gap: number | null;
  /** Practices without a quintile (no IMD score), left out of every quintile. */
  practicesWithoutQuintile: number;
}

function isQuintile(value: number | null): value is Quintile {
  return value !== null && (quintiles as readonly number[]).includes(value);
}

/**
 * Sums numerators and denominators within each quintile and recomputes the value, as the
 * prescribing roll-ups do, so a quintile's figure weighs each practice by its denominator (its
 * inhaler items, its patients) and a count measure (points, awards) is a mean per practice.
 * Practices with no denominator are left out of both sums.
 */
export function byDeprivationQuintile(
  practices: readonly PracticeFraction[],
  scale = 1,
): InequalityResult {
  const sums = new Map<Quintile, { practices: number; numerator: number; denominator: number }>(
    quintiles.map((quintile) => [quintile, { practices: 0, numerator: 0, denominator: 0 }]),
  );
  let practicesWithoutQuintile = 0;
  for (const practice of practices) {
    if (!isQuintile(practice.quintile)) {
      practicesWithoutQuintile += 1;
      continue;
    }
    if (!(practice.denominator > 0)) continue;
    const entry = sums.get(practice.quintile)!;
    entry.practices += 1;
    entry.numerator += practice.numerator;
    entry.denominator += practice.denominator;
  }
  const byQuintile = quintiles.map((quintile) => {
    const entry = sums.get(quintile)!;
    return {
      quintile,
      ...entry,
      value: entry.denominator > 0 ? (entry.numerator / entry.denominator) * scale : null,
    };
  });
  const most = byQuintile[0]!.value;
  const least = byQuintile[4]!.value;
  return {
    byQuintile,
    gap: most !== null && least !== null ? most - least : null,
    practicesWithoutQuintile,
  };
}

export interface ProgrammePractice {
  code: string;
  name: string;
  /** Whether the practice has an assessment this year. */
  participating: boolean;
  status: 'not_started' | 'in_progress' | 'submitted' | 'returned' | 'awarded';
  points: number;
  /** The highest level awarded this year, if any. */
  award: AwardLevel | null;
}

export interface ParticipationSummary {
  practices: number;
  participating: number;
  participationPercent: number;
  byStatus: Record<ProgrammePractice['status'], number>;
  awardsByLevel: Record<AwardLevel, number>;
  awarded: number;
  meanPointsOfParticipants: number | null;
}

export function summariseParticipation(
  practices: readonly ProgrammePractice[],
): ParticipationSummary {
  const byStatus: ParticipationSummary['byStatus'] = {
    not_started: 0,
    in_progress: 0,
    submitted: 0,
    returned: 0,
    awarded: 0,
  };
  const awardsByLevel: Record<AwardLevel, number> = { bronze: 0, silver: 0, gold: 0 };
  let participating = 0;
  let points = 0;
  for (const practice of practices) {
    byStatus[practice.status] += 1;
    if (practice.award) awardsByLevel[practice.award] += 1;
    if (practice.participating) {
      participating += 1;
      points += practice.points;
    }
  }
  return {
    practices: practices.length,
    participating,
    participationPercent: practices.length > 0 ? (participating / practices.length) * 100 : 0,
    byStatus,
    awardsByLevel,
    awarded: awardLevels.reduce((sum, level) => sum + awardsByLevel[level], 0),
    meanPointsOfParticipants: participating > 0 ? points / participating : null,
  };
}

export interface HistogramBin {
  label: string;
  from: number;
  to: number;
  practices: number;
}

/**
 * Participating practices by points, in bins of `binWidth` from 0 up to `maximum` (the framework's
 * total); the last bin is closed so the maximum falls in it.
 */
export function pointsHistogram(
  points: readonly number[],
  binWidth: number,
  maximum: number,
): HistogramBin[] {
  const width = Math.max(1, Math.floor(binWidth));
  const top = Math.max(width, maximum);
  const bins: HistogramBin[] = [];
  for (let from = 0; from < top; from += width) {
    const to = Math.min(from + width - 1, top);
    bins.push({ label: `${from}–${to}`, from, to, practices: 0 });
  }
  const last = bins[bins.length - 1]!;
  if (last.to < top) last.to = top;
  last.label = `${last.from}–${last.to}`;
  for (const value of points) {
    const clamped = Math.min(Math.max(0, Math.round(value)), top);
    const index = Math.min(bins.length - 1, Math.floor(clamped / width));
    bins[index]!.practices += 1;
  }
  return bins;
}

export interface ProgressEvent {
  assessmentId: string;
  /** ISO timestamp. */
  occurredAt: string;
  /** Points of the assessment after the event. */
  points: number;
}

export interface AwardEvent {
  practiceCode: string;
  level: AwardLevel;
  awardedAt: string;
}

export interface MonthProgress {
  /** `YYYY-MM`. */
  month: string;
  participating: number;
  totalPoints: number;
  awardsByLevel: Record<AwardLevel, number>;
}

/** The months of a programme year up to and including `lastMonth`, as `YYYY-MM`. */
export function monthsOfYear(programmeYear: string, lastMonth: string): string[] {
  const startYear = Number(programmeYear.slice(0, 4));
  const months: string[] = [];
  for (let index = 0; index < 12; index++) {
    const year = startYear + Math.floor((3 + index) / 12);
    const month = ((3 + index) % 12) + 1;
    const key = `${year}-${String(month).padStart(2, '0')}`;
    if (key > lastMonth) break;
    months.push(key);
  }
  return months;
}

/**
 * The months progress is shown for: April of the programme year up to this month, ending in March;
 * and, while the year is still the one shown after March (no new framework yet, or awards decided
 * in April for March submissions), on to the latest month with an answer or award in it, so that
 * the last row agrees with the year's headline figures. Months are `YYYY-MM` in UK time.
 */
export function progressMonths(
  programmeYear: string,
  thisMonth: string,
  latestActivityMonth: string | null,
): string[] {
  const months = monthsOfYear(programmeYear, thisMonth);
  if (months.length < 12 || latestActivityMonth === null) return months;
  const last = latestActivityMonth < thisMonth ? latestActivityMonth : thisMonth;
  let [year, month] = months.at(-1)!.split('-').map(Number) as [number, number];
  for (;;) {
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    const key = `${year}-${String(month).padStart(2, '0')}`;
    if (key > last) break;
    months.push(key);
  }
  return months;
}

/**
 * Replays events to the end of each month: how many practices had started, the sum of their
 * latest points, and the practices holding each level as their highest award so far. Months are
 * UK calendar months: an answer saved at 00:30 BST on 1 June counts in June, as the practice saw it.
 */
export function progressByMonth(
  months: readonly string[],
  events: readonly ProgressEvent[],
  awards: readonly AwardEvent[],
): MonthProgress[] {
  const ukMonth = (at: string) => ukCalendarDate(at).slice(0, 7);
  const sortedEvents = events
    .map((event) => ({ ...event, month: ukMonth(event.occurredAt) }))
    .sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
  const sortedAwards = awards
    .map((award) => ({ ...award, month: ukMonth(award.awardedAt) }))
    .sort((a, b) => a.awardedAt.localeCompare(b.awardedAt));
  const latestPoints = new Map<string, number>();
  const highestAward = new Map<string, AwardLevel>();
  let eventIndex = 0;
  let awardIndex = 0;
  return months.map((month) => {
    while (eventIndex < sortedEvents.length && sortedEvents[eventIndex]!.month <= month) {
      const event = sortedEvents[eventIndex]!;
      latestPoints.set(event.assessmentId, event.points);
      eventIndex += 1;
    }
    while (awardIndex < sortedAwards.length && sortedAwards[awardIndex]!.month <= month) {
      const award = sortedAwards[awardIndex]!;
      const held = highestAward.get(award.practiceCode);
      if (!held || levelRank(award.level) > levelRank(held))
        highestAward.set(award.practiceCode, award.level);
      awardIndex += 1;
    }
    const awardsByLevel: Record<AwardLevel, number> = { bronze: 0, silver: 0, gold: 0 };
    for (const level of highestAward.values()) awardsByLevel[level] += 1;
    return {
      month,
      participating: latestPoints.size,
      totalPoints: [...latestPoints.values()].reduce((sum, value) => sum + value, 0),
      awardsByLevel,
    };
  });
}

export interface LeagueEntry<T> {
  rank: number;
  entry: T;
}

/**
 * Ranks by points, then by award level, highest first; equal points and award share a rank (1, 2,
 * 2, 4); ties are listed by name.
 */
export function leagueTable<T extends { name: string; points: number; award: AwardLevel | null }>(
  entries: readonly T[],
): LeagueEntry<T>[] {
  const awardValue = (award: AwardLevel | null) => (award === null ? -1 : levelRank(award));
  const sorted = [...entries].sort(
    (a, b) =>
      b.points - a.points ||
      awardValue(b.award) - awardValue(a.award) ||
      a.name.localeCompare(b.name),
  );
  const ranked: LeagueEntry<T>[] = [];
  sorted.forEach((entry, index) => {
    const previous = ranked[index - 1];
    const tied =
      previous !== undefined &&
      previous.entry.points === entry.points &&
      awardValue(previous.entry.award) === awardValue(entry.award);
    ranked.push({ rank: tied ? previous.rank : index + 1, entry });
  });
  return ranked;
}
