import { renderBarChart } from '../../web/charts/bar-chart.ts';
import { renderLineChart } from '../../web/charts/line-chart.ts';
import { formatNumber } from '../../web/views.ts';
import { awardLevelLabels, awardLevels, type AwardLevel } from './framework.calculations.ts';
import {
  quintileLabels,
  type HistogramBin,
  type InequalityResult,
  type MonthProgress,
} from './programme.calculations.ts';
import type { LensMeasure } from './programme.service.ts';

/**
 * The programme's charts, drawn with the shared server-rendered SVG charts. Each comes with the
 * rows of the table the page shows with it, so every figure can be read without the picture.
 */

export interface ChartWithRows {
  svg: string | null;
  head: { text: string; format?: 'numeric' }[];
  rows: { text: string; format?: 'numeric' }[][];
}

const monthLabel = new Intl.DateTimeFormat('en-GB', {
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

function formatMonth(month: string): string {
  return monthLabel.format(new Date(`${month}-01T00:00:00Z`));
}

export function awardsChart(id: string, awardsByLevel: Record<AwardLevel, number>): ChartWithRows {
  const total = awardLevels.reduce((sum, level) => sum + awardsByLevel[level], 0);
  return {
    svg:
      total > 0
        ? renderBarChart({
            id,
            title: 'Practices by award level',
            description: awardLevels
              .map((level) => `${awardLevelLabels[level]}: ${awardsByLevel[level]}`)
              .join(', '),
            bars: awardLevels.map((level) => ({
              label: awardLevelLabels[level],
              value: awardsByLevel[level],
            })),
            valueLabel: 'Practices',
          })
        : null,
    head: [{ text: 'Award level' }, { text: 'Practices', format: 'numeric' }],
    rows: awardLevels.map((level) => [
      { text: awardLevelLabels[level] },
      { text: String(awardsByLevel[level]), format: 'numeric' },
    ]),
  };
}

export function pointsChart(id: string, bins: readonly HistogramBin[]): ChartWithRows {
  const total = bins.reduce((sum, bin) => sum + bin.practices, 0);
  return {
    svg:
      total > 0
        ? renderBarChart({
            id,
            title: 'Practices taking part, by points',
            description: `${total} practices; the most are in the ${[...bins].sort((a, b) => b.practices - a.practices)[0]!.label} points band.`,
            bars: bins.map((bin) => ({ label: `${bin.label} points`, value: bin.practices })),
            valueLabel: 'Practices',
          })
        : null,
    head: [{ text: 'Points' }, { text: 'Practices', format: 'numeric' }],
    rows: bins.map((bin) => [
      { text: bin.label },
      { text: String(bin.practices), format: 'numeric' },
    ]),
  };
}

export function progressChart(id: string, progress: readonly MonthProgress[]): ChartWithRows {
  const awarded = (month: MonthProgress) =>
    awardLevels.reduce((sum, level) => sum + month.awardsByLevel[level], 0);
  const last = progress.at(-1);
  return {
    svg:
      progress.length > 0
        ? renderLineChart({
            id,
            title: 'Progress over the programme year',
            description: last
              ? `By ${formatMonth(last.month)}, ${last.participating} practices were taking part and ${awarded(last)} held an award.`
              : '',
            categories: progress.map((month) => formatMonth(month.month)),
            series: [
              {
                label: 'Practices taking part',
                values: progress.map((month) => month.participating),
              },
              { label: 'Practices with an award', values: progress.map(awarded) },
            ],
            yLabel: 'Practices',
          })
        : null,
    head: [
      { text: 'Month' },
      { text: 'Taking part', format: 'numeric' },
      { text: 'Total points', format: 'numeric' },
      { text: 'Bronze', format: 'numeric' },
      { text: 'Silver', format: 'numeric' },
      { text: 'Gold', format: 'numeric' },
    ],
    rows: progress.map((month) => [
      { text: formatMonth(month.month) },
      { text: String(month.participating), format: 'numeric' },
      { text: formatNumber(month.totalPoints), format: 'numeric' },
      { text: String(month.awardsByLevel.bronze), format: 'numeric' },
      { text: String(month.awardsByLevel.silver), format: 'numeric' },
      { text: String(month.awardsByLevel.gold), format: 'numeric' },
    ]),
  };
}

/** Digits to show a measure's values with. */
export function digitsFor(unit: string): number {
  return unit === '%' || unit.startsWith('points') || unit.includes('per inhaler') ? 1 : 0;
}

export function quintileChart(
  id: string,
  measure: LensMeasure,
  result: InequalityResult,
): ChartWithRows {
  const digits = digitsFor(measure.unit);
  const shown = result.byQuintile.filter((entry) => entry.value !== null);
  return {
    svg:
      shown.length > 0
        ? renderBarChart({
            id,
            title: `${measure.title} by deprivation quintile`,
            description: `${result.byQuintile
              .map(
                (entry) =>
                  `quintile ${quintileLabels[entry.quintile]}: ${entry.value === null ? 'no data' : formatNumber(entry.value, digits)}`,
              )
              .join(
                '; ',
              )}. Gap, most minus least deprived: ${result.gap === null ? 'none' : formatNumber(result.gap, digits)} ${measure.unit}.`,
            // A quintile with no data has no bar (a bar at 0 would read as a value of 0).
            bars: shown.map((entry) => ({
              label: `Quintile ${quintileLabels[entry.quintile]}`,
              value: Math.round(entry.value! * 10 ** digits) / 10 ** digits,
              highlight: entry.quintile === 1 || entry.quintile === 5,
            })),
            valueLabel: measure.unit,
          })
        : null,
    head: [
      { text: 'IMD quintile' },
      { text: 'Practices', format: 'numeric' },
      { text: measure.unit === '%' ? 'Value (%)' : `Value (${measure.unit})`, format: 'numeric' },
    ],
    rows: result.byQuintile.map((entry) => [
      { text: quintileLabels[entry.quintile] },
      { text: String(entry.practices), format: 'numeric' },
      {
        text: entry.value === null ? 'No data' : formatNumber(entry.value, digits),
        format: 'numeric',
      },
    ]),
  };
}
