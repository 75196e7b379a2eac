/**
 * One GD step of the linear teacher–student model on a finite dataset of P = αM inputs
 * (the proportional regime of Park, Bocchi, D'Amico, Lucini & Aarts 2026, arXiv:2606.28486,
 * notebook 3.prop; the release has the figures but not the theory, which is derived here).
 *
 * With Σ̂ = XᵀX/P (its spectrum → the Marchenko–Pastur law of ratio y = M/P = 1/α, with an
 * atom 1 − α at 0 when α < 1), one full-batch step from W₀ = σ_W Z/√M gives
 *
 *   W₁ = W₀(I − εΣ̂) + ε u (Σ̂v)ᵀ,
 *
 * Gaussian noise with right covariance (I − εΣ̂)² plus a rank-one signal. In the large-N limit
 * (N/M = r fixed), with t(s) = rσ_W²(1 − εs)² over the law of s, the Stieltjes transform m of
 * X₁ = W₁W₁ᵀ (N x N) at x above the bulk solves (Silverstein & Bai 1995)
 *
 *   x(m) = −1/m + (1/r) ∫ t(s)/(1 + t(s)m) dμ(s),   m ∈ (m*, 0),
 *
 * the bulk edge is x(m*) with x'(m*) = 0, and the outlier (Benaych-Georges & Nadakuditi 2012,
 * with the signal's right vector Σ̂v seen through the deterministic equivalent of the
 * resolvent) is x(m₀) where
 *
 *   G(m₀) = −ε² m₀ ∫ s²/(1 + t(s)m₀) dμ(s) = 1,
 *
 * which exists iff G(m*) > 1; its squared overlap with u is q² = m₀ x'(m₀)/G'(m₀). For α → ∞
 * this reduces to the population closed forms ({@link linearTeacherStudent}). The notebook's
 * ε_o = α/(α − 1) is 1/(harmonic mean of Σ̂'s eigenvalues) = E[1/s].
 */
import { checkNumber, checkObject } from '../validate.js';
import type { TeacherStudentPhase } from './teacher-student.js';

/** A finite-data one-step point: σ_W, r = N/M, α = P/M, step ε. */
export interface FiniteDataPoint {
  sigmaW: number;
  ratio: number;
  alpha: number;
  lr: number;
}

/** Quadrature of the Marchenko–Pastur law of ratio y (variance 1): nodes s and weights w (sum 1). */
function mpQuadrature(y: number, nodes = 600): { s: Float64Array; w: Float64Array } {
  const a = (1 - Math.sqrt(y)) ** 2,
    b = (1 + Math.sqrt(y)) ** 2;
  const atom = y > 1 ? 1 - 1 / y : 0;
  const n = nodes + (atom > 0 ? 1 : 0);
  const s = new Float64Array(n),
    w = new Float64Array(n);
  // s = (a + b)/2 + (b − a)/2·cos θ; the density √((b−s)(s−a))/(2πys) ds becomes smooth in θ
  const h = Math.PI / nodes,
    half = (b - a) / 2;
  let total = 0;
  for (let k = 0; k < nodes; k++) {
    const th = (k + 0.5) * h;
    const x = (a + b) / 2 + half * Math.cos(th);
    const sin = Math.sin(th);
    s[k] = x;
    w[k] = (half * half * sin * sin * h) / (2 * Math.PI * y * x);
    total += w[k]!;
  }
  // normalise the continuous part to its exact mass (midpoint rule error ~ 1e-6 near s = 0 for y ≈ 1)
  const mass = 1 - atom;
  for (let k = 0; k < nodes; k++) w[k] = (w[k]! * mass) / total;
  if (atom > 0) {
    s[nodes] = 0;
    w[nodes] = atom;
  }
  return { s, w };
}

const quadCache = new Map<number, { s: Float64Array; w: Float64Array }>();
function quad(alpha: number): { s: Float64Array; w: Float64Array } {
  let q = quadCache.get(alpha);
  if (!q) {
    q = mpQuadrature(1 / alpha);
    if (quadCache.size > 64) quadCache.clear();
    quadCache.set(alpha, q);
  }
  return q;
}

/** x(m) = −1/m + c Σ_k w_k t_k/(1 + t_k m): the inverse Stieltjes map of a sample-covariance law. */
function mpX(t: Float64Array, w: Float64Array, c: number, m: number): number {
  let acc = 0;
  for (let k = 0; k < t.length; k++) acc += (w[k]! * t[k]!) / (1 + t[k]! * m);
  return -1 / m + c * acc;
}
function mpDx(t: Float64Array, w: Float64Array, c: number, m: number): number {
  let acc = 0;
  for (let k = 0; k < t.length; k++) {
    const d = 1 + t[k]! * m;
    acc += (w[k]! * t[k]! * t[k]!) / (d * d);
  }
  return 1 / (m * m) - c * acc;
}

