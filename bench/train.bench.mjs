// Training and inference speed of a 784-256-256-10 MLP (ReLU, softmax, Adam, batch 128) on the
// tfjs backends available without libtensorflow: specdyn-native (OpenBLAS sgemm), wasm and the
// pure-JS cpu backend, all measured in the same process, medians of timed blocks.
//   node bench/run.mjs train        (after `npx tsc -p tsconfig.json` and the native build)
// SPECDYN_BENCH_QUICK=1 shortens every block (smoke runs).
import { gaussian, timeit } from './lib.mjs';
import { loadTf } from '../dist/tfjs/index.js';
import { getThreads, nativeInfo } from '../dist/index.js';

const QUICK = process.env.SPECDYN_BENCH_QUICK === '1';
const BATCH = 128;
const INFER_BATCH = 1024;
const SIZES = [784, 256, 256, 10];

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

export async function run() {
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
  const info = nativeInfo();
  return {
    title: `MLP ${SIZES.join('-')} (ReLU, softmax, Adam), train batch ${BATCH}, inference batch ${INFER_BATCH}`,
    rows,
    notes: [
      `BLAS: ${info.blas} (core ${info.core}, ${info.staticBlas ? 'static prebuild' : 'system library'}), ${threads} threads by default; ${info.hardwareThreads} hardware threads`,
      `loadTf() here: ${auto.reason}`,
      `largest product per step: ${((2 * BATCH * SIZES[0] * SIZES[1]) / 1e6).toFixed(1)} MFLOP (< 1e8), so the BLAS gate runs every product of this model single-threaded`,
      `targets: native >= 5x wasm and >= 20x cpu for training steps/s; medians of ${REPEAT} timed blocks after one warm-up block`,
      `final losses (same seed, different step counts): ${Object.values(results)
        .map((r) => `${r.backend} ${r.loss.toFixed(4)}`)
        .join(', ')}`,
    ],
  };
}
