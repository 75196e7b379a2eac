/**
 * The physics of the teacher–student model (Park, Bocchi, D'Amico, Lucini & Aarts 2026,
 * arXiv:2606.28486): a student W (N x M, r = N/M, W₀_ij ~ N(0, σ_W²/M)) trained by full-batch
 * gradient descent with step ε towards a rank-one teacher W* = u vᵀ (|u| = |v| = 1), with
 * ŷ = f(Wx), y = f(W*x) and the loss ½‖y − ŷ‖².
 *
 * Here: the activations, the population gradients (Stein's lemma), the closed-form W_t of the
 * linear model, one GD step on a finite dataset, the measurements (top eigenpair of X = W Wᵀ,
 * q², replica overlap), and the small request/driver machinery that lets one computation run
 * either synchronously or on the native pool with bounded concurrency (the `*Sync` twins).
 * Internal to models/; the public entry points are in simulate.ts, phase-diagram.ts and
 * critical-step.ts.
 */
import { defaultConcurrency, mapConcurrent } from '../concurrency.js';
import { expected } from '../errors.js';
import { type EighResult, eigh, eighSync, gram, gramSync } from '../linalg/index.js';
import { call, type Solve, solve } from '../linalg/route.js';
import type { Mat } from '../matrix.js';
import { median } from '../stats.js';
import { checkInteger, checkNumber, checkOneOf } from '../validate.js';

/** Student/teacher activation f in ŷ = f(Wx), y = f(W*x). */
export type Activation = 'linear' | 'relu' | 'tanh';

/** 'population': the gradient over x ~ N(0, I_M); { alpha }: P = round(αM) fixed inputs, full batch. */
export type DataSpec = 'population' | { alpha: number };

/** @internal */
export function checkActivation(a: unknown): Activation {
  return checkOneOf(a, 'activation', ['linear', 'relu', 'tanh']);
}

/** @internal */
export function checkData(d: unknown): DataSpec {
  if (d === 'population') return d;
  if (typeof d === 'object' && d !== null && 'alpha' in d) {
    return { alpha: checkNumber((d as { alpha: unknown }).alpha, 'data.alpha', { min: 0, minExclusive: true }) };
  }
  throw new RangeError(expected("'population' or { alpha }", 'data', d));
}

/** Nodes and weights of the n-point Gauss–Hermite rule for E[g(z)], z ~ N(0, 1) (Golub–Welsch). @internal */
export function gaussHermite(n: number): { z: Float64Array; w: Float64Array } {
  const j = new Float64Array(n * n);
  for (let k = 1; k < n; k++) {
    j[(k - 1) * n + k] = Math.sqrt(k);
    j[k * n + (k - 1)] = Math.sqrt(k);
  }
  const { values, vectors } = eighSync({ data: j, rows: n, cols: n });
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = vectors.data[k * n]! ** 2;
  return { z: values, w };
}

/**
 * Population expectations for one student row w_a against teacher row u_a vᵀ, with
 * h = w_a·x and h* = u_a v·x jointly Gaussian (x ~ N(0, I_M)): |w|² = ww, cov(h, h*) = c,
 * var(h*) = uu. By Stein's lemma the population gradient of ½E(f(h*) − f(h))² is
 * −(E[∂_h F] w_a + E[∂_{h*} F] u_a v) with F = (f(h*) − f(h)) f'(h); returns [E∂_hF, E∂_{h*}F].
 * @internal
 */
export type PopulationMoments = (ww: number, c: number, uu: number) => [number, number];

/** ReLU in closed form: E∂_hF = −½ + s/(2π|w|) (the δ(h) term), E∂_{h*}F = P(h > 0, h* > 0). */
const reluMoments: PopulationMoments = (ww, c, uu) => {
  if (!(ww > 0)) return [0, 0];
  const nw = Math.sqrt(ww);
  const s = Math.sqrt(Math.max(0, uu - (c * c) / ww));
  const rho = uu > 0 ? Math.max(-1, Math.min(1, c / (nw * Math.sqrt(uu)))) : 0;
  return [-0.5 + s / (2 * Math.PI * nw), 0.25 + Math.asin(rho) / (2 * Math.PI)];
};

