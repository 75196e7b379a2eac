/**
 * SpectralMonitor: watches a tfjs model learn. At scheduled steps it evaluates a fixed, ordered
 * probe set once through a sub-model that outputs the chosen layers' representations (OMD), copies
 * the chosen kernels once to Float32Array (weight spectra), and hands both to an analysis queue
 * that runs in a worker thread of its own while training goes on (snapshot-analysis.ts). Each
 * snapshot (loss and metrics, one OMD trajectory point per layer, one weight row per kernel) is
 * kept in memory and, with `run`, committed to a run directory (specdyn/store) as soon as it is
 * analysed — by the thread that analysed it: in worker mode the run writer lives in the worker
 * too, and the training thread only evaluates the probes, copies the kernels and posts them.
 *
 * Use it as a `model.fit` callback (`callbacks: monitor.callback()`; it counts batches: step s =
 * after s optimizer steps, step 0 = initialisation, captured at the start of the first fit) or by
 * hand in a custom loop (`await monitor.capture(step, logs)` after each step, `capture(0)` before
 * the first). `await monitor.close()` flushes the queue and closes the run (as `finished`;
 * `close({ status: 'interrupted' })` for a loop stopped early, e.g. by Ctrl-C).
 *
 * Backpressure: at most `queue` snapshots are captured but not yet analysed; a capture beyond
 * that waits for the oldest to finish (training pauses rather than memory growing).
 *
 * Dead probe rows: a probe row that a layer maps to all zeros (a ReLU layer killing an input)
 * has no direction, so the angular and cosine distances to it are undefined. The monitor then
 * reads zero rows as orthogonal to every row (cos = 0: angular distance π/2, cosine distance 1,
 * zero on the diagonal), keeps N fixed so the trajectory stays aligned, and records it: the OMD
 * row's `zero_rows` (count) and `warning`, and {@link SpectralMonitor.warnings}. Euclidean
 * metrics need no such reading.
 */
import { expected, SpecdynError } from '../errors.js';
import { checkMat, type Mat } from '../matrix.js';
import type { ObservableMetric, TrajectoryOptions } from '../omd/index.js';
import { OMD_POINT_COLUMNS } from '../omd/columns.js';
import type { Column } from '../rmt/columns.js';
import { WEIGHT_ROW_COLUMNS } from '../rmt/columns.js';
import type { AnalyzeWeightsOptions, WeightRow } from '../rmt/weights.js';
import { checkInteger, checkObject, checkOneOf, checkOptions, checkOptionsObject } from '../validate.js';
import { optionKeys } from '../rmt/options.js';
import { layerKernel, walkLayers, weightLayerNames, type LayerLike, type ModelKernel } from './analyze-model.js';
import type { ColumnMeta, CreateRunOptions } from '../store/index.js';
import {
  ANALYSIS_NICE,
  createSnapshotAnalysis,
  SnapshotAnalyzer,
  type AnalyzedSnapshot,
  type AnalyzerConfig,
  type MonitorPoint,
  type SnapshotAnalysis,
  type SnapshotJob,
} from './snapshot-analysis.js';
import type { Tf } from '../tfjs/index.js';
import { copyValues } from '../tfjs/copy-read.js';
import { withSplitProducts } from '../tfjs/product-scope.js';

type Tensor = import('@tensorflow/tfjs').Tensor;
type LayersModel = import('@tensorflow/tfjs').LayersModel;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;

/** When snapshots are taken (step 0, the initialisation, always is). */
export type Schedule =
  /** Every k steps: 0, k, 2k, … */
  | { every: number }
  /** `count` steps log-spaced between 1 and `maxStep` (rounded, duplicates merged), plus 0. */
  | { logSpaced: number; maxStep: number }
  /** These steps (plus 0). */
  | { steps: number[] };

