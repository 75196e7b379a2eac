/**
 * `specdyn bench report`: time building the report of a long run. A run of `snapshots`
 * snapshots (two 128 x 256 weight layers with a growing rank-3 signal, two OMD layers of N = 200
 * probes in three clusters that separate over time) is written to a temporary directory first;
 * only openRun + the report build are timed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../random.js';
import { weightSpectrum } from '../rmt/index.js';
import { OmdTrajectory } from '../omd/index.js';
import { createRun, omdRecord, openRun, weightRecord, type ObservableRecord } from '../store/index.js';
import { writeReport } from '../report/index.js';
import { fromRun } from '../report/from-store.js';
import type { Output } from './output.js';

/** The figures of one report benchmark. */
export interface ReportBench {
  snapshots: number;
  weightLayers: number;
  omdLayers: number;
  probes: number;
  figures: number;
  /** openRun + fromRun + writeReport, seconds. */
  seconds: number;
  /** Seconds spent writing the synthetic run (not part of the figure). */
  setupSeconds: number;
  htmlBytes: number;
}

/** Writes the synthetic run, then times openRun + the report build. */
export async function benchReport(snapshots: number, out: Output): Promise<ReportBench> {
  const dir = mkdtempSync(join(tmpdir(), 'specdyn-bench-report-'));
  try {
    const t0 = performance.now();
    const rng = new Rng(11);
    const rows = 128,
      cols = 256,
      n = 200,
      dim = 32;
    const layers = [0, 1].map(() => ({
      noise: rng.fillNormal(new Float64Array(rows * cols)).map((x) => x / Math.sqrt(cols)),
      u: [0, 1, 2].map(() => rng.unitVector(rows)),
      v: [0, 1, 2].map(() => rng.unitVector(cols)),
    }));
    const centres = [0, 1, 2].map(() => rng.unitVector(dim));
    const base = rng.fillNormal(new Float64Array(n * dim));
    const trajs = [new OmdTrajectory({ metric: 'euclidean' }), new OmdTrajectory({ metric: 'euclidean' })];
    const writer = await createRun(dir, { config: { bench: 'report', snapshots } });
    const bar = out.progress('writing the synthetic run', snapshots);
    for (let t = 0; t < snapshots; t++) {
      const f = t / (snapshots - 1);
      const observables: ObservableRecord[] = [];
      for (const [li, l] of layers.entries()) {
        const w = Float64Array.from(l.noise);
        for (let k = 0; k < 3; k++)
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < cols; j++) w[i * cols + j]! += ((3 * f * (k + 1)) / 3) * l.u[k]![i]! * l.v[k]![j]!;
        const ws = await weightSpectrum({ data: w, rows, cols });
        observables.push(weightRecord(`dense_${li + 1}/kernel`, ws));
      }
      for (const [li, traj] of trajs.entries()) {
        const reps = new Float64Array(n * dim);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < dim; j++) reps[i * dim + j] = base[i * dim + j]! + 4 * f * (li + 1) * centres[i % 3]![j]!;
        await traj.push(t * 10, { data: reps, rows: n, cols: dim });
        observables.push(omdRecord(`hidden_${li + 1}`, traj.points[t]!));
      }
      writer.append({
        step: t * 10,
        logs: { loss: 2.3 * Math.exp(-3 * f), accuracy: 1 - 0.9 * Math.exp(-3 * f) },
        observables,
      });
      if (t % 20 === 19 || t === snapshots - 1) await writer.flush();
      bar.update(t + 1);
    }
    bar.done();
    await writer.close();
    const setupSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const result = await writeReport([fromRun(await openRun(dir))]);
    const seconds = (performance.now() - t1) / 1000;
    return {
      snapshots,
      weightLayers: 2,
      omdLayers: 2,
      probes: n,
      figures: result.figures.length,
      seconds,
      setupSeconds,
      htmlBytes: statSync(result.html).size,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