/**
 * tanh by quadrature: h on a sinh-stretched trapezoid grid (dense near 0, where tanh' lives,
 * wide enough for |w| up to ~1e3), h* | h by Gauss–Hermite.
 */
function tanhMoments(): PopulationMoments {
  const gh = gaussHermite(24);
  const T = 400;
  return (ww, c, uu) => {
    const nw = Math.sqrt(ww);
    const s = ww > 0 ? Math.sqrt(Math.max(0, uu - (c * c) / ww)) : Math.sqrt(uu);
    const slope = ww > 0 ? c / ww : 0;
    // E over h ~ N(0, ww); ww = 0 is the point mass at h = 0.
    const nodes: Array<[number, number]> = [];
    if (ww > 0) {
      const A = Math.min(0.25, nw),
        L = 9 * nw,
        tmax = Math.asinh(L / A),
        dt = (2 * tmax) / T;
      for (let k = 0; k <= T; k++) {
        const t = -tmax + k * dt,
          h = A * Math.sinh(t);
        const wt =
          ((k === 0 || k === T ? 0.5 : 1) * dt * A * Math.cosh(t) * Math.exp((-0.5 * h * h) / ww)) /
          (nw * Math.sqrt(2 * Math.PI));
        nodes.push([h, wt]);
      }
    } else nodes.push([0, 1]);
    let e1 = 0,
      e2 = 0,
      mass = 0;
    for (const [h, wh] of nodes) {
      const th = Math.tanh(h),
        d1 = 1 - th * th,
        d2 = -2 * th * d1;
      let ef = 0,
        edf = 0;
      for (let q = 0; q < gh.z.length; q++) {
        const ts = Math.tanh(slope * h + s * gh.z[q]!);
        ef += gh.w[q]! * ts;
        edf += gh.w[q]! * (1 - ts * ts);
      }
      e1 += wh * (-d1 * d1 + (ef - th) * d2);
      e2 += wh * edf * d1;
      mass += wh;
    }
    return [e1 / mass, e2 / mass];
  };
}

/** f and f' of each activation. @internal */
export const activationFns: Record<Activation, { f: (h: number) => number; df: (h: number) => number }> = {
  linear: { f: (h) => h, df: () => 1 },
  relu: { f: (h) => Math.max(h, 0), df: (h) => (h > 0 ? 1 : 0) },
  tanh: { f: Math.tanh, df: (h) => 1 - Math.tanh(h) ** 2 },
};

/**
 * The factors of the closed form W_t = a Z + b u vᵀ of t population GD steps of the linear model
 * from W₀ = σ_W Z/√M: a = (1 − ε)^t σ_W/√M, b = 1 − (1 − ε)^t. @internal
 */
export function linearWeightFactors(sigmaW: number, lr: number, t: number, m: number): { a: number; b: number } {
  const decay = (1 - lr) ** t;
  return { a: (decay * sigmaW) / Math.sqrt(m), b: 1 - decay };
}

/**
 * The closed form of t population GD steps of the linear model, written into W (N x M,
 * row-major): W_t = (1 − ε)^t W₀ + [1 − (1 − ε)^t] u vᵀ with W₀ = σ_W Z/√M (Z standard normal,
 * N x M). Identical (to rounding) to iterating W ← W − ε(W − W*) t times.
 * @internal
 */
export function linearWeights(
  W: Float64Array,
  z: Float64Array,
  u: Float64Array,
  v: Float64Array,
  sigmaW: number,
  lr: number,
  t: number,
): Float64Array {
  const n = u.length,
    m = v.length;
  const { a, b } = linearWeightFactors(sigmaW, lr, t, m);
  for (let i = 0; i < n; i++) {
    const bu = b * u[i]!;
    const off = i * m;
    for (let j = 0; j < m; j++) W[off + j] = a * z[off + j]! + bu * v[j]!;
  }
  return W;
}

