/**
 * Error classes and the one message form used across specdyn:
 * "Expected <what> for <name> but received <value>".
 *
 * Wrong kinds raise TypeError, bad shapes or values RangeError (both built-ins, so
 * `instanceof RangeError` works), numerical failures inside LAPACK raise {@link LapackError}.
 */

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

/** LAPACK reported failure: `routine` (e.g. "dsyevd") returned `info` ≠ 0. */
export class LapackError extends SpecdynError {
  readonly routine: string;
  readonly info: number;
  constructor(message: string, routine: string, info: number) {
    super(message);
    this.routine = routine;
    this.info = info;
  }
}

/** A short description of a value for error messages ("Array(3)", "Int32Array(9)", "'abc'"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (ArrayBuffer.isView(value)) {
    const len = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${len})`;
  }
  return 'an object';
}

/** "Expected <what> for <name> but received <value>" (value described with {@link describe}). */
export function expected(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${describe(value)}`;
}
