/**
 * `specdyn train`: a built-in MLP (Dense + ReLU hidden layers, softmax output) trained on MNIST
 * or on a seeded synthetic task under a SpectralMonitor: at every snapshot the weight spectrum of
 * every Dense kernel and the OMD trajectory of every hidden layer on a fixed, held-out probe
 * set, committed to a run directory, with the report at the end.
 */
import { join } from 'node:path';
import { Rng } from '../random.js';
import { openRun } from '../store/index.js';
import { loadMnist } from '../store/idx.js';
import { loadTf, type Tf } from '../tfjs/index.js';
import { SpectralMonitor } from '../train/monitor.js';
import { writeReport } from '../report/index.js';
import { fromRun } from '../report/from-store.js';
import type { Output } from './output.js';
import type { TrainConfig } from './train-config.js';

/** Inputs of a classification task, row-major. */
interface Task {
  x: Float32Array;
  y: Uint8Array;
  count: number;
  features: number;
  classes: number;
  probeX: Float32Array;
  probeY: Uint8Array;
}

const SYNTHETIC_FEATURES = 64;

/** A seeded teacher task: x ~ N(0, I₆₄), label = argmax of a random linear teacher's 10 outputs. */
function syntheticTask(cfg: TrainConfig): Task {
  const rng = new Rng(cfg.seed, 1);
  const d = SYNTHETIC_FEATURES,
    k = 10;
  const teacher = rng.fillNormal(new Float64Array(d * k));
  const make = (n: number) => {
    const x = new Float32Array(n * d),
      y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) x[i * d + j] = rng.normal();
      let best = 0,
        bestV = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[i * d + j]! * teacher[j * k + c]!;
        if (s > bestV) {
          bestV = s;
          best = c;
        }
      }
      y[i] = best;
    }
    return { x, y };
  };
  const train = make(cfg.trainSize),
    probe = make(cfg.probes);
  return { x: train.x, y: train.y, count: cfg.trainSize, features: d, classes: k, probeX: probe.x, probeY: probe.y };
}

/** MNIST: the first trainSize training images; probes are the first test images (held out). */
function mnistTask(cfg: TrainConfig): Task {
  const train = loadMnist({ split: 'train', limit: cfg.trainSize });
  const test = loadMnist({ split: 'test', limit: cfg.probes });
  if (test.count < cfg.probes)
    throw new RangeError(
      `Expected at most ${test.count} probes (the MNIST test split) for probes but received ${cfg.probes}`,
    );
  return {
    x: train.images,
    y: train.labels,
    count: train.count,
    features: train.features,
    classes: 10,
    probeX: test.images,
    probeY: test.labels,
  };
}

/** Snapshot steps: 0, every snapshotEvery, and the last step. */
export function snapshotSchedule(steps: number, every: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < steps; s += every) out.push(s);
  out.push(steps);
  return out;
}

/** What a train command produced. */
export interface TrainResult {
  run: string;
  status: 'finished' | 'interrupted';
  backend: string;
  backendReason: string;
  stepsDone: number;
  snapshots: number;
  final: Record<string, number>;
  report: string | null;
  warnings: string[];
}

/**
 * Trains and records. `signal` aborting (Ctrl-C) stops after the current step: one last snapshot
 * of the state training stopped in, the queued analyses finish, the run is closed as
 * `interrupted`, and the report (if on) is written.
 * @throws whatever training or an analysis throws; the run is then closed as `failed`.
 */
