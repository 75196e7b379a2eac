/**
 * One OMD snapshot (Observable Matrix Dynamics, Halperin 2026): the N x N probe distance matrix M
 * and the figures read off its spectrum against the Bogomolny–Bohigas–Schmit template
 * (Bogomolny, Bohigas and Schmit 2003). This file holds the drivers (async and Sync, one body)
 * and the two routes; the figures live in band.ts, ambient.ts and snapshot.ts, the types and
 * conventions in types.ts, the input checks in input.ts.
 */
import type { Mat } from '../matrix.js';
import { checkMat } from '../matrix.js';
import {
  distanceMatrix,
  distanceMatrixSync,
  eighReduce,
  eighReduceSync,
  eighVectors,
  eighVectorsSync,
  eigsh,
  eigshSync,
} from '../linalg/index.js';
import { call, chooseRoute, pseudoSpectrum, runSteps, runStepsSync, solve, type Steps } from '../linalg/route.js';
import { expected } from '../errors.js';
import { nullTopSteps, type NullRotation, type NullTop, type ReplicaScratch } from './significance.js';
import {
  ANALYZE_KEYS,
  OBSERVABLE_KEYS,
  checkDistance,
  checkLabels,
  checkReps,
  isDistanceInput,
  meanOffDiagonal,
  resolveOptions,
  toF64,
} from './input.js';
import { finish, neededRange, spectralFigures, type ProbeClasses } from './snapshot.js';
import type { AnalyzeOptions, ObservableOptions, ObservableSnapshot, Resolved } from './types.js';
import { checkOptions } from '../validate.js';
/**
 * The observable M: pairwise distances between the N rows of a representation Mat (N x D,
 * float32 or float64; row i = probe input i, order kept). Default metric `angular` (geodesic on
 * the unit sphere, radians). Result: N x N float64, exact zero diagonal, exactly symmetric.
 * Throws TypeError for a non-Mat, RangeError for N < 4 or NaN/Inf entries (naming row and column).
 * Inputs as every async call reads them (docs/api.md): in place when on a SharedArrayBuffer or
 * returned by specdyn (pinned), else copied once; do not mutate the input while the call is pending.
 */
export async function observableMatrix(reps: Mat, options?: ObservableOptions): Promise<Mat<Float64Array>> {
  checkOptions('observableMatrix', options, OBSERVABLE_KEYS);
  const o = resolveOptions(options);
  checkReps(reps);
  return distanceMatrix(reps, { metric: o.metric, precision: o.precision });
}

/** Synchronous {@link observableMatrix}. */
export function observableMatrixSync(reps: Mat, options?: ObservableOptions): Mat<Float64Array> {
  checkOptions('observableMatrix', options, OBSERVABLE_KEYS);
  const o = resolveOptions(options);
  checkReps(reps);
  return distanceMatrixSync(reps, { metric: o.metric, precision: o.precision });
}

/**
 * Analyses one snapshot: builds M from representations (or checks a given distance matrix, see
 * {@link AnalyzeOptions.input}), computes the full spectrum and the eigenvectors it needs
 * (bottom-k and band) from one tridiagonal reduction ({@link eighReduce}, then
 * {@link eighVectors} for the indices the values call for), and returns
 * every per-snapshot figure of {@link ObservableSnapshot}. Runs on the libuv pool; reads its input
 * as every async call does (docs/api.md: in place when on a SharedArrayBuffer or returned by
 * specdyn, else copied once); do not mutate it while the call is pending. A distance-matrix input
 * is checked and copied to float64 (the snapshot keeps M) before the Promise is returned.
 * Above `partialAbove` probes (or with `route: 'partial'`) the full solve is replaced by block
 * Lanczos for the edge pairs and SLQ for the bulk (see {@link AnalyzeOptions.route},
 * {@link ObservableSnapshot.route}); the snapshot records the route taken.
 *
 * Errors: TypeError for a non-Mat; RangeError for N < 4, NaN/Inf (with index), a non-square,
 * non-symmetric, negative or non-zero-diagonal distance matrix, or ⟨d⟩ = 0 (all probes identical).
 *
 * @throws TypeError or RangeError as above (unknown option keys: TypeError naming the nearest one).
 * @example
 * // 500 probe inputs' hidden representations (500 x 256)
 * const snap = await analyzeObservable(reps, { metric: 'angular' });
 * console.log(snap.perron, snap.band.size, snap.band.fingerprint);
 */
export async function analyzeObservable(input: Mat, options?: AnalyzeOptions): Promise<ObservableSnapshot> {
  return runSteps(analysisSteps(input, options));
}

/** Synchronous {@link analyzeObservable} (both routes; the partial one with eigshSync/spectralDensitySync). */
export function analyzeObservableSync(input: Mat, options?: AnalyzeOptions): ObservableSnapshot {
  return runStepsSync(analysisSteps(input, options));
}