/** What one GD step needs to know besides W. @internal */
export interface StepSetting {
  n: number;
  m: number;
  lr: number;
  activation: Activation;
  u: Float64Array;
  v: Float64Array;
  /** Finite data only: the inputs as an M x P row-major array (column p = x_p). */
  xt?: Float64Array;
  /** Finite data only: P. */
  p?: number;
  /** Linear + finite data: Σ̂ = X Xᵀ/P (M x M). */
  sigmaHat?: Float64Array;
}

/**
 * One full-batch GD step W ← W − ε∇L in place. Population: W − W* (linear) or the Stein moments
 * row by row (ReLU closed form, tanh quadrature), O(NM). Finite data: (W − W*)Σ̂ (linear,
 * O(NM²)) or −(1/P)Σ_p δ_p x_pᵀ with δ = (y − f(Wx)) ⊙ f'(Wx) (nonlinear, O(PNM)).
 * @internal
 */
export function makeGradientStep(s: StepSetting): (W: Float64Array) => void {
  const { n, m, lr, activation, u, v } = s;
  if (s.xt === undefined) {
    if (activation === 'linear') {
      const a = 1 - lr;
      return (W) => {
        for (let i = 0; i < n; i++) {
          const lu = lr * u[i]!;
          const off = i * m;
          for (let j = 0; j < m; j++) W[off + j] = a * W[off + j]! + lu * v[j]!;
        }
      };
    }
    const moments = activation === 'relu' ? reluMoments : tanhMoments();
    return (W) => {
      // w_a ← w_a + ε(E∂_hF · w_a + E∂_{h*}F · u_a v)
      for (let i = 0; i < n; i++) {
        const off = i * m;
        let ww = 0,
          wv = 0;
        for (let j = 0; j < m; j++) {
          const x = W[off + j]!;
          ww += x * x;
          wv += x * v[j]!;
        }
        const ui = u[i]!;
        const [e1, e2] = moments(ww, ui * wv, ui * ui);
        const a = 1 + lr * e1,
          b = lr * e2 * ui;
        for (let j = 0; j < m; j++) W[off + j] = a * W[off + j]! + b * v[j]!;
      }
    };
  }
  const xt = s.xt,
    P = s.p!;
  const grad = new Float64Array(n * m);
  if (s.sigmaHat) {
    const sh = s.sigmaHat;
    const D = new Float64Array(n * m);
    return (W) => {
      grad.fill(0);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) D[i * m + j] = W[i * m + j]! - u[i]! * v[j]!;
      for (let i = 0; i < n; i++) {
        const gi = i * m;
        for (let k = 0; k < m; k++) {
          const d = D[i * m + k]!;
          if (d === 0) continue;
          const sk = k * m;
          for (let j = 0; j < m; j++) grad[gi + j]! += d * sh[sk + j]!;
        }
      }
      for (let k = 0; k < W.length; k++) W[k]! -= lr * grad[k]!;
    };
  }
  const { f, df } = activationFns[activation];
  const teacherOut = new Float64Array(P); // v · x_p
  for (let j = 0; j < m; j++) {
    const vj = v[j]!;
    const off = j * P;
    for (let p = 0; p < P; p++) teacherOut[p]! += vj * xt[off + p]!;
  }
  const h = new Float64Array(P);
  return (W) => {
    for (let i = 0; i < n; i++) {
      h.fill(0);
      for (let j = 0; j < m; j++) {
        const wij = W[i * m + j]!;
        const off = j * P;
        for (let p = 0; p < P; p++) h[p]! += wij * xt[off + p]!;
      }
      const ui = u[i]!;
      for (let p = 0; p < P; p++) {
        const hp = h[p]!;
        h[p] = (f(ui * teacherOut[p]!) - f(hp)) * df(hp);
      }
      for (let j = 0; j < m; j++) {
        let acc = 0;
        const off = j * P;
        for (let p = 0; p < P; p++) acc += h[p]! * xt[off + p]!;
        grad[i * m + j] = -acc / P;
      }
    }
    for (let k = 0; k < W.length; k++) W[k]! -= lr * grad[k]!;
  };
}

