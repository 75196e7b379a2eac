/**
 * Dense linear algebra on the native core (OpenBLAS/LAPACK).
 *
 * Conventions: matrices are row-major {@link Mat}s of float64 or float32, read in place
 * (zero-copy; `subarray()` views are honoured). Results are float64. Each operation is async
 * (a Promise that runs on the libuv thread pool) with a `*Sync` twin for small inputs.
 *
 * Sync calls read inputs in place. Async calls read an input in place when it lives in a
 * SharedArrayBuffer (then do not mutate it until the Promise settles); any other buffer could be
 * transferred or resized mid-call, so it is copied once before the call is queued (docs/api.md).
 *
 * Errors: TypeError for a wrong kind or an unknown option key, RangeError for a bad shape or
 * value (including NaN/Inf with its index, and problems too large for the memory this process
 * may use: physical RAM, `ulimit -v`, the cgroup limit; refused before allocating),
 * {@link LapackError} when LAPACK reports failure, {@link InternalError} for a C++ exception
 * inside the native core (never a crash). Async rejections carry the caller's stack.
 */
import type { Mat } from '../matrix.js';
import { native } from '../native.js';
import { expected } from '../errors.js';
import { twins } from './twins.js';

/** The option keys each function accepts (unknown keys are a TypeError, {@link checkOptions}). */
const GRAM_KEYS = ['precision', 'out'] as const;
const DISTANCE_KEYS = ['precision', 'out', 'metric'] as const;
const GRAM_EIGVALSH_KEYS = ['precision', 'of'] as const;
const EIG_KEYS = ['range', 'precision', 'symmetryTolerance'] as const;
const EIGH_KEYS = [...EIG_KEYS, 'allValues'] as const;
const EIGH_REDUCE_KEYS = ['precision', 'symmetryTolerance'] as const;
const EIGH_VECTORS_KEYS = ['range'] as const;
const SVDVALS_KEYS = ['precision'] as const;
const SVD_KEYS = ['k', 'precision'] as const;
const BATCH_KEYS = ['precision', 'threads'] as const;

/** Accumulation precision: float64 (default) or float32 (faster, ~1e-6 relative). */
export type Precision = 'float64' | 'float32';

/**
 * Distance between rows x_i, x_j:
 * - `euclidean`: ‖x_i − x_j‖;
 * - `sqeuclidean`: ‖x_i − x_j‖²;
 * - `cosine`: 1 − cos θ_ij, in [0, 2];
 * - `angular`: θ_ij = arccos(cos θ_ij) in [0, π], the geodesic distance on the unit sphere;
 * - `correlation`: cosine distance between the mean-centred rows (1 − Pearson r).
 */
export type Metric = 'euclidean' | 'sqeuclidean' | 'cosine' | 'angular' | 'correlation';

/** Options of {@link gram}. */
export interface GramOptions {
  precision?: Precision;
  /**
   * Caller-supplied n x n Float64Array to write into (returned as the result's data). In a
   * loop, pass the previous result's `data` back: every call then reuses memory that is
   * already mapped instead of a fresh result whose pages must be faulted in (results are
   * returned to the memory pool only after a garbage collection and a turn of the event loop,
   * so a synchronous loop otherwise takes a fresh block on every call). The previous contents
   * are overwritten. Async calls write one of specdyn's own results in place (its memory is
   * pinned for the call); any other ArrayBuffer is filled when the call completes (from a
   * temporary, as it could be transferred mid-call). See docs/performance.md.
   */
  out?: Float64Array;
}

/** Options of {@link distanceMatrix}. */
export interface DistanceOptions extends GramOptions {
  /** Default 'euclidean'. */
  metric?: Metric;
}

/** Options of {@link eigvalsh} (and, with {@link EighOptions}, of {@link eigh}). */
export interface EigOptions {
  /** Inclusive index range [lo, hi] into the ascending spectrum (0-based); default all. */
  range?: [number, number];
  precision?: Precision;
  /**
   * Largest accepted max|a_ij − a_ji| relative to max|a_ij|; default 1e-10 for float64
   * input, 1e-5 for float32. The upper triangle (row-major) is what LAPACK reads.
   */
  symmetryTolerance?: number;
}

