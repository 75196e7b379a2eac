// Partial spectra and densities at scale: eigsh against ARPACK and LOBPCG (SciPy, both Python
// builds, same run, interleaved), eigsh vs the full dense eigh, SLQ density vs the full
// eigenvalues (same run, same matrices), and an OMD-style snapshot at N = 20 000 in a child
// process so that its peak RSS is its own.
//
//   npx tsc -p tsconfig.json && node bench/run.mjs iterative [--size 3000,8000] [--k 1,10,50]
//     [--repeat 3] [--sections rivals,scale] [--spectra separated,clustered,bulk,distance]
//     [--lobpcg yes|no] [--lobpcg-maxiter 300] [--start fixed|rounds] [--interleave pairs|rounds]
//     [--method auto|lanczos]
// --method: eigsh's method in the rivals section (auto, the default, takes the small-Gram route on
// the Gram spectra where it is predicted cheaper; lanczos: Lanczos on the operator, as ARPACK).
// --interleave pairs (default): each solve of specdyn is paired with the same case's solve in
// each Python build (kept running: bench/eigsh-rivals.py --serve), right after it (even rounds)
// or right before it (odd rounds), one case at a time, after a settle of 1.1 s, so that each
// ratio compares solves seconds apart and a drift of the machine's speed (up to 1.4x within a
// minute on shared machines) cancels within the pair;
// rounds: each round times every case in specdyn, then every case in each Python build (a fresh
// process per build and round).
// --start rounds: round r of the rivals section starts every solver from the random vector of seed
// r (specdyn's `seed`, ARPACK's v0 from NumPy's default_rng(r)), so that the medians over rounds
// (times and products) average over start vectors instead of comparing one draw of each; fixed
// (default): specdyn's default start and ARPACK's v0 of seed 0 in every round.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Rng,
  distanceMatrix,
  distanceOperator,
  eigh,
  eigsh,
  eigshSync,
  eigvalsh,
  getThreads,
  gramOperator,
  spectralDensity,
} from '../dist/index.js';
import { benchDir, benchRepeat, benchSizes, flag, gaussian, median, PYTHON } from './lib.mjs';
import { othersKeepACore } from '../dist/machine-load.js';

const N = Number(process.env.SPECDYN_BENCH_N ?? 8000);
const N_OMD = Number(process.env.SPECDYN_BENCH_OMD_N ?? 20000);

/** OMD-like probe representations: a Gaussian mixture of `clusters` blobs in dim d. */
function mixture(n, d, clusters, seed) {
  const rng = new Rng(seed);
  const centres = rng.fillNormal(new Float64Array(clusters * d), 0, 3);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c * d + j] + rng.normal();
  }
  return { data: x, rows: n, cols: d };
}

/** GOE / √n: semicircle on [−2, 2] (σ² = 1/n off the diagonal). */
function goe(n, seed) {
  const rng = new Rng(seed);
  const a = new Float64Array(n * n);
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) {
    a[i * n + i] = rng.normal() * s * Math.SQRT2;
    for (let j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal() * s;
  }
  return { data: a, rows: n, cols: n };
}

function residual(a, x, lambda) {
  const n = a.rows;
  let r = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += a.data[row + j] * x[j];
    r += (s - lambda * x[i]) ** 2;
  }
  return Math.sqrt(r);
}

function histogramL1(values, res) {
  const bins = res.mass.length;
  const exact = new Float64Array(bins);
  let outside = 0;
  for (const v of values) {
    let b = -1;
    for (let lo = 0, hi = bins; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      if (v < res.edges[mid]) hi = mid;
      else if (v >= res.edges[mid + 1]) lo = mid + 1;
      else {
        b = mid;
        break;
      }
    }
    if (b < 0) outside += 1 / values.length;
    else exact[b] += 1 / values.length;
  }
  let l1 = outside;
  for (let b = 0; b < bins; b++) l1 += Math.abs(exact[b] - res.mass[b]);
  return l1;
}

const e = (v) => v.toExponential(1);
/** The result of the last run and the median seconds of three (the machine is shared). */
async function medianOf3(fn) {
  const times = [];
  let out;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    out = await fn();
    times.push(secs(t0));
  }
  times.sort((a, b) => a - b);
  return [out, times[1]];
}

