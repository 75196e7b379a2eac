/**
 * The 'specdyn-native' TensorFlow.js backend: the cpu backend's storage and every one of its
 * kernels, with the matrix products (BatchMatMul, _FusedMatMul) replaced by OpenBLAS sgemm from
 * the specdyn addon, the float32 element-wise maps and sums an optimizer step spends its
 * time in replaced by native loops, a one-pass Softmax, and Adam's update fused into one kernel
 * per variable (see {@link ADAM_UPDATE_KERNEL}). Products read the tensors' Float32Array buffers in place and write into a
 * fresh Float32Array that becomes the output tensor's storage (no copies either way).
 *
 * Anything the native path does not cover (non-float32 dtypes, invalid shapes, bias or PReLU
 * weights that broadcast in an unusual way) is handed to the cpu kernels, so results and error
 * messages stay those of the cpu backend.
 */
import * as tfc from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SpecdynError } from '../errors.js';
import { othersKeepACore } from '../machine-load.js';
import { native } from '../native.js';
import { copyRequested, copyTarget, noteCopied } from './copy-read.js';
import { inSplitScope } from './product-scope.js';

/** The name under which the backend is registered with tfjs. */
export const NATIVE_BACKEND_NAME = 'specdyn-native';

/**
 * Registration priority: above wasm (2) and cpu (1), below tfjs-node (3), so a plain
 * `tf.ready()` also prefers it when tfjs-node is absent.
 */
export const NATIVE_BACKEND_PRIORITY = 2.5;

/** Element-wise kernels computed natively for float32 inputs (others go to the cpu kernels). */
const BINARY_KERNELS = [tfc.Add, tfc.Sub, tfc.Multiply, tfc.RealDiv, tfc.Maximum, tfc.Minimum, tfc.SquaredDifference];
const UNARY_KERNELS = [
  tfc.Sqrt,
  tfc.Rsqrt,
  tfc.Square,
  tfc.Neg,
  tfc.Abs,
  tfc.Exp,
  tfc.Log,
  tfc.Relu,
  tfc.Relu6,
  tfc.Elu,
  tfc.Sigmoid,
  tfc.Tanh,
  tfc.Step,
  tfc.Reciprocal,
];

/**
 * Kernels whose cpu implementation is replaced: the products (OpenBLAS), and the element-wise
 * maps and the sum that dominate an optimizer step once the products are fast (profiled on the
 * 784-256-256-10 MLP with Adam: they were ~90% of the step).
 */
export const NATIVE_KERNELS: readonly string[] = [
  tfc.BatchMatMul,
  tfc._FusedMatMul,
  ...BINARY_KERNELS,
  ...UNARY_KERNELS,
  tfc.Sum,
  tfc.GatherV2,
  tfc.Softmax,
];

/**
 * The fused Adam update, a kernel 'specdyn-native' adds to tfjs's set (registered for this
 * backend only). Inputs `gradient`, `m`, `v`, `value` (float32, one shape) and the scalars
 * `accBeta1`, `accBeta2` (beta^t); attrs `beta1`, `beta2`, `epsilon`, `learningRate`. Outputs
 * [m', v', value'] in the order of operations (and so the float32 rounding) of tfjs's
 * AdamOptimizer, in one pass instead of fourteen element-wise kernels.
 */
export const ADAM_UPDATE_KERNEL = 'SpecdynAdamUpdate';

type DataId = object;

/**
 * The cpu backend's storage and helpers, plus a pool of output buffers.
 *
 * Why a pool: an optimizer step creates and disposes ~100 float32 tensors of layer size, and a
 * fresh Float32Array costs page faults on first write (V8 frees its memory only at GC): on the
 * MLP benchmark that was 10x the cost of the element-wise op itself. tfjs tells the backend
 * exactly when data dies (disposeData), so buffers that only ever lived inside this backend are
 * reused. A buffer is never reused if it was handed out of the backend (readSync/read, which
 * dataSync(), data(), arraySync() and moving to another backend go through; a read through
 * copyValues, copy-read.ts, gets a copy and leaves the buffer pooled), or while any other tensor
 * still stores it (write/move are counted).
 */
