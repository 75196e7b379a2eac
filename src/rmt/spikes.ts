/**
 * BBP (Baik–Ben Arous–Péché) spikes of X = W Wᵀ for the information-plus-noise model
 * W = θ u vᵀ + Z, with W N x M, r = N/M, Z_ij i.i.d. of variance σ²/M, |u| = |v| = 1.
 * The signal-to-noise ratio is τ = θ²/σ² (dimensionless).
 *
 * - An outlier separates from the MP bulk iff τ > √r (the BBP threshold).
 * - Its location is λ_iso = σ²(1 + τ)(τ + r)/τ (≥ λ₊ = σ²(1 + √r)², equal at τ = √r).
 * - The squared overlap of the top eigenvector of W Wᵀ with u is
 *   q² = (1 − r/τ²)/(1 + r/τ) (0 below threshold); with v (top right singular vector of W)
 *   it is 1 − (r + τ)/(τ(τ + 1)).
 *
 * References: Baik, Ben Arous & Péché, Ann. Probab. 33 (2005) 1643; Benaych-Georges &
 * Nadakuditi, Adv. Math. 227 (2011) 494 and J. Multivariate Anal. 111 (2012) 120; for
 * weight matrices during training, Park, Bocchi, D'Amico, Lucini and Aarts (2026). Edge fluctuations: Johnstone, Ann. Statist. 29 (2001) 295.
 */
import type { NumberArray } from '../stats.js';
import { checkInteger, checkNumber, checkObject, checkOneOf, checkOptions, sortedFinite } from '../validate.js';
import { optionKeys } from './options.js';

const BBP_KEYS = optionKeys<BbpParams>({ snr: true, ratio: true, variance: true });
const OVERLAP_KEYS = ['snr', 'ratio', 'side'] as const;
const INVERT_KEYS = ['ratio', 'variance'] as const;
const TW_KEYS = ['rows', 'cols', 'variance'] as const;
const SPIKE_KEYS = ['rows', 'cols', 'margin'] as const;

/** Quantiles of the GOE (β = 1) Tracy–Widom law TW₁, for the edge margin of {@link detectSpikes}. */
export const TRACY_WIDOM_1 = {
  /** 90% quantile. */
  q90: 0.4501,
  /** 95% quantile. */
  q95: 0.9793,
  /** 99% quantile (the default margin). */
  q99: 2.0234,
} as const;

/** The BBP threshold: the critical signal-to-noise ratio τ_c = √r (r = N/M > 0). */
export function bbpThreshold(ratio: number): number {
  return Math.sqrt(checkNumber(ratio, 'ratio', { min: 0, minExclusive: true }));
}

/** Parameters of the BBP closed forms. */
export interface BbpParams {
  /** τ = θ²/σ² ≥ 0 (signal power over noise variance σ², where Z_ij has variance σ²/M). */
  snr: number;
  /** r = N/M > 0. */
  ratio: number;
  /** σ² > 0 (default 1): sets the eigenvalue scale. */
  variance?: number;
}

/**
 * Location of the BBP outlier of X = W Wᵀ: λ_iso = σ²(1 + τ)(τ + r)/τ, in the units of the
 * eigenvalues of X. NaN below threshold (τ ≤ √r), where no outlier exists.
 */
export function bbpOutlier(params: BbpParams): number {
  checkOptions('bbpOutlier', params, BBP_KEYS);
  const { snr, ratio, variance = 1 } = params;
  const tau = checkNumber(snr, 'snr', { min: 0 });
  const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
  const s2 = checkNumber(variance, 'variance', { min: 0, minExclusive: true });
  if (!(tau > Math.sqrt(r))) return NaN;
  return (s2 * (1 + tau) * (tau + r)) / tau;
}

/**
 * Squared overlap between the top eigenvector of X = W Wᵀ and the spike direction u
 * (`side: 'left'`, default): q² = (1 − r/τ²)/(1 + r/τ); or between the top right singular
 * vector of W and v (`side: 'right'`): 1 − (r + τ)/(τ(τ + 1)). 0 below threshold (τ ≤ √r).
 * Dimensionless, in [0, 1).
 */
