/**
 * The analysis of one SpectralMonitor snapshot (OMD of every watched layer, weight spectra of
 * every watched kernel), and where it runs:
 * - `inline`: on the calling thread's event loop, native solves on the libuv pool, layers and
 *   kernels concurrently (the training thread's loop runs the TypeScript part between steps);
 * - `worker`: in a worker_thread of its own, everything synchronous on that thread, one solve
 *   after another, its BLAS calls capped at `threadLimit` threads (setThreadLimit), the thread
 *   at a lower scheduling priority (nice 10, Linux). The analysis
 *   then takes one core beside training instead of sharing the training thread's loop, and a
 *   large solve never makes a training product wait at the BLAS gate.
 * Both run the same {@link SnapshotAnalyzer}, so a snapshot's figures do not depend on the mode.
 *
 * Dead probe rows (see the monitor's module doc): with the angular or cosine metric, rows that a
 * layer maps to all zeros are read as orthogonal to every row.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../concurrency.js';
import { AbortError, InternalError, SpecdynError } from '../errors.js';
import type { Mat } from '../matrix.js';
import { distanceMatrix, distanceMatrixSync, gram, gramSync } from '../linalg/index.js';
import { call, runSteps, runStepsSync, type Steps } from '../linalg/route.js';
import { OmdTrajectory, type ObservableMetric, type TrajectoryOptions, type TrajectoryPoint } from '../omd/index.js';
import type { AnalyzeWeightsOptions, WeightRow } from '../rmt/weights.js';
import { analyzeKernels, analyzeKernelsSync, type ModelKernel } from './analyze-model.js';

/** What a snapshot analysis is built from (structured-cloneable: it is posted to the worker). */
export interface AnalyzerConfig {
  /** OMD layers, in order. */
  layers: string[];
  metric: ObservableMetric;
  /** Bottom eigenvectors kept per OMD point (0: none). */
  keepVectors: number;
  /** Options of every layer's OmdTrajectory (metric, bottomK, input 'distance', labels, …). */
  trajectory: TrajectoryOptions;
  /** Weight-spectrum options. */
  weights: AnalyzeWeightsOptions;
}

/**
 * One OMD point as the monitor records it: the layer's trajectory point (bottom eigenvectors
 * trimmed to the monitor's `eigenvectors`), `zeroRows` (probe rows the layer maps to all zeros)
 * and `warning` ('' when nothing was worked around).
 */
export type MonitorPoint = TrajectoryPoint & { zeroRows: number; warning: string };

/** The figures of one snapshot. */
export interface AnalyzedSnapshot {
  omd: Record<string, MonitorPoint>;
  weights: WeightRow[];
  /** Warnings raised for the first time at this snapshot (dead probe rows, once per layer). */
  warnings: string[];
  /** Milliseconds the analysis took where it ran. */
  analysisMs: number;
}

/** Rows of X that are all zeros. */
function zeroRowsOf(x: Mat): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    let any = false;
    for (let j = i * x.cols, e = j + x.cols; j < e; j++)
      if (x.data[j] !== 0) {
        any = true;
        break;
      }
    if (!any) out.push(i);
  }
  return out;
}

/**
 * Angular or cosine distance matrix with zero rows read as orthogonal to every row (see the
 * module doc): the Gram matrix of the L2-normalised rows (zero rows stay zero), then
 * arccos(clamped cos) or 1 − cos, diagonal 0.
 */
function* zeroSafeDistance(x: Mat, metric: 'angular' | 'cosine'): Steps<Mat<Float64Array>> {
  const { rows, cols } = x;
  const u = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x.data[i * cols + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < cols; j++) u[i * cols + j] = x.data[i * cols + j]! * inv;
  }
  const g = yield* call(gram, gramSync, { data: u, rows, cols });
  const d = g.data;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      const c = Math.min(1, Math.max(-1, d[i * rows + j]!));
      d[i * rows + j] = i === j ? 0 : metric === 'angular' ? Math.acos(c) : 1 - c;
    }
  }
  // symmetrise exactly (the Gram product is symmetric up to rounding in its two triangles)
  for (let i = 0; i < rows; i++) for (let j = 0; j < i; j++) d[j * rows + i] = d[i * rows + j]!;
  return g;
}

/**
 * One layer's distance matrix and the dead-row bookkeeping, as steps (one body for the
 * asynchronous and the synchronous analysis).
 */