export async function train(cfg: TrainConfig, out: Output, signal: AbortSignal): Promise<TrainResult> {
  const dir = cfg.out || join('runs', `${cfg.data}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const task = cfg.data === 'mnist' ? mnistTask(cfg) : syntheticTask(cfg);
  const loaded = await loadTf({ backend: cfg.backend });
  const tf = loaded.tf;
  out.info(`backend: ${loaded.reason}`);
  const model = buildModel(tf, cfg, task);
  const probeTensor = tf.tensor2d(task.probeX, [cfg.probes, task.features]);
  const probeTarget = tf.oneHot(tf.tensor1d(Array.from(task.probeY), 'int32'), task.classes);
  const monitor = new SpectralMonitor(model, {
    probes: probeTensor,
    probeLabels: Array.from(task.probeY),
    layers: 'hidden',
    kernels: 'all',
    schedule: { steps: snapshotSchedule(cfg.steps, cfg.snapshotEvery) },
    metric: cfg.metric,
    run: dir,
    config: cfg,
    seed: cfg.seed,
    meta: {
      command: 'specdyn train',
      backendReason: loaded.reason,
      model: `MLP ${[task.features, ...cfg.hiddenSizes, task.classes].join('-')}`,
    },
    keep: false,
    tf,
  });
  let warned = 0;
  const showWarnings = () => {
    for (; warned < monitor.warnings.length; warned++) out.warn(monitor.warnings[warned]!);
  };
  const rng = new Rng(cfg.seed, 2);
  const bar = out.progress('training', cfg.steps);
  let logs: Record<string, number> = {};
  let stepsDone = 0;
  let status: 'finished' | 'interrupted' = 'finished';
  try {
    for (let step = 0; ; step++) {
      // tfjs resolves its promises without turning the event loop; without this turn a Ctrl-C
      // (delivered by libuv in the poll phase) would never be seen.
      await new Promise<void>((r) => setImmediate(r));
      // Stop here: one last snapshot of the state training stopped in (the model after `step` steps).
      if (signal.aborted) status = 'interrupted';
      const last = status === 'interrupted' || step === cfg.steps;
      if (last || monitor.isScheduled(step)) {
        const [vl, va] = tf.tidy(() =>
          (model.evaluate(probeTensor, probeTarget, { batchSize: cfg.probes }) as ReturnType<Tf['scalar']>[]).map((t) =>
            t.clone(),
          ),
        );
        const valLogs = { val_loss: (await vl!.data())[0]!, val_accuracy: (await va!.data())[0]! };
        vl!.dispose();
        va!.dispose();
        await monitor.capture(step, { ...logs, ...valLogs }, { force: last });
        if (step === 0) out.info(`run directory: ${dir}`);
        showWarnings();
      }
      if (last) break;
      const idx = Array.from({ length: cfg.batchSize }, () => Math.floor(rng.uniform() * task.count));
      const xb = new Float32Array(cfg.batchSize * task.features);
      idx.forEach((r, i) => {
        xb.set(task.x.subarray(r * task.features, (r + 1) * task.features), i * task.features);
      });
      const xs = tf.tensor2d(xb, [cfg.batchSize, task.features]);
      const ys = tf.tidy(() =>
        tf.oneHot(
          tf.tensor1d(
            idx.map((r) => task.y[r]!),
            'int32',
          ),
          task.classes,
        ),
      );
      const res = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      logs = { loss: res[0]!, accuracy: res[1]! };
      stepsDone = step + 1;
      bar.update(stepsDone, `loss ${logs.loss!.toFixed(4)}`);
    }
    bar.done();
    await monitor.close({ status });
    showWarnings();
  } catch (err) {
    bar.done();
    await monitor.close({ status: 'failed', error: err }).catch(() => undefined);
    throw err;
  } finally {
    probeTensor.dispose();
    probeTarget.dispose();
  }
  let report: string | null = null;
  if (cfg.report) {
    const run = await openRun(dir);
    let bar2: ReturnType<Output['progress']> | undefined;
    const onFigure = (done: number, total: number) => {
      bar2 ??= out.progress('report figures', total);
      bar2.update(done);
    };
    report = (await writeReport([fromRun(run)], { onFigure })).html;
    bar2?.done();
  }
  return {
    run: dir,
    status,
    backend: loaded.backend,
    backendReason: loaded.reason,
    stepsDone,
    snapshots: monitor.stats.analysed,
    final: logs,
    report,
    warnings: [...monitor.warnings],
  };
}

function buildModel(tf: Tf, cfg: TrainConfig, task: Task) {
  const model = tf.sequential();
  cfg.hiddenSizes.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        name: `hidden_${i + 1}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed * 101 + i }),
        ...(i === 0 ? { inputShape: [task.features] } : {}),
      }),
    );
  });
  model.add(
    tf.layers.dense({
      units: task.classes,
      activation: 'softmax',
      name: 'output',
      kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed * 101 + 99 }),
    }),
  );
  model.compile({
    optimizer: cfg.optimizer === 'adam' ? tf.train.adam(cfg.learningRate) : tf.train.sgd(cfg.learningRate),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}
