/**
 * The teacher–student simulator (Park, Bocchi, D'Amico, Lucini & Aarts 2026, arXiv:2606.28486):
 * a student W (N x M, r = N/M, W₀_ij ~ N(0, σ_W²/M)) trained by full-batch gradient descent with
 * step ε (`lr`) towards a rank-one teacher W* = u vᵀ (|u| = |v| = 1), read through the top
 * eigenpair of X = W Wᵀ. The gradient physics lives in physics.ts.
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
 * results do not depend on `concurrency`. {@link simulateTeacherStudentSync} runs the same
 * computation on the calling thread (bit-identical results).
 */
import { Rng } from '../random.js';
import { median } from '../stats.js';
import { checkInteger, checkNumber, checkObject } from '../validate.js';
import {
  type Activation,
  type Computation,
  type DataSpec,
  checkActivation,
  checkData,
  gramOf,
  makeGradientStep,
  pairOverlap,
  parallel,
  runWithOptions,
  runSync,
  squaredOverlap,
  topEigenOf,
} from './physics.js';
import { linearTeacherStudent } from './teacher-student.js';

export type { Activation, DataSpec } from './physics.js';

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
  data?: DataSpec;
  /** Independent initialisations sharing one teacher (default 10). */
  replicas?: number;
  /** Default 0. */
  seed?: number;
  /** Record every k steps (and at step 0 and the last step); default `steps`. */
  recordEvery?: number;
  /** Concurrent native calls (default: hardware threads; ignored by the Sync twin). */
  concurrency?: number;
  /** Cancels the async call (rejects with AbortError). */
  signal?: AbortSignal;
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

/** Resolved options of a simulation. @internal */
interface SimulationSetting {
  n: number;
  m: number;
  sigmaW: number;
  lr: number;
  steps: number;
  activation: Activation;
  data: DataSpec;
  replicas: number;
  seed: number;
  every: number;
}

function resolveSimulation(options: SimulateOptions): SimulationSetting {
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
  return { n, m, sigmaW, lr, steps, activation, data, replicas, seed, every };
}

/** The simulation as a computation (see physics.ts); also used per cell by the phase diagram. @internal */
export function* simulation(o: SimulationSetting): Computation<SimulateResult> {
  const { n, m, sigmaW, lr, steps, activation, data, replicas, seed, every } = o;
  const ratio = n / m;
  const trng = new Rng(seed, 0);
  const u = trng.unitVector(n),
    v = trng.unitVector(m);
  const recorded: number[] = [];
  for (let t = 0; t <= steps; t += every) recorded.push(t);
  if (recorded[recorded.length - 1] !== steps) recorded.push(steps);

  // Finite data: xt is M x P (column p = input x_p); Σ̂ = X Xᵀ/P for the linear model.
  let xt: Float64Array | undefined,
    P = 0,
    sigmaHat: Float64Array | undefined;
  if (data !== 'population') {
    P = Math.max(1, Math.round(data.alpha * m));
    xt = new Rng(seed, 1).fillNormal(new Float64Array(m * P));
    if (activation === 'linear') sigmaHat = (yield* gramOf({ data: xt, rows: m, cols: P })).data.map((x) => x / P);
  }
  const step = makeGradientStep({
    n,
    m,
    lr,
    activation,
    u,
    v,
    ...(xt ? { xt, p: P } : {}),
    ...(sigmaHat ? { sigmaHat } : {}),
  });

  const R = recorded.length;
  const lam: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const second: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const q2: Float64Array[] = recorded.map(() => new Float64Array(replicas));
  const vecs: Float64Array[][] = recorded.map(() => new Array<Float64Array>(replicas));
  yield* parallel(
    Array.from(
      { length: replicas },
      (_, rho) =>
        function* (): Computation<void> {
          const W = new Rng(seed, 2 + rho).fillNormal(new Float64Array(n * m), 0, sigmaW / Math.sqrt(m));
          let t = 0;
          for (let k = 0; k < R; k++) {
            while (t < recorded[k]!) {
              step(W);
              t++;
            }
            const top = yield* topEigenOf({ data: W, rows: n, cols: m });
            lam[k]![rho] = top.lambda;
            second[k]![rho] = top.second;
            q2[k]![rho] = squaredOverlap(top.vec, u);
            vecs[k]![rho] = top.vec;
          }
        },
    ),
  );

  const th = recorded.map((t) => {
    const p = { sigmaW, ratio, lr, t };
    return {
      edge: linearTeacherStudent.bulkEdge(p),
      lmax: linearTeacherStudent.lambdaMax(p),
      q2: linearTeacherStudent.overlap(p),
    };
  });
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

/**
 * Trains the student by full-batch GD towards the rank-one teacher and records, at step 0,
 * every `recordEvery` steps and the last step, the top eigenvalue of X = W Wᵀ, q² and the
 * replica overlap (medians over replicas), next to the linear closed forms. Seeded and
 * bit-reproducible. Cost per step: O(NM) for population gradients (plus a small quadrature per
 * row for tanh), O(NM²) for linear + data (through Σ̂ = XᵀX/P), O(PNM) in JavaScript for
 * nonlinear activations on finite data.
 *
 * @throws {TypeError|RangeError} for bad options (naming the option); {@link AbortError} when
 *   `signal` aborts.
 */
export async function simulateTeacherStudent(options: SimulateOptions): Promise<SimulateResult> {
  return runWithOptions(simulation(resolveSimulation(options)), options);
}

/**
 * {@link simulateTeacherStudent} on the calling thread (blocks it; for small N·M or worker
 * threads). Bit-identical to the async call with the same options.
 *
 * @throws {TypeError|RangeError} for bad options.
 */
export function simulateTeacherStudentSync(options: Omit<SimulateOptions, 'concurrency' | 'signal'>): SimulateResult {
  return runSync(simulation(resolveSimulation(options)));
}