/**
 * The upper edge of the limiting spectrum of T^{1/2} X Xᵀ T^{1/2}/n's companion family
 * (Silverstein & Choi 1995): with the law of T given by values t_k (≥ 0) and weights w_k
 * (sum 1) and c = p/n of the Silverstein equation, the edge is x(m*) at the zero m* ∈
 * (−1/t_max, 0) of x'(m) nearest 0 (or the end of that interval when x' > 0 throughout).
 * @internal
 */
export function mpEdge(t: Float64Array, w: Float64Array, c: number): { mStar: number; edge: number } {
  let tmax = 0;
  for (const x of t) tmax = Math.max(tmax, x);
  if (!(tmax > 0)) return { mStar: -Infinity, edge: 0 };
  const lo0 = (-1 / tmax) * (1 - 1e-12);
  let mStar: number;
  if (mpDx(t, w, c, lo0) > 0) mStar = lo0;
  else {
    let a = lo0,
      b = -1e-12 / tmax;
    for (let it = 0; it < 200; it++) {
      const mid = 0.5 * (a + b);
      if (mpDx(t, w, c, mid) > 0) b = mid;
      else a = mid;
    }
    mStar = 0.5 * (a + b);
  }
  return { mStar, edge: mpX(t, w, c, mStar) };
}

interface Solved {
  edge: number;
  outlier: number;
  overlap: number;
  /** G(m*) − 1 > 0 iff an outlier exists. */
  margin: number;
}

function solve(p: FiniteDataPoint): Solved {
  checkObject(p, 'params', 'an object { sigmaW, ratio, alpha, lr }');
  const sigma = checkNumber(p.sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  const r = checkNumber(p.ratio, 'ratio', { min: 0, minExclusive: true });
  const alpha = checkNumber(p.alpha, 'alpha', { min: 0, minExclusive: true });
  const e = checkNumber(p.lr, 'lr', { min: 0 });
  const { s, w } = quad(alpha);
  const n = s.length;
  const t = new Float64Array(n);
  let tmax = 0;
  for (let k = 0; k < n; k++) {
    t[k] = r * sigma * sigma * (1 - e * s[k]!) ** 2;
    tmax = Math.max(tmax, t[k]!);
  }
  const x = (m: number): number => mpX(t, w, 1 / r, m);
  const dx = (m: number): number => mpDx(t, w, 1 / r, m);
  const G = (m: number): number => {
    let acc = 0;
    for (let k = 0; k < n; k++) acc += (w[k]! * s[k]! * s[k]!) / (1 + t[k]! * m);
    return -e * e * m * acc;
  };
  const dG = (m: number): number => {
    let acc = 0;
    for (let k = 0; k < n; k++) {
      const d = 1 + t[k]! * m;
      acc += (w[k]! * s[k]! * s[k]!) / (d * d);
    }
    return -e * e * acc;
  };
  if (!(tmax > 0)) {
    // no noise left (ε s = 1 everywhere cannot happen for a spread law; guard anyway)
    return { edge: 0, outlier: NaN, overlap: 0, margin: Infinity };
  }
  const { mStar, edge } = mpEdge(t, w, 1 / r);
  const gStar = G(mStar);
  if (!(gStar > 1)) return { edge, outlier: NaN, overlap: 0, margin: gStar - 1 };
  let a = mStar,
    b = -1e-300;
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (a + b);
    if (G(mid) > 1) a = mid;
    else b = mid;
  }
  const m0 = 0.5 * (a + b);
  const q2 = (m0 * dx(m0)) / dG(m0);
  return { edge, outlier: x(m0), overlap: Math.min(1, Math.max(0, q2)), margin: gStar - 1 };
}

/**
 * Large-N closed forms of one GD step on P = αM inputs (see the module doc). Eigenvalues refer
 * to X₁ = W₁W₁ᵀ; entries of W₀ have variance σ_W²/M. Evaluated by quadrature of the
 * Marchenko–Pastur law (600 nodes) and bisection; relative accuracy ~1e-6.
 */