/** Median over pairs α < β of |a_α · a_β| (unit vectors of equal length); NaN with < 2 vectors. @internal */
export function pairOverlap(vecs: Float64Array[]): number {
  const vals: number[] = [];
  for (let a = 0; a < vecs.length; a++) {
    for (let b = a + 1; b < vecs.length; b++) {
      let s = 0;
      const x = vecs[a]!,
        y = vecs[b]!;
      for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
      vals.push(Math.abs(s));
    }
  }
  return vals.length ? median(vals) : NaN;
}

/** (vec · u)². @internal */
export function squaredOverlap(vec: Float64Array, u: Float64Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += vec[i]! * u[i]!;
  return s * s;
}

// ---------------------------------------------------------------------------------------------
// One computation, two drivers. A computation is a generator that yields native solves (the
// {@link Solve} of linalg/route.ts: an async call and its Sync twin) and receives their results;
// runSync serves them on this thread, runAsync on the native pool. What the models add to the
// analysis drivers is 'parallel': independent sub-computations that runAsync fans out
// `concurrency` at a time.

/** Top eigenvalue, the second one (NaN if N = 1) and the top unit eigenvector of W Wᵀ. @internal */
export interface TopEigen {
  lambda: number;
  second: number;
  vec: Float64Array;
}

/** @internal */
export type Request = Solve<unknown> | { kind: 'parallel'; tasks: Array<() => Computation<void>> };

/** @internal */
export type Computation<R> = Generator<Request, R, unknown>;

/** Yields a top-eigenpair request for W Wᵀ. @internal */
export function* topEigenOf(w: Mat<Float64Array>): Computation<TopEigen> {
  const n = w.rows;
  const range: [number, number] = [Math.max(0, n - 2), n - 1];
  return yield* solve({
    run: async () => {
      const r = await eigh(await gram(w), { range });
      return topFrom(n, r.values, r.vectors.data);
    },
    runSync: () => {
      const r = eighSync(gramSync(w), { range });
      return topFrom(n, r.values, r.vectors.data);
    },
  });
}

/** Yields a Gram request X Xᵀ. @internal */
export function* gramOf(x: Mat<Float64Array>): Computation<Mat<Float64Array>> {
  return yield* call(gram, gramSync, x);
}

/** Yields a full symmetric eigendecomposition request (ascending values, column eigenvectors). @internal */
export function* eighOf(a: Mat<Float64Array>): Computation<EighResult> {
  return yield* call(eigh, eighSync, a);
}

/** Runs the tasks (independent computations) concurrently under runAsync, one by one under runSync. @internal */
export function* parallel(tasks: Array<() => Computation<void>>): Computation<void> {
  yield { kind: 'parallel', tasks };
}

function topFrom(n: number, values: Float64Array, vectors: Float64Array): TopEigen {
  const last = values.length - 1;
  return { lambda: values[last]!, second: last > 0 ? values[0]! : NaN, vec: vectors.slice(last * n, (last + 1) * n) };
}

/** Serves a computation's requests on this thread. @internal */
export function runSync<R>(c: Computation<R>): R {
  let step = c.next();
  while (!step.done) {
    const req = step.value;
    let reply: unknown;
    if ('kind' in req) for (const task of req.tasks) runSync(task());
    else reply = req.runSync();
    step = c.next(reply);
  }
  return step.value;
}

