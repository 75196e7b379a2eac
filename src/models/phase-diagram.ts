/**
 * The trainability phase diagram of the teacher–student model in (1/σ_W, ε) (Park, Bocchi,
 * D'Amico, Lucini & Aarts 2026, arXiv:2606.28486): per cell, replicas trained for t steps,
 * their top eigenpair of X = W Wᵀ read against the closed forms of the setting (linear,
 * nonlinear one-step, finite data) and its analytic boundaries.
 */
import { expected } from '../errors.js';
import { Rng } from '../random.js';
import { tracyWidomScale, TRACY_WIDOM_1 } from '../rmt/spikes.js';
import { median } from '../stats.js';
import { checkInteger, checkNumber, checkObject } from '../validate.js';
import {
  type Activation,
  type Computation,
  type DataSpec,
  checkActivation,
  checkData,
  linearWeights,
  pairOverlap,
  parallel,
  runWithOptions,
  runSync,
  squaredOverlap,
  topEigenOf,
} from './physics.js';
import { simulation } from './simulate.js';
import { type SettingTheory, theoryOf } from './theory.js';
import type { TeacherStudentPhase } from './teacher-student.js';

/** Options of {@link phaseDiagram}. */
export interface PhaseDiagramOptions {
  /** σ_W values (the diagram's x axis is 1/σ_W). */
  sigmaW: number[];
  /** Step sizes ε (y axis). */
  lr: number[];
  /** GD steps (default 1). Nonlinear activations and finite data need t = 1 (their closed forms are one-step). */
  t?: number;
  /** N (default 100). */
  n?: number;
  /** M (default 200). */
  m?: number;
  /** Replicas per cell (default 15). */
  replicas?: number;
  seed?: number;
  /**
   * Default 'linear'. 'relu'/'tanh' read the cells against the one-step nonlinear closed forms
   * ({@link nonlinearTeacherStudent}: bulk edge (1 − εμ₂)²σ_W²(1 + √r)², ε_c, ε_c⁺, ε_o = 1/μ₂).
   */
  activation?: Activation;
  /**
   * Default 'population'. { alpha } reads linear cells against the finite-data closed forms
   * ({@link finiteDataTeacherStudent}); nonlinear cells on finite data are read against the
   * nonlinear population limit, which fails where the dataset's gradient noise dominates (see
   * docs/rmt.md).
   */
  data?: DataSpec;
  /** Outlier margin above the bulk edge, in Tracy–Widom scales (default TW₁ 99%: 2.0234). */
  margin?: number;
  /** Concurrent native calls (default: hardware threads; ignored by the Sync twin). */
  concurrency?: number;
  /** Cancels the async call (rejects with AbortError). */
  signal?: AbortSignal;
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
  /** Fraction of replicas whose λ_max exceeds the theory bulk edge + margin · TW scale. */
  outlierFraction: number;
  /** outlierFraction > ½. */
  outlier: boolean;
  /** Measured phase: 'disordered' without outlier, else 'ferromagnetic' (ε ≤ ε_o) / 'paramagnetic'. */
  phase: TeacherStudentPhase;
  /** Closed-form phase, q² and bulk edge of the setting (see {@link PhaseDiagramOptions.activation}). */
  theoryPhase: TeacherStudentPhase;
  theoryQ2: number;
  bulkEdge: number;
}

/** The analytic boundaries of the ordered region at one σ_W. */
export interface PhaseBoundary {
  sigmaW: number;
  invSigmaW: number;
  /** The lowest ε at which the outlier appears (ε_c; NaN if never). */
  criticalStep: number;
  /** The end of the first ordered interval (ε_c⁺; Infinity if it never closes; NaN if no ordered interval). */
  upperCriticalStep: number;
  /** ε_o: above it the ordered phase is paramagnetic (1 linear, 1/μ₂ nonlinear, α/(α − 1) finite data). */
  optimalStep: number;
  /** Every interval of ε > 0 with an outlier, ascending ([lo, hi], hi may be Infinity). */
  orderedIntervals: Array<[number, number]>;
  /** Every vanishing point of the ordered region: the finite endpoints of orderedIntervals, ascending. */
  transitions: number[];
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
  activation: Activation;
  data: DataSpec;
  /** Row-major: cells[i * lr.length + j] is (sigmaW[i], lr[j]). */
  cells: PhaseCell[];
  /** Analytic boundaries per σ_W. */
  boundaries: PhaseBoundary[];
}

