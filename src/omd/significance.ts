/**
 * Per-snapshot significance and label-aware figures of an OMD snapshot.
 *
 * The null: the i.i.d.-resample (column-shuffle) null of Halperin's FDM ("Frustrated Dynamics of
 * Distance Matrices", arXiv 2605.05376): every coordinate column of the representations is
 * permuted independently across probes, so the probes are i.i.d. draws from the product of the
 * observed marginals (per-coordinate scales and means kept, joint structure destroyed). Only the
 * strongest non-Perron eigenvalue of each replica's M is computed (block Lanczos, eigsh), which
 * is what the band decision compares with; the whole-snapshot null of every figure is
 * iidResampleNull in null.ts.
 */
import type { Mat } from '../matrix.js';
import { Rng } from '../random.js';
import { distanceMatrix, distanceMatrixSync, eigsh, eigshSync } from '../linalg/index.js';
import { call, type Steps } from '../linalg/route.js';
import type { Precision } from '../linalg/index.js';
import type { LabelFigures, ObservableMetric } from './types.js';

/** The null top of one snapshot: mean and sd over the replicas of the strongest non-Perron |λ̃|. */
export interface NullTop {
  mean: number;
  sd: number;
  /** Replicas the mean and sd are over (skipped ones left out). */
  replicas: number;
  /** Of those, how many were carried over from the previous snapshot (see {@link NullRotation}; 0 without one). */
  carried: number;
}

/**
 * Row-major float64 copy of reps with every column permuted independently across the probes
 * (Rng(seed, stream), one shuffle per column in column order): the column-shuffle replica of
 * the i.i.d.-resample null, here and in iidResampleNull. `out`: a buffer of N·D entries to
 * write it into (overwritten; e.g. the previous replica's), else a fresh one.
 */
export function shuffleColumns(reps: Mat, seed: number, stream: number, out?: Float64Array): Mat<Float64Array> {
  const n = reps.rows,
    d = reps.cols;
  const from = shuffleSources(seed, stream, n, d);
  const data = out && out.length === n * d ? out : new Float64Array(n * d);
  gather(reps.data, data, from);
  return { data, rows: n, cols: d };
}

/** data[e] = src[from[e]] for every entry e, in order. */
function gather(src: ArrayLike<number>, data: Float64Array, from: Int32Array): void {
  for (let e = 0; e < from.length; e++) data[e] = src[from[e]!]!;
}

/**
 * Where each entry of the replica comes from: from[i·D + j] = π_j(i)·D + j, with π_j the j-th
 * permutation of 0 … N − 1 that Rng(seed, stream) draws (one per column, in column order). A
 * snapshot's null replicas use the same seeds at every snapshot, so the maps of the last few
 * (seed, stream, N, D) are kept (PERMUTATION_CACHE_ENTRIES of at most PERMUTATION_CACHE_MAX
 * entries each): the draws, most of a replica's shuffle, are made once per monitor rather than
 * once per snapshot, and the gather reads its map and writes the replica in order.
 */
function shuffleSources(seed: number, stream: number, n: number, d: number): Int32Array {
  const key = `${seed}:${stream}:${n}:${d}`;
  const hit = permutationCache.get(key);
  if (hit) {
    permutationCache.delete(key); // most recently used last
    permutationCache.set(key, hit);
    return hit;
  }
  const rng = new Rng(seed, stream);
  const from = new Int32Array(n * d);
  const perm = new Int32Array(n);
  for (let j = 0; j < d; j++) {
    rng.permutation(perm);
    scatterColumn(from, perm, j, d);
  }
  if (n * d <= PERMUTATION_CACHE_MAX) {
    permutationCache.set(key, from);
    if (permutationCache.size > PERMUTATION_CACHE_ENTRIES)
      permutationCache.delete(permutationCache.keys().next().value!);
  }
  return from;
}

/** from[i·D + j] = perm[i]·D + j for every row i. */
function scatterColumn(from: Int32Array, perm: Int32Array, j: number, d: number): void {
  for (let i = 0; i < perm.length; i++) from[i * d + j] = perm[i]! * d + j;
}

const PERMUTATION_CACHE_ENTRIES = 8;
/** Entries of one cached map (16 MB of Int32): N·D up to e.g. 4096 x 1024. */
const PERMUTATION_CACHE_MAX = 4 * 1024 * 1024;
const permutationCache = new Map<string, Int32Array>();

/**
 * Σ of every entry, in index order. The long loops of the null live in plain functions like this
 * one, not in the generator body of nullTopSteps, which runs a few times per snapshot and would
 * run them unoptimised.
 */
function sumAll(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  return sum;
}

