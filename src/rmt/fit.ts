/**
 * Fitting the Marchenko–Pastur bulk variance σ² to an observed spectrum of X = W Wᵀ
 * (W N x M, r = N/M, W_ij of variance σ²/M; see marchenko-pastur.ts).
 *
 * Method (a minimum-Wasserstein fit, robust to spikes above the edge):
 * 1. For r > 1 the N − M exact zeros (the atom at 0, values ≤ 1e-10 · λ_max) are dropped;
 *    the remaining min(N, M) nonzero eigenvalues follow the continuous MP part.
 * 2. Start from median matching: σ² = median(λ) / median(MP₁), valid while fewer than half the
 *    eigenvalues are outliers.
 * 3. Iterate: the k eigenvalues above λ₊(σ²) + margin · (Tracy–Widom scale) are set aside as
 *    spikes; σ² is refitted to the n − k lowest ones by minimising the 1-Wasserstein distance
 *    ∫|F⁻¹_emp(p) − σ² Q₁(p)| dp between the empirical bulk and MP(σ²) (Q₁ = MP quantile at
 *    σ² = 1, midpoint rule p_i = (i − ½)/(n − k)). Because MP is a scale family this has an
 *    exact solution, the weighted median of λ_(i)/Q₁(p_i) with weights Q₁(p_i): no grid, no
 *    kernel bandwidth. Stops when k no longer changes.
 * 4. Goodness of fit: the KS distance between the bulk and MP(σ²); uncertainty: a seeded
 *    bootstrap over the bulk eigenvalues (percentile interval). Eigenvalues are not independent
 *    (they repel), so this interval is conservative (wider than the true sampling spread).
 *
 * Unlike a kernel-density grid search over σ (WeightWatcher's method, reported to
 * under-estimate σ and to be scale-sensitive), every step is scale-equivariant: multiplying
 * the spectrum by c multiplies σ² by c exactly.
 */
import { expected } from '../errors.js';
import { Rng } from '../random.js';
import { marchenkoPastur, type MarchenkoPastur } from './marchenko-pastur.js';
import { TRACY_WIDOM_1, tracyWidomScale } from './spikes.js';
import { ksDistance, median, quantileSorted, type NumberArray } from '../stats.js';
import { checkInteger, checkNumber, checkObject, checkOptions, sortedFinite } from '../validate.js';
import { optionKeys } from './options.js';

const FIT_KEYS = optionKeys<FitMarchenkoPasturOptions>({
  ratio: true,
  rows: true,
  margin: true,
  bootstrap: true,
  confidence: true,
  seed: true,
  minBulk: true,
});

/** Options of {@link fitMarchenkoPastur}. */
export interface FitMarchenkoPasturOptions {
  /** r = N/M of the matrix W whose X = W Wᵀ produced the eigenvalues. */
  ratio: number;
  /**
   * N (rows of W), used for the Tracy–Widom margin. Default: inferred from the number of
   * nonzero eigenvalues n (N = n for r ≤ 1, N = n·r for r > 1).
   */
  rows?: number;
  /** Edge margin in Tracy–Widom scales for setting spikes aside (default TW₁ 99%: 2.0234). */
  margin?: number;
  /** Bootstrap resamples for `ci` (default 200; 0 disables and gives ci = [NaN, NaN]). */
  bootstrap?: number;
  /** Confidence level of `ci` (default 0.95). */
  confidence?: number;
  /** Seed of the bootstrap resampling (default 0). */
  seed?: number;
  /** Fewest bulk eigenvalues accepted (default 10). */
  minBulk?: number;
}

/** Result of {@link fitMarchenkoPastur}. */
export interface MarchenkoPasturFit {
  /** Fitted σ² (W_ij variance times M); eigenvalue units. */
  variance: number;
  /** √σ². */
  sigma: number;
  ratio: number;
  /** λ₋ = σ²(1 − √r)². */
  lower: number;
  /** λ₊ = σ²(1 + √r)². */
  upper: number;
  /** KS distance between the bulk eigenvalues and MP(σ²) (continuous part). */
  ks: number;
  /** The minimised 1-Wasserstein distance, divided by σ² (dimensionless). */
  wasserstein: number;
  /** Eigenvalues used as bulk. */
  bulkCount: number;
  /** Eigenvalues set aside as spikes (above `threshold`). */
  spikeCount: number;
  /** Exact zeros dropped as the atom (r > 1). */
  zeroCount: number;
  /** λ₊ + margin · TW scale: the spike threshold at the fitted variance. */
  threshold: number;
  /** Bootstrap percentile interval for σ² at the requested confidence. */
  ci: [number, number];
  /** N and M used for the Tracy–Widom margin. */
  rows: number;
  cols: number;
  /** The fitted law. */
  law: MarchenkoPastur;
}

/**
 * σ² minimising Σ q_i |x_i/q_i − σ²|: the weighted median of x_i/q_i with weights q_i (the
 * ratios in ascending order, ties in index order, weights summed in that order until they reach
 * half the total). An index permutation sorted on a typed array: no pair objects to allocate,
 * which the bootstrap's 200 calls per fit made the fit's largest cost. @internal exported for tests.
 */
export function weightedMedianScale(x: ArrayLike<number>, q: Float64Array, idx?: Int32Array): number {
  const n = q.length;
  const ratio = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[idx ? idx[i]! : i]!;
    const w = q[i]!;
    ratio[i] = w > 0 ? xi / w : Infinity;
    total += w;
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // A total order: equal ratios (and Infinity against Infinity, whose difference is NaN) by index.
  order.sort((a, b) => ratio[a]! - ratio[b]! || a - b);
  let acc = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    acc += q[i]!;
    if (acc >= total / 2) return ratio[i]!;
  }
  return ratio[order[n - 1]!]!;
}

