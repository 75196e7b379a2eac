/**
 * One OMD snapshot: the N x N probe distance matrix M and the figures read off its spectrum
 * against the Bogomolny–Bohigas–Schmit (BBS) template (spec: research/omd.md §§1–2).
 *
 * Conventions used by every omd/ export:
 * - Eigenvalues are ascending; index N−1 is the Perron eigenvalue (the only positive one for a
 *   proper BBS-type metric), and the "top-of-spectrum band" is made of the non-Perron
 *   eigenvalues of largest |λ|, which for a proper metric are the most negative ones, i.e.
 *   indices 0, 1, 2, … ("bottom-three" = indices 0..2).
 * - ⟨d⟩ is the mean off-diagonal entry of M, in the units of the metric (radians for
 *   `angular`, representation units for `euclidean`, squared units for `sqeuclidean`,
 *   dimensionless for `cosine`). Normalised eigenvalues are λ/(N⟨d⟩), so the Perron value is ≈ 1.
 * - Eigenvectors are unit vectors of length N indexed by probe input (row order of the reps).
 */
import { expected } from '../errors.js';
import type { Mat } from '../matrix.js';
import { checkMat } from '../matrix.js';
import {
  distanceMatrix,
  distanceMatrixSync,
  eigh,
  eighSync,
  eigvalsh,
  eigvalshSync,
  eigsh,
  eigshSync,
  spectralDensity,
  spectralDensitySync,
  type DensityResult,
  type EighResult,
  type EigshResult,
  type Precision,
} from '../linalg/index.js';
import { marchenkoPastur } from '../rmt/marchenko-pastur.js';
import { densityQuantiles, ksDistance } from '../stats.js';
import { checkInteger, checkNumber, checkOneOf, checkOptionsObject } from '../validate.js';

/**
 * Distance used for the observable (see the linalg `Metric` doc):
 * - `angular` (default): arccos of the cosine of the L2-normalised rows, the geodesic distance on
 *   the unit sphere, in radians [0, π];
 * - `euclidean`: ‖h_i − h_j‖ (chord distance for points on a sphere);
 * - `cosine`: 1 − cos θ_ij;
 * - `sqeuclidean`: ‖h_i − h_j‖² (not a BBS-type observable; rank ≤ D + 2; offered for comparison).
 */
export type ObservableMetric = 'angular' | 'euclidean' | 'cosine' | 'sqeuclidean';

/** Options of {@link observableMatrix}. */
export interface ObservableOptions {
  /** Default `angular`. */
  metric?: ObservableMetric;
  /** Accumulation precision of the distance computation; default float64. */
  precision?: Precision;
}

/** Per-snapshot fingerprint of the top band (see {@link BandFigures.fingerprint}). */
export type Fingerprint = 'smooth-manifold' | 'clusters' | 'fourier' | 'noise';

/** Options of {@link analyzeObservable}; every threshold is documented with its calibration. */
export interface AnalyzeOptions extends ObservableOptions {
  /**
   * How to read the input Mat: `reps` (N x D representations, M is computed with `metric`),
   * `distance` (an N x N distance matrix, checked and used as is; `metric` then only says how
   * it was made, for the ambient-noise reading), or `auto` (default): a square matrix whose
   * diagonal is exactly zero is taken as a distance matrix (and must then pass the distance checks:
   * symmetric, non-negative, finite), anything else as reps.
   */
  input?: 'auto' | 'reps' | 'distance';
  /** Number of bottom eigenpairs returned for the MDS cloud; default 3. */
  bottomK?: number;
  /** Largest band size considered; default 32 (enough for K ≤ 33 clusters). */
  maxBand?: number;
  /**
   * A band is "clear" when |λ_(m̂)|/|λ_(m̂+1)| ≥ minGapRatio (ranked non-Perron values). Default 1.5:
   * on the templates the band-to-rest ratio is ≥ 3 (S² geodesic ≈ 14, S² chord ≈ 6, 10
   * clusters ≈ 10, Fourier ≈ 5–11) while pure noise stays below 1.1.
   */
  minGapRatio?: number;
  /**
   * Consecutive ranked eigenvalues belong to the same multiplet while their relative gap
   * (|λ_k| − |λ_{k+1}|)/|λ_k| ≤ splitGap. Default 0.1 (sampling splits at N ≈ 1000 are ≈ 3–5 %).
   */
  splitGap?: number;
  /**
   * A clear band reads as `clusters` when its eigenvector embedding (probe i ↦ row i of the m̂ band
   * eigenvectors) is piecewise constant: k-means with m̂ + 1 centres explains ≥ clusterThreshold of
   * its variance (see {@link BandFigures.clusterScore}). Default 0.8: spheres S¹–S³, S² plus
   * noise and the collapsing FBP ring score 0.49–0.72; Gaussian clusters (K = 3–10, spread
   * 0.5–1 in R⁶⁴) score 0.88–0.99.
   */
  clusterThreshold?: number;
  /**
   * A band of even size ≥ 4 reads as `fourier` when it splits into pairs whose relative
   * splitting is ≤ doubletTolerance and ≤ ¼ of the smallest gap between pairs. Default 0.01
   * (the circulant embedding has exact doublets; random S³ samples split by ≈ 3 %).
   */
  doubletTolerance?: number;
  /** An eigenvalue counts as positive when λ > positiveTolerance · λ_Perron; default 1e-9. */
  positiveTolerance?: number;
  /**
   * `full`: the whole spectrum (LAPACK ?syevd, O(N³)). `partial`: the Perron value, the top
   * maxBand + 1 non-Perron values by |λ| and the bottom-k pairs exactly (block Lanczos, eigsh),
   * the rest of the spectrum as pseudo-eigenvalues from its SLQ density; see docs/omd.md
   * "Routes". `auto` (default): partial when N > `partialAbove`. Both drivers support both.
   */
  route?: 'auto' | 'full' | 'partial';
  /** Size above which `auto` takes the partial route: N > partialAbove. Default 4000. */
  partialAbove?: number;
}

