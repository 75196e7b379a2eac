/**
 * specdyn: watch neural networks learn through random-matrix spectra.
 * The public surface; everything here is a re-export.
 */
export { SpecdynError, LapackError, AbortError, NoConvergenceError, InternalError } from './errors.js';
export type { ConvergedPairs, LapackErrorKind } from './errors.js';
export type { FloatArray, Mat } from './matrix.js';
export { mat, fromRows, rowSlice, row, at, transpose, checkMat } from './matrix.js';
export * from './linalg/index.js';
export { Rng } from './random.js';
export * from './rmt/index.js';
export * from './models/index.js';
export * from './omd/index.js';
