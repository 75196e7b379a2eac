/**
 * Partial spectra and spectral densities of large symmetric matrices (native iterative solvers).
 *
 * - {@link eigsh}: a few extreme eigenpairs by thick-restart Lanczos (full
 *   reorthogonalisation, explicit Rayleigh–Ritz, restarts that keep the wanted Ritz vectors):
 *   single-vector for implicit operators, block Lanczos for dense matrices or an explicit
 *   `blockSize` above 1.
 * - {@link svds}: the top singular triplets of W through the implicit Gram operator of its
 *   smaller side (W Wᵀ is applied as W (Wᵀ X), never formed).
 * - {@link spectralDensity}: the eigenvalue histogram by stochastic Lanczos quadrature (SLQ).
 *
 * Each takes a dense symmetric {@link Mat} or an implicit {@link SymmetricOperator}
 * ({@link gramOperator}, {@link distanceOperator}). The operator is applied to n x b blocks with
 * one GEMM each (one GEMV for a single vector), so the n x n matrix is streamed once per b vectors.
 *
 * Long solves run on the libuv pool; `signal` cancels them (the Promise rejects with an
 * {@link AbortError} at once, also while the solve still waits for a pool thread or for the BLAS
 * gate; the native solve stops within one block product and no result is produced), `onProgress` reports work done. Inputs are pinned and read from another thread
 * while the Promise is pending: do not mutate them. Method, accuracy and figures: docs/scale.md.
 */
import { AbortError, expected, optionName, withCallSite } from '../errors.js';
import type { Mat } from '../matrix.js';
import { type Control, native, type NativeBinding, type NativeOp, type RawDensity } from '../native.js';
import { othersKeepACore } from '../machine-load.js';
import { checkOptions } from '../validate.js';
import type { Precision } from './index.js';
import type { Twins } from './twins.js';

const RUN_KEYS = ['precision', 'signal', 'onProgress', 'progressInterval'] as const;
const EIGSH_KEYS = [
  ...RUN_KEYS,
  'k',
  'which',
  'tol',
  'vectors',
  'blockSize',
  'basisSize',
  'maxRestarts',
  'seed',
  'symmetryTolerance',
  'method',
] as const;
const SVDS_KEYS = [...RUN_KEYS, 'k', 'tol', 'blockSize', 'basisSize', 'maxRestarts', 'seed'] as const;
const DENSITY_KEYS = [...RUN_KEYS, 'bins', 'grid', 'probes', 'steps', 'seed', 'symmetryTolerance'] as const;

/** Which end of the spectrum: algebraically largest, smallest, or largest in magnitude. */
export type Which = 'largest' | 'smallest' | 'magnitude';

/**
 * W Wᵀ (`side: 'outer'`, order rows) or Wᵀ W (`'inner'`, order cols), applied without forming.
 * Entries whose squares would leave the float64 range (|w| below ~1e-120 or above ~1e120) are
 * scaled by a power of two internally: {@link svds} is then exact to working accuracy for any
 * finite W, while {@link eigsh} and {@link spectralDensity}, whose results are the squares,
 * refuse eigenvalues beyond float64 (above 1.8e308, or all below 2.2e-308) with a RangeError.
 */
export interface GramOperator {
  kind: 'gram';
  w: Mat;
  side: 'outer' | 'inner';
}

/** Distance metrics whose N x N matrix has a Gram form (a Gram matrix plus rank-2 terms). */
export type GramMetric = 'sqeuclidean' | 'cosine' | 'correlation';

/**
 * The distance matrix of the rows of x (as {@link distanceMatrix} would build it) applied in its
 * Gram form, never formed: sqeuclidean D = s1ᵀ + 1sᵀ − 2XXᵀ (rows centred first, which leaves D
 * unchanged), cosine D = 11ᵀ − X̂X̂ᵀ (unit rows), correlation = cosine of the mean-centred rows.
 * Memory O(N·D) instead of O(N²). 'euclidean' and 'angular' have no Gram form: pass the dense
 * matrix for those.
 */
export interface DistanceOperator {
  kind: 'distance';
  x: Mat;
  metric: GramMetric;
}

