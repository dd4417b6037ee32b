import type { Worker } from 'node:worker_threads';
import { startTypeScriptWorker } from '../../lib/typescript-worker.ts';
import type { RowProbeOptions, RowProbeResult } from './epd-row-probe.ts';

/** What the worker thread is given: the options, with the wanted keys as a list. */
export interface RowProbeWorkerData {
  options: Omit<RowProbeOptions, 'wanted'> & { wanted: string[] };
}

/** What the worker thread posts back: the result, with the rows found as a list. */
export interface RowProbeMessage {
  rows: [string, string[]][];
  notUtf8: RowProbeResult['notUtf8'];
  reads: number;
}

export interface RowProbeTask {
  result: Promise<RowProbeResult>;
  /** Stops the thread if it is still reading; the result is then an error that says so. */
  stop(): void;
}

/**
 * `probeRows` in a worker thread, so that the importer can write a month's lines while the probe
 * reads: on a national month the probe takes a few tenths of a second. The thread takes about a
 * tenth to start, so it is only worth it for large files (smaller ones are probed in the caller's
 * thread).
 */
export function startRowProbe(options: RowProbeOptions): RowProbeTask {
  const data: RowProbeWorkerData = { options: { ...options, wanted: [...options.wanted] } };
  let worker: Worker | undefined;
  let stopped = false;
  const stoppedEarly = (how: string) =>
    new Error(`the row probe's thread stopped before it finished (${how})`);
  const result = (async () => {
    const started = await startTypeScriptWorker(
      new URL('./epd-row-probe.worker.ts', import.meta.url),
      data,
    );
    if (stopped) {
      void started.terminate();
      throw stoppedEarly('it was asked to');
    }
    worker = started;
    return new Promise<RowProbeResult>((resolve, reject) => {
      started.once('message', (message: RowProbeMessage) =>
        resolve({ rows: new Map(message.rows), notUtf8: message.notUtf8, reads: message.reads }),
      );
      started.once('error', reject);
      started.once('exit', (code) => reject(stoppedEarly(`exit code ${code}`)));
    });
  })();
  return {
    result,
    stop: () => {
      stopped = true;
      void worker?.terminate();
    },
  };
}