/** Top-of-spectrum band figures (non-Perron eigenvalues ranked by |λ|, descending). */
export interface BandFigures {
  /** Non-Perron eigenvalues (signed, in units of M) ranked by |λ| descending (N − 1 values). */
  ranked: Float64Array;
  /** rankedIndex[k] = index of ranked[k] in the ascending spectrum. */
  rankedIndex: Int32Array;
  /** g_k = (|λ_k| − |λ_{k+1}|)/|λ_k| for the first maxBand ranked values (k 0-based). */
  relativeGaps: Float64Array;
  /** Multiplet sizes among the first maxBand + 1 ranked values (split where g_k > splitGap). */
  multiplets: number[];
  /** m̂ maximising |λ_m|/|λ_{m+1}| over 1 ≤ m ≤ maxBand (reported even when not clear). */
  candidateSize: number;
  /** Band size m̂ = candidateSize when the band is clear, else 0. */
  size: number;
  /** |λ_m̂|/|λ_m̂+1| for m̂ = candidateSize (≥ 1). */
  gapRatio: number;
  /** gapRatio ≥ minGapRatio. */
  clear: boolean;
  /** (max − min)/max of |λ| within the candidate band (0 for a perfect multiplet). */
  spread: number;
  /**
   * Fraction of the variance of the band eigenvector embedding explained by k-means with
   * candidateSize + 1 centres (deterministic farthest-point start): ≈ 1 when the eigenvectors are
   * constant on groups of probes (K clusters ↔ K − 1 band vectors), 0.5–0.75 for a manifold.
   */
  clusterScore: number;
  /** Largest relative splitting within consecutive pairs of the candidate band (NaN if odd). */
  doubletSplit: number;
  /** Sphere reading d̂ = m̂ − 1 (I-BBS: the top multiplet of S^d has d + 1 members); NaN if no clear band. */
  dimension: number;
  /**
   * `noise` (no clear band: un-relaxed), `fourier` (even band of exact-ish doublets, e.g. a
   * circulant token embedding), `clusters` (clusterScore ≥ clusterThreshold: K clusters give a
   * band of K − 1 outliers), else `smooth-manifold` (BBS-adjacent; one multiplet of d + 1 on S^d).
   */
  fingerprint: Fingerprint;
  /** Band spectral mass Σ_band |λ| / Σ_non-Perron |λ| (0 without a clear band). */
  massFraction: number;
}

/**
 * Ambient-noise reading (omd.md §2.3): the non-Perron, non-band eigenvalues are fitted as a
 * reflected, shifted Marchenko–Pastur bulk, λ = −(a + b·y) with y ~ MP(ratio r, variance 1).
 * Moments give b and r (mean y = 1, var y = r) with the shift fixed by the metric:
 * euclidean a = b (= c/2, c = σ√(2D)); angular a = π/2 − 1; cosine and sqeuclidean a = 0.
 * Then D̂ = N/r and σ̂ is the per-coordinate noise standard deviation: euclidean σ̂ = b·√(2/D̂)
 * (representation units); angular/cosine σ̂ = √(b/D̂) (units of the unit sphere, so b is the
 * noise share of the squared norm); sqeuclidean σ̂ = √(b/(2D̂)). NaN when the bulk has no
 * MP-like spread (b ≤ 0), e.g. a noiseless manifold.
 */
