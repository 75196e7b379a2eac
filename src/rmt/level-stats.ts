/**
 * Level statistics of a spectrum: the gap ratio, unfolding, and nearest-neighbour spacings
 * against the Wigner surmises (β = 1 GOE, 2 GUE, 4 GSE) and Poisson.
 *
 * - Gap ratio (Oganesyan & Huse, PRB 75 (2007) 155111): with consecutive spacings
 *   s_i = λ_{i+1} − λ_i of the ascending levels, r̃_i = min(s_i, s_{i+1})/max(s_i, s_{i+1}).
 *   Needs no unfolding. References (Atas et al., PRL 110 (2013) 084101): Poisson 2 ln 2 − 1 =
 *   0.38629, GOE 0.5307, GUE 0.5996, GSE 0.6744.
 * - Unfolding maps levels λ_i to ξ_i = n·F(λ_i), F a smooth CDF of the density (the MP law, or
 *   a polynomial fit to the staircase), so unfolded spacings have mean 1.
 * - Wigner surmise P_β(s) = a_β s^β exp(−b_β s²) with unit mean; Poisson P(s) = e^(−s).
 */
import { expected } from '../errors.js';
import { fitMarchenkoPastur } from './fit.js';
import { marchenkoPastur } from './marchenko-pastur.js';
import { erf, histogram, ksDistance, type NumberArray } from '../stats.js';
import { checkInteger, checkNumber, checkObject, checkOneOf, checkOptions, sortedFinite } from '../validate.js';

const UNFOLD_MP_KEYS = ['by', 'ratio', 'variance'] as const;
const UNFOLD_POLY_KEYS = ['by', 'degree'] as const;
const SPACING_KEYS = ['trim', 'bins', 'maxSpacing'] as const;

/** Reference mean gap ratios ⟨r̃⟩ (Atas et al. 2013). Dimensionless. */
export const GAP_RATIO = {
  poisson: 2 * Math.LN2 - 1,
  goe: 0.5307,
  gue: 0.5996,
  gse: 0.6744,
} as const;

/**
 * Mean gap ratio ⟨min(s_i, s_{i+1})/max(s_i, s_{i+1})⟩ over consecutive spacings of the
 * levels (any order; sorted here). Pairs with both spacings 0 (exact degeneracies) are
 * skipped. RangeError for NaN/Inf or fewer than 3 levels.
 */
export function gapRatio(eigs: NumberArray): number {
  const x = sortedFinite(eigs, 'eigs', 3);
  let sum = 0,
    count = 0;
  for (let i = 0; i + 2 < x.length; i++) {
    const a = x[i + 1]! - x[i]!,
      b = x[i + 2]! - x[i + 1]!;
    const hi = Math.max(a, b);
    if (hi > 0) {
      sum += Math.min(a, b) / hi;
      count++;
    }
  }
  if (count === 0) throw new RangeError(expected('levels that are not all degenerate', 'eigs', eigs));
  return sum / count;
}

/** How to unfold: by the MP law of X = W Wᵀ, or by a polynomial fit to the staircase. */
export type UnfoldOptions =
  | {
      by: 'mp';
      /** r = N/M. */
      ratio: number;
      /** σ² of the MP law; default: {@link fitMarchenkoPastur} on the levels. */
      variance?: number;
    }
  | {
      by: 'polynomial';
      /** Polynomial degree (Chebyshev basis on the level range), default 7. */
      degree?: number;
    };

/** Least-squares fit of y ≈ Σ c_k T_k(t) (Chebyshev), solved by Householder QR. */
function chebyshevFit(t: Float64Array, y: Float64Array, degree: number): Float64Array {
  const n = t.length,
    p = degree + 1;
  const a = new Float64Array(n * p); // column-major n x p
  for (let i = 0; i < n; i++) {
    let t0 = 1,
      t1 = t[i]!;
    a[i] = 1;
    if (p > 1) a[n + i] = t1;
    for (let k = 2; k < p; k++) {
      const t2 = 2 * t[i]! * t1 - t0;
      a[k * n + i] = t2;
      t0 = t1;
      t1 = t2;
    }
  }
  const b = Float64Array.from(y);
  for (let k = 0; k < p; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[k * n + i]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = a[k * n + k]! > 0 ? -norm : norm;
    a[k * n + k]! -= alpha;
    let vnorm = 0;
    for (let i = k; i < n; i++) vnorm += a[k * n + i]! ** 2;
    const apply = (col: Float64Array, off: number): void => {
      let dot = 0;
      for (let i = k; i < n; i++) dot += a[k * n + i]! * col[off + i]!;
      const f = (2 * dot) / vnorm;
      for (let i = k; i < n; i++) col[off + i]! -= f * a[k * n + i]!;
    };
    for (let j = k + 1; j < p; j++) apply(a, j * n);
    apply(b, 0);
    a[k * n + k] = alpha; // R diagonal (below-diagonal part no longer needed for this column)
  }
  const c = new Float64Array(p);
  for (let k = p - 1; k >= 0; k--) {
    let s = b[k]!;
    for (let j = k + 1; j < p; j++) s -= a[j * n + k]! * c[j]!;
    c[k] = a[k * n + k] !== 0 ? s / a[k * n + k]! : 0;
  }
  return c;
}

