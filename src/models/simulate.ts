/**
 * Simulations of the teacher–student model of research/bbp.md §2: a student W (N x M,
 * r = N/M, W₀_ij ~ N(0, σ_W²/M)) trained by full-batch gradient descent with step ε (`lr`)
 * towards a rank-one teacher W* = u vᵀ (|u| = |v| = 1), read through the top eigenpair of
 * X = W Wᵀ. Also the (1/σ_W, ε) phase-diagram sweep and the finite-size estimate of the
 * critical step from the Binder cumulant.
 *
 * Randomness (all from specdyn's seeded {@link Rng}, so a seed gives bit-identical results):
 * stream 0 draws the teacher (u, then v), stream 1 the dataset (finite data only, shared by all
 * replicas), stream 2 + ρ the initial weights of replica ρ (W₀ = σ_W Z/√M, Z standard normal),
 * so the same seed gives the same replicas at every (σ_W, ε) — common random numbers.
 *
 * Parallelism: per-replica Gram matrices and eigenproblems run as async native calls,
 * `concurrency` at a time (default: the hardware threads), so both cores work while JavaScript
 * builds the next W. The native BLAS gate keeps this from oversubscribing the cores (small
 * calls run single-threaded side by side, large ones alone with all OpenBLAS threads), so the
 * results do not depend on `concurrency`.
 */
import { expected } from '../errors.js';
import { type Mat } from '../matrix.js';
import { Rng } from '../random.js';
import { eigh, eighSync, gram, nativeInfo } from '../linalg/index.js';
import { TRACY_WIDOM_1, tracyWidomScale } from '../rmt/spikes.js';
import { jackknife, median } from '../stats.js';
import { checkInteger, checkNumber, checkObject, checkOneOf } from '../validate.js';
import { linearTeacherStudent, type TeacherStudentPhase } from './teacher-student.js';

/** Student/teacher activation f in ŷ = f(Wx), y = f(W*x). */
export type Activation = 'linear' | 'relu' | 'tanh';

/** Options of {@link simulateTeacherStudent}. */
export interface SimulateOptions {
  /** N: rows of W (outputs). */
  n: number;
  /** M: columns of W (fan-in). */
  m: number;
  /** σ_W: W₀_ij ~ N(0, σ_W²/M). */
  sigmaW: number;
  /** GD step ε. */
  lr: number;
  /** Number of GD steps. */
  steps: number;
  /** Default 'linear'. */
  activation?: Activation;
  /**
   * 'population' (default): the population gradient over x ~ N(0, I_M) — exactly W − W* for
   * 'linear'; for 'relu' and 'tanh' by Stein's lemma on the Gaussian pair (w_a·x, u_a v·x), in
   * closed form for ReLU and by quadrature for tanh. { alpha }: a fixed dataset of
   * P = round(αM) inputs x ~ N(0, I_M), full batch.
   */
  data?: 'population' | { alpha: number };
  /** Independent initialisations sharing one teacher (default 10). */
  replicas?: number;
  /** Default 0. */
  seed?: number;
  /** Record every k steps (and at step 0 and the last step); default `steps`. */
  recordEvery?: number;
  /** Concurrent native calls (default: hardware threads). */
  concurrency?: number;
}

/** Result of {@link simulateTeacherStudent}; arrays are indexed by record. */
export interface SimulateResult {
  /** The recorded steps t (0 = initialisation). */
  steps: number[];
  /** Median over replicas of the top eigenvalue of X = W_t W_tᵀ. */
  lambdaMax: Float64Array;
  /** Median over replicas of the second eigenvalue of X (an empirical bulk edge when one outlier exists). */
  secondEigenvalue: Float64Array;
  /** Linear-model bulk edge λ₊(t) = (1 − ε)^{2t} σ_W²(1 + √r)² (theory; exact for linear + population). */
  bulkEdge: Float64Array;
  /** Median over replicas of q² = (top eigenvector of X · u)². */
  q2: Float64Array;
  /** Median over replica pairs of |u_top^α · u_top^β| (NaN with one replica). Not squared. */
  replicaOverlap: Float64Array;
  /** Per record, per replica values. */
  perReplica: { lambdaMax: Float64Array[]; q2: Float64Array[] };
  /** Linear closed forms at each recorded t ({@link linearTeacherStudent}): λ_max and q². */
  theory: { lambdaMax: Float64Array; q2: Float64Array };
  /** The teacher's unit vectors (u: N, v: M). */
  teacher: { u: Float64Array; v: Float64Array };
}

