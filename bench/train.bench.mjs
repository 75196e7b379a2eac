// Training and inference speed of a 784-256-256-10 MLP (ReLU, softmax, Adam, batch 128) on the
// tfjs backends available without libtensorflow: specdyn-native (OpenBLAS sgemm), wasm and the
// pure-JS cpu backend, all measured in the same process, medians of timed blocks. Then, on
// specdyn-native alone, an interleaved A/B of its training options (tfjs's own Adam against the
// fused Adam kernel; products single-threaded against opportunistically threaded), kernel calls
// per step, the 2048^2 sgemm and the fraction of it a training step reaches, and the Python
// rivals (PyTorch hand loop, TensorFlow tf.function loop and Keras fit, inference at batch 1024,
// NumPy/torch sgemm) when they import (bench/train-rivals.py, run with SPECDYN_PYTHON).
//   node bench/run.mjs train        (after `npx tsc -p tsconfig.json` and the native build)
//   SPECDYN_PYTHON=<venv>/bin/python node bench/run.mjs train   (with torch / tensorflow-cpu)
// SPECDYN_BENCH_QUICK=1 shortens every block (smoke runs).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { PYTHON, benchDir, gaussian, median, timeit } from './lib.mjs';
import { loadTf, SpecdynNativeBackend } from '../dist/tfjs/index.js';
import { getThreads, nativeInfo } from '../dist/index.js';

const QUICK = process.env.SPECDYN_BENCH_QUICK === '1';
const BATCH = 128;
const INFER_BATCH = 1024;
const SIZES = [784, 256, 256, 10];
/**
 * Flops of one training step: the forward products 2·B·Σ in·out, the same again for the weight
 * gradients, and the input gradients of every layer but the first (tfjs skips the data's).
 */
const FLOPS_PER_STEP = (() => {
  let fwd = 0;
  let dx = 0;
  for (let i = 1; i < SIZES.length; i++) {
    fwd += 2 * BATCH * SIZES[i - 1] * SIZES[i];
    if (i > 1) dx += 2 * BATCH * SIZES[i - 1] * SIZES[i];
  }
  return 2 * fwd + dx;
})();

/** The benchmark MLP (also used by monitor.bench.mjs). */
export function buildModel(tf, seed) {
  const model = tf.sequential();
  for (let i = 1; i < SIZES.length; i++) {
    model.add(
      tf.layers.dense({
        units: SIZES[i],
        inputShape: i === 1 ? [SIZES[0]] : undefined,
        activation: i === SIZES.length - 1 ? 'softmax' : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      }),
    );
  }
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * The `count` training batches the monitor benches cycle through (batch i: Gaussian inputs of
 * seed 10 + i, labels (row · 7 + i) mod 10, one-hot): bench/monitor-analysis.mjs and
 * bench/weight-solver.mjs train on these.
 */
export function cycledBatches(tf, count, batch) {
  const out = [];
  for (let b = 0; b < count; b++) {
    const x = tf.tensor2d(gaussian(batch, SIZES[0], 10 + b, Float32Array).data, [batch, SIZES[0]]);
    const labels = new Int32Array(batch).map((_, i) => (i * 7 + b) % 10);
    out.push({ x, y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() });
  }
  return out;
}

function data(tf, n, seed) {
  const x = tf.tensor2d(gaussian(n, SIZES[0], seed, Float32Array).data, [n, SIZES[0]]);
  const labels = new Int32Array(n).map((_, i) => (i * 7 + seed) % 10);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
  return { x, y };
}

// Steps per timed block, per backend, so that each block lasts roughly 0.5-2 s.
const STEPS = QUICK ? { 'specdyn-native': 5, wasm: 2, cpu: 1 } : { 'specdyn-native': 40, wasm: 8, cpu: 2 };
const REPEAT = QUICK ? 2 : 5;

async function measure(backend) {
  const { tf, reason } = await loadTf({ backend });
  const model = buildModel(tf, 1);
  const { x, y } = data(tf, BATCH, 3);
  const { x: xi } = data(tf, INFER_BATCH, 5);
  const steps = STEPS[backend];
  const train = await timeit(
    async () => {
      for (let s = 0; s < steps; s++) await model.trainOnBatch(x, y);
    },
    { repeat: REPEAT, warmup: 1 },
  );
  // model.fit over a training set of `steps` batches: it shuffles and slices each batch itself.
  const { x: xf, y: yf } = data(tf, BATCH * steps, 7);
  const fit = await timeit(
    async () => {
      await model.fit(xf, yf, { batchSize: BATCH, epochs: 1, shuffle: true, verbose: 0 });
    },
    { repeat: REPEAT, warmup: 1 },
  );
  const inferReps = Math.max(1, Math.round(steps / 2));
  const infer = await timeit(
    async () => {
      for (let s = 0; s < inferReps; s++) {
        const out = model.predict(xi, { batchSize: INFER_BATCH });
        await out.data();
        out.dispose();
      }
    },
    { repeat: REPEAT, warmup: 1 },
  );
  const loss = Number(await model.evaluate(x, y, { batchSize: BATCH }).data());
  tf.dispose([x, y, xi, xf, yf]);
  model.dispose();
  return {
    backend,
    stepsPerSec: steps / train.median,
    fitStepsPerSec: steps / fit.median,
    inferSamplesPerSec: (inferReps * INFER_BATCH) / infer.median,
    reason,
    loss,
  };
}

/** Kernel calls tfjs makes for one trainOnBatch step (counted by tf.profile, outside timing). */
async function kernelCalls(tf, model, x, y) {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
  });
  return info.kernels.length;
}