export interface AmbientFit {
  /** Number of eigenvalues fitted (N − 1 − m̂). */
  count: number;
  /** Shift a and scale b of the reflected MP law, in units of M. */
  shift: number;
  scale: number;
  /** r = N / D̂. */
  ratio: number;
  /** Effective ambient dimension D̂ = N/r. */
  dimension: number;
  /** Per-coordinate noise scale σ̂ (see above for units). */
  sigma: number;
  /** Predicted bulk edges in units of M: lower = −(a + b(1+√r)²), upper = −(a + b(1−√r)²). */
  lowerEdge: number;
  upperEdge: number;
  /** Observed extremes of the fitted eigenvalues (units of M). */
  observedLower: number;
  observedUpper: number;
  /** (|λ_weakest band member| − |lowerEdge|)/|lowerEdge|: > 0 when the band stands out of the bulk; NaN without a band. */
  separation: number;
  /** Kolmogorov–Smirnov distance between the fitted values and the MP law (0 perfect, 1 worst). */
  ks: number;
}

/** Figures of one snapshot; see the module doc for conventions. */
export interface ObservableSnapshot {
  /** Number of probes N. */
  n: number;
  metric: ObservableMetric;
  /**
   * How the spectrum was computed. `full`: every eigenvalue exactly. `partial`: exact Perron,
   * band (the top maxBand + 1 non-Perron values by |λ|), bottom-k pairs and everything derived
   * from them; `values`/`normalized` hold a pseudo-spectrum whose other entries are midpoint
   * quantiles of the SLQ density (bulk shape only, not individual levels), so the ambient fit,
   * entropyDimension and, unless bbsProper, participationRatio and band.massFraction are
   * estimates. See docs/omd.md "Routes".
   */
  route: 'full' | 'partial';
  /** The distance matrix M (N x N, float64). */
  matrix: Mat<Float64Array>;
  /** Full spectrum of M, ascending (units of M); the pseudo-spectrum on the partial route (see `route`). */
  values: Float64Array;
  /** λ_{N−1}, units of M. */
  perron: number;
  /** ⟨d⟩ = mean off-diagonal entry of M. */
  meanDistance: number;
  /** λ_Perron/(N⟨d⟩), ≈ 1 − 1/N for near-constant rows. */
  perronRatio: number;
  /** λ/(N⟨d⟩), ascending. */
  normalized: Float64Array;
  /** Eigenvalues > positiveTolerance · λ_Perron. */
  positiveCount: number;
  /** positiveCount === 1: M behaves as a BBS-type (conditionally negative definite) metric. */
  bbsProper: boolean;
  band: BandFigures;
  /** Effective dimension over non-Perron eigenvalues: (Σ|λ|)²/Σλ² and exp(−Σ p log p), p = |λ|/Σ|λ|. */
  participationRatio: number;
  entropyDimension: number;
  ambient: AmbientFit;
  /** The bottomK smallest eigenvalues (indices 0..k−1) and their vectors (k x N, row j ↔ values[j]). */
  bottomValues: Float64Array;
  bottomVectors: Mat<Float64Array>;
  /** MDS cloud X = U_{0:3}|Λ_{0:3}|^½ (N x min(3, bottomK); row i = probe i; units √(units of M)). */
  mds: Mat<Float64Array>;
  /** Unit eigenvectors of the first max(size, candidateSize) ranked eigenvalues (rows, ranked order). */
  bandVectors: Mat<Float64Array>;
}

const METRICS: readonly ObservableMetric[] = ['angular', 'euclidean', 'cosine', 'sqeuclidean'];

interface Resolved {
  metric: ObservableMetric;
  precision: Precision;
  input: 'auto' | 'reps' | 'distance';
  bottomK: number;
  maxBand: number;
  minGapRatio: number;
  splitGap: number;
  clusterThreshold: number;
  doubletTolerance: number;
  positiveTolerance: number;
  route: 'auto' | 'full' | 'partial';
  partialAbove: number;
}

/** Validates and fills defaults (exported for trajectory/null; not part of the public API). */
export function resolveOptions(options: AnalyzeOptions | undefined): Resolved {
  const o = checkOptionsObject(options);
  return {
    metric: checkOneOf(o.metric ?? 'angular', 'metric', METRICS),
    precision: checkOneOf(o.precision ?? 'float64', 'precision', ['float64', 'float32']),
    input: checkOneOf(o.input ?? 'auto', 'input', ['auto', 'reps', 'distance']),
    bottomK: checkInteger(o.bottomK ?? 3, 'bottomK', { min: 1 }),
    maxBand: checkInteger(o.maxBand ?? 32, 'maxBand', { min: 1 }),
    minGapRatio: checkNumber(o.minGapRatio ?? 1.5, 'minGapRatio', { min: 1 }),
    splitGap: checkNumber(o.splitGap ?? 0.1, 'splitGap', { min: 0 }),
    clusterThreshold: checkNumber(o.clusterThreshold ?? 0.8, 'clusterThreshold', { min: 0 }),
    doubletTolerance: checkNumber(o.doubletTolerance ?? 0.01, 'doubletTolerance', { min: 0 }),
    positiveTolerance: checkNumber(o.positiveTolerance ?? 1e-9, 'positiveTolerance', { min: 0 }),
    route: checkOneOf(o.route ?? 'auto', 'route', ['auto', 'full', 'partial']),
    partialAbove: checkInteger(o.partialAbove ?? 4000, 'partialAbove', { min: 0 }),
  };
}