export class SpecdynNativeBackend extends MathBackendCPU {
  /** Most float32 elements kept in the pool (64 MiB). */
  static maxPooledElements = 16 * 1024 * 1024;
  /** Buffers shorter than this are not pooled (small allocations are cheap). */
  static minPooledLength = 1024;
  /**
   * Whether `tf.train.adam` optimizers step through {@link ADAM_UPDATE_KERNEL} while this backend
   * is active (default true; false runs tfjs's own fourteen kernels per variable, e.g. to compare).
   */
  static fuseAdam = true;
  /**
   * How products of at least {@link threadedMinFlops} flops (2·batch·m·n·k) choose their BLAS
   * threads. 'auto' (default): threaded while other processes leave the cores free, i.e. use
   * less than half a core (sampled once a second from /proc/stat less this process's own CPU
   * time; elsewhere, the load average below the core count), single-threaded otherwise: on an
   * idle machine every product threaded makes the step fastest (the BLAS threads stay awake
   * between products, which timing one product at a time cannot see: one threaded call among
   * single-threaded ones pays for waking them), and on a loaded one a second thread waits for a
   * core and loses by far. 'threaded' threads every product
   * from threadedMinFlops; 'single' runs those below 1e8 single-threaded (the previous rule).
   * Below 1e8, threaded is opportunistic: only when no other BLAS work runs (the gate is idle),
   * else single-threaded at once, so training never waits for analysis to drain; from 1e8,
   * threaded is the gate's own rule (waiting for other work, then alone). The caller's
   * setThreadLimit caps every product.
   */
  static productThreads: 'auto' | 'threaded' | 'single' = 'auto';
  /**
   * How a threaded product below 1e8 flops (see {@link productThreads}) uses a second core.
   * true (default): in two halves, one on the JavaScript thread and one on specdyn's own helper
   * thread, each a single-threaded BLAS call; it passes the BLAS gate as a small operation, so it
   * runs split even beside analysis calls (a SpectralMonitor's worker), and the helper sleeps
   * between steps instead of spinning; a half the helper has not started by the time the
   * JavaScript thread has finished its own is computed there too. false: OpenBLAS's own
   * threads, taken only while the gate is idle (the rule before 2 December 2026). Products whose
   * longer side is below 128 run whole.
   */
  static productSplit = true;
  /** The smallest product (flops) that {@link productThreads} may thread. */
  static threadedMinFlops = 1e7;

  /** Buffers made by allocF32 and never handed out: how many live data ids store each. */
  private readonly owned = new WeakMap<Float32Array, number>();
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledElements = 0;

  constructor() {
    super();
    // The cpu backend prints a one-time hint to install tfjs-node on first write; the point of
    // this backend is to not need it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** An output buffer of n elements for a kernel that overwrites every element. */
  allocF32(n: number): Float32Array {
    const reused = this.pool.get(n)?.pop();
    const buf = reused ?? new Float32Array(n);
    if (reused) this.pooledElements -= n;
    if (n >= SpecdynNativeBackend.minPooledLength) this.owned.set(buf, 0);
    return buf;
  }

  /** Elements currently held in the pool (for tests and diagnostics). */
  pooledElementCount(): number {
    return this.pooledElements;
  }

  private track(values: unknown): void {
    if (values instanceof Float32Array) {
      const c = this.owned.get(values);
      if (c !== undefined) this.owned.set(values, c + 1);
    }
  }

  private release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const c = this.owned.get(values);
    if (c === undefined) return;
    if (c > 1) {
      this.owned.set(values, c - 1);
      return;
    }
    this.owned.delete(values);
    const n = values.length;
    if (this.pooledElements + n > SpecdynNativeBackend.maxPooledElements) return;
    const list = this.pool.get(n);
    if (list) list.push(values);
    else this.pool.set(n, [values]);
    this.pooledElements += n;
  }

  private escape(dataId: DataId): void {
    const v = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    if (v instanceof Float32Array) this.owned.delete(v);
  }

