// The 'specdyn-native' tfjs backend against the cpu backend (same inputs, same kernels through
// tfjs's public ops), loadTf's choice and reporting, training parity across backends, gradients
// by finite differences, buffer-pool safety, and the raw native binding on bad input.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { SpecdynError } from '../src/errors.js';
import { native } from '../src/native.js';
import { eigvalsh } from '../src/linalg/index.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import { copyValues } from '../src/tfjs/copy-read.js';
import { NATIVE_BACKEND_NAME, NATIVE_KERNELS, type SpecdynNativeBackend } from '../src/tfjs/native-kernels.js';
import { expectSameError as expectSameErrorOn, relErr } from './tfjs-compare.js';

type Tensor = ReturnType<Tf['tensor']>;
let tf: Tf;

beforeAll(async () => {
  const loaded = await loadTf({ backend: 'specdyn-native' });
  tf = loaded.tf;
  // Make sure the cpu backend is initialised too, so the comparisons can switch synchronously.
  await tf.setBackend('cpu');
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

/** Runs fn on a backend with fresh tensors made from plain arrays; returns values and shape. */
function on(backend: string, fn: () => Tensor): { values: Float32Array | Int32Array; shape: number[]; dtype: string } {
  tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  return tf.tidy(() => {
    const t = fn();
    return { values: t.dataSync() as Float32Array | Int32Array, shape: t.shape, dtype: t.dtype };
  });
}

// relErr: max |native - cpu| / max(|cpu|); 1e-5 is a few float32 ulps of the largest entry, which
// bounds the reordering error of a BLAS product and is exact for element-wise maps. NaN must
// match NaN.
/** Compares fn on the native backend with fn on the cpu backend (values, shape, dtype). */
function expectSame(fn: () => Tensor, tol = 1e-5): void {
  const want = on('cpu', fn);
  const got = on(NATIVE_BACKEND_NAME, fn);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  expect(got.values.length).toBe(want.values.length);
  expect(relErr(got.values, want.values)).toBeLessThanOrEqual(tol);
}

/** Both backends throw, with the same error class and message. */
function expectSameError(fn: () => unknown): void {
  expectSameErrorOn(tf, fn, NATIVE_BACKEND_NAME);
}

const rng = new Rng(20261128);
const randData = (n: number, lo = -2, hi = 2): Float32Array => rng.fillUniform(new Float32Array(n), lo, hi);
const dim = (lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

describe('BatchMatMul on OpenBLAS', () => {
  it('matches the cpu backend on random shapes, transposes and rank-2 to rank-4 inputs', () => {
    for (let trial = 0; trial < 40; trial++) {
      const m = dim(1, 40),
        n = dim(1, 40),
        k = dim(1, 60);
      const ta = rng.uniform() < 0.5,
        tb = rng.uniform() < 0.5;
      // Batch shapes the cpu kernel broadcasts correctly: equal, one side absent or size 1, or
      // one side a suffix of the other.
      const batches: Array<[number[], number[]]> = [
        [[], []],
        [[3], [3]],
        [[4], []],
        [[], [2]],
        [[1], [3]],
        [[2, 3], [3]],
        [
          [2, 3],
          [2, 3],
        ],
        [[2], [1]],
      ];
      const [ba, bb] = batches[trial % batches.length]!;
      const aShape = [...ba, ...(ta ? [k, m] : [m, k])];
      const bShape = [...bb, ...(tb ? [n, k] : [k, n])];
      const ad = randData(aShape.reduce((p, d) => p * d, 1));
      const bd = randData(bShape.reduce((p, d) => p * d, 1));
      expectSame(() => tf.matMul(tf.tensor(ad, aShape), tf.tensor(bd, bShape), ta, tb));
    }
  });

  it('broadcasts batch dimensions like NumPy ([2,1] x [1,3] -> [2,3]), checked slice by slice', () => {
    const a = randData(2 * 1 * 4 * 5),
      b = randData(1 * 3 * 5 * 6);
    const got = on(NATIVE_BACKEND_NAME, () => tf.matMul(tf.tensor(a, [2, 1, 4, 5]), tf.tensor(b, [1, 3, 5, 6])));
    expect(got.shape).toEqual([2, 3, 4, 6]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const want = on('cpu', () =>
          tf.matMul(
            tf.tensor(a.subarray(i * 20, (i + 1) * 20), [4, 5]),
            tf.tensor(b.subarray(j * 30, (j + 1) * 30), [5, 6]),
          ),
        );
        const off = (i * 3 + j) * 24;
        expect(relErr(got.values.subarray(off, off + 24), want.values)).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('handles empty products (k = 0 gives zeros, m = 0 gives an empty result)', () => {
    expectSame(() => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])));
    expectSame(() => tf.matMul(tf.zeros([0, 5]), tf.ones([5, 4])));
  });

  it('leaves int32 products to the cpu kernel (same dtype and values)', () => {
    expectSame(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), tf.tensor2d([1, 0, 2, 1, 0, 3], [3, 2], 'int32')),
    );
  });

  it('raises the cpu backend errors on bad shapes', () => {
    expectSameError(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5])));
    expectSameError(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 5]), true, true));
    expectSameError(() => tf.matMul(tf.ones([2, 2, 3]), tf.ones([3, 3, 4])));
    expectSameError(() => tf.matMul(tf.ones([3]), tf.ones([3, 4])));
  });
});