/** Top two eigenvalues (ascending, or one if N = 1) and the top unit eigenvector of W Wᵀ. */
async function topEigen(w: Mat<Float64Array>): Promise<{ lambda: number; second: number; vec: Float64Array }> {
  const g = await gram(w);
  const n = w.rows;
  const r = await eigh(g, { range: [Math.max(0, n - 2), n - 1] });
  const last = r.values.length - 1;
  return { lambda: r.values[last]!, second: last > 0 ? r.values[0]! : NaN, vec: r.vectors.data.slice(last * n, (last + 1) * n) };
}

/**
 * Runs fn(i) for i in [0, count) with at most `concurrency` in flight. The native BLAS gate
 * runs small eigenproblems side by side single-threaded and large ones alone with all
 * threads, so no thread setting is changed here.
 */
async function runPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function defaultConcurrency(): number {
  try {
    return Math.max(1, nativeInfo().hardwareThreads);
  } catch {
    return 1;
  }
}

function checkActivation(a: unknown): Activation {
  return checkOneOf(a, 'activation', ['linear', 'relu', 'tanh']);
}

function checkData(d: unknown): 'population' | { alpha: number } {
  if (d === 'population') return d;
  if (typeof d === 'object' && d !== null && 'alpha' in d) {
    return { alpha: checkNumber((d as { alpha: unknown }).alpha, 'data.alpha', { min: 0, minExclusive: true }) };
  }
  throw new RangeError(expected("'population' or { alpha }", 'data', d));
}