  override write(values: tfc.backend_util.BackendValues, shape: number[], dtype: tfc.DataType): DataId {
    this.track(values);
    return super.write(values, shape, dtype);
  }

  override move(
    dataId: DataId,
    values: tfc.backend_util.BackendValues,
    shape: number[],
    dtype: tfc.DataType,
    refCount: number,
  ): void {
    this.track(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): tfc.backend_util.BackendValues {
    if (copyRequested()) {
      // copyValues (copy-read.ts): the reader copies at once, so the buffer stays in the pool's care.
      const d = this.data.has(dataId) ? this.data.get(dataId) : undefined;
      if (d?.dtype === 'float32' && d.values instanceof Float32Array) {
        noteCopied();
        return copyTarget(d.values);
      }
    }
    this.escape(dataId);
    return super.readSync(dataId);
  }

  override read(dataId: DataId): Promise<tfc.backend_util.BackendValues> {
    this.escape(dataId);
    return super.read(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const result = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.release(values);
    return result;
  }

  override dispose(): void {
    this.pool.clear();
    this.pooledElements = 0;
    super.dispose();
  }
}

type TensorInfo = tfc.TensorInfo;
type KernelArgs = { inputs: tfc.NamedTensorInfoMap; backend: unknown; attrs?: tfc.NamedAttrMap };

function cpuKernel(name: string): (args: KernelArgs) => TensorInfo {
  const k = tfc.getKernel(name, 'cpu');
  if (!k)
    throw new SpecdynError(
      `specdyn-native: the cpu backend has no '${name}' kernel (is @tensorflow/tfjs-backend-cpu loaded?)`,
    );
  return k.kernelFunc as unknown as (args: KernelArgs) => TensorInfo;
}

function f32Values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Broadcast of two batch shapes (right-aligned), or null when they are incompatible. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For each output batch index, the batch slice of an operand with batch shape `s` broadcast to
 * `out`; null when the trivial rule applies (same count, or a single slice).
 */
function batchIndex(s: readonly number[], out: readonly number[]): Int32Array | null {
  const count = size(s);
  const total = size(out);
  if (count === 1) return null;
  const padded = new Array<number>(out.length - s.length).fill(1).concat(s);
  if (padded.every((d, i) => d === out[i])) return null;
  const idx = new Int32Array(total);
  // Strides of the operand, zero along broadcast axes.
  const strides = new Array<number>(out.length).fill(0);
  for (let i = out.length - 1, st = 1; i >= 0; i--) {
    const d = padded[i]!;
    strides[i] = d === 1 ? 0 : st;
    st *= d;
  }
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let off = 0;
    for (let i = out.length - 1; i >= 0; i--) {
      const d = out[i]!;
      off += (rem % d) * strides[i]!;
      rem = Math.floor(rem / d);
    }
    idx[flat] = off;
  }
  return idx;
}

interface Plan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  aIndex: Int32Array | null;
  bIndex: Int32Array | null;
}

/** Shapes of a (possibly batched) product, or null when the cpu kernel must handle (and reject) it. */
function plan(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): Plan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  if (k !== kb) return null;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const sa = a.shape.slice(0, -2);
  const sb = b.shape.slice(0, -2);
  const outBatch = broadcastShape(sa, sb);
  if (outBatch === null) return null;
  return {
    outShape: [...outBatch, m, n],
    batch: size(outBatch),
    m,
    n,
    k,
    aIndex: batchIndex(sa, outBatch),
    bIndex: batchIndex(sb, outBatch),
  };
}

/**
 * Whether an operand of `shape` added to (or multiplying) an output of `outShape` broadcasts
 * in one of the ways the native epilogue reads by length: a scalar, a row over the last axis,
 * one m x n matrix for all batches, or the full output.
 */
function epilogueFits(shape: readonly number[], outShape: readonly number[]): boolean {
  if (shape.length > outShape.length) return false;
  const r = outShape.length;
  const p = new Array<number>(r - shape.length).fill(1).concat(shape);
  const ones = (from: number, to: number) => p.slice(from, to).every((d) => d === 1);
  const n = outShape[r - 1]!;
  const m = outShape[r - 2]!;
  if (ones(0, r)) return true;
  if (ones(0, r - 1) && p[r - 1] === n) return true;
  if (ones(0, r - 2) && p[r - 2] === m && p[r - 1] === n) return true;
  return p.every((d, i) => d === outShape[i]);
}

