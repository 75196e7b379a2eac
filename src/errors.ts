/**
 * Error classes and the one message form used across specdyn (TypeScript and the native core
 * write the same dialect): "Expected <what> for <name> but received <value>", where an option is
 * named "<function> option '<key>'" ({@link optionName}) and numbers are written as
 * `String(x)` writes them (shortest round-trip digits).
 *
 * Wrong kinds raise TypeError, bad shapes or values RangeError (both built-ins, so
 * `instanceof RangeError` works). specdyn's own classes all extend {@link SpecdynError}:
 * - {@link LapackError}: LAPACK reported failure; `kind` tells a numerical failure
 *   (info > 0) from an illegal argument (info < 0, a specdyn bug);
 * - {@link NoConvergenceError}: an iterative solver ran out of restarts; carries the pairs that
 *   did converge (as SciPy's ArpackNoConvergence does);
 * - {@link AbortError}: an AbortSignal cancelled the call;
 * - {@link InternalError}: a C++ exception inside the native core (a specdyn bug), reported
 *   instead of ending the process.
 */
import type { Mat } from './matrix.js';

/** Base class for specdyn's own errors (load failures, numerical failures). */
export class SpecdynError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Rejection of a cancelled long operation (an AbortSignal fired): name 'AbortError', code
 * 'ABORT_ERR' (as Node's own), cause = the signal's reason. Nothing half-computed is returned.
 */
export class AbortError extends SpecdynError {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What a {@link LapackError} means: bad numbers (info > 0) or a bad call (info < 0). */
export type LapackErrorKind = 'numerical' | 'illegalArgument';

/**
 * LAPACK reported failure: `routine` (e.g. "dsyevd") returned `info` ≠ 0 (or, for `info` 0,
 * returned fewer results than asked). `kind` / `code`:
 * - 'numerical' / 'ERR_LAPACK_NUMERICAL' (info ≥ 0): the algorithm failed on these numbers
 *   (no convergence; the matrix may be badly scaled);
 * - 'illegalArgument' / 'ERR_LAPACK_ILLEGAL_ARGUMENT' (info < 0): argument −info had an illegal
 *   value, which is a specdyn bug; please report it.
 */
export class LapackError extends SpecdynError {
  readonly routine: string;
  readonly info: number;
  readonly kind: LapackErrorKind;
  readonly code: 'ERR_LAPACK_NUMERICAL' | 'ERR_LAPACK_ILLEGAL_ARGUMENT';
  constructor(message: string, routine: string, info: number) {
    super(message);
    this.routine = routine;
    this.info = info;
    this.kind = info < 0 ? 'illegalArgument' : 'numerical';
    this.code = info < 0 ? 'ERR_LAPACK_ILLEGAL_ARGUMENT' : 'ERR_LAPACK_NUMERICAL';
  }
}

/** The pairs an iterative solver did converge on before giving up ({@link NoConvergenceError}). */
export interface ConvergedPairs {
  /** 'eigsh' or 'svds'. */
  routine: string;
  /** Pairs asked for (k) and pairs that converged (the length of `values`). */
  wanted: number;
  converged: number;
  /** eigsh: converged eigenvalues, most extreme first; svds: converged singular values, descending. */
  values: Float64Array;
  /** eigsh (when vectors were asked for): row j is the eigenvector of values[j]. */
  vectors?: Mat<Float64Array>;
  /** svds: row i of u and v are the singular vectors of values[i]. */
  u?: Mat<Float64Array>;
  v?: Mat<Float64Array>;
  /** The residual of each converged pair, as in the solver's result. */
  residuals: Float64Array;
}

/**
 * An iterative solver (eigsh, svds) ran out of restarts before every wanted pair converged.
 * Like SciPy's `ArpackNoConvergence` it carries the pairs that did converge (`values`,
 * `vectors` or `u`/`v`, `residuals`), most extreme first. code 'ERR_NO_CONVERGENCE'.
 */
export class NoConvergenceError extends SpecdynError implements ConvergedPairs {
  readonly code = 'ERR_NO_CONVERGENCE';
  readonly routine: string;
  readonly wanted: number;
  readonly converged: number;
  readonly values: Float64Array;
  readonly vectors?: Mat<Float64Array>;
  readonly u?: Mat<Float64Array>;
  readonly v?: Mat<Float64Array>;
  readonly residuals: Float64Array;
  constructor(message: string, pairs: ConvergedPairs) {
    super(message);
    this.routine = pairs.routine;
    this.wanted = pairs.wanted;
    this.converged = pairs.converged;
    this.values = pairs.values;
    this.residuals = pairs.residuals;
    if (pairs.vectors) this.vectors = pairs.vectors;
    if (pairs.u) this.u = pairs.u;
    if (pairs.v) this.v = pairs.v;
  }
}

/**
 * A C++ exception inside the native core that is not a user error (a specdyn bug): reported
 * with the exception's text instead of ending the process. code 'ERR_SPECDYN_INTERNAL'.
 */
export class InternalError extends SpecdynError {
  readonly code = 'ERR_SPECDYN_INTERNAL';
}

/** A short description of a value for error messages ("Array(3)", "Int32Array(9)", "'abc'"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (ArrayBuffer.isView(value)) {
    const len = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${len})`;
  }
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer';
  return 'an object';
}

/** "Expected <what> for <name> but received <value>" (value described with {@link describe}). */
export function expected(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${describe(value)}`;
}

/** How an option is named in messages: "<fn> option '<key>'" (the native core writes the same). */
export function optionName(fn: string, key: string): string {
  return `${fn} option '${key}'`;
}

/**
 * Gives an async rejection the caller's stack: `site` is an Error made when the call was made
 * (before any await), and its frames replace those of `err` (a native rejection has none; one
 * thrown in a pool callback shows only internal frames). Returns err.
 */
export function withCallSite<E>(err: E, site: Error): E {
  if (err instanceof Error && site.stack) {
    const frames = site.stack.slice(site.stack.indexOf('\n') + 1);
    const head = `${err.name}: ${err.message}`;
    try {
      err.stack = `${head}\n${frames}`;
    } catch {
      // a frozen error keeps its own stack
    }
  }
  return err;
}