/** Checks a representation Mat: a Mat with N ≥ 4 rows (NaN/Inf are rejected by the native kernel, naming row and column). */
export function checkReps(reps: unknown, name = 'reps'): asserts reps is Mat {
  checkMat(reps, name);
  if (reps.rows < 4) throw new RangeError(expected('at least 4 probe rows', `${name}.rows`, reps.rows));
  // NaN/Inf are rejected (with their index, row and column) by the native distance kernel,
  // off the main thread for async calls: no second scan here.
}

/**
 * Checks an N x N distance matrix: square, N ≥ 4, finite, symmetric (|m_ij − m_ji| ≤ 1e-10·max),
 * non-negative (≥ −1e-12·max) with a zero diagonal (|m_ii| ≤ 1e-12·max); returns ⟨d⟩ > 0.
 * RangeError otherwise (including ⟨d⟩ = 0, an all-identical probe set).
 */
export function checkDistance(m: unknown, name = 'M'): number {
  checkMat(m, name);
  const n = m.rows;
  if (m.cols !== n) throw new RangeError(expected('a square N x N distance matrix', name, `${m.rows} x ${m.cols}`));
  if (n < 4) throw new RangeError(expected('at least 4 probes', `${name}.rows`, n));
  const a = m.data;
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
  let sum = 0;
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
      sum += x;
    }
  }
  const mean = (2 * sum) / (n * (n - 1));
  if (!(mean > 0)) {
    throw new RangeError(expected('distinct probe representations (mean off-diagonal distance > 0)', `${name} mean distance`, mean));
  }
  return mean;
}

function looksLikeDistance(m: Mat): boolean {
  // Square with an exactly zero diagonal: meant as a distance matrix (then checked strictly).
  const n = m.rows;
  if (m.cols !== n) return false;
  for (let i = 0; i < n; i++) if (m.data[i * n + i] !== 0) return false;
  return true;
}

/**
 * The observable M: pairwise distances between the N rows of a representation Mat (N x D,
 * float32 or float64; row i = probe input i, order kept). Default metric `angular` (geodesic on
 * the unit sphere, radians). Result: N x N float64, exact zero diagonal, exactly symmetric.
 * Throws TypeError for a non-Mat, RangeError for N < 4 or NaN/Inf entries (naming row and column).
 * The input is pinned until the Promise settles: do not mutate it meanwhile.
 */
export async function observableMatrix(reps: Mat, options?: ObservableOptions): Promise<Mat<Float64Array>> {
  const o = resolveOptions(options);
  checkReps(reps);
  return distanceMatrix(reps, { metric: o.metric, precision: o.precision });
}

/** Synchronous {@link observableMatrix}. */
export function observableMatrixSync(reps: Mat, options?: ObservableOptions): Mat<Float64Array> {
  const o = resolveOptions(options);
  checkReps(reps);
  return distanceMatrixSync(reps, { metric: o.metric, precision: o.precision });
}

/** Spectrum-only figures; vectors are attached afterwards. */
interface Partial1 {
  n: number;
  values: Float64Array;
  meanDistance: number;
  perron: number;
  band: BandFigures;
  positiveCount: number;
  participationRatio: number;
  entropyDimension: number;
  ambient: AmbientFit;
  needed: number[];
}

function rankNonPerron(values: Float64Array): Int32Array {
  const n = values.length;
  const idx = new Int32Array(n - 1);
  for (let i = 0; i < n - 1; i++) idx[i] = i;
  // Stable order by |λ| descending (for a proper metric this is ascending index order).
  return idx.sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!) || a - b);
}

