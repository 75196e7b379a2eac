// Calibration of the OMD readings on real networks (docs/omd.md "Calibration").
//
//   npx tsc -p tsconfig.json && node scripts/calibrate-omd.mjs [--quick] [--out bench/results/omd-calibration.json]
//   node scripts/calibrate-omd.mjs --runs <name,name> --out part.json   (some runs only)
//   node scripts/calibrate-omd.mjs --merge a.json b.json --out table.json
//   node scripts/calibrate-omd.mjs --summarize table.json           (the error rates of docs/omd.md)
//
// The committed table bench/omd-calibration.json was made in two parts on the shared machine: the
// runs mlp-128x2-adam-s4, mlp-128x2-adam-s1 and mlp-64x3-adam-s3 of a plain invocation (stopped
// there), then `--runs cnn-8-16-64-adam-s5,mlp-128x2-randlabels-s6` with the null controls, merged.
//
// Trains a small calibration set on MNIST with tfjs on the specdyn-native backend: MLPs of two
// widths and two depths and seeds, one small CNN, and a random-label control (the network can only
// memorise: no class structure to learn). At a fixed schedule of steps it takes the hidden (and
// output) representations of N = 2000 held-out probes (the first 2000 MNIST test images) and
// records, per layer and step:
//   - the OMD reading (analyzeObservable, angular) at N = 500 (the first 500 probes) and N = 2000,
//     with and without the probe labels;
//   - independent ground truth from the representations themselves: the between-class share of
//     the variance of the L2-normalised representations (rep_eta), the accuracy of a ridge linear
//     probe (fit on probes 0..999, scored on 1000..1999), and the network's test accuracy on
//     MNIST test images 2000..3999 (disjoint from the probes);
//   - the pure-noise templates' observed/null ratio and KS distance (the null margin, ambient KS).
// Writes the table as JSON (one record per layer/step) and the held-out run's fixtures
// (test/fixtures/omd/, uint8-quantised representations) used by test/omd-calibration.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sd from '../dist/index.js';
import { loadTf } from '../dist/tfjs/index.js';
import { loadMnist } from '../dist/store/idx.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIdx = args.indexOf('--out');
const outFile = outIdx >= 0 ? args[outIdx + 1] : path.join(root, 'bench', 'results', 'omd-calibration.json');
const STEPS = quick ? [0, 20] : [0, 10, 25, 50, 100, 200, 400];
const NPROBE = 2000;
const BIG_STEPS = quick ? [0, 20] : [0, 400];

// --merge a.json b.json … --out c.json: one table from calibrations run in parts (records,
// regimes and noise controls concatenated).
const mergeIdx = args.indexOf('--merge');
if (mergeIdx >= 0) {
  const { readFileSync } = await import('node:fs');
  const parts = args.slice(mergeIdx + 1).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');
  const tables = parts.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const merged = { ...tables[0], created: new Date().toISOString(), parts: tables.map((t) => t.created) };
  for (const k of ['records', 'regimes', 'noise']) merged[k] = tables.flatMap((t) => t[k]);
  merged.complete = tables.every((t) => t.complete !== false || t.records.length > 0);
  writeFileSync(outFile, `${JSON.stringify(merged, null, 1)}\n`);
  console.error(`merged ${parts.length} tables into ${outFile}`);
  process.exit(0);
}

// --summarize <table.json>: the error rates of docs/omd.md "Calibration" from a written table.
const sumIdx = args.indexOf('--summarize');
if (sumIdx >= 0) {
  const { readFileSync } = await import('node:fs');
  console.log(JSON.stringify(summarize(JSON.parse(readFileSync(args[sumIdx + 1], 'utf8'))), null, 1));
  process.exit(0);
}