/** A symmetric operator the iterative solvers apply implicitly. */
export type SymmetricOperator = GramOperator | DistanceOperator;

/** W Wᵀ (default, `side: 'outer'`) or Wᵀ W (`'inner'`) as an implicit operator. */
export function gramOperator(w: Mat, side: 'outer' | 'inner' = 'outer'): GramOperator {
  return { kind: 'gram', w, side };
}

/** The distance matrix of the rows of x as an implicit operator (see {@link DistanceOperator}). */
export function distanceOperator(x: Mat, options: { metric?: GramMetric } = {}): DistanceOperator {
  checkOptions('distanceOperator', options, ['metric']);
  return { kind: 'distance', x, metric: options.metric ?? 'sqeuclidean' };
}

/** Work reported during a solve (Lanczos: block products so far; SLQ: steps of `planned`). */
export interface Progress {
  /** eigsh/svds: operator-vector products so far; spectralDensity: Lanczos steps done. */
  done: number;
  /** spectralDensity: total Lanczos steps; eigsh/svds: 0 (the count is not known ahead). */
  planned: number;
  /** eigsh/svds: wanted pairs converged at the last restart. */
  converged: number;
}

/** Options shared by {@link eigsh}, {@link svds} and {@link spectralDensity}. */
export interface IterativeOptions {
  /**
   * 'float64' (default) or 'float32': operator products in single precision (the basis,
   * orthogonalisation and Rayleigh–Ritz stay float64). Halves the bytes streamed per product;
   * eigenvalues then carry errors of order 1e-6·‖A‖ (see docs/scale.md).
   */
  precision?: Precision;
  /** Cancels an async solve: the Promise rejects with an {@link AbortError}. */
  signal?: AbortSignal;
  /** Called on the main thread while an async solve runs (every `progressInterval` ms). */
  onProgress?: (p: Progress) => void;
  /** Milliseconds between progress reports; default 200. */
  progressInterval?: number;
}

/** Options of {@link eigsh}. */
export interface EigshOptions extends IterativeOptions {
  /** Number of eigenpairs; default min(6, n). */
  k?: number;
  /** Default 'largest'. */
  which?: Which;
  /**
   * Convergence: every returned pair has ‖A x − λ x‖ ≤ tol · ‖A‖ (‖A‖ estimated by the largest
   * |Ritz value|). Default 1e-10 (float64), 1e-5 (float32). Eigenvalue errors are of order
   * residual² / gap, far below tol · ‖A‖ unless the pair is nearly degenerate. At least 2^-52
   * (float64) or 2^-23 (float32): below the products' round-off no residual test can pass
   * (RangeError). A tol above that but still beyond what the products attain (≈ √n · 2^-52)
   * ends as a {@link NoConvergenceError} once the residuals have sat at round-off for 40
   * restarts without progress, instead of running every restart.
   */
  tol?: number;
  /** Return eigenvectors (default true). */
  vectors?: boolean;
  /**
   * Block size b. Default: 1 (single-vector thick-restart Lanczos, as ARPACK) for implicit
   * operators ({@link gramOperator}, {@link distanceOperator}); clamp(⌈k/4⌉, 2, 16) for a dense
   * matrix, whose block products stream the matrix once per b vectors. A block finds exact
   * multiplets of size ≤ b by construction; single-vector Lanczos (like ARPACK) finds the extra
   * copies of an exactly repeated eigenvalue only through rounding, usually but not surely:
   * pass at least the largest multiplicity you expect when exact multiplets matter.
   */
  blockSize?: number;
  /**
   * Basis columns before a restart, in [min(2, n), n]; default max(2k + 1, 20) for b = 1
   * (ARPACK's ncv), max(2k + 6b, 32) for blocks; at least k + 2b, at most n.
   */
  basisSize?: number;
  /** Restart cycles before giving up with a {@link NoConvergenceError} (carrying the converged pairs); default 1000. */
  maxRestarts?: number;
  /** Seed of the random start block (default 0): results are reproducible. */
  seed?: number;
  /** Dense input only: accepted relative asymmetry (default 1e-10, float32 input 1e-5). */
  symmetryTolerance?: number;
  /**
   * How a float64 {@link gramOperator} of its larger side (W Wᵀ with W rows x cols, cols < rows,
   * or Wᵀ W with rows < cols) is solved when which is 'largest' or 'magnitude', k is below the
   * smaller side p and no blockSize above 1 is set:
   * - 'auto' (default): the small-Gram route when it is predicted cheaper: G = Wᵀ W (or W Wᵀ),
   *   p x p, formed by one ?syrk, Lanczos on G, and the k vectors mapped back (u = W w / √θ)
   *   and checked on the operator itself, so values, vectors and residuals meet `tol` exactly
   *   as Lanczos' do. At once when the ?syrk costs less than one basis of products (small p),
   *   else once Lanczos' own convergence predicts it would need more products than the route
   *   costs (its products so far are counted in `matvecs`).
   * - 'lanczos': Lanczos on the operator only.
   * - 'gram': the route always (RangeError where it does not apply).
   * Any other operator, and every case the route does not apply to, is solved by Lanczos
   * whatever this says. The result's `method` says which answered.
   */
  method?: 'auto' | 'lanczos' | 'gram';
}