/** Nodes and weights of the n-point Gauss–Hermite rule for E[g(z)], z ~ N(0, 1) (Golub–Welsch). */
function gaussHermite(n: number): { z: Float64Array; w: Float64Array } {
  const j = new Float64Array(n * n);
  for (let k = 1; k < n; k++) { j[(k - 1) * n + k] = Math.sqrt(k); j[k * n + (k - 1)] = Math.sqrt(k); }
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
 */
type PopulationMoments = (ww: number, c: number, uu: number) => [number, number];

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
      const A = Math.min(0.25, nw), L = 9 * nw, tmax = Math.asinh(L / A), dt = (2 * tmax) / T;
      for (let k = 0; k <= T; k++) {
        const t = -tmax + k * dt, h = A * Math.sinh(t);
        const wt = (k === 0 || k === T ? 0.5 : 1) * dt * A * Math.cosh(t) * Math.exp((-0.5 * h * h) / ww) / (nw * Math.sqrt(2 * Math.PI));
        nodes.push([h, wt]);
      }
    } else nodes.push([0, 1]);
    let e1 = 0, e2 = 0, mass = 0;
    for (const [h, wh] of nodes) {
      const th = Math.tanh(h), d1 = 1 - th * th, d2 = -2 * th * d1;
      let ef = 0, edf = 0;
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

const act = {
  linear: { f: (h: number) => h, df: (_h: number) => 1 },
  relu: { f: (h: number) => (h > 0 ? h : 0), df: (h: number) => (h > 0 ? 1 : 0) },
  tanh: { f: Math.tanh, df: (h: number) => 1 - Math.tanh(h) ** 2 },
};

/** Median over pairs α < β of |a_α · a_β| (unit vectors of length n). */
function pairOverlap(vecs: Float64Array[]): number {
  const vals: number[] = [];
  for (let a = 0; a < vecs.length; a++) {
    for (let b = a + 1; b < vecs.length; b++) {
      let s = 0;
      const x = vecs[a]!, y = vecs[b]!;
      for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
      vals.push(Math.abs(s));
    }
  }
  return vals.length ? median(vals) : NaN;
}

function dotU(vec: Float64Array, u: Float64Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += vec[i]! * u[i]!;
  return s * s;
}

/**
 * Trains the student by full-batch GD towards the rank-one teacher and records, at step 0,
 * every `recordEvery` steps and the last step, the top eigenvalue of X = W Wᵀ, q² and the
 * replica overlap (medians over replicas), next to the linear closed forms. Seeded and
 * bit-reproducible. Cost per step: O(NM) for population gradients (plus a small quadrature per
 * row for tanh), O(NM²) for linear + data (through Σ̂ = XᵀX/P), O(PNM) in JavaScript for
 * nonlinear activations on finite data.
 */
export async function simulateTeacherStudent(options: SimulateOptions): Promise<SimulateResult> {
  checkObject(options, 'options', 'an options object');
  const n = checkInteger(options.n, 'n', { min: 1 });
  const m = checkInteger(options.m, 'm', { min: 2 });
  const sigmaW = checkNumber(options.sigmaW, 'sigmaW', { min: 0, minExclusive: true });
  const lr = checkNumber(options.lr, 'lr', { min: 0 });
  const steps = checkInteger(options.steps, 'steps', { min: 0 });
  const activation = checkActivation(options.activation ?? 'linear');
  const data = checkData(options.data ?? 'population');
  const replicas = checkInteger(options.replicas ?? 10, 'replicas', { min: 1 });
  const seed = checkInteger(options.seed ?? 0, 'seed');
  const every = checkInteger(options.recordEvery ?? Math.max(1, steps), 'recordEvery', { min: 1 });
  const concurrency = checkInteger(options.concurrency ?? defaultConcurrency(), 'concurrency', { min: 1 });
  const ratio = n / m;

  const trng = new Rng(seed, 0);
  const u = trng.unitVector(n), v = trng.unitVector(m);
  const recorded: number[] = [];
  for (let t = 0; t <= steps; t += every) recorded.push(t);
  if (recorded[recorded.length - 1] !== steps) recorded.push(steps);

  // Finite data: Xt is M x P (column p = input x_p); Σ̂ = Xt Xtᵀ/P for the linear model.
  let Xt: Float64Array | undefined, P = 0, sigmaHat: Float64Array | undefined, teacherOut: Float64Array | undefined;
  if (data !== 'population') {
    P = Math.max(1, Math.round(data.alpha * m));
    Xt = new Rng(seed, 1).fillNormal(new Float64Array(m * P));
    if (activation === 'linear') {
      const g = await gram({ data: Xt, rows: m, cols: P });
      sigmaHat = g.data.map((x) => x / P);
    } else {
      teacherOut = new Float64Array(P); // v · x_p
      for (let j = 0; j < m; j++) { const vj = v[j]!; const off = j * P; for (let p = 0; p < P; p++) teacherOut[p]! += vj * Xt[off + p]!; }
    }
  }

  const R = recorded.length;
  const lam: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const second: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const q2: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const vecs: Float64Array[][] = recorded.map(() => new Array<Float64Array>(replicas));

  const moments: PopulationMoments | undefined =
    data === 'population' && activation !== 'linear' ? (activation === 'relu' ? reluMoments : tanhMoments()) : undefined;
  const step = (W: Float64Array): void => {
    if (moments) {
      // Nonlinear population gradient, row by row: w_a ← w_a + ε(E∂_hF · w_a + E∂_{h*}F · u_a v).
      for (let i = 0; i < n; i++) {
        const off = i * m;
        let ww = 0, wv = 0;
        for (let j = 0; j < m; j++) { const x = W[off + j]!; ww += x * x; wv += x * v[j]!; }
        const ui = u[i]!;
        const [e1, e2] = moments(ww, ui * wv, ui * ui);
        const a = 1 + lr * e1, b = lr * e2 * ui;
        for (let j = 0; j < m; j++) W[off + j] = a * W[off + j]! + b * v[j]!;
      }
      return;
    }
    if (data === 'population') {
      const a = 1 - lr;
      for (let i = 0; i < n; i++) { const lu = lr * u[i]!; const off = i * m; for (let j = 0; j < m; j++) W[off + j] = a * W[off + j]! + lu * v[j]!; }
      return;
    }
    const grad = new Float64Array(n * m);
    if (sigmaHat) {
      // ∇ = (W − W*) Σ̂
      const D = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) D[i * m + j] = W[i * m + j]! - u[i]! * v[j]!;
      for (let i = 0; i < n; i++) {
        const gi = i * m;
        for (let k = 0; k < m; k++) {
          const d = D[i * m + k]!;
          if (d === 0) continue;
          const sk = k * m;
          for (let j = 0; j < m; j++) grad[gi + j]! += d * sigmaHat[sk + j]!;
        }
      }
    } else {
      // ∇_W = −(1/P) Σ_p δ_p x_pᵀ, δ = (y − f(Wx)) ⊙ f'(Wx)
      const { f, df } = act[activation];
      const h = new Float64Array(P);
      for (let i = 0; i < n; i++) {
        h.fill(0);
        for (let j = 0; j < m; j++) { const wij = W[i * m + j]!; const off = j * P; for (let p = 0; p < P; p++) h[p]! += wij * Xt![off + p]!; }
        const ui = u[i]!;
        for (let p = 0; p < P; p++) { const hp = h[p]!; h[p] = (f(ui * teacherOut![p]!) - f(hp)) * df(hp); }
        for (let j = 0; j < m; j++) { let s = 0; const off = j * P; for (let p = 0; p < P; p++) s += h[p]! * Xt![off + p]!; grad[i * m + j] = -s / P; }
      }
    }
    for (let k = 0; k < W.length; k++) W[k]! -= lr * grad[k]!;
  };

  await runPool(replicas, concurrency, async (rho) => {
    const W = new Rng(seed, 2 + rho).fillNormal(new Float64Array(n * m), 0, sigmaW / Math.sqrt(m));
    let t = 0;
    for (let k = 0; k < R; k++) {
      while (t < recorded[k]!) { step(W); t++; }
      const top = await topEigen({ data: W, rows: n, cols: m });
      lam[k]![rho] = top.lambda;
      second[k]![rho] = top.second;
      q2[k]![rho] = dotU(top.vec, u);
      vecs[k]![rho] = top.vec;
    }
  });

  const theoryAt = (t: number): { edge: number; lmax: number; q2: number } => {
    const p = { sigmaW, ratio, lr, t };
    return { edge: linearTeacherStudent.bulkEdge(p), lmax: linearTeacherStudent.lambdaMax(p), q2: linearTeacherStudent.overlap(p) };
  };
  const th = recorded.map(theoryAt);
  return {
    steps: recorded,
    lambdaMax: Float64Array.from(lam, median),
    secondEigenvalue: Float64Array.from(second, median),
    bulkEdge: Float64Array.from(th, (x) => x.edge),
    q2: Float64Array.from(q2, median),
    replicaOverlap: Float64Array.from(vecs, pairOverlap),
    perReplica: { lambdaMax: lam, q2 },
    theory: { lambdaMax: Float64Array.from(th, (x) => x.lmax), q2: Float64Array.from(th, (x) => x.q2) },
    teacher: { u, v },
  };
}