/**
 * Unfolds levels (any order) to ξ_i, ascending, with mean spacing ≈ 1: ξ_i = n·F(λ_i).
 * `by: 'mp'` uses the continuous MP CDF of the nonzero eigenvalues of X = W Wᵀ (for r > 1 the
 * exact zeros, ≤ 1e-10 · λ_max, are dropped first, so the result has min(N, M) levels); `by: 'polynomial'` fits a Chebyshev polynomial of `degree` to the
 * staircase (λ_(i), i + ½) by least squares. RangeError for NaN/Inf, too few levels (at least
 * degree + 2, and 10 for MP) or bad options.
 */
export function unfold(eigs: NumberArray, options: UnfoldOptions): Float64Array {
  checkObject(options, 'options', "an options object { by: 'mp' | 'polynomial' }");
  checkOneOf(options.by, 'options.by', ['mp', 'polynomial']);
  checkOptions('unfold', options, options.by === 'mp' ? UNFOLD_MP_KEYS : UNFOLD_POLY_KEYS);
  if (options.by === 'mp') {
    let x = sortedFinite(eigs, 'eigs', 10);
    // r > 1: drop the exact zeros of W Wᵀ (the atom), keeping the nonzero levels.
    const top = x[x.length - 1]!;
    if (options.ratio > 1) x = x.filter((v) => v > 1e-10 * top);
    if (x.length < 10) throw new RangeError(expected('at least 10 nonzero levels', 'eigs', eigs));
    const variance = options.variance ?? fitMarchenkoPastur(x, { ratio: options.ratio, bootstrap: 0 }).variance;
    const law = marchenkoPastur({ ratio: options.ratio, variance });
    const n = x.length;
    return x.map((v) => n * law.bulkCdf(v));
  }
  const degree = checkInteger(options.degree ?? 7, 'degree', { min: 1, max: 30 });
  const x = sortedFinite(eigs, 'eigs', degree + 2);
  const n = x.length;
  const lo = x[0]!,
    hi = x[n - 1]!;
  if (!(hi > lo)) throw new RangeError(expected('levels that are not all equal', 'eigs', eigs));
  const t = x.map((v) => (2 * (v - lo)) / (hi - lo) - 1);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = i + 0.5;
  const c = chebyshevFit(t, y, degree);
  return t.map((ti) => {
    let t0 = 1,
      t1 = ti,
      s = c[0]!;
    if (degree >= 1) s += c[1]! * t1;
    for (let k = 2; k <= degree; k++) {
      const t2 = 2 * ti * t1 - t0;
      s += c[k]! * t2;
      t0 = t1;
      t1 = t2;
    }
    return s;
  });
}

/** A spacing law with unit mean: density and CDF. */
export interface SpacingLaw {
  /** Probability density at spacing s ≥ 0. */
  pdf(s: number): number;
  /** Cumulative probability P(S ≤ s). */
  cdf(s: number): number;
}

/**
 * The Wigner surmise for Dyson index β ∈ {1, 2, 4} (unit mean spacing):
 * β = 1: (π/2) s e^(−πs²/4); β = 2: (32/π²) s² e^(−4s²/π);
 * β = 4: (2¹⁸/(3⁶π³)) s⁴ e^(−64s²/(9π)). CDFs in closed form (via erf).
 */
export function wignerSurmise(beta: 1 | 2 | 4): SpacingLaw {
  checkOneOf(beta, 'beta', [1, 2, 4]);
  if (beta === 1) {
    return {
      pdf: (s) => (s < 0 ? 0 : (Math.PI / 2) * s * Math.exp((-Math.PI * s * s) / 4)),
      cdf: (s) => (s <= 0 ? 0 : 1 - Math.exp((-Math.PI * s * s) / 4)),
    };
  }
  if (beta === 2) {
    const a = 4 / Math.PI;
    return {
      pdf: (s) => (s < 0 ? 0 : (32 / Math.PI ** 2) * s * s * Math.exp(-a * s * s)),
      cdf: (s) => (s <= 0 ? 0 : erf(Math.sqrt(a) * s) - ((4 * s) / Math.PI) * Math.exp(-a * s * s)),
    };
  }
  // β = 4.
  const a = 64 / (9 * Math.PI),
    c = 2 ** 18 / (3 ** 6 * Math.PI ** 3);
  return {
    pdf: (s) => (s < 0 ? 0 : c * s ** 4 * Math.exp(-a * s * s)),
    // ∫₀ˢ x⁴e^{−ax²}dx = 3√π/(8a^{5/2}) erf(√a s) − e^{−as²}(s³/(2a) + 3s/(4a²))
    cdf: (s) =>
      s <= 0
        ? 0
        : c *
          (((3 * Math.sqrt(Math.PI)) / (8 * a ** 2.5)) * erf(Math.sqrt(a) * s) -
            Math.exp(-a * s * s) * (s ** 3 / (2 * a) + (3 * s) / (4 * a * a))),
  };
}

