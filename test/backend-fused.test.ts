// The fused kernels of the 'specdyn-native' backend: Softmax in one pass and Adam's update in
// one kernel per variable, against tfjs's own kernels (the cpu backend, and the unfused Adam on
// this backend), training parity over many steps, and clean errors on bad input.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { native } from '../src/native.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import {
  ADAM_UPDATE_KERNEL,
  NATIVE_BACKEND_NAME,
  NATIVE_KERNELS,
  SpecdynNativeBackend,
} from '../src/tfjs/native-kernels.js';
import { machineLoadState, othersCores } from '../src/machine-load.js';
import { inSplitScope, withSplitProducts } from '../src/tfjs/product-scope.js';
import { getThreads, setThreads } from '../src/linalg/index.js';
import { expectSameError, relErr } from './tfjs-compare.js';

type Tensor = ReturnType<Tf['tensor']>;
let tf: Tf;

beforeAll(async () => {
  tf = (await loadTf({ backend: 'specdyn-native' })).tf;
  await tf.setBackend('cpu');
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

const rng = new Rng(20261201);
const randData = (n: number, lo = -3, hi = 3): Float32Array => rng.fillUniform(new Float32Array(n), lo, hi);

function on(backend: string, fn: () => Tensor): { values: Float32Array; shape: number[] } {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const t = fn();
    return { values: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape };
  });
}

describe('Softmax in one native pass', () => {
  it('is one of the replaced kernels', () => {
    expect(NATIVE_KERNELS).toContain('Softmax');
    expect(tf.getKernel('Softmax', NATIVE_BACKEND_NAME)!.kernelFunc).not.toBe(
      tf.getKernel('Softmax', 'cpu')!.kernelFunc,
    );
  });

  it('matches the cpu backend on every rank, with large, NaN and infinite logits', () => {
    // 2e-7 of the largest entry: the two sides round every intermediate alike; only exp itself
    // (the C library's against V8's) may differ in the last bit of a double.
    const cases: Array<[number[], Float32Array]> = [
      [[128, 10], randData(1280)],
      [[3, 4, 5], randData(60, -40, 40)],
      [[7, 1], randData(7)],
      [[6], randData(6, 80, 120)], // exp would overflow without the max shift
      [[0, 4], new Float32Array(0)],
      [[2, 3], Float32Array.of(1, Number.NaN, 2, 0, Number.POSITIVE_INFINITY, 1)],
      [[2, 3], Float32Array.of(Number.NEGATIVE_INFINITY, 0, 1, Number.NEGATIVE_INFINITY, -1e30, 5)],
    ];
    for (const [shape, data] of cases) {
      for (const dim of [-1, shape.length - 1]) {
        const want = on('cpu', () => tf.softmax(tf.tensor(data, shape), dim));
        const got = on(NATIVE_BACKEND_NAME, () => tf.softmax(tf.tensor(data, shape), dim));
        expect(got.shape).toEqual(want.shape);
        expect(relErr(got.values, want.values), `${shape} dim ${dim}`).toBeLessThanOrEqual(2e-7);
      }
    }
  });

  it('has the cpu gradient (through the unchanged gradient function)', () => {
    const x = randData(5 * 7);
    const dy = randData(5 * 7);
    const grad = () =>
      tf.grad((t: Tensor) => tf.sum(tf.mul(tf.softmax(t), tf.tensor(dy, [5, 7]))))(tf.tensor(x, [5, 7]));
    expect(relErr(on(NATIVE_BACKEND_NAME, grad).values, on('cpu', grad).values)).toBeLessThanOrEqual(1e-6);
  });

  it('raises the cpu error for a softmax over a non-last axis', () => {
    expectSameError(tf, () => tf.softmax(tf.tensor(randData(6), [2, 3]), 0), NATIVE_BACKEND_NAME);
  });
});

/** A 2-layer softmax classifier compiled with Adam, its weights set from `seed`. */
function classifier(seed: number, lr = 1e-2) {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      units: 16,
      inputShape: [12],
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 5,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy' });
  return model;
}

function batch(seed: number, n = 32) {
  const r = new Rng(seed);
  const x = tf.tensor2d(r.fillNormal(new Float32Array(n * 12)), [n, 12]);
  const labels = Int32Array.from({ length: n }, () => r.int(5));
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5).toFloat();
  return { x, y };
}