/**
 * The midpoint grid Q₁((i + ½)/count), i = 0 … count − 1, of the unit-variance law `unit`: a pure
 * function of (ratio, count), kept for the shapes seen last (a monitor fits the same kernels at
 * every snapshot, and each grid point is a bisection). Read only.
 */
const GRIDS = new Map<string, Float64Array>();
const GRID_CACHE = 32;
function unitGrid(unit: MarchenkoPastur, count: number): Float64Array {
  const key = `${unit.ratio}:${count}`;
  let q = GRIDS.get(key);
  if (q) {
    GRIDS.delete(key); // re-inserted below: most recently used last
  } else {
    q = new Float64Array(count);
    for (let i = 0; i < count; i++) q[i] = unit.bulkQuantile((i + 0.5) / count);
    if (GRIDS.size >= GRID_CACHE) GRIDS.delete(GRIDS.keys().next().value!);
  }
  GRIDS.set(key, q);
  return q;
}

/**
 * Fits the MP bulk variance σ² to eigenvalues of X = W Wᵀ (any order; see the module doc for
 * the method). RangeError for NaN/Inf, clearly negative eigenvalues, ratio ≤ 0, fewer than
 * `minBulk` nonzero eigenvalues, or a fit whose bulk would be empty.
 */
export function fitMarchenkoPastur(eigs: NumberArray, options: FitMarchenkoPasturOptions): MarchenkoPasturFit {
  checkObject(options, 'options', 'an options object { ratio }');
  checkOptions('fitMarchenkoPastur', options, FIT_KEYS);
  const r = checkNumber(options.ratio, 'ratio', { min: 0, minExclusive: true });
  const margin = checkNumber(options.margin ?? TRACY_WIDOM_1.q99, 'margin');
  const nboot = checkInteger(options.bootstrap ?? 200, 'bootstrap', { min: 0 });
  const conf = checkNumber(options.confidence ?? 0.95, 'confidence', { min: 0, max: 1, minExclusive: true });
  const seed = checkInteger(options.seed ?? 0, 'seed');
  const minBulk = checkInteger(options.minBulk ?? 10, 'minBulk', { min: 2 });
  const all = sortedFinite(eigs, 'eigs', 1);
  const top = all[all.length - 1]!;
  if (!(top > 0)) throw new RangeError(expected('a spectrum with a positive eigenvalue', 'eigs', eigs));
  const tol = 1e-10 * top;
  if (all[0]! < -tol)
    throw new RangeError(expected('eigenvalues ≥ 0 (X = W Wᵀ is positive semidefinite)', 'eigs[0]', all[0]));
  let start = 0;
  if (r > 1) while (start < all.length && all[start]! <= tol) start++;
  const v = all.subarray(start);
  const n = v.length;
  if (n < minBulk) throw new RangeError(expected(`at least ${minBulk} nonzero eigenvalues`, 'eigs', eigs));
  const rows =
    options.rows !== undefined ? checkInteger(options.rows, 'rows', { min: 1 }) : Math.round(r <= 1 ? n : n * r);
  const cols = Math.max(2, Math.round(rows / r));
  const unit = marchenkoPastur({ ratio: r, variance: 1 });
  const twUnit = tracyWidomScale({ rows, cols, variance: 1 });
  const gridFor = (count: number): Float64Array => unitGrid(unit, count);
  const thresholdFor = (s2: number): number => s2 * (unit.upper + margin * twUnit);
  const countAbove = (t: number): number => {
    let k = 0;
    while (k < n && v[n - 1 - k]! > t) k++;
    return k;
  };

  let s2 = median(v) / unit.bulkQuantile(0.5);
  let k = -1;
  // Set by the first iteration, which always runs (k = −1 never equals a count): the grid of the
  // final bulk, n − k points.
  let grid: Float64Array = new Float64Array(0);
  for (let it = 0; it < 50; it++) {
    const kNew = countAbove(thresholdFor(s2));
    if (kNew === k) break;
    k = kNew;
    if (n - k < minBulk) {
      throw new RangeError(
        expected(`at least ${minBulk} bulk eigenvalues below the fitted MP edge`, 'eigs', eigs) +
          ` (only ${n - k} of ${n} are below it)`,
      );
    }
    grid = gridFor(n - k);
    s2 = weightedMedianScale(v, grid);
  }
  const bulkCount = n - k;
  const bulk = v.subarray(0, bulkCount);
  const law = marchenkoPastur({ ratio: r, variance: s2 });
  const ks = ksDistance(bulk, (x) => law.bulkCdf(x));
  let w1 = 0;
  for (let i = 0; i < bulkCount; i++) w1 += Math.abs(bulk[i]! - s2 * grid[i]!);
  w1 /= bulkCount * s2;

  let ci: [number, number] = [NaN, NaN];
  if (nboot > 0) {
    const rng = new Rng(seed, 0x6d70);
    const est = new Float64Array(nboot);
    const sample = new Float64Array(bulkCount);
    for (let b = 0; b < nboot; b++) {
      for (let i = 0; i < bulkCount; i++) sample[i] = bulk[rng.int(bulkCount)]!;
      sample.sort();
      est[b] = weightedMedianScale(sample, grid);
    }
    est.sort();
    ci = [quantileSorted(est, (1 - conf) / 2), quantileSorted(est, 1 - (1 - conf) / 2)];
  }
  return {
    variance: s2,
    sigma: Math.sqrt(s2),
    ratio: r,
    lower: law.lower,
    upper: law.upper,
    ks,
    wasserstein: w1,
    bulkCount,
    spikeCount: k,
    zeroCount: start,
    threshold: thresholdFor(s2),
    ci,
    rows,
    cols,
    law,
  };
}
