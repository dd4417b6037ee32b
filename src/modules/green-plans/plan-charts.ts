import { renderBarChart } from '../../web/charts/bar-chart.ts';
import { renderLineChart } from '../../web/charts/line-chart.ts';
import { dayNumber, expectedValueOn, type TrajectoryPoint } from './progress.calculations.ts';

/**
 * The Green Plan charts, drawn with the shared server-rendered SVG charts. Each comes with the rows
 * of the table that pages show beside it, so every figure can be read without the picture.
 */

export function progressByAreaChart(
  id: string,
  areas: readonly { name: string; progress: number; total: number }[],
) {
  const shown = areas.filter((area) => area.total > 0);
  return {
    svg:
      shown.length > 0
        ? renderBarChart({
            id,
            title: 'Weighted progress by area of focus',
            description: `Progress of the actions in each area of focus, from ${Math.min(...shown.map((area) => area.progress))}% to ${Math.max(...shown.map((area) => area.progress))}%.`,
            bars: shown.map((area) => ({ label: area.name, value: area.progress })),
            valueLabel: 'Weighted progress (%)',
          })
        : null,
    rows: areas.map((area) => [
      { text: area.name },
      { text: String(area.total), format: 'numeric' },
      { text: `${area.progress}%`, format: 'numeric' },
    ]),
  };
}

export function statusCountChart(id: string, counts: readonly { label: string; count: number }[]) {
  const total = counts.reduce((sum, item) => sum + item.count, 0);
  return {
    svg:
      total > 0
        ? renderBarChart({
            id,
            title: 'Actions by status',
            description: counts.map((item) => `${item.label}: ${item.count}`).join(', '),
            bars: counts.map((item) => ({ label: item.label, value: item.count })),
            valueLabel: 'Number of actions',
          })
        : null,
    rows: counts.map((item) => [
      { text: item.label },
      { text: String(item.count), format: 'numeric' },
    ]),
  };
}

/**
 * A KPI's actual values against the straight-line path from its baseline to each target. Dates
 * sit on the axis in proportion to the time between them; the path is dashed.
 */
export function trajectoryChart(
  id: string,
  kpi: {
    name: string;
    unit: string;
    path: readonly TrajectoryPoint[];
    dataPoints: readonly { date: string; value: number }[];
  },
) {
  const dates = [
    ...new Set([
      ...kpi.path.map((point) => point.date),
      ...kpi.dataPoints.map((point) => point.date),
    ]),
  ].sort();
  const actualByDate = new Map(kpi.dataPoints.map((point) => [point.date, point.value]));
  const pathDates = new Set(kpi.path.map((point) => point.date));
  const last = kpi.path[kpi.path.length - 1];
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const rows = dates.map((date) => {
    const expected = expectedValueOn(kpi.path, date);
    return {
      date,
      actual: actualByDate.get(date) ?? null,
      expected: round(expected),
      isCorner: pathDates.has(date),
    };
  });
  const svg =
    dates.length > 0
      ? renderLineChart({
          id,
          title: `${kpi.name}: actual against trajectory`,
          description:
            `Measured values of ${kpi.name} (${kpi.unit}) against the straight-line path from the baseline to ${last ? `${round(last.value)} ${kpi.unit} by ${last.date}` : 'each target'}. ` +
            (kpi.dataPoints.length > 0
              ? `The latest value is ${round(kpi.dataPoints[kpi.dataPoints.length - 1]!.value)} ${kpi.unit} on ${kpi.dataPoints[kpi.dataPoints.length - 1]!.date}.`
              : 'No values have been recorded yet.'),
          categories: dates,
          xValues: dates.map(dayNumber),
          series: [
            { label: 'Actual', values: rows.map((row) => row.actual), connectGaps: true },
            {
              label: 'Trajectory to target',
              values: rows.map((row) =>
                row.isCorner || row.actual !== null ? row.expected : null,
              ),
              connectGaps: true,
              dashed: true,
            },
          ],
          yLabel: kpi.unit,
        })
      : null;
  return {
    svg,
    rows: rows.map((row) => [
      { text: row.date },
      { text: row.actual === null ? '—' : String(row.actual), format: 'numeric' },
      { text: String(row.expected), format: 'numeric' },
    ]),
  };
}
