/**
 * One-step closed forms of the nonlinear teacher–student model ŷ = f(Wx), y = f(W*x) with
 * f = ReLU or tanh, and of the two-layer model (Park, Bocchi, D'Amico, Lucini & Aarts 2026,
 * arXiv:2606.28486; code github.com/f-damico/BBP_in_SGD, notebooks 1.relu, 1.tanh, 2.multi).
 *
 * Linearising the first population GD step in the Gaussian pre-activations (Stein's lemma),
 *
 *   W₁ ≃ (1 − εμ₂) W₀ + εμ₁ W*,   so   X₁ ≃ (1 − εμ₂)² X₀ + ε²μ₁² X*,
 *
 * i.e. the linear one-step formulas with (1 − ε)σ_W → (1 − εμ₂)σ_W and ε → εμ₁, where, for
 * h ~ N(0, σ_W²) (a student pre-activation at initialisation) and h*_a = u_a z (teacher row a),
 *
 *   μ₂ = E[f'(h)² + f(h) f''(h)],   μ₁,a = E[f'(h)]·E_z[f'(u_a z)],   μ̄₁ = mean_a μ₁,a.
 *
 * ReLU: μ₁ = 1/4, μ₂ = 1/2 exactly. tanh: by quadrature (here: composite Simpson rules in h and
 * z). The outlier exists where εμ₁ > σ_W r^{1/4}|1 − εμ₂|; with the teacher-heterogeneity
 * corrections μ̃₁ = Σ_a u_a(μ₁,a − μ̄₁) (tanh) and μ̃₂ = −m/(2πσ_W), m = (N Σ_a u_a⁴ − 1)/(N − 1)
 * (ReLU: the δ(h) term of f'' condensing on the teacher's large components), the boundaries
 * are the positive roots of c₂ε² + c₁ε + c₀ with
 *
 *   c₂ = μ̃₂(μ̃₂ + 2μ̄₂) r σ_W² − μ̄₂² √r σ_W² + (μ̄₁ + μ̃₁)²,
 *   c₁ = 2(μ̄₂ √r − μ̃₂ r) σ_W²,   c₀ = −√r σ_W²,
 *
 * the ordered region being where that quadratic is positive; ε_o = 1/μ̄₂ (the step at which the
 * initial bulk is removed to first order). Example: ReLU, σ_W = 1, r = 0.5, no correction:
 * ε_c = 2^{−1/4}/(1/4 + 2^{−1/4}/2) = 1.2542, ε_c⁺ = 4.9334, ε_o = 2.
 */
import { expected } from '../errors.js';
import { checkNumber, checkObject, checkOneOf } from '../validate.js';
import type { TeacherStudentPhase } from './teacher-student.js';

/** The coefficients of the linearised first step. */
export interface StepCoefficients {
  /** μ̄₁: the signal factor (mean over teacher rows). */
  mu1: number;
  /** μ̄₂: the bulk contraction factor. */
  mu2: number;
  /** μ̃₁ = Σ_a u_a(μ₁,a − μ̄₁) (0 without a teacher vector, and for ReLU and linear). */
  mu1Tilde: number;
  /** μ̃₂ (ReLU: −m/(2πσ_W); 0 otherwise and without a teacher vector). */
  mu2Tilde: number;
}

/** Boundaries of the ordered (outlier) region in ε at one σ_W. */
export interface StepBoundaries {
  /** ε_c: the lowest ε with an outlier (NaN if none). */
  criticalStep: number;
  /** ε_c⁺: where the outlier disappears again (Infinity if never; NaN if no ordered region). */
  upperCriticalStep: number;
  /** ε_o = 1/μ̄₂ (NaN when μ̄₂ ≤ 0). */
  optimalStep: number;
  /** The intervals of ε > 0 with an outlier ([lo, hi], hi may be Infinity). */
  orderedIntervals: Array<[number, number]>;
}

/** Composite Simpson rule of g over [a, b] with an even number of panels. */
function simpson(g: (x: number) => number, a: number, b: number, panels = 4000): number {
  const h = (b - a) / panels;
  let s = g(a) + g(b);
  for (let k = 1; k < panels; k++) s += (k % 2 ? 4 : 2) * g(a + k * h);
  return (s * h) / 3;
}

/** E[g(h)] for h ~ N(0, s²), for g that varies on the scale 1 near 0 and is bounded. */
function gaussianMean(g: (h: number) => number, s: number): number {
  if (s === 0) return g(0);
  // The integrand lives within |h| < 10 s (density) and, for s ≫ 1, where g varies (|h| ≲ 40).
  const L = Math.min(10 * s, Math.max(40, 10)),
    norm = 1 / (s * Math.sqrt(2 * Math.PI));
  return simpson((h) => g(h) * Math.exp((-0.5 * h * h) / (s * s)) * norm, -L, L);
}

const tanhD1 = (x: number): number => 1 - Math.tanh(x) ** 2;
const tanhD2 = (x: number): number => {
  const t = Math.tanh(x);
  return -2 * t * (1 - t * t);
};

