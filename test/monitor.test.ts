// SpectralMonitor on a tiny MLP: schedule, shapes and names, figures against direct calls, fit
// callback = manual capture, the queue bound, dead ReLU rows, construction errors, and a
// SIGKILLed child whose run reads back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecdynError } from '../src/errors.js';
import { distanceMatrix, eigh } from '../src/linalg/index.js';
import { analyzeObservable } from '../src/omd/index.js';
import { weightSpectrum } from '../src/rmt/weight-spectrum.js';
import { packageRoot } from '../src/native.js';
import { openRun } from '../src/store/index.js';
import { loadTf, type Tf } from '../src/tfjs/index.js';
import { SpectralMonitor } from '../src/train/monitor.js';
import { transpileSources } from './helpers.js';

type LayersModel = import('@tensorflow/tfjs').LayersModel;

const { tf, backend }: { tf: Tf; backend: string } = await loadTf();

const N = 24,
  D = 6,
  C = 3;

/** A 6-16-12-3 MLP with seeded initialisers (identical weights for identical seeds). */
function mlp(seed = 1): LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [D],
      units: 16,
      activation: 'relu',
      name: 'h1',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 12,
      activation: 'tanh',
      name: 'h2',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  model.add(
    tf.layers.dense({ units: C, name: 'out', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }),
  );
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError', metrics: ['mse'] });
  return model;
}

/** Deterministic data: 64 samples, probes the first 24. */
function data(): {
  x: import('@tensorflow/tfjs').Tensor2D;
  y: import('@tensorflow/tfjs').Tensor2D;
  probes: import('@tensorflow/tfjs').Tensor2D;
} {
  const xs = new Float32Array(64 * D),
    ys = new Float32Array(64 * C);
  for (let i = 0; i < xs.length; i++) xs[i] = Math.sin(1.7 * i + 0.3);
  for (let i = 0; i < ys.length; i++) ys[i] = Math.cos(0.9 * i);
  const x = tf.tensor2d(xs, [64, D]),
    y = tf.tensor2d(ys, [64, C]);
  return { x, y, probes: x.slice([0, 0], [N, D]) };
}

/** Direct reps of `layer` for the probes (a separate sub-model). */
function repsOf(
  model: LayersModel,
  layer: string,
  probes: import('@tensorflow/tfjs').Tensor,
): { data: Float32Array; rows: number; cols: number } {
  const sub = tf.model({
    inputs: model.inputs,
    outputs: model.getLayer(layer).output as import('@tensorflow/tfjs').SymbolicTensor,
  });
  const t = sub.predict(probes) as import('@tensorflow/tfjs').Tensor;
  const out = { data: Float32Array.from(t.dataSync()), rows: t.shape[0]!, cols: t.size / t.shape[0]! };
  t.dispose();
  return out;
}

