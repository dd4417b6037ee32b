import { describe, expect, it } from 'vitest';
import { formatDuration, renderProgressLine } from './progress-bar.ts';

describe('progress line', () => {
  it('shows the bar, rows, MB/s and the time left', () => {
    const line = renderProgressLine(
      { label: 'Reading', bytesDone: 50e6, bytesTotal: 100e6, rows: 1234 },
      10,
      10,
    );
    expect(line).toBe('Reading [#####.....]  50% 1,234 rows 50 MB 5.0 MB/s ETA 0:10');
  });

  it('copes with an unknown total', () => {
    expect(
      renderProgressLine({ label: 'Downloading', bytesDone: 0, bytesTotal: null }, 0, 4),
    ).toContain('[????]   ?%');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    expect(formatDuration(125)).toBe('2:05');
  });
});