describe('_FusedMatMul: bias and fused activation', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

  it('matches the cpu backend for every activation, bias shape and transpose', () => {
    for (const activation of activations) {
      for (let trial = 0; trial < 6; trial++) {
        const m = dim(1, 30),
          n = dim(1, 30),
          k = dim(1, 40);
        const ta = trial % 2 === 1,
          tb = trial % 3 === 1;
        const batch = trial % 3 === 2 ? 3 : 1;
        const aShape = [...(batch > 1 ? [batch] : []), ...(ta ? [k, m] : [m, k])];
        const bShape =
          ta && batch > 1 ? [...(tb ? [n, k] : [k, n])] : [...(batch > 1 ? [batch] : []), ...(tb ? [n, k] : [k, n])];
        const biasShapes: number[][] = [[n], [1], [], [m, n], [1, n]];
        const biasShape = biasShapes[trial % biasShapes.length]!;
        const ad = randData(aShape.reduce((p, d) => p * d, 1));
        const bd = randData(bShape.reduce((p, d) => p * d, 1));
        const biasD = randData(biasShape.reduce((p, d) => p * d, 1));
        const preluShape = trial % 2 === 0 ? [n] : [m, n];
        const preluD = randData(
          preluShape.reduce((p, d) => p * d, 1),
          0,
          0.5,
        );
        const withBias = trial !== 3;
        expectSame(() =>
          tf.fused.matMul({
            a: tf.tensor(ad, aShape),
            b: tf.tensor(bd, bShape),
            transposeA: ta,
            transposeB: tb,
            bias: withBias ? tf.tensor(biasD, biasShape) : undefined,
            activation,
            preluActivationWeights: activation === 'prelu' ? tf.tensor(preluD, preluShape) : undefined,
            leakyreluAlpha: 0.13,
          }),
        );
      }
    }
  });

  it('falls back to the cpu add for unusual bias broadcasts ([m, 1]) and still matches', () => {
    const a = randData(6 * 7),
      b = randData(7 * 5),
      bias = randData(6);
    expectSame(() =>
      tf.fused.matMul({
        a: tf.tensor(a, [6, 7]),
        b: tf.tensor(b, [7, 5]),
        bias: tf.tensor(bias, [6, 1]),
        activation: 'relu',
      }),
    );
    expectSame(() =>
      tf.fused.matMul({
        a: tf.tensor(a, [6, 7]),
        b: tf.tensor(b, [7, 5]),
        activation: 'prelu',
        preluActivationWeights: tf.tensor(bias, [6, 1]),
      }),
    );
  });

  it('raises the cpu backend errors on bad shapes', () => {
    expectSameError(() => tf.fused.matMul({ a: tf.ones([2, 3]), b: tf.ones([4, 5]) }));
    expectSameError(() => tf.fused.matMul({ a: tf.ones([2, 3]), b: tf.ones([3, 5]), bias: tf.ones([4]) }));
  });
});