/** Trains `steps` steps on `backend`; returns the losses, final weights and optimizer state. */
async function train(backend: string, fuse: boolean, steps: number) {
  tf.setBackend(backend);
  const saved = SpecdynNativeBackend.fuseAdam;
  SpecdynNativeBackend.fuseAdam = fuse;
  try {
    const model = classifier(3);
    const losses: number[] = [];
    // Two batches in turn (random labels): the model memorises them, so the loss must fall.
    const batches = [batch(100), batch(101)];
    for (let s = 0; s < steps; s++) {
      const { x, y } = batches[s % 2]!;
      losses.push(Number(await model.trainOnBatch(x, y)));
    }
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
    const optState = await model.optimizer.getWeights();
    const opt = optState.map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()) }));
    model.dispose();
    return { losses, weights, opt };
  } finally {
    SpecdynNativeBackend.fuseAdam = saved;
  }
}

describe('Adam fused into one kernel per variable', () => {
  it('is bit-identical to tfjs own Adam on this backend: losses, weights, moments, iterations', async () => {
    // Same products on both sides, and the fused kernel rounds every intermediate as tfjs's
    // fourteen element-wise kernels do, so nothing may differ at all.
    const fused = await train(NATIVE_BACKEND_NAME, true, 25);
    const plain = await train(NATIVE_BACKEND_NAME, false, 25);
    expect(fused.losses).toEqual(plain.losses);
    expect(fused.weights).toEqual(plain.weights);
    // Layer names differ between the two models (tfjs numbers them); the layout must not.
    const layout = (o: typeof fused.opt) => o.map((w) => w.name.replace(/dense_Dense\d+/, 'dense'));
    expect(layout(fused.opt)).toEqual(layout(plain.opt));
    expect(fused.opt.map((w) => w.values)).toEqual(plain.opt.map((w) => w.values));
    expect(fused.opt[0]).toEqual({ name: 'iter', values: [25] });
    // The loss falls: the optimizer does optimize.
    expect(fused.losses[24]!).toBeLessThan(0.8 * fused.losses[0]!);
  });

  it('trains like the cpu backend: losses within 1e-4 relative over 25 steps', async () => {
    // Only the products differ (BLAS sums in another order: ~1e-7 relative per product), and
    // Adam's normalised steps keep that from growing much over 25 steps.
    const fused = await train(NATIVE_BACKEND_NAME, true, 25);
    const cpu = await train('cpu', true, 25);
    for (let s = 0; s < 25; s++)
      expect(Math.abs(fused.losses[s]! - cpu.losses[s]!)).toBeLessThanOrEqual(1e-4 * cpu.losses[s]!);
    for (let i = 0; i < cpu.weights.length; i++)
      expect(relErr(fused.weights[i]!, cpu.weights[i]!)).toBeLessThanOrEqual(1e-3);
  });

  it('runs one fused kernel per variable instead of the element-wise chain, and only when enabled', async () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const count = async (fuse: boolean) => {
      SpecdynNativeBackend.fuseAdam = fuse;
      try {
        const model = classifier(5);
        const { x, y } = batch(7);
        await model.trainOnBatch(x, y); // creates the moments
        const info = await tf.profile(async () => {
          await model.trainOnBatch(x, y);
        });
        tf.dispose([x, y]);
        model.dispose();
        const names = info.kernels.map((k) => k.name);
        return { adam: names.filter((n) => n === ADAM_UPDATE_KERNEL).length, total: names.length };
      } finally {
        SpecdynNativeBackend.fuseAdam = true;
      }
    };
    const fused = await count(true);
    const plain = await count(false);
    expect(fused.adam).toBe(4); // two kernels, two biases
    expect(plain.adam).toBe(0);
    // tfjs's Adam spends 14 kernels on each variable and 2 on the bias corrections 1 - beta^t;
    // the fused step spends 1 per variable.
    expect(plain.total - fused.total).toBe(4 * 13 + 2);
  });

  it('leaves variables without a gradient alone and keeps the optimizer state layout', async () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const a = tf.variable(tf.tensor1d(randData(3)), true, 'fusedA');
    const b = tf.variable(tf.tensor1d(randData(3)), true, 'fusedB');
    const before = Float32Array.from(b.dataSync());
    const opt = tf.train.adam(0.1);
    const g = tf.tensor1d(Float32Array.of(1, -2, 0.5));
    // As a list with one gradient missing, and as a map.
    opt.applyGradients([
      { name: 'fusedA', tensor: g },
      { name: 'fusedB', tensor: null as unknown as Tensor },
    ]);
    opt.applyGradients({ fusedA: g } as never);
    expect(Array.from(b.dataSync())).toEqual(Array.from(before));
    // Adam's first steps move every coordinate by about lr, against the sign of its gradient.
    const moved = Array.from(a.dataSync());
    const names = (await opt.getWeights()).map((w) => w.name);
    expect(names).toEqual(['iter', 'fusedA/m', 'fusedB/m', 'fusedA/v', 'fusedB/v']);
    expect(opt.iterations).toBe(2);
    expect(moved.every(Number.isFinite)).toBe(true);
    opt.dispose();
    tf.dispose([a, b, g]);
  });

  it('hands non-float32 variables to tfjs own Adam (which raises its own error)', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const grab = (fuse: boolean): Error => {
      SpecdynNativeBackend.fuseAdam = fuse;
      const v = tf.variable(tf.tensor1d([1, 2, 3], 'int32'), true, `fusedInt${fuse}`);
      const opt = tf.train.adam(0.1);
      try {
        opt.applyGradients({ [v.name]: tf.tensor1d([1, 1, 1], 'int32') } as never);
      } catch (e) {
        return e as Error;
      } finally {
        SpecdynNativeBackend.fuseAdam = true;
        opt.dispose();
        v.dispose();
      }
      throw new Error('no error');
    };
    const want = grab(false);
    expect(grab(true).message).toBe(want.message);
  });
});

