/**
 * The one place that loads the native binary. node-gyp-build looks in build/Release (a local
 * cmake-js or node-gyp build) and then prebuilds/<platform>-<arch>/; the environment variable
 * SPECDYN_ADDON, when set, names a .node file to load instead (e.g. the sanitizer build). A failure raises one
 * SpecdynError that names the cause and the fix; there is no silent JavaScript fallback.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, InternalError, LapackError, NoConvergenceError, SpecdynError } from './errors.js';
// The binding's signatures take linalg's option and result types: type-only imports, erased at
// run time, so the base still loads nothing above it.
// biome-ignore lint/style/noRestrictedImports: type-only (see above)
import type { BatchOptions, DistanceOptions, EighOptions, EighResult, EigOptions } from './linalg/index.js';
// biome-ignore lint/style/noRestrictedImports: type-only (see above)
import type { EighReduceOptions, EighVectorsOptions } from './linalg/index.js';
// biome-ignore lint/style/noRestrictedImports: type-only (see above)
import type { GramEigvalshOptions, GramOptions, NativeInfo, Precision, SvdOptions, SvdResult } from './linalg/index.js';
// biome-ignore lint/style/noRestrictedImports: type-only (see above)
import type { DensityOptions, EigshOptions, EigshResult, SvdsOptions, SvdsResult } from './linalg/iterative.js';
// biome-ignore lint/style/noRestrictedImports: type-only (see above)
import type { SymmetricOperator } from './linalg/iterative.js';
import type { Mat } from './matrix.js';

/**
 * One native operation: the trailing flag picks the synchronous form (the result, or a throw)
 * or the asynchronous one (a Promise that settles with it). Arguments are those of the public
 * function; the native core checks them again.
 */
export interface NativeOp<A extends unknown[], R> {
  (...args: [...A, async: false]): R;
  (...args: [...A, async: true]): Promise<R>;
}

/** The control block of an iterative call (cancel flag in, progress out); see src/linalg/iterative.ts. */
export type Control = Int32Array | undefined;

/** Raw SLQ result; the TypeScript layer derives density and error bars from it. */
export interface RawDensity {
  edges: Float64Array;
  mass: Float64Array;
  stderr: Float64Array;
  bias: Float64Array;
  lo: number;
  hi: number;
  n: number;
  matvecs: number;
}

/** Test hook sites and kinds of {@link NativeBinding.__injectFault}. */
export type FaultSite = 'none' | 'kernel' | 'result' | 'stemr';
export type FaultKind = 'length_error' | 'bad_alloc' | 'unknown';