/**
 * Runs a computation asynchronously with the `concurrency` (an integer ≥ 1, default the hardware
 * threads) and `signal` options of an async entry point. @internal
 */
export function runWithOptions<R>(
  c: Computation<R>,
  options: { concurrency?: number; signal?: AbortSignal },
): Promise<R> {
  const concurrency = checkInteger(options.concurrency ?? defaultConcurrency(), 'concurrency', { min: 1 });
  return runAsync(c, concurrency, options.signal);
}

/**
 * Serves a computation's requests with async native calls; 'parallel' tasks run `concurrency`
 * at a time (the native BLAS gate keeps them from oversubscribing the cores, so results do not
 * depend on `concurrency`). @internal
 */
export async function runAsync<R>(c: Computation<R>, concurrency: number, signal?: AbortSignal): Promise<R> {
  let step = c.next();
  while (!step.done) {
    const req = step.value;
    let reply: unknown;
    if ('kind' in req) {
      await mapConcurrent(req.tasks, (task) => runAsync(task(), 1, signal), {
        concurrency,
        ...(signal ? { signal } : {}),
      });
    } else reply = await req.run();
    step = c.next(reply);
  }
  return step.value;
}

/**
 * Top eigenvalue and q² of X(ε) = W_t W_tᵀ along a grid of steps for one fixed draw (Z, u, v)
 * of the linear model, without one eigenproblem per step: with G = Z Zᵀ = Q Λ Qᵀ (computed
 * once) and a, b of {@link linearWeightFactors},
 *
 *   Qᵀ X Q = a²Λ + V S Vᵀ,  V = [Qᵀu, QᵀZv],  S = [[b², ab], [ab, 0]],
 *
 * a diagonal plus a rank-two update. Its eigenvalues above d_max = a²λ_max(G) are the roots of
 * det(S⁻¹ − K(λ)) with K(λ) = Vᵀ(λ − D)⁻¹V (2 x 2), and by the inertia of the Schur complement
 * their number is the count of negative eigenvalues of S⁻¹ − K(λ) minus one; the eigenvector is
 * (λ − D)⁻¹V c with c spanning the null space of S⁻¹ − K(λ). O(N) per step once G is decomposed.
 * When the top eigenvalue is not above d_max (or a, b vanish) the step falls back to a dense
 * eigendecomposition of Qᵀ X Q. Results agree with the dense route to rounding.
 * @internal
 */
