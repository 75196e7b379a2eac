/**
 * Small statistics shared by the analysis layers (rmt/, omd/, models/): quantiles, medians,
 * the Kolmogorov–Smirnov distance to a CDF, common-bin histograms, the Jensen–Shannon distance,
 * the jackknife and the error function. Pure TypeScript on typed arrays; argument checks come
 * from validate.ts. rmt/ re-exports the public ones.
 */
import { expected } from './errors.js';
import { checkInteger } from './validate.js';

/** Anything array-like holding numbers (plain arrays and typed arrays). */
export type NumberArray = ArrayLike<number>;

/** Median of values (any order; not modified). NaN-free input assumed. */
export function median(values: NumberArray): number {
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  const n = s.length;
  if (n === 0) return NaN;
  const h = n >> 1;
  return n % 2 ? s[h]! : 0.5 * (s[h - 1]! + s[h]!);
}

/** Arithmetic mean. */
export function mean(values: NumberArray): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/**
 * The p-quantile (p in [0, 1]) of an ascending-sorted sample by linear interpolation between
 * order statistics (NumPy's default, "type 7").
 */
export function quantileSorted(sorted: NumberArray, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Kolmogorov–Smirnov distance sup_x |F_n(x) − F(x)| between the empirical CDF of an
 * ascending-sorted sample and a continuous CDF F (evaluated at each sample point, both sides
 * of each jump).
 */
export function ksDistance(sorted: NumberArray, cdf: (x: number) => number): number {
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sorted[i]!);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(f - i / n));
  }
  return d;
}

/** Two-sample KS distance between two ascending-sorted samples. */
export function ksDistance2(a: NumberArray, b: NumberArray): number {
  let i = 0,
    j = 0,
    d = 0;
  const na = a.length,
    nb = b.length;
  while (i < na && j < nb) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < na && a[i]! <= x) i++;
    while (j < nb && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / na - j / nb));
  }
  return d;
}

/** A histogram on fixed edges: `counts[k]` values fell in [edges[k], edges[k+1]). */
export interface Histogram {
  /** Bin edges, ascending, length bins + 1. */
  edges: Float64Array;
  /** Counts per bin (the last bin is closed on the right). */
  counts: Float64Array;
  /** Probability density per bin: counts / (total · width), so it integrates to the in-range fraction. */
  density: Float64Array;
}

/**
 * Histogram of values on `bins` equal bins over [lo, hi] (values outside are ignored, but
 * the density is normalised by the total count, so it integrates to the in-range fraction).
 */
export function histogram(values: NumberArray, bins: number, lo: number, hi: number): Histogram {
  checkInteger(bins, 'bins', { min: 1 });
  if (!(hi > lo)) throw new RangeError(expected(`an upper bound > ${lo}`, 'hi', hi));
  const edges = new Float64Array(bins + 1);
  for (let k = 0; k <= bins; k++) edges[k] = lo + ((hi - lo) * k) / bins;
  const counts = new Float64Array(bins);
  const w = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x < lo || x > hi) continue;
    const k = Math.min(bins - 1, Math.floor((x - lo) / w));
    counts[k]!++;
  }
  const density = new Float64Array(bins);
  const n = values.length;
  for (let k = 0; k < bins; k++) density[k] = n > 0 ? counts[k]! / (n * w) : 0;
  return { edges, counts, density };
}

/**
 * Jensen–Shannon distance (square root of the JS divergence, natural log, in [0, √ln2])
 * between two histograms given as counts on the same bins.
 */
export function jensenShannonDistance(p: NumberArray, q: NumberArray): number {
  let sp = 0,
    sq = 0;
  for (let k = 0; k < p.length; k++) {
    sp += p[k]!;
    sq += q[k]!;
  }
  let js = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]! / sp,
      b = q[k]! / sq,
      m = 0.5 * (a + b);
    if (a > 0) js += 0.5 * a * Math.log(a / m);
    if (b > 0) js += 0.5 * b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/**
 * Delete-one-block jackknife of a statistic: the samples 0..n−1 are split into `blocks`
 * contiguous blocks; `estimate(keep)` is called with a mask of kept samples (all true for the
 * full estimate). Returns the full estimate, the jackknife standard error
 * √((G−1)/G · Σ (θ_g − θ̄)²) and the leave-one-block-out values.
 */