/** Options of {@link phaseDiagram}. */
export interface PhaseDiagramOptions {
  /** σ_W values (the diagram's x axis is 1/σ_W). */
  sigmaW: number[];
  /** Step sizes ε (y axis). */
  lr: number[];
  /** GD steps (default 1). */
  t?: number;
  /** N (default 100). */
  n?: number;
  /** M (default 200). */
  m?: number;
  /** Replicas per cell (default 15). */
  replicas?: number;
  seed?: number;
  /**
   * Default 'linear'. For 'relu'/'tanh' the outlier threshold and the theory columns are still
   * those of the linear model (λ₊(t) with step ε), so the measured phase is indicative only.
   */
  activation?: Activation;
  /** Default 'population'. */
  data?: 'population' | { alpha: number };
  /** Outlier margin above λ₊(t), in Tracy–Widom scales (default TW₁ 99%: 2.0234). */
  margin?: number;
  /** Concurrent native calls (default: hardware threads). */
  concurrency?: number;
}

/** One (σ_W, ε) cell of {@link phaseDiagram}. */
export interface PhaseCell {
  sigmaW: number;
  lr: number;
  /** Median over replicas of q² (top eigenvector of W_t W_tᵀ · u)². */
  q2: number;
  /** Median over replicas of λ_max(W_t W_tᵀ). */
  lambdaMax: number;
  /** Median over replica pairs of |u_top^α · u_top^β|. */
  replicaOverlap: number;
  /** Fraction of replicas whose λ_max exceeds λ₊(t) + margin · TW scale. */
  outlierFraction: number;
  /** outlierFraction > ½. */
  outlier: boolean;
  /** Measured phase: 'disordered' without outlier, else 'ferromagnetic' (ε ≤ 1) / 'paramagnetic'. */
  phase: TeacherStudentPhase;
  /** Linear closed-form phase, q² and bulk edge λ₊(t). */
  theoryPhase: TeacherStudentPhase;
  theoryQ2: number;
  bulkEdge: number;
}