/** Options of {@link eigh}. */
export interface EighOptions extends EigOptions {
  /**
   * With `range: [lo, hi]`: return every eigenvalue (`values` of length n, ascending) and the
   * eigenvectors of indices lo..hi only, from one tridiagonal reduction (?sytrd, then ?sterf
   * for all values, ?stemr for the selected pairs and ?ormtr back to A's basis) instead of
   * eigvalsh + eigh(range), which reduce twice. Default false. Without a range it changes
   * nothing (the full solve returns every value already).
   */
  allValues?: boolean;
}

/** Eigenvalues and eigenvectors from {@link eigh}. */
export interface EighResult {
  /**
   * Eigenvalues, ascending: those of `range` (hi − lo + 1), or all n of them (no range, or
   * `allValues: true`).
   */
  values: Float64Array;
  /**
   * k x n: row j is the unit eigenvector (largest-magnitude entry positive) of eigenvalue
   * index lo + j (values[j] without allValues, values[lo + j] with it).
   */
  vectors: Mat<Float64Array>;
}

/** Options of {@link svd}. */
export interface SvdOptions {
  /** Number of leading singular triplets; default min(rows, cols). */
  k?: number;
  precision?: Precision;
}

/** Singular triplets from {@link svd}. */
export interface SvdResult {
  /** Singular values, descending. */
  s: Float64Array;
  /** k x rows: row i is the left singular vector u_i (largest-magnitude entry positive). */
  u: Mat<Float64Array>;
  /** k x cols: row i is the right singular vector v_i, so w ≈ Σ s_i u_i v_iᵀ. */
  v: Mat<Float64Array>;
}

/** Options of {@link eigvalshBatch}. */
export interface BatchOptions {
  precision?: Precision;
  /** Matrices solved at once, one single-threaded LAPACK call each; default getThreads(), at most the number of cores. */
  threads?: number;
}

const gramOp = twins('gram', GRAM_KEYS, (b) => b.gram);
/**
 * The Gram matrix X Xᵀ (rows x rows) via ?syrk; exactly symmetric. Entries whose squares would
 * leave the float64 range are scaled by a power of two internally; a Gram matrix that is itself
 * beyond float64 (entries above ~1.3e154, or all entries below ~1.5e-154) is a RangeError, never
 * Infinity or zeros.
 */
export const gram: (x: Mat, options?: GramOptions) => Promise<Mat<Float64Array>> = gramOp.async;
/** Synchronous {@link gram}. */
export const gramSync: (x: Mat, options?: GramOptions) => Mat<Float64Array> = gramOp.sync;

const distanceMatrixOp = twins('distanceMatrix', DISTANCE_KEYS, (b) => b.distanceMatrix);
/**
 * The N x N matrix of pairwise distances between the N rows of x (see {@link Metric}).
 * Computed from the Gram matrix with one BLAS-3 ?syrk (float64 accumulation unless
 * `precision: 'float32'`) and one cache-blocked, threaded pass over its triangle that writes
 * both triangles; near-coincident pairs, where that expansion cancels, are recomputed
 * directly. For repeated calls of one size, pass the previous result as `out`
 * ({@link GramOptions.out}). The diagonal is exactly 0, the matrix exactly symmetric, squared distances ≥ 0.
 * Cosine-type metrics reject zero rows (correlation: constant rows) with a RangeError.
 * Inputs near the ends of the float64 range are scaled by powers of two internally (cosine-type
 * metrics row by row, as they do not depend on a row's scale), so rows of 1e-200 or 1e200 keep
 * full accuracy; distances that are themselves beyond float64 (sqeuclidean of rows ~1e-200
 * apart: ~1e-400) are a RangeError, never Infinity or zeros.
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for NaN/Inf (with its
 *   index), a zero row under a cosine-type metric, or a problem too large for memory.
 * @example
 * // 500 probe representations of width 256 (float32 straight from tfjs is fine)
 * const reps = { data: new Float32Array(500 * 256), rows: 500, cols: 256 };
 * const m = await distanceMatrix(reps, { metric: 'angular' }); // 500 x 500, float64
 * @example
 * // One snapshot after another: the previous matrix becomes the next one's output (no fresh
 * // 32 MB result per call at N = 2000, so no page faults; the old values are overwritten).
 * let d: Mat<Float64Array> | undefined;
 * for (const snapshot of snapshots) {
 *   d = distanceMatrixSync(snapshot, { out: d?.data });
 *   use(d);
 * }
 */
