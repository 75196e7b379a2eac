// CPU of one SpectralMonitor snapshot analysis where the worker runs it (SnapshotAnalyzer.analyseSync
// on one thread, BLAS capped at one thread as in the worker), broken down by part, on inputs
// captured from the bench's model (bench/monitor.bench.mjs: 784-256-256-10 ReLU MLP, Adam, batch
// 128, N = 500 Gaussian probes): the two hidden layers' representations and the three kernels at
// steps 0, 50, …, 50·(SNAPS − 1) of one training run.
//   node bench/monitor-analysis.mjs [--repeat n] [--snaps n] [--compare <package root>] [--variant <json>] [--profile]
// Per repetition every build analyses the whole captured sequence with a fresh analyzer (one
// trajectory per layer, as a monitored run), builds interleaved so that load drifts hit all; the
// figures are compared between builds bit for bit (a hash of every analysed snapshot, the timing
// left out). --compare <dir>: also the analyzer of the build whose compiled dist/ is in <dir>
// (e.g. a copy of the previous commit's dist/ and build/Release/ beside a node_modules link),
// measured the same way; when the hashes differ, the two builds' first-pass snapshots are
// compared figure by figure: whether every categorical reading (strings such as fingerprints,
// booleans, integers such as band sizes, array lengths) is identical, and the largest relative
// and absolute difference of each numeric figure. Each build gets the monitor's config as it
// accepts it (a build without the weight spectra's `solver` option runs its ?gesdd default).
// --variant '<json>': instead of another build, this build with these options merged into the
// monitor's config (`trajectory` and `weights` merged key by key), measured and compared the
// same way, e.g. '{"trajectory":{"precision":"float32"}}'.
// Parts (mean CPU ms per snapshot, each timed alone on the same inputs): distance (the angular
// distance matrix, both layers), eigh (all values and the needed vectors, both layers: eighReduce +
// eighVectors where the build has them, else eigh with range [0, guess] + all values), null (the
// column-shuffle null of both layers: shuffles, distances, eigsh), weights (analyzeKernelsSync,
// three kernels), commit (storeSnapshot + RunWriter append + flush); `rest` = analyseSync minus
// the solve parts (the JS figures: checks, band, linking, …); `cold`: the mean of each build's
// first pass over the sequence (its code not yet optimised, as in a fresh worker; the first
// snapshot included). --profile: only the analyses of this build (for `node --cpu-prof`).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildModel, cycledBatches } from './train.bench.mjs';
import { benchRepeat, flag, gaussian, loadText } from './lib.mjs';

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const REPEAT = benchRepeat(5);
const SNAPS = Number(flag('snaps', '8'));
const EVERY = 50,
  PROBES = 500,
  BATCH = 128;
const PROFILE = process.argv.includes('--profile');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

async function load(dir) {
  const imp = (p) => import(pathToFileURL(path.join(dir, 'dist', p)).href);
  const [sa, lin, sig, inp, am, store] = await Promise.all([
    imp('train/snapshot-analysis.js'),
    imp('linalg/index.js'),
    imp('omd/significance.js'),
    imp('omd/input.js'),
    imp('train/analyze-model.js'),
    imp('store/index.js'),
  ]);
  const route = await imp('linalg/route.js');
  const ws = await imp('rmt/weight-spectrum.js');
  const snap = await imp('omd/snapshot.js');
  return {
    dir,
    ...sa,
    ...lin,
    ...sig,
    ...inp,
    ...am,
    ...store,
    runStepsSync: route.runStepsSync,
    weightSpectrumSync: ws.weightSpectrumSync,
    spectralFigures: snap.spectralFigures,
    neededRange: snap.neededRange,
  };
}

/** The monitor's analyzer config (monitor.ts defaults: float32, angular, 3 eigenvectors, weights bootstrap 0, Gram solver). */
const CONFIG = {
  layers: ['dense_1', 'dense_2'],
  metric: 'angular',
  keepVectors: 3,
  trajectory: { precision: 'float32', metric: 'angular', bottomK: 3, input: 'distance', returnVectors: true },
  weights: { bootstrap: 0, solver: 'gram' },
};

/** CONFIG as a build accepts it: a build older than the weight spectra's `solver` option gets the default it had (?gesdd). */
function configOf(lib) {
  try {
    lib.weightSpectrumSync(gaussian(12, 20, 1), { ...CONFIG.weights, minEvals: 2 });
    return CONFIG;
  } catch {
    const { solver: _s, ...weights } = CONFIG.weights;
    return { ...CONFIG, weights };
  }
}