export const finiteDataTeacherStudent = {
  /** Top of the bulk of X₁. */
  bulkEdge(p: FiniteDataPoint): number {
    return solve(p).edge;
  },
  /** The outlier of X₁, NaN without one. */
  outlier(p: FiniteDataPoint): number {
    return solve(p).outlier;
  },
  /** q² = (top eigenvector of X₁ · u)², 0 without an outlier. */
  overlap(p: FiniteDataPoint): number {
    return solve(p).overlap;
  },
  /** Top eigenvalue: the outlier if present, else the bulk edge. */
  lambdaMax(p: FiniteDataPoint): number {
    const r = solve(p);
    return Number.isNaN(r.outlier) ? r.edge : r.outlier;
  },
  /**
   * Noise variance per entry·M of the bulk for the Tracy–Widom margin: the mean of
   * σ_W²(1 − εs)² over the law of s, σ_W²[(1 − ε)² + ε²/α].
   */
  noiseVariance(p: FiniteDataPoint): number {
    const sigma = checkNumber(p.sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const alpha = checkNumber(p.alpha, 'alpha', { min: 0, minExclusive: true });
    const e = checkNumber(p.lr, 'lr', { min: 0 });
    return sigma * sigma * ((1 - e) ** 2 + (e * e) / alpha);
  },
  /** ε_o = α/(α − 1) for α > 1 (E[1/s] over Σ̂'s law); Infinity for α ≤ 1. */
  optimalStep(alpha: number): number {
    const a = checkNumber(alpha, 'alpha', { min: 0, minExclusive: true });
    return a > 1 ? a / (a - 1) : Infinity;
  },
  /**
   * ReLU on a finite dataset: the spurious rank-one spike ε²σ_W²N/(2πα) that the dataset's
   * nonzero input mean m̄ = (1/P)Σ_p x_p (E|m̄|² = 1/α) makes with the nonzero mean output of
   * ReLU, E[relu(h_a)] = |w_a|/√(2π): the first step adds −ε(|w_a|/√(2π))_a m̄ᵀ, a rank-one term
   * along the all-ones direction of the N outputs (nearly orthogonal to u). It grows with N at
   * fixed α and is absent for odd activations (linear, tanh) and in the population limit. When it
   * exceeds the teacher's outlier (≈ (εμ₁)² = ε²/16 at large σ_W), the top eigenvector no longer
   * carries q². Residual (f(h*) − f(h)) ≈ −relu(h), i.e. σ_W ≫ |u_a|.
   */
  reluMeanSpike({ sigmaW, n, alpha, lr }: { sigmaW: number; n: number; alpha: number; lr: number }): number {
    const s = checkNumber(sigmaW, 'sigmaW', { min: 0, minExclusive: true });
    const nn = checkNumber(n, 'n', { min: 1 });
    const a = checkNumber(alpha, 'alpha', { min: 0, minExclusive: true });
    const e = checkNumber(lr, 'lr', { min: 0 });
    return (e * e * s * s * nn) / (2 * Math.PI * a);
  },
  /** 'disordered' without outlier, else ferromagnetic for ε ≤ ε_o, paramagnetic above. */
  phase(p: FiniteDataPoint): TeacherStudentPhase {
    if (Number.isNaN(solve(p).outlier)) return 'disordered';
    return p.lr <= finiteDataTeacherStudent.optimalStep(p.alpha) ? 'ferromagnetic' : 'paramagnetic';
  },
  /**
   * The intervals of ε in (lo, hi) (default (10⁻³, 10²)) with an outlier, found by a log-spaced
   * scan of 400 points refined by bisection to 1e-9 relative: every vanishing point of the
   * ordered region in that range. An interval open at the scan's upper end reports hi = Infinity
   * only if hi was not given.
   */
  orderedIntervals(
    { sigmaW, ratio, alpha }: { sigmaW: number; ratio: number; alpha: number },
    range?: [number, number],
  ): Array<[number, number]> {
    const [lo, hi] = range ?? [1e-3, 1e2];
    checkNumber(lo, 'range[0]', { min: 0, minExclusive: true });
    checkNumber(hi, 'range[1]', { min: lo, minExclusive: true });
    const present = (e: number) => solve({ sigmaW, ratio, alpha, lr: e }).margin > 0;
    const K = 400;
    const grid = Array.from({ length: K + 1 }, (_, k) => lo * (hi / lo) ** (k / K));
    const flags = grid.map(present);
    const refine = (a: number, b: number, fa: boolean): number => {
      for (let it = 0; it < 80 && b - a > 1e-9 * b; it++) {
        const mid = Math.sqrt(a * b);
        if (present(mid) === fa) a = mid;
        else b = mid;
      }
      return 0.5 * (a + b);
    };
    const out: Array<[number, number]> = [];
    let start = flags[0] ? lo : NaN;
    for (let k = 0; k < K; k++) {
      if (flags[k] === flags[k + 1]) continue;
      const x = refine(grid[k]!, grid[k + 1]!, flags[k]!);
      if (!flags[k]) start = x;
      else {
        out.push([start, x]);
        start = NaN;
      }
    }
    if (!Number.isNaN(start)) out.push([start, range ? hi : Infinity]);
    return out;
  },
};
