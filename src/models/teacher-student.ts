/**
 * Closed forms of the linear teacher–student model.
 *
 * Student W (N x M, r = N/M) initialised with W₀_ij ~ N(0, σ_W²/M); teacher W* = u vᵀ with
 * |u| = |v| = 1 (singular value 1). Gradient descent with step ε (`lr`) on the population
 * loss ½ E‖(W* − W)x‖², x ~ N(0, I_M), has gradient W − W*, so after t steps
 *
 *   W_t = (1 − ε)^t W₀ + [1 − (1 − ε)^t] W*,
 *
 * an information-plus-noise matrix with noise variance s_t² = A σ_W², A = (1 − ε)^{2t}, and
 * signal power θ_t² = B = (1 − (1 − ε)^t)², i.e. signal-to-noise τ_t = B/(A σ_W²). All
 * eigenvalues refer to X = W_t W_tᵀ (N x N). The outlier exists when τ_t > √r (the BBP
 * threshold: Baik, Ben Arous & Péché 2005; for information-plus-noise matrices Benaych-Georges &
 * Nadakuditi 2012). Reference: Park, Bocchi, D'Amico, Lucini & Aarts 2026, arXiv:2606.28486
 * (code: github.com/f-damico/BBP_in_SGD, notebook 0.Linear_model).
 */
import { expected } from '../errors.js';
import { checkInteger, checkNumber, checkObject } from '../validate.js';

/** The trainability phases of the (1/σ_W, ε) diagram. */
export type TeacherStudentPhase = 'disordered' | 'ferromagnetic' | 'paramagnetic';

/** Model point: σ_W (init scale, W₀_ij ~ N(0, σ_W²/M)), r = N/M, step ε, integer steps t. */
export interface LinearPoint {
  sigmaW: number;
  ratio: number;
  lr: number;
  /** Number of GD steps (default 1). Non-integer t is allowed only for lr ≤ 1. */
  t?: number;
}