describe('element-wise kernels and Sum', () => {
  const binary: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
    ['Add', (a, b) => tf.add(a, b)],
    ['Sub', (a, b) => tf.sub(a, b)],
    ['Multiply', (a, b) => tf.mul(a, b)],
    ['RealDiv', (a, b) => tf.div(a, b)],
    ['Maximum', (a, b) => tf.maximum(a, b)],
    ['Minimum', (a, b) => tf.minimum(a, b)],
    ['SquaredDifference', (a, b) => tf.squaredDifference(a, b)],
  ];
  const unary: Array<[string, (x: Tensor) => Tensor]> = [
    ['Sqrt', (x) => tf.sqrt(x)],
    ['Rsqrt', (x) => tf.rsqrt(x)],
    ['Square', (x) => tf.square(x)],
    ['Neg', (x) => tf.neg(x)],
    ['Abs', (x) => tf.abs(x)],
    ['Exp', (x) => tf.exp(x)],
    ['Log', (x) => tf.log(x)],
    ['Relu', (x) => tf.relu(x)],
    ['Relu6', (x) => tf.relu6(x)],
    ['Elu', (x) => tf.elu(x)],
    ['Sigmoid', (x) => tf.sigmoid(x)],
    ['Tanh', (x) => tf.tanh(x)],
    ['Step', (x) => tf.step(x, 0.25)],
    ['Reciprocal', (x) => tf.reciprocal(x)],
  ];

  it('registers its own functions for the replaced kernels and the cpu ones for all others', () => {
    for (const k of tf.getKernelsForBackend('cpu')) {
      const mine = tf.getKernel(k.kernelName, NATIVE_BACKEND_NAME);
      expect(mine, k.kernelName).toBeDefined();
      expect(mine!.kernelFunc === k.kernelFunc, k.kernelName).toBe(!NATIVE_KERNELS.includes(k.kernelName));
    }
  });

  it('covers exactly the kernels the backend replaces', () => {
    const tested = new Set([
      ...binary.map(([k]) => k),
      ...unary.map(([k]) => k),
      'Sum',
      'BatchMatMul',
      '_FusedMatMul',
      'GatherV2',
      'Softmax', // tested in backend-fused.test.ts
    ]);
    expect(new Set(NATIVE_KERNELS)).toEqual(tested);
  });

  it('binary ops match the cpu backend: same shape, scalar, row and general broadcasts', () => {
    const shapes: Array<[number[], number[]]> = [
      [
        [5, 7],
        [5, 7],
      ],
      [[5, 7], []],
      [[], [5, 7]],
      [[64, 33], [33]],
      [
        [3, 1, 4],
        [2, 1],
      ],
      [
        [2, 3, 4],
        [2, 1, 4],
      ],
      [
        [40, 50],
        [40, 50],
      ],
      [[1], [6]],
    ];
    for (const [name, f] of binary) {
      for (const [sa, sb] of shapes) {
        const a = randData(sa.reduce((p, d) => p * d, 1));
        const b = randData(sb.reduce((p, d) => p * d, 1));
        expectSame(() => f(tf.tensor(a, sa), tf.tensor(b, sb)));
      }
      expectSame(() => f(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4, 5, 6], [3], 'int32')));
      expectSameError(() => f(tf.ones([2, 3]), tf.ones([4])));
      expect(name).toBeTruthy();
    }
  });

  it('unary ops match the cpu backend, NaN and infinities included', () => {
    const x = randData(3000, -8, 8);
    x[0] = NaN;
    x[1] = Infinity;
    x[2] = -Infinity;
    x[3] = 0;
    x[4] = -0;
    for (const [, f] of unary) expectSame(() => f(tf.tensor(x, [30, 100])));
  });

  it('Sum matches the cpu backend over contiguous and scattered axes, with and without keepDims', () => {
    const x = randData(4 * 5 * 6 * 7);
    const axes: Array<number | number[] | undefined> = [
      undefined,
      0,
      1,
      3,
      -1,
      [0, 1],
      [1, 2],
      [2, 3],
      [0, 2],
      [0, 3],
      [1, 3],
    ];
    for (const axis of axes) {
      for (const keepDims of [false, true]) expectSame(() => tf.sum(tf.tensor(x, [4, 5, 6, 7]), axis, keepDims));
    }
    expectSameError(() => tf.sum(tf.ones([2, 3]), 5));
  });

  it('GatherV2 matches the cpu backend: every axis, float32/int32/bool, repeated and 2-D indices', () => {
    const x = randData(4 * 5 * 6);
    const cases: Array<[number[], number[], number]> = [
      [[3, 0, 3, 1], [4], 0],
      [[2, 2, 0], [3], 1],
      [[5, 0], [2], -1],
      [[1, 0, 2, 3, 1, 0], [2, 3], 1],
      [[], [0], 0],
    ];
    for (const [idx, shape, axis] of cases) {
      const i = () => tf.tensor(idx, shape, 'int32');
      expectSame(() => tf.gather(tf.tensor(x, [4, 5, 6]), i(), axis), 0);
      expectSame(
        () =>
          tf.gather(
            tf.tensor(
              Int32Array.from(x, (v) => Math.round(v * 100)),
              [4, 5, 6],
              'int32',
            ),
            i(),
            axis,
          ),
        0,
      );
      expectSame(
        () =>
          tf.gather(
            tf.tensor(
              Array.from(x, (v) => v > 0),
              [4, 5, 6],
              'bool',
            ),
            i(),
            axis,
          ),
        0,
      );
    }
    // A mini-batch slice of a training set, as model.fit takes it.
    const rows = Int32Array.from({ length: 128 }, () => rng.int(1000));
    const train = randData(1000 * 49);
    expectSame(() => tf.gather(tf.tensor(train, [1000, 49]), tf.tensor(rows, [128], 'int32')), 0);
    // batchDims and bad indices: the cpu kernel, its result or its error.
    expectSame(
      () =>
        tf.gather(
          tf.tensor(x, [4, 5, 6]),
          tf.tensor(
            [
              [1, 0],
              [2, 2],
              [0, 4],
              [3, 3],
            ],
            [4, 2],
            'int32',
          ),
          1,
          1,
        ),
      0,
    );
    expectSameError(() => tf.gather(tf.tensor(x, [4, 5, 6]), tf.tensor([4], [1], 'int32'), 0));
    expectSameError(() => tf.gather(tf.tensor(x, [4, 5, 6]), tf.tensor([-1], [1], 'int32'), 0));
  });
});

