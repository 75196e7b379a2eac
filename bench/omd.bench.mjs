// OMD benchmarks (issue 4). (1) One N = 1000, D = 512 snapshot — angular distance matrix, full
// spectrum, the eigenvectors the figures need, every figure — against scikit-learn
// pairwise_distances + SciPy eigh measured in this same run (target ≤ 1.2 x). (2) A 100-snapshot
// N = 500 trajectory: sequential vs pipelined pushes, with CPU time / wall time showing both cores.
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

export async function run() {
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
  return { title: 'OMD: snapshot vs scikit-learn + SciPy; 100-snapshot trajectory', rows, notes };
}