/** `count` log-spaced values from 10^lo to 10^hi (like numpy.logspace). @throws {RangeError} for count < 1. */
export function logspace(lo: number, hi: number, count: number): number[] {
  checkInteger(count, 'count', { min: 1 });
  return Array.from({ length: count }, (_, k) => 10 ** (count === 1 ? lo : lo + ((hi - lo) * k) / (count - 1)));
}

function checkGrid(x: unknown, name: string): number[] {
  if (!Array.isArray(x) || x.length === 0) throw new TypeError(expected('a non-empty array of numbers', name, x));
  return x.map((v, i) => checkNumber(v, `${name}[${i}]`, { min: 0, minExclusive: name === 'sigmaW' }));
}

interface Resolved {
  sig: number[];
  lrs: number[];
  t: number;
  n: number;
  m: number;
  replicas: number;
  seed: number;
  activation: Activation;
  data: DataSpec;
  margin: number;
}

function resolve(options: PhaseDiagramOptions): Resolved {
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
  if (t !== 1 && (activation !== 'linear' || data !== 'population')) {
    throw new RangeError(
      expected('t = 1 for a nonlinear activation or finite data (their closed forms are one-step)', 't', t),
    );
  }
  return { sig, lrs, t, n, m, replicas, seed, activation, data, margin };
}

