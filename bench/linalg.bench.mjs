// Foundation benchmarks of the native core. Every figure is a median ratio against a rival
// measured in this same run: SciPy/NumPy of both Python builds (Debian's on the same OpenBLAS and
// the newer wheels on PATH, bench/lib.mjs pythonRivals), scikit-learn, ml-matrix (pure JS) and
// tfjs (distances via matMul). `--size` sets the eigensolver sizes (default 1000,2000),
// `--repeat` the timed runs per figure, `--rounds` (default 3) how many times specdyn and each
// Python build take turns on the eigensolver and Gram-product figures: each round times specdyn,
// then each Python build, and a figure's ratio is the median of its rounds' ratios (this
// machine's speed drifts by up to 1.5x within minutes, so a ratio of two times taken minutes
// apart means little; its seconds are the medians over the rounds).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as sd from '../dist/index.js';
import { native } from '../dist/native.js';
import {
  benchDir,
  benchRepeat,
  benchSizes,
  flag,
  gaussian,
  median,
  pythonAvailable,
  pythonRivals,
  runPython,
  timeit,
} from './lib.mjs';

function symmetric(n, seed) {
  const g = gaussian(n, n, seed).data;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
  return { data, rows: n, cols: n };
}

async function tfjsDistance(x, backend) {
  const tf = await import('@tensorflow/tfjs');
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  await tf.ready();
  const X = tf.tensor2d(Float32Array.from(x.data), [x.rows, x.cols]);
  const run = async () => {
    const d = tf.tidy(() => {
      const sq = tf.sum(tf.square(X), 1, true);
      const g = tf.matMul(X, X, false, true);
      return tf.sqrt(tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, g))));
    });
    await d.data();
    d.dispose();
  };
  const t = await timeit(run, { repeat: 3, warmup: 1 });
  X.dispose();
  return t.median;
}

