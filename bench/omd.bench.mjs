// OMD benchmarks (issue 4). (1) One N = 1000, D = 512 snapshot — angular distance matrix, full
// spectrum, the eigenvectors the figures need, every figure — against scikit-learn
// pairwise_distances + SciPy eigh measured in this same run (target ≤ 1.2 x). (2) A 100-snapshot
// N = 500 trajectory: sequential vs pipelined pushes, with CPU time / wall time showing both cores.
// (3) The cost of the per-snapshot shuffle-null significance at N = 500 and 2000
// (SPECDYN_BENCH_OMD=significance node bench/run.mjs omd runs only this part).
import * as sd from '../dist/index.js';
import { gaussian, pythonAvailable, runPython, timeit } from './lib.mjs';

function cpuWall(fn) {
  return async () => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / 1e6 };
  };
}

/**
 * (3) The per-snapshot significance: analyzeObservable with the shuffle null (2 replicas: two
 * distance matrices and two values-only eigsh solves) against the same call with the gap rule
 * only, interleaved in one process, at N = 500 and N = 2000 (D = 128, a noisy 10-cluster cloud).
 */
/** Every column of reps permuted independently (Rng(seed, stream)), as the null's replicas are. */
function shuffle(reps, seed, stream) {
  const { rows: n, cols: d } = reps;
  const rng = new sd.Rng(seed, stream);
  const data = new Float64Array(n * d);
  const perm = new Int32Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) perm[i] = i;
    rng.shuffle(perm);
    for (let i = 0; i < n; i++) data[i * d + j] = reps.data[perm[i] * d + j];
  }
  return { data, rows: n, cols: d };
}

async function significance(rows, notes) {
  for (const n of [500, 2000]) {
    const { reps } = sd.clusterTemplate({ n, dim: 128, spread: 1.5, seed: 11 });
    const gap = [];
    const nul = [];
    const repeat = n > 1000 ? 3 : 7;
    for (let r = 0; r < repeat + 1; r++) {
      const t0 = performance.now();
      await sd.analyzeObservable(reps, { significance: 'gap' });
      const t1 = performance.now();
      await sd.analyzeObservable(reps, { significance: 'null' });
      const t2 = performance.now();
      if (r === 0) continue; // warm-up
      gap.push((t1 - t0) / 1000);
      nul.push((t2 - t1) / 1000);
    }
    // The null alone, as the analysis runs it: per replica a column shuffle, its distance matrix
    // and a values-only eigsh (k = 2, tol 1e-4), measured on the same shuffles in this process.
    const alone = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      for (let k = 0; k < 2; k++) {
        const x = shuffle(reps, 1, k);
        const m = await sd.distanceMatrix(x, { metric: 'angular' });
        await sd.eigsh(m, { k: 2, which: 'magnitude', tol: 1e-4, vectors: false });
      }
      alone.push((performance.now() - t0) / 1000);
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    rows.push({
      case: `significance N=${n} D=128: the null alone (2 x shuffle + distance matrix + values-only eigsh)`,
      'specdyn s': med(alone),
      'rival s': med(gap),
      ratio: med(alone) / med(gap),
      target: 'info',
      'cpu/wall': '',
    });
    rows.push({
      case: `significance N=${n} D=128: snapshot with the shuffle null (2 replicas) vs gap rule only`,
      'specdyn s': med(nul),
      'rival s': med(gap),
      ratio: med(nul) / med(gap),
      target: 'info',
      'cpu/wall': '',
    });
    notes.push(
      `Significance N=${n}: null cost ${(med(nul) - med(gap)).toFixed(3)} s per snapshot (median of ${repeat}, interleaved with the gap-only call).`,
    );
  }
}

