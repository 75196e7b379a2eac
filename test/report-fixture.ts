// A small run made in code for the report tests: a weight layer whose rank-2 signal grows past
// the BBP threshold, and an OMD trajectory of the ring-collapse template, analysed by the engine.
import { Rng } from '../src/random.js';
import { weightSpectrum } from '../src/rmt/index.js';
import { OmdTrajectory, ringCollapseTrajectory } from '../src/omd/index.js';
import type { ReportRun, WeightLayer, OmdLayer } from '../src/report/index.js';

export async function syntheticRun(dir: string, { steps = 8, status = 'finished' } = {}): Promise<ReportRun> {
  const rows = 60, cols = 120;
  const rng = new Rng(7);
  const noise = rng.fillNormal(new Float64Array(rows * cols)).map((x) => x / Math.sqrt(cols));
  const u = [rng.unitVector(rows), rng.unitVector(rows)], v = [rng.unitVector(cols), rng.unitVector(cols)];
  const layer: WeightLayer = { layer: 'dense_1', shape: [rows, cols], rows: [], spectra: [] };
  const training: ReportRun['training'] = [];
  for (let t = 0; t < steps; t++) {
    const w = Float64Array.from(noise);
    const s = [3 * t / (steps - 1), 2 * t / (steps - 1)];
    for (let k = 0; k < 2; k++) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[i * cols + j]! += s[k]! * u[k]![i]! * v[k]![j]!;
    const r = await weightSpectrum({ data: w, rows, cols });
    const step = t * 10;
    const { spikes, snr, evals, variance_mp_ci, route, ...scalars } = r;
    layer.rows.push({ step, ...(scalars as unknown as Record<string, number>) } as WeightLayer['rows'][number]);
    layer.spectra.push({ step, evals });
    training.push({ step, loss: 2.3 * Math.exp(-t / 3), accuracy: 1 - 0.9 * Math.exp(-t / 3) });
  }
  const traj = new OmdTrajectory({ metric: 'angular' });
  const tt = ringCollapseTrajectory({ n: 60, steps: 120, recordEvery: 12, seed: 3 });
  const omd: OmdLayer = { layer: 'hidden_1', rows: [], spectra: [], clouds: [], labels: Array.from({ length: 60 }, (_, i) => i % 3) };
  for (const s of tt.snapshots) await traj.push(s.step, s.reps);
  for (const p of traj.points) {
    omd.rows.push({ step: p.step, perronRatio: p.figures.perronRatio, bandSize: p.figures.band.size, overlap: p.overlap, participationRatio: p.figures.participationRatio, entropyDimension: p.figures.entropyDimension });
    omd.spectra.push({ step: p.step, normalized: p.figures.normalized });
    omd.clouds.push({ step: p.step, coords: p.cloud.data, dims: p.cloud.cols });
  }
  omd.regimes = traj.regimes();
  return { dir, name: 'synthetic', status, backend: 'cpu', durationSeconds: 12.5, training, weights: [layer], omd: [omd] };
}