describe('SpectralMonitor', () => {
  it(`captures the scheduled steps with the right shapes and layer names, figures equal direct calls (tfjs backend recorded)`, async () => {
    expect(['specdyn-native', 'wasm', 'cpu', 'tfjs-node']).toContain(backend);
    const model = mlp();
    const { x, y, probes } = data();
    const monitor = new SpectralMonitor(model, { probes, schedule: { every: 4 }, tf });
    expect(monitor.layers).toEqual(['h1', 'h2']);
    expect(monitor.kernelLayers).toEqual(['h1', 'h2', 'out']);
    await model.fit(x, y, { batchSize: 16, epochs: 3, shuffle: false, verbose: 0, callbacks: monitor.callback() });
    await monitor.close();
    expect(monitor.snapshots.map((s) => s.step)).toEqual([0, 4, 8, 12]);
    for (const s of monitor.snapshots) {
      expect(Object.keys(s.omd)).toEqual(['h1', 'h2']);
      expect(s.omd.h1!.figures.n).toBe(N);
      expect(s.omd.h1!.cloud.rows).toBe(N);
      expect(s.weights.map((w) => [w.name, w.N, w.M])).toEqual([
        ['h1', 16, 6],
        ['h2', 12, 16],
        ['out', 3, 12],
      ]);
      if (s.step > 0) expect(Object.keys(s.logs).sort()).toEqual(['loss', 'mse']);
    }
    // The last snapshot (step 12) is the trained model: its figures equal direct calls (in the
    // monitor's default precision, float32; a float64 monitor is compared with float64 below).
    const last = monitor.snapshots[3]!;
    for (const layer of ['h1', 'h2']) {
      const direct = await analyzeObservable(repsOf(model, layer, probes), { metric: 'angular', precision: 'float32' });
      expect(Array.from(last.omd[layer]!.figures.values)).toEqual(Array.from(direct.values));
      expect(last.omd[layer]!.figures.band.candidateSize).toBe(direct.band.candidateSize);
      // the kept bottom eigenvectors (default 3) are the snapshot's own
      const kept = last.omd[layer]!.bottomVectors!;
      expect([kept.rows, kept.cols]).toEqual([3, N]);
      expect(Array.from(kept.data)).toEqual(Array.from(direct.bottomVectors.data.subarray(0, 3 * N)));
    }
    for (const name of ['h1', 'h2', 'out']) {
      const k = model.getLayer(name).getWeights()[0]!;
      const direct = await weightSpectrum(
        { data: Float32Array.from(k.dataSync()), rows: k.shape[0]!, cols: k.shape[1]! },
        { kernel: true, bootstrap: 0, solver: 'gram' }, // the monitor's weight defaults
      );
      const row = last.weights.find((w) => w.name === name)!;
      expect(Array.from(row.evals)).toEqual(Array.from(direct.evals));
      expect(row.alpha).toBe(direct.alpha);
      expect(row.stable_rank).toBe(direct.stable_rank);
    }
    expect(monitor.warnings).toEqual([]);
    // omd precision float64: the library's default, bit for bit (and not the float32 reading)
    const m64 = new SpectralMonitor(model, { probes, kernels: [], omd: { precision: 'float64' }, tf });
    await m64.capture(0);
    await m64.close();
    for (const layer of ['h1', 'h2']) {
      const direct = await analyzeObservable(repsOf(model, layer, probes), { metric: 'angular' });
      const got = m64.snapshots[0]!.omd[layer]!.figures.values;
      expect(Array.from(got)).toEqual(Array.from(direct.values));
      expect(Array.from(got)).not.toEqual(Array.from(last.omd[layer]!.figures.values));
    }
  });

  it('fit callback and manual capture give identical runs from one seed', async () => {
    const { x, y, probes } = data();
    const a = mlp(5),
      b = mlp(5);
    const ma = new SpectralMonitor(a, { probes, schedule: { steps: [1, 3, 6] }, tf });
    await a.fit(x, y, { batchSize: 16, epochs: 2, shuffle: false, verbose: 0, callbacks: ma.callback() });
    await ma.close();
    const mb = new SpectralMonitor(b, { probes, schedule: { steps: [1, 3, 6] }, tf });
    await mb.capture(0);
    let step = 0;
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let i = 0; i < 64; i += 16) {
        const xb = x.slice([i, 0], [16, D]),
          yb = y.slice([i, 0], [16, C]);
        const [loss, mse] = (await b.trainOnBatch(xb, yb)) as number[];
        await mb.capture(++step, { loss: loss!, mse: mse! });
      }
    }
    await mb.close();
    expect(ma.snapshots.map((s) => s.step)).toEqual([0, 1, 3, 6]);
    expect(mb.snapshots.map((s) => s.step)).toEqual([0, 1, 3, 6]);
    for (let i = 0; i < 4; i++) {
      const sa = ma.snapshots[i]!,
        sb = mb.snapshots[i]!;
      expect(Object.keys(sa.logs).sort()).toEqual(Object.keys(sb.logs).sort());
      for (const key of Object.keys(sa.logs)) expect(sa.logs[key]).toBeCloseTo(sb.logs[key]!, 6);
      for (const layer of ['h1', 'h2'])
        expect(Array.from(sa.omd[layer]!.figures.values)).toEqual(Array.from(sb.omd[layer]!.figures.values));
      for (let w = 0; w < 3; w++) expect(Array.from(sa.weights[w]!.evals)).toEqual(Array.from(sb.weights[w]!.evals));
    }
  });

  it('the queue never holds more than its bound', async () => {
    const model = mlp(2);
    const { x, y, probes } = data();
    for (const bound of [1, 3]) {
      const monitor = new SpectralMonitor(model, { probes, schedule: { every: 1 }, queue: bound, tf });
      let seen = 0;
      const cb = monitor.callback();
      await model.fit(x, y, {
        batchSize: 8,
        epochs: 1,
        shuffle: false,
        verbose: 0,
        callbacks: {
          ...cb,
          onBatchEnd: async (b: number, logs?: Record<string, unknown>) => {
            await cb.onBatchEnd(b, logs);
            seen = Math.max(seen, monitor.stats.pending);
          },
        },
      });
      await monitor.close();
      expect(monitor.stats.captured).toBe(9);
      expect(monitor.stats.analysed).toBe(9);
      expect(monitor.stats.maxPending).toBeLessThanOrEqual(bound);
      expect(seen).toBeLessThanOrEqual(bound);
      expect(monitor.stats.pending).toBe(0);
      const held = monitor.warnings.find((w) => w.startsWith('training held'));
      if (bound === 1) {
        // A snapshot every step with room for one: every analysis outlasts a step of this small
        // model, so training is held after the warm-up too, and the monitor says so.
        expect(monitor.stats.heldMs).toBeGreaterThan(0);
        expect(held).toMatch(/^training held \d+\.\d s of \d+\.\d s waiting for the analysis: .*schedule\.every/);
      }
      // The warning only ever follows real waits, and comes once.
      if (held) expect(monitor.stats.heldMs).toBeGreaterThan(0);
      expect(monitor.warnings.filter((w) => w.startsWith('training held')).length).toBeLessThanOrEqual(1);
    }
  });

  it('probe rows a ReLU maps to zero are read as orthogonal and reported, not a RangeError', async () => {
    const model = mlp(3);
    const { probes } = data();
    // h1 = relu(x W + b) with b = -10 except for unit 0, whose weights read probe feature 0 only:
    // probes with x0 ≤ 0 become all-zero rows at h1.
    const [k, bias] = model.getLayer('h1').getWeights();
    const kd = new Float32Array(k!.size);
    kd[0] = 5; // kernel [6, 16]: x0 → unit 0
    const bd = new Float32Array(16).fill(-10);
    bd[0] = 0;
    model.getLayer('h1').setWeights([tf.tensor2d(kd, k!.shape as [number, number]), tf.tensor1d(bd)]);
    void bias;
    const reps = repsOf(model, 'h1', probes);
    const zero: number[] = [];
    for (let i = 0; i < N; i++) if (reps.data.subarray(i * 16, (i + 1) * 16).every((v) => v === 0)) zero.push(i);
    expect(zero.length).toBeGreaterThan(0);
    expect(zero.length).toBeLessThan(N - 3);
    await expect(distanceMatrix(reps, { metric: 'angular' })).rejects.toThrow(RangeError); // what would kill a run
    // float64, to compare M's spectrum with a float64 reference at 1e-7 below
    const monitor = new SpectralMonitor(model, {
      probes,
      layers: ['h1'],
      kernels: [],
      schedule: { every: 1 },
      omd: { precision: 'float64' },
      tf,
    });
    await monitor.capture(0);
    await monitor.capture(1); // the same dead rows again: still one warning, naming the first step
    await monitor.close();
    expect(monitor.snapshots[1]!.omd.h1!.zeroRows).toBe(zero.length);
    const p = monitor.snapshots[0]!.omd.h1!;
    expect(p.zeroRows).toBe(zero.length);
    expect(p.warning).toMatch(
      new RegExp(
        `^${zero.length} of ${N} probe rows are all zeros at layer 'h1' \\(rows ${zero.slice(0, 10).join(', ')}`,
      ),
    );
    expect(monitor.warnings).toEqual([
      "probe rows mapped to all zeros at layer 'h1' (first at step 0): read as orthogonal to every row for the angular distance",
    ]);
    // The documented reading: cos = 0 to a zero row (π/2), arccos of the normalised dot product otherwise.
    const m = new Float64Array(N * N);
    const norm = (i: number): number => Math.hypot(...reps.data.subarray(i * 16, (i + 1) * 16));
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        if (i === j) continue;
        let dot = 0;
        for (let c = 0; c < 16; c++) dot += reps.data[i * 16 + c]! * reps.data[j * 16 + c]!;
        const ni = norm(i),
          nj = norm(j);
        m[i * N + j] = ni === 0 || nj === 0 ? Math.PI / 2 : Math.acos(Math.min(1, Math.max(-1, dot / (ni * nj))));
      }
    // Its many equal entries make a tightly clustered spectrum on which ?stemr (one-reduction
    // eigh) fails to converge; eigh then falls back to ?syevr's bisection for the range.
    const full = await eigh({ data: m, rows: N, cols: N });
    const one = await eigh({ data: m, rows: N, cols: N }, { range: [0, 2], allValues: true });
    for (let i = 0; i < N; i++) expect(one.values[i]).toBeCloseTo(full.values[i]!, 10);
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let i = 0; i < N; i++) dot += one.vectors.data[j * N + i]! * full.vectors.data[j * N + i]!;
      if (
        Math.abs(full.values[j + 1]! - full.values[j]!) > 1e-8 &&
        (j === 0 || Math.abs(full.values[j]! - full.values[j - 1]!) > 1e-8)
      )
        expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
    const direct = await analyzeObservable({ data: m, rows: N, cols: N }, { input: 'distance', metric: 'angular' });
    const got = p.figures.values;
    // float32 reps: the monitor normalises then multiplies, the reference divides the dot product
    for (let i = 0; i < N; i++)
      expect(Math.abs(got[i]! - direct.values[i]!)).toBeLessThan(1e-7 * Math.abs(direct.values[0]!));
  });

  it('unknown layer names, a wrong probe shape and a model without weight layers fail at construction', () => {
    const model = mlp();
    const { probes } = data();
    expect(() => new SpectralMonitor(model, { probes, layers: ['h3'], tf })).toThrow(
      new RangeError("Expected a layer name of the model (h1, h2, out) for layers but received 'h3'"),
    );
    expect(() => new SpectralMonitor(model, { probes, kernels: ['nope'], tf })).toThrow(
      new RangeError("Expected a Dense, Conv2D or Embedding layer name (h1, h2, out) for kernels but received 'nope'"),
    );
    expect(() => new SpectralMonitor(model, { probes: tf.zeros([10, 5]), tf })).toThrow(
      new RangeError("Expected a probe tensor of shape [N ≥ 2, 6] for probes but received 'shape [10, 5]'"),
    );
    expect(() => new SpectralMonitor(model, { probes: { data: new Float64Array(50), rows: 10, cols: 5 }, tf })).toThrow(
      new RangeError("Expected a probe Mat N ≥ 2 x 6 (input shape [6]) for probes but received '10 x 5'"),
    );
    expect(() => new SpectralMonitor(model, { probes, probeLabels: [1, 2], tf })).toThrow(RangeError);
    expect(() => new SpectralMonitor(model, { probes, schedule: { every: 0 }, tf })).toThrow(RangeError);
    expect(() => new SpectralMonitor(model, { probes, metric: 'manhattan' as never, tf })).toThrow(RangeError);
    const bare = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 3] })] });
    expect(() => new SpectralMonitor(bare, { probes: tf.zeros([4, 2, 3]), tf })).toThrow(SpecdynError);
  });

  it('a Mat probe set and a log-spaced schedule; steps must increase', async () => {
    const model = mlp(4);
    const { x, y } = data();
    const xs = x.dataSync();
    const probes = { data: Float64Array.from(xs.subarray(0, N * D)), rows: N, cols: D };
    const monitor = new SpectralMonitor(model, {
      probes,
      schedule: { logSpaced: 4, maxStep: 8 },
      kernels: ['out'],
      tf,
    });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].filter((s) => monitor.isScheduled(s))).toEqual([0, 1, 2, 4, 8]);
    await model.fit(x, y, { batchSize: 8, epochs: 1, shuffle: false, verbose: 0, callbacks: monitor.callback() });
    await expect(monitor.capture(4)).rejects.toThrow(
      new RangeError('Expected a step greater than the last captured (8) for step but received 4'),
    );
    await monitor.close();
    expect(monitor.snapshots.map((s) => s.step)).toEqual([0, 1, 2, 4, 8]);
    expect(monitor.snapshots[0]!.weights.map((w) => w.name)).toEqual(['out']);
  });
});

