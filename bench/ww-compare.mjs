// specdyn against the real WeightWatcher on the same matrices (docs/rmt.md, "Against
// WeightWatcher"). Node side: makes 16 matrices (noise, rank-one spikes at 0.5/1.5/3x the BBP
// threshold, Student-t entries, a 784-256-256-10 MLP at initialisation and after training on
// synthetic 10-class data), writes them as .npy, runs analyzeWeights on each (both conventions),
// runs bench/ww-compare.py (WeightWatcher) on the same files and compares: eigenvalues, time,
// σ² against the truth, spikes found. A second part repeats noise and the 1.5x spike over
// `--seeds` seeds for detection rates.
//
//   node bench/ww-compare.mjs --python <python with weightwatcher> [--seeds 10] [--steps 300]
//
// Needs a built specdyn (dist/, `npm run build:ts`) and a Python with numpy, torch,
// weightwatcher and powerlaw. Writes bench/results/ww-compare.json and prints the tables.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDir, median, writeResults } from './lib.mjs';
import { analyzeWeights, bbpThreshold, Rng, svdvals } from '../dist/index.js';
import { loadTf } from '../dist/tfjs/index.js';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const PY = arg('python', process.env.SPECDYN_WW_PYTHON ?? 'python3');
const SEEDS = Number(arg('seeds', 10));
const STEPS = Number(arg('steps', 300));
const REUSE = arg('reuse', undefined); // a directory an earlier run left (matrices, manifest, ww.json): skip making and WeightWatcher

// --- .npy writer (float64, C order, little endian; NumPy format 1.0) ---
function writeNpy(file, data, rows, cols) {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(
    file,
    Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(Float64Array.from(data).buffer)]),
  );
}
function readNpyF64(file) {
  const b = fs.readFileSync(file);
  const hl = b.readUInt16LE(8);
  const off = 10 + hl;
  return new Float64Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + b.length));
}

// --- matrices: W rows x cols, entries of variance σ²/cols (specdyn's convention) ---
function noise(rows, cols, seed, variance = 1) {
  const rng = new Rng(seed);
  const d = new Float64Array(rows * cols);
  const s = Math.sqrt(variance / cols);
  for (let i = 0; i < d.length; i++) d[i] = s * rng.normal();
  return d;
}
function spiked(rows, cols, x, seed) {
  // τ = θ²/σ² = x √r (x = multiple of the BBP threshold), σ² = 1
  const d = noise(rows, cols, seed);
  const tau = x * bbpThreshold(rows / cols),
    theta = Math.sqrt(tau);
  const rng = new Rng(seed, 7);
  const u = Float64Array.from({ length: rows }, () => rng.normal()),
    v = Float64Array.from({ length: cols }, () => rng.normal());
  const nu = Math.hypot(...u),
    nv = Math.hypot(...v);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) d[i * cols + j] += (theta * u[i] * v[j]) / (nu * nv);
  return d;
}
function studentT(rows, cols, nu, seed) {
  // t_ν scaled to variance 1/cols (ν > 2): σ² = 1, heavy tails
  const rng = new Rng(seed);
  const d = new Float64Array(rows * cols);
  const scale = Math.sqrt((nu - 2) / nu / cols);
  for (let i = 0; i < d.length; i++) {
    let chi = 0;
    for (let k = 0; k < nu; k++) chi += rng.normal() ** 2;
    d[i] = (scale * rng.normal()) / Math.sqrt(chi / nu);
  }
  return d;
}

