// specdyn-native against one Python rival, interleaved: a block of specdyn-native (5 timed blocks,
// median) then a block of the rival in its own process (bench/train-rival-block.py: 5 timed
// blocks after a warm-up, median), ROUNDS times, so that the machine's drift falls on both.
// The benchmark MLP (784-256-256-10, ReLU, softmax, Adam), trainOnBatch at batch 128 or
// predict at batch 1024; prints the ratio rival ÷ specdyn-native per round and of the medians.
//   SPECDYN_PYTHON=<venv with torch / tensorflow-cpu>/bin/python node bench/train-interleaved.mjs \
//     [--what torch-train|tf-train|torch-infer] [--threads 2] [--rounds 4]
// (after `npx tsc -p tsconfig.json` and the native build)
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { PYTHON, benchDir, flag, gaussian, median } from './lib.mjs';
import { buildModel } from './train.bench.mjs';
import { loadTf } from '../dist/tfjs/index.js';

const WHAT = flag('what', 'torch-train');
const THREADS = flag('threads', '2');
const ROUNDS = Number(flag('rounds', '4'));
if (!['torch-train', 'tf-train', 'torch-infer'].includes(WHAT))
  throw new RangeError(`Expected torch-train, tf-train or torch-infer for --what but received ${WHAT}`);

const { tf, backend } = await loadTf();
const model = buildModel(tf, 1);
const infer = WHAT === 'torch-infer';
const rows = infer ? 1024 : 128;
const x = tf.tensor2d(/** @type {Float32Array} */ (gaussian(rows, 784, 3, Float32Array).data), [rows, 784]);
const y = tf
  .oneHot(
    tf.tensor1d(
      new Int32Array(128).map((_, i) => i % 10),
      'int32',
    ),
    10,
  )
  .toFloat();
/** Steps/s (samples/s for inference) of one block of n steps. */
async function block(n) {
  const t0 = performance.now();
  for (let s = 0; s < n; s++) {
    if (infer) {
      const o = /** @type {import('@tensorflow/tfjs').Tensor} */ (model.predict(x, { batchSize: 1024 }));
      o.dataSync();
      o.dispose();
    } else await model.trainOnBatch(x, y);
  }
  return ((infer ? n * 1024 : n) / (performance.now() - t0)) * 1000;
}
await block(infer ? 20 : 200);
const load0 = loadavg()[0];
const ours = [];
const theirs = [];
for (let r = 0; r < ROUNDS; r++) {
  const b = [];
  for (let i = 0; i < 5; i++) b.push(await block(infer ? 100 : 300));
  ours.push(median(b));
  const p = spawnSync(PYTHON, [path.join(benchDir, 'train-rival-block.py'), WHAT, THREADS], { encoding: 'utf8' });
  const rate = Number(p.stdout.trim().split('\n').pop());
  if (p.status !== 0 || !Number.isFinite(rate))
    throw new Error(`the rival (${PYTHON} train-rival-block.py ${WHAT}) failed: ${p.stderr.trim().split('\n').pop()}`);
  theirs.push(rate);
  console.log(
    `round ${r + 1}: specdyn-native ${ours[r].toFixed(1)}, ${WHAT} (${THREADS} threads) ${rate.toFixed(1)}, rival / specdyn ${(rate / ours[r]).toFixed(3)}`,
  );
}
console.log(
  `medians: specdyn-native (${backend}) ${median(ours).toFixed(1)}, ${WHAT} ${median(theirs).toFixed(1)}: rival / specdyn ${(median(theirs) / median(ours)).toFixed(3)}; load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`,
);