/** Options of {@link SpectralMonitor}. */
export interface MonitorOptions {
  /**
   * The probe inputs, fixed and ordered: a tensor [N, ...input shape] or a Mat N x (product of
   * the input shape), reshaped row by row. Required.
   */
  probes: Tensor | Mat;
  /** One label per probe (numbers or strings), kept in the run metadata; optional. */
  probeLabels?: ArrayLike<number> | string[];
  /**
   * Layers whose representations feed OMD: names, or `hidden` (default): every layer with
   * weights whose output is not a model output. `[]`: no OMD.
   */
  layers?: string[] | 'hidden';
  /** Kernels that feed weight spectra: names of Dense/Conv2D/Embedding layers, `all` (default) or `[]`. */
  kernels?: string[] | 'all';
  /** Default `{ every: 100 }`. */
  schedule?: Schedule;
  /** OMD distance; default `angular`. */
  metric?: ObservableMetric;
  /**
   * Bottom eigenvectors of each OMD snapshot to keep (default 3; 0: none): the k eigenvectors of
   * the smallest eigenvalues of M (the top of a BBS spectrum), stored as `bottom_vectors`
   * (k x N, rows = vectors). The aligned N x 3 MDS `cloud` is always stored.
   */
  eigenvectors?: number;
  /**
   * Further OMD trajectory options (band thresholds, route, …). The monitor's default
   * `precision` is 'float32' (analyzeObservable's is 'float64'): single-precision distance
   * products and reductions of M and of its shuffle null, about 10 % less training slowdown at a
   * snapshot every 50 steps, figures within ~1e-4 relative of float64 and the same readings
   * (docs/training.md "Cost"). `omd: { precision: 'float64' }` for the library's default.
   */
  omd?: Omit<TrajectoryOptions, 'metric' | 'bottomK' | 'input'>;
  /**
   * Weight-spectrum options (default `{ bootstrap: 0, solver: 'gram' }`: no bootstrap interval
   * during training, eigenvalues from the Gram matrix, whose fitted columns agree with the
   * ?gesdd route's to ~1e-13 relative on trained kernels; pass `solver: 'svd'` for full relative
   * accuracy of the smallest levels).
   */
  weights?: AnalyzeWeightsOptions;
  /** Snapshots captured but not yet analysed, at most (default 2; ≥ 1). */
  queue?: number;
  /**
   * Where snapshots are analysed: `worker` (default): a worker_thread of the monitor's own, every
   * solve synchronous on it, its BLAS calls capped at `analysisThreads` — the analysis takes one
   * core beside training and the training thread only evaluates the probes and copies the
   * kernels; `inline`: on the training thread's event loop with the native solves on the libuv
   * pool (the TypeScript part of the analysis then runs between training steps). The figures are
   * the same either way. Options that cannot be posted to a worker are analysed inline.
   */
  analysis?: 'worker' | 'inline';
  /**
   * BLAS threads of the analysis worker's solves (setThreadLimit in the worker); default 1, so a
   * large solve runs single-threaded beside the training products instead of making them wait;
   * 0: the process-wide setting.
   */
  analysisThreads?: number;
  /**
   * Nice value of the analysis worker's thread (Linux; 0–19, default 10): how much of a core the
   * analysis yields to the training thread when both want it. 0: the analysis competes as an
   * equal (on a machine oversubscribed by other work a niced analysis falls behind, and the
   * queue's backpressure then holds training). Ignored inline and elsewhere.
   */
  analysisNice?: number;
  /**
   * Scheduling class of the analysis worker's thread (Linux): `'idle'` (default) puts it in the
   * idle class (SCHED_IDLE, `setThreadIdle`), so it runs only on a core that training (its
   * BLAS threads included) and everything else at normal priority leave free, and never delays
   * a training step by taking a core; its nice value is still set to `analysisNice`. On a machine
   * whose cores other work keeps busy the analysis then falls behind, and the queue's
   * backpressure holds training until it catches up. `'nice'`: normal scheduling at
   * `analysisNice`. Ignored inline and elsewhere (there `'idle'` falls back to the nice value).
   */
  analysisScheduling?: 'idle' | 'nice';
  /** Run directory to commit snapshots to (specdyn/store createRun); default none (memory only). */
  run?: string;
  /** Configuration and seed recorded in run.json. */
  config?: unknown;
  seed?: number;
  /**
   * Further JSON entries for run.json `meta` (beside the monitor's own `monitor` entry, which
   * wins on a clash), e.g. the command and model that produced the run.
   */
  meta?: Record<string, unknown>;
  /** Keep every snapshot in `monitor.snapshots` (default true). */
  keep?: boolean;
  /** The tfjs namespace the model was built with (default: `@tensorflow/tfjs`, loaded at the first capture). */
  tf?: Tf;
}

