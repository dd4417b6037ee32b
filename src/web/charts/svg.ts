/** Escapes text for SVG/HTML element content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Round axis steps: 1, 2 or 5 times a power of ten, giving about `target` ticks. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (min === max) {
    if (max === 0) return [0, 1];
    min = Math.min(0, min);
    max = max > 0 ? max : 0;
  }
  const span = max - min;
  if (!(span > 1e-9)) return [Math.floor(min), Math.max(Math.floor(min) + 1, Math.ceil(max))];
  const rough = span / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step =
    [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough) ?? 10 * power;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let value = start; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
    if (ticks.length > 50) break;
  }
  // Rounding (or a tiny value underflowing to zero) may leave an end of the data off the axis.
  while (ticks[0]! > min) ticks.unshift(ticks[0]! - step);
  while (ticks[ticks.length - 1]! < max && ticks.length < 60)
    ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

export function formatTick(value: number): string {
  if (Math.abs(value) >= 1000)
    return new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 }).format(value);
  return new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 }).format(value);
}