/** Representations and kernels of the bench's model at SNAPS snapshots of one training run. */
async function capture(lib) {
  const { loadTf } = await import(pathToFileURL(path.join(root, 'dist/tfjs/index.js')).href);
  const { tf } = await loadTf();
  const model = buildModel(tf, 1);
  const probes = tf.tensor2d(gaussian(PROBES, 784, 99, Float32Array).data, [PROBES, 784]);
  const sub = tf.model({ inputs: model.inputs, outputs: [model.layers[0].output, model.layers[1].output] });
  const data = cycledBatches(tf, 8, BATCH);
  const snaps = [];
  for (let s = 0; snaps.length < SNAPS; s++) {
    if (s > 0) {
      const { x, y } = data[s % data.length];
      await model.trainOnBatch(x, y);
    }
    if (s % EVERY !== 0) continue;
    const outs = sub.predict(probes, { batchSize: PROBES });
    const reps = outs.map((t) => ({ data: Float32Array.from(t.dataSync()), rows: t.shape[0], cols: t.shape[1] }));
    for (const t of outs) t.dispose();
    snaps.push({ step: s, reps, kernels: lib.modelKernels(model) });
  }
  model.dispose();
  return snaps;
}

/** A copy of a snapshot's inputs (the analysis may keep or transfer them). */
const copyJob = (s) => ({
  step: s.step,
  reps: s.reps.map((r) => ({ ...r, data: r.data.slice() })),
  kernels: s.kernels.map((k) => ({ ...k, slices: k.slices.map((m) => ({ ...m, data: m.data.slice() })) })),
});

/**
 * CPU ms of this thread (Linux: /proc/thread-self/schedstat), else of the process: the figure the
 * worker's thread would spend, without the training backend's threads. The kernel updates it at
 * scheduler ticks (4 ms here), so single readings are quantised: figures are means over many
 * snapshots, never medians.
 */
const cpuMs = (() => {
  try {
    fs.readFileSync('/proc/thread-self/schedstat', 'utf8');
    return () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
  }
})();

/** Hash of an analysed snapshot's figures (analysisMs left out; typed arrays by their bytes). */
function hashOf(r) {
  const h = createHash('sha256');
  const walk = (v) => {
    if (ArrayBuffer.isView(v))
      h.update(`${v.constructor.name}:`).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    else if (Array.isArray(v)) {
      h.update('[');
      for (const x of v) walk(x);
      h.update(']');
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v).sort()) {
        if (k === 'analysisMs') continue;
        h.update(`${k}=`);
        walk(v[k]);
      }
    } else h.update(`${typeof v}:${Object.is(v, -0) ? '-0' : String(v)};`);
  };
  walk(r);
  return h.digest('hex').slice(0, 16);
}

/**
 * Every number of two builds' analysed snapshots compared: the largest relative (to max(|a|, |b|))
 * and absolute difference per figure path (array indices folded into `[]`, NaN = NaN), and the
 * paths whose categorical content differs (strings, booleans, integers outside typed arrays,
 * array lengths, keys).
 */
function compareResults(ra, rb) {
  const worst = new Map();
  const categorical = [];
  const walk = (a, b, key) => {
    if (ArrayBuffer.isView(a) || Array.isArray(a)) {
      const xs = /** @type {ArrayLike<unknown>} */ (a);
      if (!b || xs.length !== b.length) return void categorical.push(`${key}: length ${xs.length} vs ${b?.length}`);
      for (let i = 0; i < xs.length; i++) walk(xs[i], b[i], ArrayBuffer.isView(a) ? `${key}[]` : `${key}[${i}]`);
    } else if (a && typeof a === 'object') {
      const ka = Object.keys(a).sort().join(','),
        kb = b && typeof b === 'object' ? Object.keys(b).sort().join(',') : '';
      if (ka !== kb) categorical.push(`${key}: keys differ`);
      for (const k of Object.keys(a)) if (k !== 'analysisMs' && b && k in b) walk(a[k], b[k], `${key}.${k}`);
    } else if (typeof a === 'number' && typeof b === 'number') {
      const folded = key.replace(/\[\d+\]/g, '[]');
      if (Number.isInteger(a) && Number.isInteger(b) && !key.endsWith('[]') && a !== b && Math.abs(a) < 2 ** 31)
        categorical.push(`${key}: ${a} vs ${b}`);
      if (Number.isNaN(a) && Number.isNaN(b)) return;
      const abs = a === b ? 0 : Math.abs(a - b);
      const rel = a === b ? 0 : abs / Math.max(Math.abs(a), Math.abs(b));
      const w = worst.get(folded);
      if (!w || rel > w.rel || (rel === w.rel && abs > w.abs)) worst.set(folded, { rel, abs, a, b });
    } else if (a !== b) categorical.push(`${key}: ${String(a)} vs ${String(b)}`);
  };
  for (const [i, r] of ra.entries()) walk(r, rb[i], `[${i}]`);
  // Per figure: the worst over snapshots (the snapshot index folded too).
  const byFigure = new Map();
  for (const [k, w] of worst) {
    const f = k.replace(/^\[\d+\]/, '');
    const v = byFigure.get(f);
    if (!v || w.rel > v.rel || (w.rel === v.rel && w.abs > v.abs)) byFigure.set(f, w);
  }
  return { worst: byFigure, categorical };
}

