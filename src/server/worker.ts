/**
 * The entry of an analysis worker thread (see pool.ts): receives `{ id, kind, data, rows, cols,
 * options }` (the matrix's buffer transferred), runs {@link analyze} and answers
 * `{ id, row, arrays }` (copied: result arrays may live in the native pool, which cannot be
 * transferred) or `{ id, status, message }`.
 */
import { parentPort } from 'node:worker_threads';
import { analyze, failureStatus } from './analysis.js';
import type { AnalysisKind, ParsedQuery } from './decode.js';

/** A job as the pool posts it. */
export interface WorkerJob {
  id: number;
  kind: AnalysisKind;
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
  options: ParsedQuery['options'];
}

const port = parentPort;
if (port) {
  port.on('message', async (job: WorkerJob) => {
    try {
      const r = await analyze(job.kind, { data: job.data, rows: job.rows, cols: job.cols }, job.options);
      port.postMessage({ id: job.id, row: r.row, arrays: r.arrays });
    } catch (err) {
      port.postMessage({ id: job.id, ...failureStatus(err) });
    }
  });
}