describe(`${ADAM_UPDATE_KERNEL} on bad input`, () => {
  const run = (inputs: Record<string, Tensor>, attrs: Record<string, unknown>) => () =>
    tf.tidy(() => tf.engine().runKernel(ADAM_UPDATE_KERNEL, inputs, attrs as never));
  const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, learningRate: 0.01 };

  it('names the input or attribute that is wrong', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const t = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => tf.zeros(shape, dtype);
    const ok = () => ({
      gradient: t([2, 3]),
      m: t([2, 3]),
      v: t([2, 3]),
      value: t([2, 3]),
      accBeta1: t([]),
      accBeta2: t([]),
    });
    expect(run({ ...ok(), m: t([3, 2]) }, attrs)).toThrow(
      new RangeError(`Expected shape [2,3] for ${ADAM_UPDATE_KERNEL} input 'm' but received [3,2]`),
    );
    expect(run({ ...ok(), gradient: t([2, 3], 'int32') }, attrs)).toThrow(
      new TypeError(`Expected a float32 tensor for ${ADAM_UPDATE_KERNEL} input 'gradient' but received dtype int32`),
    );
    expect(run({ ...ok(), accBeta1: t([1]) }, attrs)).toThrow(
      new RangeError(`Expected shape [] for ${ADAM_UPDATE_KERNEL} input 'accBeta1' but received [1]`),
    );
    expect(run(ok(), { ...attrs, learningRate: '0.1' })).toThrow(
      new TypeError(`Expected a finite number for ${ADAM_UPDATE_KERNEL} attr 'learningRate' but received 0.1`),
    );
    expect(run(ok(), { ...attrs, beta1: Number.NaN })).toThrow(TypeError);
  });

  it('one kernel step equals the formula of tfjs Adam evaluated by tfjs ops on the cpu backend', () => {
    const n = 1000;
    const g = randData(n),
      m = randData(n),
      w = randData(n);
    const v = randData(n, 0, 2);
    const [b1, b2, eps, lr, acc1, acc2] = [0.9, 0.999, 1e-7, 3e-3, 0.9 ** 4, 0.999 ** 4];
    tf.setBackend(NATIVE_BACKEND_NAME);
    const outs = tf.tidy(() =>
      (
        tf.engine().runKernel(
          ADAM_UPDATE_KERNEL,
          {
            gradient: tf.tensor(g),
            m: tf.tensor(m),
            v: tf.tensor(v),
            value: tf.tensor(w),
            accBeta1: tf.scalar(acc1),
            accBeta2: tf.scalar(acc2),
          },
          { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr },
        ) as Tensor[]
      ).map((t) => Float32Array.from(t.dataSync() as Float32Array)),
    );
    tf.setBackend('cpu');
    const want = tf.tidy(() => {
      const m1 = tf.add(tf.mul(tf.tensor(m), b1), tf.mul(tf.tensor(g), 1 - b1));
      const v1 = tf.add(tf.mul(tf.tensor(v), b2), tf.mul(tf.square(tf.tensor(g)), 1 - b2));
      const mh = tf.div(m1, tf.sub(1, tf.scalar(acc1)));
      const vh = tf.div(v1, tf.sub(1, tf.scalar(acc2)));
      const w1 = tf.add(tf.mul(tf.div(mh, tf.add(tf.sqrt(vh), eps)), -lr), tf.tensor(w));
      return [m1, v1, w1].map((t) => Float32Array.from(t.dataSync() as Float32Array));
    });
    tf.setBackend(NATIVE_BACKEND_NAME);
    for (let i = 0; i < 3; i++) expect(outs[i]).toEqual(want[i]);
  });
});