/**
 * Error rates of the readings against the independent ground truth (calibration runs only; the
 * held-out run is reported separately):
 * - labels: negatives = step 0 of every run and every snapshot of the random-label run;
 *   positives = real-label snapshots at step ≥ 100 with test accuracy ≥ 0.85. FP = a negative
 *   reading `clusters` by the label decision, FN = a positive not reading `clusters` with K − 1.
 * - null: "a learned layer never reads noise" (real-label snapshots at step ≥ 10, N = 500 and
 *   2000, without labels) and the noise controls' false bands.
 * - probe-count stability: records with both N: same fingerprint and size, with and without labels.
 * - regimes: an interval between snapshots is a jump when test accuracy rises ≥ 0.05, the linear
 *   probe ≥ 0.03 or rep_eta ≥ 0.05; a transition at snapshot k is right when interval k or k − 1
 *   is a jump; a trajectory with a jump and no transition (nor a stable window) is a miss.
 */
function summarize(t) {
  const rate = (xs, f) => ({
    n: xs.length,
    k: xs.filter(f).length,
    rate: xs.length ? xs.filter(f).length / xs.length : NaN,
  });
  const sets = { calibration: t.records.filter((r) => !r.heldOut), heldOut: t.records.filter((r) => r.heldOut) };
  const out = {};
  for (const [name, rs] of Object.entries(sets)) {
    const neg = rs.filter((r) => r.step === 0 || r.randomLabels);
    const pos = rs.filter((r) => !r.randomLabels && r.step >= 100 && r.testAccuracy >= 0.85);
    const learned = rs.filter((r) => !r.randomLabels && r.step >= 10);
    const both = rs.filter((r) => r.plain2000);
    const readings = (r) => [r.plain500, r.plain2000].filter(Boolean);
    out[name] = {
      labelFalsePositive: rate(neg, (r) => r.labels500.decision === 'labels'),
      labelFalseNegative: rate(pos, (r) => !(r.labels500.fingerprint === 'clusters' && r.labels500.size === 9)),
      learnedReadsNoise: rate(learned.flatMap(readings), (x) => x.fingerprint === 'noise'),
      stableWithLabels: rate(
        both,
        (r) => r.labels500.fingerprint === r.labels2000.fingerprint && r.labels500.size === r.labels2000.size,
      ),
      stableFingerprint: rate(both, (r) => r.plain500.fingerprint === r.plain2000.fingerprint),
      stableSize: rate(both, (r) => r.plain500.size === r.plain2000.size),
      ambientValid: rate(rs.flatMap(readings), (x) => x.ambientValid),
      labelExplained: {
        negativeMax: Math.max(...neg.map((r) => r.labels500.labelExplained)),
        positiveMin: Math.min(...pos.map((r) => r.labels500.labelExplained)),
      },
      nullRatioLearnedMin: Math.min(...learned.map((r) => r.plain500.topNormalized / r.plain500.nullTop)),
    };
  }
  out.noise = {
    gaussianFalseBand: rate(
      t.noise.filter((x) => x.kind === 'gaussian' && x.n <= x.d * 10),
      (x) => x.fingerprint !== 'noise',
    ),
    gaussianRatioMax: Math.max(...t.noise.filter((x) => x.kind === 'gaussian').map((x) => x.ratio)),
    reluRatios: t.noise.filter((x) => x.kind === 'random-relu-layer').map((x) => x.ratio),
    reluFalseBand: rate(
      t.noise.filter((x) => x.kind === 'random-relu-layer'),
      (x) => x.fingerprint !== 'noise',
    ),
    gaussianKs: t.noise
      .filter((x) => x.kind === 'gaussian')
      .map((x) => [x.n, x.d, x.ks === null ? null : +x.ks.toFixed(3), x.valid]),
  };
  // Regimes.
  const reg = {
    transitions: 0,
    right: 0,
    trajectoriesWithJump: 0,
    missed: 0,
    quietTrajectories: 0,
    quietWithTransition: 0,
    detail: [],
  };
  for (const g of t.regimes) {
    const rs = t.records.filter((r) => r.run === g.run && r.layer === g.layer).sort((a, b) => a.step - b.step);
    const jump = rs.map((r, k) =>
      k === 0
        ? false
        : r.testAccuracy - rs[k - 1].testAccuracy >= 0.05 ||
          r.probeAccuracy - rs[k - 1].probeAccuracy >= 0.03 ||
          r.repEta - rs[k - 1].repEta >= 0.05,
    );
    const steps = rs.map((r) => r.step);
    const starts = g.windows.filter((w) => w.label === 'transition').map((w) => steps.indexOf(w.startStep));
    for (const k of starts) {
      reg.transitions++;
      if (jump[k] || jump[k - 1]) reg.right++;
    }
    const any = jump.some(Boolean);
    if (any) {
      reg.trajectoriesWithJump++;
      if (starts.length === 0 && !g.windows.some((w) => w.label === 'stable')) reg.missed++;
    } else {
      reg.quietTrajectories++;
      if (starts.length > 0) reg.quietWithTransition++;
    }
    reg.detail.push({
      run: g.run,
      layer: g.layer,
      verdict: g.verdict,
      windows: g.windows
        .map((w) => `${w.label} ${w.startStep}-${w.endStep} m=${w.bandSize} ${w.fingerprint}`)
        .join('; '),
      jumps: steps.filter((_, k) => jump[k]).join(','),
    });
  }
  out.regimes = reg;
  return out;
}

