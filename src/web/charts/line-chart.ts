import { escapeXml, formatTick, niceTicks } from './svg.ts';

export interface LineSeries {
  label: string;
  /** One value per category; null leaves a gap. */
  values: (number | null)[];
  /** Join the points either side of a gap instead of breaking the line (for irregular dates). */
  connectGaps?: boolean;
  /** Draw the line dashed, for a path to a target rather than measured values. */
  dashed?: boolean;
}

export interface LineChartOptions {
  /** Used for the SVG title and, with `id`, for aria-labelledby. */
  title: string;
  /** A sentence summarising the chart, read by screen readers. */
  description: string;
  categories: string[];
  series: LineSeries[];
  yLabel: string;
  id: string;
  width?: number;
  height?: number;
  /** Start the value axis at zero (default true). */
  fromZero?: boolean;
  /**
   * Where each category sits on the horizontal axis, such as day numbers for dates that are not
   * evenly spaced; by default categories are spaced evenly.
   */
  xValues?: number[];
}

/** Colours with at least 4.5:1 contrast on white, distinguishable without colour by markers. */
const palette = ['#005eb8', '#d5281b', '#007f3b', '#330072'];
const markers = ['circle', 'square', 'diamond', 'triangle'] as const;

function marker(kind: (typeof markers)[number], x: number, y: number, colour: string): string {
  switch (kind) {
    case 'circle':
      return `<circle cx="${x}" cy="${y}" r="3.5" fill="${colour}"/>`;
    case 'square':
      return `<rect x="${x - 3.5}" y="${y - 3.5}" width="7" height="7" fill="${colour}"/>`;
    case 'diamond':
      return `<path d="M${x} ${y - 4.5}L${x + 4.5} ${y}L${x} ${y + 4.5}L${x - 4.5} ${y}Z" fill="${colour}"/>`;
    case 'triangle':
      return `<path d="M${x} ${y - 4.5}L${x + 4.5} ${y + 4}L${x - 4.5} ${y + 4}Z" fill="${colour}"/>`;
  }
}

/**
 * A server-rendered SVG line chart. It needs no JavaScript; its title and description are exposed
 * to assistive technology (role="img"), and pages show the same numbers in a table beside it.
 */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 280;
  const margin = { top: 16, right: 16, bottom: 48, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = options.series
    .flatMap((series) => series.values)
    .filter((v): v is number => v !== null);
  const min =
    options.fromZero === false && values.length ? Math.min(...values) : Math.min(0, ...values);
  const max = values.length ? Math.max(...values) : 1;
  const ticks = niceTicks(min, max);
  const low = ticks[0]!;
  const high = ticks[ticks.length - 1]!;
  const y = (value: number) =>
    margin.top + plotHeight - ((value - low) / (high - low || 1)) * plotHeight;
  const count = options.categories.length;
  const xValues = options.xValues?.length === count ? options.xValues : undefined;
  const xMin = xValues ? Math.min(...xValues) : 0;
  const xSpan = xValues ? Math.max(...xValues) - xMin : 0;
  const x = (index: number) =>
    xValues && xSpan > 0
      ? margin.left + ((xValues[index]! - xMin) / xSpan) * plotWidth
      : margin.left + (count <= 1 ? plotWidth / 2 : (index / (count - 1)) * plotWidth);
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="gs-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${titleId} ${descId}" focusable="false">`,
    `<title id="${titleId}">${escapeXml(options.title)}</title>`,
    `<desc id="${descId}">${escapeXml(options.description)}</desc>`,
  ];
  for (const tick of ticks) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#d8dde0"/>`,
      `<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end" font-size="12" fill="#212b32">${escapeXml(formatTick(tick))}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(count / 8));
  options.categories.forEach((category, index) => {
    if (index % labelEvery !== 0 && index !== count - 1) return;
    parts.push(
      `<text x="${x(index)}" y="${height - margin.bottom + 18}" text-anchor="middle" font-size="12" fill="#212b32">${escapeXml(category)}</text>`,
    );
  });
  parts.push(
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(low)}" y2="${y(low)}" stroke="#4c6272"/>`,
    `<text x="14" y="${margin.top + plotHeight / 2}" transform="rotate(-90 14 ${margin.top + plotHeight / 2})" text-anchor="middle" font-size="12" fill="#212b32">${escapeXml(options.yLabel)}</text>`,
  );
  options.series.forEach((series, seriesIndex) => {
    const colour = palette[seriesIndex % palette.length]!;
    const shape = markers[seriesIndex % markers.length]!;
    let path = '';
    let drawing = false;
    series.values.forEach((value, index) => {
      if (value === null) {
        if (!series.connectGaps) drawing = false;
        return;
      }
      path += `${drawing ? 'L' : 'M'}${x(index).toFixed(1)} ${y(value).toFixed(1)}`;
      drawing = true;
    });
    if (path)
      parts.push(
        `<path d="${path}" fill="none" stroke="${colour}" stroke-width="2.5"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    series.values.forEach((value, index) => {
      if (value !== null)
        parts.push(marker(shape, Number(x(index).toFixed(1)), Number(y(value).toFixed(1)), colour));
    });
  });
  if (options.series.length > 1) {
    options.series.forEach((series, seriesIndex) => {
      const lx = margin.left + seriesIndex * 160;
      const ly = height - 10;
      parts.push(
        marker(
          markers[seriesIndex % markers.length]!,
          lx,
          ly - 4,
          palette[seriesIndex % palette.length]!,
        ),
        `<text x="${lx + 10}" y="${ly}" font-size="12" fill="#212b32">${escapeXml(series.label)}</text>`,
      );
    });
  }
  parts.push('</svg>');
  return parts.join('');
}