async function mlpMatrices() {
  const { tf, backend } = await loadTf();
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [784],
      units: 256,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(
    tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
  );
  model.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const kernelW = (i) => {
    const k = model.layers[i].getWeights()[0];
    const [fin, fout] = k.shape,
      src = k.dataSync();
    const w = new Float64Array(fin * fout); // W = kernelᵀ: fout x fin
    for (let a = 0; a < fin; a++) for (let b = 0; b < fout; b++) w[b * fin + a] = src[a * fout + b];
    return { data: w, rows: fout, cols: fin };
  };
  const init = [kernelW(0), kernelW(1)];
  // MNIST-like synthetic data: 10 random prototypes in [0,1]^784, noisy, clipped.
  const rng = new Rng(11);
  const protos = Float32Array.from({ length: 10 * 784 }, () => (rng.uniform() < 0.2 ? 1 : 0));
  const batch = 128;
  let last = NaN;
  for (let step = 0; step < STEPS; step++) {
    const xs = new Float32Array(batch * 784),
      ys = new Float32Array(batch);
    for (let i = 0; i < batch; i++) {
      const c = rng.int(10);
      ys[i] = c;
      for (let j = 0; j < 784; j++)
        xs[i * 784 + j] = Math.min(1, Math.max(0, protos[c * 784 + j] + 0.5 * rng.normal()));
    }
    const x = tf.tensor2d(xs, [batch, 784]),
      y = tf.tensor1d(ys);
    const out = await model.trainOnBatch(x, y);
    const loss = Array.isArray(out) ? out[0] : out;
    last = loss;
    x.dispose();
    y.dispose();
  }
  const trained = [kernelW(0), kernelW(1)];
  return { init, trained, backend, loss: last, truth: [(2 * 784) / (784 + 256), 1] };
}

const dir = REUSE ?? fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-ww-'));
const matrices = [];
let mlp = { backend: 'reused', loss: NaN };
if (REUSE) matrices.push(...JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).matrices);
else {
  const add = (name, kind, data, rows, cols, truth) => {
    writeNpy(path.join(dir, `${name}.npy`), data, rows, cols);
    matrices.push({ name, kind, rows, cols, ...truth });
  };
  add('noise-512x1024', 'noise', noise(512, 1024, 1), 512, 1024, { variance: 1, spikes: 0 });
  add('noise-1024x512', 'noise', noise(1024, 512, 2), 1024, 512, { variance: 1, spikes: 0 });
  add('noise-500x500', 'noise', noise(500, 500, 3), 500, 500, { variance: 1, spikes: 0 });
  add('noise-256x784', 'noise', noise(256, 784, 4, 2), 256, 784, { variance: 2, spikes: 0 });
  for (const x of [0.5, 1.5, 3]) {
    add(`spike${x}x-512x1024`, 'spiked', spiked(512, 1024, x, 10 + x * 2), 512, 1024, {
      variance: 1,
      spikes: x > 1 ? 1 : 0,
    });
    add(`spike${x}x-1024x512`, 'spiked', spiked(1024, 512, x, 20 + x * 2), 1024, 512, {
      variance: 1,
      spikes: x > 1 ? 1 : 0,
    });
  }
  add('student3-512x1024', 'student-t', studentT(512, 1024, 3, 5), 512, 1024, { variance: 1, spikes: null });
  add('student5-512x1024', 'student-t', studentT(512, 1024, 5, 6), 512, 1024, { variance: 1, spikes: null });
  mlp = await mlpMatrices();
  add('mlp-init-fc1-256x784', 'mlp-init', mlp.init[0].data, 256, 784, { variance: mlp.truth[0], spikes: 0 });
  add('mlp-init-fc2-256x256', 'mlp-init', mlp.init[1].data, 256, 256, { variance: mlp.truth[1], spikes: 0 });
  add('mlp-trained-fc1-256x784', 'mlp-trained', mlp.trained[0].data, 256, 784, { variance: null, spikes: null });
  add('mlp-trained-fc2-256x256', 'mlp-trained', mlp.trained[1].data, 256, 256, { variance: null, spikes: null });
  // detection rates
  for (let s = 0; s < SEEDS; s++) {
    add(`rate-noise-s${s}`, 'rate-noise', noise(512, 1024, 100 + s), 512, 1024, { variance: 1, spikes: 0 });
    add(`rate-spike1.5x-s${s}`, 'rate-spike', spiked(512, 1024, 1.5, 200 + s), 512, 1024, { variance: 1, spikes: 1 });
  }
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ matrices, mlp: { backend: mlp.backend, loss: mlp.loss } }),
  );
}
if (REUSE) mlp = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).mlp ?? mlp;