/** Result of {@link phaseDiagram}. */
export interface PhaseDiagram {
  sigmaW: number[];
  lr: number[];
  t: number;
  n: number;
  m: number;
  ratio: number;
  replicas: number;
  /** Row-major: cells[i * lr.length + j] is (sigmaW[i], lr[j]). */
  cells: PhaseCell[];
  /** Analytic boundaries per σ_W: ε_c(t), the upper branch, and ε_o = 1. */
  boundaries: Array<{ sigmaW: number; invSigmaW: number; criticalStep: number; upperCriticalStep: number; optimalStep: number }>;
}

/** `count` log-spaced values from 10^lo to 10^hi (like numpy.logspace). */
export function logspace(lo: number, hi: number, count: number): number[] {
  checkInteger(count, 'count', { min: 1 });
  return Array.from({ length: count }, (_, k) => Math.pow(10, count === 1 ? lo : lo + ((hi - lo) * k) / (count - 1)));
}

function checkGrid(x: unknown, name: string): number[] {
  if (!Array.isArray(x) || x.length === 0) throw new TypeError(expected('a non-empty array of numbers', name, x));
  return x.map((v, i) => checkNumber(v, `${name}[${i}]`, { min: 0, minExclusive: name === 'sigmaW' }));
}

/**
 * The trainability phase diagram of research/bbp.md §2.3: for every (σ_W, ε) cell, `replicas`
 * students trained for t steps towards one teacher; per cell the median q², λ_max, replica
 * overlap, outlier presence (λ_max above λ₊(t) plus a Tracy–Widom margin at the noise
 * variance s_t²) and phase, next to the linear closed forms and analytic boundaries. Linear +
 * population cells use the exact closed form W_t = (1−ε)^t W₀ + [1 − (1−ε)^t] W* (identical to
 * t GD steps); other settings run {@link simulateTeacherStudent} per cell. The same seed
 * gives the same teacher and initial weights in every cell. Both cores are used (see the
 * module doc).
 */