export function jackknife(
  n: number,
  blocks: number,
  estimate: (keep: Uint8Array) => number,
): { value: number; error: number; replicates: Float64Array } {
  checkInteger(n, 'n', { min: 2 });
  const g = Math.min(n, checkInteger(blocks, 'blocks', { min: 2 }));
  const keep = new Uint8Array(n).fill(1);
  const value = estimate(keep);
  const reps = new Float64Array(g);
  for (let b = 0; b < g; b++) {
    const lo = Math.floor((b * n) / g),
      hi = Math.floor(((b + 1) * n) / g);
    keep.fill(1);
    keep.fill(0, lo, hi);
    reps[b] = estimate(keep);
  }
  const m = mean(reps);
  let s = 0;
  for (let b = 0; b < g; b++) s += (reps[b]! - m) ** 2;
  return { value, error: Math.sqrt(((g - 1) / g) * s), replicates: reps };
}

/**
 * The error function erf(x), accurate to ~1e-15 (a positive-term series for |x| < 6, where
 * no cancellation occurs; erf(x) = ±1 to double precision beyond).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  // erf(x) = 2/√π · e^{−x²} · Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1))
  let term = ax,
    sum = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

/**
 * `count` pseudo-samples of a binned density: the quantiles F⁻¹((i + ½)/count), i = 0 … count−1,
 * of the piecewise-linear CDF through the bin edges (mass spread uniformly within each bin;
 * negative masses, e.g. estimator noise, are clipped to 0 and the total renormalised to 1).
 * Ascending. Used by the partial routes to stand in for the eigenvalues a full solve would give:
 * the i-th value is where the i-th of `count` levels would sit if the spectrum followed the
 * density exactly (each level's share of mass at its midpoint). NaN-filled when the mass is 0.
 */
export function densityQuantiles(edges: NumberArray, mass: NumberArray, count: number): Float64Array {
  const bins = mass.length;
  const out = new Float64Array(count);
  let total = 0;
  for (let b = 0; b < bins; b++) total += Math.max(0, mass[b]!);
  if (!(total > 0)) return out.fill(NaN);
  let b = 0,
    below = 0; // mass strictly below edge b
  for (let i = 0; i < count; i++) {
    const p = ((i + 0.5) / count) * total;
    while (b < bins - 1 && below + Math.max(0, mass[b]!) < p) below += Math.max(0, mass[b++]!);
    const m = Math.max(0, mass[b]!);
    const t = m > 0 ? Math.min(1, Math.max(0, (p - below) / m)) : 0.5;
    out[i] = edges[b]! + t * (edges[b + 1]! - edges[b]!);
  }
  return out;
}

/**
 * Fraction of variance explained by k-means with k centres: 1 − (within-cluster sum of
 * squares)/(total sum of squares) of the `points.rows` points in R^`points.cols` (row-major, one
 * point per row), in [0, 1]. Deterministic: farthest-point start from the point farthest from
 * the mean, then Lloyd iterations until the labels settle (at most 50). NaN without dimensions,
 * with no more points than centres, or when all points coincide.
 */
export function kmeansExplained(points: { data: Float64Array; rows: number; cols: number }, k: number): number {
  const n = points.rows,
    m = points.cols;
  if (m === 0 || n <= k) return NaN;
  const P = points.data;
  const mean = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let r = 0; r < m; r++) mean[r]! += P[i * m + r]! / n;
  let total = 0,
    far = 0,
    best = -1;
  for (let i = 0; i < n; i++) {
    const d = squaredDistance(P, i * m, mean, 0, m);
    total += d;
    if (d > best) {
      best = d;
      far = i;
    }
  }
  if (!(total > 0)) return NaN;
  const C = new Float64Array(k * m);
  const nearest = new Float64Array(n).fill(Infinity);
  for (let c = 0; c < k; c++) {
    C.set(P.subarray(far * m, far * m + m), c * m);
    let bd = -1;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, squaredDistance(P, i * m, C, c * m, m));
      if (nearest[i]! > bd) {
        bd = nearest[i]!;
        far = i;
      }
    }
  }
  const label = new Int32Array(n).fill(-1);
  const count = new Float64Array(k);
  let within = 0;
  for (let it = 0; it < 50; it++) {
    within = 0;
    let changed = false;
    for (let i = 0; i < n; i++) {
      let bk = 0,
        bd = Infinity;
      const o = i * m;
      for (let c = 0; c < k; c++) {
        // The squared distance to centre c, abandoned once it reaches the best so far: the terms
        // are ≥ 0, so the partial sum only grows and centre c could not have been taken.
        const co = c * m;
        let d = 0,
          r = 0;
        for (; r < m && !(d >= bd); r++) d += (P[o + r]! - C[co + r]!) ** 2;
        if (r === m && d < bd) {
          bd = d;
          bk = c;
        }
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

/** Σ_r (a[ao + r] − b[bo + r])², r = 0 … m − 1 in order. */
function squaredDistance(a: Float64Array, ao: number, b: Float64Array, bo: number, m: number): number {
  let d = 0;
  for (let r = 0; r < m; r++) d += (a[ao + r]! - b[bo + r]!) ** 2;
  return d;
}