/** The rows that are not all zero (in place; a view of the kept prefix). */
function dropZeroRows(x: Mat<Float64Array>): Mat<Float64Array> {
  const { data, rows: n, cols: d } = x;
  let keep = 0;
  for (let i = 0; i < n; i++) {
    let nz = false;
    for (let j = 0; j < d && !nz; j++) nz = data[i * d + j] !== 0;
    if (nz) {
      if (keep !== i) data.copyWithin(keep * d, i * d, (i + 1) * d);
      keep++;
    }
  }
  return { data: data.subarray(0, keep * d), rows: keep, cols: d };
}

/**
 * Solves of the shuffle null: `replicas` column-shuffled copies of reps, each one's distance
 * matrix (same metric) and its two eigenvalues of largest |λ| (Perron and the strongest other),
 * normalised by the replica's own N⟨d⟩, in the snapshot's `precision` (its distance products and
 * eigensolve, as for M itself). With `rotation` (a trajectory's snapshot), see
 * {@link NullRotation}: one replica computed fresh, the others carried over from the previous
 * snapshot while they agree with it. `scratch`: the replicas' buffers, carried from one call to
 * the next by a caller that runs them one after another (OmdTrajectory.pushSync), so that no
 * snapshot allocates them afresh; each replica writes into the previous one's.
 */
export function* nullTopSteps(
  reps: Mat,
  metric: ObservableMetric,
  replicas: number,
  seed: number,
  rotation?: NullRotation,
  precision: Precision = 'float64',
  scratch: ReplicaScratch = {},
): Steps<NullTop> {
  const key = { n: reps.rows, d: reps.cols, metric, precision, replicas, seed };
  const prev = rotation ? yield* rotation.previous() : undefined;
  const tops: (number | undefined)[] = new Array(replicas).fill(undefined);
  let carried = 0;
  const same =
    prev !== undefined &&
    prev.n === key.n &&
    prev.d === key.d &&
    prev.metric === metric &&
    prev.precision === precision &&
    prev.replicas === replicas &&
    prev.seed === seed;
  if (rotation && same && replicas > 1) {
    const fresh = rotation.index % replicas;
    const top = yield* replicaTopSteps(reps, metric, precision, seed, fresh, scratch);
    tops[fresh] = top;
    const others = prev.tops.filter((_, r) => r !== fresh);
    if (top !== undefined && others.every((t) => t !== undefined && Math.abs(t - top) <= NULL_CARRY_TOLERANCE * top)) {
      for (let r = 0; r < replicas; r++) if (r !== fresh) tops[r] = prev.tops[r];
      carried = replicas - 1;
    } else {
      for (let r = 0; r < replicas; r++)
        if (r !== fresh) tops[r] = yield* replicaTopSteps(reps, metric, precision, seed, r, scratch);
    }
  } else {
    for (let r = 0; r < replicas; r++) tops[r] = yield* replicaTopSteps(reps, metric, precision, seed, r, scratch);
  }
  rotation?.publish({ ...key, tops });
  const got = tops.filter((t): t is number => t !== undefined);
  const k = got.length;
  const mean = got.reduce((a, b) => a + b, 0) / Math.max(1, k);
  const sd = k > 1 ? Math.sqrt(got.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1)) : NaN;
  return { mean: k > 0 ? mean : NaN, sd, replicas: k, carried };
}

/**
 * How far (relative) a replica carried over from the previous snapshot may sit from this
 * snapshot's fresh replica: 5 %, a fifth of the significance margin (nullMargin 0.25, which the
 * null top's threshold is set by while sd/mean ≈ 1–3 %), so a carried replica moves the threshold
 * by at most ≈ 2.5 % of the null top; beyond it the null has drifted and every replica is
 * computed afresh.
 */
export const NULL_CARRY_TOLERANCE = 0.05;

/** One snapshot's replica tops by stream (index r: Rng stream r; undefined: the replica was skipped). */
export interface NullStreams {
  n: number;
  d: number;
  metric: ObservableMetric;
  precision: Precision;
  replicas: number;
  seed: number;
  tops: (number | undefined)[];
}

/**
 * A trajectory's null rotation (OmdTrajectory's `nullRotation`): snapshot `index` computes the
 * replica of stream index mod replicas fresh and takes the others' tops from the previous
 * snapshot (`previous`, which the asynchronous pipeline awaits), if that snapshot had a null of
 * the same N, D, metric, precision, replicas and seed and every carried top is within
 * {@link NULL_CARRY_TOLERANCE} of the fresh one; otherwise it computes every replica. Each
 * stream is computed fresh at least once every `replicas` snapshots, so a carried top is at most
 * replicas − 1 snapshots old. `publish` receives this snapshot's tops for the next one.
 */
export interface NullRotation {
  index: number;
  previous(): Steps<NullStreams | undefined>;
  publish(streams: NullStreams): void;
}