/** One analysed snapshot. */
export interface MonitorSnapshot {
  step: number;
  /** Loss and metrics as the callback (or the caller) saw them; `batch` and `size` dropped. */
  logs: Record<string, number>;
  /** One OMD trajectory point per representation layer. */
  omd: Record<string, MonitorPoint>;
  /** One weight row per kernel. */
  weights: WeightRow[];
  /** Milliseconds on the training thread (probe evaluation and copies) and in analysis. */
  timings: { captureMs: number; analysisMs: number };
}

const MONITOR_KEYS = optionKeys<MonitorOptions>({
  probes: true,
  probeLabels: true,
  layers: true,
  kernels: true,
  schedule: true,
  metric: true,
  eigenvectors: true,
  omd: true,
  weights: true,
  queue: true,
  analysis: true,
  analysisThreads: true,
  analysisNice: true,
  analysisScheduling: true,
  run: true,
  config: true,
  seed: true,
  meta: true,
  keep: true,
  tf: true,
});

/** The share of the time since the warm-up that training may be held before the monitor warns. */
const HELD_WARN_FRACTION = 0.1;
/** Snapshots of warm-up left out of the held-training warning (the analysis worker starting). */
const HELD_WARMUP = 4;

/** Options of {@link SpectralMonitor.capture}. */
export interface CaptureOptions {
  /**
   * Capture even if `step` is off the schedule (default false), e.g. the step a loop stopped at,
   * so the last snapshot is the state training ended in.
   */
  force?: boolean;
}

/** Options of {@link SpectralMonitor.close}. */
export interface MonitorCloseOptions {
  /**
   * How the run ends (run.json `status`): `finished` (default), `interrupted` (training was
   * stopped before its end, e.g. by Ctrl-C; every snapshot captured so far is still analysed and
   * committed) or `failed`. An analysis that failed overrides it: the run is closed as `failed`
   * with that error.
   */
  status?: 'finished' | 'interrupted' | 'failed';
  /** The error that ended training, recorded (its message) in run.json with `status: 'failed'`. */
  error?: unknown;
}

/** Queue statistics (for tuning and tests). */
export interface MonitorStats {
  captured: number;
  analysed: number;
  /** Snapshots captured but not yet analysed right now. */
  pending: number;
  /** The most ever pending at once (never above `queue`). */
  maxPending: number;
  /**
   * Milliseconds capture() waited for room in the queue: the time training was held because the
   * analysis took longer than the steps between snapshots (see {@link SpectralMonitor.warnings}).
   */
  heldMs: number;
  /**
   * Capture copies (representations, kernels) written into a buffer the analysis worker gave back
   * after an earlier snapshot, instead of a fresh one (worker mode; 0 inline).
   */
  reusedBuffers: number;
}

interface Job extends SnapshotJob {
  captureMs: number;
  /**
   * The analysis, when it was posted at capture (worker mode: the worker takes requests in
   * order and starts this one as soon as the one before is committed, without waiting for the
   * training thread to read that one's reply).
   */
  posted?: Promise<AnalyzedSnapshot>;
}

const META_DTYPE = { f64: 'float64', i32: 'int', str: 'string', bool: 'bool' } as const;
const columnMeta = (cols: readonly Column[]): ColumnMeta[] =>
  cols
    .filter((c) => c.name !== 'step')
    .map((c) => ({ name: c.name, unit: c.unit, dtype: META_DTYPE[c.dtype], doc: c.doc }));

function checkSchedule(s: unknown): (step: number) => boolean {
  checkObject(s, 'schedule', 'a schedule { every }, { logSpaced, maxStep } or { steps }');
  const o = s as Record<string, unknown>;
  if ('every' in o) {
    const k = checkInteger(o.every, 'schedule.every', { min: 1 });
    return (step) => step % k === 0;
  }
  if ('logSpaced' in o) {
    const count = checkInteger(o.logSpaced, 'schedule.logSpaced', { min: 1 });
    const max = checkInteger(o.maxStep, 'schedule.maxStep', { min: 1 });
    const set = new Set<number>([0]);
    for (let i = 0; i < count; i++) set.add(Math.round(max ** (count === 1 ? 1 : i / (count - 1))));
    return (step) => set.has(step);
  }
  if ('steps' in o) {
    if (!Array.isArray(o.steps)) throw new TypeError(expected('an array of steps', 'schedule.steps', o.steps));
    const set = new Set<number>([0, ...o.steps.map((x, i) => checkInteger(x, `schedule.steps[${i}]`, { min: 0 }))]);
    return (step) => set.has(step);
  }
  throw new TypeError(expected('a schedule { every }, { logSpaced, maxStep } or { steps }', 'schedule', s));
}