/** The Poisson (uncorrelated levels) spacing law e^(−s). */
export const poissonSpacing: SpacingLaw = {
  pdf: (s) => (s < 0 ? 0 : Math.exp(-s)),
  cdf: (s) => (s <= 0 ? 0 : 1 - Math.exp(-s)),
};

/** Options of {@link levelSpacings}. */
export type LevelSpacingOptions = UnfoldOptions & {
  /** Fraction of levels dropped at each end of each spectrum before taking spacings (default 0.1). */
  trim?: number;
  /** Histogram bins on [0, maxSpacing] (default 30). */
  bins?: number;
  /** Histogram range upper end in mean spacings (default 4). */
  maxSpacing?: number;
};

/** Result of {@link levelSpacings}. */
export interface LevelSpacings {
  /** Unfolded nearest-neighbour spacings, rescaled to mean 1 (pooled over spectra). */
  spacings: Float64Array;
  /** Histogram of the spacings (density per unit spacing). */
  histogram: { edges: Float64Array; density: Float64Array; centres: Float64Array };
  /** Reference densities at the bin centres. */
  reference: { goe: Float64Array; gue: Float64Array; gse: Float64Array; poisson: Float64Array };
  /** KS distance of the spacings to each reference law. */
  ks: { goe: number; gue: number; gse: number; poisson: number };
  /** Mean gap ratio of the (trimmed) levels, pooled. */
  gapRatio: number;
}

/**
 * Nearest-neighbour spacing distribution of one spectrum or several (an array of spectra,
 * each unfolded separately and then pooled), against the Wigner surmises and Poisson, with KS
 * distances to each. Levels are unfolded with {@link unfold}, the outer `trim` fraction at each
 * end is dropped, and spacings are rescaled to mean exactly 1.
 */
export function levelSpacings(eigs: NumberArray | NumberArray[], options: LevelSpacingOptions): LevelSpacings {
  checkObject(options, 'options', 'an options object');
  checkOneOf(options.by, 'options.by', ['mp', 'polynomial']);
  checkOptions('levelSpacings', options, [
    ...(options.by === 'mp' ? UNFOLD_MP_KEYS : UNFOLD_POLY_KEYS),
    ...SPACING_KEYS,
  ]);
  const trim = checkNumber(options.trim ?? 0.1, 'trim', { min: 0, max: 0.45 });
  const bins = checkInteger(options.bins ?? 30, 'bins', { min: 1 });
  const smax = checkNumber(options.maxSpacing ?? 4, 'maxSpacing', { min: 0, minExclusive: true });
  const { trim: _trim, bins: _bins, maxSpacing: _maxSpacing, ...unfoldOptions } = options;
  const spectra: NumberArray[] =
    Array.isArray(eigs) && eigs.length > 0 && typeof eigs[0] !== 'number'
      ? (eigs as NumberArray[])
      : [eigs as NumberArray];
  const pooled: number[] = [];
  let grSum = 0,
    grCount = 0;
  spectra.forEach((spec, k) => {
    const xi = unfold(spec, unfoldOptions as UnfoldOptions);
    const lo = Math.floor(trim * xi.length),
      hi = xi.length - lo;
    if (hi - lo < 3)
      throw new RangeError(
        expected('at least 3 levels after trimming', spectra.length > 1 ? `eigs[${k}]` : 'eigs', spec),
      );
    for (let i = lo; i + 1 < hi; i++) pooled.push(xi[i + 1]! - xi[i]!);
    for (let i = lo; i + 2 < hi; i++) {
      const a = xi[i + 1]! - xi[i]!,
        b = xi[i + 2]! - xi[i + 1]!;
      const m = Math.max(a, b);
      if (m > 0) {
        grSum += Math.min(a, b) / m;
        grCount++;
      }
    }
  });
  const s = Float64Array.from(pooled);
  let meanS = 0;
  for (const v of s) meanS += v;
  meanS /= s.length;
  if (!(meanS > 0)) throw new RangeError(expected('levels with positive spacings', 'eigs', eigs));
  for (let i = 0; i < s.length; i++) s[i]! /= meanS;
  s.sort();
  const h = histogram(s, bins, 0, smax);
  const centres = new Float64Array(bins);
  for (let b = 0; b < bins; b++) centres[b] = 0.5 * (h.edges[b]! + h.edges[b + 1]!);
  const laws = { goe: wignerSurmise(1), gue: wignerSurmise(2), gse: wignerSurmise(4), poisson: poissonSpacing };
  return {
    spacings: s,
    histogram: { edges: h.edges, density: h.density, centres },
    reference: {
      goe: centres.map(laws.goe.pdf),
      gue: centres.map(laws.gue.pdf),
      gse: centres.map(laws.gse.pdf),
      poisson: centres.map(laws.poisson.pdf),
    },
    ks: {
      goe: ksDistance(s, laws.goe.cdf),
      gue: ksDistance(s, laws.gue.cdf),
      gse: ksDistance(s, laws.gse.cdf),
      poisson: ksDistance(s, laws.poisson.cdf),
    },
    gapRatio: grCount > 0 ? grSum / grCount : NaN,
  };
}