/**
 * The specdyn-native training options compared in one process, block by block ('threaded' last:
 * on a loaded machine its second thread, still waiting for a core, slows the block after it).
 */
const VARIANTS = [
  {
    label: "tfjs's Adam (14 kernels per variable), products 1 thread",
    set: { fuseAdam: false, productThreads: 'single' },
  },
  { label: 'fused Adam kernel, products 1 thread', set: { fuseAdam: true, productThreads: 'single' } },
  {
    label:
      "fused Adam, products split on specdyn's helper thread while other processes leave the cores free ('auto', the default)",
    set: { fuseAdam: true, productThreads: 'auto', productSplit: true },
  },
  {
    label: "fused Adam, 'auto' on OpenBLAS's threads (productSplit false)",
    set: { fuseAdam: true, productThreads: 'auto', productSplit: false },
  },
  {
    label: 'fused Adam, products >= 1e7 flops on OpenBLAS threads (when the gate is idle)',
    set: { fuseAdam: true, productThreads: 'threaded', productSplit: false },
  },
];

/** Interleaved A/B of VARIANTS on one model: every round times each variant once. */
async function variants(tf) {
  const saved = {
    fuseAdam: SpecdynNativeBackend.fuseAdam,
    productThreads: SpecdynNativeBackend.productThreads,
    productSplit: SpecdynNativeBackend.productSplit,
  };
  const model = buildModel(tf, 1);
  const { x, y } = data(tf, BATCH, 3);
  const steps = STEPS['specdyn-native'];
  const times = VARIANTS.map(() => []);
  const calls = [];
  try {
    for (const v of VARIANTS) {
      Object.assign(SpecdynNativeBackend, v.set);
      calls.push(await kernelCalls(tf, model, x, y));
    }
    for (let round = -1; round < REPEAT * 2; round++) {
      for (let j = 0; j < VARIANTS.length; j++) {
        Object.assign(SpecdynNativeBackend, VARIANTS[j].set);
        const t0 = process.hrtime.bigint();
        for (let s = 0; s < steps; s++) await model.trainOnBatch(x, y);
        if (round >= 0) times[j].push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    }
  } finally {
    Object.assign(SpecdynNativeBackend, saved);
    tf.dispose([x, y]);
    model.dispose();
  }
  return VARIANTS.map((v, j) => ({
    label: v.label,
    ...v.set,
    stepsPerSec: steps / median(times[j]),
    kernelCalls: calls[j],
  }));
}

/** GFLOP/s of tf.matMul at 2048^2 with all BLAS threads (the gate's rule: the product peak). */
async function sgemmPeak(tf) {
  const saved = SpecdynNativeBackend.productThreads;
  SpecdynNativeBackend.productThreads = 'single'; // leaves products from 1e8 flops threaded
  const a = tf.ones([2048, 2048]);
  const t = await timeit(
    async () => {
      const c = tf.matMul(a, a);
      await c.data();
      c.dispose();
    },
    { repeat: QUICK ? 2 : REPEAT, warmup: 1 },
  );
  a.dispose();
  SpecdynNativeBackend.productThreads = saved;
  return (2 * 2048 ** 3) / t.median / 1e9;
}

/**
 * GFLOP/s of tf.matMul on the three products of one inference batch (1024 x 784 @ 784 x 256,
 * 1024 x 256 @ 256 x 256, 1024 x 256 @ 256 x 10), run back to back as predict() runs them.
 */
async function inferProducts(tf) {
  const shapes = [];
  for (let i = 1; i < SIZES.length; i++) shapes.push([INFER_BATCH, SIZES[i - 1], SIZES[i]]);
  const flops = shapes.reduce((a, [m, k, n]) => a + 2 * m * k * n, 0);
  const pairs = shapes.map(([m, k, n]) => [tf.ones([m, k]), tf.ones([k, n])]);
  const reps = 20;
  const t = await timeit(
    async () => {
      for (let r = 0; r < reps; r++)
        // The backend's kernels run when called (no queue to wait for), as NumPy's and torch's do.
        for (const [a, b] of pairs) tf.matMul(a, b).dispose();
    },
    { repeat: QUICK ? 2 : REPEAT, warmup: 1 },
  );
  for (const p of pairs) tf.dispose(p);
  return (reps * flops) / t.median / 1e9;
}

/** The Python rivals (bench/train-rivals.py), or null with the reason when they cannot run. */
function rivals(threads) {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import importlib.util as u; print(int(bool(u.find_spec("torch") or u.find_spec("tensorflow"))))'],
    {
      encoding: 'utf8',
    },
  );
  if (probe.status !== 0 || probe.stdout.trim() !== '1')
    return { result: null, reason: `neither torch nor tensorflow imports in ${PYTHON} (set SPECDYN_PYTHON)` };
  const r = spawnSync(
    PYTHON,
    [path.join(benchDir, 'train-rivals.py'), String(STEPS['specdyn-native']), String(REPEAT), String(threads)],
    { encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 << 20, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } },
  );
  if (r.status !== 0)
    return {
      result: null,
      reason: `train-rivals.py failed: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`,
    };
  const lines = r.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]), reason: PYTHON };
}