function isTensor(x: unknown): x is Tensor {
  return (
    typeof x === 'object' &&
    x !== null &&
    Array.isArray((x as Tensor).shape) &&
    typeof (x as Tensor).dataSync === 'function'
  );
}

/**
 * Watches a tfjs LayersModel learn (see the module doc). Construction checks everything it can:
 * @throws RangeError naming an unknown layer or kernel name, or a probe of the wrong shape;
 * SpecdynError for a model without weight layers; TypeError for bad option kinds.
 */
export class SpectralMonitor {
  /** Snapshots analysed so far, in step order (unless `keep: false`). */
  readonly snapshots: MonitorSnapshot[] = [];
  /** Everything the monitor had to work around (dead probe rows, a missing step 0), once each. */
  readonly warnings: string[] = [];
  /** OMD layers, in output order. */
  readonly layers: readonly string[];
  /** Kernel layers, in walk order. */
  readonly kernelLayers: readonly string[];
  /** Number of probes N. */
  readonly probeCount: number;

  private readonly model: LayersModel;
  private readonly opts: MonitorOptions;
  private readonly scheduled: (step: number) => boolean;
  private readonly bound: number;
  private readonly metric: ObservableMetric;
  private readonly analyzer: SnapshotAnalyzer;
  private readonly analysisMode: 'inline' | 'worker';
  private readonly analysisThreads: number;
  private readonly analysisNice: number;
  private readonly analysisIdle: boolean;
  private analysis: SnapshotAnalysis | undefined;
  private readonly kernelSet: ReadonlySet<string>;
  private readonly keepVectors: number;
  private readonly layerObjects: LayerLike[];
  private tf: Tf | undefined;
  private subModel: LayersModel | undefined;
  private probeTensor: Tensor | undefined;
  private runOpening: Promise<void> | undefined;
  /** Whether the run directory was opened (by the analysis, where it runs). */
  private runOpen = false;
  private readonly queue: Job[] = [];
  private worker: Promise<void> | undefined;
  private readonly waiters: Array<() => void> = [];
  private failure: unknown;
  private lastStep = -1;
  private step = 0;
  private closed = false;
  private readonly counts: MonitorStats = {
    captured: 0,
    analysed: 0,
    pending: 0,
    maxPending: 0,
    heldMs: 0,
    reusedBuffers: 0,
  };
  /**
   * For the held-training warning: when the warm-up ended (the HELD_WARMUP-th capture, by
   * performance.now()) and the time training was held since.
   */
  private warmAt: number | undefined;
  private heldSinceWarm = 0;
  /** Whether the held-training warning was given (its text carries figures, so warn() cannot tell). */
  private heldWarned = false;