function* diagram(o: Resolved): Computation<PhaseDiagram> {
  const { sig, lrs, t, n, m, replicas, seed, activation, data, margin } = o;
  const ratio = n / m;
  const nc = sig.length * lrs.length;
  const lamAll = new Float64Array(nc * replicas);
  const q2All = new Float64Array(nc * replicas);
  const vecAll: Float64Array[] = new Array(nc * replicas);
  const slowOverlap = new Float64Array(nc).fill(NaN);
  const trng = new Rng(seed, 0);
  const u = trng.unitVector(n),
    v = trng.unitVector(m);

  if (data === 'population' && activation === 'linear') {
    // The closed form W_t (identical to t GD steps) for every cell from the same Z per replica.
    const Z = Array.from({ length: replicas }, (_, rho) => new Rng(seed, 2 + rho).fillNormal(new Float64Array(n * m)));
    yield* parallel(
      Array.from(
        { length: nc * replicas },
        (_, task) =>
          function* (): Computation<void> {
            const cell = Math.floor(task / replicas),
              rho = task % replicas;
            const s = sig[Math.floor(cell / lrs.length)]!,
              e = lrs[cell % lrs.length]!;
            const W = linearWeights(new Float64Array(n * m), Z[rho]!, u, v, s, e, t);
            const top = yield* topEigenOf({ data: W, rows: n, cols: m });
            lamAll[task] = top.lambda;
            q2All[task] = squaredOverlap(top.vec, u);
            vecAll[task] = top.vec;
          },
      ),
    );
  } else {
    for (let cell = 0; cell < nc; cell++) {
      const s = sig[Math.floor(cell / lrs.length)]!,
        e = lrs[cell % lrs.length]!;
      const res = yield* simulation({ n, m, sigmaW: s, lr: e, steps: t, activation, data, replicas, seed, every: t });
      const k = res.steps.length - 1;
      for (let rho = 0; rho < replicas; rho++) {
        lamAll[cell * replicas + rho] = res.perReplica.lambdaMax[k]![rho]!;
        q2All[cell * replicas + rho] = res.perReplica.q2[k]![rho]!;
      }
      slowOverlap[cell] = res.replicaOverlap[k]!;
    }
  }

  const theory: SettingTheory = theoryOf({ activation, data, ratio, t, u });
  const tw = tracyWidomScale({ rows: n, cols: m, variance: 1 });
  const cells: PhaseCell[] = [];
  for (let cell = 0; cell < nc; cell++) {
    const s = sig[Math.floor(cell / lrs.length)]!,
      e = lrs[cell % lrs.length]!;
    const edge = theory.bulkEdge(s, e);
    const threshold = edge + margin * tw * theory.noiseVariance(s, e);
    const lam = lamAll.subarray(cell * replicas, (cell + 1) * replicas);
    let above = 0;
    for (const l of lam) if (l > threshold) above++;
    const frac = above / replicas;
    const outlier = frac > 0.5;
    const vs = vecAll.slice(cell * replicas, (cell + 1) * replicas).filter((x) => x !== undefined);
    const eo = theory.optimalStep(s);
    cells.push({
      sigmaW: s,
      lr: e,
      q2: median(q2All.subarray(cell * replicas, (cell + 1) * replicas)),
      lambdaMax: median(lam),
      replicaOverlap: vs.length > 1 ? pairOverlap(vs) : slowOverlap[cell]!,
      outlierFraction: frac,
      outlier,
      phase: !outlier ? 'disordered' : e <= eo ? 'ferromagnetic' : 'paramagnetic',
      theoryPhase: theory.phase(s, e),
      theoryQ2: theory.overlap(s, e),
      bulkEdge: edge,
    });
  }
  const boundaries = sig.map((s): PhaseBoundary => {
    const intervals = theory.orderedIntervals(s);
    const transitions: number[] = [];
    for (const [lo, hi] of intervals) {
      if (lo > 0) transitions.push(lo);
      if (Number.isFinite(hi)) transitions.push(hi);
    }
    return {
      sigmaW: s,
      invSigmaW: 1 / s,
      criticalStep: intervals.length ? intervals[0]![0] : NaN,
      upperCriticalStep: intervals.length ? intervals[0]![1] : NaN,
      optimalStep: theory.optimalStep(s),
      orderedIntervals: intervals,
      transitions,
    };
  });
  return { sigmaW: sig, lr: lrs, t, n, m, ratio, replicas, activation, data, cells, boundaries };
}

/**
 * The trainability phase diagram: for every (σ_W, ε) cell, `replicas` students trained for
 * t steps towards one teacher; per cell the median q², λ_max, replica overlap, outlier presence
 * (λ_max above the setting's bulk edge plus a Tracy–Widom margin at its noise variance) and
 * phase, next to the closed forms and the analytic boundaries (every vanishing point of the
 * ordered region). Linear + population cells use the closed form W_t = (1−ε)^t W₀ +
 * [1 − (1−ε)^t] W* (identical to t GD steps); other settings run the simulator per cell. The
 * same seed gives the same teacher and initial weights in every cell. Both cores are used.
 *
 * @throws {TypeError|RangeError} for bad options (naming the option); {@link AbortError} when
 *   `signal` aborts.
 * @example
 * const pd = await phaseDiagram({ sigmaW: logspace(-1, 1, 12), lr: logspace(-2, 2, 12), n: 100, m: 200 });
 * for (const c of pd.cells) console.log(c.sigmaW, c.lr, c.phase, c.q2);
 */
export async function phaseDiagram(options: PhaseDiagramOptions): Promise<PhaseDiagram> {
  return runWithOptions(diagram(resolve(options)), options);
}

/**
 * {@link phaseDiagram} on the calling thread (blocks it: a 20 x 20 grid at N = 100 takes
 * about a second); identical results.
 *
 * @throws {TypeError|RangeError} for bad options.
 */
export function phaseDiagramSync(options: Omit<PhaseDiagramOptions, 'concurrency' | 'signal'>): PhaseDiagram {
  return runSync(diagram(resolve(options)));
}
