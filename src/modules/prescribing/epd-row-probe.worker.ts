// Runs `probeRows` in a worker thread (see `startRowProbe`) and posts its result back.
import { parentPort, workerData } from 'node:worker_threads';
import type { RowProbeMessage, RowProbeWorkerData } from './epd-row-probe-thread.ts';
import { probeRows } from './epd-row-probe.ts';

const { options } = workerData as RowProbeWorkerData;
const result = probeRows({ ...options, wanted: new Set(options.wanted) });
const message: RowProbeMessage = {
  rows: [...result.rows],
  notUtf8: result.notUtf8,
  reads: result.reads,
};
parentPort!.postMessage(message);