  constructor(model: LayersModel, options: MonitorOptions) {
    checkObject(model, 'model', 'a tfjs LayersModel');
    checkOptionsObject(options);
    // An unknown key (a misspelt option) is a TypeError naming the nearest known one, never ignored.
    checkOptions('SpectralMonitor', options, MONITOR_KEYS);
    this.model = model;
    this.opts = options;
    const walk = walkLayers(model as unknown as { layers: LayerLike[] });
    const weighted = walk.filter(({ layer }) => layer.getWeights().length > 0);
    if (weighted.length === 0)
      throw new SpecdynError(expected('a model with at least one weight layer', 'model', model.name ?? model));
    // Probes: shape [N, ...input shape] against the model's input.
    const inputs = (model as unknown as { inputs?: SymbolicTensor[] }).inputs;
    if (!Array.isArray(inputs) || inputs.length !== 1) {
      throw new RangeError(expected('a built model with one input', 'model', `${inputs?.length ?? 'no'} inputs`));
    }
    const inShape = inputs[0]!.shape.slice(1);
    if (options.probes === undefined) throw new TypeError(expected('a probe tensor or Mat', 'probes', undefined));
    if (isTensor(options.probes)) {
      const s = options.probes.shape;
      const ok = s.length === inShape.length + 1 && inShape.every((d, i) => d === null || d === s[i + 1]);
      if (!ok || !(s[0]! >= 2))
        throw new RangeError(
          expected(
            `a probe tensor of shape [N ≥ 2, ${inShape.map((d) => d ?? '*').join(', ')}]`,
            'probes',
            `shape [${s.join(', ')}]`,
          ),
        );
      this.probeCount = s[0]!;
    } else {
      checkMat(options.probes, 'probes');
      const size = inShape.reduce<number>((a, d) => a * (d ?? NaN), 1);
      if (options.probes.cols !== size || options.probes.rows < 2) {
        throw new RangeError(
          expected(
            `a probe Mat N ≥ 2 x ${size} (input shape [${inShape.join(', ')}])`,
            'probes',
            `${options.probes.rows} x ${options.probes.cols}`,
          ),
        );
      }
      this.probeCount = options.probes.rows;
    }
    if (options.probeLabels !== undefined && options.probeLabels.length !== this.probeCount) {
      throw new RangeError(
        expected(
          `${this.probeCount} probe labels (one per probe)`,
          'probeLabels',
          `${options.probeLabels.length} labels`,
        ),
      );
    }
    // OMD layers.
    const byName = new Map(walk.map(({ layer }) => [layer.name, layer]));
    const outputs = new Set(
      ((model as unknown as { outputLayers?: LayerLike[] }).outputLayers ?? []).map((l) => l.name),
    );
    const layerNames = options.layers ?? 'hidden';
    let names: string[];
    if (layerNames === 'hidden') names = weighted.map(({ layer }) => layer.name).filter((n) => !outputs.has(n));
    else {
      if (!Array.isArray(layerNames))
        throw new TypeError(expected("an array of layer names or 'hidden'", 'layers', layerNames));
      for (const n of layerNames)
        if (!byName.has(n))
          throw new RangeError(expected(`a layer name of the model (${[...byName.keys()].join(', ')})`, 'layers', n));
      names = [...layerNames];
    }
    this.layers = Object.freeze(names);
    this.layerObjects = names.map((n) => byName.get(n)!);
    // Kernels.
    const available = weightLayerNames(model as unknown as { layers: LayerLike[] });
    const kernelNames = options.kernels ?? 'all';
    if (kernelNames === 'all') this.kernelLayers = Object.freeze(available);
    else {
      if (!Array.isArray(kernelNames))
        throw new TypeError(expected("an array of layer names or 'all'", 'kernels', kernelNames));
      for (const n of kernelNames)
        if (!available.includes(n))
          throw new RangeError(
            expected(`a Dense, Conv2D or Embedding layer name (${available.join(', ')})`, 'kernels', n),
          );
      this.kernelLayers = Object.freeze(available.filter((n) => kernelNames.includes(n)));
    }
    this.kernelSet = new Set(this.kernelLayers);
    if (this.layers.length === 0 && this.kernelLayers.length === 0) {
      throw new RangeError(expected('at least one OMD layer or kernel to watch', 'layers/kernels', '[] and []'));
    }
    this.scheduled = checkSchedule(options.schedule ?? { every: 100 });
    this.bound = checkInteger(options.queue ?? 2, 'queue', { min: 1 });
    this.metric = checkOneOf(options.metric ?? 'angular', 'metric', ['angular', 'euclidean', 'cosine', 'sqeuclidean']);
    this.keepVectors = checkInteger(options.eigenvectors ?? 3, 'eigenvectors', { min: 0 });
    const bottomK = Math.max(3, this.keepVectors);
    const analysisConfig: AnalyzerConfig = {
      layers: [...names],
      metric: this.metric,
      keepVectors: this.keepVectors,
      trajectory: {
        precision: 'float32',
        ...(options.omd ?? {}),
        metric: this.metric,
        bottomK,
        input: 'distance',
        returnVectors: this.keepVectors > 0,
        ...(options.probeLabels !== undefined
          ? { labels: Array.from(options.probeLabels as ArrayLike<number | string>) as number[] | string[] }
          : {}),
      },
      weights: { bootstrap: 0, solver: 'gram', ...(options.weights ?? {}) },
    };
    // Built here whatever the mode, so that every option is checked on the caller's thread.
    this.analyzer = new SnapshotAnalyzer(analysisConfig);
    this.analysisMode = checkOneOf(options.analysis ?? 'worker', 'analysis', ['worker', 'inline']);
    this.analysisThreads = checkInteger(options.analysisThreads ?? 1, 'analysisThreads', { min: 0, max: 1024 });
    this.analysisNice = checkInteger(options.analysisNice ?? ANALYSIS_NICE, 'analysisNice', { min: 0, max: 19 });
    this.analysisIdle =
      checkOneOf(options.analysisScheduling ?? 'idle', 'analysisScheduling', ['idle', 'nice']) === 'idle';
    if (options.run !== undefined && typeof options.run !== 'string')
      throw new TypeError(expected('a directory path', 'run', options.run));
    if (options.meta !== undefined) checkObject(options.meta, 'meta');
  }

