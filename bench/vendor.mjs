// BLAS/LAPACK vendor comparison: the same specdyn sources built against OpenBLAS (build/) and
// Intel MKL (build-mkl/, `npm run build:mkl`), measured interleaved on specdyn's core operations.
//
//   node bench/vendor.mjs [--rounds 3] [--reps 3] [--cases eigvalsh-2000,sgemm-2048,...]
//                         [--builds openblas=build/Release/specdyn.node,mkl=build-mkl/Release/specdyn.node]
//                         (a build may add environment variables for its children:
//                          label=file+NAME=value+NAME2=value; the first build is the baseline)
//                         [--python /usr/bin/python3] [--torch <python with torch>] [--threads 2]
//
// Each measurement is a fresh child process (`--child <case>`, the addon chosen through
// SPECDYN_ADDON) that builds its input, runs the operation once untimed and then `--reps` timed
// times, and prints the median. For every case and round the builds run back to back, their
// order reversed from one round to the next, so all see the same machine load; the table gives
// the median over rounds of each build's per-child medians, and each build's time ratio to the
// first (below 1: faster than the first build; rates are inverted into time ratios). Every child also prints a checksum of its result (largest eigenvalue,
// a distance, ...): the builds must agree to the stated tolerance, or the row says so.
// NumPy (the given Python, Debian's on the same OpenBLAS by default) and torch (its bundled
// MKL), when importable, run eigvalsh N = 2000 in the same rounds. The load average is printed
// with every round.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDir, gaussian, median, writeResults } from './lib.mjs';

const root = path.resolve(benchDir, '..');
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const loadavg = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/** The cases: what a child runs. `work()` returns { checksum, units? } after the timed run. */
const CASES = {};
for (const n of [1000, 2000, 4000]) {
  CASES[`eigvalsh-${n}`] = { label: `eigvalshSync N=${n}`, tol: 1e-10, make: (sd) => symmetricCase(sd, n, false) };
  CASES[`eigh-${n}`] = { label: `eighSync N=${n} (vectors)`, tol: 1e-10, make: (sd) => symmetricCase(sd, n, true) };
}
for (const n of [2000, 4000])
  for (const f32 of [false, true])
    CASES[`distance-${n}-${f32 ? 'f32' : 'f64'}`] = {
      label: `distanceMatrixSync euclidean ${n} x 784 ${f32 ? 'f32' : 'f64'}`,
      tol: f32 ? 1e-4 : 1e-10,
      make: (sd) => {
        const x = gaussian(n, 784, n + 1, f32 ? Float32Array : Float64Array);
        let d;
        return {
          run: () => {
            d = sd.distanceMatrixSync(x, { metric: 'euclidean' });
          },
          checksum: () => d.data[1] + d.data[n * n - 2],
        };
      },
    };
CASES['sgemm-2048'] = {
  label: 'sgemm 2048² (GFLOP/s)',
  rate: true,
  tol: 1e-4,
  make: (_sd, native) => {
    const n = 2048;
    const a = gaussian(n, n, 11, Float32Array).data;
    const b = gaussian(n, n, 12, Float32Array).data;
    const out = new Float32Array(n * n);
    return {
      run: () => native.sgemmF32(a, b, out, 1, n, n, n, false, false, null, null, null, null, null, null),
      checksum: () => out[0] + out[n * n - 1],
      flops: 2 * n ** 3,
    };
  },
};
CASES['eigsh-3000'] = {
  label: 'eigshSync top 10, X Xᵀ (X 3000 x 200)',
  tol: 1e-8,
  make: (sd) => {
    const x = gaussian(3000, 200, 21);
    const g = sd.gramSync(x);
    let r;
    return {
      run: () => {
        r = sd.eigshSync(g, { k: 10 });
      },
      checksum: () => Math.max(...r.values),
      extra: () => `${r.matvecs} products`,
    };
  },
};
CASES['train-mlp'] = {
  label: 'MLP 784-256-256-10 trainOnBatch, batch 128 (steps/s)',
  rate: true,
  tol: 1e-3,
  async: true,
  make: async () => {
    const { loadTf } = await import('../dist/tfjs/index.js');
    const { buildModel } = await import('./train.bench.mjs');
    const { tf } = await loadTf({ backend: 'specdyn-native' });
    const model = buildModel(tf, 1);
    const x = tf.tensor2d(/** @type {Float32Array} */ (gaussian(128, 784, 3, Float32Array).data), [128, 784]);
    const labels = new Int32Array(128).map((_, i) => (i * 7 + 3) % 10);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
    const steps = 40;
    let loss = 0;
    return {
      run: async () => {
        for (let s = 0; s < steps; s++) loss = Number(await model.trainOnBatch(x, y));
      },
      checksum: () => loss,
      flops: steps, // "flops" of a rate case: steps per timed block
    };
  },
};