function* layerDistance(x: Mat, metric: ObservableMetric): Steps<{ d: Mat<Float64Array>; zeros: number[] }> {
  const zeros = metric === 'angular' || metric === 'cosine' ? zeroRowsOf(x) : [];
  const d =
    zeros.length > 0
      ? yield* zeroSafeDistance(x, metric as 'angular' | 'cosine')
      : yield* call(distanceMatrix, distanceMatrixSync, x, { metric });
  return { d, zeros };
}

/** Analyses snapshot after snapshot, keeping each layer's OMD trajectory (see the module doc). */
export class SnapshotAnalyzer {
  /** What it was built from. */
  readonly config: AnalyzerConfig;
  private readonly trajectories = new Map<string, OmdTrajectory>();
  /** Layers already warned about for zero probe rows (once per layer). */
  private readonly zeroRowLayers = new Set<string>();

  constructor(config: AnalyzerConfig) {
    this.config = config;
    for (const n of config.layers) this.trajectories.set(n, new OmdTrajectory(config.trajectory));
  }

  /** Analyses one snapshot on the event loop (layers and kernels concurrently). */
  async analyse(step: number, reps: Mat[], kernels: ModelKernel[]): Promise<AnalyzedSnapshot> {
    const t0 = performance.now();
    const warnings: string[] = [];
    const omdEntries = this.config.layers.map(async (name, i) => {
      const x = reps[i]!;
      const { d, zeros } = await runSteps(layerDistance(x, this.config.metric));
      const point = await this.trajectories.get(name)!.push(step, d, { reps: x });
      return this.point(name, step, x, zeros, point, warnings);
    });
    const weightsP = kernels.length > 0 ? analyzeKernels(kernels, this.config.weights) : Promise.resolve([]);
    const [omd, weights] = await Promise.all([Promise.all(omdEntries), weightsP]);
    return { omd: Object.fromEntries(omd), weights, warnings, analysisMs: performance.now() - t0 };
  }

  /** Analyses one snapshot on the calling thread, one solve after another (for the worker). */
  analyseSync(step: number, reps: Mat[], kernels: ModelKernel[]): AnalyzedSnapshot {
    const t0 = performance.now();
    const warnings: string[] = [];
    const omd = this.config.layers.map((name, i) => {
      const x = reps[i]!;
      const { d, zeros } = runStepsSync(layerDistance(x, this.config.metric));
      const point = this.trajectories.get(name)!.pushSync(step, d, { reps: x });
      return this.point(name, step, x, zeros, point, warnings);
    });
    const weights = kernels.length > 0 ? analyzeKernelsSync(kernels, this.config.weights) : [];
    return { omd: Object.fromEntries(omd), weights, warnings, analysisMs: performance.now() - t0 };
  }

  /** The recorded point: vectors trimmed to keepVectors, dead rows counted and warned about once. */
  private point(
    name: string,
    step: number,
    x: Mat,
    zeros: number[],
    full: TrajectoryPoint,
    warnings: string[],
  ): readonly [string, MonitorPoint] {
    let warning = '';
    if (zeros.length > 0) {
      const shown = zeros.slice(0, 10).join(', ') + (zeros.length > 10 ? ', …' : '');
      warning = `${zeros.length} of ${x.rows} probe rows are all zeros at layer '${name}' (rows ${shown}): read as orthogonal to every row`;
      if (!this.zeroRowLayers.has(name)) {
        this.zeroRowLayers.add(name);
        warnings.push(
          `probe rows mapped to all zeros at layer '${name}' (first at step ${step}): read as orthogonal to every row for the ${this.config.metric} distance`,
        );
      }
    }
    const { bandVectors: _b, bottomVectors, ...point } = full;
    const keep = this.config.keepVectors;
    const kept =
      bottomVectors && keep > 0
        ? {
            bottomVectors: {
              data: bottomVectors.data.slice(0, keep * bottomVectors.cols),
              rows: keep,
              cols: bottomVectors.cols,
            },
          }
        : {};
    return [name, { ...point, ...kept, zeroRows: zeros.length, warning }] as const;
  }
}