/**
 * Buffers a caller that analyses one snapshot after another hands to the next analysis (e.g.
 * OmdTrajectory.pushSync), so that a snapshot allocates none of its large arrays afresh:
 * `matrix`, an N x N buffer nothing holds any more, becomes this snapshot's M (the copy of a
 * distance-matrix input, or the representations' distance matrix); `replica`, the shuffle
 * null's buffers. @internal
 */
export interface AnalysisBuffers {
  matrix?: Float64Array;
  replica?: ReplicaScratch;
}

/**
 * The one body of {@link analyzeObservable} and its Sync twin: checks, then yields each native
 * solve (the distance matrix; on the full route one eigh for all values and the needed vectors;
 * on the partial route eigsh and the SLQ pseudo-spectrum) and resumes with its
 * result, so the two drivers differ only in how they run a solve. `buffers`: see
 * {@link AnalysisBuffers}.
 */
export function* analysisSteps(
  input: Mat,
  options: AnalyzeOptions | undefined,
  rotation?: NullRotation,
  buffers?: AnalysisBuffers,
): Steps<ObservableSnapshot> {
  checkOptions('analyzeObservable', options, ANALYZE_KEYS);
  const o = resolveOptions(options);
  checkMat(input, 'input');
  let given: { matrix: Mat<Float64Array>; mean: number } | undefined;
  let reps: Mat | undefined;
  if (isDistanceInput(input, o)) {
    const mean = checkDistance(input, 'M');
    given = { matrix: toF64(input, buffers?.matrix), mean };
    if (options?.reps !== undefined) {
      checkReps(options.reps, 'options.reps');
      if (options.reps.rows !== input.rows)
        throw new RangeError(
          expected(`${input.rows} rows (one per probe of M)`, 'options.reps.rows', options.reps.rows),
        );
      reps = options.reps;
    }
  } else {
    checkReps(input, 'reps');
    reps = input;
  }
  const n0 = input.rows;
  const classes = options?.labels !== undefined ? checkLabels(options.labels, n0, 'labels') : undefined;
  if (o.significance === 'null' && reps === undefined)
    throw new RangeError(
      expected(
        "the representations (a reps input, or the 'reps' option with a distance matrix)",
        "significance 'null'",
        'a distance matrix alone',
      ),
    );
  let matrix: Mat<Float64Array>, mean: number;
  if (given) ({ matrix, mean } = given);
  else {
    // Not a distance input, so reps is the input (checked above).
    const out = buffers?.matrix?.length === input.rows * input.rows ? buffers.matrix : undefined;
    const opts = { metric: o.metric, precision: o.precision, ...(out ? { out } : {}) };
    matrix = yield* call(distanceMatrix, distanceMatrixSync, input, opts);
    mean = meanOffDiagonal(matrix);
  }
  // The shuffle null of this snapshot (its own N and D), when the representations are at hand.
  const nul =
    reps !== undefined && o.significance !== 'gap'
      ? yield* nullTopSteps(reps, o.metric, o.nullReplicas, o.nullSeed, rotation, o.precision, buffers?.replica)
      : undefined;
  const n = matrix.rows;
  const k = classes && classes.names.length >= 2 ? classes.names.length : 0;
  const route = chooseRoute(o, n);
  if (route === 'partial') return yield* partialSteps(matrix, mean, o, nul, classes, k);
  // One tridiagonal reduction, values first: every eigenvalue, then the eigenvectors the
  // figures read (the bottom-k and the candidate band, neededRange) and no others.
  const red = yield* call(eighReduce, eighReduceSync, matrix, { precision: o.precision });
  const p = spectralFigures(red.values, mean, o, nul, k);
  const vectors = yield* call(eighVectors, eighVectorsSync, red, { range: neededRange(p) });
  return finish(
    p,
    matrix,
    (idx) => vectors.data.subarray(idx * n, (idx + 1) * n),
    o,
    'full',
    k > 0 ? classes : undefined,
  );
}

const perronOf = (exact: { value: number }[]): number => exact.reduce((m, e) => Math.max(m, e.value), 0);

/**
 * The partial route (no full eigendecomposition): exact eigenpairs at both ends by block
 * Lanczos, the middle of the spectrum as pseudo-eigenvalues from the SLQ density.
 *
 * 1. eigsh 'magnitude', k = maxBand + 2: the Perron pair (largest |λ| of a non-negative matrix)
 *    and the maxBand + 1 non-Perron values of largest |λ|, every one with |λ| ≥ t (t = the
 *    smallest |λ| returned), so no other eigenvalue lies outside (−t, t).
 * 2. When fewer than bottomK of them are negative, eigsh 'smallest', k = bottomK, for the rest.
 * 3. SLQ density of M; its mass inside the interval left open by the exact values is turned
 *    into the n − (exact count) midpoint quantiles (mass outside, e.g. the smear of the Perron
 *    point mass, is dropped).
 * The pseudo-spectrum is sorted and read by the same code as the full spectrum; the band and
 * bottom-k indices fall on exact values. Exact where possible (trace M = 0, Σλ² = ‖M‖²_F):
 * for a BBS-proper M, Σ_non-Perron |λ| = λ_Perron and Σ_non-Perron λ² = ‖M‖²_F − λ_Perron².
 */