/** The raw addon surface, typed (src/linalg wraps it into the documented API). */
export interface NativeBinding {
  gram: NativeOp<[x: Mat, options: GramOptions | undefined], Mat<Float64Array>>;
  distanceMatrix: NativeOp<[x: Mat, options: DistanceOptions | undefined], Mat<Float64Array>>;
  eigvalsh: NativeOp<[a: Mat, options: EigOptions | undefined], Float64Array>;
  gramEigvalsh: NativeOp<[x: Mat, options: GramEigvalshOptions | undefined], Float64Array>;
  eigh: NativeOp<[a: Mat, options: EighOptions | undefined], EighResult>;
  eighReduce: NativeOp<[a: Mat, options: EighReduceOptions | undefined], { values: Float64Array; handle: object }>;
  eighVectors: NativeOp<[handle: object, options: EighVectorsOptions | undefined], Mat<Float64Array>>;
  svdvals: NativeOp<[w: Mat, options: { precision?: Precision } | undefined], Float64Array>;
  svd: NativeOp<[w: Mat, options: SvdOptions | undefined], SvdResult>;
  eigvalshBatch: NativeOp<[mats: Mat[], options: BatchOptions | undefined], Float64Array[]>;
  eigsh: NativeOp<[a: Mat | SymmetricOperator, options: EigshOptions | undefined, control: Control], EigshResult>;
  svds: NativeOp<[w: Mat, options: SvdsOptions | undefined, control: Control], SvdsResult>;
  spectralDensity: NativeOp<
    [a: Mat | SymmetricOperator, options: DensityOptions | undefined, control: Control],
    RawDensity
  >;
  setThreads(n: number): void;
  getThreads(): number;
  setThreadLimit(n: number): void;
  getThreadLimit(): number;
  /** Moves the calling OS thread to SCHED_IDLE (Linux); false where unsupported or refused. */
  setThreadIdle(): boolean;
  nativeInfo(): NativeInfo;
  /** Frees the memory pool's kept blocks; returns the bytes freed. */
  trimPool(): number;
  /** Sets the pool's limit in bytes; returns the bytes freed to meet it. */
  setPoolLimit(bytes: number): number;
  /** Benchmark probe: seconds for one n x n x n dgemm (not public API). */
  _dgemmSeconds(n: number): number;
  /** Benchmark probe: seconds for one bare ?syrk of x in its own element type (not public API). */
  _syrkSeconds(x: Mat): number;
  /**
   * Test and benchmark hook (not public API): how distanceMatrix computes its Gram matrix.
   * `block` 1–8192: in row panels of that many rows (?syrk on the diagonal block, ?gemm in
   * chunks of `width` columns off it, 0 or absent: whole panels), each chunk turned into
   * distances while in cache; 0: one ?syrk of the whole matrix, then one tiled pass; −1 (the
   * default): chosen by size.
   */
  _setDistanceBlock(block: number, width?: number): void;
  /**
   * Test and benchmark hook (not public API): since the addon loaded, process-wide, how many split
   * products (sgemmF32's `split`) ran in two halves on the calling thread and specdyn's helper
   * thread, and how many ran whole on the caller because the helper was taken.
   */
  _pairThreadCounts(): { split: number; alone: number; stolen: number };
  _holdPairThread(on: boolean): void;
  _setPairSteal(on: boolean): void;
  /** The machine's busy CPU seconds from /proc/stat (NaN where unreadable); src/machine-load.ts. @internal */
  machineBusySeconds(): number;
  /** Test hook: whether the last operation to pass the BLAS gate ran threaded (process-wide). */
  _lastOpThreaded(): boolean;
  /** Benchmark probe: seconds for one bare LAPACK eigensolver call on float64 a (not public API). */
  _eigSeconds(a: Mat, driver: 'syevd' | 'syevr' | 'syev' | 'syevd_2stage', vectors: boolean): number;
  /** Registers the classes native failures are made of (called once by {@link native}). */
  setErrorClasses(classes: {
    LapackError: typeof LapackError;
    AbortError: typeof AbortError;
    NoConvergenceError: typeof NoConvergenceError;
    InternalError: typeof InternalError;
  }): void;
  /**
   * Test hook, not public API: the next native fault point at `site` throws a C++ exception of
   * `kind` ('kernel': inside a kernel, on the pool thread for async calls; 'result': while a
   * result is allocated on the main thread). 'none' disarms.
   */
  __injectFault(site: FaultSite, kind?: FaultKind): void;
  /**
   * Test hook, not public API: runs one input of a native fuzz target (native/kernels/harness.h;
   * the regression corpus fuzz/corpus/<target>/) and says whether the kernel ran, refused the
   * input, or broke an invariant ('bug', with what broke).
   */
  __fuzzReplay(target: string, input: Uint8Array): { kind: 'ok' | 'refused' | 'bug'; what: string };
  /**
   * Synchronous batched float32 product for the tfjs backend (src/tfjs/native-kernels.ts):
   * out[i] = act(op(a[aIndex[i]]) · op(b[bIndex[i]]) + bias), row-major, in place on the given
   * buffers. bias/preluWeights broadcast by length: 1, n, m*n or batch*m*n. threadedMinFlops
   * (> 0): products of at least this many flops use the BLAS threads when the BLAS gate is idle
   * and run single-threaded at once otherwise; 0 or absent: the gate's default (1e8, waiting).
   * split: two halves, on the calling thread and specdyn's helper thread, each single-threaded
   * (a small gate operation; nothing when the configured threads or the thread limit are 1).
   */
  sgemmF32(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    aIndex: Int32Array | null,
    bIndex: Int32Array | null,
    bias: Float32Array | null,
    activation: string | null,
    leakyreluAlpha: number | null,
    preluWeights: Float32Array | null,
    threadedMinFlops?: number,
    split?: boolean,
  ): void;
  /** out = a op b (tfjs kernel name), flat (strides null) or broadcast by per-dim strides. */
  binaryF32(
    op: string,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: Int32Array | null,
    aStrides: Int32Array | null,
    bStrides: Int32Array | null,
  ): void;
  /** out[i] = op(x[i]) (tfjs kernel name); alpha is Step's value at x <= 0. */
  unaryF32(op: string, x: Float32Array, out: Float32Array, alpha?: number): void;
  /** x as [outer, reduce, inner] summed over the middle axis into out (outer x inner). */
  sumF32(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number): void;
  /** out[r, :] = softmax of row r of x viewed as rows x cols (the cpu kernel's rounding). */
  softmaxF32(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * One Adam step in one pass (tfjs's order of operations, float32): writes the new first and
   * second moments and weights into mOut, vOut, wOut; the constants are float32 values.
   */
  adamF32(
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    w: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    wOut: Float32Array,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    accBeta1: number,
    accBeta2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
}

/** The package root: one level above src/ (tests) or dist/ (the published build). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let binding: NativeBinding | undefined;

/** Installed as a dependency (inside node_modules) rather than a development clone. */
const asDependency = packageRoot.split(path.sep).includes('node_modules');

/** Explains a load failure: what went wrong and the command that fixes it (in an app or a clone). */
export function explainLoadError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const rebuild = asDependency ? 'npm rebuild specdyn' : 'npm run build:native';
  const buildDeps =
    'sudo apt-get install -y g++ make python3 libopenblas-dev liblapacke-dev (Fedora: gcc-c++ make openblas-devel lapack-devel)';
  let cause: string;
  let fix: string;
  const lib = /(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(msg);
  if (lib) {
    cause = `the shared library ${lib[1]} is missing`;
    fix = /gfortran/.test(lib[1]!)
      ? 'install the Fortran runtime: sudo apt-get install -y libgfortran5'
      : `install OpenBLAS and LAPACKE: sudo apt-get install -y libopenblas-dev liblapacke-dev (Fedora: openblas-devel lapack-devel), or rebuild: ${rebuild}`;
  } else if (/GLIBC(XX)?_[\d.]+' not found/.test(msg)) {
    cause = 'the prebuilt binary needs a newer C/C++ runtime (glibc/libstdc++) than this system has';
    fix = `build from source: ${buildDeps}, then ${asDependency ? 'npm rebuild specdyn --build-from-source' : 'npm run build:native'}`;
  } else if (/No native build was found/.test(msg)) {
    cause = 'no compiled addon exists for this platform, architecture and Node ABI';
    fix = asDependency
      ? `build it from source: ${buildDeps}, then npm rebuild specdyn (if the install ran with --ignore-scripts, or its install script was denied, that rebuild is the missing step)`
      : 'build it: npm run build:native (needs cmake, a C++17 compiler and libopenblas-dev liblapacke-dev; `node scripts/bootstrap.mjs` does all of it)';
  } else if (/invalid ELF header|wrong ELF class|Exec format error/.test(msg)) {
    cause = 'the binary was built for another platform or architecture';
    fix = asDependency ? 'npm rebuild specdyn --build-from-source' : 'remove build/ and rebuild: npm run build:native';
  } else {
    cause = 'the native addon failed to load';
    fix = asDependency
      ? 'npm rebuild specdyn'
      : 'rebuild it: npm run build:native, or run `node scripts/bootstrap.mjs` to install what is missing';
  }
  return `specdyn: ${cause}. Fix: ${fix}.\nOriginal error: ${msg}`;
}

/** Loads the addon on first use (so importing specdyn never throws) and returns it. */
export function native(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  try {
    // SPECDYN_ADDON names another build of the addon to load instead (the sanitizer build of
    // `npm run build:asan`, docs/reliability.md); otherwise build/Release or prebuilds/.
    const override = process.env.SPECDYN_ADDON;
    // OpenBLAS reads this when the addon loads it: its idle threads spin for 2^n cycles after a
    // call before they sleep. The default (n = 28, ~0.1 s) lets them take the cores from the
    // O(N²) pass that follows a ?syrk; 2^20 (~0.4 ms) still spans the gaps inside one LAPACK
    // call (measured: distances 1.25x → 1.14x the bare dsyrk at 2000 x 784, eigvalsh/eigh
    // unchanged; docs/performance.md). A value the user set is kept.
    process.env.OPENBLAS_THREAD_TIMEOUT ??= '20';
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    binding = override ? (require(path.resolve(override)) as NativeBinding) : load(packageRoot);
  } catch (err) {
    throw new SpecdynError(explainLoadError(err));
  }
  binding.setErrorClasses({ LapackError, AbortError, NoConvergenceError, InternalError });
  return binding;
}