/** One pass of a build's analyzer over the captured sequence: CPU ms per snapshot and the figures' hash. */
function analysePass(lib, snaps) {
  const a = new lib.SnapshotAnalyzer(structuredClone(lib.config));
  const ms = [];
  const results = [];
  const h = createHash('sha256');
  for (const s of snaps) {
    const j = copyJob(s);
    const c0 = cpuMs();
    const r = a.analyseSync(j.step, j.reps, j.kernels);
    ms.push(cpuMs() - c0);
    h.update(hashOf(r));
    results.push(r);
  }
  return { ms, hash: h.digest('hex').slice(0, 16), results };
}

/** The parts of one snapshot, each timed alone (CPU ms). */
async function partsPass(lib, snaps, runDir) {
  const o = lib.resolveOptions(lib.config.trajectory);
  const guess = Math.min(PROBES - 1, Math.max(o.bottomK, o.maxBand) - 1);
  const out = { distance: [], eigh: [], null: [], weights: [], commit: [] };
  const analyzer = new lib.SnapshotAnalyzer(structuredClone(lib.config));
  const recorder = new lib.SnapshotRecorder(analyzer);
  fs.rmSync(runDir, { recursive: true, force: true });
  await recorder.openRun(runDir, { meta: { bench: 'monitor-analysis' } });
  const results = snaps.map((s) => {
    const j = copyJob(s);
    return analyzer.analyseSync(j.step, j.reps, j.kernels);
  });
  // The recorder's writer (private field): append + flush as SnapshotRecorder.record does.
  const run = recorder.run;
  for (const [i, s] of snaps.entries()) {
    let t = cpuMs();
    const ds = s.reps.map((x) => lib.distanceMatrixSync(x, { metric: 'angular', precision: o.precision }));
    out.distance.push(cpuMs() - t);
    t = cpuMs();
    const nuls = s.reps.map((x) =>
      lib.runStepsSync(lib.nullTopSteps(x, 'angular', o.nullReplicas, o.nullSeed, undefined, o.precision)),
    );
    out.null.push(cpuMs() - t);
    t = cpuMs();
    if (lib.eighReduceSync) {
      // values first, then the vectors of the indices they call for (observable.ts)
      for (const [j, d] of ds.entries()) {
        const red = lib.eighReduceSync(d, { precision: o.precision });
        const f = lib.spectralFigures(red.values, lib.meanOffDiagonal(d), o, nuls[j], 0);
        const range = lib.neededRange(f);
        lib.eighVectorsSync(red, { range });
        lib.vectorCounts ??= [];
        lib.vectorCounts.push(range[1] - range[0] + 1);
      }
    } else for (const d of ds) lib.eighSync(d, { range: [0, guess], allValues: true, precision: o.precision });
    out.eigh.push(cpuMs() - t);
    t = cpuMs();
    lib.analyzeKernelsSync(copyJob(s).kernels, lib.config.weights);
    out.weights.push(cpuMs() - t);
    if (run) {
      t = cpuMs();
      run.append(lib.storeSnapshot(s.step, { loss: 1 }, results[i]));
      await run.flush();
      out.commit.push(cpuMs() - t);
    }
  }
  await recorder.closeRun({ status: 'finished' });
  return out;
}

