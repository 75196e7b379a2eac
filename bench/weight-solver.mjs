// The weight spectra's two full-route solvers side by side on the kernels of the bench's model
// (bench/monitor.bench.mjs: 784-256-256-10 ReLU MLP, Adam, batch 128, 8 cycled Gaussian batches)
// at steps 0, 50, …, 350 and at 1000 and 3000 steps: `solver: 'svd'` (?gesdd, the default) against
// `solver: 'gram'` (?syrk + ?syevd values). Prints the thread CPU ms of each (BLAS capped at one
// thread, as in the monitor's worker) and, over every kernel and snapshot, the largest relative
// difference of every numeric column of analyzeKernelsSync's rows (relative to max(|a|, |b|);
// NaN in both counts as equal), the columns that differ at all, and whether every integer
// column (num_spikes, num_evals, …) and the warnings are identical.
//   node bench/weight-solver.mjs [--repeat n] [--bootstrap n]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildModel, cycledBatches } from './train.bench.mjs';
import { benchRepeat, flag, loadText } from './lib.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const imp = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
const REPEAT = benchRepeat(5);
const BOOTSTRAP = Number(flag('bootstrap', '0'));
const STEPS = [0, 50, 100, 150, 200, 250, 300, 350, 1000, 3000];
const BATCH = 128;

const cpuMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

const { loadTf } = await imp('tfjs/index.js');
const { modelKernels, analyzeKernelsSync } = await imp('train/analyze-model.js');
const { setThreadLimit } = await imp('linalg/index.js');
setThreadLimit(1);
const { tf } = await loadTf();
const model = buildModel(tf, 1);
const data = cycledBatches(tf, 8, BATCH);
const snaps = [];
for (let s = 0; s <= STEPS[STEPS.length - 1]; s++) {
  if (s > 0) await model.trainOnBatch(data[s % 8].x, data[s % 8].y);
  if (STEPS.includes(s)) snaps.push({ step: s, kernels: modelKernels(model) });
}

const opts = (solver) => ({ bootstrap: BOOTSTRAP, solver });
const worst = new Map();
let integersSame = true,
  warningsSame = true;
for (const { kernels } of snaps) {
  const a = analyzeKernelsSync(kernels, opts('svd'));
  const b = analyzeKernelsSync(kernels, opts('gram'));
  for (const [i, ra] of a.entries()) {
    const rb = b[i];
    if (ra.warning !== rb.warning) warningsSame = false;
    for (const [k, va] of Object.entries(ra)) {
      const vb = rb[k];
      const pairs = ArrayBuffer.isView(va)
        ? Array.from(/** @type {ArrayLike<number>} */ (/** @type {unknown} */ (va)), (x, j) => [x, vb[j]])
        : [[va, vb]];
      for (const [x, y] of pairs) {
        if (typeof x !== 'number') continue;
        if (Number.isInteger(x) && Number.isInteger(y) && !ArrayBuffer.isView(va) && x !== y) integersSame = false;
        if (Number.isNaN(x) && Number.isNaN(y)) continue;
        const d = x === y ? 0 : Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
        const key = ArrayBuffer.isView(va) ? `${k}[]` : k;
        if (!(d <= (worst.get(key)?.d ?? -1))) worst.set(key, { d, layer: ra.name, x, y });
      }
    }
  }
}

const time = (solver) => {
  const c = cpuMs();
  for (let r = 0; r < REPEAT; r++) for (const { kernels } of snaps) analyzeKernelsSync(kernels, opts(solver));
  return (cpuMs() - c) / (REPEAT * snaps.length);
};
time('svd');
time('gram');
const t = { svd: 0, gram: 0 };
for (let r = 0; r < 3; r++) for (const s of ['svd', 'gram']) t[s] += time(s) / 3;
console.log(
  `weight spectra of 3 kernels per snapshot (thread CPU ms, bootstrap ${BOOTSTRAP}, ${snaps.length} snapshots x ${REPEAT} x 3): svd ${t.svd.toFixed(2)}, gram ${t.gram.toFixed(2)}; load ${loadText()}`,
);
console.log('largest relative difference per column (gram against svd), nonzero only:');
for (const [k, w] of [...worst.entries()].sort((p, q) => q[1].d - p[1].d))
  if (w.d > 0) console.log(`  ${k.padEnd(18)} ${w.d.toExponential(2)}  (${w.layer}: ${w.x} vs ${w.y})`);
console.log(
  `integer columns identical: ${integersSame ? 'yes' : 'NO'}; warnings identical: ${warningsSame ? 'yes' : 'NO'}`,
);