/** Where a monitor's snapshots are analysed (see the module doc). */
export interface SnapshotAnalysis {
  readonly mode: 'inline' | 'worker';
  /**
   * Analyses one snapshot. In a worker the kernels' buffers are transferred (detached here):
   * pass kernels the caller does not use again.
   */
  analyse(step: number, reps: Mat<Float32Array>[], kernels: ModelKernel[]): Promise<AnalyzedSnapshot>;
  /** Ends the worker (after the analyses in flight); idempotent. */
  close(): Promise<void>;
}

/** A message from the analysis worker. @internal */
export type WorkerReply =
  | { id: number; result: AnalyzedSnapshot }
  | { id: number; error: { name: string; message: string; stack?: string } };

/** A message to the analysis worker. @internal */
export type WorkerRequest =
  | { type: 'init'; config: AnalyzerConfig; threadLimit: number; nice: number }
  | { type: 'analyse'; id: number; step: number; reps: Mat<Float32Array>[]; kernels: ModelKernel[] };

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SpecdynError,
  AbortError,
  InternalError,
};

/**
 * The worker's error again as an instance of its class where the class takes a message alone;
 * any other name (LapackError, NoConvergenceError, …) comes back as a SpecdynError of that name.
 */
function revive(e: { name: string; message: string; stack?: string }): Error {
  const Ctor = ERROR_CLASSES[e.name] ?? (e.name === 'Error' ? Error : SpecdynError);
  const err = new Ctor(e.message);
  if (err.name !== e.name) Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  if (e.stack) err.stack = e.stack;
  return err;
}

/** The worker script: analysis-worker.js beside this module (from src/*.ts under a test runner: the built dist/ copy). */
function workerUrl(): URL {
  const here = new URL('./analysis-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/train/analysis-worker.js', import.meta.url);
}

class InlineAnalysis implements SnapshotAnalysis {
  readonly mode = 'inline' as const;
  private readonly analyzer: SnapshotAnalyzer;
  constructor(analyzer: SnapshotAnalyzer) {
    this.analyzer = analyzer;
  }
  analyse(step: number, reps: Mat<Float32Array>[], kernels: ModelKernel[]): Promise<AnalyzedSnapshot> {
    return this.analyzer.analyse(step, reps, kernels);
  }
  async close(): Promise<void> {}
}

/**
 * Nice value of the analysis worker's thread (Linux): when it and the training thread want the
 * same core, training gets about ten times the share.
 */
const ANALYSIS_NICE = 10;

class WorkerAnalysis implements SnapshotAnalysis {
  readonly mode = 'worker' as const;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: AnalyzedSnapshot) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;

  constructor(config: AnalyzerConfig, threadLimit: number) {
    this.worker = new Worker(workerUrl(), { execArgv: workerExecArgv() });
    // Referenced only while analyses are in flight: an idle monitor never keeps the process alive.
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in m) p.reject(revive(m.error));
      else p.resolve(m.result);
    });
    const fail = (err: Error) => {
      this.failure ??= new SpecdynError(`The monitor's analysis worker failed: ${err.message}`, { cause: err });
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`it exited with code ${code}`));
    });
    // A DataCloneError here (an option that cannot be posted) is the caller's to handle.
    this.worker.postMessage({ type: 'init', config, threadLimit, nice: ANALYSIS_NICE } satisfies WorkerRequest);
  }

  analyse(step: number, reps: Mat<Float32Array>[], kernels: ModelKernel[]): Promise<AnalyzedSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      // The kernels are the monitor's own copies (layerKernel): their buffers move to the worker.
      // The representations are cloned: they may be buffers a tfjs backend reuses.
      const moved = [...new Set(kernels.flatMap((k) => k.slices.map((m) => m.data.buffer as ArrayBuffer)))];
      this.worker.postMessage({ type: 'analyse', id, step, reps, kernels } satisfies WorkerRequest, moved);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}

/**
 * The analysis of a monitor's snapshots, inline (with `analyzer` itself) or in a worker (a
 * worker-side analyzer built from `analyzer.config`, whose trajectories `analyzer` must not have
 * started). A config that cannot be posted to a worker (structured clone) is analysed inline.
 */
export function createSnapshotAnalysis(
  analyzer: SnapshotAnalyzer,
  mode: 'inline' | 'worker',
  threadLimit: number,
): SnapshotAnalysis {
  if (mode === 'worker') {
    try {
      structuredClone(analyzer.config);
      return new WorkerAnalysis(analyzer.config, threadLimit);
    } catch {
      // not cloneable: inline below
    }
  }
  return new InlineAnalysis(analyzer);
}
