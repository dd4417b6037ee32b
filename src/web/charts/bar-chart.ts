import { escapeXml, formatTick, niceTicks } from './svg.ts';

export interface BarChartOptions {
  title: string;
  description: string;
  id: string;
  bars: { label: string; value: number; highlight?: boolean }[];
  valueLabel: string;
  /**
   * A short word put before a highlighted bar's label ("MDI"), so that the highlight is told in
   * words and not by its colour alone.
   */
  highlightTag?: string;
  width?: number;
}

/**
 * A server-rendered horizontal bar chart with one labelled bar per row. No JavaScript; the page
 * shows the same figures in a table. A highlighted bar is drawn darker, its label in bold and,
 * given a `highlightTag`, starting with that word.
 */
export function renderBarChart(options: BarChartOptions): string {
  const width = options.width ?? 640;
  const rowHeight = 28;
  const margin = { top: 8, right: 72, bottom: 32, left: 220 };
  const height = margin.top + margin.bottom + rowHeight * Math.max(1, options.bars.length);
  const plotWidth = width - margin.left - margin.right;
  const values = options.bars.map((bar) => bar.value);
  const ticks = niceTicks(Math.min(0, ...values), Math.max(1e-9, ...values), 4);
  const low = ticks[0]!;
  const high = ticks[ticks.length - 1]!;
  const x = (value: number) => margin.left + ((value - low) / (high - low || 1)) * plotWidth;
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="gs-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${titleId} ${descId}" focusable="false">`,
    `<title id="${titleId}">${escapeXml(options.title)}</title>`,
    `<desc id="${descId}">${escapeXml(options.description)}</desc>`,
  ];
  for (const tick of ticks) {
    parts.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#d8dde0"/>`,
      `<text x="${x(tick)}" y="${height - margin.bottom + 16}" text-anchor="middle" font-size="12" fill="#212b32">${escapeXml(formatTick(tick))}</text>`,
    );
  }
  options.bars.forEach((bar, index) => {
    const top = margin.top + index * rowHeight + 4;
    const full =
      bar.highlight && options.highlightTag ? `${options.highlightTag}: ${bar.label}` : bar.label;
    const label = full.length > 34 ? `${full.slice(0, 33)}…` : full;
    parts.push(
      `<text x="${margin.left - 8}" y="${top + 15}" text-anchor="end" font-size="12" fill="#212b32"${bar.highlight ? ' font-weight="bold"' : ''}>${escapeXml(label)}</text>`,
      `<rect x="${Math.min(x(0), x(bar.value))}" y="${top}" width="${Math.abs(x(bar.value) - x(0))}" height="${rowHeight - 10}" fill="${bar.highlight ? '#003087' : '#005eb8'}"/>`,
      `<text x="${x(Math.max(0, bar.value)) + 4}" y="${top + 14}" font-size="12" fill="#212b32">${escapeXml(formatTick(bar.value))}</text>`,
    );
  });
  parts.push(
    `<text x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle" font-size="12" fill="#212b32">${escapeXml(options.valueLabel)}</text>`,
    '</svg>',
  );
  return parts.join('');
}