describe('native softmaxF32 and adamF32 on bad input (clean errors, no crash)', () => {
  const b = () => native();
  const f = (n: number) => new Float32Array(n);
  const consts = [0.9, 0.1, 0.999, 0.001, 0.9, 0.999, 1e-7, -1e-3] as const;

  it('softmaxF32 rejects wrong kinds, sizes and overlapping output', () => {
    expect(() => b().softmaxF32(new Float64Array(6) as never, f(6), 2, 3)).toThrow(
      new TypeError("Expected a Float32Array for softmaxF32 argument 'x' but received Float64Array(6)"),
    );
    expect(() => b().softmaxF32(f(6), f(5), 2, 3)).toThrow(
      new RangeError('Expected x and out of length rows*cols (2 x 3) for softmaxF32 but received lengths 6 and 5'),
    );
    expect(() => b().softmaxF32(f(6), f(6), 4, 3)).toThrow(RangeError);
    expect(() => b().softmaxF32(f(6), f(6), -1, 3)).toThrow(RangeError);
    const x = f(8);
    expect(() => b().softmaxF32(x.subarray(0, 6), x.subarray(2, 8), 2, 3)).toThrow(RangeError);
    // In place (out is x itself) is allowed.
    const y = Float32Array.of(0, 0, Math.log(3));
    b().softmaxF32(y, y, 1, 3);
    expect(Array.from(y).map((p) => Number(p.toFixed(6)))).toEqual([0.2, 0.2, 0.6]);
  });

  it('adamF32 rejects wrong kinds, lengths, aliasing and constants', () => {
    const arrays = () => [f(4), f(4), f(4), f(4), f(4), f(4), f(4)] as const;
    expect(() => b().adamF32(...arrays(), ...consts)).not.toThrow();
    const [g, m, v, w, mo, vo, wo] = arrays();
    expect(() => b().adamF32(g, m, v, w, mo, f(3), wo, ...consts)).toThrow(
      new RangeError(
        "Expected a Float32Array of length 4 (the length of g) for adamF32 argument 'vOut' but received Float32Array(3)",
      ),
    );
    expect(() => b().adamF32(g, [0, 0, 0, 0] as never, v, w, mo, vo, wo, ...consts)).toThrow(
      new TypeError("Expected a Float32Array for adamF32 argument 'm' but received Array(4)"),
    );
    expect(() => b().adamF32(g, m, v, w, mo, mo, wo, ...consts)).toThrow(RangeError);
    const big = f(5);
    expect(() => b().adamF32(g, big.subarray(0, 4), v, w, big.subarray(1, 5), vo, wo, ...consts)).toThrow(RangeError);
    expect(() =>
      b().adamF32(g, m, v, w, mo, vo, wo, 0.9, 0.1, 0.999, 0.001, 0.9, '0.999' as never, 1e-7, -1e-3),
    ).toThrow(new TypeError("Expected a number for adamF32 argument 'accBeta2' but received '0.999'"));
  });

  it('adamF32 in place (outputs are the inputs) equals adamF32 into fresh buffers', () => {
    const n = 1537; // several blocks and a ragged tail
    const g = randData(n),
      m = randData(n),
      w = randData(n),
      v = randData(n, 0, 1);
    const out = [f(n), f(n), f(n)] as const;
    b().adamF32(g, m, v, w, out[0], out[1], out[2], ...consts);
    const [m2, v2, w2] = [Float32Array.from(m), Float32Array.from(v), Float32Array.from(w)];
    b().adamF32(g, m2, v2, w2, m2, v2, w2, ...consts);
    expect(m2).toEqual(out[0]);
    expect(v2).toEqual(out[1]);
    expect(w2).toEqual(out[2]);
  });
});