describe('SpectralMonitor run directory', () => {
  let build = '';
  const dirs: string[] = [];
  afterAll(() => {
    if (build) fs.rmSync(build, { recursive: true, force: true });
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const fresh = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'specdyn-monitor-'));
    dirs.push(d);
    return path.join(d, 'run');
  };

  it('commits every snapshot: rows, spectra and clouds read back with openRun, run finished', async () => {
    const model = mlp(6);
    const { x, y, probes } = data();
    const dir = fresh();
    const monitor = new SpectralMonitor(model, { probes, schedule: { every: 2 }, run: dir, seed: 6, tf });
    await model.fit(x, y, { batchSize: 16, epochs: 1, shuffle: false, verbose: 0, callbacks: monitor.callback() });
    await monitor.close();
    const run = await openRun(dir);
    expect(run.unfinished).toBe(false);
    expect(run.meta.tfBackend).toBe(tf.getBackend());
    expect(run.meta.seed).toBe(6);
    expect((run.meta.meta.monitor as { probes: number }).probes).toBe(N);
    expect((run.meta.meta.monitor as { precision: string }).precision).toBe('float32'); // the monitor's default
    expect(run.steps).toEqual([0, 2, 4]);
    expect(run.observables('omd')).toEqual(['h1', 'h2']);
    expect(run.observables('weights')).toEqual(['h1', 'h2', 'out']);
    for (const s of monitor.snapshots) {
      expect(run.rows({ family: 'logs', step: s.step })[0]?.loss ?? null).toBe(s.step === 0 ? null : s.logs.loss);
      const row = run.rows({ family: 'weights', observable: 'h2', step: s.step })[0]!;
      expect(row.alpha).toBe(s.weights[1]!.alpha);
      expect(Array.from(run.array(s.step, 'h1', 'values', 'omd') as Float64Array)).toEqual(
        Array.from(s.omd.h1!.figures.values),
      );
      const v = run.array(s.step, 'h2', 'bottom_vectors', 'omd') as { data: Float64Array; rows: number; cols: number };
      expect([v.rows, v.cols]).toEqual([3, N]);
      expect(Array.from(v.data)).toEqual(Array.from(s.omd.h2!.bottomVectors!.data));
    }
    expect(run.trajectory('h1').regimes().windows.length).toBeGreaterThan(0);
  });

  it("close({ status: 'interrupted' }) after a loop stopped off schedule: the forced last snapshot and every earlier one read back, run interrupted", async () => {
    const model = mlp(7);
    const { x, y, probes } = data();
    const dir = fresh();
    const monitor = new SpectralMonitor(model, {
      probes,
      schedule: { every: 3 },
      run: dir,
      meta: { command: 'test', monitor: 'not this' },
      queue: 1,
      tf,
    });
    expect(await monitor.capture(0)).toBe(true);
    for (let step = 1; step <= 5; step++) {
      const loss = (await model.trainOnBatch(x, y)) as number[];
      // the loop is stopped after step 5, which is off the schedule: forced
      const captured = await monitor.capture(step, { loss: loss[0]! }, { force: step === 5 });
      expect(captured).toBe(step === 3 || step === 5);
    }
    await monitor.close({ status: 'interrupted' });
    await monitor.close({ status: 'finished' }); // idempotent: the run stays interrupted
    expect(monitor.snapshots.map((s) => s.step)).toEqual([0, 3, 5]);
    const run = await openRun(dir);
    expect(run.status).toBe('interrupted');
    expect(run.unfinished).toBe(true);
    expect(run.problems).toEqual([]);
    expect(run.meta.error).toBeNull();
    expect(run.meta.meta.command).toBe('test');
    expect((run.meta.meta.monitor as { probes: number }).probes).toBe(N);
    expect((run.meta.meta.monitor as { precision: string }).precision).toBe('float32'); // the monitor's default // the monitor's own entry wins
    expect(run.steps).toEqual([0, 3, 5]);
    for (const s of monitor.snapshots) {
      expect(run.rows({ family: 'logs', step: s.step })[0]?.loss ?? null).toBe(s.step === 0 ? null : s.logs.loss);
      expect(run.rows({ family: 'omd', step: s.step }).map((r) => r.observable)).toEqual(['h1', 'h2']);
      expect(run.rows({ family: 'weights', step: s.step }).map((r) => r.observable)).toEqual(['h1', 'h2', 'out']);
      for (const layer of ['h1', 'h2']) {
        expect(Array.from(run.array(s.step, layer, 'values', 'omd') as Float64Array)).toEqual(
          Array.from(s.omd[layer]!.figures.values),
        );
        expect((run.array(s.step, layer, 'cloud', 'omd') as { rows: number }).rows).toBe(N);
      }
      for (const w of s.weights)
        expect(Array.from(run.array(s.step, w.name, 'evals', 'weights') as Float64Array)).toEqual(Array.from(w.evals));
    }
    expect(run.trajectory('h2').points.map((p) => p.step)).toEqual([0, 3, 5]);
  });

  it("close({ status: 'failed', error }) records the error; a bad status or force is refused; a non-run directory fails the first capture", async () => {
    const model = mlp(8);
    const { probes } = data();
    const dir = fresh();
    const monitor = new SpectralMonitor(model, { probes, schedule: { every: 1 }, run: dir, tf });
    await expect(monitor.capture(0, {}, { force: 'yes' as never })).rejects.toThrow(
      new TypeError("Expected true or false for options.force but received 'yes'"),
    );
    await monitor.capture(0);
    await expect(monitor.close({ status: 'done' as never })).rejects.toThrow(
      new RangeError("Expected 'finished', 'interrupted' or 'failed' for status but received 'done'"),
    );
    await monitor.close({ status: 'failed', error: new Error('the optimizer diverged') });
    const run = await openRun(dir);
    expect(run.status).toBe('failed');
    expect(run.meta.error).toBe('the optimizer diverged');
    expect(run.steps).toEqual([0]);
    expect(() => new SpectralMonitor(model, { probes, meta: [1] as never, tf })).toThrow(TypeError);
    // A misspelt or misplaced option is refused, not ignored (trajectory options go under `omd`).
    expect(() => new SpectralMonitor(model, { probes, tf, trajectory: { nullRotation: false } } as never)).toThrow(
      /^Unknown option 'trajectory' for SpectralMonitor; valid options: .*'omd'/,
    );
    expect(() => new SpectralMonitor(model, { probes, tf, qeueu: 4 } as never)).toThrow(TypeError);
    // A directory holding something else: refused at the first capture, before any analysis.
    const busy = fresh();
    fs.mkdirSync(busy, { recursive: true });
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    const m2 = new SpectralMonitor(model, { probes, run: busy, tf });
    await expect(m2.capture(0)).rejects.toThrow(SpecdynError);
    expect(m2.stats.captured).toBe(0);
    await m2.close();
    expect(fs.readdirSync(busy)).toEqual(['notes.txt']);
  });

  it('a child training with the monitor, SIGKILLed after k snapshots: openRun reads ≥ k complete snapshots, run unfinished', async () => {
    build ||= transpileSources(packageRoot, 'monitor-test');
    const dir = fresh();
    const k = 3;
    const code = `import { loadTf } from ${JSON.stringify(path.join(build, 'src/tfjs/index.js'))};
import { SpectralMonitor } from ${JSON.stringify(path.join(build, 'src/train/monitor.js'))};
const { tf } = await loadTf({ backend: 'cpu' });
const model = tf.sequential();
model.add(tf.layers.dense({ inputShape: [${D}], units: 16, activation: 'relu', name: 'h1' }));
model.add(tf.layers.dense({ units: ${C}, name: 'out' }));
model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
const x = tf.randomNormal([32, ${D}], 0, 1, 'float32', 1), y = tf.randomNormal([32, ${C}], 0, 1, 'float32', 2);
const monitor = new SpectralMonitor(model, { probes: x, schedule: { every: 1 }, run: ${JSON.stringify(dir)}, queue: 1, tf });
await monitor.capture(0);
for (let step = 1; ; step++) {
  const loss = await model.trainOnBatch(x, y);
  await monitor.capture(step, { loss });
  process.stdout.write('analysed ' + monitor.stats.analysed + '\\n');
}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '',
      err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = [...out.matchAll(/analysed (\d+)/g)];
        if (m.length && Number(m[m.length - 1]![1]) >= k) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (c) => reject(new Error(`child exited (${c}) before ${k} snapshots: ${err}`)));
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    expect(child.signalCode).toBe('SIGKILL');
    const run = await openRun(dir);
    expect(run.unfinished).toBe(true);
    expect(run.status).toBe('interrupted');
    const steps = run.steps;
    // `analysed` counts committed snapshots: each is on disk before it is counted
    expect(steps.length).toBeGreaterThanOrEqual(k);
    expect(steps).toEqual(steps.map((_, i) => i));
    for (const s of steps) {
      // complete: both families, the spectrum and the cloud of every snapshot
      expect(run.rows({ family: 'omd', observable: 'h1', step: s }).length).toBe(1);
      expect(run.rows({ family: 'weights', step: s }).map((r) => r.observable)).toEqual(['h1', 'out']);
      expect((run.array(s, 'h1', 'values', 'omd') as Float64Array).length).toBe(32);
      expect(run.array(s, 'h1', 'cloud', 'omd')).toBeDefined();
      expect((run.array(s, 'h1', 'evals', 'weights') as Float64Array).length).toBe(6);
    }
  }, 60_000);
});