/** The gate's own threshold: from here on products are threaded by its default rule. */
const GATE_THREADED_MIN_FLOPS = 1e8;
/** Whether this product runs threaded (opportunistically), by {@link SpecdynNativeBackend.productThreads}. */
function chooseThreaded(flops: number): boolean {
  const mode = SpecdynNativeBackend.productThreads;
  // 'single' and 'threaded' leave products from 1e8 flops to the gate's rule (threaded).
  if (flops < SpecdynNativeBackend.threadedMinFlops || (mode !== 'auto' && flops >= GATE_THREADED_MIN_FLOPS))
    return flops >= GATE_THREADED_MIN_FLOPS;
  if (mode !== 'auto') return mode === 'threaded';
  return !othersKeepACore();
}

function runProduct(
  backend: MathBackendCPU,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  p: Plan,
  bias: TensorInfo | null,
  activation: string | null,
  leakyreluAlpha: number | null,
  prelu: TensorInfo | null,
): TensorInfo {
  const out = (backend as SpecdynNativeBackend).allocF32(p.batch * p.m * p.n);
  const flops = 2 * p.batch * p.m * p.n * p.k;
  // In a split scope (a monitor's probe pass) products from threadedMinFlops run split, or
  // single-threaded where split is off, never threaded at the BLAS gate.
  const scoped = inSplitScope() && flops >= SpecdynNativeBackend.threadedMinFlops;
  const threaded = !scoped && chooseThreaded(flops);
  const split = SpecdynNativeBackend.productSplit && (scoped || (threaded && flops < GATE_THREADED_MIN_FLOPS));
  native().sgemmF32(
    f32Values(backend, a),
    f32Values(backend, b),
    out,
    p.batch,
    p.m,
    p.n,
    p.k,
    transposeA,
    transposeB,
    p.aIndex,
    p.bIndex,
    bias ? f32Values(backend, bias) : null,
    activation,
    leakyreluAlpha,
    prelu ? f32Values(backend, prelu) : null,
    // Threaded: opportunistic below the gate's 1e8 (0 = the gate's own rule from there on);
    // single: a threshold no product reaches (split products ignore it: two single-threaded halves).
    threaded ? (flops < GATE_THREADED_MIN_FLOPS ? flops : 0) : Number.POSITIVE_INFINITY,
    split,
  );
  return backend.makeTensorInfo(p.outShape, 'float32', out);
}

function batchMatMulNative(args: KernelArgs): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tfc.BatchMatMulAttrs;
  const p = plan(a, b, transposeA, transposeB);
  if (p === null) return cpuKernel(tfc.BatchMatMul)(args);
  return runProduct(args.backend as MathBackendCPU, a, b, transposeA, transposeB, p, null, null, null, null);
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: tfc.Relu,
  relu6: tfc.Relu6,
  elu: tfc.Elu,
  sigmoid: tfc.Sigmoid,
  leakyrelu: tfc.LeakyRelu,
  prelu: tfc.Prelu,
};

