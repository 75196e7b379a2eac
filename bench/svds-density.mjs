// svds and spectralDensity against what a SciPy user would run, interleaved rounds in one run.
//
//   node bench/svds-density.mjs [--repeat 3] [--k 10]
//
// svds: the top k singular values of a Gaussian W (3000 x 200 and 4000 x 1000) with specdyn's
// svdsSync (the implicit Gram operator) against scipy.sparse.linalg.svds(W, k) (ARPACK) on both
// Python builds (bench/lib.mjs pythonRivals), and specdyn's full svdvalsSync as the reference the
// singular values are checked against. spectralDensity: the eigenvalue density of the 3000 x 3000
// Gram matrix X Xᵀ (X 3000 x 200) by stochastic Lanczos quadrature (spectralDensitySync on
// gramOperator(X), 16 probes, 40 steps) against the full spectrum a user would otherwise compute,
// numpy.linalg.eigvalsh(X @ X.T) (product included) on both builds, and specdyn's own
// eigvalshSync(gramSync(X)). The Python side draws its own Gaussian of the same shape: the
// timings compare, the numbers are checked within each side. Medians of the rounds; the load
// average is printed.
import * as sd from '../dist/index.js';
import { flag, gaussian, loadText, median, now, pythonRivals, runPython, since } from './lib.mjs';

const repeat = Number(flag('repeat', '3'));
const k = Number(flag('k', '10'));
const SHAPES = [
  [3000, 200],
  [4000, 1000],
];

function pyRound(python) {
  return runPython(
    `import numpy as np, scipy.sparse.linalg as sla
out={}
for (n, m) in ${JSON.stringify(SHAPES)}:
    w=np.random.default_rng(n).standard_normal((n, m))
    t0=time.perf_counter(); s=sla.svds(w, k=${k}, return_singular_vectors=False); out[f'svds{n}x{m}']=time.perf_counter()-t0
x=np.random.default_rng(7).standard_normal((3000, 200))
t0=time.perf_counter(); e=np.linalg.eigvalsh(x @ x.T); h=np.histogram(e, bins=50); out['density']=time.perf_counter()-t0
print(json.dumps(out))`,
    { python },
  );
}

console.log(
  `# ${new Date().toISOString()} load ${loadText()}; BLAS threads ${sd.getThreads()}; k ${k}; ${repeat} rounds`,
);
const rivals = pythonRivals();
const mats = SHAPES.map(([n, m]) => gaussian(n, m, n));
const x = gaussian(3000, 200, 7);
const ours = { svds: SHAPES.map(() => []), full: SHAPES.map(() => []), density: [], eig: [] };
const theirs = rivals.map(() => ({ svds: SHAPES.map(() => []), density: [] }));
const checks = [];
for (let r = 0; r < repeat; r++) {
  for (const [i, w] of mats.entries()) {
    let t0 = now();
    const res = sd.svdsSync(w, { k });
    ours.svds[i].push(since(t0));
    t0 = now();
    const all = sd.svdvalsSync(w);
    ours.full[i].push(since(t0));
    if (r === 0) {
      let err = 0;
      for (let j = 0; j < k; j++) err = Math.max(err, Math.abs(res.s[j] - all[j]) / all[0]);
      checks.push(
        `svds ${w.rows}x${w.cols}: max |s_i − full s_i| / s_1 = ${err.toExponential(2)}, ${res.matvecs} products`,
      );
    }
  }
  let t0 = now();
  const dens = sd.spectralDensitySync(sd.gramOperator(x), { bins: 50, probes: 16, steps: 40, seed: 3 });
  ours.density.push(since(t0));
  t0 = now();
  const full = sd.eigvalshSync(sd.gramSync(x));
  ours.eig.push(since(t0));
  if (r === 0) {
    // Against the full spectrum's histogram on the same edges: the total-variation distance, and
    // the mass of the Marchenko–Pastur bulk (the 200 nonzero eigenvalues, above half of λ_min⁺).
    const e = dens.edges;
    const truth = new Float64Array(dens.mass.length);
    for (const v of full) {
      let b = 0;
      while (b < truth.length - 1 && v >= e[b + 1]) b++;
      truth[b] += 1 / full.length;
    }
    let tv = 0;
    for (let b = 0; b < truth.length; b++) tv += 0.5 * Math.abs(dens.mass[b] - truth[b]);
    const top = full[full.length - 1];
    const nonzero = full.filter((v) => v > 1e-9 * top);
    const cut = 0.5 * nonzero[0];
    let bulk = 0;
    for (let b = 0; b < dens.mass.length; b++) if (e[b] >= cut) bulk += dens.mass[b];
    checks.push(
      `spectralDensity vs the full spectrum on its ${truth.length} bins: total-variation distance ${tv.toFixed(3)}; mass from ${cut.toFixed(0)} up ${bulk.toFixed(3)} (full spectrum ${(nonzero.length / full.length).toFixed(3)})`,
    );
  }
  for (const [j, p] of rivals.entries()) {
    const o = pyRound(p.exe);
    for (const [i, [n, m]] of SHAPES.entries()) theirs[j].svds[i].push(o[`svds${n}x${m}`]);
    theirs[j].density.push(o.density);
  }
}
const ms = (xs) => (1000 * median(xs)).toFixed(1);
console.log('\n| operation | specdyn ms | rival | rival ms | specdyn / rival |');
console.log('| --- | --- | --- | --- | --- |');
for (const [i, [n, m]] of SHAPES.entries()) {
  for (const [j, p] of rivals.entries())
    console.log(
      `| svds k=${k}, ${n} x ${m} | ${ms(ours.svds[i])} | scipy svds (ARPACK), ${p.label} | ${ms(theirs[j].svds[i])} | ${(median(ours.svds[i]) / median(theirs[j].svds[i])).toFixed(2)} |`,
    );
  console.log(
    `| svds k=${k}, ${n} x ${m} | ${ms(ours.svds[i])} | specdyn svdvals (all) | ${ms(ours.full[i])} | ${(median(ours.svds[i]) / median(ours.full[i])).toFixed(2)} |`,
  );
}
for (const [j, p] of rivals.entries())
  console.log(
    `| spectralDensity, X Xᵀ 3000 x 3000 | ${ms(ours.density)} | numpy eigvalsh(x @ x.T) + histogram, ${p.label} | ${ms(theirs[j].density)} | ${(median(ours.density) / median(theirs[j].density)).toFixed(2)} |`,
  );
console.log(
  `| spectralDensity, X Xᵀ 3000 x 3000 | ${ms(ours.density)} | specdyn eigvalsh(gram(X)) | ${ms(ours.eig)} | ${(median(ours.density) / median(ours.eig)).toFixed(2)} |`,
);
for (const c of checks) console.log(`- ${c}`);
console.log(`- load average at the end ${loadText()}`);