export async function phaseDiagram(options: PhaseDiagramOptions): Promise<PhaseDiagram> {
  checkObject(options, 'options', 'an options object');
  const sig = checkGrid(options.sigmaW, 'sigmaW');
  const lrs = checkGrid(options.lr, 'lr');
  const t = checkInteger(options.t ?? 1, 't', { min: 1 });
  const n = checkInteger(options.n ?? 100, 'n', { min: 1 });
  const m = checkInteger(options.m ?? 200, 'm', { min: 2 });
  const replicas = checkInteger(options.replicas ?? 15, 'replicas', { min: 1 });
  const seed = checkInteger(options.seed ?? 0, 'seed');
  const activation = checkActivation(options.activation ?? 'linear');
  const data = checkData(options.data ?? 'population');
  const margin = checkNumber(options.margin ?? TRACY_WIDOM_1.q99, 'margin');
  const concurrency = checkInteger(options.concurrency ?? defaultConcurrency(), 'concurrency', { min: 1 });
  const ratio = n / m;
  const nc = sig.length * lrs.length;
  const lamAll = new Float64Array(nc * replicas);
  const q2All = new Float64Array(nc * replicas);
  const vecAll: Float64Array[] = new Array(nc * replicas);
  const slowOverlap = new Float64Array(nc).fill(NaN);

  if (data === 'population' && activation === 'linear') {
    const trng = new Rng(seed, 0);
    const u = trng.unitVector(n), v = trng.unitVector(m);
    const Z = Array.from({ length: replicas }, (_, rho) => new Rng(seed, 2 + rho).fillNormal(new Float64Array(n * m)));
    await runPool(nc * replicas, concurrency, async (task) => {
      const cell = Math.floor(task / replicas), rho = task % replicas;
      const s = sig[Math.floor(cell / lrs.length)]!, e = lrs[cell % lrs.length]!;
      const decay = Math.pow(1 - e, t);
      const a = (decay * s) / Math.sqrt(m), b = 1 - decay;
      const z = Z[rho]!;
      const W = new Float64Array(n * m);
      for (let i = 0; i < n; i++) { const bu = b * u[i]!; const off = i * m; for (let j = 0; j < m; j++) W[off + j] = a * z[off + j]! + bu * v[j]!; }
      const top = await topEigen({ data: W, rows: n, cols: m });
      lamAll[task] = top.lambda;
      q2All[task] = dotU(top.vec, u);
      vecAll[task] = top.vec;
    });
  } else {
    for (let cell = 0; cell < nc; cell++) {
      const s = sig[Math.floor(cell / lrs.length)]!, e = lrs[cell % lrs.length]!;
      const res = await simulateTeacherStudent({ n, m, sigmaW: s, lr: e, steps: t, activation, data, replicas, seed, recordEvery: t, concurrency });
      const k = res.steps.length - 1;
      for (let rho = 0; rho < replicas; rho++) {
        lamAll[cell * replicas + rho] = res.perReplica.lambdaMax[k]![rho]!;
        q2All[cell * replicas + rho] = res.perReplica.q2[k]![rho]!;
      }
      slowOverlap[cell] = res.replicaOverlap[k]!;
    }
  }

  const tw = tracyWidomScale({ rows: n, cols: m, variance: 1 });
  const cells: PhaseCell[] = [];
  for (let cell = 0; cell < nc; cell++) {
    const s = sig[Math.floor(cell / lrs.length)]!, e = lrs[cell % lrs.length]!;
    const p = { sigmaW: s, ratio, lr: e, t };
    const edge = linearTeacherStudent.bulkEdge(p);
    const threshold = edge + margin * tw * linearTeacherStudent.noiseVariance(p);
    const lam = lamAll.subarray(cell * replicas, (cell + 1) * replicas);
    let above = 0;
    for (const l of lam) if (l > threshold) above++;
    const frac = above / replicas;
    const outlier = frac > 0.5;
    const vs = vecAll.slice(cell * replicas, (cell + 1) * replicas).filter((x) => x !== undefined);
    cells.push({
      sigmaW: s,
      lr: e,
      q2: median(q2All.subarray(cell * replicas, (cell + 1) * replicas)),
      lambdaMax: median(lam),
      replicaOverlap: vs.length > 1 ? pairOverlap(vs) : slowOverlap[cell]!,
      outlierFraction: frac,
      outlier,
      phase: !outlier ? 'disordered' : e <= 1 ? 'ferromagnetic' : 'paramagnetic',
      theoryPhase: linearTeacherStudent.phase(p),
      theoryQ2: linearTeacherStudent.overlap(p),
      bulkEdge: edge,
    });
  }
  const boundaries = sig.map((s) => ({
    sigmaW: s,
    invSigmaW: 1 / s,
    criticalStep: linearTeacherStudent.criticalStep({ sigmaW: s, ratio, t }),
    upperCriticalStep: linearTeacherStudent.upperCriticalStep({ sigmaW: s, ratio, t }),
    optimalStep: linearTeacherStudent.optimalStep,
  }));
  return { sigmaW: sig, lr: lrs, t, n, m, ratio, replicas, cells, boundaries };
}