const { tf, reason } = await loadTf({ backend: 'specdyn-native' });
console.error(`backend: ${reason}`);
const train = loadMnist({ split: 'train', limit: 20000 });
const test = loadMnist({ split: 'test', limit: 4000 });
const probeX = test.images.subarray(0, NPROBE * 784);
const probeY = test.labels.subarray(0, NPROBE);
const evalX = test.images.subarray(NPROBE * 784, 4000 * 784);
const evalY = test.labels.subarray(NPROBE, 4000);

/** The calibration runs; `heldOut` runs are excluded from threshold choice and feed the fixtures. */
const RUNS = [
  { name: 'mlp-128x2-adam-s4', kind: 'mlp', hidden: [128, 128], opt: 'adam', lr: 1e-3, seed: 4, heldOut: true },
  { name: 'mlp-128x2-adam-s1', kind: 'mlp', hidden: [128, 128], opt: 'adam', lr: 1e-3, seed: 1 },
  { name: 'mlp-256x2-sgd-s2', kind: 'mlp', hidden: [256, 256], opt: 'sgd', lr: 0.05, seed: 2, skip: true },
  { name: 'mlp-64x3-adam-s3', kind: 'mlp', hidden: [64, 64, 64], opt: 'adam', lr: 1e-3, seed: 3 },
  // tfjs's CPU conv kernels are slow on the shared machine: a shorter schedule and batch for the CNN.
  { name: 'cnn-8-16-64-adam-s5', kind: 'cnn', opt: 'adam', lr: 1e-3, seed: 5, steps: [0, 10, 25, 50, 100], batch: 32 },
  {
    name: 'mlp-128x2-randlabels-s6',
    kind: 'mlp',
    hidden: [128, 128],
    opt: 'adam',
    lr: 1e-3,
    seed: 6,
    randomLabels: true,
  },
];