function fusedMatMulNative(args: KernelArgs): TensorInfo {
  const backend = args.backend as MathBackendCPU;
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: TensorInfo;
    b: TensorInfo;
    bias?: TensorInfo;
    preluActivationWeights?: TensorInfo;
  };
  const attrs = args.attrs as unknown as tfc._FusedMatMulAttrs;
  const activation: string = attrs.activation ?? 'linear';
  const p = plan(a, b, attrs.transposeA, attrs.transposeB);
  if (
    p === null ||
    !(activation === 'linear' || activation in ACTIVATION_KERNELS) ||
    (activation === 'prelu' && preluActivationWeights == null)
  ) {
    return cpuKernel(tfc._FusedMatMul)(args);
  }
  const biasFits = bias == null || (bias.dtype === 'float32' && epilogueFits(bias.shape, p.outShape));
  const preluFits =
    activation !== 'prelu' ||
    (preluActivationWeights != null &&
      preluActivationWeights.dtype === 'float32' &&
      epilogueFits(preluActivationWeights.shape, p.outShape));
  if (biasFits && preluFits) {
    return runProduct(
      backend,
      a,
      b,
      attrs.transposeA,
      attrs.transposeB,
      p,
      bias ?? null,
      activation,
      attrs.leakyreluAlpha ?? 0.2,
      activation === 'prelu' ? (preluActivationWeights ?? null) : null,
    );
  }
  // Unusual broadcasting: native product, then the cpu kernels for bias and activation.
  let current = runProduct(backend, a, b, attrs.transposeA, attrs.transposeB, p, null, null, null, null);
  if (bias != null) {
    const next = cpuKernel(tfc.Add)({ inputs: { a: current, b: bias }, backend });
    backend.disposeIntermediateTensorInfo(current);
    current = next;
  }
  if (activation !== 'linear') {
    const name = ACTIVATION_KERNELS[activation]!;
    const inputs: tfc.NamedTensorInfoMap =
      activation === 'prelu' ? { x: current, alpha: preluActivationWeights! } : { x: current };
    const attrsFor: tfc.NamedAttrMap = activation === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {};
    const next = cpuKernel(name)({ inputs, backend, attrs: attrsFor });
    backend.disposeIntermediateTensorInfo(current);
    current = next;
  }
  return current;
}

/** Row-major strides of `shape` (padded to `rank`) with zeros along its broadcast axes. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const r = outShape.length;
  const st = new Int32Array(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    const d = shape[shape.length - r + i] ?? 1;
    st[i] = d === 1 && outShape[i] !== 1 ? 0 : acc;
    acc *= d;
  }
  return st;
}

function binaryNative(name: string): (args: KernelArgs) => TensorInfo {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuKernel(name)(args);
    const outShape = broadcastShape(a.shape, b.shape);
    if (outShape === null) return cpuKernel(name)(args); // the cpu kernel raises tfjs's error
    const backend = args.backend as MathBackendCPU;
    const av = f32Values(backend, a);
    const bv = f32Values(backend, b);
    const n = size(outShape);
    const out = (backend as SpecdynNativeBackend).allocF32(n);
    if ((av.length === n || av.length === 1) && (bv.length === n || bv.length === 1)) {
      native().binaryF32(name, av, bv, out, null, null, null);
    } else {
      native().binaryF32(
        name,
        av,
        bv,
        out,
        Int32Array.from(outShape),
        broadcastStrides(a.shape, outShape),
        broadcastStrides(b.shape, outShape),
      );
    }
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

function unaryNative(name: string): (args: KernelArgs) => TensorInfo {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') return cpuKernel(name)(args);
    const backend = args.backend as MathBackendCPU;
    const xv = f32Values(backend, x);
    const out = (backend as SpecdynNativeBackend).allocF32(xv.length);
    const alpha = name === tfc.Step ? Number((args.attrs as { alpha?: number } | undefined)?.alpha ?? 0) : 0;
    native().unaryF32(name, xv, out, alpha);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/** Sum over one contiguous block of axes natively; anything else goes to the cpu kernel. */