const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The N = 20 000 OMD snapshot, run in its own process: distance matrix, top 20, density. */
async function omdSnapshot(n) {
  const x = mixture(n, 256, 10, 5);
  let t0 = process.hrtime.bigint();
  const d = await distanceMatrix(x);
  const tDist = secs(t0);
  t0 = process.hrtime.bigint();
  const top = await eigsh(d, { k: 20, which: 'magnitude' });
  const tTop = secs(t0);
  t0 = process.hrtime.bigint();
  const dens = await spectralDensity(d, { bins: 100, probes: 16, steps: 48, seed: 1 });
  const tDens = secs(t0);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const dBytes = n * n * 8;
  return {
    n,
    distanceSeconds: tDist,
    eigshSeconds: tTop,
    densitySeconds: tDens,
    perron: top.values[0],
    maxResidualOverNorm: Math.max(...top.residuals) / top.normEstimate,
    restarts: top.restarts,
    matvecs: top.matvecs,
    densityL1Error: dens.l1Error,
    distanceMatrixGiB: dBytes / 2 ** 30,
    peakRssGiB: maxRssBytes / 2 ** 30,
    peakOverDistance: maxRssBytes / dBytes,
  };
}

// ------------------------------------------------------------------ eigsh against SciPy

/** The Python builds that run the rivals: Debian's (same OpenBLAS) and the default python3. */
function pythons() {
  const out = [];
  for (const [label, exe] of [
    ['Debian', PYTHON],
    ['wheels', 'python3'],
  ]) {
    const r = spawnSync(
      exe,
      ['-c', 'import sys, numpy, scipy; print(sys.executable, numpy.__version__, scipy.__version__)'],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) continue;
    const [where, numpy, scipy] = r.stdout.trim().split(' ');
    if (out.some((p) => p.where === where)) continue;
    out.push({ label, exe, where, numpy, scipy });
  }
  return out;
}

/**
 * The spectra compared, each an implicit operator of an N x p matrix X (so N = 20 000 fits):
 * - separated: X Xᵀ with column j of X scaled by 1 + 10·0.93^j (top eigenvalues 3–13 % apart);
 * - clustered edge: X Xᵀ, X Gaussian N x 200 (the Wishart edge of rank 200);
 * - Wishart bulk: X Xᵀ, X Gaussian N x min(N/4, 1000) (a denser edge);
 * - distance: the squared Euclidean distance matrix of a 10-blob mixture in 64 dims, largest |λ|.
 */
/** @returns {Array<{ key: string, name: string, x: any, kind: string, which: 'largest' | 'magnitude' }>} */
function rivalCases(n, spectra) {
  const separated = () => {
    const sep = gaussian(n, 200, 11);
    for (let i = 0; i < n; i++) for (let j = 0; j < 200; j++) sep.data[i * 200 + j] *= 1 + 10 * 0.93 ** j;
    return sep;
  };
  /** @type {Array<{ key: string, name: string, x: () => any, kind: string, which: 'largest' | 'magnitude' }>} */
  const all = [
    { key: 'separated', name: 'separated', x: separated, kind: 'gram', which: 'largest' },
    { key: 'clustered', name: 'clustered edge', x: () => gaussian(n, 200, 12), kind: 'gram', which: 'largest' },
    {
      key: 'bulk',
      name: 'Wishart bulk',
      x: () => gaussian(n, Math.min(n >> 2, 1000), 13),
      kind: 'gram',
      which: 'largest',
    },
    { key: 'distance', name: 'distance', x: () => mixture(n, 64, 10, 14), kind: 'distance', which: 'magnitude' },
  ];
  return all.filter((c) => spectra.includes(c.key)).map((c) => ({ ...c, x: c.x() }));
}

const asOperator = (c) => (c.kind === 'gram' ? gramOperator(c.x) : distanceOperator(c.x));

/**
 * One Python build's rivals kept running (eigsh-rivals.py --serve): `ask(job)` sends one job
 * line and resolves with its answer; `close()` ends the process.
 */