/** E[tanh'(h)], h ~ N(0, σ²). */
function tanhMu1h(sigma: number): number {
  return gaussianMean(tanhD1, sigma);
}

/**
 * The μ coefficients of {@link StepCoefficients} for an activation at initial scale σ_W. With
 * `teacher` (the unit vector u, length N) the heterogeneity corrections μ̃₁ (tanh) and μ̃₂ (ReLU)
 * and the per-row μ₁,a are included; without it, the N → ∞ limit of a delocalised teacher
 * (u_a → 0: μ̄₁ = E[f'(h)]·f'(0), corrections 0). 'linear' gives μ₁ = μ₂ = 1.
 *
 * @throws {TypeError|RangeError} for a bad activation, σ_W ≤ 0 or a teacher that is not a
 *   Float64Array of length ≥ 2.
 */
export function stepCoefficients(
  activation: 'linear' | 'relu' | 'tanh',
  { sigmaW, teacher }: { sigmaW: number; teacher?: Float64Array },
): StepCoefficients {
  const act = checkOneOf(activation, 'activation', ['linear', 'relu', 'tanh']);
  const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  if (teacher !== undefined && (!(teacher instanceof Float64Array) || teacher.length < 2)) {
    throw new TypeError(expected('a Float64Array of length ≥ 2 (the unit teacher vector u)', 'teacher', teacher));
  }
  if (act === 'linear') return { mu1: 1, mu2: 1, mu1Tilde: 0, mu2Tilde: 0 };
  if (act === 'relu') {
    let mu2Tilde = 0;
    if (teacher) {
      const n = teacher.length;
      let u4 = 0;
      for (const x of teacher) u4 += x ** 4;
      mu2Tilde = -((n * u4 - 1) / (n - 1)) / (2 * Math.PI * s);
    }
    return { mu1: 0.25, mu2: 0.5, mu1Tilde: 0, mu2Tilde };
  }
  const mu1h = tanhMu1h(s);
  const mu2 = gaussianMean((h) => tanhD1(h) ** 2 + Math.tanh(h) * tanhD2(h), s);
  if (!teacher) return { mu1: mu1h, mu2, mu1Tilde: 0, mu2Tilde: 0 };
  const per = Array.from(teacher, (ua) => gaussianMean((z) => tanhD1(ua * z), 1) * mu1h);
  const mean = per.reduce((a, b) => a + b, 0) / per.length;
  let mu1Tilde = 0;
  per.forEach((x, a) => {
    mu1Tilde += teacher[a]! * (x - mean);
  });
  return { mu1: mean, mu2, mu1Tilde, mu2Tilde: 0 };
}

/**
 * The ordered region of the linearised first step: the positive ε where
 * c₂ε² + c₁ε + c₀ > 0 (see the module doc), its first interval's ends as ε_c and ε_c⁺, and
 * ε_o = 1/μ̄₂.
 *
 * @throws {TypeError|RangeError} for non-finite coefficients, σ_W ≤ 0 or r ≤ 0.
 */
export function stepBoundaries(
  c: StepCoefficients,
  { sigmaW, ratio }: { sigmaW: number; ratio: number },
): StepBoundaries {
  checkObject(c, 'coefficients', 'an object { mu1, mu2, mu1Tilde, mu2Tilde }');
  const m1 = checkNumber(c.mu1, 'mu1'),
    m2 = checkNumber(c.mu2, 'mu2');
  const t1 = checkNumber(c.mu1Tilde ?? 0, 'mu1Tilde'),
    t2 = checkNumber(c.mu2Tilde ?? 0, 'mu2Tilde');
  const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  const r = checkNumber(ratio, 'ratio', { min: 0, minExclusive: true });
  const s2 = s * s,
    sr = Math.sqrt(r);
  const c2 = t2 * (t2 + 2 * m2) * r * s2 - m2 * m2 * sr * s2 + (m1 + t1) ** 2;
  const c1 = 2 * (m2 * sr - t2 * r) * s2;
  const c0 = -sr * s2;
  const intervals = positiveIntervals(c2, c1, c0);
  return {
    criticalStep: intervals.length ? intervals[0]![0] : NaN,
    upperCriticalStep: intervals.length ? intervals[0]![1] : NaN,
    optimalStep: m2 > 0 ? 1 / m2 : NaN,
    orderedIntervals: intervals,
  };
}

/** Intervals of x > 0 with c₂x² + c₁x + c₀ > 0 (c₀ < 0), ascending. */
function positiveIntervals(c2: number, c1: number, c0: number): Array<[number, number]> {
  if (c2 === 0) return c1 > 0 ? [[-c0 / c1, Infinity]] : [];
  const disc = c1 * c1 - 4 * c2 * c0;
  if (disc < 0) return c2 > 0 ? [[0, Infinity]] : [];
  const sq = Math.sqrt(disc);
  // numerically stable roots
  const q = -0.5 * (c1 + Math.sign(c1 || 1) * sq);
  const ra = q / c2,
    rb = q !== 0 ? c0 / q : -c1 / c2;
  const lo = Math.min(ra, rb),
    hi = Math.max(ra, rb);
  if (c2 > 0) return hi > 0 ? [[Math.max(0, hi), Infinity]] : [[0, Infinity]];
  // c2 < 0: positive between the roots
  if (hi <= 0) return [];
  return [[Math.max(0, lo), hi]];
}