function sumNative(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tfc.SumAttrs;
  if (x.dtype !== 'float32') return cpuKernel(tfc.Sum)(args);
  let axes: number[];
  try {
    axes = tfc.util.parseAxisParam(axis, x.shape);
  } catch {
    return cpuKernel(tfc.Sum)(args); // the same error, from the cpu kernel
  }
  const sorted = [...axes].sort((p, q) => p - q);
  const contiguous = sorted.length > 0 && sorted.every((v, i) => i === 0 || v === sorted[i - 1]! + 1);
  if (!contiguous) return cpuKernel(tfc.Sum)(args);
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const outer = size(x.shape.slice(0, lo));
  const reduce = size(x.shape.slice(lo, hi + 1));
  const inner = size(x.shape.slice(hi + 1));
  const outShape = keepDims
    ? x.shape.map((d, i) => (i >= lo && i <= hi ? 1 : d))
    : x.shape.filter((_, i) => i < lo || i > hi);
  const backend = args.backend as MathBackendCPU;
  const out = (backend as SpecdynNativeBackend).allocF32(outer * inner);
  native().sumF32(f32Values(backend, x), out, outer, reduce, inner);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/**
 * Gather of whole contiguous blocks (no batch dimensions): each index copies one block of
 * `inner` values with TypedArray.set. model.fit slices every mini-batch out of the training set
 * with a gather along axis 0; the cpu kernel walks it element by element through index
 * arithmetic (4.7 ms per 128 x 784 batch measured), this copies 128 rows. Out-of-range indices,
 * batchDims and string tensors go to the cpu kernel, which raises tfjs's own error.
 */
function gatherNative(args: KernelArgs): TensorInfo {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as tfc.GatherV2Attrs;
  const backend = args.backend as MathBackendCPU;
  if (x.dtype === 'string' || x.dtype === 'complex64' || (batchDims ?? 0) !== 0) return cpuKernel(tfc.GatherV2)(args);
  let ax: number;
  try {
    ax = tfc.util.parseAxisParam(axis, x.shape)[0]!;
  } catch {
    return cpuKernel(tfc.GatherV2)(args);
  }
  const values = backend.data.get(x.dataId).values as Float32Array | Int32Array | Uint8Array;
  const idx = backend.data.get(indices.dataId).values as ArrayLike<number>;
  const dim = x.shape[ax]!;
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    if (!(k >= 0 && k < dim && Number.isInteger(k))) return cpuKernel(tfc.GatherV2)(args);
  }
  const outer = size(x.shape.slice(0, ax));
  const inner = size(x.shape.slice(ax + 1));
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const n = outer * idx.length * inner;
  const out =
    values instanceof Float32Array
      ? (backend as SpecdynNativeBackend).allocF32(n)
      : new (values.constructor as Int32ArrayConstructor | Uint8ArrayConstructor)(n);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    const base = a * dim * inner;
    for (let i = 0; i < idx.length; i++) {
      const from = base + idx[i]! * inner;
      out.set(values.subarray(from, from + inner), o);
      o += inner;
    }
  }
  return backend.makeTensorInfo(outShape, x.dtype, out);
}