describe('threads of training-sized products', () => {
  it("every mode gives the cpu backend's product; 'auto' samples the machine's CPU time", () => {
    // 2·128·300·260 = 20 MFLOP: between threadedMinFlops (1e7) and the gate's 1e8.
    const a = randData(128 * 300);
    const w = randData(300 * 260);
    const want = on('cpu', () => tf.matMul(tf.tensor(a, [128, 300]), tf.tensor(w, [300, 260])));
    const saved = SpecdynNativeBackend.productThreads;
    try {
      for (const mode of ['single', 'threaded', 'auto'] as const) {
        SpecdynNativeBackend.productThreads = mode;
        for (let i = 0; i < 8; i++) {
          const got = on(NATIVE_BACKEND_NAME, () => tf.matMul(tf.tensor(a, [128, 300]), tf.tensor(w, [300, 260])));
          expect(relErr(got.values, want.values), mode).toBeLessThanOrEqual(1e-5);
        }
      }
      // 'auto' has read the machine's CPU time (Linux: /proc/stat) for its choice.
      const st = machineLoadState();
      expect(st.sample).toBeDefined();
      if (process.platform === 'linux') expect(st.sample!.machine).toBeGreaterThan(0);
      // From the gate's 1e8 on (2·512·256·400 = 105 MFLOP) the products agree too.
      const big = [randData(512 * 400), randData(400 * 256)] as const;
      const prod = () => tf.matMul(tf.tensor(big[0], [512, 400]), tf.tensor(big[1], [400, 256]));
      SpecdynNativeBackend.productThreads = 'single';
      const ref = on(NATIVE_BACKEND_NAME, prod);
      SpecdynNativeBackend.productThreads = 'auto';
      for (let i = 0; i < 3; i++)
        expect(relErr(on(NATIVE_BACKEND_NAME, prod).values, ref.values)).toBeLessThanOrEqual(1e-5);
    } finally {
      SpecdynNativeBackend.productThreads = saved;
    }
  });

  it("in a split-products scope (a monitor's probe pass) a product from the gate's 1e8 runs as one split pair, same values", () => {
    // 2·512·400·256 = 105 MFLOP: outside the scope the gate's threaded rule, never the pair.
    const big = [randData(512 * 400), randData(400 * 256)] as const;
    const prod = () => tf.matMul(tf.tensor(big[0], [512, 400]), tf.tensor(big[1], [400, 256]));
    const pairs = () => {
      const c = native()._pairThreadCounts();
      return c.split + c.alone + c.stolen;
    };
    const threads = getThreads();
    const saved = SpecdynNativeBackend.productSplit;
    setThreads(2);
    try {
      const want = on('cpu', prod);
      let before = pairs();
      const outside = on(NATIVE_BACKEND_NAME, prod);
      expect(pairs()).toBe(before);
      before = pairs();
      const inside = withSplitProducts(() => on(NATIVE_BACKEND_NAME, prod));
      expect(pairs()).toBe(before + 1);
      expect(relErr(inside.values, want.values)).toBeLessThanOrEqual(1e-5);
      expect(relErr(outside.values, want.values)).toBeLessThanOrEqual(1e-5);
      // productSplit off: single-threaded in the scope, not through the pair either.
      SpecdynNativeBackend.productSplit = false;
      before = pairs();
      expect(relErr(withSplitProducts(() => on(NATIVE_BACKEND_NAME, prod)).values, want.values)).toBeLessThanOrEqual(
        1e-5,
      );
      expect(pairs()).toBe(before);
      expect(inSplitScope()).toBe(false);
    } finally {
      SpecdynNativeBackend.productSplit = saved;
      setThreads(threads);
    }
  });

  it("'auto' counts the CPU other processes took between two samples, this process's own left out", () => {
    // 2 s of wall time; the machine busy for 3.0 CPU-s, this process for 2.2: others took 0.4 cores
    expect(othersCores({ wall: 1000, machine: 10, self: 1 }, { wall: 3000, machine: 13, self: 3.2 })).toBeCloseTo(
      0.4,
      12,
    );
    // this process alone (its threads can add up to more than the wall time): none
    expect(othersCores({ wall: 0, machine: 5, self: 5 }, { wall: 1000, machine: 6.8, self: 6.8 })).toBe(0);
    // counter noise never makes a negative share, and no wall time gives 0
    expect(othersCores({ wall: 0, machine: 5, self: 1 }, { wall: 1000, machine: 5.01, self: 1.02 })).toBe(0);
    expect(othersCores({ wall: 7, machine: 5, self: 1 }, { wall: 7, machine: 9, self: 1 })).toBe(0);
  });

  it('rejects a bad threadedMinFlops in the binding', () => {
    const f = (n: number) => new Float32Array(n);
    const call = (t: unknown) => () =>
      native().sgemmF32(f(4), f(4), f(4), 1, 2, 2, 2, false, false, null, null, null, null, null, null, t as number);
    expect(call(-1)).toThrow(
      new RangeError("Expected a non-negative number for sgemmF32 argument 'threadedMinFlops' but received -1"),
    );
    expect(call('1e7')).toThrow(
      new TypeError("Expected a number for sgemmF32 argument 'threadedMinFlops' but received '1e7'"),
    );
    expect(call(Number.NaN)).toThrow(RangeError);
    expect(call(1)).not.toThrow();
  });
});