function bandFigures(values: Float64Array, o: Resolved): BandFigures {
  const rankedIndex = rankNonPerron(values);
  const nr = rankedIndex.length;
  const ranked = new Float64Array(nr);
  for (let k = 0; k < nr; k++) ranked[k] = values[rankedIndex[k]!]!;
  const abs = (k: number): number => Math.abs(ranked[k]!);
  const kMax = Math.min(o.maxBand, nr - 1);
  const relativeGaps = new Float64Array(kMax);
  let best = 1, bestRatio = 0;
  for (let k = 0; k < kMax; k++) {
    const a = abs(k), b = abs(k + 1);
    relativeGaps[k] = a > 0 ? (a - b) / a : 0;
    const ratio = b > 0 ? a / b : a > 0 ? Infinity : 1;
    if (ratio > bestRatio) {
      bestRatio = ratio;
      best = k + 1;
    }
  }
  const multiplets: number[] = [];
  let run = 1;
  for (let k = 0; k < kMax; k++) {
    if (relativeGaps[k]! > o.splitGap) {
      multiplets.push(run);
      run = 1;
    } else run++;
  }
  multiplets.push(run);
  const clear = bestRatio >= o.minGapRatio;
  const m = best;
  const top = abs(0);
  const spread = top > 0 ? (top - abs(m - 1)) / top : 0;
  let doubletSplit = NaN;
  let minBetween = Infinity;
  if (m % 2 === 0) {
    doubletSplit = 0;
    for (let k = 0; k < m; k += 2) {
      doubletSplit = Math.max(doubletSplit, abs(k) > 0 ? (abs(k) - abs(k + 1)) / abs(k) : 0);
      if (k + 2 < m) minBetween = Math.min(minBetween, abs(k + 1) > 0 ? (abs(k + 1) - abs(k + 2)) / abs(k + 1) : 0);
    }
  }
  // Provisional: `clusters` versus `smooth-manifold` is settled once the band vectors exist (finish()).
  let fingerprint: Fingerprint;
  if (!clear) fingerprint = 'noise';
  else if (m >= 4 && m % 2 === 0 && doubletSplit <= o.doubletTolerance && doubletSplit <= 0.25 * minBetween) fingerprint = 'fourier';
  else fingerprint = 'smooth-manifold';
  let total = 0, bandMass = 0;
  for (let k = 0; k < nr; k++) {
    total += abs(k);
    if (clear && k < m) bandMass += abs(k);
  }
  return {
    ranked,
    rankedIndex,
    relativeGaps,
    multiplets,
    candidateSize: m,
    size: clear ? m : 0,
    gapRatio: bestRatio,
    clear,
    spread,
    clusterScore: NaN,
    doubletSplit,
    dimension: clear ? m - 1 : NaN,
    fingerprint,
    massFraction: total > 0 ? bandMass / total : 0,
  };
}

function ambientFit(n: number, band: BandFigures, metric: ObservableMetric): AmbientFit {
  const skip = band.size;
  const u: number[] = [];
  for (let k = skip; k < band.ranked.length; k++) u.push(-band.ranked[k]!);
  const count = u.length;
  let mean = 0;
  for (const x of u) mean += x;
  mean /= Math.max(1, count);
  let varU = 0;
  for (const x of u) varU += (x - mean) ** 2;
  varU /= Math.max(1, count);
  let a: number, b: number;
  if (metric === 'euclidean') {
    b = mean / 2;
    a = b;
  } else if (metric === 'angular') {
    a = Math.PI / 2 - 1;
    b = mean - a;
  } else {
    a = 0;
    b = mean;
  }
  let observedLower = Infinity, observedUpper = -Infinity;
  for (const x of u) {
    observedLower = Math.min(observedLower, -x);
    observedUpper = Math.max(observedUpper, -x);
  }
  const nan: AmbientFit = {
    count, shift: NaN, scale: NaN, ratio: NaN, dimension: NaN, sigma: NaN, lowerEdge: NaN, upperEdge: NaN,
    observedLower, observedUpper, separation: NaN, ks: NaN,
  };
  if (!(b > 0) || !(varU > 0) || count < 2) return nan;
  const r = varU / (b * b);
  const dim = n / r;
  const sigma = metric === 'euclidean' ? b * Math.sqrt(2 / dim) : metric === 'sqeuclidean' ? Math.sqrt(b / (2 * dim)) : Math.sqrt(b / dim);
  const sr = Math.sqrt(r);
  const lowerEdge = -(a + b * (1 + sr) ** 2);
  const upperEdge = -(a + b * (1 - sr) ** 2);
  const ys = Float64Array.from(u, (x) => (x - a) / b).sort();
  const mp = marchenkoPastur({ ratio: r, variance: 1 });
  const ks = ksDistance(ys, (x) => mp.cdf(x));
  const separation = band.size > 0 ? (Math.abs(band.ranked[band.size - 1]!) - Math.abs(lowerEdge)) / Math.abs(lowerEdge) : NaN;
  return { count, shift: a, scale: b, ratio: r, dimension: dim, sigma, lowerEdge, upperEdge, observedLower, observedUpper, separation, ks };
}