function symmetricCase(sd, n, vectors) {
  const g = gaussian(n, n, n).data;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
  const a = { data, rows: n, cols: n };
  let w;
  return {
    run: () => {
      w = vectors ? sd.eighSync(a).values : sd.eigvalshSync(a);
    },
    checksum: () => w[n - 1],
  };
}

async function child(name) {
  const sd = await import('../dist/index.js');
  const { native } = await import('../dist/native.js');
  if (arg('threads')) sd.setThreads(Number(arg('threads')));
  const reps = Number(arg('reps', '3'));
  const c = await CASES[name].make(sd, native());
  await c.run();
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await c.run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const info = sd.nativeInfo();
  console.log(
    JSON.stringify({
      seconds: median(times),
      checksum: c.checksum(),
      flops: c.flops ?? null,
      extra: c.extra ? c.extra() : null,
      vendor: info.blasVendor,
      threads: sd.getThreads(),
    }),
  );
}

function runChild(name, build) {
  const argv = [path.join(benchDir, 'vendor.mjs'), '--child', name, '--reps', arg('reps', '3')];
  if (arg('threads')) argv.push('--threads', arg('threads'));
  const r = spawnSync(process.execPath, argv, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...build.env, SPECDYN_ADDON: build.file },
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${name} (${build.label}) failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** NumPy / torch eigvalsh N = 2000 in a Python child: median seconds, or null when not importable. */
function runPythonEig(python, lib, reps) {
  if (!python) return null;
  const threads = Number(arg('threads', String(Math.min(2, os.availableParallelism()))));
  const code = {
    numpy: `import numpy as np
def f(): return np.linalg.eigvalsh(a)
rng=np.random.default_rng(1); g=rng.standard_normal((2000,2000)); a=0.5*(g+g.T)`,
    torch: `import torch
torch.set_num_threads(${threads})
def f(): return torch.linalg.eigvalsh(a)
g=torch.randn(2000,2000,dtype=torch.float64,generator=torch.Generator().manual_seed(1)); a=0.5*(g+g.T)`,
  }[lib];
  const body = `${code}
import time, statistics, json
f()
ts=[]
for _ in range(${reps}):
    t0=time.perf_counter(); f(); ts.append(time.perf_counter()-t0)
print(json.dumps(statistics.median(ts)))`;
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync(python, ['-c', body], { encoding: 'utf8', env });
  if (r.status !== 0) return null;
  return Number(r.stdout.trim().split('\n').pop());
}

function pythonVersion(python, lib) {
  if (!python) return null;
  const expr =
    lib === 'torch'
      ? 'import torch; print(torch.__version__, "MKL" if torch.backends.mkl.is_available() else "no MKL")'
      : 'import numpy; print(numpy.__version__)';
  const r = spawnSync(python, ['-c', expr], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main() {
  const builds = arg('builds', 'openblas=build/Release/specdyn.node,mkl=build-mkl/Release/specdyn.node')
    .split(',')
    .map((s) => {
      const [spec, ...vars] = s.split('+');
      const [label, file] = spec.split('=');
      const env = Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
      return { label, file: path.resolve(root, file), env };
    });
  if (builds.length < 2) {
    console.error(`Expected at least two builds for --builds but received ${builds.length}`);
    process.exit(2);
  }
  for (const b of builds)
    if (!existsSync(b.file)) {
      console.error(
        `Expected a built addon for ${b.label} but received a missing file: ${b.file} (npm run build:native / npm run build:mkl)`,
      );
      process.exit(2);
    }
  const names = arg('cases', Object.keys(CASES).join(',')).split(',');
  for (const n of names)
    if (!CASES[n]) {
      console.error(`Expected one of ${Object.keys(CASES).join(', ')} for --cases but received ${n}`);
      process.exit(2);
    }
  const rounds = Number(arg('rounds', '3'));
  const reps = Number(arg('reps', '3'));
  const python = arg('python', '/usr/bin/python3');
  const torchPy = arg('torch', null);
  const numpyV = pythonVersion(python, 'numpy');
  const torchV = pythonVersion(torchPy, 'torch');
  console.log(
    `# ${new Date().toISOString()} ${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism()}; load ${loadavg()}; ${rounds} rounds x ${reps} reps`,
  );
  for (const b of builds)
    console.log(
      `# ${b.label}: ${path.relative(root, b.file)}${Object.keys(b.env).length ? ` with ${JSON.stringify(b.env)}` : ''}`,
    );
  console.log(`# rivals: numpy ${numpyV ?? 'not importable'} (${python}); torch ${torchV ?? 'not given'}`);

  const results = Object.fromEntries(names.map((n) => [n, Object.fromEntries(builds.map((b) => [b.label, []]))]));
  const checks = Object.fromEntries(names.map((n) => [n, {}]));
  const rival = { numpy: [], torch: [] };
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    for (const n of names) {
      for (const b of order) {
        const out = runChild(n, b);
        results[n][b.label].push(CASES[n].rate ? out.flops / out.seconds : out.seconds);
        checks[n][b.label] = out;
        console.log(`# round ${r + 1} ${n} ${b.label}: ${(out.seconds * 1e3).toFixed(1)} ms; load ${loadavg()}`);
      }
    }
    if (names.includes('eigvalsh-2000')) {
      const np = numpyV ? runPythonEig(python, 'numpy', reps) : null;
      const tt = torchV ? runPythonEig(torchPy, 'torch', reps) : null;
      if (np) rival.numpy.push(np);
      if (tt) rival.torch.push(tt);
    }
    loads.push(loadavg());
    console.log(`# round ${r + 1}/${rounds} done; load ${loads[loads.length - 1]}`);
  }

  const [base, ...others] = builds;
  console.log(
    `\n| operation | ${builds.map((b) => b.label).join(' | ')} | ${others.map((o) => `${o.label} / ${base.label} (per round)`).join(' | ')} | results agree |`,
  );
  console.log(`| --- | ${builds.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} | --- |`);
  for (const n of names) {
    const c = CASES[n];
    const fmt = (v) =>
      c.rate
        ? n === 'sgemm-2048'
          ? `${(v / 1e9).toFixed(0)} GFLOP/s`
          : `${v.toFixed(0)}/s`
        : `${(v * 1e3).toFixed(1)} ms`;
    const med = builds.map((b) => median(results[n][b.label]));
    // Time ratios (rates inverted): < 1 means faster than the baseline build.
    const tr = (b, o) => (c.rate ? b / o : o / b);
    const ratios = others.map((o, j) => {
      const perRound = results[n][base.label].map((v, i) => tr(v, results[n][o.label][i]).toFixed(2));
      return `**${tr(med[0], med[j + 1]).toFixed(2)}** (${perRound.join(' ')})`;
    });
    const sums = builds.map((b) => checks[n][b.label].checksum);
    const rel = Math.max(...sums.map((v) => Math.abs(v - sums[0]) / Math.max(Math.abs(sums[0]), 1e-300)));
    const extras = [...new Set(builds.map((b) => checks[n][b.label].extra).filter(Boolean))];
    console.log(
      `| ${c.label}${extras.length ? ` (${extras.join(' / ')})` : ''} | ${med.map(fmt).join(' | ')} | ${ratios.join(' | ')} | ${rel <= c.tol ? 'yes' : 'NO'} (rel ${rel.toExponential(1)}) |`,
    );
  }
  if (rival.numpy.length || rival.torch.length) {
    const meds = builds.map((b) => median(results['eigvalsh-2000'][b.label]));
    console.log(`\neigvalsh N=2000: ${builds.map((b, i) => `${b.label} ${(meds[i] * 1e3).toFixed(0)} ms`).join(', ')}`);
    for (const [lib, ts] of Object.entries(rival))
      if (ts.length) {
        const m = median(ts);
        console.log(
          `  ${lib} ${(m * 1e3).toFixed(0)} ms (per round ${ts.map((t) => (t * 1e3).toFixed(0)).join(' ')}): ${builds.map((b, i) => `${b.label} / ${lib} ${(meds[i] / m).toFixed(2)}`).join(', ')}`,
        );
      }
  }
  console.log(`\nload average after each round: ${loads.join('; ')}`);
  const file = writeResults('vendor', { builds, results, checks, rival, loads, rounds, reps });
  console.log(`results: ${path.relative(process.cwd(), file)}`);
  console.log(
    `threads per child: ${Object.values(checks[names[0]])
      .map((o) => `${o.vendor} ${o.threads}`)
      .join(', ')}`,
  );
}

if (process.argv.includes('--child')) await child(arg('child'));
else await main();