/** Eigenpairs from {@link eigsh}. */
export interface EigshResult {
  /** Eigenvalues, most extreme first: descending for 'largest', ascending for 'smallest', descending |λ| for 'magnitude'. */
  values: Float64Array;
  /** k x n: row j is the unit eigenvector of values[j] (largest-magnitude entry positive). */
  vectors?: Mat<Float64Array>;
  /** ‖A x_j − λ_j x_j‖ for each pair (absolute). */
  residuals: Float64Array;
  /** Restart cycles used and operator-vector products performed. */
  restarts: number;
  matvecs: number;
  blockSize: number;
  basisSize: number;
  /** max |Ritz value| seen: a lower bound of ‖A‖₂, used by the convergence test. */
  normEstimate: number;
  /**
   * Which solve answered: 'lanczos' on the operator, or 'gram', the small-Gram route of
   * {@link EigshOptions.method} (then `matvecs` counts the operator products: Lanczos' before
   * the route took over, plus k to check the mapped vectors).
   */
  method: 'lanczos' | 'gram';
  /** Products with the small Gram matrix on the 'gram' route (0 on 'lanczos'). */
  gramMatvecs: number;
}

/** Options of {@link svds}. */
export interface SvdsOptions extends IterativeOptions {
  /** Number of leading singular triplets; default min(6, rows, cols). */
  k?: number;
  /** Residual tolerance on the Gram side, as for {@link EigshOptions.tol}. */
  tol?: number;
  blockSize?: number;
  basisSize?: number;
  maxRestarts?: number;
  seed?: number;
}

/** Singular triplets from {@link svds}. */
export interface SvdsResult {
  /** Singular values, descending. */
  s: Float64Array;
  /** k x rows: row i is u_i (the Gram-side vector's largest-magnitude entry positive). */
  u: Mat<Float64Array>;
  /** k x cols: row i is v_i, with W v_i ≈ s_i u_i. */
  v: Mat<Float64Array>;
  /** ‖W v_i − s_i u_i‖ (≈ the Gram residual / s_i). */
  residuals: Float64Array;
  restarts: number;
  matvecs: number;
}

/** Options of {@link spectralDensity}. */
export interface DensityOptions extends IterativeOptions {
  /** Number of equal bins over the estimated spectral range (default 50). */
  bins?: number;
  /** Explicit ascending bin edges (instead of `bins`). */
  grid?: ArrayLike<number>;
  /** Rademacher probe vectors, run together as one block (default 16, at least 2). */
  probes?: number;
  /** Lanczos steps per probe = quadrature nodes (default 48). */
  steps?: number;
  /** Seed of the probes (default 0). */
  seed?: number;
  /** Dense input only: accepted relative asymmetry. */
  symmetryTolerance?: number;
}