// --- specdyn ---
const ours = {};
for (const m of matrices) {
  const data = readNpyF64(path.join(dir, `${m.name}.npy`));
  const w = { data, rows: m.rows, cols: m.cols };
  const t0 = process.hrtime.bigint();
  const [row] = await analyzeWeights({ [m.name]: w }, { bootstrap: 0 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const [wwRow] = await analyzeWeights({ [m.name]: w }, { bootstrap: 0, convention: 'weightwatcher' });
  const ts = [];
  for (let i = 0; i < 3; i++) {
    const a = process.hrtime.bigint();
    await svdvals(w);
    ts.push(Number(process.hrtime.bigint() - a) / 1e9);
  }
  ours[m.name] = { row, wwRow, seconds, svdSeconds: median(ts) };
}

// --- WeightWatcher ---
/** @type {{ status: number | null, stdout?: string }} */
const py = REUSE
  ? { status: 0 }
  : spawnSync(PY, [path.join(benchDir, 'ww-compare.py'), dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
if (py.status !== 0) {
  console.error(`WeightWatcher side failed (${PY}): ${py.stdout}`);
  process.exit(1);
}
const wwOut = JSON.parse(fs.readFileSync(path.join(dir, 'ww.json'), 'utf8'));
const ww = Object.fromEntries(wwOut.records.map((r) => [r.name, r]));

// --- compare ---
const pct = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%` : 'n/a');
const meanNonzero = (e) => {
  let s = 0,
    n = 0;
  const top = e[e.length - 1];
  for (const v of e)
    if (v > 1e-10 * top) {
      s += v;
      n++;
    }
  return s / n;
};
const rows = [];
for (const m of matrices) {
  const o = ours[m.name],
    w = ww[m.name];
  const e = o.row.evals,
    we = readNpyF64(path.join(dir, `${m.name}.ww-evals.npy`));
  let maxRel = 0;
  const top = e[e.length - 1];
  for (let i = 0; i < e.length; i++) maxRel = Math.max(maxRel, Math.abs(e[i] - we[i + we.length - e.length]) / top);
  const r = m.rows / m.cols;
  // WeightWatcher's σ is that of the spectrum rescaled to mean 1: back to specdyn's σ² (eigenvalue units)
  const wwVariance = (w.sigma_mp ** 2 * meanNonzero(e)) / Math.max(1, r);
  rows.push({
    name: m.name,
    kind: m.kind,
    truth_variance: m.variance,
    truth_spikes: m.spikes,
    evals_max_rel_diff: maxRel,
    evals_count: [e.length, we.length],
    specdyn_seconds: o.seconds,
    specdyn_svd_seconds: o.svdSeconds,
    ww_seconds: w.seconds,
    specdyn_variance: o.row.variance_mp,
    ww_variance: wwVariance,
    specdyn_variance_err: m.variance ? o.row.variance_mp / m.variance - 1 : null,
    ww_variance_err: m.variance ? wwVariance / m.variance - 1 : null,
    specdyn_sigma_ww_units: o.wwRow.sigma_mp,
    ww_sigma_mp: w.sigma_mp,
    specdyn_mp_ks: o.row.mp_ks,
    specdyn_spikes: o.row.num_spikes,
    specdyn_spikes_ww_cut: o.wwRow.num_spikes,
    ww_spikes: w.num_spikes,
    specdyn_bulk_max: o.row.bulk_max,
    ww_bulk_max: w.bulk_max,
    specdyn_alpha: o.row.alpha,
    specdyn_alpha_ww_convention: o.wwRow.alpha,
    ww_alpha: w.alpha,
    ww_D: w.D,
    specdyn_alpha_ks_ww: o.wwRow.alpha_ks,
    specdyn_log_norm: o.row.log_norm,
    ww_log_norm: w.log_norm,
    specdyn_alpha_weighted_ww: o.wwRow.alpha_weighted,
    ww_alpha_weighted: w.alpha_weighted,
    specdyn_warning: o.wwRow.warning,
    ww_warning: w.warning,
    specdyn_bulk_ks: NaN,
    ww_bulk_ks: NaN, // filled below for the trained layers
  });
}

// KS of the bulk below each fit's cut against MP at that fit's σ², for the trained layers (same code for both fits)
const { marchenkoPastur } = await import('../dist/index.js');
const ksDistance = (sorted, cdf) => {
  let d = 0;
  for (let i = 0; i < sorted.length; i++) {
    const f = cdf(sorted[i]);
    d = Math.max(d, Math.abs(f - i / sorted.length), Math.abs((i + 1) / sorted.length - f));
  }
  return d;
};
for (const r of rows.filter((x) => x.kind === 'mlp-trained')) {
  const e = ours[r.name].row.evals,
    ratio = ours[r.name].row.ratio;
  const ksAt = (variance) => {
    const law = marchenkoPastur({ ratio, variance });
    const bulk = e.filter((v) => v <= law.upper);
    return ksDistance(bulk, (x) => law.bulkCdf(x));
  };
  r.specdyn_bulk_ks = ksAt(r.specdyn_variance);
  r.ww_bulk_ks = ksAt(r.ww_variance);
}

const main = rows.filter((r) => !r.kind.startsWith('rate'));
console.log(
  `\nspecdyn vs WeightWatcher ${wwOut.weightwatcher} (numpy ${wwOut.numpy}, torch ${wwOut.torch}); MLP trained ${STEPS} steps on ${mlp.backend}, final loss ${Number(mlp.loss).toFixed(3)}\n`,
);
console.log(
  '| matrix | max |Δλ|/λ_max | specdyn s | WW s | σ² truth | specdyn σ² err | WW σ² err | spikes truth | specdyn | WW | specdyn with WW cut | α specdyn | α WW-conv | α WW |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of main) {
  console.log(
    `| ${r.name} | ${r.evals_max_rel_diff.toExponential(1)} | ${r.specdyn_seconds.toFixed(3)} | ${r.ww_seconds.toFixed(3)} | ${r.truth_variance ?? '–'} | ${r.truth_variance ? pct(r.specdyn_variance_err) : r.specdyn_variance.toFixed(3)} | ${r.truth_variance ? pct(r.ww_variance_err) : r.ww_variance.toFixed(3)} | ${r.truth_spikes ?? '–'} | ${r.specdyn_spikes} | ${r.ww_spikes} | ${r.specdyn_spikes_ww_cut} | ${r.specdyn_alpha.toFixed(2)} | ${r.specdyn_alpha_ww_convention.toFixed(2)} | ${r.ww_alpha.toFixed(2)} |`,
  );
}
for (const r of rows.filter((x) => x.kind === 'mlp-trained')) {
  console.log(
    `- ${r.name}: σ² specdyn ${r.specdyn_variance.toFixed(4)} (bulk KS ${r.specdyn_bulk_ks.toFixed(3)}) vs WW ${r.ww_variance.toFixed(4)} (bulk KS ${r.ww_bulk_ks.toFixed(3)})`,
  );
}
const rate = (kind, key) => rows.filter((r) => r.kind === kind && r[key] >= 1).length;
const rates = {
  seeds: SEEDS,
  spike_found: {
    specdyn: rate('rate-spike', 'specdyn_spikes'),
    ww: rate('rate-spike', 'ww_spikes'),
    specdyn_ww_cut: rate('rate-spike', 'specdyn_spikes_ww_cut'),
  },
  noise_false_positive: {
    specdyn: rate('rate-noise', 'specdyn_spikes'),
    ww: rate('rate-noise', 'ww_spikes'),
    specdyn_ww_cut: rate('rate-noise', 'specdyn_spikes_ww_cut'),
  },
};
console.log(
  `- rank-one spike at 1.5x the BBP threshold (512 x 1024), found in: specdyn ${rates.spike_found.specdyn}/${SEEDS}, WeightWatcher ${rates.spike_found.ww}/${SEEDS} (specdyn's σ² with WW's cut: ${rates.spike_found.specdyn_ww_cut}/${SEEDS})`,
);
console.log(
  `- pure noise (512 x 1024) with a spike reported: specdyn ${rates.noise_false_positive.specdyn}/${SEEDS}, WeightWatcher ${rates.noise_false_positive.ww}/${SEEDS}`,
);
const speed = median(main.map((r) => r.ww_seconds / r.specdyn_seconds));
const maxDiff = Math.max(...main.map((r) => r.evals_max_rel_diff));
console.log(
  `- eigenvalues: largest |Δλ|/λ_max over the 16 matrices ${maxDiff.toExponential(2)}; time per matrix (WW analyze vs specdyn analyzeWeights): median ratio ${speed.toFixed(1)}x`,
);
const file = writeResults('ww-compare', {
  title: 'specdyn vs WeightWatcher',
  weightwatcher: wwOut.weightwatcher,
  mlp: { backend: mlp.backend, steps: STEPS, loss: mlp.loss },
  rows,
  rates,
  speedMedian: speed,
  maxEvalDiff: maxDiff,
});
console.log(`results: ${path.relative(process.cwd(), file)}`);
if (!REUSE) fs.rmSync(dir, { recursive: true, force: true });