function build(run) {
  const init = (i) => tf.initializers.glorotUniform({ seed: run.seed * 101 + i });
  const m = tf.sequential();
  if (run.kind === 'mlp') {
    for (const [i, units] of run.hidden.entries()) {
      m.add(
        tf.layers.dense({
          units,
          activation: 'relu',
          name: `hidden_${i + 1}`,
          kernelInitializer: init(i),
          ...(i === 0 ? { inputShape: [784] } : {}),
        }),
      );
    }
  } else {
    m.add(tf.layers.reshape({ targetShape: [28, 28, 1], inputShape: [784], name: 'image' }));
    m.add(
      tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'conv_1', kernelInitializer: init(0) }),
    );
    m.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
    m.add(
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', name: 'conv_2', kernelInitializer: init(1) }),
    );
    m.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_2' }));
    m.add(tf.layers.flatten({ name: 'flat' }));
    m.add(tf.layers.dense({ units: 64, activation: 'relu', name: 'hidden_1', kernelInitializer: init(2) }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'output', kernelInitializer: init(99) }));
  m.compile({
    optimizer: run.opt === 'adam' ? tf.train.adam(run.lr) : tf.train.sgd(run.lr),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const watched = m.layers.filter((l) => /^(hidden_|output|pool_2)/.test(l.name));
  const outputs = /** @type {import('@tensorflow/tfjs').SymbolicTensor[]} */ (watched.map((l) => l.output));
  const sub = tf.model({ inputs: m.inputs, outputs });
  return { model: m, sub, names: watched.map((l) => l.name) };
}

/** Between-class share of the variance of the L2-normalised rows (ground truth, no spectrum). */
function repEta(x, n, d, y) {
  const u = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const r = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) u[i * d + j] = x[i * d + j] * r;
  }
  const mu = new Float64Array(d),
    cm = new Float64Array(10 * d),
    cnt = new Float64Array(10);
  for (let i = 0; i < n; i++) {
    cnt[y[i]]++;
    for (let j = 0; j < d; j++) {
      mu[j] += u[i * d + j] / n;
      cm[y[i] * d + j] += u[i * d + j];
    }
  }
  let tot = 0,
    btw = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) tot += (u[i * d + j] - mu[j]) ** 2;
  for (let c = 0; c < 10; c++) {
    if (!cnt[c]) continue;
    for (let j = 0; j < d; j++) btw += cnt[c] * (cm[c * d + j] / cnt[c] - mu[j]) ** 2;
  }
  return tot > 0 ? btw / tot : NaN;
}

/** Ridge linear probe (standardised features + bias, λ = 1e-2·trace/d): fit on the first half, accuracy on the second. */
function probeAccuracy(x, n, d, y) {
  const half = n >> 1;
  const mean = new Float64Array(d),
    sdv = new Float64Array(d);
  for (let i = 0; i < half; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / half;
  for (let i = 0; i < half; i++) for (let j = 0; j < d; j++) sdv[j] += (x[i * d + j] - mean[j]) ** 2 / half;
  for (let j = 0; j < d; j++) sdv[j] = Math.sqrt(sdv[j]) || 1;
  const p = d + 1;
  const z = (i, j) => (j === d ? 1 : (x[i * d + j] - mean[j]) / sdv[j]);
  const A = new Float64Array(p * p),
    B = new Float64Array(p * 10);
  for (let i = 0; i < half; i++) {
    const row = new Float64Array(p);
    for (let j = 0; j < p; j++) row[j] = z(i, j);
    for (let a = 0; a < p; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = 0; b < p; b++) A[a * p + b] += ra * row[b];
      B[a * 10 + y[i]] += ra;
    }
  }
  let tr = 0;
  for (let a = 0; a < d; a++) tr += A[a * p + a];
  const lam = (1e-2 * tr) / d;
  for (let a = 0; a < d; a++) A[a * p + a] += lam;
  A[d * p + d] += 1e-9;
  // Cholesky solve A W = B.
  const L = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * p + j];
      for (let k = 0; k < j; k++) s -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * p + j];
    }
  }
  const W = new Float64Array(p * 10);
  for (let c = 0; c < 10; c++) {
    const t = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = B[i * 10 + c];
      for (let k = 0; k < i; k++) s -= L[i * p + k] * t[k];
      t[i] = s / L[i * p + i];
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = t[i];
      for (let k = i + 1; k < p; k++) s -= L[k * p + i] * W[k * 10 + c];
      W[i * 10 + c] = s / L[i * p + i];
    }
  }
  let ok = 0;
  for (let i = half; i < n; i++) {
    let best = -Infinity,
      arg = 0;
    for (let c = 0; c < 10; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += z(i, j) * W[j * 10 + c];
      if (s > best) [best, arg] = [s, c];
    }
    if (arg === y[i]) ok++;
  }
  return ok / (n - half);
}

