// The monitor hands its probe labels and the probe representations to the OMD analysis: each
// snapshot carries the label figures and the shuffle-null significance, equal to a direct call,
// and the run store records the new columns.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeObservable, omdSnapshotToRow } from '../src/omd/index.js';
import { openRun } from '../src/store/index.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import { SpectralMonitor } from '../src/train/monitor.js';

const { tf }: { tf: Tf } = await loadTf();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-omd-labels-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const N = 60,
  D = 8;

describe('SpectralMonitor with probeLabels', () => {
  it('snapshots get label-aware figures and the null, as a direct analysis with the same labels; the run stores the columns', async () => {
    const model = tf.sequential();
    model.add(
      tf.layers.dense({
        inputShape: [D],
        units: 20,
        activation: 'tanh',
        name: 'h1',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    );
    model.add(
      tf.layers.dense({ units: 3, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    );
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    // Three separated input clusters; the labels are the clusters.
    const xs = new Float32Array(N * D);
    const labels = Array.from({ length: N }, (_, i) => i % 3);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < D; j++) xs[i * D + j] = (j % 3 === labels[i] ? 2 : 0) + 0.2 * Math.sin(7.3 * i + 1.1 * j);
    const probes = tf.tensor2d(xs, [N, D]);
    const dir = path.join(tmp, 'run');
    const monitor = new SpectralMonitor(model, {
      probes,
      probeLabels: labels,
      layers: ['h1'],
      kernels: [],
      run: dir,
      tf,
    });
    await monitor.capture(0);
    await monitor.close();
    const fig = monitor.snapshots[0]!.omd.h1!.figures;
    expect(fig.labels!.classes).toBe(3);
    expect(fig.labels!.vectors).toBe(2);
    expect(Number.isFinite(fig.band.nullTop)).toBe(true);
    const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer('h1').output as never });
    // One batch of all N probes, as the monitor evaluates them (predict's default of 32 would cut
    // the product in two, whose float32 rounding can differ by an ulp on some BLAS kernels).
    const t = sub.predict(probes, { batchSize: N }) as import('@tensorflow/tfjs').Tensor;
    const reps = { data: Float32Array.from(t.dataSync()), rows: N, cols: 20 };
    t.dispose();
    const direct = await analyzeObservable(reps, { labels, precision: 'float32' }); // the monitor's default
    // Same figures (⟨d⟩ summed in another order on the monitor's distance-matrix path: 1e-10).
    const a = omdSnapshotToRow(fig),
      b = omdSnapshotToRow(direct);
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const k of Object.keys(a)) {
      const x = a[k],
        y = b[k];
      if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(y))
        expect(Math.abs(x - y), k).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(y)));
      else expect(x).toEqual(y);
    }
    expect(direct.band.fingerprint).toBe('clusters');
    expect(direct.band.size).toBe(2);
    const run = await openRun(dir);
    const row = run.rows({ family: 'omd', observable: 'h1', step: 0 })[0]!;
    expect(row.label_classes).toBe(3);
    expect(row.label_explained).toBeCloseTo(fig.labels!.explained, 12);
    expect(row.band_decision).toBe(fig.band.decision);
    expect(row.ambient_valid).toBe(fig.ambient.valid);
    probes.dispose();
  });
});