function* partialSteps(
  matrix: Mat<Float64Array>,
  mean: number,
  o: Resolved,
  nul: NullTop | undefined,
  classes: ProbeClasses | undefined,
  k: number,
): Steps<ObservableSnapshot> {
  const n = matrix.rows;
  const kMag = Math.min(o.maxBand + 2, n - 1);
  const magOpts = { k: kMag, which: 'magnitude' as const, precision: o.precision };
  const mag = yield* call(eigsh, eigshSync, matrix, magOpts);
  const exact: { value: number; vec: Float64Array }[] = [];
  let t = Infinity,
    negatives = 0;
  for (let j = 0; j < mag.values.length; j++) {
    const v = mag.values[j]!;
    exact.push({ value: v, vec: mag.vectors!.data.subarray(j * n, (j + 1) * n) });
    t = Math.min(t, Math.abs(v));
    if (v < 0) negatives++;
  }
  let lower = -t;
  const bottomK = Math.min(o.bottomK, n);
  if (negatives < bottomK) {
    const smOpts = { k: bottomK, which: 'smallest' as const, precision: o.precision };
    const sm = yield* call(eigsh, eigshSync, matrix, smOpts);
    // The first `negatives` smallest are already among the magnitude pairs.
    for (let j = negatives; j < sm.values.length; j++) {
      exact.push({ value: sm.values[j]!, vec: sm.vectors!.data.subarray(j * n, (j + 1) * n) });
      lower = Math.max(lower, sm.values[j]!);
    }
  }
  // The density on a grid over [lower, t] only: the default grid would span the Perron value too
  // (≈ N⟨d⟩), leaving the bulk a handful of bins. Mass outside (the smear of the Perron point
  // mass between the quadrature nodes) is dropped; t is widened by a hair so the last bin is closed.
  const hi = t > lower ? t : lower + 1e-12 * Math.abs(perronOf(exact));
  const rest = n - exact.length;
  let pseudo = yield* solve(pseudoSpectrum(matrix, rest, { interval: [lower, hi], precision: o.precision }));
  if (rest > 0 && Number.isNaN(pseudo[0]!)) pseudo = new Float64Array(rest); // no mass left inside: put the levels at 0
  exact.sort((a, b) => a.value - b.value);
  const below = exact.filter((e) => e.value < 0 && e.value <= lower);
  const above = exact.filter((e) => !(e.value < 0 && e.value <= lower));
  const values = new Float64Array(n);
  const vecs = new Map<number, Float64Array>();
  for (const [i, e] of below.entries()) {
    values[i] = e.value;
    vecs.set(i, e.vec);
  }
  values.set(pseudo, below.length);
  for (const [i, e] of above.entries()) {
    values[n - above.length + i] = e.value;
    vecs.set(n - above.length + i, e.vec);
  }
  const p = spectralFigures(values, mean, o, nul, k);
  // Exact sums where the trace identities allow (see above).
  const perron = p.perron;
  let exactPositives = 0;
  for (const e of exact) if (e.value > o.positiveTolerance * Math.abs(perron)) exactPositives++;
  let pseudoPositives = 0;
  for (const v of pseudo) if (v > o.positiveTolerance * Math.abs(perron)) pseudoPositives++;
  p.positiveCount = exactPositives + pseudoPositives;
  if (p.positiveCount === 1) {
    let fro2 = 0;
    for (let i = 0; i < matrix.data.length; i++) fro2 += matrix.data[i]! ** 2;
    let trace = 0;
    for (let i = 0; i < n; i++) trace += matrix.data[i * n + i]!;
    const s1 = perron - trace,
      s2 = fro2 - perron * perron;
    if (s1 > 0 && s2 > 0) {
      p.participationRatio = (s1 * s1) / s2;
      let bandMass = 0;
      for (let k = 0; k < p.band.size; k++) bandMass += Math.abs(p.band.ranked[k]!);
      p.band.massFraction = bandMass / s1;
    }
  }
  return finish(
    p,
    matrix,
    (idx) => {
      const v = vecs.get(idx);
      if (!v) throw new Error(`internal: no eigenvector computed for index ${idx}`);
      return v;
    },
    o,
    'partial',
    k > 0 ? classes : undefined,
  );
}
