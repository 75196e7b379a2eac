/**
 * The analysis of one decoded upload, the same on the event loop and in a worker thread: the
 * library call of its kind, its row (the run store's columns) and its arrays, and the HTTP status
 * of a failure.
 */
import type { Mat } from '../matrix.js';
import { LapackError, NoConvergenceError } from '../errors.js';
import { weightSpectrum, weightSpectrumToRow, type FigureRow } from '../rmt/index.js';
import { analyzeObservable, omdSnapshotToRow } from '../omd/index.js';
import type { AnalysisKind, ParsedQuery } from './decode.js';

/** The row and arrays of one analysis. */
export interface Analysis {
  row: FigureRow;
  arrays: Record<string, Float64Array>;
}

/**
 * Runs `weightSpectrum` (kind 'weights') or `analyzeObservable` ('omd') on `mat` with the
 * options parsed from the query (parseQuery admits only the options of `kind`).
 * @throws what the library call throws (see {@link failureStatus}).
 */
export async function analyze(kind: AnalysisKind, mat: Mat, options: ParsedQuery['options']): Promise<Analysis> {
  if (kind === 'weights') {
    const r = await weightSpectrum(mat, options);
    return { row: weightSpectrumToRow(r), arrays: { evals: r.evals, spikes: r.spikes, snr: r.snr } };
  }
  const s = await analyzeObservable(mat, options);
  return { row: omdSnapshotToRow(s), arrays: { values: s.values } };
}

/**
 * The status of a failed analysis: 400 for the library's input errors (TypeError, RangeError:
 * NaN/Inf entries, too few probes, bad options), 422 for a numerical failure on valid input
 * (LAPACK, no convergence), 500 for anything else (a bug), with the one-line reason.
 */
export function failureStatus(err: unknown): { status: 400 | 422 | 500; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TypeError || err instanceof RangeError) return { status: 400, message };
  if (err instanceof NoConvergenceError || (err instanceof LapackError && err.kind === 'numerical'))
    return { status: 422, message };
  return { status: 500, message: `Internal error: ${message}` };
}