const reading = (s) => ({
  fingerprint: s.band.fingerprint,
  size: s.band.size,
  decision: s.band.decision,
  gapRatio: s.band.gapRatio,
  ratioMaximizer: s.band.ratioMaximizer,
  significantCount: s.band.significantCount,
  topNormalized: Math.abs(s.band.ranked[0]) / (s.n * s.meanDistance),
  nullTop: s.band.nullTop,
  nullSd: s.band.nullSd,
  z: s.band.z,
  minZ: s.band.minZ,
  clusterScore: s.band.clusterScore,
  labelExplained: s.labels?.explained ?? null,
  labelBandExplained: s.labels?.bandExplained ?? null,
  labelSeparation: s.labels?.meanSeparation ?? null,
  ambientValid: s.ambient.valid,
  ambientKs: s.ambient.ks,
  ambientDimension: s.ambient.dimension,
});

/** Zero rows (dead ReLU codes) cannot be read by the angular distance: the reading drops them (reported). */
function nonZeroRows(x, n, d, y) {
  const keep = [];
  for (let i = 0; i < n; i++) {
    let nz = false;
    for (let j = 0; j < d && !nz; j++) nz = x[i * d + j] !== 0;
    if (nz) keep.push(i);
  }
  const data = new Float64Array(keep.length * d);
  for (const [r, i] of keep.entries()) data.set(x.subarray(i * d, (i + 1) * d), r * d);
  return {
    reps: { data, rows: keep.length, cols: d },
    labels: Array.from(keep, (i) => y[i]),
    dropped: n - keep.length,
  };
}

const fixtures = path.join(root, 'test', 'fixtures', 'omd');
function saveFixture(name, x, n, d) {
  let max = 0;
  for (let i = 0; i < n * d; i++) max = Math.max(max, x[i]);
  const q = new Uint8Array(n * d);
  for (let i = 0; i < n * d; i++) q[i] = Math.round((x[i] / (max || 1)) * 255);
  mkdirSync(fixtures, { recursive: true });
  writeFileSync(path.join(fixtures, `${name}.u8`), q);
  return { file: `${name}.u8`, rows: n, cols: d, scale: (max || 1) / 255 };
}