function spectralFigures(values: Float64Array, meanDistance: number, o: Resolved): Partial1 {
  const n = values.length;
  const perron = values[n - 1]!;
  let positiveCount = 0;
  for (let i = 0; i < n; i++) if (values[i]! > o.positiveTolerance * Math.abs(perron)) positiveCount++;
  const band = bandFigures(values, o);
  let s1 = 0, s2 = 0;
  for (let k = 0; k < band.ranked.length; k++) {
    const a = Math.abs(band.ranked[k]!);
    s1 += a;
    s2 += a * a;
  }
  let h = 0;
  if (s1 > 0) {
    for (let k = 0; k < band.ranked.length; k++) {
      const p = Math.abs(band.ranked[k]!) / s1;
      if (p > 0) h -= p * Math.log(p);
    }
  }
  const needed: number[] = [];
  for (let j = 0; j < Math.min(o.bottomK, n); j++) needed.push(j);
  for (let k = 0; k < band.candidateSize; k++) needed.push(band.rankedIndex[k]!);
  return {
    n,
    values,
    meanDistance,
    perron,
    band,
    positiveCount,
    participationRatio: s2 > 0 ? (s1 * s1) / s2 : 0,
    entropyDimension: Math.exp(h),
    ambient: ambientFit(n, band, o.metric),
    needed,
  };
}

function finish(p: Partial1, matrix: Mat<Float64Array>, vecRow: (idx: number) => Float64Array, o: Resolved, route: 'full' | 'partial'): ObservableSnapshot {
  const n = p.n;
  const k = Math.min(o.bottomK, n);
  const bottomValues = p.values.slice(0, k);
  const bottomVectors = { data: new Float64Array(k * n), rows: k, cols: n };
  for (let j = 0; j < k; j++) bottomVectors.data.set(vecRow(j), j * n);
  const dm = Math.min(3, k);
  const mds = { data: new Float64Array(n * dm), rows: n, cols: dm };
  for (let j = 0; j < dm; j++) {
    const s = Math.sqrt(Math.abs(p.values[j]!));
    const v = vecRow(j);
    for (let i = 0; i < n; i++) mds.data[i * dm + j] = v[i]! * s;
  }
  const m = p.band.candidateSize;
  const bandVectors = { data: new Float64Array(m * n), rows: m, cols: n };
  for (let r = 0; r < m; r++) bandVectors.data.set(vecRow(p.band.rankedIndex[r]!), r * n);
  p.band.clusterScore = kmeansExplained(bandVectors, m + 1);
  if (p.band.fingerprint === 'smooth-manifold' && p.band.clusterScore >= o.clusterThreshold) p.band.fingerprint = 'clusters';
  const scale = n * p.meanDistance;
  return {
    n,
    metric: o.metric,
    route,
    matrix,
    values: p.values,
    perron: p.perron,
    meanDistance: p.meanDistance,
    perronRatio: p.perron / scale,
    normalized: p.values.map((v) => v / scale),
    positiveCount: p.positiveCount,
    bbsProper: p.positiveCount === 1,
    band: p.band,
    participationRatio: p.participationRatio,
    entropyDimension: p.entropyDimension,
    ambient: p.ambient,
    bottomValues,
    bottomVectors,
    mds,
    bandVectors,
  };
}

/**
 * 1 − (within-cluster sum of squares)/(total sum of squares) of k-means with k centres on the
 * points i ↦ (v_0[i], …, v_{m−1}[i]) (rows of vecs are the vectors). Farthest-point start from the
 * point farthest from the mean (deterministic), Lloyd iterations until labels settle (≤ 50).
 */
function kmeansExplained(vecs: Mat<Float64Array>, k: number): number {
  const m = vecs.rows, n = vecs.cols;
  if (m === 0 || n <= k) return NaN;
  const P = new Float64Array(n * m);
  for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) P[i * m + r] = vecs.data[r * n + i]!;
  const mean = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let r = 0; r < m; r++) mean[r]! += P[i * m + r]! / n;
  const dist = (i: number, c: Float64Array, j: number): number => {
    let d = 0;
    for (let r = 0; r < m; r++) d += (P[i * m + r]! - c[j * m + r]!) ** 2;
    return d;
  };
  let total = 0, far = 0, best = -1;
  for (let i = 0; i < n; i++) {
    const d = dist(i, mean, 0);
    total += d;
    if (d > best) [best, far] = [d, i];
  }
  if (!(total > 0)) return NaN;
  const C = new Float64Array(k * m);
  const nearest = new Float64Array(n).fill(Infinity);
  for (let c = 0; c < k; c++) {
    C.set(P.subarray(far * m, far * m + m), c * m);
    let bd = -1;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, dist(i, C, c));
      if (nearest[i]! > bd) [bd, far] = [nearest[i]!, i];
    }
  }
  const label = new Int32Array(n).fill(-1);
  const count = new Float64Array(k);
  let within = 0;
  for (let it = 0; it < 50; it++) {
    within = 0;
    let changed = false;
    for (let i = 0; i < n; i++) {
      let bk = 0, bd = Infinity;
      for (let c = 0; c < k; c++) {
        const d = dist(i, C, c);
        if (d < bd) [bd, bk] = [d, c];
      }
      if (label[i] !== bk) changed = true;
      label[i] = bk;
      within += bd;
    }
    if (!changed) break;
    C.fill(0);
    count.fill(0);
    for (let i = 0; i < n; i++) {
      const c = label[i]!;
      count[c]!++;
      for (let r = 0; r < m; r++) C[c * m + r]! += P[i * m + r]!;
    }
    for (let c = 0; c < k; c++) if (count[c]! > 0) for (let r = 0; r < m; r++) C[c * m + r]! /= count[c]!;
  }
  return Math.max(0, 1 - within / total);
}