describe('buffer pool', () => {
  it('never recycles a buffer that was read out, and does recycle internal ones', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const backend = tf.backend() as unknown as SpecdynNativeBackend;
    const a = tf.tensor(randData(4096), [64, 64]);
    const b = tf.tensor(randData(4096), [64, 64]);
    const kept = tf.add(a, b);
    const view = kept.dataSync();
    const copy = Float32Array.from(view);
    kept.dispose();
    // Intermediates of the same size are created and disposed inside tidy: they go to the pool.
    const before = backend.pooledElementCount();
    tf.tidy(() => {
      for (let i = 0; i < 5; i++) tf.mul(tf.add(a, b), tf.sub(a, b));
    });
    expect(backend.pooledElementCount()).toBeGreaterThan(before);
    tf.tidy(() => {
      for (let i = 0; i < 20; i++) tf.mul(a, b).dataSync();
    });
    expect(Array.from(view)).toEqual(Array.from(copy));
    tf.dispose([a, b]);
  });

  it("copyValues writes into the reader's buffer when it has the tensor's size (both backends), else a fresh one", () => {
    for (const backend of [NATIVE_BACKEND_NAME, 'cpu']) {
      tf.setBackend(backend);
      const a = tf.tensor(randData(256), [16, 16]);
      const t = tf.mul(a, 2);
      const want = Array.from(t.dataSync());
      const into = new Float32Array(256).fill(Number.NaN);
      const got = copyValues(t, into);
      expect([backend, got === into]).toEqual([backend, true]);
      expect(Array.from(into)).toEqual(want);
      const wrong = new Float32Array(255);
      const fresh = copyValues(t, wrong);
      expect([backend, fresh === wrong, fresh.length]).toEqual([backend, false, 256]);
      expect(Array.from(fresh)).toEqual(want);
      tf.dispose([a, t]);
    }
    tf.setBackend(NATIVE_BACKEND_NAME);
  });

  it('copyValues gives the reader a copy and leaves the buffer pooled (dataSync takes it out)', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const backend = tf.backend() as unknown as SpecdynNativeBackend;
    const a = tf.tensor(randData(4096), [64, 64]);
    const b = tf.tensor(randData(4096), [64, 64]);
    const [av, bv] = [a.dataSync(), b.dataSync()];
    const expected = Float32Array.from(av, (x, i) => x + bv[i]!);
    const read = tf.add(a, b);
    const copied = copyValues(read);
    expect(copied).toBeInstanceOf(Float32Array);
    expect(Array.from(copied)).toEqual(Array.from(expected));
    copied[0] = Number.NaN; // the caller's own: writing it leaves the tensor as it was
    expect(Array.from(copyValues(read))).toEqual(Array.from(expected));
    const before = backend.pooledElementCount();
    read.dispose();
    expect(backend.pooledElementCount()).toBe(before + 4096);
    const escaped = tf.add(a, b);
    escaped.dataSync();
    const after = backend.pooledElementCount();
    escaped.dispose();
    expect(backend.pooledElementCount()).toBe(after);
    tf.dispose([a, b]);
  });

  it('copyValues copies on a backend without a pool too', () => {
    tf.setBackend('cpu');
    try {
      const t = tf.tensor([1, 2, 3, 4], [2, 2]);
      const c = copyValues(t);
      c[0] = 9;
      expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
      expect(Array.from(c)).toEqual([9, 2, 3, 4]);
      t.dispose();
    } finally {
      tf.setBackend(NATIVE_BACKEND_NAME);
    }
  });
});

