/**
 * Input side of an OMD snapshot: option resolution and the checks of representation and
 * distance matrices.
 */
import { expected, InternalError } from '../errors.js';
import type { Mat } from '../matrix.js';
import { checkMat } from '../matrix.js';
import { resolveRoute } from '../linalg/route.js';
import { checkInteger, checkNumber, checkOneOf, checkOptionsObject } from '../validate.js';
import { optionKeys } from '../rmt/options.js';
import type { AnalyzeOptions, ObservableMetric, ObservableOptions, Resolved } from './types.js';

/** Option keys of observableMatrix. */
export const OBSERVABLE_KEYS = optionKeys<ObservableOptions>({ metric: true, precision: true });
/** Option keys of analyzeObservable (the snapshot options every omd/ entry point accepts). */
export const ANALYZE_KEYS = optionKeys<AnalyzeOptions>({
  metric: true,
  precision: true,
  input: true,
  bottomK: true,
  maxBand: true,
  minGapRatio: true,
  splitGap: true,
  clusterThreshold: true,
  doubletTolerance: true,
  positiveTolerance: true,
  route: true,
  partialAbove: true,
  labels: true,
  labelThreshold: true,
  significance: true,
  reps: true,
  nullReplicas: true,
  nullSeed: true,
  nullMargin: true,
  nullZ: true,
  ambientMaxKs: true,
});

const METRICS: readonly ObservableMetric[] = ['angular', 'euclidean', 'cosine', 'sqeuclidean'];

/** Validates {@link AnalyzeOptions} and fills defaults (internal: the omd/ entry points call it). */
export function resolveOptions(options: AnalyzeOptions | undefined | null): Resolved {
  const o = checkOptionsObject(options ?? undefined);
  return {
    metric: checkMetric(o.metric),
    precision: checkOneOf(o.precision ?? 'float64', 'precision', ['float64', 'float32']),
    input: checkOneOf(o.input ?? 'auto', 'input', ['auto', 'reps', 'distance']),
    bottomK: checkInteger(o.bottomK ?? 3, 'bottomK', { min: 1 }),
    maxBand: checkInteger(o.maxBand ?? 32, 'maxBand', { min: 1 }),
    minGapRatio: checkNumber(o.minGapRatio ?? 1.5, 'minGapRatio', { min: 1 }),
    splitGap: checkNumber(o.splitGap ?? 0.1, 'splitGap', { min: 0 }),
    clusterThreshold: checkNumber(o.clusterThreshold ?? 0.8, 'clusterThreshold', { min: 0 }),
    doubletTolerance: checkNumber(o.doubletTolerance ?? 0.01, 'doubletTolerance', { min: 0 }),
    positiveTolerance: checkNumber(o.positiveTolerance ?? 1e-9, 'positiveTolerance', { min: 0 }),
    ...resolveRoute(o),
    labelThreshold: checkNumber(o.labelThreshold ?? 0.5, 'labelThreshold', { min: 0, max: 1 }),
    significance: checkOneOf(o.significance ?? 'auto', 'significance', ['auto', 'null', 'gap']),
    nullReplicas: checkInteger(o.nullReplicas ?? 2, 'nullReplicas', { min: 1 }),
    nullSeed: checkInteger(o.nullSeed ?? 1, 'nullSeed'),
    nullMargin: checkNumber(o.nullMargin ?? 0.25, 'nullMargin', { min: 0 }),
    nullZ: checkNumber(o.nullZ ?? 3, 'nullZ', { min: 0 }),
    ambientMaxKs: checkNumber(o.ambientMaxKs ?? 0.15, 'ambientMaxKs', { min: 0, max: 1 }),
  };
}

/**
 * The OMD metric, with the reason when a linalg metric that OMD does not read is asked for.
 * @throws RangeError for `correlation` (saying why and what to use) or an unknown name; TypeError for a non-string.
 */
function checkMetric(m: unknown): ObservableMetric {
  if (m === 'correlation') {
    throw new RangeError(
      expected(
        "one of 'angular', 'euclidean', 'cosine', 'sqeuclidean' (OMD does not read 'correlation': centring each " +
          'probe row over its own coordinates makes M depend on the coordinate basis, so the BBS reading and the ' +
          "ambient fit do not apply; for the same matrix centre the rows yourself and use 'cosine', or keep " +
          "the default 'angular')",
        'metric',
        m,
      ),
    );
  }
  return checkOneOf(m ?? 'angular', 'metric', METRICS);
}