function isDistanceInput(x: Mat, o: Resolved): boolean {
  if (o.input === 'distance') return true;
  if (o.input === 'reps') return false;
  return looksLikeDistance(x);
}

function neededRange(p: Partial1): [number, number] {
  let hi = 0;
  for (const i of p.needed) hi = Math.max(hi, i);
  return [0, hi];
}

/**
 * Analyses one snapshot: builds M from representations (or checks a given distance matrix, see
 * {@link AnalyzeOptions.input}), computes the full spectrum (LAPACK ?syevd) and the eigenvectors it
 * needs (bottom-k and band, ?syevr on an index range), and returns every per-snapshot figure of
 * {@link ObservableSnapshot}. Runs on the libuv pool; inputs are pinned until it settles.
 * Above `partialAbove` probes (or with `route: 'partial'`) the full solve is replaced by block
 * Lanczos for the edge pairs and SLQ for the bulk (see {@link AnalyzeOptions.route},
 * {@link ObservableSnapshot.route}); the snapshot records the route taken.
 *
 * Errors: TypeError for a non-Mat; RangeError for N < 4, NaN/Inf (with index), a non-square,
 * non-symmetric, negative or non-zero-diagonal distance matrix, or ⟨d⟩ = 0 (all probes identical).
 */
export async function analyzeObservable(input: Mat, options?: AnalyzeOptions): Promise<ObservableSnapshot> {
  const steps = analysisSteps(input, options);
  let step = steps.next();
  while (!step.done) step = steps.next(await step.value.run());
  return step.value;
}

/** Synchronous {@link analyzeObservable} (both routes; the partial one with eigshSync/spectralDensitySync). */
export function analyzeObservableSync(input: Mat, options?: AnalyzeOptions): ObservableSnapshot {
  const steps = analysisSteps(input, options);
  let step = steps.next();
  while (!step.done) step = steps.next(step.value.runSync());
  return step.value;
}

/** A native solve the analysis asks for, in both forms; the async driver runs `run`, the sync one `runSync`. */
interface Solve {
  run(): Promise<SolveResult>;
  runSync(): SolveResult;
}

/** What a solve returns (results flow back through the generator as this union). */
type SolveResult = Mat<Float64Array> | Float64Array | EighResult | EigshResult | DensityResult;

/**
 * The one body of {@link analyzeObservable} and its Sync twin: checks, then yields each native
 * solve (distance matrix, full spectrum, the eigenvector range it needs) and resumes with its
 * result, so the two drivers differ only in how they run a solve.
 */
function* analysisSteps(input: Mat, options: AnalyzeOptions | undefined): Generator<Solve, ObservableSnapshot, SolveResult> {
  const o = resolveOptions(options);
  checkMat(input, 'input');
  let matrix: Mat<Float64Array>;
  let mean: number;
  if (isDistanceInput(input, o)) {
    mean = checkDistance(input, 'M');
    matrix = toF64(input);
  } else {
    checkReps(input, 'reps');
    const opts = { metric: o.metric, precision: o.precision };
    matrix = (yield { run: () => distanceMatrix(input, opts), runSync: () => distanceMatrixSync(input, opts) }) as Mat<Float64Array>;
    mean = meanOffDiagonal(matrix);
  }
  const n = matrix.rows;
  const route = o.route === 'auto' ? (n > o.partialAbove ? 'partial' : 'full') : o.route;
  if (route === 'partial') return yield* partialSteps(matrix, mean, o);
  const eigOpts = { precision: o.precision };
  const values = (yield { run: () => eigvalsh(matrix, eigOpts), runSync: () => eigvalshSync(matrix, eigOpts) }) as Float64Array;
  const p = spectralFigures(values, mean, o);
  const range = neededRange(p);
  const vecOpts = { range, precision: o.precision };
  const eig = (yield { run: () => eigh(matrix, vecOpts), runSync: () => eighSync(matrix, vecOpts) }) as EighResult;
  const lo = range[0];
  return finish(p, matrix, (idx) => eig.vectors.data.subarray((idx - lo) * n, (idx - lo + 1) * n), o, 'full');
}