describe('loadTf', () => {
  it('chooses specdyn-native here (tfjs-node is not installed) and says why', async () => {
    const saved = process.env['SPECDYN_TF_BACKEND'];
    delete process.env['SPECDYN_TF_BACKEND'];
    try {
      const r = await loadTf();
      expect(r.backend).toBe('specdyn-native');
      expect(r.tfBackendName).toBe(NATIVE_BACKEND_NAME);
      expect(r.tf.getBackend()).toBe(NATIVE_BACKEND_NAME);
      expect(r.attempts.map((x) => [x.backend, x.ok])).toEqual([
        ['tfjs-node', false],
        ['specdyn-native', true],
      ]);
      expect(r.attempts[0]!.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
      expect(r.reason).toMatch(/^specdyn-native \(auto\): .*OpenBLAS.*passed over tfjs-node/);
    } finally {
      if (saved !== undefined) process.env['SPECDYN_TF_BACKEND'] = saved;
    }
  });

  it('can be forced (option or environment variable) and never silently falls back', async () => {
    expect((await loadTf({ backend: 'cpu' })).tf.getBackend()).toBe('cpu');
    expect((await loadTf({ backend: 'wasm' })).tf.getBackend()).toBe('wasm');
    process.env['SPECDYN_TF_BACKEND'] = 'cpu';
    try {
      expect((await loadTf()).backend).toBe('cpu');
    } finally {
      delete process.env['SPECDYN_TF_BACKEND'];
    }
    await expect(loadTf({ backend: 'tfjs-node' })).rejects.toThrow(SpecdynError);
    await expect(loadTf({ backend: 'tfjs-node' })).rejects.toThrow(
      /forced TensorFlow.js backend 'tfjs-node' could not be loaded:\n {2}tfjs-node: @tensorflow\/tfjs-node is not installed/,
    );
    await expect(loadTf({ backend: 'gpu' as never })).rejects.toThrow(
      new RangeError(
        "Expected one of 'auto', 'tfjs-node', 'specdyn-native', 'wasm', 'cpu' for loadTf option 'backend' but received 'gpu'",
      ),
    );
    await loadTf({ backend: 'specdyn-native' });
  });

  it("require: 'specdyn-native' accepts the native backend and turns a slower one into an error", async () => {
    const saved = process.env['SPECDYN_TF_BACKEND'];
    delete process.env['SPECDYN_TF_BACKEND'];
    try {
      expect((await loadTf({ require: 'specdyn-native' })).backend).toBe('specdyn-native');
      // Nothing but tfjs-node is acceptable, and tfjs-node is not installed here.
      await expect(loadTf({ require: 'tfjs-node' })).rejects.toThrow(
        /no TensorFlow.js backend at least as fast as 'tfjs-node' \(loadTf option 'require'\) could be loaded:\n {2}tfjs-node: @tensorflow\/tfjs-node is not installed/,
      );
      await expect(loadTf({ backend: 'wasm', require: 'specdyn-native' })).rejects.toThrow(
        new RangeError(
          "Expected a backend at least as fast as 'specdyn-native' (loadTf option 'require') for loadTf option 'backend' but received 'wasm'",
        ),
      );
      await expect(loadTf({ require: 'fast' as never })).rejects.toThrow(
        new RangeError(
          "Expected one of 'tfjs-node', 'specdyn-native', 'wasm', 'cpu' for loadTf option 'require' but received 'fast'",
        ),
      );
    } finally {
      if (saved !== undefined) process.env['SPECDYN_TF_BACKEND'] = saved;
      await loadTf({ backend: 'specdyn-native' });
    }
  });
});

describe('training', () => {
  it('gradients of a tiny model match central finite differences', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const r = new Rng(11);
    const x = tf.tensor2d(r.fillNormal(new Float32Array(5 * 3)), [5, 3]);
    const target = tf.tensor2d(r.fillNormal(new Float32Array(5 * 2)), [5, 2]);
    const w1 = tf.variable(tf.tensor2d(r.fillNormal(new Float32Array(3 * 4), 0, 0.7), [3, 4]));
    const b1 = tf.variable(tf.tensor1d(r.fillNormal(new Float32Array(4), 0, 0.1)));
    const w2 = tf.variable(tf.tensor2d(r.fillNormal(new Float32Array(4 * 2), 0, 0.7), [4, 2]));
    // Fused product with bias (linear, fused under gradients), sigmoid, tanh, a batched product
    // with a transpose, and a mean of squares: every replaced kernel family is on the path.
    const loss = (): Tensor => {
      const h = tf.sigmoid(tf.fused.matMul({ a: x, b: w1, bias: b1 }));
      const z = tf.tanh(tf.matMul(h, w2.transpose(), false, true));
      return tf.mean(tf.square(tf.sub(z, target)));
    };
    const { grads } = tf.variableGrads(loss as () => ReturnType<Tf['scalar']>, [w1, b1, w2]);
    const eps = 1e-2;
    const vars: Array<ReturnType<Tf['variable']>> = [w1, b1, w2];
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      const base = Float32Array.from(v.dataSync());
      let gmax = 0;
      for (const gi of g) gmax = Math.max(gmax, Math.abs(gi));
      for (let i = 0; i < base.length; i++) {
        const p = Float32Array.from(base);
        p[i] = base[i]! + eps;
        v.assign(tf.tensor(p, v.shape));
        const lp = tf.tidy(() => loss().dataSync()[0]!);
        p[i] = base[i]! - eps;
        v.assign(tf.tensor(p, v.shape));
        const lm = tf.tidy(() => loss().dataSync()[0]!);
        v.assign(tf.tensor(base, v.shape));
        const fd = (lp - lm) / (2 * eps);
        expect(Math.abs(fd - g[i]!)).toBeLessThanOrEqual(2e-3 * gmax + 1e-5);
      }
    }
    tf.dispose([x, target, w1, b1, w2, ...Object.values(grads)]);
  });
});