export function bbpOverlap(params: { snr: number; ratio: number; side?: 'left' | 'right' }): number {
  checkOptions('bbpOverlap', params, OVERLAP_KEYS);
  const { snr, ratio, side = 'left' } = params;
  const tau = checkNumber(snr, 'snr', { min: 0 });
  const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
  checkOneOf(side, 'side', ['left', 'right']);
  if (!(tau > Math.sqrt(r))) return 0;
  if (tau === Infinity) return 1;
  return side === 'left' ? (1 - r / (tau * tau)) / (1 + r / tau) : 1 - (r + tau) / (tau * (tau + 1));
}

/**
 * Inverts {@link bbpOutlier}: the signal-to-noise ratio τ > √r whose outlier sits at `lambda`
 * (an eigenvalue of X = W Wᵀ): the larger root of τ² + (1 + r − λ/σ²)τ + r = 0. Returns NaN
 * when lambda ≤ λ₊ = σ²(1 + √r)² (inside the bulk: no spike can be inferred). The signal
 * strength itself is θ = √(τ σ²).
 */
export function invertBbpOutlier(lambda: number, params: { ratio: number; variance?: number }): number {
  checkOptions('invertBbpOutlier', params, INVERT_KEYS);
  const { ratio, variance = 1 } = params;
  const lam = checkNumber(lambda, 'lambda', { min: 0 });
  const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
  const s2 = checkNumber(variance, 'variance', { min: 0, minExclusive: true });
  const edge = s2 * (1 + Math.sqrt(r)) ** 2;
  if (!(lam > edge)) return NaN;
  const b = lam / s2 - 1 - r;
  return 0.5 * (b + Math.sqrt(Math.max(0, b * b - 4 * r)));
}

/**
 * Tracy–Widom scale of the largest eigenvalue of X = W Wᵀ for pure noise (N x M, entries of
 * variance σ²/M), after Johnstone (2001): (σ²/M)(√(M−1) + √N)(1/√(M−1) + 1/√N)^{1/3}, in
 * eigenvalue units. It shrinks as N^{−2/3} relative to the edge.
 */
export function tracyWidomScale(params: { rows: number; cols: number; variance?: number }): number {
  checkOptions('tracyWidomScale', params, TW_KEYS);
  const { rows, cols, variance = 1 } = params;
  const n = checkInteger(rows, 'rows', { min: 1 });
  const m = checkInteger(cols, 'cols', { min: 2 });
  const s2 = checkNumber(variance, 'variance', { min: 0, minExclusive: true });
  const a = Math.sqrt(m - 1),
    b = Math.sqrt(n);
  return (s2 / m) * (a + b) * Math.cbrt(1 / a + 1 / b);
}

/** What {@link detectSpikes} returns. */
export interface Spikes {
  /** Number of eigenvalues above the threshold. */
  count: number;
  /** Those eigenvalues, descending. */
  values: Float64Array;
  /** λ₊ + margin · (Tracy–Widom scale), in eigenvalue units. */
  threshold: number;
  /** The bulk edge λ₊ used. */
  edge: number;
  /** The Tracy–Widom scale used (eigenvalue units). */
  twScale: number;
}

/**
 * Outliers of a spectrum of X = W Wᵀ (eigenvalues in any order): those above the MP edge
 * λ₊ = `fit.upper` plus `margin` Tracy–Widom scales ({@link tracyWidomScale}, with N = rows,
 * M = cols and σ² = fit.variance). The default margin is the 99% quantile of TW₁ (2.0234), so
 * a pure-noise matrix shows a spurious spike with probability ≈ 1%.
 */
export function detectSpikes(
  eigs: NumberArray,
  fit: { upper: number; variance: number },
  options: { rows: number; cols: number; margin?: number },
): Spikes {
  checkOptions('detectSpikes', options, SPIKE_KEYS);
  const { rows, cols, margin = TRACY_WIDOM_1.q99 } = options;
  const sorted = sortedFinite(eigs, 'eigs', 1);
  checkObject(fit, 'fit', 'a fit { upper, variance }');
  const edge = checkNumber(fit.upper, 'fit.upper', { min: 0, minExclusive: true });
  const variance = checkNumber(fit.variance, 'fit.variance', { min: 0, minExclusive: true });
  checkNumber(margin, 'margin');
  const twScale = tracyWidomScale({ rows, cols, variance });
  const threshold = edge + margin * twScale;
  let i = sorted.length;
  while (i > 0 && sorted[i - 1]! > threshold) i--;
  const values = sorted.slice(i).reverse();
  return { count: values.length, values, threshold, edge, twScale };
}