/** The spectral density estimate from {@link spectralDensity}. */
export interface DensityResult {
  /** bins + 1 ascending edges (default: the extreme Ritz values, padded by 1 % of the range). */
  edges: Float64Array;
  /** Estimated fraction of the n eigenvalues in each bin (sums to 1 over the default grid). */
  mass: Float64Array;
  /** mass / bin width: the normalised spectral density. */
  density: Float64Array;
  /** Standard error of each bin's mass across probes. */
  stderr: Float64Array;
  /**
   * Quadrature bias estimate per bin: |mass with `steps` nodes − mass with steps/2 nodes|.
   * The interpolated rule converges roughly like 1/steps², so this over-estimates the bias.
   */
  bias: Float64Array;
  /** Per-bin error bar: 2 · stderr + bias (sampling at ≈95 % plus the quadrature bias). */
  error: Float64Array;
  /** Σ error: a bound on the L1 distance Σ|mass − exact| that holds with high probability. */
  l1Error: number;
  /** Extreme Ritz values seen (inside the spectrum, converging to its ends). */
  lo: number;
  hi: number;
  /** Order of the operator and operator-vector products performed. */
  n: number;
  matvecs: number;
}

const CONTROL_SLOTS = 32; // 128 bytes: typed arrays this large live off the V8 heap, so the
// pointer the worker thread holds never moves.

/** Options of an iterative call, checked alike by the async and the sync twin (which ignores signal and onProgress). */
function checkRun(options: IterativeOptions | undefined, fn: string, allowed: readonly string[]): void {
  checkOptions(fn, options, allowed);
  if (options === undefined || options === null) return;
  const { signal, onProgress, progressInterval } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(expected('an AbortSignal', optionName(fn, 'signal'), signal));
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(expected('a function', optionName(fn, 'onProgress'), onProgress));
  }
  if (progressInterval !== undefined) {
    if (typeof progressInterval !== 'number')
      throw new TypeError(expected('a positive number', optionName(fn, 'progressInterval'), progressInterval));
    if (!(progressInterval > 0) || !Number.isFinite(progressInterval))
      throw new RangeError(expected('a positive number', optionName(fn, 'progressInterval'), progressInterval));
  }
}

/**
 * The options the native solver reads (the run controls stay in JavaScript), plus `extra` (the
 * internal ones a solver adds).
 */
function nativeOptions<O extends IterativeOptions>(options: O | undefined, extra?: () => object): O | undefined {
  if (options === undefined || options === null) return extra ? ({ ...extra() } as O) : options;
  const { signal: _s, onProgress: _p, progressInterval: _i, ...rest } = options;
  return (extra ? { ...rest, ...extra() } : rest) as O;
}

/**
 * eigsh's and svds's internal option: single-vector solves on small operators take the BLAS
 * threads (while the BLAS gate is idle) unless other processes keep a core busy
 * (native/bindings/iterative.cc, kThreadedOperatorEntries).
 */
const threadedIfIdle = () => ({ _threadedIfIdle: !othersKeepACore() });

/**
 * The async/Sync pair of an iterative solver. Both check the options alike (the sync form then
 * ignores `signal` and `onProgress`). The async form wires the AbortSignal and onProgress to a
 * control block the native solver polls; a cancelled solve comes back from native as an
 * AbortError (its own error kind) and is re-raised naming `fn`, with the signal's reason as
 * cause; every rejection carries the caller's stack.
 */