/**
 * Checks `labels` (one per probe, numbers or strings) and returns the class index of each probe
 * (classes in sorted order of their label's string form) and the class names.
 * @throws TypeError for a non-array; RangeError for a wrong length or a non-finite number.
 */
export function checkLabels(labels: unknown, n: number, name = 'labels'): { index: Int32Array; names: string[] } {
  const ok = Array.isArray(labels) || (ArrayBuffer.isView(labels) && !(labels instanceof DataView));
  if (!ok) throw new TypeError(expected('an array of one label per probe (numbers or strings)', name, labels));
  const arr = labels as ArrayLike<unknown>;
  if (arr.length !== n) throw new RangeError(expected(`${n} labels (one per probe)`, `${name}.length`, arr.length));
  const keys: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (typeof v === 'number' && Number.isFinite(v)) keys[i] = String(v);
    else if (typeof v === 'string') keys[i] = v;
    else if (typeof v === 'bigint') keys[i] = String(v);
    else throw new RangeError(expected('a finite number or a string', `${name}[${i}]`, v));
  }
  const names = [...new Set(keys)].sort((a, b) => {
    const x = Number(a),
      y = Number(b);
    return Number.isFinite(x) && Number.isFinite(y) ? x - y : a < b ? -1 : a > b ? 1 : 0;
  });
  const id = new Map(names.map((k, c) => [k, c] as const));
  return { index: Int32Array.from(keys, (k) => id.get(k)!), names };
}

/** Checks a representation Mat: a Mat with N ≥ 4 rows (NaN/Inf are rejected by the native kernel, naming row and column). */
export function checkReps(reps: unknown, name = 'reps'): asserts reps is Mat {
  checkMat(reps, name);
  if (reps.rows < 4) throw new RangeError(expected('at least 4 probe rows', `${name}.rows`, reps.rows));
  // NaN/Inf are rejected (with their index, row and column) by the native distance kernel,
  // off the main thread for async calls: no second scan here.
}

/** Buffers of distance matrices specdyn's own kernel just wrote (see {@link markMadeHere}). */
const madeHere = new WeakSet<Float64Array>();

/**
 * Marks `data` as a distance matrix just written by specdyn's distance kernel (distanceMatrix's
 * output: finite, exactly symmetric, non-negative, zero diagonal), so that the next
 * {@link checkDistance} of it computes only its mean. One-shot: that check clears the mark. For
 * callers that hand a matrix they made straight to the analysis (the SpectralMonitor's
 * analyser), never for a buffer anyone else can write in between.
 */
export function markMadeHere(data: Float64Array): void {
  madeHere.add(data);
}

/**
 * Checks an N x N distance matrix: square, N ≥ 4, finite, symmetric (|m_ij − m_ji| ≤ 1e-10·max),
 * non-negative (≥ −1e-12·max) with a zero diagonal (|m_ii| ≤ 1e-12·max); returns ⟨d⟩ > 0.
 * RangeError otherwise (including ⟨d⟩ = 0, an all-identical probe set).
 */
export function checkDistance(m: unknown, name = 'M'): number {
  checkMat(m, name);
  const n = m.rows;
  if (m.cols === n && n >= 4 && m.data instanceof Float64Array && madeHere.delete(m.data)) {
    // specdyn's own distance kernel made it (markMadeHere) and nothing ran since: finite,
    // symmetric, non-negative and zero on the diagonal by construction; only ⟨d⟩ to compute,
    // summed as the full check below sums it (the same bits).
    const mean = (2 * upperSum(m.data, n)) / (n * (n - 1));
    if (mean > 0) return mean;
  }
  if (m.cols !== n) throw new RangeError(expected('a square N x N distance matrix', name, `${m.rows} x ${m.cols}`));
  if (n < 4) throw new RangeError(expected('at least 4 probes', `${name}.rows`, n));
  const a = m.data;
  // One pass over every entry (the diagonal, then each pair m_ij, m_ji with i < j): finiteness,
  // max |m|, the worst diagonal, sign and asymmetry, and the upper-triangle sum in row order.
  // The bounds are then compared once; any violation is named by the exact scan below.
  let finite = true,
    max = 0,
    diag = 0,
    lowest = Infinity,
    asym = 0,
    sum = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i * n + i]!;
    if (d - d !== 0) finite = false;
    const ad = Math.abs(d);
    if (ad > max) max = ad;
    if (ad > diag) diag = ad;
    for (let j = i + 1; j < n; j++) {
      const x = a[i * n + j]!;
      const y = a[j * n + i]!;
      if (x - x !== 0 || y - y !== 0) finite = false;
      const ax = Math.abs(x),
        ay = Math.abs(y);
      if (ax > max) max = ax;
      if (ay > max) max = ay;
      if (x < lowest) lowest = x;
      const e = Math.abs(x - y);
      if (e > asym) asym = e;
      sum += x;
    }
  }
  if (!finite || diag > 1e-12 * max || lowest < -1e-12 * max || asym > 1e-10 * max) distanceViolation(a, n, name);
  const mean = (2 * sum) / (n * (n - 1));
  if (!(mean > 0)) {
    throw new RangeError(
      expected('distinct probe representations (mean off-diagonal distance > 0)', `${name} mean distance`, mean),
    );
  }
  return mean;
}