describe('sharing BLAS with analysis on the libuv pool', () => {
  it('products issued while large (threaded, gate-exclusive) eigen-solves run on the pool stay correct', async () => {
    const n = 1000; // 0.1 · (4/3) n³ ≥ 1e8: each solve holds the BLAS gate alone

    const g = new Rng(5).fillNormal(new Float64Array(n * n));
    const sym = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sym[i * n + j] = g[i * n + j]! + g[j * n + i]!;
    const pending = [0, 1, 2, 3].map(() => eigvalsh({ data: sym, rows: n, cols: n }));
    const a = randData(256 * 300),
      b = randData(300 * 200);
    const want = on('cpu', () => tf.matMul(tf.tensor(a, [256, 300]), tf.tensor(b, [300, 200])));
    for (let i = 0; i < 5; i++) {
      const got = on(NATIVE_BACKEND_NAME, () => tf.matMul(tf.tensor(a, [256, 300]), tf.tensor(b, [300, 200])));
      expect(relErr(got.values, want.values)).toBeLessThanOrEqual(1e-5);
    }
    const spectra = await Promise.all(pending);
    for (const s of spectra) expect(Array.from(s)).toEqual(Array.from(spectra[0]!));
    expect(spectra[0]!.length).toBe(n);
  });
});

describe('native binding on bad input (clean errors, no crash)', () => {
  const b = () => native();
  const f = (n: number) => new Float32Array(n);

  it('sgemmF32 rejects wrong kinds and sizes', () => {
    expect(() =>
      b().sgemmF32(
        new Float64Array(4) as never,
        f(4),
        f(4),
        1,
        2,
        2,
        2,
        false,
        false,
        null,
        null,
        null,
        null,
        null,
        null,
      ),
    ).toThrow(new TypeError("Expected a Float32Array for sgemmF32 argument 'a' but received Float64Array(4)"));
    expect(() => b().sgemmF32(f(4), f(4), f(3), 1, 2, 2, 2, false, false, null, null, null, null, null, null)).toThrow(
      new RangeError('Expected out of length 4 for sgemm but received 3'),
    );
    expect(() => b().sgemmF32(f(5), f(4), f(4), 1, 2, 2, 2, false, false, null, null, null, null, null, null)).toThrow(
      new RangeError('Expected a of length a multiple of 4 for sgemm but received 5'),
    );
    expect(() =>
      b().sgemmF32(f(8), f(4), f(8), 2, 2, 2, 2, false, false, Int32Array.of(0, 2), null, null, null, null, null),
    ).toThrow(new RangeError('Expected aIndex entries in [0, 2) for sgemm but received 2 at index 1'));
    expect(() => b().sgemmF32(f(4), f(4), f(4), 1, 2, 2, 2, false, false, null, null, f(3), null, null, null)).toThrow(
      RangeError,
    );
    expect(() =>
      b().sgemmF32(f(4), f(4), f(4), 1, 2, 2, 2, false, false, null, null, null, 'swish', null, null),
    ).toThrow(
      new RangeError(
        "Expected one of 'linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu' for sgemmF32 argument 'activation' but received 'swish'",
      ),
    );
    expect(() =>
      b().sgemmF32(f(4), f(4), f(4), 1, 2, 2, 2, false, false, null, null, null, 'prelu', null, null),
    ).toThrow(RangeError);
    const shared = f(8);
    expect(() =>
      b().sgemmF32(
        shared.subarray(0, 4),
        f(4),
        shared.subarray(2, 6),
        1,
        2,
        2,
        2,
        false,
        false,
        null,
        null,
        null,
        null,
        null,
        null,
      ),
    ).toThrow(RangeError);
    expect(() =>
      b().sgemmF32(
        f(4),
        f(4),
        shared.subarray(0, 4),
        1,
        2,
        2,
        2,
        false,
        false,
        null,
        null,
        shared.subarray(2, 4),
        null,
        null,
        null,
      ),
    ).toThrow(
      new RangeError(
        "Expected an output buffer that overlaps no input for sgemmF32 argument 'out' but received Float32Array(4)",
      ),
    );
    expect(() => b().sgemmF32(f(4), f(4), f(4), 1, -2, 2, 2, false, false, null, null, null, null, null, null)).toThrow(
      RangeError,
    );
  });

  it('binaryF32, unaryF32 and sumF32 reject bad sizes and names', () => {
    expect(() => b().binaryF32('Pow', f(2), f(2), f(2), null, null, null)).toThrow(RangeError);
    expect(() => b().binaryF32('Add', f(3), f(2), f(3), null, null, null)).toThrow(RangeError);
    expect(() =>
      b().binaryF32('Add', f(6), f(2), f(6), Int32Array.of(2, 3), Int32Array.of(3, 1), Int32Array.of(0, 1)),
    ).toThrow(RangeError);
    expect(() => b().unaryF32('Sqrt', f(3), f(4))).toThrow(RangeError);
    expect(() => b().unaryF32('Sqrt', [1, 2] as never, f(2))).toThrow(TypeError);
    expect(() => b().sumF32(f(6), f(2), 2, 2, 2)).toThrow(RangeError);
    const x = f(6);
    expect(() => b().sumF32(x, x, 1, 6, 1)).toThrow(RangeError);
  });
});