/**
 * Buffers the replicas share (each writes into the previous one's: no fresh pages): one
 * snapshot's, or a whole synchronous trajectory's. @internal
 */
export interface ReplicaScratch {
  shuffled?: Float64Array;
  distances?: Float64Array;
}

/** The strongest non-Perron |λ̃| of replica `stream`, or undefined when it is skipped (fewer than 4 non-zero rows, ⟨d⟩ = 0). */
function* replicaTopSteps(
  reps: Mat,
  metric: ObservableMetric,
  precision: Precision,
  seed: number,
  stream: number,
  scratch: ReplicaScratch,
): Steps<number | undefined> {
  // A shuffled row can come out all zero (sparse ReLU codes); cosine-type metrics reject zero
  // rows, so such rows are dropped from the replica (N shrinks by their number).
  const full = shuffleColumns(reps, seed, stream, scratch.shuffled);
  scratch.shuffled = full.data;
  const x = dropZeroRows(full);
  if (x.rows < 4) return undefined;
  const d = scratch.distances;
  const out = d && d.length === x.rows * x.rows ? d : undefined;
  const m = yield* call(
    distanceMatrix,
    distanceMatrixSync,
    x,
    out ? { metric, precision, out } : { metric, precision },
  );
  scratch.distances = m.data;
  const n = m.rows;
  const mean = sumAll(m.data) / (n * (n - 1));
  if (!(mean > 0)) return undefined;
  // Values only; tol 1e-4 (relative to the Perron value) puts the strongest other value within
  // ≈ 0.05 % at N = 500–2000, far below the significance margin, at a quarter of the default cost.
  const e = yield* call(eigsh, eigshSync, m, { k: 2, which: 'magnitude', tol: 1e-4, vectors: false, precision });
  const vals = Array.from(e.values).sort((a, b) => Math.abs(b) - Math.abs(a));
  return Math.abs(vals[1]!) / (n * mean);
}

/** η² pooled over `rows` vectors (rows of vecs, length N each): between-class over total variance. */
function pooledEta(vecs: readonly Float64Array[], cls: Int32Array, k: number): number {
  let num = 0,
    den = 0;
  const sums = new Float64Array(k),
    counts = new Float64Array(k);
  for (let i = 0; i < cls.length; i++) counts[cls[i]!]!++;
  for (const v of vecs) {
    const n = v.length;
    let mu = 0;
    for (let i = 0; i < n; i++) mu += v[i]!;
    mu /= n;
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const x = v[i]! - mu;
      sums[cls[i]!]! += x;
      den += x * x;
    }
    for (let c = 0; c < k; c++) if (counts[c]! > 0) num += (sums[c]! * sums[c]!) / counts[c]!;
  }
  return den > 0 ? Math.min(1, num / den) : NaN;
}

/**
 * The {@link LabelFigures} of a snapshot: η² of the top ranked eigenvectors and of the band
 * eigenvectors, and per-class separation read off M.
 */
export function labelFigures(
  matrix: Mat<Float64Array>,
  cls: { index: Int32Array; names: string[] },
  topVectors: readonly Float64Array[],
  bandVectors: readonly Float64Array[],
  threshold: number,
): LabelFigures {
  const k = cls.names.length;
  const n = matrix.rows;
  const explained = pooledEta(topVectors, cls.index, k);
  const bandExplained = bandVectors.length > 0 ? pooledEta(bandVectors, cls.index, k) : NaN;
  // Within- and between-class mean distances per class, one pass over the upper triangle.
  const within = new Float64Array(k),
    between = new Float64Array(k),
    counts = new Float64Array(k);
  for (let i = 0; i < n; i++) counts[cls.index[i]!]!++;
  for (let i = 0; i < n; i++) {
    const ci = cls.index[i]!;
    for (let j = i + 1; j < n; j++) {
      const cj = cls.index[j]!;
      const d = matrix.data[i * n + j]!;
      if (ci === cj) within[ci]! += 2 * d;
      else {
        between[ci]! += d;
        between[cj]! += d;
      }
    }
  }
  const separation = new Float64Array(k);
  let s = 0,
    ns = 0;
  for (let c = 0; c < k; c++) {
    const nc = counts[c]!;
    const w = nc > 1 ? within[c]! / (nc * (nc - 1)) : NaN;
    const b = between[c]! / (nc * (n - nc));
    separation[c] = nc > 1 && b > 0 ? 1 - w / b : NaN;
    if (Number.isFinite(separation[c]!)) {
      s += separation[c]!;
      ns++;
    }
  }
  return {
    classes: k,
    vectors: topVectors.length,
    explained,
    bandExplained,
    separation,
    classNames: cls.names,
    meanSeparation: ns > 0 ? s / ns : NaN,
    explainsBand: explained >= threshold,
  };
}