function peakRssChild() {
  // Separate process: baseline peak RSS after the float32 input exists, then one distanceMatrix.
  // Peak = VmHWM of /proc/self/status (ru_maxrss would carry the parent's peak across exec).
  const code = `import * as sd from './dist/index.js';
import { readFileSync } from 'node:fs';
const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const n = 4000, d = 784;
const x = { data: new Float32Array(n * d).map((_, i) => Math.sin(i * 0.37)), rows: n, cols: d };
sd.eigvalshSync({ data: new Float64Array([1]), rows: 1, cols: 1 });
globalThis.gc?.();
const before = hwm();
const res = sd.distanceMatrixSync(x);
const after = hwm();
console.log(JSON.stringify({ before, after, inputBytes: x.data.byteLength, outputBytes: res.data.byteLength }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    cwd: path.resolve(benchDir, '..'),
    encoding: 'utf8',
  });
  return JSON.parse(r.stdout);
}

export async function run() {
  const py = pythonAvailable();
  const rows = [];
  const notes = [];
  const add = (figure, specdyn, rival, rivalName, target, pass) =>
    rows.push({
      figure,
      'specdyn s': specdyn,
      [`rival s`]: rival,
      rival: rivalName,
      ratio: rival ? specdyn / rival : NaN,
      target,
      pass: pass ?? '',
    });

  const rivals = pythonRivals();
  const sizes = benchSizes([1000, 2000]);
  const repeat = benchRepeat(5);
  const rounds = Number(flag('rounds', '3'));
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`--rounds must be a whole number ≥ 1, got ${flag('rounds')}`);
  /**
   * One figure per Python build from `rounds` turns (see the module doc): `mine()` times specdyn,
   * `theirs[i]()` the i-th build; the ratio is the median of the rounds' ratios.
   */
  const interleaved = async (mine, theirs) => {
    const own = [],
      other = theirs.map(() => []);
    for (let r = 0; r < rounds; r++) {
      own.push(await mine());
      for (const [i, f] of theirs.entries()) other[i].push(f());
    }
    return other.map((o) => ({
      specdyn: median(own),
      rival: median(o),
      ratio: median(o.map((t, r) => own[r] / t)),
    }));
  };
  const addInterleaved = (figure, m, rivalName, target, limit) =>
    rows.push({
      figure: `${figure} (${rounds} rounds)`,
      'specdyn s': m.specdyn,
      'rival s': m.rival,
      rival: rivalName,
      ratio: m.ratio,
      target,
      pass: m.ratio <= limit,
    });
  // eigvalsh vs SciPy and eigh vs NumPy, for each Python build, interleaved; N = 1000 vs ml-matrix.
  const pyEig = (p, n, what) =>
    runPython(
      `import numpy as np, scipy.linalg as sl
g=np.random.default_rng(${n}).standard_normal((${n},${n})); a=(g+g.T)/2
print(json.dumps({'t': timeit(lambda: ${what === 'eigvalsh' ? 'sl.eigh(a, eigvals_only=True)' : 'np.linalg.eigh(a)'}, repeat=${repeat})}))`,
      { python: p.exe },
    ).t;
  if (rivals.length === 0)
    notes.push(
      'NumPy/SciPy not importable from /usr/bin/python3 or python3: Python rivals skipped (install python3-numpy python3-scipy python3-sklearn).',
    );
  for (const n of sizes) {
    const a = symmetric(n, n);
    const ev = await interleaved(
      async () => (await timeit(() => sd.eigvalsh(a), { repeat })).median,
      rivals.map((p) => () => pyEig(p, n, 'eigvalsh')),
    );
    for (const [i, p] of rivals.entries())
      addInterleaved(
        `eigvalsh N=${n} vs SciPy eigh(eigvals_only), ${p.label}`,
        ev[i],
        `scipy (${p.label})`,
        '≤ 1.10',
        1.1,
      );
    const t = ev[0]?.specdyn ?? (await timeit(() => sd.eigvalsh(a), { repeat })).median;
    if (n === 1000) {
      const { Matrix, EigenvalueDecomposition } = await import('ml-matrix');
      const m = new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.data.subarray(i * n, (i + 1) * n))));
      const t0 = process.hrtime.bigint();
      new EigenvalueDecomposition(m, { assumeSymmetric: true });
      const tm = Number(process.hrtime.bigint() - t0) / 1e9;
      rows.push({
        figure: 'eigvalsh N=1000 vs ml-matrix EVD (1 run)',
        'specdyn s': t,
        'rival s': tm,
        rival: 'ml-matrix',
        ratio: t / tm,
        target: '≥ 100x faster (ratio ≤ 0.01)',
        pass: tm / t >= 100,
      });
    }
    const eh = await interleaved(
      async () => (await timeit(() => sd.eigh(a), { repeat })).median,
      rivals.map((p) => () => pyEig(p, n, 'eigh')),
    );
    for (const [i, p] of rivals.entries())
      addInterleaved(
        `eigh (vectors) N=${n} vs numpy.linalg.eigh, ${p.label}`,
        eh[i],
        `numpy (${p.label})`,
        '≤ 1.10',
        1.1,
      );
    // What the async call adds over the bare LAPACK driver (probe: copy not timed), interleaved.
    const bare = [],
      asy = [];
    for (let r = 0; r < repeat; r++) {
      bare.push(native()._eigSeconds(a, 'syevd', false));
      const t0 = process.hrtime.bigint();
      await sd.eigvalsh(a);
      asy.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    add(
      `eigvalsh async N=${n} vs bare dsyevd (same process)`,
      median(asy),
      median(bare),
      'dsyevd probe',
      '≤ 1.05',
      median(asy) / median(bare) <= 1.05,
    );
  }

  // distanceMatrix euclidean N = 2000, D = 784 float64 vs scikit-learn, and the ?syrk FLOP bound.
  const N = 2000,
    D = 784;
  const x = gaussian(N, D, 5);
  const td = (await timeit(() => sd.distanceMatrix(x), { repeat: 7 })).median;
  const skl = py.sklearn
    ? runPython(`import numpy as np
from sklearn.metrics import pairwise_distances
x=np.random.default_rng(5).standard_normal((${N},${D}))
print(json.dumps({'t': timeit(lambda: pairwise_distances(x, metric='euclidean'), repeat=7)}))`).t
    : null;
  add(
    `distanceMatrix euclidean N=${N} D=${D} f64 vs sklearn pairwise_distances`,
    td,
    skl,
    'sklearn',
    'ratio ≤ 0.5 (≥ 2x faster)',
    skl ? skl / td >= 2 : '',
  );
  // distanceMatrixSync against the bare ?syrk it is built on (native probe), interleaved in this
  // process; the previous result is passed as out (the loop pattern), and NumPy's y @ y.T.
  for (const type of ['f64', 'f32']) {
    const xs = type === 'f32' ? { data: Float32Array.from(x.data), rows: N, cols: D } : x;
    /** @type {import('../dist/index.js').DistanceOptions} */
    const opts = type === 'f32' ? { precision: 'float32' } : {};
    const out = new Float64Array(N * N);
    const ts = [],
      tdist = [];
    native()._syrkSeconds(xs);
    sd.distanceMatrixSync(xs, { ...opts, out });
    for (let r = 0; r < 7; r++) {
      ts.push(native()._syrkSeconds(xs));
      const t0 = process.hrtime.bigint();
      sd.distanceMatrixSync(xs, { ...opts, out });
      tdist.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const ms = median(ts),
      mdist = median(tdist);
    add(
      `distanceMatrixSync euclidean N=${N} D=${D} ${type}${type === 'f32' ? " precision 'float32'" : ''} (out reused) vs bare ?syrk`,
      mdist,
      ms,
      type === 'f32' ? 'ssyrk probe' : 'dsyrk probe',
      '≤ 1.10',
      mdist / ms <= 1.1,
    );
    // NumPy's y @ y.T against distanceMatrixSync (out reused), interleaved.
    const distOnce = () => {
      const t0 = process.hrtime.bigint();
      sd.distanceMatrixSync(xs, { ...opts, out });
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const gram = await interleaved(
      async () => median(Array.from({ length: 7 }, distOnce)),
      rivals.map(
        (p) => () =>
          runPython(
            `import numpy as np
y=np.random.default_rng(5).standard_normal((${N},${D})).astype(np.${type === 'f32' ? 'float32' : 'float64'})
print(json.dumps({'t': timeit(lambda: y @ y.T, repeat=7)}))`,
            { python: p.exe },
          ).t,
      ),
    );
    for (const [i, p] of rivals.entries())
      addInterleaved(
        `distanceMatrixSync euclidean N=${N} D=${D} ${type} vs NumPy y @ y.T, ${p.label}`,
        gram[i],
        `numpy (${p.label})`,
        '≤ 1.10',
        1.1,
      );
  }

  const gemmN = 2000;
  const gemmS = median(Array.from({ length: 5 }, () => native()._dgemmSeconds(gemmN)));
  const gflops = (2 * gemmN ** 3) / gemmS / 1e9;
  const bound = (N * N * D) / (gflops * 1e9);
  rows.push({
    figure: `distanceMatrix vs ?syrk FLOP bound (N²D at dgemm ${gflops.toFixed(1)} GFLOP/s)`,
    'specdyn s': td,
    'rival s': bound,
    rival: 'dgemm probe',
    ratio: td / bound,
    target: '≤ 1.5',
    pass: td / bound <= 1.5,
  });
  for (const backend of ['cpu', 'wasm']) {
    try {
      const tt = await tfjsDistance(x, backend);
      add(
        `distanceMatrix N=${N} D=${D} vs tfjs-${backend} matMul route (float32)`,
        td,
        tt,
        `tfjs-${backend}`,
        'informative',
        '',
      );
    } catch (e) {
      notes.push(`tfjs-${backend} rival unavailable: ${e.message}`);
    }
  }

  // eigvalshBatch 64 x N = 300 vs the same calls in sequence.
  const mats = Array.from({ length: 64 }, (_, i) => symmetric(300, 1000 + i));
  const tb = (await timeit(() => sd.eigvalshBatch(mats), { repeat: 5 })).median;
  const ts = (
    await timeit(
      () => {
        for (const m of mats) sd.eigvalshSync(m);
      },
      { repeat: 5 },
    )
  ).median;
  rows.push({
    figure: 'eigvalshBatch 64 x N=300 vs sequential eigvalshSync',
    'specdyn s': tb,
    'rival s': ts,
    rival: 'sequential',
    ratio: tb / ts,
    target: 'speed-up ≥ 1.6 (ratio ≤ 0.625)',
    pass: ts / tb >= 1.6,
  });

  // Async overhead at N = 64: median(async) − median(sync).
  const small = symmetric(64, 64);
  const reps = 2000;
  const sync = [],
    asyn = [];
  for (let i = 0; i < reps; i++) {
    let t0 = process.hrtime.bigint();
    sd.eigvalshSync(small);
    sync.push(Number(process.hrtime.bigint() - t0) / 1e3);
    t0 = process.hrtime.bigint();
    await sd.eigvalsh(small);
    asyn.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const over = median(asyn) - median(sync);
  rows.push({
    figure: 'async overhead N=64 (µs, median async − median sync)',
    'specdyn s': median(asyn) / 1e6,
    'rival s': median(sync) / 1e6,
    rival: 'sync call',
    ratio: over,
    target: '≤ 100 µs',
    pass: over <= 100,
  });

  // Peak RSS of distanceMatrix N = 4000, D = 784 from float32 input.
  const rss = peakRssChild();
  const extra = rss.after - rss.before,
    budget = 1.5 * (rss.inputBytes + rss.outputBytes);
  rows.push({
    figure: 'peak RSS distanceMatrix N=4000 D=784 f32 (MB above baseline / (input+output) MB)',
    'specdyn s': extra / 2 ** 20,
    'rival s': (rss.inputBytes + rss.outputBytes) / 2 ** 20,
    rival: 'input+output',
    ratio: extra / (rss.inputBytes + rss.outputBytes),
    target: '≤ 1.5',
    pass: extra <= budget,
  });

  notes.push(
    `BLAS: ${sd.nativeInfo().blas}; threads ${sd.getThreads()}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  );
  return { title: 'linalg: native core vs rivals (medians, same run)', rows, notes };
}
