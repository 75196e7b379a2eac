// A small run made in code for the report and CLI tests, written through the run store: a weight
// layer whose rank-2 signal grows past the BBP threshold, and an OMD trajectory of the
// ring-collapse template with probe labels, each analysed by the engine.
import { Rng } from '../src/random.js';
import { weightSpectrum } from '../src/rmt/index.js';
import { OmdTrajectory, ringCollapseTrajectory } from '../src/omd/index.js';
import { createRun, omdRecord, weightRecord, type RunWriter } from '../src/store/index.js';

export const FIXTURE = { rows: 60, cols: 120, probes: 60, weightLayer: 'dense_1/kernel', omdLayer: 'hidden_1' };

/** Writes the fixture run into `dir` (steps 0, 10, ...; `steps` snapshots); with `close: false` the writer stays open and is returned. */
export async function writeSyntheticRun(
  dir: string,
  { steps = 8, close = true }: { steps?: number; close?: boolean } = {},
): Promise<RunWriter | undefined> {
  const { rows, cols, probes } = FIXTURE;
  const rng = new Rng(7);
  const noise = rng.fillNormal(new Float64Array(rows * cols)).map((x) => x / Math.sqrt(cols));
  const u = [rng.unitVector(rows), rng.unitVector(rows)],
    v = [rng.unitVector(cols), rng.unitVector(cols)];
  const traj = new OmdTrajectory({ metric: 'angular' });
  const tt = ringCollapseTrajectory({ n: probes, steps: 12 * (steps - 1), recordEvery: 12, seed: 3 });
  const writer = await createRun(dir, { config: { fixture: 'synthetic', steps }, seed: 7, tfBackend: 'cpu' });
  for (let t = 0; t < steps; t++) {
    const w = Float64Array.from(noise);
    const s = [(3 * t) / (steps - 1), (2 * t) / (steps - 1)];
    for (let k = 0; k < 2; k++)
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[i * cols + j]! += s[k]! * u[k]![i]! * v[k]![j]!;
    const ws = await weightSpectrum({ data: w, rows, cols });
    const step = t * 10;
    await traj.push(step, tt.snapshots[t]!.reps);
    const omd = omdRecord(FIXTURE.omdLayer, traj.points[t]!);
    if (t === 0) omd.arrays!.labels = Float64Array.from({ length: probes }, (_, i) => i % 3);
    writer.append({
      step,
      logs: { loss: 2.3 * Math.exp(-t / 3), accuracy: 1 - 0.9 * Math.exp(-t / 3) },
      observables: [weightRecord(FIXTURE.weightLayer, ws), omd],
    });
    await writer.flush();
  }
  if (!close) return writer;
  await writer.close();
  return undefined;
}
