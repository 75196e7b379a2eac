/**
 * The Marchenko–Pastur (MP) law for the eigenvalues of X = W Wᵀ.
 *
 * Convention (used throughout specdyn's rmt/ and models/): W is N x M (rows = outputs,
 * M = fan-in; a tfjs Dense kernel is [in, out], i.e. Wᵀ) with i.i.d. entries of mean 0 and
 * variance σ²/M. The aspect ratio is r = N/M and `variance` is σ². Then the N eigenvalues of
 * X = W Wᵀ (N x N) follow, as N, M → ∞ at fixed r,
 *
 *   ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2π σ² r λ)   on [λ₋, λ₊],   λ± = σ²(1 ± √r)²,
 *
 * plus a point mass (1 − 1/r) at λ = 0 when r > 1 (N − M eigenvalues of W Wᵀ are exactly 0).
 * The mean eigenvalue is σ². Reference: Marchenko & Pastur, Math. USSR-Sb. 1 (1967) 457.
 */
import { checkNumber, checkObject, checkOptions } from '../validate.js';
import { optionKeys } from './options.js';

const MP_KEYS = optionKeys<MarchenkoPasturParams>({ ratio: true, variance: true });

/** Parameters of {@link marchenkoPastur}. */
export interface MarchenkoPasturParams {
  /** r = N/M > 0 (rows over columns of W; N x N is the size of X = W Wᵀ). */
  ratio: number;
  /** σ² > 0: W_ij has variance σ²/M. Default 1. */
  variance?: number;
}

/** The MP law of the eigenvalues of X = W Wᵀ (see the module doc for the convention). */
export interface MarchenkoPastur {
  /** r = N/M. */
  ratio: number;
  /** σ² (entry variance times M). */
  variance: number;
  /** Lower bulk edge λ₋ = σ²(1 − √r)² (0 when r = 1). */
  lower: number;
  /** Upper bulk edge λ₊ = σ²(1 + √r)². */
  upper: number;
  /** Mass of the point mass at 0: max(0, 1 − 1/r). */
  atom: number;
  /**
   * Density of the continuous part at x (0 outside (λ₋, λ₊)). For r > 1 it integrates to 1/r;
   * the atom at 0 is not included (it is not a density).
   */
  pdf(x: number): number;
  /**
   * P(λ ≤ x), right-continuous: for r > 1 the atom is included from x = 0 on, so
   * cdf(x) = 0 for x < 0, cdf(0) = 1 − 1/r, and cdf rises continuously from there on [λ₋, λ₊].
   * Exact closed form (no quadrature).
   */
  cdf(x: number): number;
  /**
   * Smallest x with cdf(x) ≥ p, p in [0, 1]. For r > 1, every p ≤ 1 − 1/r maps to 0 (the
   * atom); quantile(0) is λ₋ for r ≤ 1 and 0 for r > 1. quantile(1) = λ₊.
   */
  quantile(p: number): number;
  /**
   * Quantile of the continuous (nonzero) part alone, renormalised to mass 1: the law of the
   * min(N, M) nonzero eigenvalues. Equal to quantile(p) when r ≤ 1.
   */
  bulkQuantile(p: number): number;
  /** CDF of the continuous part alone, renormalised to mass 1 (see bulkQuantile). */
  bulkCdf(x: number): number;
}

/**
 * The constants of one law, in units of σ²: λ = σ²(c + d cos θ), θ ∈ [0, π] from λ₊ down to λ₋.
 * The law's functions below take them as an argument instead of closing over them, so that
 * every law shares one compiled copy of each (a fit builds a law per candidate; closures made
 * per law would each be compiled again once hot, and again after every major collection).
 */
interface Shape {
  r: number;
  s2: number;
  lower: number;
  upper: number;
  contMass: number;
  c: number;
  d: number;
  g: number;
  k: number;
}

// Continuous mass below λ(θ): (1/(2πr))[d sin θ − cθ + 2g·atan(k tan(θ/2)) + π(c − g)] − ...
// derived from ∫ sin²θ / (c + d cos θ) dθ; it is contMass at θ = 0 and 0 at θ = π.
function massBelowTheta(q: Shape, theta: number): number {
  const phi = Math.atan2(q.k * Math.sin(theta / 2), Math.cos(theta / 2));
  const v = (q.d * Math.sin(theta) - q.c * theta + 2 * q.g * phi + Math.PI * (q.c - q.g)) / (2 * Math.PI * q.r);
  return Math.min(q.contMass, Math.max(0, v));
}

function contCdf(q: Shape, x: number): number {
  if (x <= q.lower) return 0;
  if (x >= q.upper) return q.contMass;
  const theta = Math.acos(Math.max(-1, Math.min(1, (x / q.s2 - q.c) / q.d)));
  return massBelowTheta(q, theta);
}

/** The θ-bisection for `mass`, a continuous mass in [0, contMass] (massBelowTheta decreases in θ). */
function contQuantile(q: Shape, mass: number): number {
  if (mass <= 0) return q.lower;
  if (mass >= q.contMass) return q.upper;
  let lo = 0,
    hi = Math.PI;
  for (let it = 0; it < 200 && hi - lo > 1e-15; it++) {
    const mid = 0.5 * (lo + hi);
    if (massBelowTheta(q, mid) >= mass) lo = mid;
    else hi = mid;
  }
  const theta = 0.5 * (lo + hi);
  return Math.min(q.upper, Math.max(q.lower, q.s2 * (q.c + q.d * Math.cos(theta))));
}

/**
 * The Marchenko–Pastur law for X = W Wᵀ with r = N/M and W_ij ~ (0, σ²/M); see the module doc.
 * Throws TypeError for non-numbers and RangeError for ratio ≤ 0 or variance ≤ 0 (or non-finite).
 */
export function marchenkoPastur(params: MarchenkoPasturParams): MarchenkoPastur {
  checkObject(params, 'params', 'an object { ratio, variance }');
  checkOptions('marchenkoPastur', params, MP_KEYS);
  const r = checkNumber(params.ratio, 'ratio', { min: 0, minExclusive: true });
  const s2 = checkNumber(params.variance ?? 1, 'variance', { min: 0, minExclusive: true });
  const sr = Math.sqrt(r);
  const lower = s2 * (1 - sr) ** 2;
  const upper = s2 * (1 + sr) ** 2;
  const atom = r > 1 ? 1 - 1 / r : 0;
  const contMass = r > 1 ? 1 / r : 1;
  const q: Shape = {
    r,
    s2,
    lower,
    upper,
    contMass,
    c: 1 + r,
    d: 2 * sr,
    g: Math.abs(1 - r),
    k: Math.abs(1 - sr) / (1 + sr),
  };
  const checkP = (p: number): number => checkNumber(p, 'p', { min: 0, max: 1 });
  return {
    ratio: r,
    variance: s2,
    lower,
    upper,
    atom,
    pdf(x: number): number {
      if (!(x > lower && x < upper)) return 0;
      return Math.sqrt((upper - x) * (x - lower)) / (2 * Math.PI * s2 * r * x);
    },
    cdf(x: number): number {
      if (Number.isNaN(x)) return NaN;
      if (x < 0) return 0;
      return atom + contCdf(q, x);
    },
    quantile(p: number): number {
      checkP(p);
      if (atom > 0 && p <= atom) return 0;
      return contQuantile(q, p - atom);
    },
    bulkQuantile(p: number): number {
      checkP(p);
      return contQuantile(q, p * contMass);
    },
    bulkCdf(x: number): number {
      if (Number.isNaN(x)) return NaN;
      return contCdf(q, x) / contMass;
    },
  };
}