async function main() {
  const libs = [await load(root)];
  const other = flag('compare');
  if (other && !PROFILE) libs.push(await load(path.resolve(other)));
  for (const lib of libs) lib.config = configOf(lib);
  const variant = flag('variant');
  if (variant && !other && !PROFILE) {
    const v = JSON.parse(variant);
    const c = libs[0].config;
    libs.push({
      ...libs[0],
      label: 'variant   ',
      config: {
        ...c,
        ...v,
        trajectory: { ...c.trajectory, ...(v.trajectory ?? {}) },
        weights: { ...c.weights, ...(v.weights ?? {}) },
      },
    });
  }
  libs[0].setThreadLimit(1);
  const snaps = await capture(libs[0]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-monitor-analysis-'));
  if (PROFILE) {
    for (let r = 0; r < REPEAT; r++) analysePass(libs[0], snaps);
    fs.rmSync(tmp, { recursive: true, force: true });
    return;
  }
  const per = libs.map(() => ({
    total: [],
    hashes: new Set(),
    parts: { distance: [], eigh: [], null: [], weights: [], commit: [] },
  }));
  // The first pass of each build is its code's first run (each build's functions are its own, so
  // the JIT warms them separately), as in a monitor's fresh worker: reported as `cold`.
  const first = libs.map((lib) => analysePass(lib, snaps));
  const cold = first.map((p) => mean(p.ms));
  for (let r = 0; r < REPEAT; r++) {
    for (const [i, lib] of libs.entries()) {
      const { ms, hash } = analysePass(lib, snaps);
      per[i].total.push(...ms.slice(1)); // the first snapshot has no link
      per[i].hashes.add(hash);
      const p = await partsPass(lib, snaps, path.join(tmp, `run${i}`));
      for (const k of Object.keys(p)) per[i].parts[k].push(...p[k]);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(
    `monitor analysis per snapshot (thread CPU ms, mean of ${REPEAT} x ${SNAPS - 1} snapshots), load ${loadText()}`,
  );
  for (const i of libs.keys()) {
    const q = per[i];
    const parts = Object.fromEntries(Object.entries(q.parts).map(([k, v]) => [k, mean(v)]));
    const total = mean(q.total);
    const rest = total - parts.distance - parts.eigh - parts.null - parts.weights;
    const f = (x) => x.toFixed(1).padStart(6);
    console.log(
      `${i === 0 ? 'this build' : (libs[i].label ?? 'compared  ')}  cold ${f(cold[i])}  analyseSync ${f(total)}  distance ${f(parts.distance)}  eigh ${f(parts.eigh)}  null ${f(parts.null)}  weights ${f(parts.weights)}  rest ${f(rest)}  | commit ${f(parts.commit)}  figures ${[...q.hashes].join(',')}`,
    );
  }
  // Before the values-first path the one-reduction eigh computed max(bottomK, maxBand) vectors.
  const ro = libs[0].resolveOptions(CONFIG.trajectory);
  const before = Math.min(PROBES, Math.max(ro.bottomK, ro.maxBand));
  for (const [i, lib] of libs.entries())
    if (lib.vectorCounts)
      console.log(
        `${i === 0 ? 'this build' : (lib.label ?? 'compared  ')}: eigenvectors computed per layer and snapshot ${Math.min(...lib.vectorCounts)}–${Math.max(...lib.vectorCounts)} (mean ${mean(lib.vectorCounts).toFixed(1)}; before eighReduce, ${before})`,
      );
  if (libs.length > 1) {
    const same =
      per[0].hashes.size === 1 && per[1].hashes.size === 1 && [...per[0].hashes][0] === [...per[1].hashes][0];
    console.log(`figures identical between the builds: ${same ? 'yes' : 'NO'}`);
    if (!same) {
      const d = compareResults(first[0].results, first[1].results);
      console.log(
        `categorical readings (strings, booleans, integers, array lengths) identical: ${d.categorical.length === 0 ? 'yes' : `NO (${d.categorical.slice(0, 5).join('; ')})`}`,
      );
      const all = [...d.worst.entries()];
      const top = (xs, k) => xs.reduce((b, x) => (x[1][k] > b[1][k] ? x : b), ['', { rel: 0, abs: 0 }]);
      const [absKey, absW] = top(all, 'abs');
      const [relKey, relW] = top(
        all.filter(([k]) => !k.endsWith('[]')),
        'rel',
      );
      console.log(
        `over every number: largest absolute difference ${absW.abs.toExponential(2)} (${absKey}); largest relative difference of a scalar figure ${relW.rel.toExponential(2)} (${relKey})`,
      );
      console.log('largest differences of the numbers (this build against the compared one), by figure:');
      for (const [k, w] of [...d.worst.entries()].sort((p, q) => q[1].rel - p[1].rel).slice(0, 40))
        console.log(
          `  ${k.padEnd(44)} rel ${w.rel.toExponential(2)}  abs ${w.abs.toExponential(2)}  (${w.a} vs ${w.b})`,
        );
    }
  }
}

await main();