export async function run() {
  const load0 = loadavg()[0];
  const auto = await loadTf(); // what specdyn picks by itself here, and why
  const threads = getThreads();
  const results = {};
  for (const b of ['specdyn-native', 'wasm', 'cpu']) results[b] = await measure(b);
  const nat = results['specdyn-native'];
  const rows = [];
  for (const [label, r] of [
    ['specdyn-native', nat],
    ['wasm', results.wasm],
    ['cpu', results.cpu],
  ]) {
    rows.push({
      backend: label,
      'train steps/s': r.stepsPerSec,
      'native / this (train)': nat.stepsPerSec / r.stepsPerSec,
      'fit steps/s': r.fitStepsPerSec,
      'fit / trainOnBatch': r.fitStepsPerSec / r.stepsPerSec,
      'infer samples/s': r.inferSamplesPerSec,
      'native / this (infer)': nat.inferSamplesPerSec / r.inferSamplesPerSec,
    });
  }
  const { tf } = await loadTf({ backend: 'specdyn-native' });
  const ab = await variants(tf);
  const peak = await sgemmPeak(tf);
  const inferGflops = await inferProducts(tf);
  // The rivals at the default thread count and single-threaded (on a loaded machine OpenMP's
  // spinning threads can make 2 threads far slower than 1; the best of both is the rival), then
  // specdyn-native once more: its figure for the rival ratios is the mean of before and after.
  const pys = [...new Set([threads, 1])].map((n) => rivals(n));
  const natAfter = await measure('specdyn-native');
  const mean = (key) => 0.5 * (nat[key] + natAfter[key]);
  const natR = {
    stepsPerSec: mean('stepsPerSec'),
    fitStepsPerSec: mean('fitStepsPerSec'),
    inferSamplesPerSec: mean('inferSamplesPerSec'),
  };
  const load1 = loadavg()[0];
  const info = nativeInfo();
  const base = ab[0].stepsPerSec;
  const notes = [
    `BLAS: ${info.blas} (core ${info.core}, ${info.staticBlas ? 'static prebuild' : 'system library'}), ${threads} threads by default; ${info.hardwareThreads} hardware threads; load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end`,
    `loadTf() here: ${auto.reason}`,
    `one training step is ${(FLOPS_PER_STEP / 1e6).toFixed(1)} MFLOP of products; the largest product is ${((2 * BATCH * SIZES[0] * SIZES[1]) / 1e6).toFixed(1)} MFLOP (< 1e8: single-threaded by the BLAS gate's rule; productThreads 'auto' splits it in two halves, the JavaScript thread's and specdyn's helper thread's, while other processes leave the cores free)`,
    `targets: native >= 5x wasm and >= 20x cpu for training steps/s; medians of ${REPEAT} timed blocks after one warm-up block`,
    `final losses (same seed, different step counts): ${Object.values(results)
      .map((r) => `${r.backend} ${r.loss.toFixed(4)}`)
      .join(', ')}`,
    'specdyn-native options, interleaved in one process (medians of ' + REPEAT * 2 + ' blocks each):',
    ...ab.map(
      (v) =>
        `  ${v.label}: ${v.stepsPerSec.toFixed(1)} steps/s (${(v.stepsPerSec / base).toFixed(2)}x the first), ${v.kernelCalls} kernel calls per step, ${((v.stepsPerSec * FLOPS_PER_STEP) / 1e9).toFixed(1)} GFLOP/s = ${((100 * v.stepsPerSec * FLOPS_PER_STEP) / 1e9 / peak).toFixed(1)} % of the 2048^2 sgemm`,
    ),
    `specdyn-native tf.matMul 2048^2: ${peak.toFixed(1)} GFLOP/s (${threads} threads); the three products of one inference batch, back to back: ${inferGflops.toFixed(1)} GFLOP/s`,
  ];
  const rivalRows = [];
  const row = (workload, mine, rival, theirs) =>
    rivalRows.push({
      workload,
      'specdyn-native': mine,
      rival,
      'rival figure': theirs,
      'rival / specdyn': theirs / mine,
    });
  notes.push(
    `specdyn-native for the rival ratios: mean of the run before and after the rivals (train ${nat.stepsPerSec.toFixed(1)} / ${natAfter.stepsPerSec.toFixed(1)}, fit ${nat.fitStepsPerSec.toFixed(1)} / ${natAfter.fitStepsPerSec.toFixed(1)}, infer ${nat.inferSamplesPerSec.toFixed(0)} / ${natAfter.inferSamplesPerSec.toFixed(0)})`,
  );
  for (const py of pys) {
    const p = py.result;
    if (p === null) {
      notes.push(`Python rivals not run: ${py.reason}`);
      continue;
    }
    const t = p.torch && !p.torch.error ? p.torch : null;
    const k = p.tensorflow && !p.tensorflow.error ? p.tensorflow : null;
    const np = p.numpy && !p.numpy.error ? p.numpy : null;
    const th = `${p.threads} thread${p.threads === 1 ? '' : 's'}`;
    if (t) {
      row('train, hand loop (steps/s)', natR.stepsPerSec, `PyTorch ${t.version}, ${th}`, t.trainStepsPerSec);
      row(
        'inference, batch 1024 (samples/s)',
        natR.inferSamplesPerSec,
        `PyTorch ${t.version}, ${th}`,
        t.inferSamplesPerSec,
      );
      row('sgemm 2048^2 (GFLOP/s)', peak, `torch ${t.version}, ${th}`, t.sgemm2048GflopS);
      if (t.inferProductsGflopS)
        row('inference products (GFLOP/s)', inferGflops, `torch ${t.version}, ${th}`, t.inferProductsGflopS);
    }
    if (k) {
      row(
        'train, hand loop (steps/s)',
        natR.stepsPerSec,
        `TensorFlow ${k.version} tf.function, ${th}`,
        k.trainStepsPerSec,
      );
      row('train through fit (steps/s)', natR.fitStepsPerSec, `Keras ${k.keras ?? ''} fit, ${th}`, k.fitStepsPerSec);
      row(
        'inference, batch 1024 (samples/s)',
        natR.inferSamplesPerSec,
        `TensorFlow ${k.version}, ${th}`,
        k.inferSamplesPerSec,
      );
    }
    if (np) row('sgemm 2048^2 (GFLOP/s)', peak, `NumPy ${np.version}, ${th}`, np.sgemm2048GflopS);
    if (np?.inferProductsGflopS)
      row('inference products (GFLOP/s)', inferGflops, `NumPy ${np.version}, ${th}`, np.inferProductsGflopS);
    for (const [name, v] of Object.entries(p)) if (v?.error) notes.push(`rival ${name} failed: ${v.error}`);
    notes.push(`Python rivals (${th}): ${py.reason}, ${p.steps} steps per block, medians of ${p.repeat}`);
  }
  if (rivalRows.length) {
    notes.push('rival table (rival / specdyn > 1: the rival is faster):');
    for (const r of rivalRows)
      notes.push(
        `  ${r.workload}: specdyn-native ${r['specdyn-native'].toFixed(1)}, ${r.rival} ${r['rival figure'].toFixed(1)}, rival / specdyn ${r['rival / specdyn'].toFixed(2)}`,
      );
  }
  return {
    title: `MLP ${SIZES.join('-')} (ReLU, softmax, Adam), train batch ${BATCH}, inference batch ${INFER_BATCH}`,
    rows,
    notes,
    variants: ab,
    sgemm2048GflopS: peak,
    rivals: pys.map((py) => py.result),
    rivalRows,
    flopsPerStep: FLOPS_PER_STEP,
    loadAverage: [load0, load1],
  };
}