/** SLQ settings of the partial route: fine bins for the quantiles, a 32-wide probe block. */
const PARTIAL_DENSITY = { probes: 32, steps: 48, seed: 0 } as const;
const PARTIAL_BINS = 200;

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
function* partialSteps(matrix: Mat<Float64Array>, mean: number, o: Resolved): Generator<Solve, ObservableSnapshot, SolveResult> {
  const n = matrix.rows;
  const kMag = Math.min(o.maxBand + 2, n - 1);
  const magOpts = { k: kMag, which: 'magnitude' as const, precision: o.precision };
  const mag = (yield { run: () => eigsh(matrix, magOpts), runSync: () => eigshSync(matrix, magOpts) }) as EigshResult;
  const exact: { value: number; vec: Float64Array }[] = [];
  let t = Infinity, negatives = 0;
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
    const sm = (yield { run: () => eigsh(matrix, smOpts), runSync: () => eigshSync(matrix, smOpts) }) as EigshResult;
    // The first `negatives` smallest are already among the magnitude pairs.
    for (let j = negatives; j < sm.values.length; j++) {
      exact.push({ value: sm.values[j]!, vec: sm.vectors!.data.subarray(j * n, (j + 1) * n) });
      lower = Math.max(lower, sm.values[j]!);
    }
  }
  // The density on a grid over [lower, t] only: the default grid would span the Perron value too
  // (≈ N⟨d⟩), leaving the bulk a handful of bins. Mass outside (the smear of the Perron point
  // mass between the quadrature nodes) is dropped; t is widened by a hair so the last bin is closed.
  const bins = PARTIAL_BINS;
  const grid = new Float64Array(bins + 1);
  const hi = t > lower ? t : lower + 1e-12 * Math.abs(perronOf(exact));
  for (let b = 0; b <= bins; b++) grid[b] = lower + ((hi - lower) * b) / bins;
  const densOpts = { ...PARTIAL_DENSITY, grid, precision: o.precision };
  const dens = (yield { run: () => spectralDensity(matrix, densOpts), runSync: () => spectralDensitySync(matrix, densOpts) }) as DensityResult;
  const edges = dens.edges, mass = dens.mass;
  const rest = n - exact.length;
  let pseudo = densityQuantiles(edges, mass, rest);
  if (rest > 0 && Number.isNaN(pseudo[0]!)) pseudo = new Float64Array(rest); // no mass left inside: put the levels at 0
  exact.sort((a, b) => a.value - b.value);
  const below = exact.filter((e) => e.value < 0 && e.value <= lower);
  const above = exact.filter((e) => !(e.value < 0 && e.value <= lower));
  const values = new Float64Array(n);
  below.forEach((e, i) => (values[i] = e.value));
  values.set(pseudo, below.length);
  above.forEach((e, i) => (values[n - above.length + i] = e.value));
  const vecs = new Map<number, Float64Array>();
  below.forEach((e, i) => vecs.set(i, e.vec));
  above.forEach((e, i) => vecs.set(n - above.length + i, e.vec));
  const p = spectralFigures(values, mean, o);
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
    const s1 = perron - trace, s2 = fro2 - perron * perron;
    if (s1 > 0 && s2 > 0) {
      p.participationRatio = (s1 * s1) / s2;
      let bandMass = 0;
      for (let k = 0; k < p.band.size; k++) bandMass += Math.abs(p.band.ranked[k]!);
      p.band.massFraction = bandMass / s1;
    }
  }
  return finish(p, matrix, (idx) => {
    const v = vecs.get(idx);
    if (!v) throw new Error(`internal: no eigenvector computed for index ${idx}`);
    return v;
  }, o, 'partial');
}

/** ⟨d⟩ of a distance matrix we computed (already symmetric, zero diagonal); RangeError when 0. */
function meanOffDiagonal(m: Mat<Float64Array>): number {
  const n = m.rows;
  let sum = 0;
  for (let i = 0; i < m.data.length; i++) sum += m.data[i]!;
  const mean = sum / (n * (n - 1));
  if (!(mean > 0)) {
    throw new RangeError(expected('distinct probe representations (mean off-diagonal distance > 0)', 'M mean distance', mean));
  }
  return mean;
}

/** A float64 copy (the snapshot, and trajectories after it, keep M; the caller may reuse its buffer). */
function toF64(m: Mat): Mat<Float64Array> {
  return { data: Float64Array.from(m.data), rows: m.rows, cols: m.cols };
}