/** Options of {@link estimateCriticalStep}. */
export interface CriticalStepOptions {
  /** σ_W (default 1). */
  sigmaW?: number;
  /** r = N/M (default 0.5); M = round(N/r). */
  ratio?: number;
  /** System sizes N, ascending (default [64, 128, 256]). */
  sizes?: number[];
  /** Grid of steps ε, ascending, bracketing ε_c (default 11 points on [0.8, 1.2]·ε_c(theory)). */
  lr?: number[];
  /** Independent samples (teacher + init) per size (default 40). */
  samples?: number;
  /** GD steps (default 1). */
  t?: number;
  seed?: number;
  /** Jackknife blocks over samples (default 10). */
  blocks?: number;
  /** Concurrent native calls (default: hardware threads). */
  concurrency?: number;
}

/** Result of {@link estimateCriticalStep}. */
export interface CriticalStepEstimate {
  /** Estimated ε_c: mean of the Binder-cumulant crossings of consecutive sizes. */
  lrCritical: number;
  /** Jackknife standard error of lrCritical (over sample blocks). */
  error: number;
  /** The closed form ε_c(σ_W, r, t) for comparison. */
  theory: number;
  /** Crossing ε of U₄(N_k) and U₄(N_{k+1}) (linear interpolation on the grid), per consecutive pair. */
  crossings: Array<{ n1: number; n2: number; lr: number }>;
  /** U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) of m = q² per size and step. */
  binder: Array<{ n: number; lr: number[]; u4: Float64Array }>;
}

/**
 * Finite-size estimate of the critical step ε_c of the linear model (population gradient,
 * t steps) from the Binder cumulant U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) of m = q² over independent
 * samples: U₄(ε) curves for consecutive sizes N cross near ε_c (below it, q² ~ χ²/N and U₄ is
 * negative; above, q² concentrates and U₄ → 2/3). The estimate is the mean of the crossings,
 * with a delete-one-block jackknife error over samples (replicates without a crossing are
 * skipped). The authors' Padé scaling-collapse fit is not reproduced. RangeError when the grid
 * does not bracket a crossing.
 */
