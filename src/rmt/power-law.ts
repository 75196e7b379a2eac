/**
 * Power-law tail fit of an eigenvalue distribution (the empirical spectral density of
 * X = W Wᵀ, or any positive sample): p(λ) ∝ λ^(−α) for λ ≥ x_min. This is the `alpha` of
 * WeightWatcher / heavy-tailed self-regularisation (Martin & Mahoney, JMLR 22 (2021) 165).
 *
 * Method (Clauset, Shalizi & Newman, SIAM Rev. 51 (2009) 661): for each candidate x_min (an
 * observed value), the continuous maximum-likelihood exponent α̂ = 1 + n / Σ ln(λ_i/x_min)
 * over the n values ≥ x_min, and the KS distance D between those values and the fitted
 * Pareto CDF 1 − (λ/x_min)^(1−α̂); the x_min with the smallest D wins.
 */
import { expected } from '../errors.js';
import type { NumberArray } from '../stats.js';
import { checkInteger, checkNumber, checkOneOf, checkOptions, sortedFinite } from '../validate.js';
import { optionKeys } from './options.js';

const POWER_LAW_KEYS = optionKeys<PowerLawOptions>({ xmin: true, minTail: true, maxCandidates: true, ksSide: true });

/** Options of {@link powerLawFit}. */
export interface PowerLawOptions {
  /** Fix x_min instead of scanning (values ≥ xmin form the tail). */
  xmin?: number;
  /** Smallest tail size considered (default 10). */
  minTail?: number;
  /** At most this many candidate x_min, evenly spaced in rank (default 2000). */
  maxCandidates?: number;
  /**
   * Where the empirical CDF is compared with the fitted one: `both` (default) sides of each of
   * its steps, the proper KS distance; `lower` only below each step, k/n at the k-th tail value
   * (WeightWatcher's D, which is never larger).
   */
  ksSide?: 'both' | 'lower';
}

/** Result of {@link powerLawFit}. */
export interface PowerLawFit {
  /** Exponent α of the density p(λ) ∝ λ^(−α) (> 1). */
  alpha: number;
  /** Lower cut-off of the tail (same units as the input). */
  xmin: number;
  /** Largest value. */
  xmax: number;
  /** KS distance between tail and fitted Pareto law (Clauset's D). */
  ks: number;
  /** Number of values ≥ xmin. */
  tailCount: number;
  /** Asymptotic standard error of α: (α − 1)/√n. */
  sigma: number;
}

/**
 * Clauset-style MLE of the tail exponent α with the KS-optimal x_min (see module doc). Values
 * ≤ 0 (e.g. the exact zeros of W Wᵀ when N > M) are ignored. RangeError for NaN/Inf input or
 * fewer than `minTail` positive values.
 */
export function powerLawFit(eigs: NumberArray, options: PowerLawOptions = {}): PowerLawFit {
  checkOptions('powerLawFit', options, POWER_LAW_KEYS);
  options ??= {};
  const minTail = checkInteger(options.minTail ?? 10, 'minTail', { min: 2 });
  const maxCand = checkInteger(options.maxCandidates ?? 2000, 'maxCandidates', { min: 1 });
  const both = checkOneOf(options.ksSide ?? 'both', 'ksSide', ['both', 'lower']) === 'both';
  const all = sortedFinite(eigs, 'eigs', 1);
  let first = 0;
  while (first < all.length && all[first]! <= 0) first++;
  const x = all.subarray(first);
  const n = x.length;
  if (n < minTail) throw new RangeError(expected(`at least ${minTail} positive values`, 'eigs', eigs));
  // Suffix sums of ln x for O(1) MLE per candidate.
  const logs = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) logs[i] = logs[i + 1]! + Math.log(x[i]!);

  // The fit at candidate i. `bound`: the best D so far; the scan of the tail stops once D
  // exceeds it (D only grows along the tail, so such a candidate cannot win) and returns the
  // partial D, which is > bound. A candidate that can win or tie is always scanned to the end.
  const fitAt = (i: number, bound: number): { alpha: number; ks: number } => {
    const m = n - i;
    const xm = x[i]!;
    const s = logs[i]! - m * Math.log(xm);
    if (!(s > 0)) return { alpha: NaN, ks: Infinity };
    const alpha = 1 + m / s;
    let d = 0;
    for (let j = i; j < n && d <= bound; j++) {
      const f = 1 - Math.pow(x[j]! / xm, 1 - alpha);
      const k = j - i;
      d = Math.max(d, both ? Math.abs((k + 1) / m - f) : 0, Math.abs(f - k / m));
    }
    return { alpha, ks: d };
  };

  let best = { i: -1, alpha: NaN, ks: Infinity };
  if (options.xmin !== undefined) {
    const xmin = checkNumber(options.xmin, 'xmin', { min: 0, minExclusive: true });
    let i = 0;
    while (i < n && x[i]! < xmin) i++;
    if (n - i < minTail)
      throw new RangeError(expected(`an xmin leaving at least ${minTail} values in the tail`, 'xmin', xmin));
    best = { i, ...fitAt(i, Infinity) };
  } else {
    const last = n - minTail; // largest start index allowed
    const step = Math.max(1, Math.ceil((last + 1) / maxCand));
    // From the shortest tail to the longest: short tails are cheap to scan and set a bound that
    // abandons most longer ones early. A tie goes to the smaller i (the longer tail), the
    // candidate a scan upwards with a strict comparison would keep.
    for (let i = last - (last % step); i >= 0; i -= step) {
      if (i > 0 && x[i] === x[i - 1]) continue; // candidates are distinct values
      const f = fitAt(i, best.ks);
      if (f.ks <= best.ks && Number.isFinite(f.ks)) best = { i, ...f };
    }
  }
  if (best.i < 0 || !Number.isFinite(best.alpha)) {
    throw new RangeError(expected('values with a non-degenerate tail (not all equal)', 'eigs', eigs));
  }
  const tailCount = n - best.i;
  return {
    alpha: best.alpha,
    xmin: x[best.i]!,
    xmax: x[n - 1]!,
    ks: best.ks,
    tailCount,
    sigma: (best.alpha - 1) / Math.sqrt(tailCount),
  };
}