export function* linearStepSweep(
  z: Float64Array,
  u: Float64Array,
  v: Float64Array,
  sigmaW: number,
  lrs: readonly number[],
  t: number,
): Computation<{ lambda: Float64Array; q2: Float64Array; fallbacks: number }> {
  const n = u.length,
    m = v.length;
  const G = yield* gramOf({ data: z, rows: n, cols: m });
  const { values: lam, vectors } = yield* eighOf(G);
  const Q = vectors.data; // row j = eigenvector j
  const g = new Float64Array(n); // Z v
  for (let i = 0; i < n; i++) {
    let s = 0;
    const off = i * m;
    for (let j = 0; j < m; j++) s += z[off + j]! * v[j]!;
    g[i] = s;
  }
  const up = new Float64Array(n),
    gp = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let su = 0,
      sg = 0;
    const off = k * n;
    for (let i = 0; i < n; i++) {
      su += Q[off + i]! * u[i]!;
      sg += Q[off + i]! * g[i]!;
    }
    up[k] = su;
    gp[k] = sg;
  }
  const L = lrs.length;
  const lambdaOut = new Float64Array(L),
    q2Out = new Float64Array(L);
  let fallbacks = 0;
  const d = new Float64Array(n);
  for (let j = 0; j < L; j++) {
    const { a, b } = linearWeightFactors(sigmaW, lrs[j]!, t, m);
    for (let k = 0; k < n; k++) d[k] = a * a * lam[k]!;
    const dmax = d[n - 1]!;
    // S⁻¹ = [[0, 1/(ab)], [1/(ab), −1/a²]]; M(λ) = S⁻¹ − K(λ)
    const mOf = (x: number): [number, number, number] => {
      let k11 = 0,
        k12 = 0,
        k22 = 0;
      for (let k = 0; k < n; k++) {
        const w = 1 / (x - d[k]!);
        k11 += up[k]! * up[k]! * w;
        k12 += up[k]! * gp[k]! * w;
        k22 += gp[k]! * gp[k]! * w;
      }
      return [-k11, 1 / (a * b) - k12, -1 / (a * a) - k22];
    };
    const negatives = ([p, q, r]: [number, number, number]): number => {
      const det = p * r - q * q,
        tr = p + r;
      return det < 0 ? 1 : tr < 0 ? 2 : 0;
    };
    let solved = false;
    if (Math.abs(a) > 1e-150 && Math.abs(b) > 1e-150 && Number.isFinite(a)) {
      // an upper bound: d_max + ‖V S Vᵀ‖_F
      const uu = up.reduce((s, x) => s + x * x, 0),
        gg = gp.reduce((s, x) => s + x * x, 0);
      let ug = 0;
      for (let k = 0; k < n; k++) ug += up[k]! * gp[k]!;
      const vtv = [uu, ug, ug, gg];
      const s = [b * b, a * b, a * b, 0];
      const sv = [
        s[0]! * vtv[0]! + s[1]! * vtv[2]!,
        s[0]! * vtv[1]! + s[1]! * vtv[3]!,
        s[2]! * vtv[0]! + s[3]! * vtv[2]!,
        s[2]! * vtv[1]! + s[3]! * vtv[3]!,
      ];
      const fro = Math.sqrt(Math.abs(sv[0]! * sv[0]! + 2 * sv[1]! * sv[2]! + sv[3]! * sv[3]!));
      let hi = dmax + fro * (1 + 1e-9) + 1e-300;
      const gap = Math.max(fro, Math.abs(dmax)) * 1e-15 + 1e-300;
      let lo = dmax + gap;
      if (negatives(mOf(lo)) === 2) {
        for (let it = 0; it < 200 && hi - lo > 1e-14 * hi; it++) {
          const mid = 0.5 * (lo + hi);
          if (negatives(mOf(mid)) === 2) lo = mid;
          else hi = mid;
        }
        const x = 0.5 * (lo + hi);
        const [p, q, r] = mOf(x);
        // null vector of [[p, q], [q, r]]
        let c1 = -q,
          c2 = p;
        if (Math.abs(p) + Math.abs(q) < Math.abs(q) + Math.abs(r)) {
          c1 = r;
          c2 = -q;
        }
        let dotu = 0,
          norm = 0;
        for (let k = 0; k < n; k++) {
          const e = (up[k]! * c1 + gp[k]! * c2) / (x - d[k]!);
          dotu += up[k]! * e;
          norm += e * e;
        }
        if (norm > 0 && Number.isFinite(norm)) {
          lambdaOut[j] = x;
          q2Out[j] = (dotu * dotu) / norm;
          solved = true;
        }
      }
    }
    if (!solved) {
      fallbacks++;
      const X = new Float64Array(n * n);
      for (let k = 0; k < n; k++) {
        X[k * n + k] = d[k]!;
        for (let l = 0; l < n; l++)
          X[k * n + l]! += b * b * up[k]! * up[l]! + a * b * (up[k]! * gp[l]! + gp[k]! * up[l]!);
      }
      const r = yield* eighOf({ data: X, rows: n, cols: n });
      let dotu = 0;
      for (let k = 0; k < n; k++) dotu += r.vectors.data[(n - 1) * n + k]! * up[k]!;
      lambdaOut[j] = r.values[n - 1]!;
      q2Out[j] = dotu * dotu;
    }
  }
  return { lambda: lambdaOut, q2: q2Out, fallbacks };
}