export const distanceMatrix: (x: Mat, options?: DistanceOptions) => Promise<Mat<Float64Array>> = distanceMatrixOp.async;
/** Synchronous {@link distanceMatrix}. */
export const distanceMatrixSync: (x: Mat, options?: DistanceOptions) => Mat<Float64Array> = distanceMatrixOp.sync;

const eigvalshOp = twins('eigvalsh', EIG_KEYS, (b) => b.eigvalsh);
/**
 * Eigenvalues of the symmetric matrix a, ascending: LAPACK ?syevd for the whole spectrum,
 * ?syevr for `range: [lo, hi]` (hi − lo + 1 values). (?syevd_2stage and ?syevr were measured
 * no faster for the whole spectrum on OpenBLAS at N = 200–2000: docs/performance.md.) One
 * tiled pass checks finiteness and symmetry; an async call on an ordinary ArrayBuffer copies
 * the matrix once and LAPACK works in that copy.
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for a non-square or
 *   non-symmetric matrix (beyond `symmetryTolerance`), NaN/Inf, or a bad range; LapackError if
 *   LAPACK fails.
 * @example
 * const spectrum = await eigvalsh(m);                 // all n, ascending
 * const top10 = await eigvalsh(m, { range: [m.rows - 10, m.rows - 1] });
 */
export const eigvalsh: (a: Mat, options?: EigOptions) => Promise<Float64Array> = eigvalshOp.async;
/** Synchronous {@link eigvalsh}. */
export const eigvalshSync: (a: Mat, options?: EigOptions) => Float64Array = eigvalshOp.sync;

/** Options of {@link gramEigvalsh}. */
export interface GramEigvalshOptions {
  /** Accumulation precision of the ?syrk and the solve; default float64. */
  precision?: Precision;
  /**
   * Whose Gram matrix: `'rows'` X Xᵀ (rows x rows), `'columns'` Xᵀ X (cols x cols), `'smaller'`
   * (the default) the smaller of the two (rows when rows ≤ cols). Both share their nonzero
   * eigenvalues, the squared singular values of X.
   */
  of?: 'rows' | 'columns' | 'smaller';
}

const gramEigvalshOp = twins('gramEigvalsh', GRAM_EIGVALSH_KEYS, (b) => b.gramEigvalsh);
/**
 * Every eigenvalue, ascending, of a Gram matrix of x (X Xᵀ or Xᵀ X, {@link GramEigvalshOptions.of}):
 * the values of `eigvalsh(gram(x))` (of the transpose for `'columns'`; bit for bit at one BLAS
 * thread, where a larger call may otherwise take more threads for the solve), with the Gram
 * matrix formed and solved inside the native core, so no n x n result (nor, for `'columns'`,
 * a transposed copy) is allocated in JavaScript. For the spectra of many weight matrices in a loop
 * (a tfjs kernel [in, out] is Wᵀ: the Gram matrix of its columns is W Wᵀ). The same checks and
 * scaling as {@link gram}.
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for a bad `of`, NaN/Inf
 *   (with its index), a Gram matrix beyond float64, or a problem too large for memory;
 *   LapackError if LAPACK fails.
 * @example
 * // the squared singular values of a 784 x 256 tfjs kernel, without transposing it
 * const evals = gramEigvalshSync(kernel, { of: 'columns' }); // 256 values
 */
export const gramEigvalsh: (x: Mat, options?: GramEigvalshOptions) => Promise<Float64Array> = gramEigvalshOp.async;
/** Synchronous {@link gramEigvalsh}. */
export const gramEigvalshSync: (x: Mat, options?: GramEigvalshOptions) => Float64Array = gramEigvalshOp.sync;