function iterativeTwins<M, O extends IterativeOptions, R>(
  fn: string,
  keys: readonly string[],
  pick: (b: NativeBinding) => NativeOp<[M, O | undefined, Control], R>,
  extra?: () => object,
): Twins<M, O, R> {
  return {
    async async(input: M, options?: O): Promise<R> {
      const site = new Error();
      let signal: AbortSignal | undefined; // set once checked
      const abortError = () => withCallSite(new AbortError(`${fn} was aborted`, { cause: signal?.reason }), site);
      let control: Int32Array | undefined;
      let timer: ReturnType<typeof setInterval> | undefined;
      // An abort settles the call at once, even while the solve still waits for a pool thread
      // or at the BLAS gate; the native side sees the flag and ends without a result.
      let rejectAborted: (err: unknown) => void = () => {};
      const aborted = new Promise<never>((_, reject) => {
        rejectAborted = reject;
      });
      aborted.catch(() => {});
      const onAbort = () => {
        if (control) Atomics.store(control, 0, 1);
        rejectAborted(new AbortError(`${fn} was aborted`));
      };
      try {
        checkRun(options, fn, keys);
        signal = options?.signal;
        if (signal?.aborted) throw abortError();
        const onProgress = options?.onProgress;
        control = signal || onProgress ? new Int32Array(CONTROL_SLOTS) : undefined;
        const report = () => {
          if (control && onProgress) onProgress({ done: control[1]!, planned: control[2]!, converged: control[3]! });
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        if (onProgress) timer = setInterval(report, options?.progressInterval ?? 200);
        const pending = pick(native())(input, nativeOptions(options, extra), control, true);
        pending.catch(() => {}); // settled by the abort first, its own rejection is expected
        const result = await (signal ? Promise.race([pending, aborted]) : pending);
        report();
        return result;
      } catch (err) {
        if (err instanceof AbortError) throw abortError();
        throw withCallSite(err, site);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (timer) clearInterval(timer);
      }
    },
    sync(input: M, options?: O): R {
      checkRun(options, fn, keys);
      return pick(native())(input, nativeOptions(options, extra), undefined, false);
    },
  };
}

const eigshOp = iterativeTwins('eigsh', EIGSH_KEYS, (b) => b.eigsh, threadedIfIdle);
const svdsOp = iterativeTwins('svds', SVDS_KEYS, (b) => b.svds, threadedIfIdle);
const densityOp = iterativeTwins('spectralDensity', DENSITY_KEYS, (b) => b.spectralDensity);

/**
 * The k extreme eigenpairs of a symmetric matrix or operator (see {@link EigshOptions}) by
 * thick-restart Lanczos (single-vector for implicit operators, block Lanczos for dense
 * matrices). Agrees with {@link eigh} on the requested pairs to the stated tolerance, including
 * exact multiplets up to the block size (see {@link EigshOptions.blockSize}).
 */
export const eigsh: (a: Mat | SymmetricOperator, options?: EigshOptions) => Promise<EigshResult> = eigshOp.async;
/** Synchronous {@link eigsh} (blocks the event loop; `signal` and `onProgress` are checked, then ignored). */
export const eigshSync: (a: Mat | SymmetricOperator, options?: EigshOptions) => EigshResult = eigshOp.sync;

/**
 * The top-k singular triplets of w (rows x cols) without forming W Wᵀ: Lanczos (single-vector
 * unless `blockSize` > 1) on the Gram operator of the smaller side, then the other vectors by one product (W v / s or Wᵀ u / s).
 * Relative accuracy of s_i is that of s_i² from {@link eigsh}: excellent for the leading
 * values; for singular values near √eps · s_1 use {@link svd}.
 */
export const svds: (w: Mat, options?: SvdsOptions) => Promise<SvdsResult> = svdsOp.async;
/** Synchronous {@link svds}. */
export const svdsSync: (w: Mat, options?: SvdsOptions) => SvdsResult = svdsOp.sync;

function finishDensity(r: RawDensity): DensityResult {
  const bins = r.mass.length;
  const density = new Float64Array(bins);
  const error = new Float64Array(bins);
  let l1Error = 0;
  for (let i = 0; i < bins; i++) {
    density[i] = r.mass[i]! / (r.edges[i + 1]! - r.edges[i]!);
    error[i] = 2 * r.stderr[i]! + r.bias[i]!;
    l1Error += error[i]!;
  }
  return { ...r, density, error, l1Error };
}

/**
 * The spectral density (eigenvalue histogram) of a symmetric matrix or operator by stochastic
 * Lanczos quadrature: `probes` Rademacher vectors each run `steps` Lanczos steps (together, one
 * block product per step); each Gauss quadrature's CDF, interpolated between nodes, is binned
 * and the bins averaged over probes. Cost: steps products with an n x probes block, instead of
 * the O(n³) full solve. Error bars come from the spread across probes.
 */
export async function spectralDensity(a: Mat | SymmetricOperator, options?: DensityOptions): Promise<DensityResult> {
  return finishDensity(await densityOp.async(a, options));
}
/** Synchronous {@link spectralDensity}. */
export function spectralDensitySync(a: Mat | SymmetricOperator, options?: DensityOptions): DensityResult {
  return finishDensity(densityOp.sync(a, options));
}