export async function estimateCriticalStep(options: CriticalStepOptions = {}): Promise<CriticalStepEstimate> {
  const sigmaW = checkNumber(options.sigmaW ?? 1, 'sigmaW', { min: 0, minExclusive: true });
  const ratio = checkNumber(options.ratio ?? 0.5, 'ratio', { min: 0, minExclusive: true });
  const t = checkInteger(options.t ?? 1, 't', { min: 1 });
  const theory = linearTeacherStudent.criticalStep({ sigmaW, ratio, t });
  const sizes = options.sizes ?? [64, 128, 256];
  if (!Array.isArray(sizes) || sizes.length < 2) throw new RangeError(expected('at least 2 sizes', 'sizes', sizes));
  sizes.forEach((v, i) => {
    checkInteger(v, `sizes[${i}]`, { min: 2 });
    if (i > 0 && !(v > sizes[i - 1]!)) throw new RangeError(expected(`a size > ${sizes[i - 1]} (ascending sizes)`, `sizes[${i}]`, v));
  });
  const lrs = options.lr ?? Array.from({ length: 11 }, (_, k) => theory * (0.8 + 0.04 * k));
  if (!Array.isArray(lrs) || lrs.length < 2) throw new RangeError(expected('at least 2 steps', 'lr', lrs));
  lrs.forEach((v, i) => {
    checkNumber(v, `lr[${i}]`, { min: 0, minExclusive: true });
    if (i > 0 && !(v > lrs[i - 1]!)) throw new RangeError(expected(`a step > ${lrs[i - 1]} (ascending steps)`, `lr[${i}]`, v));
  });
  const samples = checkInteger(options.samples ?? 40, 'samples', { min: 4 });
  const seed = checkInteger(options.seed ?? 0, 'seed');
  const blocks = checkInteger(options.blocks ?? 10, 'blocks', { min: 2 });
  const concurrency = checkInteger(options.concurrency ?? defaultConcurrency(), 'concurrency', { min: 1 });
  const L = lrs.length;
  // q2[k][j * samples + s]: size k, step j, sample s.
  const q2 = sizes.map(() => new Float64Array(L * samples));
  const tasks = sizes.length * samples;
  await runPool(tasks, concurrency, async (task) => {
    const k = Math.floor(task / samples), s = task % samples;
    const n = sizes[k]!, m = Math.max(2, Math.round(n / ratio));
    const rng = new Rng(seed, 1_000_003 * (k + 1) + s);
    const u = rng.unitVector(n), v = rng.unitVector(m);
    const z = rng.fillNormal(new Float64Array(n * m));
    const W = new Float64Array(n * m);
    for (let j = 0; j < L; j++) {
      const decay = Math.pow(1 - lrs[j]!, t);
      const a = (decay * sigmaW) / Math.sqrt(m), b = 1 - decay;
      for (let i = 0; i < n; i++) { const bu = b * u[i]!; const off = i * m; for (let c = 0; c < m; c++) W[off + c] = a * z[off + c]! + bu * v[c]!; }
      const top = await topEigen({ data: W, rows: n, cols: m });
      q2[k]![j * samples + s] = dotU(top.vec, u);
    }
  });
  const binderCurves = (keep: Uint8Array): Float64Array[] =>
    sizes.map((_, k) => {
      const u4 = new Float64Array(L);
      for (let j = 0; j < L; j++) {
        let m2 = 0, m4 = 0, c = 0;
        for (let s = 0; s < samples; s++) {
          if (!keep[s]) continue;
          const x = q2[k]![j * samples + s]!;
          m2 += x * x; m4 += x ** 4; c++;
        }
        m2 /= c; m4 /= c;
        u4[j] = 1 - m4 / (3 * m2 * m2);
      }
      return u4;
    });
  const crossingsOf = (curves: Float64Array[]): number[] =>
    sizes.slice(0, -1).map((_, k) => {
      const a = curves[k]!, b = curves[k + 1]!;
      for (let j = 0; j + 1 < L; j++) {
        const d0 = b[j]! - a[j]!, d1 = b[j + 1]! - a[j + 1]!;
        if (d0 <= 0 && d1 > 0) return lrs[j]! + ((lrs[j + 1]! - lrs[j]!) * -d0) / (d1 - d0);
      }
      return NaN;
    });
  const meanFinite = (xs: number[]): number => {
    const f = xs.filter(Number.isFinite);
    return f.length === xs.length ? f.reduce((p, c) => p + c, 0) / f.length : NaN;
  };
  const all = new Uint8Array(samples).fill(1);
  const curves = binderCurves(all);
  const cross = crossingsOf(curves);
  if (!cross.every(Number.isFinite)) {
    throw new RangeError(expected('an lr grid bracketing the Binder-cumulant crossing of every pair of sizes', 'lr', lrs));
  }
  const jk = jackknife(samples, blocks, (keep) => meanFinite(crossingsOf(binderCurves(keep))));
  const reps = Array.from(jk.replicates).filter(Number.isFinite);
  const rm = reps.reduce((p, c) => p + c, 0) / reps.length;
  const g = reps.length;
  const error = g > 1 ? Math.sqrt(((g - 1) / g) * reps.reduce((p, c) => p + (c - rm) ** 2, 0)) : NaN;
  return {
    lrCritical: jk.value,
    error,
    theory,
    crossings: cross.map((lr, k) => ({ n1: sizes[k]!, n2: sizes[k + 1]!, lr })),
    binder: sizes.map((n, k) => ({ n, lr: lrs.slice(), u4: curves[k]! })),
  };
}