const records = [];
const regimes = [];
const noise = [];
/** Writes the table so far (after every run, so an interrupted calibration keeps what it measured). */
function save(complete) {
  mkdirSync(path.dirname(outFile), { recursive: true });
  const body = { created: new Date().toISOString(), complete, backend: reason, steps: STEPS, probes: NPROBE };
  writeFileSync(outFile, `${JSON.stringify({ ...body, records, regimes, noise }, null, 1)}\n`);
}
const noiseRecord = (kind, n, d, seed, s) => ({
  kind,
  n,
  d,
  seed,
  ratio: Math.abs(s.band.ranked[0]) / (s.n * s.meanDistance) / s.band.nullTop,
  z: s.band.z,
  decision: s.band.decision,
  fingerprint: s.band.fingerprint,
  ks: s.ambient.ks,
  valid: s.ambient.valid,
});
const fixtureMeta = { probeLabels: 'labels.u8', snapshots: [] };
// The 256-wide run is listed but skipped by default (the shared machine): --all includes it.
const all = args.includes('--all');
// --runs a,b: only these runs (a calibration split over several sessions, joined with --merge).
const runsIdx = args.indexOf('--runs');
const only = runsIdx >= 0 ? args[runsIdx + 1].split(',') : undefined;
const noNoise = args.includes('--no-noise');
for (const run of RUNS.filter((r) =>
  quick ? r.name === 'mlp-128x2-adam-s4' : only ? only.includes(r.name) : all || !r.skip,
)) {
  const t0 = performance.now();
  const { model, sub, names } = build(run);
  const rng = new sd.Rng(run.seed, 2);
  const labelsFor = run.randomLabels
    ? Uint8Array.from({ length: train.count }, () => Math.floor(rng.uniform() * 10))
    : train.labels;
  const probes = tf.tensor2d(probeX, [NPROBE, 784]);
  const evalT = tf.tensor2d(evalX, [2000, 784]);
  let step = 0;
  // One trajectory per layer (N = 500, labels): the regime reading against the measured jumps.
  // Dead (all-zero) codes get a 1e-6 offset here so that N stays fixed along the trajectory.
  const trajectories = new Map();
  const batch = run.batch ?? 64;
  for (const target of run.steps ?? STEPS) {
    for (; step < target; step++) {
      const idx = Array.from({ length: batch }, () => Math.floor(rng.uniform() * train.count));
      const xb = new Float32Array(batch * 784);
      for (const [i, r] of idx.entries()) xb.set(train.images.subarray(r * 784, (r + 1) * 784), i * 784);
      const xs = tf.tensor2d(xb, [batch, 784]);
      const ys = tf.oneHot(
        tf.tensor1d(
          idx.map((r) => labelsFor[r]),
          'int32',
        ),
        10,
      );
      await model.trainOnBatch(xs, ys);
      xs.dispose();
      ys.dispose();
    }
    const pred = /** @type {import('@tensorflow/tfjs').Tensor} */ (model.predict(evalT));
    const pc = await pred.argMax(1).data();
    pred.dispose();
    let ok = 0;
    for (let i = 0; i < 2000; i++) if (pc[i] === evalY[i]) ok++;
    const testAccuracy = ok / 2000;
    const outs = sub.predict(probes);
    const arrs = await Promise.all((Array.isArray(outs) ? outs : [outs]).map((t) => t.data()));
    const shapes = (Array.isArray(outs) ? outs : [outs]).map((t) => t.shape);
    for (const t of Array.isArray(outs) ? outs : [outs]) t.dispose();
    for (let l = 0; l < names.length; l++) {
      const d = shapes[l].slice(1).reduce((a, b) => a * b, 1);
      const x = arrs[l];
      const rec = {
        run: run.name,
        heldOut: Boolean(run.heldOut),
        randomLabels: Boolean(run.randomLabels),
        layer: names[l],
        width: d,
        step,
        testAccuracy,
      };
      rec.repEta = repEta(x, NPROBE, d, probeY);
      rec.probeAccuracy = probeAccuracy(x, NPROBE, d, probeY);
      // N = 2000 (the probe-count stability check) at the first and last step of two runs only: the machine is shared.
      const big = BIG_STEPS.includes(step) && (run.heldOut || run.name === 'mlp-128x2-adam-s1');
      for (const n of big ? [500, 2000] : [500]) {
        const { reps, labels, dropped } = nonZeroRows(x.subarray(0, n * d), n, d, probeY);
        rec[`dropped${n}`] = dropped;
        const ta = performance.now();
        const plain = sd.analyzeObservableSync(reps);
        const tb = performance.now();
        const withLabels = sd.analyzeObservableSync(reps, { labels });
        rec[`plain${n}`] = reading(plain);
        rec[`labels${n}`] = reading(withLabels);
        rec[`seconds${n}`] = (tb - ta) / 1000;
      }
      records.push(rec);
      if (!trajectories.has(names[l]))
        trajectories.set(names[l], new sd.OmdTrajectory({ labels: Array.from(probeY.subarray(0, 500)) }));
      const tx = Float64Array.from(x.subarray(0, 500 * d), (v) => v + 1e-6);
      trajectories.get(names[l]).pushSync(step, { data: tx, rows: 500, cols: d });
      const r = rec.labels2000 ?? rec.labels500;
      console.error(
        `${run.name} ${names[l]} step ${step}: test ${testAccuracy.toFixed(3)} probe ${rec.probeAccuracy.toFixed(3)} repEta ${rec.repEta.toFixed(2)} | ` +
          `500 ${rec.plain500.fingerprint}/${rec.plain500.size} L ${rec.labels500.fingerprint}/${rec.labels500.size} | ` +
          `${rec.plain2000 ? `2000 ${rec.plain2000.fingerprint}/${rec.plain2000.size} ` : ''}L ${r.fingerprint}/${r.size} η ${r.labelExplained?.toFixed(2)} z ${r.z?.toFixed(0)} sig ${r.significantCount}`,
      );
      if (run.heldOut && (step === 0 || step === STEPS[STEPS.length - 1]) && names[l] === 'hidden_2') {
        fixtureMeta.snapshots.push({
          run: run.name,
          layer: names[l],
          step,
          testAccuracy,
          probeAccuracy: rec.probeAccuracy,
          repEta: rec.repEta,
          ...saveFixture(`${run.name}-${names[l]}-step${step}`, x, NPROBE, d),
        });
      }
    }
  }
  for (const [layer, tr] of trajectories) {
    const r = tr.regimes();
    regimes.push({
      run: run.name,
      heldOut: Boolean(run.heldOut),
      layer,
      verdict: r.verdict,
      windows: r.windows.map((w) => ({
        label: w.label,
        startStep: w.startStep,
        endStep: w.endStep,
        bandSize: w.bandSize,
        fingerprint: w.fingerprint,
      })),
      points: tr.points.map((p) => ({
        step: p.step,
        overlap: p.overlap,
        size: p.figures.band.size,
        fingerprint: p.figures.band.fingerprint,
        decision: p.figures.band.decision,
      })),
    });
  }
  if (run.heldOut) {
    writeFileSync(path.join(fixtures, 'labels.u8'), Uint8Array.from(probeY));
    writeFileSync(path.join(fixtures, 'meta.json'), `${JSON.stringify(fixtureMeta, null, 2)}\n`);
  }
  probes.dispose();
  evalT.dispose();
  model.dispose();
  console.error(`${run.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  save(false);
}

// Pure-noise templates and random ReLU layers on i.i.d. Gaussian inputs (no structure to carry):
// the observed top over the null top (the null margin) and the ambient KS (ambientMaxKs).
for (const n of noNoise ? [] : quick ? [300] : [100, 300, 1000])
  for (const d of quick ? [50] : [5, 20, 100, 500, 2000])
    for (const seed of quick ? [1] : [1, 2]) {
      const s = sd.analyzeObservableSync(sd.noiseTemplate({ n, dim: d, seed }).reps, {
        nullReplicas: 4,
        nullSeed: seed + 10,
      });
      noise.push(noiseRecord('gaussian', n, d, seed, s));
    }
for (const seed of noNoise ? [] : quick ? [1] : [1, 2, 3]) {
  const rng = new sd.Rng(seed * 7919 + 13);
  const n = 500,
    din = 784,
    d = 128;
  const x = rng.fillNormal(new Float64Array(n * din));
  const lim = Math.sqrt(6 / (din + d));
  const w = Float64Array.from({ length: din * d }, () => (2 * rng.uniform() - 1) * lim);
  const h = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < din; k++) acc += x[i * din + k] * w[k * d + j];
      h[i * d + j] = Math.max(0, acc);
    }
  const s = sd.analyzeObservableSync({ data: h, rows: n, cols: d }, { nullReplicas: 4, nullSeed: seed + 10 });
  noise.push(noiseRecord('random-relu-layer', n, d, seed, s));
}
save(true);
console.error(`wrote ${records.length} records and ${noise.length} null controls to ${path.relative(root, outFile)}`);