const eighOp = twins('eigh', EIGH_KEYS, (b) => b.eigh);
/**
 * Eigenvalues (ascending) and unit eigenvectors of the symmetric matrix a: ?syevd for the whole
 * spectrum, ?syevr for `range: [lo, hi]`; with `range` and `allValues: true`, every eigenvalue
 * and the vectors of lo..hi from one reduction ({@link EighOptions.allValues}). `vectors` is
 * LAPACK's column-major output as it stands, i.e. row j is the eigenvector of index lo + j.
 *
 * @example
 * // the whole spectrum and the top 3 eigenvectors of an n x n matrix m
 * const { values, vectors } = await eigh(m, { range: [m.rows - 3, m.rows - 1], allValues: true });
 */
export const eigh: (a: Mat, options?: EighOptions) => Promise<EighResult> = eighOp.async;
/** Synchronous {@link eigh}. */
export const eighSync: (a: Mat, options?: EighOptions) => EighResult = eighOp.sync;

/** Options of {@link eighReduce}. */
export interface EighReduceOptions {
  precision?: Precision;
  /** As {@link EigOptions.symmetryTolerance}. */
  symmetryTolerance?: number;
}

/** Options of {@link eighVectors}. */
export interface EighVectorsOptions {
  /**
   * Inclusive index range [lo, hi] into the ascending spectrum (0-based): 0 ≤ lo ≤ n and
   * lo − 1 ≤ hi ≤ n − 1; [lo, lo − 1] is empty (a 0 x n result). Required.
   */
  range?: [number, number];
}

/**
 * A symmetric matrix reduced once to tridiagonal form, A = Q T Qᵀ (LAPACK ?sytrd), with every
 * eigenvalue, from {@link eighReduce}: the eigenvectors of any index range follow from it by
 * {@link eighVectors} without a second reduction. It holds n² + 3n elements of native memory
 * (8 bytes each, 4 for float32) until it is garbage-collected, and does not change once made:
 * several eighVectors calls may read it at once, and the input matrix may change after
 * eighReduce has returned.
 */
export interface EighReduction {
  /** Every eigenvalue, ascending (length n); the same values as {@link eigvalsh} on A. */
  readonly values: Float64Array;
  /** The order n of A. */
  readonly n: number;
  /** The precision of the reduction. */
  readonly precision: Precision;
  /** The native reduction (opaque; eighVectors accepts no other object). */
  readonly handle: object;
}

const eighReduceOp = twins('eighReduce', EIGH_REDUCE_KEYS, (b) => b.eighReduce);
const reductionOf = (r: { values: Float64Array; handle: object }, precision: Precision): EighReduction =>
  Object.freeze({ values: r.values, n: r.values.length, precision, handle: r.handle });

/**
 * The values-first symmetric eigensolver: every eigenvalue now (?sytrd, then ?sterf: the same
 * values as {@link eigvalsh}), the eigenvectors later, of whichever index range the values show
 * to be needed ({@link eighVectors}), from the one reduction. What `eigh(a, { range, allValues:
 * true })` gives when the range is known in advance; this is for when it is not (e.g. an OMD
 * snapshot whose band size is read off the values). The same checks as {@link eigvalsh}.
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for a non-square or
 *   non-symmetric matrix (beyond `symmetryTolerance`) or NaN/Inf; LapackError if LAPACK fails.
 * @example
 * const red = await eighReduce(m);
 * const k = red.values.filter((v) => v < -1).length;          // how many the values call for
 * const vecs = await eighVectors(red, { range: [0, k - 1] }); // k x n, row j ↔ values[j]
 */
export async function eighReduce(a: Mat, options?: EighReduceOptions): Promise<EighReduction> {
  const precision: Precision = options?.precision === 'float32' ? 'float32' : 'float64';
  return reductionOf(await eighReduceOp.async(a, options), precision);
}

/** Synchronous {@link eighReduce}. */
export function eighReduceSync(a: Mat, options?: EighReduceOptions): EighReduction {
  const precision: Precision = options?.precision === 'float32' ? 'float32' : 'float64';
  return reductionOf(eighReduceOp.sync(a, options), precision);
}

const eighVectorsOp = twins('eighVectors', EIGH_VECTORS_KEYS, (b) => b.eighVectors);