export async function run() {
  if (process.env.SPECDYN_BENCH_OMD === 'significance') {
    const rows = [];
    const notes = [];
    await significance(rows, notes);
    return { title: 'OMD: per-snapshot significance (shuffle null)', rows, notes };
  }
  const py = pythonAvailable();
  const hasPy = Boolean(py.numpy && py.scipy && py.sklearn);
  const rows = [];
  const notes = [];
  const threads0 = sd.getThreads();

  // (1) Snapshot.
  const N = 1000,
    D = 512;
  const x = gaussian(N, D, 7);
  const ours = (await timeit(() => sd.analyzeObservable(x, { metric: 'angular' }), { repeat: 7, warmup: 2 })).median;
  const oursFull = (
    await timeit(
      async () => {
        const m = await sd.observableMatrix(x, { metric: 'angular' });
        await sd.eigh(m);
      },
      { repeat: 5, warmup: 1 },
    )
  ).median;
  const rival = hasPy
    ? runPython(`import numpy as np, scipy.linalg as sl
from sklearn.metrics import pairwise_distances
X=np.random.default_rng(7).standard_normal((${N},${D}))
def snap():
    M=np.arccos(np.clip(1.0-pairwise_distances(X, metric='cosine'), -1.0, 1.0))
    np.fill_diagonal(M, 0.0)
    w, v = sl.eigh(M)
    return w
def dist_only():
    return pairwise_distances(X, metric='cosine')
print(json.dumps({'snap': timeit(snap, repeat=5), 'dist': timeit(dist_only, repeat=5)}))`)
    : null;
  if (!hasPy) notes.push('scikit-learn/SciPy not importable from /usr/bin/python3: rival skipped.');
  rows.push({
    case: `snapshot N=${N} D=${D}: analyzeObservable (angular; full spectrum + needed vectors + figures)`,
    'specdyn s': ours,
    'rival s': rival?.snap ?? NaN,
    ratio: rival ? ours / rival.snap : NaN,
    target: '≤ 1.20',
    'cpu/wall': '',
  });
  rows.push({
    case: `snapshot N=${N} D=${D}: observableMatrix + eigh (all ${N} eigenvectors)`,
    'specdyn s': oursFull,
    'rival s': rival?.snap ?? NaN,
    ratio: rival ? oursFull / rival.snap : NaN,
    target: 'info',
    'cpu/wall': '',
  });
  notes.push(
    'Rival: sklearn pairwise_distances(metric="cosine") → arccos(1 − d), then scipy.linalg.eigh (all eigenpairs), same machine and OpenBLAS thread count.',
  );
  if (rival) notes.push(`Rival distance step alone: ${rival.dist.toFixed(4)} s.`);

  // (2) Trajectory: 100 snapshots of N = 500 probes (D = 256, diffusive drift).
  const traj = sd.diffusiveTrajectory({ n: 500, dim: 256, snapshots: 100, jitter: 0.05, seed: 3 });
  const runSeq = async () => {
    const t = new sd.OmdTrajectory({ metric: 'angular', concurrency: 1 });
    for (const s of traj.snapshots) await t.push(s.step, s.reps);
  };
  const runPipe = async () => {
    const t = new sd.OmdTrajectory({ metric: 'angular', concurrency: 2 });
    await Promise.all(traj.snapshots.map((s) => t.push(s.step, s.reps)));
  };
  const measure = async (label, threads, fn) => {
    sd.setThreads(threads);
    await fn(); // warm-up
    const r = await cpuWall(fn)();
    sd.setThreads(threads0);
    return { label, ...r };
  };
  const one = await measure('sequential, 1 BLAS thread', 1, runSeq);
  const seq = await measure(`sequential, ${threads0} BLAS threads`, threads0, runSeq);
  const pipe = await measure(`pipelined (2 in flight), ${threads0} BLAS threads`, threads0, runPipe);
  const pipe1 = await measure('pipelined (2 in flight), 1 BLAS thread', 1, runPipe);
  for (const r of [one, seq, pipe, pipe1]) {
    rows.push({
      case: `trajectory 100 x N=500: ${r.label}`,
      'specdyn s': r.wall,
      'rival s': one.wall,
      ratio: r.wall / one.wall,
      target: r === one ? 'baseline' : 'cpu/wall ≈ cores',
      'cpu/wall': r.cpu / r.wall,
    });
  }
  notes.push(
    `Trajectory rows: ratio = wall time relative to the single-thread sequential run; cpu/wall = process CPU seconds per wall second (2 = both cores busy on this ${sd.nativeInfo().hardwareThreads}-thread machine).`,
  );
  await significance(rows, notes);
  return { title: 'OMD: snapshot vs scikit-learn + SciPy; 100-snapshot trajectory; significance', rows, notes };
}
