import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { renderBarChart } from './bar-chart.ts';
import { renderLineChart } from './line-chart.ts';
import { niceTicks } from './svg.ts';

describe('SVG charts', () => {
  it('renders an accessible line chart with gaps for missing values', () => {
    const svg = renderLineChart({
      id: 'trend',
      title: 'MDI share <by month>',
      description: 'Falls from 60% to 50%.',
      categories: ['2024-01', '2024-02', '2024-03'],
      series: [{ label: 'Practice', values: [60, null, 50] }],
      yLabel: '%',
    });
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-labelledby="trend-title trend-desc"');
    expect(svg).toContain('MDI share &lt;by month&gt;');
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svg).not.toContain('<script');
  });

  it('renders a bar chart with one bar per row', () => {
    const svg = renderBarChart({
      id: 'bars',
      title: 'Top products',
      description: 'Ventolin Evohaler is highest.',
      bars: [
        { label: 'Ventolin Evohaler', value: 2628.18, highlight: true },
        { label: 'Clenil', value: 569.8 },
      ],
      valueLabel: 'kgCO2e',
    });
    expect(svg.match(/<rect/g)).toHaveLength(2);
    expect(svg).toContain('font-weight="bold"');
  });

  it('tells a highlighted bar in words as well as by colour when given a tag', () => {
    const svg = renderBarChart({
      id: 'bars',
      title: 'Top products',
      description: 'Ventolin Evohaler is highest.',
      bars: [
        { label: 'Ventolin Evohaler 100micrograms/dose inhaler', value: 2628.18, highlight: true },
        { label: 'Clenil', value: 569.8 },
      ],
      valueLabel: 'kgCO2e',
      highlightTag: 'MDI',
    });
    expect(svg).toContain('>MDI: Ventolin Evohaler 100microgr…</text>');
    expect(svg).toContain('>Clenil</text>');
  });

  it('chooses ticks that cover the data', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (min, span) => {
          const ticks = niceTicks(min, min + span);
          expect(ticks[0]!).toBeLessThanOrEqual(min);
          expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(min + span);
          expect(ticks.length).toBeLessThanOrEqual(60);
        },
      ),
    );
  });
});