function rivalServer(p, env) {
  const child = spawn(p.exe, [path.join(benchDir, 'eigsh-rivals.py'), '--serve'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += b;
  });
  const waiting = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
  child.on('exit', (code) => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`${p.exe} eigsh-rivals.py --serve exited (${code}): ${stderr}`));
  });
  return {
    ask: (job) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify(job)}\n`);
      }),
    close: () => child.stdin.end(),
  };
}

async function rivals(sizes, ks, repeat, withLobpcg, notes) {
  const rows = [];
  const spectra = flag('spectra', 'separated,clustered,bulk,distance').split(',');
  const lobpcgMaxiter = Number(flag('lobpcg-maxiter', '300'));
  const startMode = flag('start', 'fixed');
  const interleave = flag('interleave', 'pairs');
  // eigsh's method: 'auto' (the default: the small-Gram route where predicted cheaper), 'lanczos'.
  const method = /** @type {'auto' | 'lanczos'} */ (flag('method', 'auto'));
  if (method !== 'auto' && method !== 'lanczos')
    throw new RangeError(`--method must be 'auto' or 'lanczos', got '${method}'`);
  if (interleave !== 'pairs' && interleave !== 'rounds')
    throw new RangeError(`--interleave must be 'pairs' or 'rounds', got '${interleave}'`);
  let busyRounds = 0,
    settles = 0;
  if (startMode !== 'fixed' && startMode !== 'rounds')
    throw new RangeError(`--start must be 'fixed' or 'rounds', got '${startMode}'`);
  const py = pythons();
  const tol = 1e-10;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'specdyn-eigsh-'));
  try {
    for (const n of sizes) {
      const cases = rivalCases(n, spectra);
      const jobs = [];
      for (const [ci, c] of cases.entries()) {
        const file = path.join(dir, `x-${n}-${ci}.f64`);
        writeFileSync(file, new Uint8Array(c.x.data.buffer, c.x.data.byteOffset, c.x.data.byteLength));
        for (const k of ks) {
          // A first solve for the norm LOBPCG's absolute tolerance needs (and a warm-up).
          const first = eigshSync(asOperator(c), { k, which: c.which, tol, vectors: true });
          jobs.push({
            c,
            k,
            first,
            /** @type {any} */ res: undefined,
            /** @type {number | undefined} */ delta: undefined,
            times: [],
            /** @type {number[]} */ products: [],
            /** @type {number[]} */ gramProducts: [],
            py: py.map(() => ({ arpack: [], lobpcg: [] })),
            spec: {
              id: `${ci}-${k}`,
              file,
              rows: n,
              cols: c.x.cols,
              kind: c.kind,
              k,
              which: c.which === 'largest' ? 'LA' : 'LM',
              tol,
              norm: first.normEstimate,
            },
          });
        }
      }
      const env = { ...process.env, OPENBLAS_NUM_THREADS: String(getThreads()), OMP_NUM_THREADS: String(getThreads()) };
      const methodsOf = (r) => (withLobpcg && r === 0 ? ['arpack', 'lobpcg'] : ['arpack']);
      /** Files the answers of one Python build's job under its jobs. */
      const file = (pi, parsed) => {
        for (const res of parsed.results) jobs.find((x) => x.spec.id === res.id).py[pi][res.method].push(res);
      };
      /** One specdyn solve of job j, timed. */
      const solve = (j, seed) => {
        const t0 = process.hrtime.bigint();
        const res = eigshSync(asOperator(j.c), {
          k: j.k,
          which: j.c.which,
          tol,
          vectors: true,
          method,
          ...(seed === undefined ? {} : { seed }),
        });
        j.times.push(secs(t0));
        j.products.push(res.matvecs);
        j.gramProducts.push(res.gramMatvecs);
        j.res = res;
      };
      /**
       * The rivals of the solve before ran in other processes: let the machine-load reading that
       * decides whether small single-vector solves thread (src/machine-load.ts) see a second
       * without them, as a user's solve would.
       */
      const settle = async () => {
        othersKeepACore();
        await new Promise((res) => setTimeout(res, 1100));
        settles++;
        if (othersKeepACore()) busyRounds++;
      };
      if (interleave === 'pairs') {
        // Pairs: one case at a time, specdyn's solve and then each Python build's, seconds apart.
        const servers = py.map((p) => rivalServer(p, env));
        try {
          // A warm-up solve of every case in each build (specdyn's was `first`), not timed.
          for (const server of servers)
            for (const j of jobs) await server.ask({ cases: [j.spec], methods: ['arpack'], lobpcgMaxiter });
          for (let r = 0; r < repeat; r++) {
            const seed = startMode === 'rounds' ? r : undefined;
            for (const j of jobs) {
              await settle();
              const spec = seed === undefined ? j.spec : { ...j.spec, seed };
              const rivals = async () => {
                for (const [pi, server] of servers.entries())
                  file(pi, await server.ask({ cases: [spec], methods: methodsOf(r), lobpcgMaxiter }));
              };
              // Odd rounds: the rivals first, so that neither side always runs on the cores the
              // other has just woken (specdyn's thread choice still reads the settle's idle second).
              if (r % 2 === 1) await rivals();
              solve(j, seed);
              if (r % 2 === 0) await rivals();
            }
          }
        } finally {
          for (const server of servers) server.close();
        }
      } else {
        // Rounds: each round times every case once in specdyn, then in each Python build.
        for (let r = 0; r < repeat; r++) {
          const seed = startMode === 'rounds' ? r : undefined;
          await settle();
          for (const j of jobs) solve(j, seed);
          for (const [pi, p] of py.entries()) {
            const out = spawnSync(p.exe, [path.join(benchDir, 'eigsh-rivals.py')], {
              input: JSON.stringify({
                cases: jobs.map((j) => (seed === undefined ? j.spec : { ...j.spec, seed })),
                // LOBPCG needs 3-20x ARPACK's products here: timed in the first round only.
                methods: methodsOf(r),
                lobpcgMaxiter,
              }),
              encoding: 'utf8',
              env,
              maxBuffer: 64 << 20,
            });
            if (out.status !== 0) throw new Error(`${p.exe} eigsh-rivals.py failed: ${out.stderr}`);
            file(pi, JSON.parse(out.stdout.trim().split('\n').pop()));
          }
        }
      }
      for (const j of jobs) {
        const t = median(j.times);
        const row = {
          spectrum: j.c.name,
          N: String(n),
          k: String(j.k),
          // On the small-Gram route: products with the operator + with the p x p Gram matrix.
          'specdyn products':
            String(startMode === 'rounds' ? median(j.products) : j.res.matvecs) +
            (j.res.method === 'gram'
              ? ` + ${startMode === 'rounds' ? median(j.gramProducts) : j.res.gramMatvecs} on G`
              : ''),
          'ARPACK products': '—',
          'LOBPCG products': withLobpcg && j.c.which === 'largest' ? '—' : 'n/a',
          'specdyn s': t,
        };
        let bestArpack = Infinity;
        let bestArpackMin = Infinity;
        let bestLobpcg = Infinity;
        for (const [pi, p] of py.entries()) {
          const a = j.py[pi].arpack;
          const ta = median(a.map((x) => x.seconds));
          bestArpack = Math.min(bestArpack, ta);
          bestArpackMin = Math.min(bestArpackMin, ...a.map((x) => x.seconds));
          row[`ARPACK s (${p.label})`] = ta;
          if (pi === 0) {
            row['ARPACK products'] = String(startMode === 'rounds' ? median(a.map((x) => x.matvecs)) : a[0].matvecs);
            // Largest eigenvalue difference against ARPACK, relative to ‖A‖.
            let d = 0;
            for (let i = 0; i < j.k; i++)
              d = Math.max(d, Math.abs(j.res.values[i] - a[0].values[i]) / j.res.normEstimate);
            j.delta = d;
          }
          const l = j.py[pi].lobpcg;
          if (l.length) {
            if (l.every((x) => x.converged)) bestLobpcg = Math.min(bestLobpcg, median(l.map((x) => x.seconds)));
            if (pi === 0) row['LOBPCG products'] = `${l[0].matvecs}${l[0].converged ? '' : ' (not converged)'}`;
          }
        }
        row['LOBPCG s (best)'] = bestLobpcg;
        row['specdyn / best ARPACK'] = t / bestArpack;
        // The same ratio round by round (each round's specdyn time over that round's faster ARPACK
        // build), then the median: what a drift of the machine between rounds moves least.
        const perRound = j.times.map(
          (ts, r) => ts / Math.min(...py.map((_, pi) => j.py[pi].arpack[r]?.seconds ?? Infinity)),
        );
        row['median of rounds'] = median(perRound);
        if (interleave === 'pairs' && repeat > 1) {
          // The order within a pair, apart: specdyn first (even rounds) and last (odd rounds).
          row['specdyn first'] = median(perRound.filter((_, r) => r % 2 === 0));
          row['specdyn last'] = median(perRound.filter((_, r) => r % 2 === 1));
        }
        // Minima are the least disturbed by other load on a shared machine.
        row['same, fastest runs'] = Math.min(...j.times) / bestArpackMin;
        row['specdyn / LOBPCG'] = Number.isFinite(bestLobpcg) ? t / bestLobpcg : NaN;
        row['|Δλ|/‖A‖ vs ARPACK'] = j.delta ?? NaN;
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  notes.push(
    `Rivals: ${py.map((p) => `${p.label} ${p.where} (NumPy ${p.numpy}, SciPy ${p.scipy})`).join('; ') || 'no Python with NumPy and SciPy: rivals skipped'}; OPENBLAS_NUM_THREADS=${getThreads()} for all.`,
  );
  notes.push(
    `tol 1e-10 everywhere: eigsh stops when every ‖A x − θ x‖ ≤ tol·max|θ|, ARPACK when ≤ tol·|θ_i| (a little stricter), LOBPCG (largest=True; no magnitude mode) at the absolute tol·‖A‖, maxiter ${lobpcgMaxiter}, timed in the first round only. Interleaved by ${interleave === 'pairs' ? 'pairs (each specdyn solve and the same case in each Python build back to back, specdyn first in even rounds and last in odd ones, after a 1.1 s settle)' : 'rounds (every case in specdyn, then every case in each Python build)'}. Settles after which other processes kept a core busy (small single-vector solves then single-threaded): ${busyRounds} of ${settles}. Start vectors: ${startMode === 'rounds' ? 'seed r in round r for every solver (products: medians over the rounds)' : "specdyn's default, ARPACK's v0 of seed 0, in every round"}. eigsh method '${method}' (on the small-Gram route the products read "A + G": Lanczos' and the check's products with the operator, then those with the p x p Gram matrix). Times: median of ${repeat} interleaved ${interleave === 'pairs' ? 'pairs' : 'rounds'} ("same, fastest runs": the ratio of the fastest run of each), solve only (eigshSync; ARPACK/LOBPCG on a LinearOperator computing X(Xᵀv), counted). "best ARPACK": the faster Python build; LOBPCG: the faster build among converged runs (NaN: none converged or not run). load average at the start: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}.`,
  );
  return rows;
}

async function scale(rows, notes) {
  // 1. Top 20 eigenpairs (by |λ|: Perron value and band) of an N x N Euclidean distance matrix
  // (no Gram form: dense).
  const x = mixture(N, 64, 10, 1);
  const d = await distanceMatrix(x);
  let t0 = process.hrtime.bigint();
  const full = await eigh(d);
  const tFull = secs(t0);
  const [part, tPart] = await medianOf3(() => eigsh(d, { k: 20, which: 'magnitude' }));
  const [part32, tPart32] = await medianOf3(() => eigsh(d, { k: 20, which: 'magnitude', precision: 'float32' }));
  // eigsh orders by |λ|, largest first; the dense spectrum is ascending.
  const order = Array.from(full.values.keys()).sort((i, j) => Math.abs(full.values[j]) - Math.abs(full.values[i]));
  let relVal = 0,
    relVal32 = 0,
    resEigh = 0,
    resEigsh = 0;
  const norm = Math.max(Math.abs(full.values[0]), Math.abs(full.values[N - 1]));
  for (let j = 0; j < 20; j++) {
    const ref = full.values[order[j]];
    relVal = Math.max(relVal, Math.abs(part.values[j] - ref) / Math.abs(ref));
    relVal32 = Math.max(relVal32, Math.abs(part32.values[j] - ref) / Math.abs(ref));
    resEigh = Math.max(resEigh, residual(d, full.vectors.data.subarray(order[j] * N, (order[j] + 1) * N), ref) / norm);
    resEigsh = Math.max(resEigsh, residual(d, part.vectors.data.subarray(j * N, (j + 1) * N), part.values[j]) / norm);
  }
  rows.push({
    case: `top-20 |λ| eigenpairs, N=${N} distance matrix`,
    method: 'eigh (dsyevd, all pairs)',
    seconds: tFull,
    speedup: 1,
    accuracy: `reference; residual ${e(resEigh)}·‖A‖`,
  });
  rows.push({
    case: `top-20 |λ| eigenpairs, N=${N} distance matrix`,
    method: `eigsh float64 (b=${part.blockSize}, m=${part.basisSize}, ${part.restarts} restarts, ${part.matvecs} products)`,
    seconds: tPart,
    speedup: tFull / tPart,
    accuracy: `eig rel err ${e(relVal)}; residual ${e(resEigsh)}·‖A‖`,
  });
  rows.push({
    case: `top-20 |λ| eigenpairs, N=${N} distance matrix`,
    method: `eigsh float32 products (${part32.matvecs} products)`,
    seconds: tPart32,
    speedup: tFull / tPart32,
    accuracy: `eig rel err ${e(relVal32)}; residual ${e(Math.max(...part32.residuals) / norm)}·‖A‖`,
  });

  // 2. Spectral density of a GOE matrix (semicircle) vs its full eigenvalues.
  const g = goe(N, 2);
  t0 = process.hrtime.bigint();
  const vals = await eigvalsh(g);
  const tVals = secs(t0);
  for (const [probes, steps] of [
    [16, 40],
    [32, 24],
    [16, 24],
  ]) {
    const [dens, tDens] = await medianOf3(() => spectralDensity(g, { bins: 50, probes, steps, seed: 3 }));
    rows.push({
      case: `density, N=${N} GOE, 50 bins`,
      method: `SLQ probes=${probes} steps=${steps}`,
      seconds: tDens,
      speedup: tVals / tDens,
      accuracy: `L1 ${histogramL1(vals, dens).toFixed(4)} (reported bound ${dens.l1Error.toFixed(4)})`,
    });
  }
  const [dens32, tDens32] = await medianOf3(() =>
    spectralDensity(g, { bins: 50, probes: 16, steps: 40, seed: 3, precision: 'float32' }),
  );
  rows.push({
    case: `density, N=${N} GOE, 50 bins`,
    method: 'SLQ probes=16 steps=40, float32 products',
    seconds: tDens32,
    speedup: tVals / tDens32,
    accuracy: `L1 ${histogramL1(vals, dens32).toFixed(4)} (reported bound ${dens32.l1Error.toFixed(4)})`,
  });
  rows.push({
    case: `density, N=${N} GOE, 50 bins`,
    method: 'eigvalsh (dsyevd, values only)',
    seconds: tVals,
    speedup: 1,
    accuracy: 'reference',
  });

  // 3. OMD snapshot at N = 20 000 in a child process (its own peak RSS).
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'omd-snapshot', String(N_OMD)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (child.status !== 0) throw new Error(`OMD snapshot failed: ${child.stderr}`);
  const snap = JSON.parse(child.stdout.trim().split('\n').pop());
  rows.push({
    case: `OMD snapshot, N=${snap.n} probes x 256 dims`,
    method: 'distanceMatrix + eigsh top 20 + SLQ density',
    seconds: snap.distanceSeconds + snap.eigshSeconds + snap.densitySeconds,
    speedup: NaN,
    accuracy: `peak RSS ${snap.peakRssGiB.toFixed(2)} GiB = ${snap.peakOverDistance.toFixed(2)} x distance matrix`,
  });
  notes.push(
    `OMD snapshot N=${snap.n}: distance ${snap.distanceSeconds.toFixed(1)} s, eigsh top-20 ${snap.eigshSeconds.toFixed(1)} s (${snap.restarts} restarts, ${snap.matvecs} products, max residual ${snap.maxResidualOverNorm.toExponential(1)}·‖D‖), SLQ density ${snap.densitySeconds.toFixed(1)} s; peak RSS ${snap.peakRssGiB.toFixed(2)} GiB = ${snap.peakOverDistance.toFixed(2)} x the ${snap.distanceMatrixGiB.toFixed(2)} GiB distance matrix.`,
  );
  notes.push(
    'speedup = dense seconds (one run) / iterative seconds (median of 3) in this run; residuals are ‖A x − λ x‖ / ‖A‖ computed independently in JavaScript (eigsh float32: as reported by the solver).',
  );
}

export async function run() {
  const notes = [];
  const sections = flag('sections', 'rivals,scale').split(',');
  const sizes = benchSizes([3000, 8000]);
  const ks = flag('k', '1,10,50').split(',').map(Number);
  const repeat = benchRepeat(3);
  let rows = [];
  if (sections.includes('rivals')) rows = await rivals(sizes, ks, repeat, flag('lobpcg', 'yes') !== 'no', notes);
  if (sections.includes('scale')) {
    const scaleRows = [];
    await scale(scaleRows, notes);
    // One table per suite: the scale rows go in the notes when the rivals table is printed.
    if (rows.length)
      for (const r of scaleRows)
        notes.push(
          `${r.case} | ${r.method} | ${r.seconds.toFixed(2)} s | speed-up ${r.speedup.toFixed(1)} | ${r.accuracy}`,
        );
    else rows = scaleRows;
  }
  return { title: `eigsh against ARPACK and LOBPCG (N = ${sizes.join(', ')}; k = ${ks.join(', ')})`, rows, notes };
}

if (process.argv[2] === 'omd-snapshot') {
  const res = await omdSnapshot(Number(process.argv[3] ?? N_OMD));
  console.log(JSON.stringify(res));
}