/** Σ_{i<j} a_ij in row order. */
function upperSum(a: Float64Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sum += a[i * n + j]!;
  return sum;
}

/**
 * Throws checkDistance's RangeError for the first violation: a non-finite entry in index order,
 * else the first bad diagonal, sign or asymmetry in row order (relative to max |m|).
 */
function distanceViolation(a: ArrayLike<number>, n: number, name: string): never {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) {
      const r = Math.floor(i / n);
      throw new RangeError(expected('finite values', `${name}.data[${i}] (row ${r}, column ${i - r * n})`, v));
    }
    const av = Math.abs(v);
    if (av > max) max = av;
  }
  for (let i = 0; i < n; i++) {
    const d = a[i * n + i]!;
    if (Math.abs(d) > 1e-12 * max) throw new RangeError(expected('a zero diagonal', `${name}[${i}][${i}]`, d));
    for (let j = i + 1; j < n; j++) {
      const x = a[i * n + j]!;
      const y = a[j * n + i]!;
      if (x < -1e-12 * max) throw new RangeError(expected('a non-negative distance', `${name}[${i}][${j}]`, x));
      if (Math.abs(x - y) > 1e-10 * max) {
        throw new RangeError(expected(`a symmetric matrix (${name}[${j}][${i}] = ${y})`, `${name}[${i}][${j}]`, x));
      }
    }
  }
  throw new InternalError(`checkDistance found a violation in ${name} that the exact scan did not`);
}

/** Square with an exactly zero diagonal. */
function looksLikeDistance(m: Mat): boolean {
  // Square with an exactly zero diagonal: meant as a distance matrix (then checked strictly).
  const n = m.rows;
  if (m.cols !== n) return false;
  for (let i = 0; i < n; i++) if (m.data[i * n + i] !== 0) return false;
  return true;
}

/** Whether the analysis reads `x` as a distance matrix (see AnalyzeOptions.input). */
export function isDistanceInput(x: Mat, o: Resolved): boolean {
  if (o.input === 'distance') return true;
  if (o.input === 'reps') return false;
  return looksLikeDistance(x);
}

/** ⟨d⟩ of a distance matrix we computed (already symmetric, zero diagonal); RangeError when 0. */
export function meanOffDiagonal(m: Mat<Float64Array>): number {
  const n = m.rows;
  let sum = 0;
  for (let i = 0; i < m.data.length; i++) sum += m.data[i]!;
  const mean = sum / (n * (n - 1));
  if (!(mean > 0)) {
    throw new RangeError(
      expected('distinct probe representations (mean off-diagonal distance > 0)', 'M mean distance', mean),
    );
  }
  return mean;
}

/**
 * A float64 copy (the snapshot, and trajectories after it, keep M; the caller may reuse its
 * buffer), written into `out` when it has the size (a buffer nothing else holds), else fresh.
 */
export function toF64(m: Mat, out?: Float64Array): Mat<Float64Array> {
  if (out && out.length === m.data.length && out !== m.data) {
    out.set(m.data);
    return { data: out, rows: m.rows, cols: m.cols };
  }
  // The typed-array constructor: one native copy (or conversion), where `from` walks the source.
  return { data: new Float64Array(m.data), rows: m.rows, cols: m.cols };
}
