import { describe, expect, it } from 'vitest';
import { formatImportTimings } from './prescribing.cli.ts';
import type { ImportTimings } from './prescribing.service.ts';

const timings = (ms: number): ImportTimings => ({
  inspectMs: ms,
  scanMs: ms * 40,
  summaryMs: ms,
  detailsMs: ms * 2,
  classifyMs: ms,
  readMs: ms * 3,
  writeMs: ms * 5,
  measuresMs: ms,
  commitMs: ms,
});

describe('import timings', () => {
  it('sums the phases over the files, in seconds, with start, the rest, and the total', () => {
    // Two files: 10 ms and 20 ms units; 55 units each way = 1,650 ms of phases.
    const line = formatImportTimings(
      [{ timings: timings(10) }, { timings: timings(20) }],
      600,
      2_400,
    );
    expect(line).toBe(
      'Timings: start 0.60 s, inspect 0.03 s, scan 1.20 s, summary 0.03 s, details 0.06 s, ' +
        'classify 0.03 s, read 0.09 s, write 0.15 s, measures 0.03 s, commit 0.03 s, other 0.15 s; ' +
        '2.40 s in all since the process started.',
    );
  });

  it('never shows a negative rest when the phases overlap the clock readings', () => {
    expect(formatImportTimings([{ timings: timings(100) }], 0, 1_000)).toContain('other 0.00 s');
  });
});
