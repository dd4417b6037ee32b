/**
 * A one-line progress display for long imports: bar, percentage, rows, MB/s and time left. On a
 * terminal it redraws in place; elsewhere (CI logs, pipes) it prints a line every few seconds.
 */
export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream;
  /** Minimum milliseconds between redraws. */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressState {
  label: string;
  bytesDone: number;
  bytesTotal: number | null;
  /** Rows read so far, when known or estimated. */
  rows?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return `${minutes}:${String(rest).padStart(2, '0')}`;
}

/** The text of one progress line; pure, so it can be tested. */
export function renderProgressLine(
  state: ProgressState,
  elapsedSeconds: number,
  width = 24,
): string {
  const fraction =
    state.bytesTotal && state.bytesTotal > 0
      ? Math.min(1, state.bytesDone / state.bytesTotal)
      : null;
  const filled = fraction === null ? 0 : Math.round(fraction * width);
  const bar =
    fraction === null ? '?'.repeat(width) : `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const megabytes = state.bytesDone / 1e6;
  const rate = elapsedSeconds > 0 ? megabytes / elapsedSeconds : 0;
  const remaining =
    fraction !== null && fraction > 0 && rate > 0
      ? (state.bytesTotal! - state.bytesDone) / 1e6 / rate
      : Number.NaN;
  const percent = fraction === null ? '  ?%' : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const rows =
    state.rows === undefined ? '' : ` ${Math.round(state.rows).toLocaleString('en-GB')} rows`;
  return `${state.label} [${bar}] ${percent}${rows} ${megabytes.toFixed(0)} MB ${rate.toFixed(1)} MB/s ETA ${formatDuration(remaining)}`;
}

export function createProgressBar(options: ProgressBarOptions = {}) {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const interactive = stream.isTTY === true;
  const interval = options.intervalMs ?? (interactive ? 200 : 5000);
  let startedAt: number | null = null;
  let label: string | null = null;
  let lastDraw = -Infinity;
  let lastLength = 0;

  return {
    update(state: ProgressState, force = false) {
      const time = now();
      if (label !== state.label) {
        this.done();
        label = state.label;
        startedAt = time;
        lastDraw = -Infinity;
      }
      if (!force && time - lastDraw < interval) return;
      lastDraw = time;
      const line = renderProgressLine(state, (time - (startedAt ?? time)) / 1000);
      if (interactive) {
        stream.write(`\r${line}${' '.repeat(Math.max(0, lastLength - line.length))}`);
        lastLength = line.length;
      } else {
        stream.write(`${line}\n`);
      }
    },
    /** Ends the current line so the next output starts on its own line. */
    done() {
      if (interactive && lastLength > 0) stream.write('\n');
      lastLength = 0;
      label = null;
    },
  };
}