/** Softmax over the last axis in one native pass (float32); anything else goes to the cpu kernel. */
function softmaxNative(args: KernelArgs): TensorInfo {
  const { logits } = args.inputs as { logits: TensorInfo };
  const { dim } = args.attrs as unknown as tfc.SoftmaxAttrs;
  const r = logits.shape.length;
  if (logits.dtype !== 'float32' || r === 0 || (dim !== -1 && dim !== r - 1)) return cpuKernel(tfc.Softmax)(args);
  const backend = args.backend as MathBackendCPU;
  const xv = f32Values(backend, logits);
  const cols = logits.shape[r - 1]!;
  const out = (backend as SpecdynNativeBackend).allocF32(xv.length);
  native().softmaxF32(xv, out, size(logits.shape.slice(0, -1)), cols);
  return backend.makeTensorInfo(logits.shape, 'float32', out);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function kernelInput(inputs: tfc.NamedTensorInfoMap, name: string, shape: readonly number[] | null): TensorInfo {
  const t = inputs[name];
  const where = `${ADAM_UPDATE_KERNEL} input '${name}'`;
  if (t == null) throw new TypeError(`Expected a float32 tensor for ${where} but received ${String(t)}`);
  if (t.dtype !== 'float32')
    throw new TypeError(`Expected a float32 tensor for ${where} but received dtype ${t.dtype}`);
  if (shape !== null && !sameShape(t.shape, shape))
    throw new RangeError(`Expected shape [${shape.join(',')}] for ${where} but received [${t.shape.join(',')}]`);
  return t;
}

function kernelAttr(attrs: tfc.NamedAttrMap | undefined, name: string): number {
  const v = attrs?.[name];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TypeError(`Expected a finite number for ${ADAM_UPDATE_KERNEL} attr '${name}' but received ${String(v)}`);
  return v;
}

/** The kernel behind {@link ADAM_UPDATE_KERNEL}. */
function adamUpdateNative(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as SpecdynNativeBackend;
  const value = kernelInput(args.inputs, 'value', null);
  const g = kernelInput(args.inputs, 'gradient', value.shape);
  const m = kernelInput(args.inputs, 'm', value.shape);
  const v = kernelInput(args.inputs, 'v', value.shape);
  const acc1 = kernelInput(args.inputs, 'accBeta1', []);
  const acc2 = kernelInput(args.inputs, 'accBeta2', []);
  const beta1 = kernelAttr(args.attrs, 'beta1');
  const beta2 = kernelAttr(args.attrs, 'beta2');
  const epsilon = kernelAttr(args.attrs, 'epsilon');
  const lr = kernelAttr(args.attrs, 'learningRate');
  const n = size(value.shape);
  const outs = [backend.allocF32(n), backend.allocF32(n), backend.allocF32(n)] as const;
  // tfjs makes float32 scalars of beta1, 1 - beta1, ... (computed in double first), as here.
  const f = Math.fround;
  native().adamF32(
    f32Values(backend, g),
    f32Values(backend, m),
    f32Values(backend, v),
    f32Values(backend, value),
    outs[0],
    outs[1],
    outs[2],
    f(beta1),
    f(1 - beta1),
    f(beta2),
    f(1 - beta2),
    f32Values(backend, acc1)[0]!,
    f32Values(backend, acc2)[0]!,
    f(epsilon),
    f(-lr),
  );
  return outs.map((o) => backend.makeTensorInfo(value.shape, 'float32', o));
}

/** What the fused step reads of a tfjs AdamOptimizer (its fields are private in the typings). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tfc.Variable;
  accBeta2: tfc.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfc.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfc.Variable } | undefined>;
  incrementIterations(): void;
}

type Gradients = tfc.NamedTensorMap | Array<{ name: string; tensor: tfc.Tensor }>;

const isF32Like = (t: TensorInfo | undefined | null, shape: readonly number[]): boolean =>
  t != null && t.dtype === 'float32' && sameShape(t.shape, shape);

/**
 * One Adam step through {@link ADAM_UPDATE_KERNEL}, or false (nothing done) when the step is not
 * the plain float32 case: then tfjs's own applyGradients runs. Moment variables are created
 * exactly as tfjs creates them (names `<variable>/m`, `/v`, not trainable), so getWeights,
 * setWeights and dispose are unchanged.
 */
function fusedAdamStep(opt: AdamState, grads: Gradients): boolean {
  const engine = tfc.engine();
  if (!SpecdynNativeBackend.fuseAdam || tfc.getBackend() !== NATIVE_BACKEND_NAME) return false;
  if (engine.state.gradientDepth > 0) return false; // a step inside tf.grad must stay differentiable
  const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
  const gradOf = (i: number): tfc.Tensor | undefined =>
    Array.isArray(grads) ? grads[i]!.tensor : (grads as tfc.NamedTensorMap)[names[i]!];
  const scalarF32 = (t: tfc.Variable | undefined) => t != null && t.dtype === 'float32' && t.shape.length === 0;
  if (!scalarF32(opt.accBeta1) || !scalarF32(opt.accBeta2)) return false;
  for (const k of ['learningRate', 'beta1', 'beta2', 'epsilon'] as const)
    if (typeof opt[k] !== 'number' || !Number.isFinite(opt[k])) return false;
  for (let i = 0; i < names.length; i++) {
    const value = engine.registeredVariables[names[i]!];
    if (value == null || value.dtype !== 'float32') return false;
    const g = gradOf(i);
    if (g != null && !isF32Like(g, value.shape)) return false;
    for (const slot of [opt.accumulatedFirstMoment[i], opt.accumulatedSecondMoment[i]])
      if (slot != null && !isF32Like(slot.variable, value.shape)) return false;
  }
  tfc.tidy(() => {
    names.forEach((name, i) => {
      const value = engine.registeredVariables[name]!;
      opt.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tfc.tidy(() => tfc.zerosLike(value).variable(false)),
      };
      opt.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tfc.tidy(() => tfc.zerosLike(value).variable(false)),
      };
      const gradient = gradOf(i);
      if (gradient == null) return;
      const m = opt.accumulatedFirstMoment[i]!.variable;
      const v = opt.accumulatedSecondMoment[i]!.variable;
      const [nm, nv, nw] = engine.runKernel(
        ADAM_UPDATE_KERNEL,
        { gradient, m, v, value, accBeta1: opt.accBeta1, accBeta2: opt.accBeta2 },
        { beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon, learningRate: opt.learningRate },
      ) as tfc.Tensor[];
      m.assign(nm!);
      v.assign(nv!);
      value.assign(nw!);
    });
    opt.accBeta1.assign(tfc.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tfc.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
  return true;
}

let adamInstalled = false;

/**
 * Routes AdamOptimizer.applyGradients through {@link fusedAdamStep} (once per process). tfjs has
 * no optimizer kernels, so its optimizers cannot be served through the kernel registry alone;
 * the wrapper changes nothing unless 'specdyn-native' is the active backend and the step is the
 * plain float32 case, and otherwise calls tfjs's own method.
 */
function installFusedAdam(): void {
  if (adamInstalled) return;
  adamInstalled = true;
  const proto = tfc.AdamOptimizer.prototype as unknown as { applyGradients: (g: Gradients) => void };
  const original = proto.applyGradients;
  proto.applyGradients = function applyGradients(this: tfc.AdamOptimizer, grads: Gradients): void {
    if (!fusedAdamStep(this as unknown as AdamState, grads)) original.call(this, grads);
  };
}

/**
 * Registers 'specdyn-native' with tfjs (idempotent): copies every kernel of the cpu backend,
 * then installs the native products. Loads the addon first, so a missing build throws the
 * addon's actionable SpecdynError instead of failing inside a kernel later.
 */
export function registerNativeBackend(): void {
  if (tfc.findBackendFactory(NATIVE_BACKEND_NAME) != null) return;
  const binding = native();
  if (typeof binding.sgemmF32 !== 'function' || typeof binding.adamF32 !== 'function') {
    throw new SpecdynError(
      'specdyn-native: the loaded addon lacks the tfjs kernels (an older build); rebuild it with `npm run build:native`',
    );
  }
  const cpuKernels = tfc.getKernelsForBackend('cpu');
  if (cpuKernels.length === 0) {
    throw new SpecdynError('specdyn-native: no cpu kernels are registered (is @tensorflow/tfjs-backend-cpu loaded?)');
  }
  for (const k of cpuKernels) {
    if (NATIVE_KERNELS.includes(k.kernelName)) continue;
    if (tfc.getKernel(k.kernelName, NATIVE_BACKEND_NAME)) continue;
    tfc.registerKernel({ ...k, backendName: NATIVE_BACKEND_NAME });
  }
  const own: Array<[string, (args: KernelArgs) => TensorInfo | TensorInfo[]]> = [
    [tfc.BatchMatMul, batchMatMulNative],
    [tfc._FusedMatMul, fusedMatMulNative],
    ...BINARY_KERNELS.map((k): [string, (args: KernelArgs) => TensorInfo] => [k, binaryNative(k)]),
    ...UNARY_KERNELS.map((k): [string, (args: KernelArgs) => TensorInfo] => [k, unaryNative(k)]),
    [tfc.Sum, sumNative],
    [tfc.GatherV2, gatherNative],
    [tfc.Softmax, softmaxNative],
    [ADAM_UPDATE_KERNEL, adamUpdateNative],
  ];
  for (const [kernelName, fn] of own) {
    if (tfc.getKernel(kernelName, NATIVE_BACKEND_NAME)) continue;
    tfc.registerKernel({ kernelName, backendName: NATIVE_BACKEND_NAME, kernelFunc: fn as unknown as tfc.KernelFunc });
  }
  installFusedAdam();
  tfc.registerBackend(NATIVE_BACKEND_NAME, () => new SpecdynNativeBackend(), NATIVE_BACKEND_PRIORITY);
}