/** The native handle of an EighReduction, or a TypeError naming `reduction`. */
function handleOf(reduction: EighReduction): object {
  const h = (reduction as { handle?: unknown } | null | undefined)?.handle;
  if (typeof reduction !== 'object' || reduction === null || typeof h !== 'object' || h === null)
    throw new TypeError(expected('an EighReduction (the result of eighReduce)', 'reduction', reduction));
  return h;
}

/**
 * The unit eigenvectors of the eigenvalue indices `range: [lo, hi]` of a reduced matrix
 * ({@link eighReduce}): ?stemr (MRRR) on the kept tridiagonal T, or bisection and inverse
 * iteration (?stebz + ?stein) where ?stemr fails on tight clusters, then ?ormtr back to A's
 * basis. Result k x n (k = hi − lo + 1, possibly 0): row j is the eigenvector of
 * `reduction.values[lo + j]`, its largest-magnitude entry positive; for the same range, the
 * same vectors as `eigh(a, { range, allValues: true })`.
 *
 * @throws TypeError for a reduction that is not eighReduce's or a missing or malformed range;
 *   RangeError for indices outside 0 ≤ lo ≤ n, lo − 1 ≤ hi ≤ n − 1; LapackError if LAPACK fails.
 */
export async function eighVectors(reduction: EighReduction, options: EighVectorsOptions): Promise<Mat<Float64Array>> {
  return eighVectorsOp.async(handleOf(reduction), options);
}

/** Synchronous {@link eighVectors}. */
export function eighVectorsSync(reduction: EighReduction, options: EighVectorsOptions): Mat<Float64Array> {
  return eighVectorsOp.sync(handleOf(reduction), options);
}

const svdvalsOp = twins('svdvals', SVDVALS_KEYS, (b) => b.svdvals);
/**
 * Singular values of w (rows x cols), descending, min(rows, cols) of them, via LAPACK ?gesdd.
 * (The Gram route, sqrt(eig(W Wᵀ)), is faster but loses relative accuracy for small singular
 * values; svdvals always uses ?gesdd, and weightSpectrum takes the Gram route only when asked,
 * `solver: 'gram'`.) The eigenvalues of W Wᵀ are their squares.
 */
export const svdvals: (w: Mat, options?: { precision?: Precision }) => Promise<Float64Array> = svdvalsOp.async;
/** Synchronous {@link svdvals}. */
export const svdvalsSync: (w: Mat, options?: { precision?: Precision }) => Float64Array = svdvalsOp.sync;

const svdOp = twins('svd', SVD_KEYS, (b) => b.svd);
/**
 * The top-k singular triplets of w via ?gesdd (thin SVD, then truncated to k).
 *
 * @throws TypeError for a wrong kind or an unknown option; RangeError for NaN/Inf or a bad k;
 *   LapackError if LAPACK fails.
 * @example
 * const { s, u, v } = await svd(w, { k: 10 }); // w ≈ Σ s_i u_i v_iᵀ over the top 10
 */
export const svd: (w: Mat, options?: SvdOptions) => Promise<SvdResult> = svdOp.async;
/** Synchronous {@link svd}. */
export const svdSync: (w: Mat, options?: SvdOptions) => SvdResult = svdOp.sync;

const eigvalshBatchOp = twins('eigvalshBatch', BATCH_KEYS, (b) => b.eigvalshBatch);
/**
 * Eigenvalues (ascending) of many symmetric matrices in one call: the matrices are spread over
 * `threads` threads, each running single-threaded LAPACK (far better than threading inside
 * small solves); it counts as a small operation at the BLAS gate. Errors name the failing
 * matrix, e.g. "mats[3]".
 */
export const eigvalshBatch: (mats: Mat[], options?: BatchOptions) => Promise<Float64Array[]> = eigvalshBatchOp.async;
/** Synchronous {@link eigvalshBatch}. */
export const eigvalshBatchSync: (mats: Mat[], options?: BatchOptions) => Float64Array[] = eigvalshBatchOp.sync;

/**
 * Sets the BLAS thread count used by large operations (process-wide); small operations always
 * run single-threaded side by side (the BLAS gate, docs/performance.md).
 */
export function setThreads(n: number): void {
  native().setThreads(n);
}
/** The configured BLAS thread count (see {@link setThreads}). */
export function getThreads(): number {
  return native().getThreads();
}