  /** Whether `step` is on the schedule (step 0 always is). */
  isScheduled(step: number): boolean {
    return this.scheduled(step);
  }

  /** Queue statistics. */
  get stats(): Readonly<MonitorStats> {
    return { ...this.counts };
  }

  /** The run directory being written, if any. */
  get runDir(): string | undefined {
    return this.opts.run;
  }

  /**
   * A `model.fit` callback: captures step 0 at the start of the first fit, then counts batches
   * and captures each scheduled step after its batch (awaiting backpressure). Steps continue
   * across fit calls.
   */
  callback(): {
    onTrainBegin: () => Promise<void>;
    onBatchEnd: (batch: number, logs?: Record<string, unknown>) => Promise<void>;
  } {
    return {
      onTrainBegin: async () => {
        if (this.lastStep < 0) await this.capture(0, {});
      },
      onBatchEnd: async (_batch, logs) => {
        this.step = Math.max(this.step, this.lastStep) + 1;
        await this.capture(this.step, logs ?? {});
      },
    };
  }

  /**
   * Captures a snapshot at `step` if it is scheduled or `force`d (resolves to false otherwise):
   * evaluates the probes once, copies the kernels, queues the analysis and resolves as soon as
   * the queue has room (not when the analysis is done). Steps must increase. With `run`, the
   * first capture creates the run directory, so a directory that cannot be a run fails here,
   * before any analysis.
   * @throws RangeError for a step that does not increase; the error of an earlier failed analysis;
   * SpecdynError from createRun for a run directory that is not empty and not a run.
   */
  async capture(step: number, logs: Record<string, unknown> = {}, options?: CaptureOptions): Promise<boolean> {
    if (this.closed)
      throw new SpecdynError('Expected an open monitor for capture but received a closed one (close() was called)');
    checkInteger(step, 'step', { min: 0 });
    const force = checkOptionsObject(options).force ?? false;
    if (typeof force !== 'boolean') throw new TypeError(expected('true or false', 'options.force', force));
    if (this.failure) throw this.failure;
    if (!force && !this.scheduled(step)) return false;
    if (step <= this.lastStep)
      throw new RangeError(expected(`a step greater than the last captured (${this.lastStep})`, 'step', step));
    // One opening, even for captures that overlap; a failed opening fails every later capture.
    this.runOpening ??= this.openRun();
    await this.runOpening;
    if (this.lastStep < 0 && step > 0)
      this.warn(`initialisation not captured: the first snapshot is at step ${step} (capture(0) before training)`);
    this.lastStep = step;
    this.step = Math.max(this.step, step);
    if (this.counts.pending >= this.bound) {
      const heldFrom = performance.now();
      while (this.counts.pending >= this.bound) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        if (this.failure) throw this.failure;
      }
      this.noteHeld(performance.now() - heldFrom);
    }
    const t0 = performance.now();
    if (this.counts.captured === HELD_WARMUP) this.warmAt = t0;
    const reps = await this.evaluateProbes();
    const kernels = this.copyKernels();
    const job: Job = { step, logs: cleanLogs(logs), reps, kernels, captureMs: performance.now() - t0 };
    // In a worker the analysis is posted now: the training thread reads replies only between
    // its steps' tasks, so a job posted when the previous reply is read would start a whole
    // snapshot interval late, and close() would find two snapshots still to analyse.
    if (this.analysisFor().mode === 'worker') job.posted = this.post(job);
    this.queue.push(job);
    this.counts.captured++;
    this.counts.pending++;
    this.counts.maxPending = Math.max(this.counts.maxPending, this.counts.pending);
    this.worker ??= this.drain();
    return true;
  }

  /**
   * Waits for every queued analysis, then closes the run with `status` (default `finished`; see
   * {@link MonitorCloseOptions}). If an analysis failed, the run is closed as `failed` with that
   * error, which is then thrown. Idempotent: a second call closes nothing again (its options are
   * ignored) and rethrows an analysis failure.
   * @throws RangeError for an unknown status; TypeError for options that are not an object.
   */
  async close(options?: MonitorCloseOptions): Promise<void> {
    const o = checkOptionsObject(options);
    const status = checkOneOf(o.status ?? 'finished', 'status', ['finished', 'interrupted', 'failed']);
    if (!this.closed) {
      this.closed = true;
      await this.worker;
      try {
        if (this.runOpen)
          await this.analysis!.closeRun(
            this.failure
              ? { status: 'failed', error: errorMessage(this.failure) }
              : { status, ...(o.error !== undefined ? { error: errorMessage(o.error) } : {}) },
          );
      } finally {
        this.probeTensor?.dispose();
        this.subModel = undefined;
        await this.analysis?.close();
      }
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Adds a wait for queue room to stats.heldMs and warns once when, after the warm-up (the first
   * HELD_WARMUP snapshots, which include the analysis worker's start and its code's first
   * compilation) and HELD_WARMUP more snapshots, training has been held for more than a tenth of
   * the time since the warm-up.
   */
  private noteHeld(ms: number): void {
    this.counts.heldMs += ms;
    if (this.warmAt === undefined) return;
    this.heldSinceWarm += ms;
    const since = performance.now() - this.warmAt;
    if (
      !this.heldWarned &&
      this.counts.captured >= 2 * HELD_WARMUP &&
      since > 0 &&
      this.heldSinceWarm > HELD_WARN_FRACTION * since
    ) {
      this.heldWarned = true;
      this.warn(
        `training held ${(this.heldSinceWarm / 1000).toFixed(1)} s of ${(since / 1000).toFixed(1)} s waiting for the analysis: a snapshot's analysis takes longer than the steps between snapshots (snapshot less often with schedule.every, or use fewer probes or layers, or omd.significance 'gap'; docs/training.md "Cost")`,
      );
    }
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  private async tfjs(): Promise<Tf> {
    this.tf ??= this.opts.tf ?? ((await import('@tensorflow/tfjs')) as Tf);
    return this.tf;
  }

  /** One evaluation of the probe set through the sub-model; each output flattened to N x D (the tensor's own buffer, not copied again). */
  private async evaluateProbes(): Promise<Mat<Float32Array>[]> {
    if (this.layers.length === 0) return [];
    const tf = await this.tfjs();
    if (!this.subModel) {
      const outputs = this.layerObjects.map((l) => (l as unknown as { output: SymbolicTensor }).output);
      this.subModel = tf.model({ inputs: this.model.inputs, outputs });
      const p = this.opts.probes;
      const inShape = this.model.inputs[0]!.shape.slice(1) as number[];
      this.probeTensor = isTensor(p) ? tf.clone(p) : tf.tensor(Float32Array.from(p.data), [p.rows, ...inShape]);
    }
    // One pass in batches of up to 1024 probes: predict's default of 32 spends the capture in
    // per-batch op overhead (16 passes for 500 probes). With the analysis in its worker, the
    // pass runs in a split-products scope (specdyn's backend; product-scope.ts): a product of
    // ≥ 1e8 flops would otherwise wait at the BLAS gate for the worker's running solve to end
    // (the training thread idle meanwhile); split, its halves are single-threaded calls beside it.
    const predict = () =>
      this.subModel!.predict(this.probeTensor!, { batchSize: Math.min(this.probeCount, 1024) }) as Tensor | Tensor[];
    const out = this.analysisMode === 'worker' ? withSplitProducts(predict) : predict();
    const list = Array.isArray(out) ? out : [out];
    const n = this.probeCount;
    // One copy into a buffer of the monitor's own (the tensor's may be shared with another
    // tensor or be a backend's), which then moves to the analysis worker without another copy;
    // copyValues leaves the tensor's buffer in specdyn's backend's pool (copy-read.ts).
    const mats = list.map((t) => {
      const data = copyValues(t, this.spare(t.size));
      return { data, rows: n, cols: data.length / n };
    });
    for (const t of list) t.dispose();
    return mats;
  }

  /** The watched kernels, each copied once to a Float32Array. */
  private copyKernels(): ModelKernel[] {
    const out: ModelKernel[] = [];
    if (this.kernelSet.size === 0) return out;
    for (const { layerId, layer } of walkLayers(this.model as unknown as { layers: LayerLike[] })) {
      if (!this.kernelSet.has(layer.name)) continue;
      const k = layerKernel(layer, layerId, (length) => this.spare(length));
      if (k) out.push(k);
    }
    return out;
  }

  /**
   * A buffer of `length` float32 elements the analysis gave back (SnapshotAnalysis.takeSpare), for
   * a capture's copy: fresh pages per snapshot are what a monitor's capture would otherwise cost
   * the training thread's allocator and collector.
   */
  private spare(length: number): Float32Array | undefined {
    const b = this.analysis?.takeSpare(length);
    if (b) this.counts.reusedBuffers++;
    return b;
  }

  /** The analysis, started at the first capture (in worker mode: the worker). */
  private analysisFor(): SnapshotAnalysis {
    this.analysis ??= createSnapshotAnalysis(this.analyzer, this.analysisMode, this.analysisThreads, {
      nice: this.analysisNice,
      idle: this.analysisIdle,
    });
    return this.analysis;
  }

  private async openRun(): Promise<void> {
    if (this.opts.run === undefined) return;
    const tf = await this.tfjs();
    const options: CreateRunOptions = {
      config: this.opts.config === undefined ? undefined : asJson(this.opts.config),
      seed: this.opts.seed,
      tfBackend: tf.getBackend(),
      tfjsVersion: tf.version?.tfjs,
      meta: {
        ...((this.opts.meta === undefined ? {} : asJson(this.opts.meta)) as Record<string, unknown>),
        monitor: {
          probes: this.probeCount,
          layers: this.layers,
          kernels: this.kernelLayers,
          metric: this.metric,
          precision: this.analyzer.precision,
          queue: this.bound,
          ...(this.opts.probeLabels
            ? { probeLabels: Array.from(this.opts.probeLabels as ArrayLike<number | string>) }
            : {}),
        },
      },
      columns: {
        omd: [
          ...columnMeta(OMD_POINT_COLUMNS),
          {
            name: 'zero_rows',
            unit: 'count',
            dtype: 'int',
            doc: 'Probe rows mapped to all zeros at this layer (read as orthogonal to every row)',
          },
          {
            name: 'warning',
            dtype: 'string',
            doc: "What the monitor worked around at this snapshot ('' when nothing)",
          },
        ],
        weights: columnMeta(WEIGHT_ROW_COLUMNS),
      },
    };
    await this.analysisFor().openRun(this.opts.run, options);
    this.runOpen = true;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const job = this.queue[0]!;
        const snapshot = await this.analyse(job);
        if (this.opts.keep ?? true) this.snapshots.push(snapshot);
        this.queue.shift();
        this.counts.analysed++;
        this.counts.pending--;
        this.waiters.shift()?.();
      }
    } catch (err) {
      this.failure = err;
      this.queue.length = 0;
      this.counts.pending = 0;
    } finally {
      this.worker = undefined;
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /**
   * Hands one job to the analysis (which, with a run, commits it); its buffers are not used
   * again here. The rejection of a job posted ahead is read in order by drain.
   */
  private post(job: Job): Promise<AnalyzedSnapshot> {
    const { captureMs: _c, posted: _p, ...request } = job;
    const r = this.analysisFor().analyse(request, this.opts.keep ?? true);
    r.catch(() => {});
    return r;
  }

  /** The analysis of one job, posted ahead or now, as the monitor keeps it. */
  private async analyse(job: Job): Promise<MonitorSnapshot> {
    const r = await (job.posted ?? this.post(job));
    const { captureMs } = job;
    for (const w of r.warnings) this.warn(w);
    return {
      step: job.step,
      logs: job.logs,
      omd: r.omd,
      weights: r.weights,
      timings: { captureMs, analysisMs: r.analysisMs },
    };
  }
}

/** Numeric logs only; tfjs's per-batch `batch` and `size` are bookkeeping, not metrics. */
function cleanLogs(logs: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(logs ?? {})) {
    if (k === 'batch' || k === 'size') continue;
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

/**
 * `x` as createRun keeps it (a JSON round trip), so that it can be posted to the analysis
 * worker; a value JSON cannot write is passed on unchanged, for createRun to refuse by name.
 */
function asJson(x: unknown): unknown {
  try {
    const s = JSON.stringify(x);
    return s === undefined ? null : (JSON.parse(s) as unknown);
  } catch {
    return x;
  }
}

/** The message run.json records for an error (as RunWriter.close does). */
function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