function checkPoint(p: LinearPoint): { sigmaW: number; ratio: number; lr: number; t: number } {
  checkObject(p, 'params', 'an object { sigmaW, ratio, lr, t }');
  const sigmaW = checkNumber(p.sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  const ratio = checkNumber(p.ratio, 'ratio', { min: 0, minExclusive: true });
  const lr = checkNumber(p.lr, 'lr', { min: 0 });
  const t = checkNumber(p.t ?? 1, 't', { min: 0 });
  if (lr > 1 && !Number.isInteger(t)) throw new RangeError(expected('an integer number of steps when lr > 1', 't', t));
  return { sigmaW, ratio, lr, t };
}

/** A = (1 − ε)^{2t}: the factor on the initial noise variance. */
function varianceFactor(lr: number, t: number): number {
  return (1 - lr) ** (2 * t);
}
/** B = (1 − (1 − ε)^t)²: the signal power θ_t². */
function signalFactor(lr: number, t: number): number {
  return (1 - (1 - lr) ** t) ** 2;
}

/** Closed forms of the linear teacher–student model; see the module doc for the setting. */
export const linearTeacherStudent = {
  /** Noise variance s_t² = (1 − ε)^{2t} σ_W² of W_t (entries have variance s_t²/M). */
  noiseVariance(p: LinearPoint): number {
    const { sigmaW, lr, t } = checkPoint(p);
    return varianceFactor(lr, t) * sigmaW * sigmaW;
  },
  /** Signal power θ_t² = (1 − (1 − ε)^t)² (teacher singular value 1). */
  signal(p: LinearPoint): number {
    const { lr, t } = checkPoint(p);
    return signalFactor(lr, t);
  },
  /** Signal-to-noise τ_t = θ_t²/s_t² (Infinity at ε = 1, where the noise is removed). */
  snr(p: LinearPoint): number {
    const { sigmaW, lr, t } = checkPoint(p);
    const a = varianceFactor(lr, t) * sigmaW * sigmaW,
      b = signalFactor(lr, t);
    return a === 0 ? (b > 0 ? Infinity : 0) : b / a;
  },
  /** MP bulk edge of X = W_t W_tᵀ: λ₊(t) = (1 − ε)^{2t} σ_W² (1 + √r)². */
  bulkEdge(p: LinearPoint): number {
    const { sigmaW, ratio, lr, t } = checkPoint(p);
    return varianceFactor(lr, t) * sigmaW * sigmaW * (1 + Math.sqrt(ratio)) ** 2;
  },
  /**
   * BBP outlier of X = W_t W_tᵀ: λ_iso(t) = (B + r A σ_W²)(B + A σ_W²)/B; NaN when there is
   * no outlier (τ_t ≤ √r).
   */
  outlier(p: LinearPoint): number {
    const { sigmaW, ratio, lr, t } = checkPoint(p);
    const a = varianceFactor(lr, t) * sigmaW * sigmaW,
      b = signalFactor(lr, t);
    if (!(b > Math.sqrt(ratio) * a)) return NaN;
    return ((b + ratio * a) * (b + a)) / b;
  },
  /** Largest eigenvalue of X in the large-N limit: the outlier if present, else the bulk edge. */
  lambdaMax(p: LinearPoint): number {
    const o = linearTeacherStudent.outlier(p);
    return Number.isNaN(o) ? linearTeacherStudent.bulkEdge(p) : o;
  },
  /** q²(t) = (top eigenvector of W_t W_tᵀ · u)² = (1 − r/τ²)/(1 + r/τ) above threshold, else 0. */
  overlap(p: LinearPoint): number {
    const { sigmaW, ratio, lr, t } = checkPoint(p);
    const a = varianceFactor(lr, t) * sigmaW * sigmaW,
      b = signalFactor(lr, t);
    if (!(b > Math.sqrt(ratio) * a)) return 0;
    if (a === 0) return 1;
    const tau = b / a;
    return (1 - ratio / (tau * tau)) / (1 + ratio / tau);
  },
  /**
   * Lower critical step (the BBP line): ε_c = 1 − (1 + σ_W r^{1/4})^{−1/t}; for t = 1,
   * σ_W r^{1/4}/(1 + σ_W r^{1/4}). An outlier exists at step t for ε_c < ε ≤ 1.
   */
  criticalStep({ sigmaW, ratio, t = 1 }: { sigmaW: number; ratio: number; t?: number }): number {
    const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
    const tt = checkNumber(t, 't', { min: 0, minExclusive: true });
    return 1 - (1 + s * r ** 0.25) ** (-1 / tt);
  },
  /**
   * Upper critical step: the smallest ε > 1 at which the outlier disappears again (integer
   * t ≥ 1). With a = σ_W r^{1/4}: odd t, 1 + (a − 1)^{−1/t} if a > 1, else Infinity (for t = 1
   * this is a/(a − 1), the notebook's ε_c⁺); even t, 1 + (1 + a)^{−1/t} (around ε = 2 the
   * weights return towards W₀).
   */
  upperCriticalStep({ sigmaW, ratio, t = 1 }: { sigmaW: number; ratio: number; t?: number }): number {
    const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
    const tt = checkInteger(t, 't', { min: 1 });
    const a = s * r ** 0.25;
    if (tt % 2 === 1) return a > 1 ? 1 + (a - 1) ** (-1 / tt) : Infinity;
    return 1 + (1 + a) ** (-1 / tt);
  },
  /**
   * Every interval of ε ≥ 0 in which the outlier exists at step t (integer t ≥ 1), ascending,
   * as [lo, hi] pairs (hi may be Infinity); their endpoints are all the vanishing points of
   * the ordered region. With a = σ_W r^{1/4} and x = 1 − ε the condition is
   * |1 − x^t| > a|x|^t. Odd t: (ε_c, ε_c⁺) with ε_c⁺ = 1 + (a − 1)^{−1/t} (Infinity if a ≤ 1).
   * Even t: (1 − c, 1 + c) with c = (1 + a)^{−1/t}, and, if a < 1, again (1 + (1 − a)^{−1/t}, ∞):
   * beyond ε = 2 the factor (1 − ε)^t grows and the signal 1 − (1 − ε)^t outgrows it (e.g.
   * σ_W = 0.5, r = 0.5, t = 2: ε > 2.3136).
   */
  orderedIntervals({ sigmaW, ratio, t = 1 }: { sigmaW: number; ratio: number; t?: number }): Array<[number, number]> {
    const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
    const tt = checkInteger(t, 't', { min: 1 });
    const a = s * r ** 0.25;
    if (tt % 2 === 1) return [[1 - (1 + a) ** (-1 / tt), a > 1 ? 1 + (a - 1) ** (-1 / tt) : Infinity]];
    const c = (1 + a) ** (-1 / tt);
    const out: Array<[number, number]> = [[1 - c, 1 + c]];
    if (a < 1) out.push([1 + (1 - a) ** (-1 / tt), Infinity]);
    return out;
  },
  /** The "optimal" step ε_o = 1: one step removes the bulk (W₁ = W*). */
  optimalStep: 1 as const,
  /**
   * Critical time: the (real) number of steps after which the outlier appears at step
   * ε ∈ (0, 1): t_c = −ln(1 + σ_W r^{1/4})/ln(1 − ε); the first outlier step is ⌈t_c⌉.
   */
  criticalTime({ sigmaW, ratio, lr }: { sigmaW: number; ratio: number; lr: number }): number {
    const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
    const e = checkNumber(lr, 'lr', { min: 0, max: 1, minExclusive: true, maxExclusive: true });
    return -Math.log(1 + s * r ** 0.25) / Math.log(1 - e);
  },
  /**
   * Phase at step t: 'disordered' without an outlier (τ_t ≤ √r); with one, 'ferromagnetic'
   * for ε ≤ ε_o = 1 and 'paramagnetic' for ε > 1 (the step overshoots; the bulk factor 1 − ε
   * changes sign).
   */
  phase(p: LinearPoint): TeacherStudentPhase {
    const { sigmaW, ratio, lr, t } = checkPoint(p);
    const a = varianceFactor(lr, t) * sigmaW * sigmaW,
      b = signalFactor(lr, t);
    if (!(b > Math.sqrt(ratio) * a)) return 'disordered';
    return lr <= 1 ? 'ferromagnetic' : 'paramagnetic';
  },
};
