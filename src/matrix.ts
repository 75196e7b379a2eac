/**
 * The matrix type shared by every layer: a row-major view `{ data, rows, cols }` over a typed
 * array. Inputs may be float32 (what tfjs produces) or float64; results are always float64.
 * Views made with `subarray()` are read in place by the native core (no copies).
 */
import { describe, expected } from './errors.js';

/** Element storage accepted as input. */
export type FloatArray = Float64Array | Float32Array;

/** A row-major matrix: entry (i, j) is `data[i * cols + j]`. */
export interface Mat<T extends FloatArray = FloatArray> {
  data: T;
  rows: number;
  cols: number;
}

/** Wraps a typed array as a rows x cols Mat, checking the length. */
export function mat<T extends FloatArray>(data: T, rows: number, cols: number): Mat<T> {
  checkMat({ data, rows, cols }, 'mat');
  return { data, rows, cols };
}

/** A Mat from nested arrays (row by row), stored as float64. */
export function fromRows(rows: ArrayLike<ArrayLike<number>>): Mat<Float64Array> {
  const r = rows.length;
  if (r === 0) throw new RangeError(expected('at least one row', 'rows', rows));
  const c = rows[0]!.length;
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const row = rows[i]!;
    if (row.length !== c) throw new RangeError(expected(`rows of length ${c}`, `rows[${i}]`, row));
    for (let j = 0; j < c; j++) data[i * c + j] = row[j]!;
  }
  return { data, rows: r, cols: c };
}

/** Rows [start, end) of m as a zero-copy view (a `subarray()` of the same buffer). */
export function rowSlice<T extends FloatArray>(m: Mat<T>, start: number, end: number = m.rows): Mat<T> {
  if (!Number.isInteger(start) || start < 0 || start >= m.rows) {
    throw new RangeError(expected(`an integer in [0, ${m.rows - 1}]`, 'start', start));
  }
  if (!Number.isInteger(end) || end <= start || end > m.rows) {
    throw new RangeError(expected(`an integer in [${start + 1}, ${m.rows}]`, 'end', end));
  }
  return { data: m.data.subarray(start * m.cols, end * m.cols) as T, rows: end - start, cols: m.cols };
}

/** Entry (i, j). */
export function at(m: Mat, i: number, j: number): number {
  return m.data[i * m.cols + j]!;
}

/** Row i as a zero-copy view. */
export function row<T extends FloatArray>(m: Mat<T>, i: number): T {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols) as T;
}

/** The transpose as a new float64 Mat. */
export function transpose(m: Mat): Mat<Float64Array> {
  const out = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out[j * m.rows + i] = m.data[i * m.cols + j]!;
  return { data: out, rows: m.cols, cols: m.rows };
}

/**
 * A tfjs Tensor (or anything shaped like one: `shape`, `dtype` and a `dataSync()` method),
 * recognised without importing tfjs.
 */
export function isTensorLike(
  x: unknown,
): x is { shape: readonly number[]; dtype: string; dataSync(): ArrayLike<number> } {
  return (
    typeof x === 'object' &&
    x !== null &&
    'shape' in x &&
    'dtype' in x &&
    typeof (x as { dataSync?: unknown }).dataSync === 'function'
  );
}

/**
 * The message for a tensor passed where a Mat is expected: how to pass its values instead.
 * The native core writes the same text.
 */
export function tensorMessage(t: { shape: readonly unknown[] }, name: string): string {
  const shape = Array.isArray(t.shape) ? t.shape : [];
  const [rows, cols] = shape.length === 2 ? shape.map(describe) : ['rows', 'cols'];
  return (
    `Expected a Mat { data, rows, cols } for ${name} but received a tfjs Tensor of shape [${shape.map(describe).join(', ')}]; ` +
    `pass { data: t.dataSync(), rows: ${rows}, cols: ${cols} } (a 2-D tensor's values, row-major)`
  );
}

/**
 * Checks that m is a Mat with float storage and a consistent shape; throws TypeError for a
 * wrong kind (a tfjs Tensor gets a message saying how to pass it), RangeError for a bad shape.
 * The native core repeats these checks.
 */
export function checkMat(m: unknown, name: string): asserts m is Mat {
  if (typeof m !== 'object' || m === null || Array.isArray(m) || ArrayBuffer.isView(m)) {
    throw new TypeError(expected('a Mat { data, rows, cols }', name, m));
  }
  if (isTensorLike(m)) throw new TypeError(tensorMessage(m, name));
  const { data, rows, cols } = m as Partial<Mat>;
  if (!(data instanceof Float64Array) && !(data instanceof Float32Array)) {
    throw new TypeError(expected('a Float64Array or Float32Array', `${name}.data`, data));
  }
  for (const [key, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (typeof v !== 'number') throw new TypeError(expected('a positive integer', `${name}.${key}`, v));
    if (!Number.isInteger(v) || v < 1) throw new RangeError(expected('a positive integer', `${name}.${key}`, v));
  }
  if (data.length !== rows! * cols!) {
    throw new RangeError(
      `Expected length ${rows! * cols!} (rows ${rows} x cols ${cols}) for ${name}.data but received length ${data.length}`,
    );
  }
}
