/**
 * specdyn: watch neural networks learn through random-matrix spectra.
 * The public surface; everything here is a re-export. Argument checks, element accessors and
 * generic statistics are internal (src/validate.ts, src/matrix.ts, src/stats.ts); the column
 * registries of the analysis families are public, so tables and reports read names from them.
 */
export { SpecdynError, LapackError, AbortError, NoConvergenceError, InternalError } from './errors.js';
export type { ConvergedPairs, LapackErrorKind } from './errors.js';
export type { FloatArray, Mat } from './matrix.js';
export { mat, fromRows, rowSlice, transpose } from './matrix.js';
export * from './linalg/index.js';
export { Rng } from './random.js';
export * from './rmt/index.js';
export * from './models/index.js';
export * from './omd/index.js';