/**
 * Caps the BLAS threads of every native operation started from the calling JavaScript thread
 * (the main thread, or the worker_thread that calls it) at `n`, below the process-wide
 * {@link setThreads} count; `0` removes the cap. Other threads are not affected. With `n = 1`
 * this thread's large operations run single-threaded beside other operations instead of alone
 * with every thread: a background analysis (e.g. SpectralMonitor's worker) then takes one core
 * and never makes the training thread wait for it at the BLAS gate.
 * @throws RangeError when n is not an integer in 0..1024.
 */
export function setThreadLimit(n: number): void {
  native().setThreadLimit(n);
}

/** The calling thread's cap set by {@link setThreadLimit} (0: none). */
export function getThreadLimit(): number {
  return native().getThreadLimit();
}

/**
 * Moves the calling OS thread (the main thread, or the worker_thread that calls it) to the
 * idle scheduling class (Linux SCHED_IDLE): from then on it runs only on a core that no thread
 * of normal priority wants, so background work on it never takes CPU time from the rest of the
 * process or the machine (it can starve while every core is busy). There is no way back for an
 * unprivileged thread. Returns false, changing nothing, where unsupported (not Linux) or refused.
 */
export function setThreadIdle(): boolean {
  return native().setThreadIdle();
}

/** What the native core was built with and runs on. */
export interface NativeInfo {
  /**
   * The BLAS's own description: OpenBLAS's configuration string, e.g. "OpenBLAS 0.3.21
   * DYNAMIC_ARCH ... Haswell", or MKL's version string.
   */
  blas: string;
  /** The CPU kernel set the BLAS selected (OpenBLAS's core name, MKL's processor line). */
  core: string;
  /**
   * The BLAS the native core's thread control was built for: 'openblas' (the default build and
   * the prebuilt binaries), 'mkl' (built with BLA_VENDOR=Intel10_64lp: docs/install.md), 'unknown' (another BLAS through the override variables: thread counts
   * are then not applied).
   */
  blasVendor: 'openblas' | 'mkl' | 'unknown';
  /**
   * The thread count the BLAS library holds right now: {@link setThreads}'s count after a large
   * operation (or when set while idle), 1 after small ones; always 1 for 'unknown'.
   */
  blasThreads: number;
  threads: number;
  hardwareThreads: number;
  buildType: 'Release' | 'Debug';
  /** True for prebuilt binaries with OpenBLAS/LAPACK linked in. */
  staticBlas: boolean;
  compiler: string;
  napiVersion: number;
  /** The native memory pool ({@link PoolInfo}). */
  pool: PoolInfo;
}

/**
 * The native memory pool: large buffers (≥ `minBlockBytes`, 2 MiB) come from huge-page-backed
 * blocks, and released blocks are kept for reuse (the next call of a similar size then skips
 * ~12 µs of page faults per 4 KiB page). One pool per process, shared by every worker_thread.
 */
export interface PoolInfo {
  /** Bytes held in released blocks kept for reuse (not in use by any result or call). */
  bytes: number;
  /** Number of such blocks. */
  blocks: number;
  /** The most bytes the pool keeps (default 512 MiB; {@link setPoolLimit}). */
  limit: number;
  /** Requests below this size bypass the pool (plain malloc). */
  minBlockBytes: number;
}

/**
 * Frees every block the native memory pool keeps for reuse (e.g. after a burst of large
 * solves, in a long-running process). Blocks in use by results or running calls are not
 * affected; they return to the pool, within its limit, when released.
 * @returns the bytes freed.
 */
export function trimPool(): number {
  return native().trimPool();
}

/**
 * Sets the most bytes the native memory pool keeps for reuse (process-wide; default 512 MiB;
 * 0 keeps nothing, so every released block is freed at once), trimming the pool to it now.
 * @throws TypeError/RangeError unless `bytes` is an integer in [0, 2^53 − 1].
 * @returns the bytes freed to meet the new limit.
 */
export function setPoolLimit(bytes: number): number {
  return native().setPoolLimit(bytes);
}
/** Build and runtime facts about the native core (BLAS vendor/version, threads, build type). */
export function nativeInfo(): NativeInfo {
  return native().nativeInfo();
}
export * from './iterative.js';