/** A point of the one-step nonlinear model: coefficients, σ_W, r, ε. */
export interface NonlinearPoint {
  coefficients: StepCoefficients;
  sigmaW: number;
  ratio: number;
  lr: number;
}

function effective(p: NonlinearPoint): { noise: number; signal: number; ratio: number } {
  checkObject(p, 'params', 'an object { coefficients, sigmaW, ratio, lr }');
  const c = checkObject(p.coefficients, 'coefficients', 'an object { mu1, mu2, mu1Tilde, mu2Tilde }');
  const s = checkNumber(p.sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  const r = checkNumber(p.ratio, 'ratio', { min: 0, minExclusive: true });
  const e = checkNumber(p.lr, 'lr', { min: 0 });
  const mu1 = checkNumber(c.mu1, 'mu1') + checkNumber(c.mu1Tilde ?? 0, 'mu1Tilde');
  const mu2 = checkNumber(c.mu2, 'mu2');
  return { noise: (1 - e * mu2) ** 2 * s * s, signal: (e * mu1) ** 2, ratio: r };
}

/**
 * Per-point one-step closed forms of the nonlinear model: the linear ones with noise variance
 * s² = (1 − εμ̄₂)²σ_W² and signal θ² = ε²(μ̄₁ + μ̃₁)² (μ̃₂ enters only the boundaries). All
 * eigenvalues refer to X₁ = W₁W₁ᵀ.
 */
export const nonlinearTeacherStudent = {
  /** Noise variance s² = (1 − εμ̄₂)²σ_W². */
  noiseVariance(p: NonlinearPoint): number {
    return effective(p).noise;
  },
  /** Bulk edge (1 − εμ̄₂)²σ_W²(1 + √r)². */
  bulkEdge(p: NonlinearPoint): number {
    const { noise, ratio } = effective(p);
    return noise * (1 + Math.sqrt(ratio)) ** 2;
  },
  /** BBP outlier (θ² + r s²)(θ² + s²)/θ² when θ² > √r s², else NaN. */
  outlier(p: NonlinearPoint): number {
    const { noise: a, signal: b, ratio } = effective(p);
    if (!(b > Math.sqrt(ratio) * a)) return NaN;
    return ((b + ratio * a) * (b + a)) / b;
  },
  /** q² = (1 − r/τ²)/(1 + r/τ), τ = θ²/s², above threshold; else 0. */
  overlap(p: NonlinearPoint): number {
    const { noise: a, signal: b, ratio } = effective(p);
    if (!(b > Math.sqrt(ratio) * a)) return 0;
    if (a === 0) return 1;
    const tau = b / a;
    return (1 - ratio / (tau * tau)) / (1 + ratio / tau);
  },
  /** Phase from the boundaries (including μ̃₂): disordered outside, ferro below ε_o, para above. */
  phase(p: NonlinearPoint): TeacherStudentPhase {
    const b = stepBoundaries(p.coefficients, p);
    const e = checkNumber(p.lr, 'lr', { min: 0 });
    if (!b.orderedIntervals.some(([lo, hi]) => e > lo && e < hi)) return 'disordered';
    return e <= b.optimalStep || Number.isNaN(b.optimalStep) ? 'ferromagnetic' : 'paramagnetic';
  },
};

/**
 * The coefficients of the two-layer model of the authors' release (notebook 2.multi): a hidden
 * layer W (N x M, σ_W) under a readout Z (scale σ_Z) whose overlap with the teacher's readout is
 * `readoutOverlap` ∈ [0, 1]: μ̄₁ = overlap·σ_Z²/4, μ̄₂ = σ_Z²/2, no corrections. Its boundaries
 * follow from {@link stepBoundaries}: ε_c = σ_W r^{1/4}/(μ̄₁ + μ̄₂σ_W r^{1/4}) (= the release's
 * 1/(μ₂ + μ₁/(σ_W r^{1/4}))), ε_o = 2/σ_Z². The release's left panel (σ_Z = σ_W, overlap 1/100)
 * writes μ̄₂ = σ_Z/2; this uses σ_Z² (the two agree at σ_Z = 1, its right panel, ε_o = 2).
 *
 * @throws {RangeError} for σ_W or σ_Z ≤ 0, or an overlap outside [0, 1].
 */
export function twoLayerCoefficients({
  sigmaZ,
  readoutOverlap,
}: {
  sigmaZ: number;
  readoutOverlap: number;
}): StepCoefficients {
  const z = checkNumber(sigmaZ, 'sigmaZ', { min: 0, minExclusive: true });
  const o = checkNumber(readoutOverlap, 'readoutOverlap', { min: 0, max: 1 });
  return { mu1: (o * z * z) / 4, mu2: (z * z) / 2, mu1Tilde: 0, mu2Tilde: 0 };
}
